"""The audit log's use cases on the database: append, prove, checkpoint, cosign, verify.

Every function takes the caller's `Session` and never commits: an entry is appended in the
same transaction as the disclosure it records, so the two are committed, or rolled back,
together. Appends lock the log's head row, so concurrent transactions take positions one
after another and the tree never forks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from migrex.audit.checkpoint import (
    Checkpoint,
    NoteRejected,
    format_checkpoint,
    open_note,
    parse_checkpoint,
    sign_note,
)
from migrex.audit.leaves import AuditLeaf
from migrex.audit.merkle import AuditError, append, leaf_hash, range_hash, range_nodes, root_at
from migrex.audit.partner_logs import witness
from migrex.audit.proofs import consistency_ranges, inclusion_ranges
from migrex.audit.store import (
    Head,
    SqlNodeStore,
    appended,
    insert_ignoring_conflict,
    insert_or_replace,
    known_edge,
    lock_head,
    read_head,
    remember_append,
    remember_edge,
    write_head,
)
from migrex.audit.tables import (
    AuditCheckpoint,
    AuditCosignature,
    checkpoints_table,
    cosignatures_table,
    leaves_table,
)
from migrex.audit.verification import AuditProblem, ProblemKind, VerifyReport, verify
from migrex.db import bulk_insert
from migrex.errors import NotFound

__all__ = [
    "AuditProblem",
    "ProblemKind",
    "SignedCheckpoint",
    "VerifyReport",
    "append_leaves",
    "checkpoint_at",
    "consistency_proof_between",
    "cosignatures_of",
    "current_root",
    "inclusion_proof_for",
    "latest_checkpoint",
    "leaf_data",
    "make_checkpoint",
    "note_text",
    "position_of_message",
    "store_cosignature",
    "tree_size",
    "verify",
    "witness",
]

_leaves = leaves_table


def append_leaves(session: Session, leaves: Sequence[AuditLeaf], now: datetime) -> list[int]:
    """Append `leaves` in order; their positions. One statement per table whatever the count."""
    if not leaves:
        return []
    head = lock_head(session)
    store = SqlNodeStore(session, size=head.size)
    store.remember(known_edge(session, head))
    store.load(range_nodes(0, head.size))  # the right edge, all `append` reads
    encoded = [leaf.encode() for leaf in leaves]
    bulk_insert(
        session,
        _leaves,
        [
            {
                "position": head.size + offset,
                "kind": str(leaf.kind),
                "message_id": leaf.message_id,
                "subject_hash": leaf.subject_hash,
                "data": data,
                "recorded_at": now,
            }
            for offset, (leaf, data) in enumerate(zip(leaves, encoded, strict=True))
        ],
    )
    size = append(store, [leaf_hash(data) for data in encoded])
    # Every node the new root needs was just read or written, so this reads nothing.
    new_head = Head(size, root_at(store, size))
    write_head(session, new_head)
    remember_append(session, new_head, store)
    remember_edge(session, new_head, store)
    return list(range(head.size, size))


def _head(session: Session) -> Head:
    """The head: as this transaction's own append left it, or read."""
    noted = appended(session)
    return noted[0] if noted is not None else read_head(session)


def tree_size(session: Session) -> int:
    return _head(session).size


def current_root(session: Session) -> bytes:
    return _head(session).root_hash


def _proof(session: Session, ranges: list[tuple[int, int]], size: int) -> list[bytes]:
    """The hashes of `ranges` from one query; `AuditError` when the tree lacks a node."""
    store = SqlNodeStore(session, size=size)
    tiles = [tile for start, end in ranges for tile in range_nodes(start, end)]
    store.load(tiles)
    if any(store.get(*tile) is None for tile in tiles):
        log_size = tree_size(session)
        if size > log_size:
            raise AuditError(f"the log has {log_size} leaves, not {size}")
        raise AuditError("a stored node is missing; run `migrex audit verify`")
    return [range_hash(store, start, end) for start, end in ranges]


