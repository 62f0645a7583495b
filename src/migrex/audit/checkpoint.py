"""Checkpoints as C2SP signed notes, with Ed25519 log signatures and witness cosignatures.

Formats, byte for byte:
- c2sp.org/tlog-checkpoint: the note text is the origin line, the tree size in decimal (no
  leading zeros), the base64 root hash, then optional non-empty extension lines; every line
  ends with a newline.
- c2sp.org/signed-note (as golang.org/x/mod/sumdb/note): the text, a blank line, then one
  line per signature: "— <key name> <base64(key ID || signature)>". The log signs with type
  0x01: key ID = SHA-256(name || "\\n" || 0x01 || 32-byte public key)[:4], signature =
  Ed25519 over the text.
- c2sp.org/tlog-cosignature, Ed25519 "cosignature/v1" (type 0x04): key ID as above with
  0x04; signature = u64 big-endian POSIX timestamp || Ed25519 over
  "cosignature/v1\\ntime <timestamp>\\n" || text.
A verifier key is published as "<name>+<8 hex key ID>+<base64(0x01 || public key)>".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from migrex.audit.merkle import HASH_SIZE, AuditError

ED25519_NOTE: Final = 0x01
ED25519_COSIGNATURE: Final = 0x04
# The spec asks verifiers to accept at least 16; Go's reference stops at 100.
MAX_SIGNATURES: Final = 100

_SIGNATURE_PREFIX: Final = "\u2014 "
_COSIGNATURE_HEADER: Final = b"cosignature/v1\n"
_SIZE = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class NoteRejected(AuditError):
    type_slug = "note-rejected"
    title = "The signed note or checkpoint was rejected"


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: who (origin), how many leaves (size), and their root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        lines = (self.origin, *self.extensions)
        if any(not line or "\n" in line or _CONTROL.search(line) for line in lines):
            raise NoteRejected("checkpoint lines must be non-empty, without control characters")
        if self.size < 0 or len(self.root_hash) != HASH_SIZE:
            raise NoteRejected("a checkpoint needs a size >= 0 and a 32-byte root hash")


def format_checkpoint(checkpoint: Checkpoint) -> str:
    """The note text of `checkpoint`, ending in a newline."""
    root_b64 = base64.b64encode(checkpoint.root_hash).decode("ascii")
    lines = [checkpoint.origin, str(checkpoint.size), root_b64, *checkpoint.extensions]
    return "".join(f"{line}\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint in a note text; `NoteRejected` unless it is exactly the canonical form."""
    if not text.endswith("\n"):
        raise NoteRejected("a checkpoint ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not _SIZE.fullmatch(lines[1]):
        raise NoteRejected("a checkpoint has an origin, a decimal size and a root hash")
    root_hash = _b64decode(lines[2])
    if root_hash is None:
        raise NoteRejected("the checkpoint root hash is not base64")
    return Checkpoint(lines[0], int(lines[1]), root_hash, tuple(lines[3:]))


def _b64decode(value: str) -> bytes | None:
    """Standard base64 in its one canonical spelling, else None."""
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if base64.b64encode(decoded).decode("ascii") == value else None


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(char.isspace() for char in name)


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public_key: Ed25519PublicKey, signature_type: int = ED25519_NOTE) -> bytes:
    """SHA-256(name || "\\n" || type || public key)[:4], the signed-note key ID."""
    material = name.encode() + b"\n" + bytes([signature_type]) + _raw(public_key)
    return hashlib.sha256(material).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The published form of a note verifier key, as `note.NewEd25519VerifierKey` writes it."""
    if not _valid_name(name):
        raise NoteRejected(f"{name!r} is not a valid key name")
    material = base64.b64encode(bytes([ED25519_NOTE]) + _raw(public_key)).decode("ascii")
    return f"{name}+{key_id(name, public_key).hex()}+{material}"


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    """The key name and Ed25519 public key of a published verifier key."""
    name, _, rest = vkey.partition("+")
    hex_id, _, material = rest.partition("+")
    raw = _b64decode(material)
    if not _valid_name(name) or raw is None or len(raw) != 33 or raw[0] != ED25519_NOTE:
        raise NoteRejected("not an Ed25519 verifier key")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, public_key).hex() != hex_id:
        raise NoteRejected("the verifier key's ID does not match its key")
    return name, public_key


def _okp_key(jwk: OKPKey | Mapping[str, Any]) -> OKPKey:
    try:
        return jwk if isinstance(jwk, OKPKey) else OKPKey.import_key(dict(jwk))
    except (JoseError, ValueError, TypeError) as error:
        raise AuditError("the JWK is not a valid OKP key") from error


def ed25519_private_key(jwk: OKPKey | Mapping[str, Any]) -> Ed25519PrivateKey:
    """The Ed25519 private key of a JWK, as the node's key store keeps them."""
    key = _okp_key(jwk).private_key
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError("the JWK is not a private Ed25519 key")
    return key


