"""RFC 9162 hashing and the incremental tree over a node store."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrex.audit import (
    EMPTY_ROOT,
    AuditError,
    MemoryNodeStore,
    NodeStore,
    append,
    leaf_hash,
    node_hash,
    root,
    root_at,
)
from migrex.audit.merkle import range_nodes

# The classic test tree of RFC 6962 implementations (certificate-transparency, trillian,
# transparency-dev/merkle `proof/verify_test.go`): eight leaves and the root at each size.
VECTOR_LEAVES = [
    b"",
    bytes.fromhex("00"),
    bytes.fromhex("10"),
    bytes.fromhex("2021"),
    bytes.fromhex("3031"),
    bytes.fromhex("40414243"),
    bytes.fromhex("5051525354555657"),
    bytes.fromhex("606162636465666768696a6b6c6d6e6f"),
]
VECTOR_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def naive_root(entries: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1, over raw entries."""
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + naive_root(entries[:k]) + naive_root(entries[k:])).digest()


def filled(count: int) -> MemoryNodeStore:
    store = MemoryNodeStore()
    append(store, [leaf_hash(i.to_bytes(4, "big")) for i in range(count)])
    return store


class CountingStore:
    """A node store that counts reads, to hold proofs to O(log n)."""

    def __init__(self, inner: MemoryNodeStore) -> None:
        self.inner = inner
        self.reads = 0

    def get(self, level: int, index: int) -> bytes | None:
        self.reads += 1
        return self.inner.get(level, index)

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        self.inner.put_many(items)

    def size(self) -> int:
        return self.inner.size()


def test_the_memory_store_fits_the_protocol() -> None:
    store: NodeStore = MemoryNodeStore()
    assert store.size() == 0


def test_hashes_match_the_rfc_6962_hasher_vectors() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


def test_a_node_is_never_the_hash_of_its_children_as_a_leaf() -> None:
    left, right = leaf_hash(b"Hello"), leaf_hash(b"World")
    assert node_hash(left, right) != leaf_hash(left + right)
    assert node_hash(left, right) != node_hash(right, left)


def test_roots_match_the_published_vectors_at_every_size() -> None:
    hashes = [leaf_hash(entry) for entry in VECTOR_LEAVES]
    store = MemoryNodeStore()
    append(store, hashes)
    for size, expected in enumerate(VECTOR_ROOTS, start=1):
        assert root(hashes[:size]).hex() == expected
        assert root_at(store, size).hex() == expected
    assert root([]) == root_at(store, 0) == EMPTY_ROOT


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=8), max_size=70))
def test_root_and_root_at_agree_with_the_recursive_definition(entries: list[bytes]) -> None:
    hashes = [leaf_hash(entry) for entry in entries]
    store = MemoryNodeStore()
    append(store, hashes)
    for size in range(len(entries) + 1):
        expected = naive_root(entries[:size])
        assert root(hashes[:size]) == expected
        assert root_at(store, size) == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), max_size=8))
def test_appending_in_batches_stores_what_one_batch_stores(batches: list[int]) -> None:
    total = sum(batches)
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(total)]
    batched, whole = MemoryNodeStore(), MemoryNodeStore()
    position = 0
    for count in batches:
        assert append(batched, hashes[position : position + count]) == position + count
        position += count
    append(whole, hashes)
    for level in range(total.bit_length()):
        for index in range((total >> level) + 1):
            assert batched.get(level, index) == whole.get(level, index)
    assert batched.size() == total


def test_only_complete_subtrees_are_stored() -> None:
    store = filled(5)
    assert store.get(0, 4) is not None and store.get(0, 5) is None
    assert store.get(1, 1) is not None and store.get(1, 2) is None
    assert store.get(2, 0) is not None and store.get(2, 1) is None
    assert store.get(3, 0) is None


def test_range_nodes_tile_a_range_with_complete_subtrees() -> None:
    assert range_nodes(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert range_nodes(8, 13) == [(2, 2), (0, 12)]
    assert range_nodes(0, 0) == []


def test_append_reads_only_the_right_edge() -> None:
    store = CountingStore(filled(1_000))
    append(store, [leaf_hash(b"more")] * 10)
    assert store.reads == bin(1_000).count("1")


def test_root_at_reads_one_node_per_set_bit_of_the_size() -> None:
    store = CountingStore(filled(1_000))
    root_at(store, 999)
    assert store.reads == bin(999).count("1")


def test_bad_sizes_and_hashes_are_refused() -> None:
    store = filled(4)
    with pytest.raises(AuditError):
        root_at(store, 5)
    with pytest.raises(AuditError):
        root_at(store, -1)
    with pytest.raises(AuditError):
        append(store, [b"short"])
    assert store.size() == 4


def test_the_memory_store_refuses_gaps_and_rewrites() -> None:
    store = filled(2)
    store.put_many([(0, 1, leaf_hash(b"\x00\x00\x00\x01"))])  # the same hash again: fine
    with pytest.raises(AuditError):
        store.put_many([(0, 1, leaf_hash(b"changed"))])
    with pytest.raises(AuditError):
        store.put_many([(0, 5, leaf_hash(b"gap"))])
    assert store.size() == 2
