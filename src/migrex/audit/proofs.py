"""Inclusion and consistency proofs (RFC 9162 §2.1.3 and §2.1.4): making and checking them.

Making a proof walks the RFC's recursive definitions (PATH, SUBPROOF) from the root down,
which gives the ranges of leaves whose subtree hashes form the proof; each range is then read
from the node store as at most log2 n complete subtrees. At most one range per proof lies on
the tree's ragged right edge, so a proof costs O(log n) reads. `inclusion_ranges` and
`consistency_ranges` are exposed so a database store can fetch all those nodes in one query.

Checking a proof is the RFC's iterative algorithm (§2.1.3.2, §2.1.4.2) and needs nothing but
the proof, the sizes and the roots: anyone can run it. A witness uses the consistency check to
refuse a log that shows different histories to different parties (a split view).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from migrex.audit.checkpoint import (
    Checkpoint,
    NoteRejected,
    add_cosignature,
    open_note,
    parse_checkpoint,
)
from migrex.audit.merkle import HASH_SIZE, AuditError, NodeStore, node_hash, range_hash


def _split(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1), where the RFC splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges [start, end) whose hashes make PATH(index, D[size]), in proof order."""
    if not 0 <= index < size:
        raise AuditError(f"leaf {index} is not in a tree of {size} leaves")
    siblings: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            siblings.append((middle, end))
            end = middle
        else:
            siblings.append((start, middle))
            start = middle
    # PATH lists the deepest sibling first; the walk down met it last.
    siblings.reverse()
    return siblings


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes make PROOF(old_size, D[new_size]), in proof order.

    Empty when old_size is 0 or equals new_size: every tree extends the empty tree, and a
    tree is consistent with itself.
    """
    if not 0 <= old_size <= new_size:
        raise AuditError(f"no consistency proof from {old_size} leaves to {new_size}")
    if old_size in {0, new_size}:
        return []
    ranges: list[tuple[int, int]] = []
    start, end, whole_old_tree = 0, new_size, True
    # SUBPROOF(m, D[start:end], b), with m counted from `start`, unrolled.
    while end - start != old_size - start:
        middle = start + _split(end - start)
        if old_size <= middle:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((start, middle))
            start, whole_old_tree = middle, False
    if not whole_old_tree:
        # The old tree is not a subtree of the new one here, so its last piece is sent.
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def inclusion_proof(store: NodeStore, index: int, size: int) -> list[bytes]:
    """The audit path of leaf `index` in the tree of the first `size` leaves."""
    if size > store.size():
        raise AuditError(f"the log has {store.size()} leaves, not {size}")
    return [range_hash(store, start, end) for start, end in inclusion_ranges(index, size)]


def consistency_proof(store: NodeStore, old_size: int, new_size: int) -> list[bytes]:
    """The proof that the tree of `new_size` leaves extends the tree of `old_size` leaves."""
    if new_size > store.size():
        raise AuditError(f"the log has {store.size()} leaves, not {new_size}")
    return [range_hash(store, start, end) for start, end in consistency_ranges(old_size, new_size)]


def _well_formed(*hashes: bytes) -> bool:
    return all(len(value) == HASH_SIZE for value in hashes)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether `proof` shows the leaf with hash `leaf_hash` at `index` in the tree `root`."""
    if not 0 <= index < size or not _well_formed(leaf_hash, root, *proof):
        return False
    fn, sn, node = index, size - 1, leaf_hash
    for sibling in proof:
        if sn == 0:
            return False  # more proof than tree
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            # The right edge skips levels where this node had no right sibling.
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = node_hash(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(node, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows that the tree `new_root` extends the tree `old_root`."""
    if not 0 <= old_size <= new_size or not _well_formed(old_root, new_root, *proof):
        return False
    if old_size == new_size:
        return not proof and hmac.compare_digest(old_root, new_root)
    if old_size == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # A power-of-two old tree is a subtree of the new one: the proof leaves its root out.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old_node = new_node = path[0]
    for sibling in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            old_node = node_hash(sibling, old_node)
            new_node = node_hash(sibling, new_node)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            new_node = node_hash(new_node, sibling)
        fn, sn = fn >> 1, sn >> 1
    return (
        sn == 0
        and hmac.compare_digest(old_node, old_root)
        and hmac.compare_digest(new_node, new_root)
    )


class SplitView(NoteRejected):
    type_slug = "split-view"
    title = "The log presented two checkpoints that no append-only history explains"
    status = 409


def check_consistent_views(a: Checkpoint, b: Checkpoint, proof: Sequence[bytes]) -> bool:
    """Whether two checkpoints of one log can both be true: the larger extends the smaller.

    `proof` is the consistency proof from the smaller size to the larger one (empty when the
    sizes are equal, where the roots must then be equal). False is evidence of a split view:
    two checkpoints signed by the same log that no single append-only history explains.
    """
    if a.origin != b.origin:
        raise AuditError("checkpoints of different logs cannot be compared")
    old, new = (a, b) if a.size <= b.size else (b, a)
    return verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)


def witness_checkpoint(
    signed: str,
    log_keys: Mapping[str, Ed25519PublicKey],
    last_seen: Checkpoint | None,
    proof: Sequence[bytes],
    cosigner: tuple[str, Ed25519PrivateKey],
    *,
    at: datetime,
) -> tuple[Checkpoint, str]:
    """A witness's step: the new checkpoint, and `signed` with the witness's cosignature.

    Verifies the log's signature, then that the checkpoint extends `last_seen` (the latest one
    this witness cosigned for the log, None the first time) by the consistency `proof`.
    Raises `SplitView` when it does not, `NoteRejected` for anything else wrong.
    """
    checkpoint = parse_checkpoint(open_note(signed, log_keys).text)
    if last_seen is not None:
        if checkpoint.origin != last_seen.origin or checkpoint.size < last_seen.size:
            raise NoteRejected("the checkpoint is for another log or older than one cosigned")
        if not check_consistent_views(last_seen, checkpoint, proof):
            raise SplitView(f"{checkpoint.origin} at {checkpoint.size} leaves is inconsistent")
    return checkpoint, add_cosignature(signed, *cosigner, at=at)
