"""Entries a use case records as it goes, appended to the log when its transaction commits.

This is the one way the node writes its log. A use case that moves a case several times, or
files hundreds of messages, calls `record` for each entry; they are appended in one batch just
before the commit, inside the same transaction, so the log holds an entry exactly when the
change it records was committed, and the log's head is locked only for the last moment of the
transaction. The receiver, whose receipts must prove their entry is in the log, has the
queue appended early with `append_recorded`, still inside its transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from migrex.audit.leaves import AuditLeaf
from migrex.audit.log import append_leaves

_KEY = "migrex.audit.pending"
# Where the queue stood when each open savepoint began: rolling one back drops what it queued.
_SAVEPOINTS = "migrex.audit.pending.savepoints"


def record(session: Session, leaf: AuditLeaf) -> None:
    """Queue `leaf` for the log; it is appended when `session` commits (dropped on rollback)."""
    session.info.setdefault(_KEY, []).append(leaf)


def append_recorded(session: Session, at: datetime) -> list[int]:
    """Appends the entries queued so far at once and returns their positions in the log.

    For the one step that must name an entry's place before its transaction ends: a receipt
    carries the proof that the message it acknowledges is in the log. The entries still
    commit or roll back with the transaction, like every other.
    """
    leaves: list[AuditLeaf] = session.info.pop(_KEY, [])
    return append_leaves(session, leaves, at) if leaves else []


def queued(session: Session) -> list[AuditLeaf]:
    """The entries queued so far and not yet appended, oldest first (a copy)."""
    return list(session.info.get(_KEY, []))


def pending_mark(session: Session) -> int:
    """How many entries are queued now: pass it to `discard_since` to drop what a step that
    was rolled back to a savepoint queued after it."""
    return len(session.info.get(_KEY, []))


def discard_since(session: Session, mark: int) -> None:
    """Drops the entries queued after `mark` (their changes were rolled back to a savepoint)."""
    pending = session.info.get(_KEY)
    if pending is not None:
        del pending[mark:]


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(_SAVEPOINTS, {})[transaction] = pending_mark(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.get(_SAVEPOINTS, {}).pop(transaction, None)


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    # SQLAlchemy calls this for a savepoint's release too: the entries then stay queued and
    # are appended with the transaction's, in one batch (a round that files a hundred messages,
    # one savepoint each, locks the log's head once, not a hundred times).
    if session.in_nested_transaction():
        return
    leaves: list[AuditLeaf] = session.info.pop(_KEY, [])
    if leaves:
        # The session's pending changes are written first: the commit would flush them after
        # this hook, while the head locked here made every other writer of the log wait.
        session.flush()
        append_leaves(session, leaves, datetime.now(UTC))


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session, *_: Any) -> None:
    # A savepoint rolled back drops only what was queued since it began; the transaction
    # rolled back drops everything.
    savepoint = session.get_nested_transaction()
    mark = session.info.get(_SAVEPOINTS, {}).get(savepoint) if savepoint is not None else None
    if mark is not None:
        discard_since(session, mark)
    else:
        session.info.pop(_KEY, None)
