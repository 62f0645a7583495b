"""Witnessing: consistency between checkpoints, cosigning, and split-view detection."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from test_audit_checkpoint import AT, LOG_KEY, LOG_NAME, WITNESS_KEY, WITNESS_NAME

from migrex.audit import (
    AuditError,
    Checkpoint,
    MemoryNodeStore,
    NoteRejected,
    SplitView,
    append,
    check_consistent_views,
    consistency_proof,
    format_checkpoint,
    leaf_hash,
    open_note,
    root_at,
    sign_note,
    witness_checkpoint,
)

LOG_KEYS = {LOG_NAME: LOG_KEY.public_key()}
WITNESS = (WITNESS_NAME, WITNESS_KEY)


def log_of(entries: list[bytes]) -> MemoryNodeStore:
    store = MemoryNodeStore()
    append(store, [leaf_hash(entry) for entry in entries])
    return store


def checkpoint_at(store: MemoryNodeStore, size: int) -> Checkpoint:
    return Checkpoint(LOG_NAME, size, root_at(store, size))


def signed(checkpoint: Checkpoint) -> str:
    return sign_note(format_checkpoint(checkpoint), LOG_NAME, LOG_KEY)


HONEST = [b"entry %d" % i for i in range(20)]
# The same log shown to someone else: entry 3 rewritten after the fact.
FORKED = [b"rewritten" if i == 3 else entry for i, entry in enumerate(HONEST)]


def test_two_checkpoints_of_one_size_with_different_roots_are_a_split_view() -> None:
    honest, forked = log_of(HONEST), log_of(FORKED)
    a, b = checkpoint_at(honest, 12), checkpoint_at(forked, 12)
    assert not check_consistent_views(a, b, [])
    assert check_consistent_views(a, checkpoint_at(honest, 12), [])


def test_checkpoints_on_one_history_are_consistent_in_either_order() -> None:
    store = log_of(HONEST)
    old, new = checkpoint_at(store, 7), checkpoint_at(store, 20)
    proof = consistency_proof(store, 7, 20)
    assert check_consistent_views(old, new, proof)
    assert check_consistent_views(new, old, proof)


def test_a_forked_history_fails_whatever_proof_the_log_offers() -> None:
    honest, forked = log_of(HONEST), log_of(FORKED)
    seen = checkpoint_at(honest, 7)
    presented = checkpoint_at(forked, 20)
    for proof in (consistency_proof(forked, 7, 20), consistency_proof(honest, 7, 20)):
        assert not check_consistent_views(seen, presented, proof)


def test_checkpoints_of_different_logs_are_not_compared() -> None:
    store = log_of(HONEST)
    other = Checkpoint("am.migrex.example/log", 7, root_at(store, 7))
    with pytest.raises(AuditError):
        check_consistent_views(checkpoint_at(store, 7), other, [])


def test_a_witness_cosigns_a_log_that_only_grows() -> None:
    store = log_of(HONEST)
    first, note = witness_checkpoint(
        signed(checkpoint_at(store, 7)), LOG_KEYS, None, [], WITNESS, at=AT
    )
    assert first == checkpoint_at(store, 7)
    assert open_note(note, LOG_KEYS, {WITNESS_NAME: WITNESS_KEY.public_key()}).verified == {
        LOG_NAME,
        WITNESS_NAME,
    }
    proof = consistency_proof(store, 7, 20)
    second, _ = witness_checkpoint(
        signed(checkpoint_at(store, 20)), LOG_KEYS, first, proof, WITNESS, at=AT
    )
    assert second.size == 20
    # The same checkpoint again (a retry) is cosigned again.
    witness_checkpoint(signed(second), LOG_KEYS, second, [], WITNESS, at=AT)


def test_a_witness_refuses_a_split_view() -> None:
    honest, forked = log_of(HONEST), log_of(FORKED)
    seen = checkpoint_at(honest, 12)
    with pytest.raises(SplitView):
        witness_checkpoint(signed(checkpoint_at(forked, 12)), LOG_KEYS, seen, [], WITNESS, at=AT)
    with pytest.raises(SplitView):
        witness_checkpoint(
            signed(checkpoint_at(forked, 20)),
            LOG_KEYS,
            seen,
            consistency_proof(forked, 12, 20),
            WITNESS,
            at=AT,
        )


def test_a_witness_refuses_forged_stale_or_foreign_checkpoints() -> None:
    store = log_of(HONEST)
    seen = checkpoint_at(store, 12)
    impostor = Ed25519PrivateKey.generate()
    forged = sign_note(format_checkpoint(checkpoint_at(store, 20)), LOG_NAME, impostor)
    with pytest.raises(NoteRejected, match="no known key"):
        witness_checkpoint(forged, LOG_KEYS, seen, consistency_proof(store, 12, 20), WITNESS, at=AT)
    with pytest.raises(NoteRejected, match="older"):
        witness_checkpoint(signed(checkpoint_at(store, 7)), LOG_KEYS, seen, [], WITNESS, at=AT)
    other_log = Checkpoint("other.example/log", 12, root_at(store, 12))
    with pytest.raises(NoteRejected, match="another log"):
        witness_checkpoint(
            signed(checkpoint_at(store, 20)), LOG_KEYS, other_log, [], WITNESS, at=AT
        )
