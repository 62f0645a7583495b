"""The receiving side of an encodings transfer (see `linkage.transfer` for the directory).

`receive` checks what has arrived, chunk after chunk, and notes its progress in
`received.json`; `resume_from` is what the receiver answers a sender that asks where to
start again; `read_batches` and `load` use a transfer the receiver has seen complete,
checking every chunk once more as they decrypt it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from migrex.envelope import DecryptionKey, SigningKeyResolver
from migrex.linkage.chunks import (
    MAX_CHUNK_BYTES,
    Batch,
    TransferRefused,
    Uint64s,
    open_chunk,
    unpack,
)
from migrex.linkage.layout import Encoded, Tokens, Words
from migrex.linkage.transfer import (
    MANIFEST,
    MANIFEST_TYP,
    MAX_DOCUMENT,
    OPENING,
    STATE,
    Manifest,
    Opening,
    Progress,
    ResumePoint,
    chunk_name,
    read_capped,
    read_opening,
    signed_document,
    write_atomically,
)

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class _Chain:
    """Checks chunks in order against the opening: index, run, link, signature, tag, content."""

    def __init__(self, opening: Opening, point: ResumePoint) -> None:
        self.opening = opening
        self.index = point.index
        self.previous = point.previous
        self.records = point.records
        self.short = point.records != point.index * opening.chunk_records
        self._aead = AESGCM(opening.content_key)
        verify_key = opening.verify_key.public_key
        if not isinstance(verify_key, Ed25519PublicKey):
            raise TransferRefused("unknown-sender-key", "the sender's key is not an Ed25519 key")
        self._verify_key = verify_key

    def check(self, directory: Path) -> Batch:
        index = self.index
        path = directory / chunk_name(index)
        if not path.is_file():
            raise TransferRefused("missing", f"chunk {index} is missing", chunk=index)
        data = read_capped(path, MAX_CHUNK_BYTES, f"chunk {index}", index)
        if self.short:
            raise TransferRefused(
                "surplus", f"chunk {index} follows a chunk that was not full", chunk=index
            )
        opened = open_chunk(
            data, index=index, run_id=self.opening.run_id, previous=self.previous,
            aead=self._aead, verify_key=self._verify_key, max_records=self.opening.chunk_records,
        )  # fmt: skip
        batch = unpack(
            opened.content, first=self.records, records=opened.records,
            words=self.opening.words, passes=self.opening.passes, chunk=index,
        )  # fmt: skip
        self.index += 1
        self.previous = opened.link
        self.records += opened.records
        self.short = opened.records < self.opening.chunk_records
        return batch

    def close(self, manifest: Manifest) -> None:
        """The chain ends where the manifest says: its count, its records, its head."""
        if self.index < manifest.chunk_count:
            raise TransferRefused(
                "missing", f"chunk {self.index} of {manifest.chunk_count} is missing",
                chunk=self.index,
            )  # fmt: skip
        if self.index > manifest.chunk_count:
            raise TransferRefused(
                "surplus", f"{self.index} chunks where the manifest lists {manifest.chunk_count}",
                chunk=manifest.chunk_count,
            )  # fmt: skip
        if self.previous.hex() != manifest.chain_head or self.records != manifest.record_count:
            raise TransferRefused(
                "manifest-mismatch", "the chunks do not end where the manifest says they do"
            )


_MANIFEST_KEYS = frozenset(
    {"run_id", "sender", "recipient", "opening_sha256", "record_count", "chunk_count"}
    | {"chunk_records", "chain_head", "encoding", "iat"}
)


def read_manifest(
    directory: Path, opening: Opening, resolve_signing_key: SigningKeyResolver, now: datetime
) -> Manifest | None:
    """The manifest, signed by the opening's sender and agreeing with the opening; None when
    it has not arrived."""
    path = directory / MANIFEST
    if not path.is_file():
        return None
    raw = read_capped(path, MAX_DOCUMENT, "the manifest")
    payload, _ = signed_document(raw, MANIFEST_TYP, resolve_signing_key, now)

    def mismatch(what: str) -> TransferRefused:
        return TransferRefused("manifest-mismatch", f"the manifest's {what} is not the opening's")

    if set(payload) != _MANIFEST_KEYS:
        raise TransferRefused("malformed", "the manifest carries the wrong members")
    for name in ("run_id", "sender", "recipient", "chunk_records", "encoding"):
        if payload[name] != opening.payload[name]:
            raise mismatch(name.replace("_", " "))
    if payload["opening_sha256"] != opening.sha256.hex():
        raise mismatch("opening hash")
    count, records, head = payload["chunk_count"], payload["record_count"], payload["chain_head"]
    size = opening.chunk_records
    if (
        type(count) is not int or type(records) is not int or records < 0
        or count != -(-records // size)
        or not (isinstance(head, str) and _SHA256_HEX.fullmatch(head))
    ):  # fmt: skip
        raise TransferRefused("malformed", "the manifest's counts or chain head are not sound")
    fields = {name: payload[name] for name in _MANIFEST_KEYS - {"iat"}}
    return Manifest(**fields)


@dataclass(frozen=True)
class _State:
    opening_sha256: str
    verified: int
    previous: str
    records: int
    complete: bool


def _state(directory: Path, opening: Opening) -> _State:
    """The receiver's progress on this opening; a fresh start for another, for none, or for
    a note that cannot be read (it only saves checking again what was checked before)."""
    fresh = _State(opening.sha256.hex(), 0, opening.sha256.hex(), 0, False)
    path = directory / STATE
    try:
        found = _State(**json.loads(read_capped(path, MAX_DOCUMENT, "the state")))
        bytes.fromhex(found.previous)
    except (OSError, ValueError, TypeError, TransferRefused):
        return fresh
    return found if found.opening_sha256 == fresh.opening_sha256 else fresh


def _point(state: _State) -> ResumePoint:
    return ResumePoint(state.verified, bytes.fromhex(state.previous), state.records)


def _save(directory: Path, chain: _Chain, complete: bool) -> None:
    state = _State(
        chain.opening.sha256.hex(), chain.index, chain.previous.hex(), chain.records, complete,
    )  # fmt: skip
    # Not synced: a note lost in a crash costs checking its chunks again, nothing more.
    note = json.dumps(vars(state), sort_keys=True).encode()
    write_atomically(directory / STATE, note, durable=False)


def receive(
    directory: Path, *, decryption_keys: Mapping[str, DecryptionKey],
    resolve_signing_key: SigningKeyResolver, now: datetime,
    encoding: Mapping[str, Any] | None = None,
) -> Progress:  # fmt: skip
    """Check the chunks that arrived since the last call, then the manifest if it is there.

    `encoding`, when given, is what the receiver's own encoder uses (`encoding_parameters`):
    a transfer encoded otherwise is refused before a chunk is read. A chunk that fails
    raises TransferRefused and stays unverified: the sender writes it again from
    `resume_from`, and the next call carries on from it.
    """
    opening = read_opening(
        directory, decryption_keys=decryption_keys, resolve_signing_key=resolve_signing_key,
        now=now,
    )  # fmt: skip
    if encoding is not None and opening.payload["encoding"] != dict(encoding):
        raise TransferRefused(
            "manifest-mismatch", "the encodings were made with other parameters than ours"
        )
    state = _state(directory, opening)
    chain = _Chain(opening, _point(state))
    manifest = read_manifest(directory, opening, resolve_signing_key, now)
    limit = manifest.chunk_count if manifest is not None else None
    while (directory / chunk_name(chain.index)).is_file() or (
        limit is not None and chain.index < limit
    ):
        chain.check(directory)
        _save(directory, chain, complete=False)
    if manifest is None:
        return Progress(chain.index, chain.records, None)
    chain.close(manifest)
    _save(directory, chain, complete=True)
    return Progress(chain.index, chain.records, manifest)


def resume_from(directory: Path) -> ResumePoint:
    """Where the sender starts again: the first chunk the receiver has not verified, and the
    hash of the last one it has (the opening's, before the first)."""
    digest = hashlib.sha256(read_capped(directory / OPENING, MAX_DOCUMENT, "the opening")).digest()
    try:
        state = _State(**json.loads(read_capped(directory / STATE, MAX_DOCUMENT, "the state")))
        if state.opening_sha256 == digest.hex():
            return _point(state)
    except (OSError, ValueError, TypeError, TransferRefused):
        pass  # no note, or none readable: from the start
    return ResumePoint(0, digest, 0)


def read_batches(
    directory: Path, *, decryption_keys: Mapping[str, DecryptionKey],
    resolve_signing_key: SigningKeyResolver, now: datetime,
) -> Iterator[Batch]:  # fmt: skip
    """The batches of a transfer `receive` found complete, one chunk in memory at a time,
    each checked again as it is decrypted; the last is yielded only once the chain's head
    and the record count match the manifest."""
    opening = read_opening(
        directory, decryption_keys=decryption_keys, resolve_signing_key=resolve_signing_key,
        now=now,
    )  # fmt: skip
    if not _state(directory, opening).complete:
        raise TransferRefused("incomplete", "the transfer has not been received whole")
    manifest = read_manifest(directory, opening, resolve_signing_key, now)
    if manifest is None:
        raise TransferRefused("incomplete", "the transfer has no manifest")
    chain = _Chain(opening, ResumePoint(0, opening.sha256, 0))
    for index in range(manifest.chunk_count):
        batch = chain.check(directory)
        if index == manifest.chunk_count - 1:
            if (directory / chunk_name(chain.index)).exists():
                raise TransferRefused(
                    "surplus", "a chunk follows the manifest's last", chunk=chain.index
                )
            chain.close(manifest)
        yield batch
    if manifest.chunk_count == 0:
        chain.close(manifest)


@dataclass(frozen=True)
class Received:
    """A whole transfer, every chunk and the manifest checked."""

    encoded: Encoded
    pseudonyms: Uint64s
    manifest: Manifest


def load(
    directory: Path, *, decryption_keys: Mapping[str, DecryptionKey],
    resolve_signing_key: SigningKeyResolver, now: datetime,
) -> Received:  # fmt: skip
    """The encodings of a complete transfer, assembled; nothing is returned, and no array
    escapes, unless every chunk checks."""
    opening = read_opening(
        directory, decryption_keys=decryption_keys, resolve_signing_key=resolve_signing_key,
        now=now,
    )  # fmt: skip
    manifest = read_manifest(directory, opening, resolve_signing_key, now)
    state = _state(directory, opening)
    if manifest is None or not state.complete:
        raise TransferRefused("incomplete", "the transfer has not been received whole")
    # Sized by the count the receiver verified, not by the manifest's word alone.
    if state.records != manifest.record_count:
        raise TransferRefused("manifest-mismatch", "the manifest's count is not what arrived")
    filters: Words = np.empty((manifest.record_count, opening.words), dtype=np.uint64)
    pseudonyms: Uint64s = np.empty(manifest.record_count, dtype=np.uint64)
    # 32-bit row numbers while they fit: tokens name their record's row, and a unit holding
    # tens of millions of records saves a quarter of its tokens' memory.
    row_type = np.int32 if manifest.record_count < 1 << 31 else np.int64
    rows: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in opening.passes}
    tokens: dict[str, list[Uint64s]] = {name: [] for name in opening.passes}
    for batch in read_batches(
        directory, decryption_keys=decryption_keys, resolve_signing_key=resolve_signing_key,
        now=now,
    ):  # fmt: skip
        end = batch.first + len(batch)
        filters[batch.first : end] = batch.filters
        pseudonyms[batch.first : end] = batch.pseudonyms
        for name, found in batch.blocks.items():
            rows[name].append(found.rows.astype(row_type))
            tokens[name].append(found.tokens)
    blocks = {
        name: Tokens(
            np.concatenate(tokens[name]) if tokens[name] else np.zeros(0, np.uint64),
            np.concatenate(rows[name]) if rows[name] else np.zeros(0, np.int32),
        )
        for name in opening.passes
    }
    return Received(Encoded(filters, blocks), pseudonyms, manifest)
