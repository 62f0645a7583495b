"""What the operator's outbox and inbox lists read: no bodies, only envelopes' facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import aliased

from migrex.exchange.delivery import NEEDS_OPERATOR, UNFINISHED, Status
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt
from migrex.uow import UnitOfWork


@dataclass(frozen=True)
class Sent:
    """An outgoing message and when its receipt came (None while none has)."""

    message: OutboxMessage
    receipted_at: datetime | None


@dataclass(frozen=True)
class Kinds:
    """Which message types a list shows: only `only` when it names any, never `skip`."""

    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()

    def where(self, table: type[OutboxMessage | InboxMessage]) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.only:
            conditions.append(table.type.in_(self.only))
        if self.skip:
            conditions.append(table.type.not_in(self.skip))
        return conditions


def recent_outbox(uow: UnitOfWork, limit: int, kinds: Kinds = Kinds()) -> list[Sent]:
    """The `limit` most recent outgoing messages of these kinds, newest first, each with its
    receipt's time."""
    rows = uow.session.execute(
        select(OutboxMessage, Receipt.received_at)
        .outerjoin(Receipt, Receipt.message_id == OutboxMessage.message_id)
        .where(*kinds.where(OutboxMessage))
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return [Sent(message, receipted) for message, receipted in rows]


def recent_inbox(
    uow: UnitOfWork, limit: int, *, recipient: str | None = None, kinds: Kinds = Kinds()
) -> list[InboxMessage]:
    """The `limit` most recent received messages of these kinds, newest first (only those
    for `recipient` when one is named)."""
    query = select(InboxMessage).where(*kinds.where(InboxMessage))
    if recipient is not None:
        query = query.where(InboxMessage.recipient == recipient)
    return list(uow.session.scalars(query.order_by(InboxMessage.id.desc()).limit(limit)))


def types_held(uow: UnitOfWork, table: type[OutboxMessage | InboxMessage]) -> list[str]:
    """The message types the outbox or the inbox holds, for a filter that matched nothing."""
    return sorted(uow.session.scalars(select(table.type).distinct()))


def sent_by(
    uow: UnitOfWork, sender: str, limit: int, *, parked_only: bool = False
) -> list[OutboxMessage]:
    """The `limit` most recent messages `sender` sends, newest first (only the parked ones
    when `parked_only`)."""
    query = select(OutboxMessage).where(OutboxMessage.sender == sender)
    if parked_only:
        query = query.where(OutboxMessage.status == Status.PARKED)
    return list(uow.session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


def outgoing(uow: UnitOfWork, message_id: str) -> OutboxMessage | None:
    """The outgoing message `message_id`, or None when the outbox holds no such message."""
    return uow.session.scalars(
        select(OutboxMessage).where(OutboxMessage.message_id == message_id)
    ).first()


def refused_message_ids(uow: UnitOfWork) -> list[str]:
    """Every message the partner refused, oldest first: what `outbox reissue --all` seals anew."""
    return list(
        uow.session.scalars(
            select(OutboxMessage.message_id)
            .where(OutboxMessage.status == Status.REFUSED)
            .order_by(OutboxMessage.id)
        )
    )


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


@dataclass(frozen=True)
class PartnerDelivery:
    """How deliveries to one partner authority stand: whether it is being reached."""

    recipient: str
    last_delivered_at: datetime | None
    waiting: int  # not yet delivered: pending, in flight, or awaiting an operator
    oldest_waiting_since: datetime | None
    failing: int  # waiting messages whose last attempt failed
    held: int  # awaiting an operator (parked or refused)

    @property
    def state(self) -> str:
        """ "reached" when nothing waits or a delivery succeeded since the oldest waiting
        message was queued; "not-reached" when one did before it, "never-reached" when none
        ever did."""
        if self.last_delivered_at is None:
            return "never-reached" if self.waiting else "reached"
        if self.oldest_waiting_since is None or self.last_delivered_at >= self.oldest_waiting_since:
            return "reached"
        return "not-reached"


def partner_delivery(uow: UnitOfWork) -> list[PartnerDelivery]:
    """Per partner authority we send to: the last delivery, and what waits and since when.

    Read from the outbox, as the relay lives it, rather than by dialling the partner: a page
    must not wait on a partner's network, and the relay's own attempts are the evidence."""
    open_ = OutboxMessage.status.in_(UNFINISHED)
    rows = uow.session.execute(
        select(
            OutboxMessage.recipient,
            func.max(OutboxMessage.delivered_at),
            func.count().filter(open_),
            func.min(OutboxMessage.created_at).filter(open_),
            func.count().filter(open_, OutboxMessage.last_error.is_not(None)),
            func.count().filter(OutboxMessage.status.in_(NEEDS_OPERATOR)),
        )
        .group_by(OutboxMessage.recipient)
        .order_by(OutboxMessage.recipient)
    )
    return [PartnerDelivery(*row) for row in rows]


def outgoing_of_case(uow: UnitOfWork, case_id: str) -> list[OutboxMessage]:
    """The case's outgoing messages in the order they were queued, with their delivery."""
    return list(
        uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.case_id == case_id).order_by(OutboxMessage.id)
        )
    )
