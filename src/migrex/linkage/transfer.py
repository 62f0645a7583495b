"""Bulk transfer of a party's encodings: sealed, signed, hash-chained chunks in a directory.

A register of 20 M records is some 4 GB of filters and tokens. The unit of transfer is a
directory the sender fills and the receiver reads; how the files travel (the exchange's
HTTPS, a mounted volume, a courier's disk) is out of scope. The directory holds:

- `opening.jws`: written first and signed by the sender (Ed25519 JWS, its authority key):
  run id, sender, recipient, records per chunk, the encoding's parameters, and the
  transfer's content key wrapped twice (JWE, ECDH-ES+A256KW over X25519, as envelopes are
  sealed): to the recipient, and to the sender itself, so a sender that was killed can
  resume with nothing but its key store;
- `chunk-00000000.bin` …: the records in fixed-size batches, each sealed, signed and linked
  to the chunk before it (`linkage.chunks`); chunk 0 links to the opening's SHA-256;
- `manifest.jws`, written last, signed: run, sender, recipient, the opening's hash, record
  count, chunk count, records per chunk, the last chunk's hash (the chain head) and the
  encoding's parameters;
- `received.json`: the receiver's note of how far it has verified.

Why one content key and not a JWE per chunk: sealing a message (`envelope.seal`) base64s it
twice and draws an ephemeral key agreement each time, and joserfc holds the whole token in
memory as text; for gigabytes that is a third more bytes and most of the time. One random
AES-256-GCM key per transfer, wrapped once, with a fresh random nonce per chunk and the
chunk's header (index, run, link, length) as associated data, costs one pass of AES-GCM and
one of SHA-256 per byte. Each chunk is still signed by the sender (over its header and the
ciphertext's hash, one Ed25519 signature per some megabytes), so a chunk is known to be the
sender's before it is decrypted, and the recipient, who also holds the content key, cannot
forge one. Random nonces, not counters: a resumed sender writes chunk i again under the same
key, and it must not reuse chunk i's nonce.

Every file is written under a temporary name, flushed to disk and renamed: a killed sender
leaves at worst a `.partial` file, which the receiver does not read. The receiving side is
`linkage.reception`: `receive` verifies the chunks that are there, one at a time, and
records its progress; a chunk that fails stops it with `TransferRefused`, and `resume_from`
tells the sender which chunk to write next (between nodes, the receiver's answer to the
sender's question; here, a file the sender reads). `resume_sending` then carries on from
there without sending a verified chunk again. `read_batches` and `load` are the only ways
to use a transfer: they refuse one the receiver has not seen complete, and they check every
chunk again as they decrypt it (a file changed on disk after it was received is refused,
whatever `received.json` says, which is why that note needs no protection of its own).
`load` returns nothing until the last chunk and the manifest have checked. Writer and
readers hold one chunk at a time (`CHUNK_RECORDS` records, some 6 MB).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jwe, jws
from joserfc.jwk import OKPKey
from joserfc.util import urlsafe_b64decode

from migrex.envelope import DecryptionKey, SigningKeyResolver, canonical_json, key_id
from migrex.envelope.model import (
    CONTENT_ENCRYPTION,
    KEY_AGREEMENT_ALG,
    SIGNATURE_ALG,
    is_authority_id,
    strict_json_object,
)
from migrex.envelope.seal import JWE_REGISTRY, JWS_REGISTRY, check_curve, sign_compact
from migrex.linkage.chunks import (
    RUN_ID_BYTES,
    Batch,
    TransferRefused,
    pack,
    seal_chunk,
)
from migrex.linkage.layout import LAYOUT, PASS_NAMES, PREFIX, SALT, WINDOW, Layout

OPENING: Final = "opening.jws"
MANIFEST: Final = "manifest.jws"
STATE: Final = "received.json"
OPENING_TYP: Final = "migrex-linkage-opening+jws"
MANIFEST_TYP: Final = "migrex-linkage-manifest+jws"
KEY_CTY: Final = "migrex-linkage-content-key"
CHUNK_RECORDS: Final = 32_768  # about 6 MB a chunk with the 1024-bit layout
MAX_DOCUMENT: Final = 64 * 1024  # an opening or a manifest; the receiver's note
ENCODING_VERSION: Final = 2  # 2: the salt is named (1 said only whether there was one)


def encoding_parameters(layout: Layout = LAYOUT, *, salt: str | None = SALT) -> dict[str, Any]:
    """What the receiver must know to use the filters and tokens: the layout, the hardening
    and the blocking passes. Two parties whose parameters differ cannot compare."""
    return {
        "version": ENCODING_VERSION,
        "segments": [[s.field, s.words, s.hashes] for s in layout.segments],
        "salt": salt,
        "date_window": WINDOW,
        "passes": list(PASS_NAMES),
        "prefix": PREFIX,
    }


def chunk_name(index: int) -> str:
    return f"chunk-{index:08d}.bin"


@dataclass(frozen=True)
class ResumePoint:
    """The next chunk the receiver wants, the hash it must link to, and the records of the
    chunks before it (all full, but for a short last one)."""

    index: int
    previous: bytes
    records: int


@dataclass(frozen=True)
class Manifest:
    run_id: str
    sender: str
    recipient: str
    opening_sha256: str
    record_count: int
    chunk_count: int
    chunk_records: int
    chain_head: str
    encoding: dict[str, Any]


@dataclass(frozen=True)
class Progress:
    """How far the receiver has verified; `manifest` once the transfer is complete."""

    verified: int
    records: int
    manifest: Manifest | None

    @property
    def complete(self) -> bool:
        return self.manifest is not None


# --- files -------------------------------------------------------------------------------


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_atomically(path: Path, data: bytes, *, durable: bool = True) -> None:
    """`data` at `path`, whole or not at all: written beside it, synced (when `durable`),
    then renamed."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        handle.write(data)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    partial.replace(path)
    if durable:
        _fsync_directory(path.parent)


