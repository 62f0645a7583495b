"""The outbox: messages waiting to leave the node, claimed and settled by relays."""

from __future__ import annotations

import contextlib
import functools
import json
import random
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, cast

import psycopg
from sqlalchemy import (
    Integer,
    Select,
    String,
    Text,
    Update,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from migrex.db import begin_writing, in_list
from migrex.exchange.delivery import SETTLEABLE, UNFINISHED, RetryPolicy, Status
from migrex.exchange.tables import OutboxMessage, outbox_table

# Relays LISTEN on this channel (PostgreSQL); a transaction that adds to the outbox notifies
# it, and PostgreSQL delivers the notification when, and only if, the transaction commits.
OUTBOX_CHANNEL = "migrex_outbox"
_NOTIFY = text(f"NOTIFY {OUTBOX_CHANNEL}")
_ANNOUNCED = "migrex.outbox.announced"

_outbox = outbox_table


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
    announce(session)
    return row


def announce(session: Session) -> None:
    """Wakes the listening relays when this transaction commits (PostgreSQL; SQLite relays
    poll). One notification per transaction, however many messages it adds."""
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if transaction is None or session.info.get(_ANNOUNCED) is not transaction:
        session.execute(_NOTIFY)
        session.info[_ANNOUNCED] = session.get_transaction()


@dataclass(slots=True)
class Claimed:
    """A message a relay has claimed: what it needs to seal, send and settle it."""

    id: int
    message_id: str
    agreement_id: str
    sender: str
    recipient: str
    type: str
    case_id: str | None
    in_reply_to: str | None
    body: str
    issued_at: datetime
    expires_at: datetime
    created_at: datetime
    attempts: int
    envelope: str | None
    envelope_sha256: str | None
    earlier_envelopes: str | None
    # The claim's lease token: the row is this claim's while the outbox still names it.
    claimed_by: str | None

    def envelope_hashes(self) -> tuple[str, ...]:
        """The hash of the envelope sent now, then those of the envelopes it was sealed in
        before an operator re-issued it: a receipt for any of them proves delivery."""
        current = (self.envelope_sha256,) if self.envelope_sha256 else ()
        return current + tuple((self.earlier_envelopes or "").split())


_CLAIMED_COLUMNS = [_outbox.c[field.name] for field in fields(Claimed)]


@dataclass(frozen=True)
class _Statements:
    """The relay's statements for one dialect, built once: building a SQLAlchemy expression
    costs more than running it, and an idle relay runs the claim many times a second."""

    look: Select[int]
    claim_due: Update
    claim_expired: Update
    seal: Update
    held: Select[Any]
    delivered: Update


@functools.cache
def _statements(dialect: str) -> _Statements:
    outbox = _outbox.c
    earlier = _outbox.alias("earlier")
    now = bindparam("now", type_=outbox.next_attempt_at.type)
    due = and_(outbox.status == Status.PENDING, outbox.next_attempt_at <= now)
    expired = and_(outbox.status == Status.IN_FLIGHT, outbox.lease_until < now)
    head_of_case = ~exists().where(
        earlier.c.ordering_key == outbox.ordering_key,
        earlier.c.id < outbox.id,
        earlier.c.status.in_(UNFINISHED),
    )

    def claiming(batch: Select[int]) -> Update:
        batch = batch.limit(bindparam("limit", type_=Integer))
        if dialect == "postgresql":
            # Rows another relay holds are skipped, so several relays share the work.
            batch = batch.with_for_update(skip_locked=True)
        return (
            update(_outbox)
            .where(outbox.id.in_(batch.scalar_subquery()))
            .values(
                status=Status.IN_FLIGHT,
                attempts=outbox.attempts + 1,
                lease_until=bindparam("lease_until", type_=outbox.lease_until.type),
                claimed_by=bindparam("token", type_=outbox.claimed_by.type),
            )
            .returning(*_CLAIMED_COLUMNS)
        )

    # Due messages in the order of the (status, due) index: PostgreSQL then walks the index
    # and marks the entries of rows that have moved on as dead, so the next claim skips them.
    # A bitmap scan (what ORDER BY id, or one OR of both conditions, gets) never marks them,
    # and re-reads every row that ever passed through a status until VACUUM comes.
    claim_due = claiming(
        select(outbox.id).where(due, head_of_case).order_by(outbox.next_attempt_at)
    )
    claim_expired = claiming(select(outbox.id).where(expired, head_of_case).order_by(outbox.id))
    # Only into a row this claim still holds that has no envelope yet: once the lease has run
    # out another relay may have claimed the row and sealed it in its own envelope.
    held_by_claim = and_(
        outbox.status == Status.IN_FLIGHT,
        outbox.claimed_by == bindparam("token", type_=outbox.claimed_by.type),
    )
    seal = (
        update(_outbox)
        .where(outbox.id == bindparam("sealed_id"), held_by_claim, outbox.envelope.is_(None))
        .values(envelope=bindparam("sealed_envelope"), envelope_sha256=bindparam("sealed_sha256"))
    )
    if dialect == "postgresql":
        # One statement for the whole round, its rows as arrays: a statement per row cost
        # more than sealing the message did.
        sealed = (
            func.unnest(
                bindparam("sealed_ids", type_=ARRAY(Integer)),
                bindparam("tokens", type_=ARRAY(String)),
                bindparam("sealed_envelopes", type_=ARRAY(Text)),
                bindparam("sealed_sha256s", type_=ARRAY(String)),
            )
            .table_valued("id", "token", "envelope", "sha256")
            .render_derived(name="sealed")
        )
        seal = (
            update(_outbox)
            .where(outbox.id == sealed.c.id, outbox.status == Status.IN_FLIGHT,
                   outbox.claimed_by == sealed.c.token, outbox.envelope.is_(None))
            .values(envelope=sealed.c.envelope, envelope_sha256=sealed.c.sha256)
        )  # fmt: skip
    held = select(outbox.id, outbox.claimed_by, outbox.envelope_sha256).where(
        in_list(outbox.id, "ids", dialect), outbox.status == Status.IN_FLIGHT
    )
    delivered = (
        update(_outbox)
        .where(in_list(outbox.message_id, "message_ids", dialect))
        .values(
            status=Status.DELIVERED,
            delivered_at=bindparam("delivered_at", type_=outbox.delivered_at.type),
            lease_until=None,
            last_error=None,
        )
    )
    look = select(outbox.id).where(or_(due, expired), head_of_case).limit(1)
    return _Statements(look, claim_due, claim_expired, seal, held, delivered)


@contextlib.contextmanager
def _unprepared(session: Session) -> Iterator[None]:
    """The statements run inside are sent unprepared (psycopg prepares a statement after five
    runs on a connection), so PostgreSQL plans each for the values it binds."""
    driver = cast(psycopg.Connection[Any], session.connection().connection.driver_connection)
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


def claim(
    session: Session,
    *,
    relay_id: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    expired: bool = True,
) -> list[Claimed]:
    """Claims up to `limit` due messages, at most the oldest unfinished one of each case.

    Messages whose relay's lease has expired come first; with `expired=False` they are not
    looked for (a relay does that now and then, not at every round). Each kind is claimed by
    one UPDATE that picks the rows, marks them and returns them. On PostgreSQL, rows locked
    by another relay are skipped (FOR UPDATE SKIP LOCKED), so several relays share the work.
    SQLite has no row locks, and needs none: it runs one writer at a time.
    """
    dialect = session.get_bind().dialect.name
    statements = _statements(dialect)
    # On SQLite, look before locking: an idle relay polls often, and every UPDATE takes the
    # database's single write lock, which would delay the writers that have real work. A
    # PostgreSQL UPDATE that finds nothing locks nothing, so there the look would only cost.
    if dialect != "postgresql" and session.scalar(statements.look, {"now": now}) is None:
        return []
    token = f"{relay_id}:{uuid.uuid4().hex[:12]}"
    values = {"now": now, "lease_until": now + lease, "token": token}
    claims = [statements.claim_expired, statements.claim_due] if expired else [statements.claim_due]
    claimed: list[Claimed] = []
    # Planned for the values bound at each run, never prepared: the plan PostgreSQL switches a
    # prepared statement to after five runs, made for any values, scans the outbox once per
    # candidate row. Every other statement may keep such a plan, which saves the server
    # planning. (`SET LOCAL plan_cache_mode` would do the same for a round trip per claim.)
    with _unprepared(session) if dialect == "postgresql" else contextlib.nullcontext():
        for statement in claims:
            if len(claimed) < limit:
                rows = session.execute(statement, {**values, "limit": limit - len(claimed)})
                claimed += [Claimed(*row) for row in rows]
    return sorted(claimed, key=lambda row: row.id)


def store_envelopes(session: Session, sealed: Sequence[Claimed]) -> set[int]:
    """Keeps the envelopes just sealed, so that every retry sends the same bytes; returns the
    ids of the rows that now hold them.

    An envelope is stored only where the row is still held by the claim that sealed it (its
    lease token, still in flight) and holds no envelope yet. A row it did not go into was
    claimed again meanwhile, by a relay that found our lease run out and sealed it anew, or
    was settled: its envelope is not ours to send.
    """
    if not sealed:
        return set()
    dialect = session.get_bind().dialect.name
    statements = _statements(dialect)
    if dialect == "postgresql":
        session.execute(statements.seal, {
            "sealed_ids": [row.id for row in sealed],
            "tokens": [row.claimed_by for row in sealed],
            "sealed_envelopes": [row.envelope for row in sealed],
            "sealed_sha256s": [row.envelope_sha256 for row in sealed],
        })  # fmt: skip
    else:
        session.execute(
            statements.seal,
            [
                {
                    "sealed_id": row.id,
                    "token": row.claimed_by,
                    "sealed_envelope": row.envelope,
                    "sealed_sha256": row.envelope_sha256,
                }
                for row in sealed
            ],
        )
    # The rows read back after the writes, as a row count cannot say which of them took, and a
    # row that holds our envelope from an earlier call counts as stored. A row still held by
    # our claim whose envelope hash is ours holds our envelope: no statement replaces one.
    ours = {row.id: (row.claimed_by, row.envelope_sha256) for row in sealed}
    held = session.execute(statements.held, {"ids": list(ours)})
    return {row_id for row_id, token, digest in held if (token, digest) == ours[row_id]}


def mark_delivered(session: Session, message_ids: Sequence[str], now: datetime) -> None:
    if message_ids:
        session.execute(
            _statements(session.get_bind().dialect.name).delivered,
            {"message_ids": list(message_ids), "delivered_at": now},
        )


def mark_failed(
    session: Session,
    failures: Mapping[str, str],
    *,
    claims: Mapping[str, str | None],
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> list[str]:
    """Schedules a retry for each failed message, or parks it; returns the parked ids.

    Only rows still held by the claim that failed them move (`claims`: message id to the
    claim's lease token): a row whose lease ran out meanwhile is another relay's now, sending
    or settled, and putting it back in line would undo that claim."""
    parked: list[str] = []
    for row in _still_held(session, failures, claims):
        row.status = policy.after_failure(row.attempts)
        row.last_error = failures[row.message_id][:2000]
        row.lease_until = None
        row.next_attempt_at = policy.next_attempt(row.attempts, now, rng)
        if row.status == Status.PARKED:
            parked.append(row.message_id)
    return parked


def mark_refused(
    session: Session,
    refusals: Mapping[str, tuple[str, str]],
    *,
    claims: Mapping[str, str | None],
    now: datetime,
) -> list[str]:
    """Sets aside the messages the receiver refused for good (`delivery.FINAL_REFUSALS`):
    `refused`, with the reason code and detail, never retried by a relay. Only rows still held
    by the claim that sent them move, as in `mark_failed`; returns their ids."""
    refused: list[str] = []
    for row in _still_held(session, refusals, claims):
        reason, detail = refusals[row.message_id]
        row.status = Status.REFUSED
        row.refusal = reason[:40]
        row.last_error = detail[:2000]
        row.lease_until = None
        row.next_attempt_at = now
        refused.append(row.message_id)
    return refused


def release_claims(session: Session, tokens: Collection[str], now: datetime) -> int:
    """Puts the messages still held by these claims (lease tokens) back in line, due now, for
    a round that failed on the database after claiming them; returns how many moved. An
    envelope already stored stays, so the message is sent again in the same bytes."""
    if not tokens:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == Status.IN_FLIGHT,
               OutboxMessage.claimed_by.in_(list(tokens)))
        .values(status=Status.PENDING, lease_until=None, next_attempt_at=now)
    )  # fmt: skip
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _still_held(
    session: Session, message_ids: Iterable[str], claims: Mapping[str, str | None]
) -> list[OutboxMessage]:
    """The rows still held by the claims that failed them, locked until the transaction ends
    (their rows on PostgreSQL, the write lock on SQLite): a lease that runs out meanwhile
    lets another relay claim a row between this read and the write that moves it, which
    would put the row back in line under that relay."""
    query = select(OutboxMessage).where(
        OutboxMessage.message_id.in_(list(message_ids)),
        OutboxMessage.status == Status.IN_FLIGHT,
    )
    if session.get_bind().dialect.name == "postgresql":
        # In id order, as `settleable` locks them: a relay's settling and an operator's
        # command that lock some of the same rows cannot deadlock.
        query = query.with_for_update().order_by(OutboxMessage.id)
    else:
        begin_writing(session)
    rows = session.scalars(query)
    return [row for row in rows if row.claimed_by is not None
            and row.claimed_by == claims.get(row.message_id)]  # fmt: skip


