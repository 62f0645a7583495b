"""Use cases of the exchange: put a message in the outbox, retry parked ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from migrex.agreements import Agreement
from migrex.audit import events
from migrex.audit.pending import record
from migrex.envelope import new_message_id
from migrex.errors import MigrexError, NotFound
from migrex.exchange.outbox import OutgoingMessage, enqueue, retry_parked
from migrex.uow import UnitOfWork


class NotPermitted(MigrexError):
    type_slug = "not-permitted"
    title = "The agreement does not permit this message"
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
    """Puts parked messages back in line; returns how many. The attempt is audited."""
    count = retry_parked(uow.session, message_ids, now)
    target = "all-parked" if message_ids is None else ",".join(message_ids)[:150]
    record(uow.session, events.administration(at=now, actor=actor, action=f"retried-{count}",
                                              target=target))  # fmt: skip
    uow.commit()
    return count