def read_capped(path: Path, limit: int, what: str, chunk: int | None = None) -> bytes:
    """The file's bytes, refused unread when over `limit`."""
    with path.open("rb") as handle:
        # Read what the file holds, not `limit`: `read(n)` allocates n bytes up front.
        size = os.fstat(handle.fileno()).st_size
        data = handle.read(size + 1) if size <= limit else b""
    if size > limit or len(data) > limit:  # the second: it grew while we read
        raise TransferRefused("malformed", f"{what} is over {limit} bytes", chunk=chunk)
    return data


# --- signed documents --------------------------------------------------------------------


def signed_document(
    raw: bytes, typ: str, resolve: SigningKeyResolver, now: datetime
) -> tuple[dict[str, Any], OKPKey]:
    """The payload of a signed opening or manifest, and the sender's key that verified it."""
    what = typ.split("+", maxsplit=1)[0].removeprefix("migrex-linkage-")
    try:
        segments = raw.split(b".")
        if len(segments) != 3:
            raise ValueError("not a compact JWS")
        header = strict_json_object(urlsafe_b64decode(segments[0]))
        signed = jws.extract_compact(raw, registry=JWS_REGISTRY)
        payload = strict_json_object(signed.payload)
    except Exception:  # hostile bytes in a third-party parser: the document is bad
        raise TransferRefused("malformed", f"the {what} is not a compact JWS") from None
    kid, sender = header.get("kid"), payload.get("sender")
    if (
        set(header) != {"alg", "kid", "typ"}
        or header.get("alg") != SIGNATURE_ALG
        or header.get("typ") != typ
        or not isinstance(kid, str)
        or not is_authority_id(sender)
    ):
        raise TransferRefused("malformed", f"the {what} must be an {SIGNATURE_ALG} {typ}")
    key = resolve(sender, kid, now)
    if key is None:
        raise TransferRefused(
            "unknown-sender-key", f"the directory lists no key {kid!r} for {sender!r} now"
        )
    try:
        valid = jws.validate_compact(signed, key, registry=JWS_REGISTRY)
    except Exception:  # a directory key joserfc refuses proves nothing
        valid = False
    if not valid:
        raise TransferRefused("bad-signature", f"the {what} is not signed by {sender!r}")
    return payload, key


def _wrap(content_key: bytes, to: OKPKey) -> str:
    check_curve(to, "X25519")
    header = {
        "alg": KEY_AGREEMENT_ALG, "enc": CONTENT_ENCRYPTION, "kid": key_id(to), "cty": KEY_CTY,
    }  # fmt: skip
    return jwe.encrypt_compact(header, content_key, to, registry=JWE_REGISTRY)


def _unwrap(token: object, key: OKPKey) -> bytes:
    try:
        plaintext = jwe.decrypt_compact(str(token), key, registry=JWE_REGISTRY).plaintext
    except Exception:  # as for envelopes: whatever the cipher says, the key is not ours
        plaintext = None
    if plaintext is None or len(plaintext) != 32:
        raise TransferRefused("undecryptable", "the content key does not decrypt")
    return plaintext


