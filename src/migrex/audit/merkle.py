"""RFC 9162 Merkle tree hashing, and an append-only tree kept as stored subtree hashes.

Hashing follows RFC 9162 §2.1.1 (the same as RFC 6962 §2.1): a leaf hashes as
SHA-256(0x00 || data), an inner node as SHA-256(0x01 || left || right), the empty tree as
SHA-256 of the empty string. The prefixes keep a leaf from ever passing for an inner node.

The incremental tree stores the hash of every *complete* subtree by (level, index): level 0
holds the leaf hashes, and the node at (level, i) covers leaves [i·2^level, (i+1)·2^level).
Those hashes never change once written, so the root of any prefix of the log and every proof
need only the O(log n) complete subtrees that tile a range, never a rehash of the leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Final, Protocol

from migrex.errors import MigrexError

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"


class AuditError(MigrexError):
    """The audit log cannot do what was asked: a size, index or hash out of bounds."""

    type_slug = "audit"
    title = "The audit log cannot answer this request"
    status = 422
    exit_code = 10


def leaf_hash(data: bytes) -> bytes:
    """MTH of a one-entry list: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over already hashed leaves, for any n including 0.

    Folds left to right keeping one pending hash per complete subtree (a binary counter), which
    gives the RFC's split rule without recursion: each complete subtree merges with its equal
    left neighbour, and the leftover subtrees of unequal sizes are joined right to left.
    """
    stack: list[tuple[int, bytes]] = []
    for leaf in leaf_hashes:
        level, node = 0, leaf
        while stack and stack[-1][0] == level:
            node = node_hash(stack.pop()[1], node)
            level += 1
        stack.append((level, node))
    if not stack:
        return EMPTY_ROOT
    node = stack.pop()[1]
    while stack:
        node = node_hash(stack.pop()[1], node)
    return node


class NodeStore(Protocol):
    """Where the hashes of complete subtrees live: in memory here, in the database later."""

    def get(self, level: int, index: int) -> bytes | None:
        """The hash at (level, index), or None when that subtree is not complete yet."""
        ...

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Store (level, index, hash) triples; within a level they arrive in index order."""
        ...

    def size(self) -> int:
        """How many leaves the tree holds (the number of hashes at level 0)."""
        ...


class MemoryNodeStore:
    """A `NodeStore` in process memory: one bytearray of concatenated hashes per level.

    Flat arrays cost 32 bytes a node, about 64 MB for a million leaves, where a dict of
    bytes objects would cost several times that.
    """

    def __init__(self) -> None:
        self._levels: list[bytearray] = []

    def get(self, level: int, index: int) -> bytes | None:
        if level < 0 or index < 0 or level >= len(self._levels):
            return None
        start = index * HASH_SIZE
        stored = self._levels[level]
        if start + HASH_SIZE > len(stored):
            return None
        return bytes(stored[start : start + HASH_SIZE])

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        for level, index, node in items:
            if len(node) != HASH_SIZE:
                raise AuditError(f"a node hash is {HASH_SIZE} bytes, got {len(node)}")
            while len(self._levels) <= level:
                self._levels.append(bytearray())
            stored = self._levels[level]
            start = index * HASH_SIZE
            if start == len(stored):
                stored += node
            elif start < len(stored) and stored[start : start + HASH_SIZE] == node:
                continue  # the same node written twice: harmless
            else:
                # A gap or a changed hash means the caller's tree is not append-only.
                raise AuditError(f"node ({level}, {index}) cannot be written here")

    def size(self) -> int:
        return len(self._levels[0]) // HASH_SIZE if self._levels else 0


def _check_hash(value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise AuditError(f"a leaf hash is {HASH_SIZE} bytes, got {len(value)}")


def range_nodes(start: int, end: int) -> list[tuple[int, int]]:
    """The (level, index) of the complete subtrees that tile leaves [start, end), left to right.

    Valid for the ranges RFC 9162's recursion produces, whose start is a multiple of the
    largest power of two not above their length: the tiles then follow the set bits of
    end - start from the highest down.
    """
    tiles: list[tuple[int, int]] = []
    position, remaining = start, end - start
    while remaining:
        level = remaining.bit_length() - 1
        tiles.append((level, position >> level))
        position += 1 << level
        remaining -= 1 << level
    return tiles


def range_hash(store: NodeStore, start: int, end: int) -> bytes:
    """MTH(D[start:end]) from at most log2(end - start) + 1 stored nodes."""
    tiles = range_nodes(start, end)
    if not tiles:
        return EMPTY_ROOT
    hashes = [_stored(store, level, index) for level, index in tiles]
    # The RFC splits off the largest power of two on the left, so tiles join right to left.
    node = hashes.pop()
    while hashes:
        node = node_hash(hashes.pop(), node)
    return node


def _stored(store: NodeStore, level: int, index: int) -> bytes:
    node = store.get(level, index)
    if node is None:
        raise AuditError(f"the node store has no node ({level}, {index})")
    return node


def root_at(store: NodeStore, size: int) -> bytes:
    """The root of the tree made of the first `size` leaves (any size up to the store's)."""
    if not 0 <= size <= store.size():
        raise AuditError(f"the log has {store.size()} leaves, not {size}")
    return range_hash(store, 0, size)


def append(store: NodeStore, leaf_hashes: Iterable[bytes]) -> int:
    """Append leaf hashes and every subtree they complete; returns the new tree size.

    Reads only the old tree's right edge (one node per set bit of its size), then computes
    everything else in memory and writes it with one `put_many`, so a database store can
    append a batch inside the caller's transaction with O(log n) reads.
    """
    size = store.size()
    frontier = [
        (level, index, _stored(store, level, index)) for level, index in range_nodes(0, size)
    ]
    written: list[tuple[int, int, bytes]] = []
    for leaf in leaf_hashes:
        _check_hash(leaf)
        level, index, node = 0, size, leaf
        written.append((0, index, node))
        # A right child completes its parent; carry upwards like a binary counter.
        while frontier and frontier[-1][0] == level:
            node = node_hash(frontier.pop()[2], node)
            level, index = level + 1, index >> 1
            written.append((level, index, node))
        frontier.append((level, index, node))
        size += 1
    if written:
        store.put_many(written)
    return size
