"""One chunk of an encodings transfer: a batch of records, sealed, signed and chained. Pure.

A chunk is a fixed binary header, the AES-256-GCM ciphertext of its batch and an Ed25519
signature:

    header   magic "MGXLNK01" | index u64 | records u32 | run id (64 bytes, NUL-padded)
             | SHA-256 of the previous chunk | nonce (12 bytes) | ciphertext length u64
    body     AES-256-GCM(content key, nonce, batch, associated data = the header)
    trailer  Ed25519 signature over "migrex-linkage-chunk" | header | SHA-256(ciphertext)

All integers little-endian. The chunk's own hash, the link the next chunk carries, is
SHA-256(header | SHA-256(ciphertext) | signature): the ciphertext is hashed once, for the
signature and the chain together.

A batch in clear is the token count of each blocking pass (u32 each, passes in the order the
opening declares), the filters (records × words u64), the pseudonyms (records u64), then per
pass the rows (u32, from the batch's first record) and the tokens (u64) of its entries.
Filters do not compress (they are half ones by design), so nothing is compressed.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from migrex.errors import MigrexError
from migrex.linkage.layout import Encoded, Tokens, Words

Uint64s = npt.NDArray[np.uint64]

MAGIC: Final = b"MGXLNK01"
HEADER: Final = struct.Struct("<8sQI64s32s12sQ")
SIGNATURE_BYTES: Final = 64
TAG_BYTES: Final = 16
RUN_ID_BYTES: Final = 64
_SIGNED: Final = b"migrex-linkage-chunk"
# AES-GCM in `cryptography` takes at most 2**31 - 1 bytes at once; chunks stay far below.
MAX_CHUNK_BYTES: Final = 1 << 30

Reason = Literal[
    "malformed",
    "truncated",
    "unknown-sender-key",
    "bad-signature",
    "wrong-recipient",
    "undecryptable",
    "foreign-run",
    "duplicate",
    "out-of-order",
    "broken-chain",
    "missing",
    "surplus",
    "manifest-mismatch",
    "incomplete",
]
REFUSAL_REASONS: frozenset[str] = frozenset(get_args(Reason))


class TransferRefused(MigrexError):
    """A transfer of encodings, or one of its chunks, failed a check: nothing of it is used.

    `reason` is one of `REFUSAL_REASONS`, for machines; `chunk` the index of the chunk at
    fault, when one is. The detail names files, indexes and hashes, never a record.
    """

    type_slug = "linkage-transfer-refused"
    title = "The transfer of linkage encodings was refused; nothing of it is used"
    status = 422

    def __init__(self, reason: Reason, detail: str, *, chunk: int | None = None) -> None:
        super().__init__(detail)
        self.reason: Reason = reason
        self.chunk = chunk


@dataclass(frozen=True)
class Batch:
    """Records `first` to `first + len(filters)` of a party's encodings; token rows are the
    register's own (absolute) rows."""

    first: int
    filters: Words
    pseudonyms: Uint64s
    blocks: dict[str, Tokens]

    def __len__(self) -> int:
        return len(self.filters)


def batches(
    encoded: Encoded, pseudonyms: Uint64s, records: int, *, start: int = 0
) -> Iterator[Batch]:
    """The encodings cut in batches of `records` (the last may be shorter), from batch
    `start` on. Each pass's tokens are sorted by row once, so a batch is a slice of them."""
    if records < 1:
        raise ValueError("a batch holds at least one record")
    if len(pseudonyms) != len(encoded):
        raise ValueError("one pseudonym per record")
    by_row: dict[str, tuple[npt.NDArray[np.int64], Uint64s]] = {}
    for name, found in encoded.blocks.items():
        rows = found.rows.astype(np.int64, copy=False)
        if np.all(rows[1:] >= rows[:-1]):  # as `blocking_tokens` makes them
            by_row[name] = (rows, found.tokens)
            continue
        order = np.argsort(rows, kind="stable")
        by_row[name] = (rows[order], found.tokens[order])
    for first in range(start * records, len(encoded), records):
        last = min(first + records, len(encoded))
        blocks = {}
        for name, (rows, tokens) in by_row.items():
            low, high = np.searchsorted(rows, [first, last], side="left")
            blocks[name] = Tokens(tokens[low:high], rows[low:high])
        yield Batch(first, encoded.filters[first:last], pseudonyms[first:last], blocks)


def pack(batch: Batch, passes: Sequence[str]) -> bytes:
    """The batch in clear, as the module docstring lays it out."""
    if set(batch.blocks) != set(passes):
        raise ValueError("the batch's passes are not the transfer's")
    parts: list[bytes] = [
        np.array([len(batch.blocks[p].tokens) for p in passes], dtype="<u4").tobytes(),
        np.ascontiguousarray(batch.filters, dtype="<u8").tobytes(),
        np.ascontiguousarray(batch.pseudonyms, dtype="<u8").tobytes(),
    ]
    for name in passes:
        entries = batch.blocks[name]
        parts.append((entries.rows - batch.first).astype("<u4").tobytes())
        parts.append(np.ascontiguousarray(entries.tokens, dtype="<u8").tobytes())
    return b"".join(parts)


