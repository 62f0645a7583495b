"""The directory's wire form: canonical JSON that both parties sign byte for byte.

Canonical means sorted keys, no insignificant whitespace, UTF-8, times in UTC with `Z`:
`directory_payload(directory_from_payload(p)) == p` holds for every accepted payload, so a
directory has exactly one signed form and its hash identifies it.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Annotated, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from migrex.directory.model import (
    Directory,
    DirectoryEntry,
    DirectoryInvalid,
    DirectoryNode,
    PublishedKey,
    check_directory,
)
from migrex.errors import Problem

FORMAT: Final = "migrex-directory/1"

_STATE = r"^[A-Z]{2}$"
_ID = r"^[a-z0-9][a-z0-9-]{0,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class PublishedKeyDocument(_Strict):
    kid: str = Field(min_length=1, max_length=128)
    jwk: dict[str, str]
    not_before: AwareDatetime
    not_after: AwareDatetime


class NodeDocument(_Strict):
    state: str = Field(pattern=_STATE)
    endpoint: str = Field(max_length=2048)


class EntryDocument(_Strict):
    authority_id: str = Field(pattern=_ID)
    state: str = Field(pattern=_STATE)
    node_id: str = Field(pattern=_ID)
    endpoint: str = Field(max_length=2048)
    signing_keys: list[PublishedKeyDocument]
    encryption_keys: list[PublishedKeyDocument]


class DirectoryDocument(_Strict):
    format: Literal["migrex-directory/1"]
    agreement_id: str = Field(min_length=1, max_length=128)
    version: int = Field(ge=1)
    issued_at: AwareDatetime
    nodes: dict[Annotated[str, Field(pattern=_ID)], NodeDocument]
    trust_anchors: dict[Annotated[str, Field(pattern=_STATE)], list[str]]
    entries: list[EntryDocument]


def directory_payload(directory: Directory) -> bytes:
    """The canonical JSON bytes that the parties sign."""
    document = DirectoryDocument(
        format=FORMAT,
        agreement_id=directory.agreement_id,
        version=directory.version,
        issued_at=directory.issued_at,
        nodes={
            node_id: NodeDocument(state=node.state, endpoint=node.endpoint)
            for node_id, node in directory.nodes.items()
        },
        trust_anchors={state: list(pems) for state, pems in directory.trust_anchors.items()},
        entries=[_entry_document(entry) for entry in directory.entries],
    )
    return canonical_json(document.model_dump(mode="json"))


def directory_from_payload(payload: bytes) -> Directory:
    """The directory in a signed payload; raises DirectoryInvalid when the payload is
    malformed, inconsistent or not in canonical form."""
    try:
        document = DirectoryDocument.model_validate_json(payload)
    except ValidationError as error:
        problems = [
            Problem(".".join(str(part) for part in item["loc"]), item["msg"])
            for item in error.errors(include_url=False)
        ]
        raise DirectoryInvalid("the directory document is malformed", problems) from None
    directory = check_directory(
        Directory(
            agreement_id=document.agreement_id,
            version=document.version,
            issued_at=document.issued_at.astimezone(UTC),
            entries=tuple(_entry(entry) for entry in document.entries),
            trust_anchors={state: tuple(pems) for state, pems in document.trust_anchors.items()},
            nodes={
                node_id: DirectoryNode(node_id, node.state, node.endpoint)
                for node_id, node in document.nodes.items()
            },
        )
    )
    if directory_payload(directory) != payload:
        raise DirectoryInvalid("the directory document is not in canonical form")
    return directory


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _entry_document(entry: DirectoryEntry) -> EntryDocument:
    return EntryDocument(
        authority_id=entry.authority_id,
        state=entry.state,
        node_id=entry.node_id,
        endpoint=entry.endpoint,
        signing_keys=[_key_document(k) for k in entry.signing_keys],
        encryption_keys=[_key_document(k) for k in entry.encryption_keys],
    )


def _key_document(key: PublishedKey) -> PublishedKeyDocument:
    return PublishedKeyDocument(
        kid=key.kid, jwk=dict(key.jwk), not_before=key.not_before, not_after=key.not_after
    )


def _entry(document: EntryDocument) -> DirectoryEntry:
    return DirectoryEntry(
        authority_id=document.authority_id,
        state=document.state,
        node_id=document.node_id,
        endpoint=document.endpoint,
        signing_keys=tuple(_key(k) for k in document.signing_keys),
        encryption_keys=tuple(_key(k) for k in document.encryption_keys),
    )


def _key(document: PublishedKeyDocument) -> PublishedKey:
    return PublishedKey(
        kid=document.kid,
        jwk=dict(document.jwk),
        not_before=document.not_before.astimezone(UTC),
        not_after=document.not_after.astimezone(UTC),
    )
