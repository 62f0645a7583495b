"""Inclusion and consistency proofs against the RFC's definitions and published vectors."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_audit_merkle import VECTOR_LEAVES, VECTOR_ROOTS, CountingStore, filled

from migrex.audit import (
    EMPTY_ROOT,
    AuditError,
    MemoryNodeStore,
    append,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_at,
    verify_consistency,
    verify_inclusion,
)

ROOTS = [bytes.fromhex(value) for value in VECTOR_ROOTS]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")

# transparency-dev/merkle `proof/verify_test.go`: (leaf index, tree size, audit path).
INCLUSION_VECTORS = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (0, 1, []),
]  # fmt: skip

# The same file: (old size, new size, consistency proof).
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


class Reference:
    """MTH, PATH and PROOF written straight from RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1."""

    def __init__(self, entries: list[bytes]) -> None:
        self.entries = entries
        self.mth: Callable[[int, int], bytes] = cache(self._mth)

    @staticmethod
    def split(n: int) -> int:
        k = 1
        while k * 2 < n:
            k *= 2
        return k

    def _mth(self, start: int, end: int) -> bytes:
        n = end - start
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return hashlib.sha256(b"\x00" + self.entries[start]).digest()
        k = self.split(n)
        return hashlib.sha256(
            b"\x01" + self.mth(start, start + k) + self.mth(start + k, end)
        ).digest()

    def path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = self.split(n)
        if m < k:
            return [*self.path(m, start, start + k), self.mth(start + k, end)]
        return [*self.path(m - k, start + k, end), self.mth(start, start + k)]

    def subproof(self, m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [self.mth(start, end)]
        k = self.split(n)
        if m <= k:
            return [*self.subproof(m, start, start + k, whole), self.mth(start + k, end)]
        return [*self.subproof(m - k, start + k, end, False), self.mth(start, start + k)]


def vector_store() -> MemoryNodeStore:
    store = MemoryNodeStore()
    append(store, [leaf_hash(entry) for entry in VECTOR_LEAVES])
    return store


def hexes(proof: list[bytes]) -> list[str]:
    return [node.hex() for node in proof]


def flipped(proof: list[bytes], position: int, bit: int = 3) -> list[bytes]:
    changed = list(proof)
    changed[position] = bytes([changed[position][0] ^ (1 << bit)]) + changed[position][1:]
    return changed


def inclusion_tampering(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, tuple[bytes, int, int, list[bytes], bytes]]]:
    """The corruptions transparency-dev's verifier test applies to every good inclusion proof."""
    probes = [
        ("index - 1", (leaf, index - 1, size, proof, root)),
        ("index + 1", (leaf, index + 1, size, proof, root)),
        ("index ^ 2", (leaf, index ^ 2, size, proof, root)),
        ("size * 2", (leaf, index, size * 2, proof, root)),
        ("size // 2", (leaf, index, size // 2, proof, root)),
        ("wrong leaf", (b"WrongLeaf", index, size, proof, root)),
        ("empty root", (leaf, index, size, proof, EMPTY_ROOT)),
        ("random root", (leaf, index, size, proof, SOME_HASH)),
        ("trailing garbage", (leaf, index, size, [*proof, b""], root)),
        ("trailing root", (leaf, index, size, [*proof, root], root)),
        ("preceding garbage", (leaf, index, size, [b"", *proof], root)),
        ("preceding root", (leaf, index, size, [root, *proof], root)),
    ]
    probes += [
        (f"flipped bit in {i}", (leaf, index, size, flipped(proof, i), root))
        for i in range(len(proof))
    ]
    if proof:
        probes.append(("removed element", (leaf, index, size, proof[:-1], root)))
    if len(proof) > 1:
        probes.append(
            ("inserted element", (leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root))
        )
    return probes


def consistency_tampering(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> list[tuple[str, tuple[int, int, bytes, bytes, list[bytes]]]]:
    """The corruptions transparency-dev's verifier test applies to every non-empty proof."""
    probes = [
        ("old - 1", (old - 1, new, old_root, new_root, proof)),
        ("old + 1", (old + 1, new, old_root, new_root, proof)),
        ("old ^ 2", (old ^ 2, new, old_root, new_root, proof)),
        ("new * 2", (old, new * 2, old_root, new_root, proof)),
        ("new // 2", (old, new // 2, old_root, new_root, proof)),
        ("wrong old root", (old, new, b"WrongRoot", new_root, proof)),
        ("wrong new root", (old, new, old_root, SOME_HASH, proof)),
        ("swapped roots", (old, new, new_root, old_root, proof)),
        ("empty proof", (old, new, old_root, new_root, [])),
        ("trailing garbage", (old, new, old_root, new_root, [*proof, b""])),
        ("trailing old root", (old, new, old_root, new_root, [*proof, old_root])),
        ("trailing new root", (old, new, old_root, new_root, [*proof, new_root])),
        ("preceding garbage", (old, new, old_root, new_root, [b"", *proof])),
        ("preceding old root", (old, new, old_root, new_root, [old_root, *proof])),
        ("preceding new root", (old, new, old_root, new_root, [new_root, *proof])),
        ("preceding proof[0]", (old, new, old_root, new_root, [proof[0], *proof])),
        ("truncated", (old, new, old_root, new_root, proof[:-1])),
    ]
    probes += [
        (f"flipped bit in {i}", (old, new, old_root, new_root, flipped(proof, i, 4)))
        for i in range(len(proof))
    ]
    return probes


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_the_published_vectors(
    index: int, size: int, expected: list[str]
) -> None:
    store = vector_store()
    assert hexes(inclusion_proof(store, index, size)) == expected
    proof = [bytes.fromhex(node) for node in expected]
    leaf = leaf_hash(VECTOR_LEAVES[index])
    assert verify_inclusion(leaf, index, size, proof, ROOTS[size - 1])
    for description, probe in inclusion_tampering(index, size, proof, ROOTS[size - 1], leaf):
        assert not verify_inclusion(*probe), description


@pytest.mark.parametrize(("old", "new", "expected"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_published_vectors(
    old: int, new: int, expected: list[str]
) -> None:
    store = vector_store()
    assert hexes(consistency_proof(store, old, new)) == expected
    proof = [bytes.fromhex(node) for node in expected]
    old_root, new_root = ROOTS[old - 1], ROOTS[new - 1]
    assert verify_consistency(old, new, old_root, new_root, proof)
    if proof:
        for description, probe in consistency_tampering(old, new, old_root, new_root, proof):
            assert not verify_consistency(*probe), description


@settings(max_examples=100, deadline=None)
@given(size=st.integers(min_value=1, max_value=300), seed=st.binary(max_size=4))
@example(size=255, seed=b"")
@example(size=256, seed=b"")
@example(size=257, seed=b"")
@example(size=300, seed=b"")
def test_proofs_equal_the_rfc_definitions_for_every_index(size: int, seed: bytes) -> None:
    entries = [seed + i.to_bytes(2, "big") for i in range(size)]
    reference = Reference(entries)
    store = MemoryNodeStore()
    append(store, [leaf_hash(entry) for entry in entries])
    tree_root = root_at(store, size)
    assert tree_root == reference.mth(0, size)
    for index in range(size):
        proof = inclusion_proof(store, index, size)
        assert proof == reference.path(index, 0, size)
        assert verify_inclusion(leaf_hash(entries[index]), index, size, proof, tree_root)
    for old in range(1, size + 1):
        proof = consistency_proof(store, old, size)
        assert proof == reference.subproof(old, 0, size, True)
        assert verify_consistency(old, size, reference.mth(0, old), tree_root, proof)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_tampering_with_an_inclusion_proof_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=1, max_value=300))
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    store = filled(size)
    proof, tree_root = inclusion_proof(store, index, size), root_at(store, size)
    leaf = leaf_hash(index.to_bytes(4, "big"))
    for description, probe in inclusion_tampering(index, size, proof, tree_root, leaf):
        assert not verify_inclusion(*probe), description
    if proof:
        position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        bit = data.draw(st.integers(min_value=0, max_value=255))
        changed = list(proof)
        node = bytearray(changed[position])
        node[bit // 8] ^= 1 << (bit % 8)
        changed[position] = bytes(node)
        assert not verify_inclusion(leaf, index, size, changed, tree_root)
    other = data.draw(st.integers(min_value=0, max_value=size - 1))
    if other != index:
        assert not verify_inclusion(leaf, other, size, proof, tree_root)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_tampering_with_a_consistency_proof_fails(data: st.DataObject) -> None:
    new = data.draw(st.integers(min_value=2, max_value=300))
    old = data.draw(st.integers(min_value=1, max_value=new - 1))
    store = filled(new)
    proof = consistency_proof(store, old, new)
    old_root, new_root = root_at(store, old), root_at(store, new)
    assert verify_consistency(old, new, old_root, new_root, proof)
    for description, probe in consistency_tampering(old, new, old_root, new_root, proof):
        assert not verify_consistency(*probe), description
    # A log that rewrote history: the old tree with one leaf changed.
    forged = MemoryNodeStore()
    changed_leaf = data.draw(st.integers(min_value=0, max_value=old - 1))
    append(
        forged,
        [leaf_hash(b"forged" if i == changed_leaf else i.to_bytes(4, "big")) for i in range(old)],
    )
    assert not verify_consistency(old, new, root_at(forged, old), new_root, proof)


def test_trivial_consistency_cases_follow_the_reference_verifier() -> None:
    some, other = leaf_hash(b"1"), leaf_hash(b"2")
    assert verify_consistency(0, 0, some, some, [])
    assert verify_consistency(0, 5, some, other, [])  # every tree extends the empty tree
    assert verify_consistency(3, 3, some, some, [])
    assert not verify_consistency(3, 3, some, other, [])
    assert not verify_consistency(3, 3, some, some, [EMPTY_ROOT])
    assert not verify_consistency(0, 5, some, other, [EMPTY_ROOT])
    assert not verify_consistency(2, 1, some, other, [])  # time travel
    assert not verify_consistency(1, 2, some, other, [])


def test_inclusion_in_a_one_leaf_tree_and_out_of_range() -> None:
    leaf = leaf_hash(b"data")
    assert verify_inclusion(leaf, 0, 1, [], leaf)
    assert not verify_inclusion(leaf, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], leaf)
    for index, size in [(0, 0), (1, 0), (1, 1), (2, 1), (-1, 4)]:
        assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)


def test_proofs_read_logarithmically_many_nodes() -> None:
    store = CountingStore(filled(5_000))
    for index in (0, 1, 2_047, 4_095, 4_096, 4_998):
        store.reads = 0
        inclusion_proof(store, index, 4_999)
        assert store.reads <= 2 * (4_999).bit_length()
    for old in (1, 7, 2_048, 3_333, 4_998):
        store.reads = 0
        consistency_proof(store, old, 4_999)
        assert store.reads <= 2 * (4_999).bit_length()


def test_proof_requests_outside_the_tree_are_refused() -> None:
    store = filled(10)
    for index, size in [(10, 10), (-1, 10), (0, 0), (0, 11)]:
        with pytest.raises(AuditError):
            inclusion_proof(store, index, size)
    for old, new in [(5, 4), (-1, 4), (3, 11)]:
        with pytest.raises(AuditError):
            consistency_proof(store, old, new)
    assert consistency_proof(store, 0, 10) == consistency_proof(store, 10, 10) == []
