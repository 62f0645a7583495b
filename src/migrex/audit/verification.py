"""Checking the stored log against itself: leaf rows, node hashes, head, checkpoints.

The leaf rows are the record. `verify` rebuilds the tree from them (`rebuild.Rebuild`),
decoding every row and comparing each node it completes with the stored one.

The node table and the head are derived data that someone with write access could rewrite to
match an altered leaf. Signed checkpoints catch that: their roots are compared with the
roots rebuilt from the leaf rows at their sizes.

The log may grow while it is checked: the tree is rebuilt up to the head read first, and
only rows and nodes beyond the head read last count as added outside the log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger

from migrex.audit.checkpoint import NoteRejected, open_note, parse_checkpoint
from migrex.audit.cosigners import CosignerKeys, cosignature_problem
from migrex.audit.findings import MAX_PROBLEMS, AuditProblem, ProblemKind, VerifyReport
from migrex.audit.heads_held import HeldHead, compare_held_heads
from migrex.audit.rebuild import Rebuild, leaf_checker
from migrex.audit.store import Head, read_head
from migrex.audit.tables import (
    checkpoints_table,
    cosignatures_table,
    leaves_table,
    nodes_table,
)

__all__ = ["AuditProblem", "ProblemKind", "VerifyReport", "verify"]

_PAGE: Final = 1_000
_MAX_LEVEL: Final = 62  # a tree of 2**63 leaves does not fit a BIGINT position

_leaves = leaves_table
_nodes = nodes_table
_checkpoints = checkpoints_table
_cosignatures = cosignatures_table


def verify(
    session: Session,
    log_keys: Sequence[tuple[str, Ed25519PublicKey]],
    witness_keys: CosignerKeys | None = None,
    *,
    held_heads: Sequence[HeldHead] = (),
    on_chunk: Callable[[int, int], None] | None = None,
    workers: int | None = 0,
) -> VerifyReport:
    """Every problem in the stored log, up to MAX_PROBLEMS; `ok` when there is none.

    `log_keys` are (key name, public key) pairs of the keys this log ever signed with (a
    checkpoint verifies if one of them signed it); `witness_keys` the witnesses' cosigning
    keys by name, every key each ever published, whose cosignatures are checked when given;
    `held_heads` heads of this log a partner holds, each of which the log must still agree
    with (no rollback, no fork). `on_chunk` is told (leaves
    checked, leaves to check) as the work goes on, for a progress bar. `workers` processes
    decode the leaf rows: 0 (the default) none, None one per CPU when the log is large.
    They are spawned, so the program's main module must be safe to import (its work
    guarded by `if __name__ == "__main__"`), as the `migrex` command's is.
    """
    report = VerifyReport()
    read_one_snapshot(session)
    first = read_head(session)
    report.size = first.size
    sizes = _signed_sizes(session) | {head.size for head in held_heads}
    rebuilt = Rebuild(session, report, {size for size in sizes if size <= first.size})
    with leaf_checker(first.size, workers) as checker:
        rebuilt.run(first.size, checker, on_chunk or (lambda _done, _total: None))
    report.root_hash = rebuilt.root
    if rebuilt.clean and rebuilt.root != first.root_hash:
        report.add(ProblemKind.HEAD, None, "the head's root differs from the rebuilt tree's")
    last = read_head(session)
    _check_beyond(session, report, first, last)
    _check_checkpoints(session, report, rebuilt.roots, log_keys, last.size)
    _check_cosignatures(session, report, log_keys, witness_keys or {})
    compare_held_heads(
        report, held_heads, rebuilt.roots, checked_size=first.size, log_size=last.size
    )
    return report


def read_one_snapshot(session: Session) -> None:
    """Makes every later read of `session` see the database as it stood at one moment.

    The node goes on while an operator verifies it: its jobs append entries and sign
    checkpoints. Read statement by statement, a checkpoint signed after the head was read
    looked like "leaves were removed", and a leaf appended after it like a row no append
    wrote. On SQLite (WAL) an explicit BEGIN holds one read snapshot until the session ends;
    on PostgreSQL a transaction not yet begun is made repeatable-read (one that has begun
    keeps the isolation its caller chose).
    """
    began = session.in_transaction()
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        if not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            connection.exec_driver_sql("BEGIN")
    elif connection.dialect.name == "postgresql" and not began:
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _signed_sizes(session: Session) -> set[int]:
    return set(session.scalars(select(_checkpoints.c.size)))


def _check_beyond(session: Session, report: VerifyReport, first: Head, last: Head) -> None:
    """Rows and nodes outside the tree of `last.size` leaves, which no append wrote."""
    if last.size < first.size:
        report.add(ProblemKind.HEAD, last.size, f"the head went back from {first.size} leaves")
    extra = session.scalars(
        select(_leaves.c.position)
        .where(or_(_leaves.c.position >= last.size, _leaves.c.position < 0))
        .order_by(_leaves.c.position)
        .limit(MAX_PROBLEMS)
    )
    for position in extra:
        report.add(
            ProblemKind.LEAF_EXTRA, position, f"a leaf row beyond the log's {last.size} leaves"
        )
    # A node (level, index) belongs to the tree when index < size >> level.
    limit = literal(last.size, BigInteger).op(">>")(_nodes.c.level)
    outside = session.execute(
        select(_nodes.c.level, func.count())
        .where(
            or_(
                _nodes.c.level < 0,
                _nodes.c.level > _MAX_LEVEL,
                _nodes.c.index < 0,
                and_(_nodes.c.level.between(0, _MAX_LEVEL), _nodes.c.index >= limit),
            )
        )
        .group_by(_nodes.c.level)
    )
    for level, count in outside:
        report.add(
            ProblemKind.NODE_EXTRA,
            None,
            f"{count} node row(s) at level {level} lie outside the tree of {last.size} leaves",
        )


def _opened_text(note: str, log_keys: Sequence[tuple[str, Ed25519PublicKey]]) -> str | None:
    """The note's text if one of the log's keys signed it, else None."""
    for name, public_key in log_keys:
        try:
            return open_note(note, {name: public_key}).text
        except NoteRejected:
            continue
    return None


def _check_checkpoints(
    session: Session,
    report: VerifyReport,
    roots: Mapping[int, bytes],
    log_keys: Sequence[tuple[str, Ed25519PublicKey]],
    log_size: int,
) -> None:
    matched = 0  # the largest size whose checkpoint matched: altered leaves lie beyond it
    query = select(_checkpoints.c.size, _checkpoints.c.root_hash, _checkpoints.c.note)
    rows = session.execute(query.order_by(_checkpoints.c.size).execution_options(yield_per=_PAGE))
    for size, root_hash, note in rows:
        report.checkpoints += 1
        text = _opened_text(note, log_keys)
        if text is None:
            report.add(ProblemKind.CHECKPOINT, size, "no key of this log signed it")
            continue
        signed = parse_checkpoint(text)
        if (signed.size, signed.root_hash) != (size, bytes(root_hash)):
            report.add(ProblemKind.CHECKPOINT, size, "the row disagrees with its signed note")
        if signed.size > log_size:
            report.add(
                ProblemKind.CHECKPOINT,
                signed.size,
                f"signed for {signed.size} leaves, but the log holds {log_size}: "
                "leaves were removed",
            )
        elif signed.size not in roots:
            report.checkpoints -= 1  # signed while verifying: the next run checks it
        elif roots[signed.size] != signed.root_hash:
            report.add(
                ProblemKind.CHECKPOINT,
                signed.size,
                f"its signed root differs from the rebuilt one: a leaf from {matched} to "
                f"{signed.size - 1} was changed after it was signed",
            )
        else:
            matched = signed.size


def _check_cosignatures(
    session: Session,
    report: VerifyReport,
    log_keys: Sequence[tuple[str, Ed25519PublicKey]],
    witness_keys: CosignerKeys,
) -> None:
    """Each cosigned note must carry our stored checkpoint at its size, our signature, and
    the witness's cosignature (checked when the witness's keys are given)."""
    cosigned, ours = _cosignatures.c, _checkpoints.c
    query = (
        select(cosigned.size, cosigned.witness, cosigned.note, ours.note)
        .outerjoin_from(_cosignatures, _checkpoints, cosigned.size == ours.size)
        .order_by(cosigned.size, cosigned.witness)
    )
    for size, witness, note, checkpoint_note in session.execute(
        query.execution_options(yield_per=_PAGE)
    ):
        report.cosignatures += 1
        keys = witness_keys.get(witness)
        problem = None if keys is None else cosignature_problem(note, witness, keys)
        if problem is not None:
            report.add(ProblemKind.COSIGNATURE, size, f"{witness}: {problem}")
            continue
        text = _opened_text(note, log_keys)
        if text is None or checkpoint_note is None or not checkpoint_note.startswith(text + "\n"):
            report.add(
                ProblemKind.COSIGNATURE,
                size,
                f"{witness} cosigned a note that is not this log's checkpoint at {size}",
            )
