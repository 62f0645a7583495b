"""What the operator's outbox and inbox lists read: no bodies, only envelopes' facts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from migrex.exchange.delivery import NEEDS_OPERATOR, UNFINISHED, Status
from migrex.exchange.tables import InboxMessage, OutboxMessage
from migrex.uow import UnitOfWork


@dataclass(frozen=True)
class HeldUp:
    """A message only an operator can move on (parked or refused), and the messages of its
    case queued behind it, oldest first: they go once it is delivered or discarded."""

    head: OutboxMessage
    waiting: tuple[str, ...]


def held_up(uow: UnitOfWork, limit: int) -> list[HeldUp]:
    """The `limit` most recent messages awaiting an operator, each with what waits behind it."""
    heads = list(
        uow.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status.in_(NEEDS_OPERATOR))
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )
    if not heads:
        return []
    head = aliased(OutboxMessage)
    behind = uow.session.execute(
        select(head.id, OutboxMessage.message_id)
        .join(head, head.ordering_key == OutboxMessage.ordering_key)
        .where(
            head.id.in_([row.id for row in heads]),
            OutboxMessage.id > head.id,
            OutboxMessage.status.in_(UNFINISHED),
        )
        .order_by(OutboxMessage.id)
    )
    waiting: dict[int, list[str]] = {}
    for head_id, message_id in behind:
        waiting.setdefault(head_id, []).append(message_id)
    return [HeldUp(row, tuple(waiting.get(row.id, ()))) for row in heads]


def outbox_counts(uow: UnitOfWork) -> dict[str, int]:
    """Outgoing messages per delivery status, every status named (0 when none)."""
    rows = uow.session.execute(
        select(OutboxMessage.status, func.count().label("n")).group_by(OutboxMessage.status)
    )
    counted = {row.status: row.n for row in rows}
    return {status.value: counted.get(status.value, 0) for status in Status}


def inbox_counts(uow: UnitOfWork) -> dict[str, int]:
    """Received messages per filing status (only the statuses some message has)."""
    rows = uow.session.execute(
        select(InboxMessage.status, func.count().label("n"))
        .group_by(InboxMessage.status)
        .order_by(InboxMessage.status)
    )
    return {row.status: row.n for row in rows}
