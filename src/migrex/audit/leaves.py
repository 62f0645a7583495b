"""The audit leaf: what one log entry records, as canonical bytes that are then hashed.

A leaf never carries personal data. It holds who acted (an account id), for which authority,
on which message (its UUIDv7 and the SHA-256 of the sealed envelope), for which purpose, and
about whom only as `subject_hash`: a keyed HMAC-SHA256 of the person's identifier, which the
node can recompute to answer a data-subject request but which reveals nothing without the
key. The log is kept for good and copied to witnesses, so this is enforced, not hoped for:
every text field must be an identifier-shaped token (no spaces, so no names or free text),
and the hash fields must be 64 lower-case hex digits.

Encoding: JSON with sorted keys, no whitespace, UTF-8, every field present (absent = null),
and `v` = 1. For this schema (ASCII keys, strings and one integer) the bytes are also what
RFC 8785 (JCS) gives. `decode` accepts only those exact bytes, so one leaf has one encoding.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from migrex.audit.merkle import AuditError, leaf_hash
from migrex.envelope import canonical_json, is_message_id

VERSION: Final = 1
MIN_SUBJECT_KEY_BYTES: Final = 32

# No spaces and no "@": names, free text and e-mail addresses do not fit.
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=#-]{0,199}")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


class LeafKind(StrEnum):
    MESSAGE_SENT = "message-sent"
    MESSAGE_RECEIVED = "message-received"
    RECEIPT = "receipt"
    DECISION = "decision"
    PERSONAL_DATA_READ = "personal-data-read"
    ERASURE = "erasure"
    CHECKPOINT_COSIGNED = "checkpoint-cosigned"
    # An administrator changed the node: officers and tokens, registries, parked messages.
    ADMINISTRATION = "administration"
    # The log was restored from a backup (or moved) and declared to the partners' witnesses:
    # the restored head and the last head the witness held, which the new branch abandons.
    RECOVERY = "recovery"


_KINDS = frozenset(LeafKind)  # iterating the enum for every leaf made is slow


class LeafInvalid(AuditError):
    type_slug = "audit-leaf-invalid"
    title = "The audit leaf is invalid"


def subject_hash(key: bytes, identifier: str) -> str:
    """HMAC-SHA256 under `key` of the NFC-normalised UTF-8 `identifier`, as lower-case hex.

    Pass a canonical identifier (for example "KZ:passport:N12345678"); the same person under
    another spelling hashes differently. The key is the node's subject key, used for nothing
    else, so the hash cannot be reversed by trying identifiers without it.
    """
    if len(key) < MIN_SUBJECT_KEY_BYTES:
        raise LeafInvalid(f"the subject key must have at least {MIN_SUBJECT_KEY_BYTES} bytes")
    if not identifier:
        raise LeafInvalid("an empty identifier names nobody")
    message = unicodedata.normalize("NFC", identifier).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AuditLeaf:
    """One log entry. `at` must be aware; it is stored in UTC to the microsecond."""

    kind: LeafKind
    at: datetime
    actor: str
    authority: str
    message_id: str | None = None
    envelope_sha256: str | None = None
    purpose: str | None = None
    subject_hash: str | None = None
    reference: str | None = None

    def __post_init__(self) -> None:
        problems = [name for name, ok in self._checks() if not ok]
        if problems:
            raise LeafInvalid(f"audit leaf fields not allowed as given: {', '.join(problems)}")
        object.__setattr__(self, "kind", LeafKind(self.kind))
        object.__setattr__(self, "at", self.at.astimezone(UTC))

    def _checks(self) -> list[tuple[str, bool]]:
        def token(value: str | None, *, required: bool = False) -> bool:
            return (value is None and not required) or (
                isinstance(value, str) and _TOKEN.fullmatch(value) is not None
            )

        def hex_hash(value: str | None) -> bool:
            return value is None or (isinstance(value, str) and bool(_HEX_SHA256.fullmatch(value)))

        return [
            ("kind", self.kind in _KINDS),
            ("at", isinstance(self.at, datetime) and self.at.utcoffset() is not None),
            ("actor", token(self.actor, required=True)),
            ("authority", token(self.authority, required=True)),
            ("message_id", self.message_id is None or is_message_id(self.message_id)),
            ("envelope_sha256", hex_hash(self.envelope_sha256)),
            ("purpose", token(self.purpose)),
            ("subject_hash", hex_hash(self.subject_hash)),
            ("reference", token(self.reference)),
        ]

    def encode(self) -> bytes:
        """The canonical bytes of this leaf; the log hashes these."""
        # A shallow dict of the fields: `asdict` deep-copies, and encoding runs once per leaf
        # on every append and every verification.
        record: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        record["kind"] = str(self.kind)
        record["at"] = self.at.isoformat(timespec="microseconds").replace("+00:00", "Z")
        record["v"] = VERSION
        return canonical_json(record)

    def leaf_hash(self) -> bytes:
        """The RFC 9162 leaf hash of `encode()`: what the Merkle tree stores."""
        return leaf_hash(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> AuditLeaf:
        """The leaf encoded in `data`; `LeafInvalid` unless `data` is its canonical encoding."""
        try:
            record = json.loads(data.decode("utf-8"))
            if not isinstance(record, dict) or record.pop("v", None) != VERSION:
                raise ValueError("not a version 1 audit leaf")
            names = {field.name for field in fields(cls)}
            if set(record) != names:
                raise ValueError(f"fields {sorted(set(record) ^ names)} are wrong")
            record["at"] = datetime.fromisoformat(record["at"])
            leaf = cls(**record)
        except (UnicodeDecodeError, ValueError, TypeError) as error:
            raise LeafInvalid(f"not an audit leaf: {error}") from error
        if leaf.encode() != data:
            raise LeafInvalid("the audit leaf is not in its canonical encoding")
        return leaf
