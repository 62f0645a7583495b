"""What the filing gate does besides filing: open the case a partner's request or notice
starts, screen it (again, after a clarification), and say why a message could not be filed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from migrex.agreements import Agreement, Urgency
from migrex.casework.context import NodeContext
from migrex.casework.kinds import MessageKind, Role
from migrex.casework.lifecycle import INITIAL_STATE, Direction, due_at
from migrex.casework.messages import ClarificationAnswer, MessageBody, MessageProblem
from migrex.casework.screening import amended, request_of, screen
from migrex.casework.steps import notes, opening_message
from migrex.casework.tables import CaseRow
from migrex.envelope import new_message_id
from migrex.errors import MigrexError
from migrex.exchange.outbox import OutgoingMessage, enqueue
from migrex.exchange.tables import InboxMessage
from migrex.ledger.volume import VolumeCount
from migrex.uow import UnitOfWork

MESSAGE_PROBLEM = "message-problem"


class Unfileable(MigrexError):
    """A received message that cannot become case work; `code` says why, for machines."""

    type_slug = "unfileable"
    title = "The message cannot be filed"
    status = 422

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def problem_text(error: BaseException) -> str:
    """Why a message could not be filed: a code, and the places at fault. Never the error's
    own text, which may quote the content (a name in a validation message, say)."""
    if isinstance(error, Unfileable):
        return error.code
    if isinstance(error, MigrexError):
        places = sorted({p.where for p in error.problems if p.where})
        return error.type_slug + (f" at {', '.join(places)}"[:400] if places else "")
    return f"internal-error:{type(error).__name__}"


def open_incoming(
    uow: UnitOfWork, agreement: Agreement, row: InboxMessage, kind: MessageKind,
    body: MessageBody, *, now: datetime, volume: VolumeCount | None = None,
    write: Callable[[UnitOfWork, CaseRow], None] | None = None,
) -> CaseRow:  # fmt: skip
    """The incoming case the partner's request or notice opens, screened as it arrived.
    `volume` counts the persons received in the period (a filing round keeps one running
    count for all its messages); without it the ledger is counted here. `write` stores the
    new case row before anything refers to it (by default: added, and flushed)."""
    category = kind.category or ""
    urgency = getattr(body, "urgency", Urgency.NORMAL)
    # Only a request is owed an answer: a notice or information runs no clock.
    due = due_at(agreement, category, urgency, now) if kind.role is Role.REQUEST else None
    case = CaseRow(
        id=row.case_id, agreement_id=agreement.id, direction=Direction.INCOMING,
        category=category, purpose=getattr(body, "purpose", None), our_authority=row.recipient,
        partner_authority=row.sender, state=INITIAL_STATE[Direction.INCOMING], urgency=urgency,
        opened_at=now, due_at=due, closed_at=None, opened_by=f"partner:{row.sender}",
    )  # fmt: skip
    (write or write_case)(uow, case)
    # Only persons count against the volume limits: information needs no count.
    volume = volume or VolumeCount(uow.session, direction="received", now=now)
    partner_state = agreement.authority(row.sender).state
    disclosed = volume.persons(agreement, partner_state) if kind.personal else 0
    screening = screen(agreement,
                       request_of(body, sender=row.sender, recipient=row.recipient),  # type: ignore[arg-type]
                       disclosed_in_period=disclosed)  # fmt: skip
    notes(uow, case.id, screening)
    return case


def write_case(uow: UnitOfWork, case: CaseRow) -> None:
    uow.session.add(case)
    uow.session.flush()


def rescreen(
    uow: UnitOfWork, node: NodeContext, case: CaseRow, answer: ClarificationAnswer, *,
    now: datetime, volume: VolumeCount | None = None,
) -> None:  # fmt: skip
    """Screen the partner's request again as their clarification amends it: the reviewer sees
    what the amendment changed (a breach it brings is a proposed refusal, as at receipt)."""
    agreement = node.agreements[case.agreement_id]
    original = opening_message(uow, node, case.id)
    if original is None:
        return
    request = request_of(original, sender=case.partner_authority,  # type: ignore[arg-type]
                         recipient=case.our_authority)  # fmt: skip
    volume = volume or VolumeCount(uow.session, direction="received", now=now)
    disclosed = volume.persons(agreement, agreement.authority(case.partner_authority).state)
    screening = screen(agreement, amended(request, answer), disclosed_in_period=disclosed)
    notes(uow, case.id, screening, prefix="after clarification: ")


def file_problem_report(
    uow: UnitOfWork, node: NodeContext, row: InboxMessage, problem: str, now: datetime
) -> None:
    """Tells the sender its message could not be filed, under the agreement it named, when
    both authorities are parties to it (the door refuses anyone else)."""
    agreement = node.agreements.get(row.agreement_id)
    if agreement is None or row.recipient not in node.hosted:
        return
    ids = set(agreement.authorities)
    if row.sender not in ids or row.recipient not in ids:
        return
    report = MessageProblem(message_id=row.message_id, problem=problem[:500])
    enqueue(
        uow.session,
        OutgoingMessage(
            message_id=new_message_id(now), agreement_id=agreement.id, sender=row.recipient,
            recipient=row.sender, type=MESSAGE_PROBLEM,
            body=report.model_dump(mode="json"), issued_at=now,
            expires_at=now + agreement.message_lifetime, case_id=row.case_id,
            in_reply_to=row.message_id,
        ),
        now,
    )  # fmt: skip