def ed25519_public_key(jwk: OKPKey | Mapping[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 public key of a JWK (private or public), as the directory publishes them."""
    key = _okp_key(jwk).public_key
    if not isinstance(key, Ed25519PublicKey):
        raise AuditError("the JWK is not an Ed25519 key")
    return key


class _Signature(NamedTuple):
    name: str
    key_id: bytes
    body: bytes  # what follows the key ID
    line: str


def _split_note(signed: str | bytes) -> tuple[str, list[_Signature]]:
    """The text and the parsed signature lines of a well-formed note, else `NoteRejected`."""
    try:
        note = signed.decode("utf-8") if isinstance(signed, bytes) else signed
        note.encode("utf-8")  # lone surrogates are not UTF-8 either
    except UnicodeError as error:
        raise NoteRejected("a signed note is UTF-8") from error
    if _CONTROL.search(note):
        raise NoteRejected("a signed note has no control characters but newlines")
    split = note.rfind("\n\n")
    text, block = note[: split + 1], note[split + 2 :]
    if split < 0 or not block.endswith("\n"):
        raise NoteRejected("a signed note ends with a blank line and signature lines")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteRejected(f"a signed note carries at most {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        name, _, blob64 = line.removeprefix(_SIGNATURE_PREFIX).partition(" ")
        blob = _b64decode(blob64) or b""
        if not line.startswith(_SIGNATURE_PREFIX) or not _valid_name(name) or len(blob) < 5:
            raise NoteRejected(f"malformed signature line {line!r}")
        signatures.append(_Signature(name, blob[:4], blob[4:], line))
    return text, signatures


def _signature_line(name: str, blob: bytes) -> str:
    return f"{_SIGNATURE_PREFIX}{name} {base64.b64encode(blob).decode('ascii')}\n"


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return _COSIGNATURE_HEADER + b"time %d\n" % timestamp + text.encode()


def sign_note(text: str, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """`text` signed by the log key `key_name` (signature type 0x01)."""
    if not text.endswith("\n") or _CONTROL.search(text) or not _valid_name(key_name):
        raise NoteRejected("a note text ends with a newline; key names have no spaces or '+'")
    blob = key_id(key_name, private_key.public_key()) + private_key.sign(text.encode())
    return f"{text}\n{_signature_line(key_name, blob)}"


def add_cosignature(
    signed: str, cosigner_name: str, private_key: Ed25519PrivateKey, *, at: datetime
) -> str:
    """`signed` with a tlog-cosignature/v1 line from `cosigner_name` stating time `at`.

    Checks only the form (a checkpoint in a well-formed note): the witness verifies the
    log's signature and consistency first, as `proofs.witness_checkpoint` does. An older
    cosignature by the same key is replaced.
    """
    text, signatures = _split_note(signed)
    parse_checkpoint(text)
    if not _valid_name(cosigner_name) or at.utcoffset() is None:
        raise NoteRejected("a cosignature needs a valid key name and an aware time")
    timestamp = int(at.timestamp())
    own_id = key_id(cosigner_name, private_key.public_key(), ED25519_COSIGNATURE)
    kept = [
        sig.line + "\n" for sig in signatures if (sig.name, sig.key_id) != (cosigner_name, own_id)
    ]
    signature = private_key.sign(_cosigned_message(text, timestamp))
    line = _signature_line(cosigner_name, own_id + timestamp.to_bytes(8, "big") + signature)
    return f"{text}\n{''.join(kept)}{line}"


def _cosignature_time(sig: _Signature, timestamp: int) -> datetime:
    if len(sig.body) < 8 or timestamp >= 2**63:
        raise NoteRejected(f"malformed cosignature from {sig.name}")
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise NoteRejected(f"cosignature time of {sig.name} is out of range") from error


class OpenedNote(NamedTuple):
    """What `open_note` found in a note that at least one known key signed."""

    text: str
    verified: frozenset[str]
    """Names of the known keys whose signatures or cosignatures verified."""
    cosigned_at: Mapping[str, datetime]
    """For each verified cosigner, the time its cosignature states."""


def open_note(
    signed: str | bytes,
    verifiers: Mapping[str, Ed25519PublicKey],
    cosigners: Mapping[str, Ed25519PublicKey] | None = None,
) -> OpenedNote:
    """The text of `signed` and who verifiably signed it; `NoteRejected` otherwise.

    `verifiers` are log keys (type 0x01), `cosigners` witness keys (type 0x04), both by key
    name. Lines from unknown keys are ignored, as the spec requires; a line from a known key
    that fails to verify rejects the whole note; a note no known key signed is rejected.
    """
    text, signatures = _split_note(signed)
    known: dict[tuple[str, bytes], tuple[str, Ed25519PublicKey]] = {}
    for kind, keys in (("note", verifiers), ("cosignature", cosigners or {})):
        for name, public_key in keys.items():
            signature_type = ED25519_NOTE if kind == "note" else ED25519_COSIGNATURE
            known[name, key_id(name, public_key, signature_type)] = (kind, public_key)
    verified: set[str] = set()
    cosigned_at: dict[str, datetime] = {}
    for sig in signatures:
        entry = known.get((sig.name, sig.key_id))
        if entry is None:
            continue
        kind, public_key = entry
        message, signature = text.encode(), sig.body
        if kind == "cosignature":
            timestamp = int.from_bytes(sig.body[:8], "big")
            message, signature = _cosigned_message(text, timestamp), sig.body[8:]
            cosigned_at[sig.name] = _cosignature_time(sig, timestamp)
        try:
            public_key.verify(signature, message)
        except InvalidSignature as error:
            raise NoteRejected(f"the signature of {sig.name} does not verify") from error
        verified.add(sig.name)
    if not verified:
        raise NoteRejected("no known key signed this note")
    return OpenedNote(text, frozenset(verified), cosigned_at)