def _kid_of(token: object) -> str:
    try:
        header = strict_json_object(urlsafe_b64decode(str(token).split(".")[0].encode()))
    except Exception:
        raise TransferRefused("malformed", "the wrapped content key is not a JWE") from None
    return str(header.get("kid"))


@dataclass(frozen=True)
class Opening:
    """A verified opening: who sends what to whom, and the content key."""

    raw: bytes
    payload: dict[str, Any]
    verify_key: OKPKey
    content_key: bytes

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(self.raw).digest()

    @property
    def run_id(self) -> str:
        return str(self.payload["run_id"])

    @property
    def chunk_records(self) -> int:
        return int(self.payload["chunk_records"])

    @property
    def passes(self) -> list[str]:
        return list(self.payload["encoding"]["passes"])

    @property
    def words(self) -> int:
        return sum(int(s[1]) for s in self.payload["encoding"]["segments"])


_OPENING_KEYS = frozenset(
    {"run_id", "sender", "recipient", "chunk_records", "encoding", "iat"}
    | {"key_for_recipient", "key_for_sender"}
)


def _check_opening(payload: dict[str, Any]) -> None:
    try:
        if set(payload) != _OPENING_KEYS:
            raise ValueError("wrong members")
        run_id, records, encoding = payload["run_id"], payload["chunk_records"], payload["encoding"]
        if not isinstance(run_id, str) or not 0 < len(run_id.encode()) <= RUN_ID_BYTES:
            raise ValueError("bad run id")
        if not run_id.isascii() or not run_id.isprintable():
            raise ValueError("bad run id")
        if type(records) is not int or records < 1:
            raise ValueError("bad chunk size")
        passes, segments = encoding["passes"], encoding["segments"]
        if not all(isinstance(p, str) for p in passes) or len(set(passes)) != len(passes):
            raise ValueError("bad passes")
        if not all(type(s[1]) is int and s[1] > 0 for s in segments):
            raise ValueError("bad segments")
        if not is_authority_id(payload["recipient"]):
            raise ValueError("bad recipient")
    except (KeyError, TypeError, IndexError, ValueError) as error:
        raise TransferRefused("malformed", f"the opening's content is wrong ({error})") from None


def read_opening(
    directory: Path, *, decryption_keys: Mapping[str, DecryptionKey],
    resolve_signing_key: SigningKeyResolver, now: datetime,
) -> Opening:  # fmt: skip
    """The opening, its signature verified and the content key unwrapped with our key."""
    path = directory / OPENING
    if not path.is_file():
        raise TransferRefused("incomplete", f"{directory.name} holds no opening yet")
    raw = read_capped(path, MAX_DOCUMENT, "the opening")
    payload, verify_key = signed_document(raw, OPENING_TYP, resolve_signing_key, now)
    _check_opening(payload)
    token = payload["key_for_recipient"]
    entry = decryption_keys.get(_kid_of(token))
    if entry is None:
        raise TransferRefused(
            "wrong-recipient", "the content key is wrapped to a key this node does not hold"
        )
    if entry.authority_id != payload["recipient"]:
        raise TransferRefused(
            "wrong-recipient",
            f"addressed to {payload['recipient']!r}, wrapped to a key of {entry.authority_id!r}",
        )
    return Opening(raw, payload, verify_key, _unwrap(token, entry.key))


# --- sending -----------------------------------------------------------------------------