def retry_parked(session: Session, message_ids: Sequence[str] | None, now: datetime) -> int:
    """Puts parked messages (all, or the ones named) back in line; returns how many."""
    query = update(OutboxMessage).where(OutboxMessage.status == Status.PARKED)
    if message_ids is not None:
        query = query.where(OutboxMessage.message_id.in_(message_ids))
    result = session.execute(query.values(status=Status.PENDING, attempts=0, next_attempt_at=now))
    announce(session)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def settleable(session: Session, message_ids: Sequence[str]) -> dict[str, OutboxMessage]:
    """The named messages, by id, locked for an operator's re-issue or discard, so a relay's
    claim cannot take one meanwhile: their rows on PostgreSQL, the write lock on SQLite,
    whose read would otherwise see a row the relay claims before the command writes it
    (a message discarded while the relay sends it)."""
    query = select(OutboxMessage).where(OutboxMessage.message_id.in_(list(message_ids)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update().order_by(OutboxMessage.id)  # see `_still_held`
    else:
        begin_writing(session)
    return {row.message_id: row for row in session.scalars(query)}


def waiting_behind(session: Session, head: OutboxMessage) -> list[OutboxMessage]:
    """The unfinished messages of the head's case queued after it, oldest first."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.ordering_key == head.ordering_key,
                OutboxMessage.id > head.id,
                OutboxMessage.status.in_(UNFINISHED),
            )
            .order_by(OutboxMessage.id)
        )
    )


def unseal(row: OutboxMessage, issued_at: datetime, expires_at: datetime, now: datetime) -> None:
    """Puts `row` back in line to be sealed anew with these times: the relay seals it on its
    next claim. The hash of the envelope it leaves is kept, so a receipt for that envelope
    (it may have arrived after all) still proves delivery."""
    if row.status not in SETTLEABLE:
        raise ValueError(f"a {row.status} message cannot be sealed anew")
    if row.envelope_sha256:
        row.earlier_envelopes = " ".join(
            [*(row.earlier_envelopes or "").split(), row.envelope_sha256]
        )
    row.envelope = row.envelope_sha256 = None
    row.issued_at, row.expires_at = issued_at, expires_at
    row.status = Status.PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.lease_until = None
    row.refusal = None
    row.last_error = None


def discard_row(row: OutboxMessage, detail: str) -> None:
    """Takes `row` out of the queue for good; the later messages of its case then go."""
    if row.status not in SETTLEABLE:
        raise ValueError(f"a {row.status} message cannot be discarded")
    row.status = Status.DISCARDED
    row.lease_until = None
    row.last_error = detail[:2000]