def inclusion_proof_for(session: Session, position: int, size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf `position` in the tree of the first `size` leaves."""
    return _proof(session, inclusion_ranges(position, size), size)


def consistency_proof_between(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """The RFC 9162 proof that the tree of `new_size` leaves extends that of `old_size`."""
    return _proof(session, consistency_ranges(old_size, new_size), new_size)


def position_of_message(session: Session, message_id: str) -> list[int]:
    """The positions of every entry about `message_id` (sent, received, receipted...)."""
    return list(
        session.scalars(
            select(_leaves.c.position)
            .where(_leaves.c.message_id == message_id)
            .order_by(_leaves.c.position)
        )
    )


def leaf_data(session: Session, position: int) -> bytes:
    """The stored canonical bytes of the leaf at `position`; `NotFound` when there is none."""
    data = session.scalar(select(_leaves.c.data).where(_leaves.c.position == position))
    if data is None:
        raise NotFound(f"the audit log has no leaf at position {position}")
    return bytes(data)


# ---------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint and the signed note that publishes it."""

    checkpoint: Checkpoint
    note: str
    created_at: datetime


def note_text(note: str) -> str:
    """The text a signed note signs: everything before its blank line.

    Only for notes this node stored or checked; it does not verify anything.
    """
    split = note.find("\n\n")
    if split < 0:
        raise NoteRejected("a signed note has a blank line before its signatures")
    return note[: split + 1]


def _signed(row: AuditCheckpoint) -> SignedCheckpoint:
    return SignedCheckpoint(parse_checkpoint(note_text(row.note)), row.note, row.created_at)


def make_checkpoint(
    session: Session, origin: str, key_name: str, private_key: Ed25519PrivateKey, now: datetime
) -> SignedCheckpoint:
    """Sign the current head as a checkpoint and keep it; the stored one if its size has one.

    A log states one root per size, so a size is never signed twice.
    """
    head = read_head(session)
    existing = checkpoint_at(session, head.size)
    if existing is not None:
        return existing
    checkpoint = Checkpoint(origin, head.size, head.root_hash)
    note = sign_note(format_checkpoint(checkpoint), key_name, private_key)
    # A concurrent transaction may sign the same head first; its checkpoint then stands.
    insert_ignoring_conflict(
        session,
        checkpoints_table,
        {"size": head.size, "root_hash": head.root_hash, "note": note, "created_at": now},
    )
    stored = checkpoint_at(session, head.size)
    if stored is None:  # pragma: no cover - the row was just written or already there
        raise AuditError(f"the checkpoint at {head.size} leaves was not stored")
    return stored


def latest_checkpoint(session: Session) -> SignedCheckpoint | None:
    """The checkpoint of the largest size this node signed, None before the first."""
    row = session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1)
    ).first()
    return None if row is None else _signed(row)


def checkpoint_at(session: Session, size: int) -> SignedCheckpoint | None:
    row = session.get(AuditCheckpoint, size)
    return None if row is None else _signed(row)


def store_cosignature(
    session: Session,
    size: int,
    witness_name: str,
    note: str,
    now: datetime,
    *,
    witness_key: Ed25519PublicKey | None = None,
) -> None:
    """Keep a witness's cosigned copy of our checkpoint at `size` (replacing an older one).

    The note must carry our checkpoint's exact text; with `witness_key` its cosignature must
    verify now, otherwise only `verify` checks it later, when the key is known.
    """
    ours = session.get(AuditCheckpoint, size)
    if ours is None:
        raise NotFound(f"this log signed no checkpoint at {size} leaves")
    if note_text(note) != note_text(ours.note):
        raise NoteRejected(f"{witness_name} cosigned another text than our checkpoint at {size}")
    if witness_key is not None:
        opened = open_note(note, {}, {witness_name: witness_key})
        if witness_name not in opened.verified:  # pragma: no cover - open_note raises first
            raise NoteRejected(f"no cosignature of {witness_name} on the note")
    elif f"\n\u2014 {witness_name} " not in note:
        raise NoteRejected(f"the note carries no signature line of {witness_name}")
    # One statement, not a look and then an insert: a witness posting its cosignature again
    # while the first is stored (it had no answer yet) would find none and insert a second.
    insert_or_replace(session, cosignatures_table,
                      {"size": size, "witness": witness_name, "note": note, "received_at": now},
                      key=("size", "witness"))  # fmt: skip


def cosignatures_of(session: Session, size: int) -> list[AuditCosignature]:
    """The witnesses' cosigned copies of our checkpoint at `size`, by witness name."""
    return list(
        session.scalars(
            select(AuditCosignature)
            .where(AuditCosignature.size == size)
            .order_by(AuditCosignature.witness)
        )
    )


def inclusion_proofs_for(
    session: Session, positions: Sequence[int], size: int
) -> list[list[bytes]]:
    """The inclusion proofs of several leaves in the tree of `size` leaves, from one query:
    the leaves of one batch share most of their proof nodes."""
    wanted = [inclusion_ranges(position, size) for position in positions]
    noted = appended(session)
    # Proofs for leaves this transaction just appended need only nodes its append has seen.
    store = (
        noted[1]
        if noted is not None and noted[0].size == size
        else SqlNodeStore(session, size=size)
    )
    tiles = {tile for ranges in wanted for start, end in ranges for tile in range_nodes(start, end)}
    store.load(tiles)
    if any(store.get(*tile) is None for tile in tiles):
        raise AuditError("a stored node is missing; run `migrex audit verify`")
    return [[range_hash(store, start, end) for start, end in ranges] for ranges in wanted]
