"""Use cases of the exchange: put a message in the outbox; for the operator, retry parked
messages, re-issue a message the receiver refused (sealed anew) or discard it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrex import features
from migrex.agreements import Agreement
from migrex.audit import events
from migrex.audit.pending import record
from migrex.envelope import new_message_id
from migrex.errors import Conflict, MigrexError, NotFound
from migrex.exchange.delivery import SETTLEABLE, Status, needs_new_times
from migrex.exchange.outbox import (
    OutgoingMessage,
    announce,
    discard_row,
    enqueue,
    retry_parked,
    settleable,
    unseal,
    waiting_behind,
)
from migrex.exchange.tables import OutboxMessage
from migrex.officers.model import Action, Officer, require
from migrex.uow import UnitOfWork


class NotPermitted(MigrexError):
    type_slug = "not-permitted"
    title = "The agreement does not permit this message"
    status = 422


class NotAwaitingOperator(Conflict):
    """Only a message no relay holds and none has delivered can be re-issued or discarded."""

    type_slug = "not-awaiting-operator"
    title = "The message is delivered, discarded or in flight"
    status = 409


class ReissueRefused(MigrexError):
    """A message cannot be sealed anew: its agreement is no longer the node's, not in force,
    or no longer names its sender or recipient."""

    type_slug = "reissue-refused"
    title = "The message cannot be re-issued"
    status = 422


@dataclass(frozen=True)
class SendMessage:
    agreement_id: str
    sender: str
    recipient: str
    type: str
    body: Mapping[str, Any] = field(default_factory=dict)
    case_id: str | None = None
    in_reply_to: str | None = None
    category: str | None = None  # checked against the agreement when given


def check_send(
    command: SendMessage, agreements: Mapping[str, Agreement], hosted: Sequence[str]
) -> Agreement:
    """The agreement the message falls under; raises when the node may not send it. Pure."""
    agreement = agreements.get(command.agreement_id)
    if agreement is None:
        raise NotFound(f"this node takes no part in agreement {command.agreement_id}")
    if command.sender not in hosted:
        raise NotPermitted(f"{command.sender} is not an authority hosted by this node")
    sender = agreement.authority(command.sender)
    recipient = agreement.authority(command.recipient)
    if sender.state == recipient.state:
        raise NotPermitted("messages under an agreement go to the other party's authorities")
    if command.category is not None and not agreement.may_send(
        command.category, command.sender, command.recipient
    ):
        raise NotPermitted(
            f"{agreement.id} does not let {command.sender} send {command.category} "
            f"information to {command.recipient}"
        )
    return agreement


def send_message(
    uow: UnitOfWork,
    command: SendMessage,
    *,
    agreements: Mapping[str, Agreement],
    hosted: Sequence[str],
    now: datetime,
) -> str:
    """Records the message in the outbox (the relay sends it); returns its message id."""
    agreement = check_send(command, agreements, hosted)
    message_id = new_message_id(now)
    enqueue(
        uow.session,
        OutgoingMessage(
            message_id=message_id,
            agreement_id=agreement.id,
            sender=command.sender,
            recipient=command.recipient,
            type=command.type,
            body=command.body,
            issued_at=now,
            expires_at=now + agreement.message_lifetime,
            case_id=command.case_id,
            in_reply_to=command.in_reply_to,
        ),
        now,
    )
    uow.commit()
    return message_id


def retry(
    uow: UnitOfWork, message_ids: Sequence[str] | None, now: datetime, *, actor: str = "operator"
) -> int:
    """Puts parked messages back in line; returns how many. The attempt is audited. Named
    messages of which none is parked are refused (NotFound for an id the outbox lacks,
    NotAwaitingOperator otherwise), changing nothing: an operator who named the wrong one
    must hear it."""
    if message_ids is not None:
        _some_parked(uow, message_ids)
    count = retry_parked(uow.session, message_ids, now)
    target = "all-parked" if message_ids is None else ",".join(message_ids)[:150]
    record(uow.session, events.administration(at=now, actor=actor, action=f"retried-{count}",
                                              target=target))  # fmt: skip
    uow.commit()
    return count


def _some_parked(uow: UnitOfWork, message_ids: Sequence[str]) -> None:
    named = settleable(uow.session, message_ids)
    missing = sorted(set(message_ids) - set(named))
    if missing:
        raise NotFound(f"no outgoing message {', '.join(missing)}")
    if not any(row.status == Status.PARKED for row in named.values()):
        states = ", ".join(f"{row.message_id} is {row.status}" for row in named.values())
        raise NotAwaitingOperator(
            f"nothing to retry: {states}; only a parked message is retried (a refused one "
            "is re-issued or discarded)"
        )


def retry_for_officer(uow: UnitOfWork, officer: Officer, message_id: str, now: datetime) -> None:
    """An officer puts one parked message of their authority back in line (the API's and the
    console's retry): NotFound, NotAuthorised for another authority's message, Conflict when
    it is not parked. The check and the retry share the unit of work."""
    message = uow.session.scalar(
        select(OutboxMessage).where(OutboxMessage.message_id == message_id)
    )
    if message is None:
        raise NotFound(f"no outgoing message {message_id}")
    require(officer, Action.RETRY_DELIVERY, message.sender)
    status = message.status
    if retry(uow, [message_id], now, actor=officer.actor) == 0:
        raise Conflict(f"message {message_id} is not parked; it is {status}")


@dataclass(frozen=True)
class Reissued:
    """A message sealed anew, and the messages waiting behind it in its case that got new
    times with it (theirs would have been refused too)."""

    message_id: str
    redated: tuple[str, ...]


def reissue(
    uow: UnitOfWork,
    message_ids: Sequence[str],
    *,
    agreements: Mapping[str, Agreement],
    now: datetime,
    actor: str,
) -> list[Reissued]:
    """Puts each named message back in line to be sealed anew: same id, case and body, new
    times (`now`, `now` + its agreement's message lifetime), a new envelope on the next claim.
    It keeps its place, at the head of its case. The id is what the receiver de-duplicates
    on: if an earlier envelope of the message did arrive, the receiver answers the new one
    with the receipt it signed then and files nothing twice (`exchange.receiver`).

    Messages of the case waiting behind it whose own times would be refused get new times
    too, so the case drains. A new envelope is a new sending, so the agreement must still
    allow it (G1): the node's agreements must hold the message's, in force today, with both
    authorities. Checks every id before changing anything; one audit entry per message
    changed.
    """
    rows = _settleable(uow.session, message_ids)
    for row in rows:
        _check_still_allowed(row, agreements, now)
    done = []
    for row in rows:
        lifetime = agreements[row.agreement_id].message_lifetime
        unseal(row, now, now + lifetime, now)
        _administered(uow, actor, "outbox-reissued", row.message_id, now)
        redated = []
        for later in waiting_behind(uow.session, row):
            if later.status in SETTLEABLE and needs_new_times(later.issued_at, later.expires_at,
                                                              now):  # fmt: skip
                unseal(later, now, now + lifetime, now)
                _administered(uow, actor, "outbox-redated", later.message_id, now)
                redated.append(later.message_id)
        done.append(Reissued(row.message_id, tuple(redated)))
    announce(uow.session)
    uow.commit()
    return done


@dataclass(frozen=True)
class Discarded:
    """An outgoing message an operator took out of the queue, and why: what the features
    above the exchange are told (casework notes it on the case)."""

    message_id: str
    agreement_id: str
    recipient: str
    type: str
    case_id: str | None
    refusal: str | None
    reason: str
    actor: str
    at: datetime


DiscardHook = Callable[[UnitOfWork, Discarded], None]
MAX_REASON = 500


def discard(
    uow: UnitOfWork,
    message_id: str,
    reason: str,
    *,
    now: datetime,
    actor: str,
    hooks: Sequence[DiscardHook] | None = None,
) -> Discarded:
    """Takes a message that cannot or must not be delivered out of the queue for good; the
    later messages of its case then go. The audit entry names the message and a hash of the
    reason (the log keeps no free text: it could name a person, G8); the reason itself goes
    to the case, through `hooks` (default: every feature's `discard_hooks`), in the same
    transaction."""
    reason = " ".join(reason.split())
    if not reason:
        raise MigrexError("a discard needs a reason: say why the message will not be sent")
    if len(reason) > MAX_REASON:
        raise MigrexError(f"the reason is longer than {MAX_REASON} characters")
    [row] = _settleable(uow.session, [message_id])
    refusal = row.refusal
    # A reason may name a person: on a case's message it is kept on the case (erased with
    # it), not in the outbox row `outbox list` shows.
    where = f"; the reason is noted on case {row.case_id}" if row.case_id else f": {reason}"
    discard_row(row, f"discarded by {actor}{where}")
    digest = hashlib.sha256(reason.encode()).hexdigest()[:32]
    _administered(uow, actor, "outbox-discarded", f"{row.message_id}:reason-sha256:{digest}", now)
    discarded = Discarded(row.message_id, row.agreement_id, row.recipient, row.type,
                          row.case_id, refusal, reason, actor, now)  # fmt: skip
    for hook in features.discard_hooks() if hooks is None else hooks:
        hook(uow, discarded)
    announce(uow.session)
    uow.commit()
    return discarded


def _settleable(session: Session, message_ids: Sequence[str]) -> list[OutboxMessage]:
    """The named messages in the order named, each awaiting an operator or still pending;
    NotFound or NotAwaitingOperator before anything changes."""
    wanted = list(dict.fromkeys(message_ids))
    rows = settleable(session, wanted)
    missing = [m for m in wanted if m not in rows]
    if missing:
        raise NotFound(f"no outgoing message {', '.join(missing)}")
    for message_id in wanted:
        row = rows[message_id]
        if row.status not in SETTLEABLE:
            held = "in flight (a relay holds it)" if row.status == Status.IN_FLIGHT else row.status
            raise NotAwaitingOperator(
                f"message {message_id} is {held}: only parked, refused or waiting messages "
                "can be re-issued or discarded"
            )
    return [rows[m] for m in wanted]


def _check_still_allowed(
    row: OutboxMessage, agreements: Mapping[str, Agreement], now: datetime
) -> None:
    agreement = agreements.get(row.agreement_id)
    if agreement is None:
        raise ReissueRefused(
            f"message {row.message_id} is under {row.agreement_id}, which this node no longer "
            "takes part in: discard it instead"
        )
    if not agreement.is_in_force(now.date()):
        raise ReissueRefused(
            f"{agreement.id} is not in force on {now.date().isoformat()}: message "
            f"{row.message_id} cannot be sent again; discard it instead"
        )
    try:
        agreement.authority(row.sender)
        agreement.authority(row.recipient)
    except MigrexError as error:
        raise ReissueRefused(f"message {row.message_id}: {error.detail}") from None


def _administered(uow: UnitOfWork, actor: str, action: str, target: str, now: datetime) -> None:
    record(uow.session, events.administration(at=now, actor=actor, action=action, target=target))