class Sending:
    """A transfer being written: `write` each batch in order, then `finish`."""

    def __init__(
        self, directory: Path, opening: Opening, signing_key: OKPKey, point: ResumePoint
    ) -> None:
        self.directory = directory
        self.opening = opening
        self._signing_key = signing_key
        chunk_key = signing_key.private_key
        if not isinstance(chunk_key, Ed25519PrivateKey):
            raise ValueError("chunks are signed with the sender's private Ed25519 key")
        self._chunk_key = chunk_key
        self._aead = AESGCM(opening.content_key)
        self.next_index = point.index
        self.previous = point.previous
        self.records = point.records
        self._short = point.records != point.index * opening.chunk_records

    def write(self, batch: Batch) -> None:
        """Seal, sign and write the next chunk (synced and renamed into place)."""
        size = self.opening.chunk_records
        if self._short:
            raise ValueError("a chunk shorter than the chunk size must be the last")
        if batch.first != self.records or not 0 < len(batch) <= size:
            raise ValueError(f"expected up to {size} records from row {self.records}")
        if batch.filters.shape[1:] != (self.opening.words,):
            raise ValueError("the filters do not have the layout's width")
        sealed = seal_chunk(
            pack(batch, self.opening.passes), index=self.next_index, records=len(batch),
            run_id=self.opening.run_id, previous=self.previous, nonce=secrets.token_bytes(12),
            aead=self._aead, signing_key=self._chunk_key,
        )  # fmt: skip
        write_atomically(self.directory / chunk_name(self.next_index), sealed.data)
        self.next_index += 1
        self.previous = sealed.link
        self.records += len(batch)
        self._short = len(batch) < size

    def finish(self, now: datetime) -> Manifest:
        """Sign and write the manifest: the transfer is complete."""
        payload = self.opening.payload
        manifest = Manifest(
            run_id=self.opening.run_id, sender=payload["sender"], recipient=payload["recipient"],
            opening_sha256=self.opening.sha256.hex(), record_count=self.records,
            chunk_count=self.next_index, chunk_records=self.opening.chunk_records,
            chain_head=self.previous.hex(), encoding=payload["encoding"],
        )  # fmt: skip
        document = vars(manifest) | {"iat": int(now.timestamp())}
        signed = sign_compact(canonical_json(document), self._signing_key, MANIFEST_TYP)
        write_atomically(self.directory / MANIFEST, signed.encode("ascii"))
        return manifest


def start_sending(
    directory: Path, *, run_id: str, sender: str, recipient: str, encoding: dict[str, Any],
    signing_key: OKPKey, recipient_key: OKPKey, sender_key: OKPKey, now: datetime,
    chunk_records: int = CHUNK_RECORDS,
) -> Sending:  # fmt: skip
    """Open a new transfer in `directory` (created if need be; it must hold none yet).

    `signing_key` is the sender's private Ed25519 key, `recipient_key` the recipient's
    X25519 key and `sender_key` the sender's own (public halves are enough for both)."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / OPENING).exists():
        raise ValueError(f"{directory} already holds a transfer: resume it")
    content_key = AESGCM.generate_key(bit_length=256)
    payload = {
        "run_id": run_id, "sender": sender, "recipient": recipient,
        "chunk_records": chunk_records, "encoding": encoding, "iat": int(now.timestamp()),
        "key_for_recipient": _wrap(content_key, recipient_key),
        "key_for_sender": _wrap(content_key, sender_key),
    }  # fmt: skip
    _check_opening(payload)
    if not is_authority_id(sender):
        raise ValueError(f"{sender!r} is not an authority id")
    raw = sign_compact(canonical_json(payload), signing_key, OPENING_TYP).encode("ascii")
    write_atomically(directory / OPENING, raw)
    opening = Opening(raw, payload, signing_key, content_key)
    return Sending(directory, opening, signing_key, ResumePoint(0, opening.sha256, 0))


def resume_sending(
    directory: Path, point: ResumePoint, *, signing_key: OKPKey, sender_decryption_key: OKPKey,
    now: datetime,
) -> Sending:  # fmt: skip
    """Carry on a transfer this sender opened, from the receiver's `point` (`resume_from`):
    chunks from there on, and any manifest, are removed and written again."""
    raw = read_capped(directory / OPENING, MAX_DOCUMENT, "the opening")

    def ourselves(authority: str, kid: str, at: datetime) -> OKPKey | None:
        return signing_key if kid == key_id(signing_key) else None

    payload, _ = signed_document(raw, OPENING_TYP, ourselves, now)
    _check_opening(payload)
    content_key = _unwrap(payload["key_for_sender"], sender_decryption_key)
    opening = Opening(raw, payload, signing_key, content_key)
    size = opening.chunk_records
    if point.index == 0 and point.previous != opening.sha256:
        raise ValueError("the first chunk links to the opening")
    if point.index and not (point.index - 1) * size < point.records <= point.index * size:
        raise ValueError("the records before the resumption do not fill its chunks")
    (directory / MANIFEST).unlink(missing_ok=True)
    index = point.index
    while (directory / chunk_name(index)).exists():
        (directory / chunk_name(index)).unlink()
        index += 1
    return Sending(directory, opening, signing_key, point)


def send(sending: Sending, batches: Iterable[Batch], now: datetime) -> Manifest:
    """Write every batch from the sender's next chunk on (earlier ones are skipped, as the
    receiver holds them), then the manifest."""
    for batch in batches:
        if batch.first >= sending.records:
            sending.write(batch)
    return sending.finish(now)