def unpack(
    data: bytes, *, first: int, records: int, words: int, passes: Sequence[str], chunk: int
) -> Batch:
    """A batch from its bytes in clear; TransferRefused("malformed") if they do not add up."""

    def malformed(why: str) -> TransferRefused:
        return TransferRefused("malformed", f"chunk {chunk}: {why}", chunk=chunk)

    head = 4 * len(passes)
    if len(data) < head:
        raise malformed("its content is shorter than its token counts")
    counts = np.frombuffer(data, dtype="<u4", count=len(passes)).astype(np.int64)
    expected = head + 8 * records * (words + 1) + 12 * int(counts.sum())
    if len(data) != expected:
        raise malformed(f"its content has {len(data)} bytes where its counts make {expected}")
    at = head
    filters = np.frombuffer(data, dtype="<u8", count=records * words, offset=at)
    at += 8 * records * words
    pseudonyms = np.frombuffer(data, dtype="<u8", count=records, offset=at)
    at += 8 * records
    blocks = {}
    for name, count in zip(passes, counts.tolist(), strict=True):
        rows = np.frombuffer(data, dtype="<u4", count=count, offset=at)
        at += 4 * count
        tokens = np.frombuffer(data, dtype="<u8", count=count, offset=at)
        at += 8 * count
        if count and int(rows.max()) >= records:
            raise malformed(f"a token of pass {name!r} names a row outside the chunk")
        blocks[name] = Tokens(tokens.astype(np.uint64), rows.astype(np.int64) + first)
    return Batch(
        first, filters.astype(np.uint64).reshape(records, words), pseudonyms.astype(np.uint64),
        blocks,
    )  # fmt: skip


def _run_bytes(run_id: str) -> bytes:
    raw = run_id.encode("ascii")
    if not 0 < len(raw) <= RUN_ID_BYTES or b"\0" in raw:
        raise ValueError(f"a run id is 1 to {RUN_ID_BYTES} ASCII characters")
    return raw.ljust(RUN_ID_BYTES, b"\0")


def _link(header: bytes, body_digest: bytes, signature: bytes) -> bytes:
    return hashlib.sha256(header + body_digest + signature).digest()


@dataclass(frozen=True)
class Sealed:
    """A chunk as written, and its hash (the next chunk's `previous`)."""

    data: bytes
    link: bytes


def seal_chunk(
    content: bytes, *, index: int, records: int, run_id: str, previous: bytes, nonce: bytes,
    aead: AESGCM, signing_key: Ed25519PrivateKey,
) -> Sealed:  # fmt: skip
    """Encrypt and sign one batch in clear (`pack`). The nonce must never repeat under one
    content key; the sender draws it at random for each chunk it writes."""
    if len(previous) != 32 or len(nonce) != 12:
        raise ValueError("a chunk links a SHA-256 and takes a 96-bit nonce")
    length = len(content) + TAG_BYTES
    header = HEADER.pack(MAGIC, index, records, _run_bytes(run_id), previous, nonce, length)
    ciphertext = aead.encrypt(nonce, content, header)
    digest = hashlib.sha256(ciphertext).digest()
    signature = signing_key.sign(_SIGNED + header + digest)
    return Sealed(header + ciphertext + signature, _link(header, digest, signature))


@dataclass(frozen=True)
class Opened:
    """A chunk that passed every check: its batch in clear, its record count and its link."""

    content: bytes
    records: int
    link: bytes


def open_chunk(
    data: bytes, *, index: int, run_id: str, previous: bytes, aead: AESGCM,
    verify_key: Ed25519PublicKey, max_records: int,
) -> Opened:  # fmt: skip
    """Check chunk `index` of run `run_id`, whose predecessor hashed to `previous`, and
    decrypt it; TransferRefused otherwise. The order is the defence: the form first, then
    the sender's signature, then what the now authenticated header says (run, index, link),
    and only then the cipher."""
    if len(data) < HEADER.size + TAG_BYTES + SIGNATURE_BYTES:
        raise TransferRefused("truncated", f"chunk {index} is shorter than a chunk", chunk=index)
    magic, found, records, run, link, nonce, length = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise TransferRefused("malformed", f"chunk {index} is not a chunk", chunk=index)
    size = HEADER.size + length + SIGNATURE_BYTES
    if len(data) != size:
        reason: Reason = "truncated" if len(data) < size else "malformed"
        raise TransferRefused(
            reason, f"chunk {index} has {len(data)} bytes, its header says {size}", chunk=index
        )
    header = data[: HEADER.size]
    ciphertext = memoryview(data)[HEADER.size : HEADER.size + length]
    digest = hashlib.sha256(ciphertext).digest()
    signature = data[HEADER.size + length :]
    try:
        verify_key.verify(signature, _SIGNED + header + digest)
    except InvalidSignature:
        raise TransferRefused(
            "bad-signature", f"chunk {index} is not signed by the transfer's sender", chunk=index
        ) from None
    if run != _run_bytes(run_id):
        raise TransferRefused(
            "foreign-run", f"chunk {index} belongs to another run than {run_id}", chunk=index
        )
    if found != index:
        reason = "duplicate" if found < index else "out-of-order"
        raise TransferRefused(
            reason, f"chunk {index} holds the sender's chunk {found}", chunk=index
        )
    if link != previous:
        raise TransferRefused(
            "broken-chain",
            f"chunk {index} does not follow chunk {index - 1} (its link is {link.hex()[:16]}…, "
            f"expected {previous.hex()[:16]}…)",
            chunk=index,
        )
    if not 0 < records <= max_records:
        raise TransferRefused("malformed", f"chunk {index} claims {records} records", chunk=index)
    try:
        content = aead.decrypt(nonce, ciphertext, header)
    except InvalidTag:
        raise TransferRefused(
            "undecryptable", f"chunk {index} fails its authentication tag", chunk=index
        ) from None
    return Opened(content, records, _link(header, digest, signature))
