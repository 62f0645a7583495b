"""The outbox: messages waiting to leave the node, claimed and settled by relays."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from migrex.exchange.delivery import UNFINISHED, RetryPolicy, Status
from migrex.exchange.tables import OutboxMessage


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str
    agreement_id: str
    sender: str
    recipient: str
    type: str
    body: Mapping[str, Any]
    issued_at: datetime
    expires_at: datetime
    case_id: str | None = None
    in_reply_to: str | None = None


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def enqueue(session: Session, message: OutgoingMessage, now: datetime) -> OutboxMessage:
    """Adds the message to the outbox in the caller's transaction (committed by its use case)."""
    row = OutboxMessage(
        message_id=message.message_id,
        agreement_id=message.agreement_id,
        sender=message.sender,
        recipient=message.recipient,
        type=message.type,
        case_id=message.case_id,
        in_reply_to=message.in_reply_to,
        ordering_key=message.case_id or message.message_id,
        body=canonical_json(dict(message.body)),
        issued_at=message.issued_at,
        expires_at=message.expires_at,
        created_at=now,
        status=Status.PENDING,
        attempts=0,
        next_attempt_at=now,
    )
    session.add(row)
    return row


def claim(
    session: Session, *, relay_id: str, now: datetime, limit: int, lease: timedelta
) -> list[OutboxMessage]:
    """Claims up to `limit` due messages, at most the oldest unfinished one of each case.

    On PostgreSQL, rows locked by another relay are skipped (FOR UPDATE SKIP LOCKED), so
    several relays share the work. SQLite has no row locks; there one UPDATE statement picks
    and marks the rows atomically, which is just as safe because SQLite runs one writer at a time.
    """
    earlier = aliased(OutboxMessage)
    claimable = or_(
        and_(OutboxMessage.status == Status.PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == Status.IN_FLIGHT, OutboxMessage.lease_until < now),
    )
    head_of_case = ~exists().where(
        earlier.ordering_key == OutboxMessage.ordering_key,
        earlier.id < OutboxMessage.id,
        earlier.status.in_(UNFINISHED),
    )
    due = select(OutboxMessage.id).where(claimable, head_of_case).order_by(OutboxMessage.id)
    # Look before locking: an idle relay polls often, and on SQLite every UPDATE takes the
    # database's single write lock, which would delay the writers that have real work.
    if session.scalar(due.limit(1)) is None:
        return []
    token = f"{relay_id}:{uuid.uuid4().hex[:12]}"
    claimed = {
        "status": Status.IN_FLIGHT,
        "attempts": OutboxMessage.attempts + 1,
        "lease_until": now + lease,
        "claimed_by": token,
    }
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(due.limit(limit).with_for_update(skip_locked=True)))
        where = OutboxMessage.id.in_(ids)
    else:
        where = OutboxMessage.id.in_(due.limit(limit).scalar_subquery())
    session.execute(update(OutboxMessage).where(where).values(**claimed))
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.claimed_by == token)
            .order_by(OutboxMessage.id)
            .execution_options(populate_existing=True)
        )
    )


def mark_delivered(session: Session, message_ids: Sequence[str], now: datetime) -> None:
    if message_ids:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.message_id.in_(message_ids))
            .values(status=Status.DELIVERED, delivered_at=now, lease_until=None, last_error=None)
        )


def mark_failed(
    session: Session,
    failures: Mapping[str, str],
    *,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> list[str]:
    """Schedules a retry for each failed message, or parks it; returns the parked ids."""
    parked: list[str] = []
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.message_id.in_(list(failures)))
    )
    for row in rows:
        row.status = policy.after_failure(row.attempts)
        row.last_error = failures[row.message_id][:2000]
        row.lease_until = None
        row.next_attempt_at = policy.next_attempt(row.attempts, now, rng)
        if row.status == Status.PARKED:
            parked.append(row.message_id)
    return parked


def retry_parked(session: Session, message_ids: Sequence[str] | None, now: datetime) -> int:
    """Puts parked messages (all, or the ones named) back in line; returns how many."""
    query = update(OutboxMessage).where(OutboxMessage.status == Status.PARKED)
    if message_ids is not None:
        query = query.where(OutboxMessage.message_id.in_(message_ids))
    result = session.execute(query.values(status=Status.PENDING, attempts=0, next_attempt_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
