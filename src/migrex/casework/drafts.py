"""Deciding an incoming request in steps: draft → preview → narrow → submit → (approve) → sent.

A draft is the answer or refusal exactly as it would leave. Its preview shows, person by
person, every field that would leave with its value and every requested field withheld with
the reason; the reviewer may withhold more (never add). Submitting sends it through the
outgoing gate — or, where the agreement's `data_protection.second_officer` names the decision
("disclosure" for an answer carrying personal data, "refusal"), waits for a second officer,
who did neither draft nor submit it and has just signed in again, to approve it.

A case an officer has claimed is decided by that officer only (`assignment.check_holder`);
approving is the second officer's, so it is not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from migrex.audit import events, subject_hash
from migrex.audit.pending import record
from migrex.casework.answers import build_reply
from migrex.casework.assignment import check_holder
from migrex.casework.citizenship import build_citizenship_reply
from migrex.casework.context import NodeContext
from migrex.casework.gate import subjects
from migrex.casework.kinds import KINDS
from migrex.casework.lifecycle import CaseState, Direction, Event, IllegalTransition
from migrex.casework.messages import (
    CitizenshipVerificationReply,
    InquiryResult,
    MessageBody,
    MessageInvalid,
    PersonInquiryReply,
    Refusal,
    Withheld,
    parse_body,
    refusal_for,
)
from migrex.casework.steps import (
    load_case,
    lock_case,
    move,
    opening_message,
    send,
    send_answer,
)
from migrex.casework.tables import CaseRow, DraftRow
from migrex.errors import Conflict, MigrexError, NotFound, Problem
from migrex.exchange.outbox import canonical_json
from migrex.ledger.service import MessageFacts, record_subjects
from migrex.registry.ports import Registries
from migrex.uow import UnitOfWork

WITHHELD_BY_REVIEWER = "withheld by the reviewer"
OPEN = ("draft", "awaiting-approval")


class SecondOfficerRequired(MigrexError):
    type_slug = "second-officer-required"
    title = "A second officer must approve this decision"
    status = 403


@dataclass(frozen=True)
class PersonPreview:
    person: int
    named_as: dict[str, Any]  # the identifiers the request gave
    leaving: dict[str, Any]  # field → value, exactly as it would leave
    withheld: dict[str, str]  # field → why not
    outcome: str  # hit, no-hit, or the citizenship finding


@dataclass(frozen=True)
class Preview:
    case_id: str
    draft_id: int
    decision: str
    type: str
    status: str
    needs_second_officer: bool
    drafted_by: str
    persons: list[PersonPreview] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None


def _incoming_in_review(uow: UnitOfWork, case_id: str) -> CaseRow:
    case = lock_case(uow, case_id)
    if case.direction != Direction.INCOMING or case.state != CaseState.IN_REVIEW:
        raise IllegalTransition(
            f"case {case_id} is {case.direction}, {case.state}: only an incoming request in "
            "review is decided", [Problem("state", "must be an incoming case in review")],
        )  # fmt: skip
    return case


def _open_draft(uow: UnitOfWork, case_id: str) -> DraftRow:
    row = uow.session.scalars(
        select(DraftRow).where(DraftRow.case_id == case_id, DraftRow.status.in_(OPEN))
        .order_by(DraftRow.id.desc())
    ).first()  # fmt: skip
    if row is None:
        raise NotFound(f"case {case_id} has no open draft")
    return row


def _store(
    uow: UnitOfWork, case: CaseRow, decision: str, body: MessageBody, *, actor: str,
    now: datetime,
) -> DraftRow:  # fmt: skip
    for old in uow.session.scalars(
        select(DraftRow).where(DraftRow.case_id == case.id, DraftRow.status.in_(OPEN))
    ):
        old.status, old.decided_at = "discarded", now
    row = DraftRow(case_id=case.id, decision=decision, type=body.type, status="draft",
                   body=canonical_json(body.model_dump(mode="json", exclude_none=True)),
                   drafted_by=actor, drafted_at=now)  # fmt: skip
    uow.session.add(row)
    uow.session.flush()
    _logged(uow, case, f"draft:{decision}", actor, now)
    return row


def _logged(uow: UnitOfWork, case: CaseRow, step: str, actor: str, now: datetime) -> None:
    """Every step of a decision is an audit entry, in the step's own transaction."""
    entry = events.decision(at=now, actor=actor, authority=case.our_authority, case_id=case.id,
                            event=step, purpose=case.purpose)  # fmt: skip
    record(uow.session, entry)


def _body(row: DraftRow) -> MessageBody:
    return parse_body(row.type, json.loads(row.body))


def preview(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, reader: str, now: datetime
) -> Preview:
    """The case's open draft as it would leave, person by person; the read is ledgered."""
    row = _open_draft(uow, case_id)
    case = load_case(uow, case_id)
    _ledger_read(uow, node, case, row, reader=reader, now=now)
    result = _preview(uow, node, case, row)
    uow.commit()
    return result


def _ledger_read(
    uow: UnitOfWork, node: NodeContext, case: CaseRow, row: DraftRow, *, reader: str,
    now: datetime,
) -> None:  # fmt: skip
    """Showing a drafted answer shows personal data: one ledger "read" row per person (G4)."""
    if row.decision != "disclosure":
        return
    opening = opening_message(uow, node, case.id)
    body = _body(row)
    carried = KINDS[body.type].carried(body, opening)
    facts = MessageFacts(
        "read", case.agreement_id, case.our_authority, case.partner_authority,
        f"draft:{row.id}", body.type, case.id, case.purpose, None, reader, now,
    )  # fmt: skip
    shown = subjects(carried)
    record_subjects(uow.session, node.subject_key, facts, shown)
    for subject in shown:
        if subject.identifiers:
            record(uow.session, events.personal_data_shown(
                at=now, actor=reader, authority=case.our_authority, purpose=case.purpose,
                subject_hash=subject_hash(node.subject_key, subject.identifiers[0]),
                reference=f"draft:{row.id}",
            ))  # fmt: skip


def _preview(uow: UnitOfWork, node: NodeContext, case: CaseRow, row: DraftRow) -> Preview:
    body = _body(row)
    opening = opening_message(uow, node, case.id)
    asked = KINDS[opening.type].carried(opening, None) if opening is not None else []
    persons = []
    if isinstance(body, PersonInquiryReply):
        for r in body.results:
            persons.append(PersonPreview(
                r.person, dict(asked[r.person].who) if r.person < len(asked) else {},
                dict(r.fields), {w.field: w.reason for w in r.withheld},
                "hit" if r.hit else "no-hit",
            ))  # fmt: skip
    elif isinstance(body, CitizenshipVerificationReply):
        for f in body.results:
            persons.append(PersonPreview(
                f.person, dict(asked[f.person].who) if f.person < len(asked) else {},
                {"citizenship_status": f.status or f.holds}, {}, f"holds: {f.holds}",
            ))  # fmt: skip
    agreement = node.agreements[case.agreement_id]
    return Preview(
        case.id, row.id, row.decision, row.type, row.status,
        row.decision in agreement.data_protection.second_officer, row.drafted_by, persons,
        json.loads(row.body), row.message_id,
    )  # fmt: skip


def draft_answer(
    uow: UnitOfWork, node: NodeContext, registries: Registries, case_id: str, *,
    hit_key: bytes, actor: str, now: datetime, citizenship: bool | None = None,
) -> Preview:  # fmt: skip
    """Drafts the answer the registries give (minimised as `answers` and `citizenship` do).
    `citizenship` says which kind of request the caller means to answer (MessageInvalid when
    the case is the other kind); None answers whichever it is."""
    case = _incoming_in_review(uow, case_id)
    check_holder(case, actor)
    is_citizenship = case.category == "citizenship-verification"
    if citizenship is not None and citizenship != is_citizenship:
        wanted = "a citizenship verification" if citizenship else "a person inquiry"
        raise MessageInvalid(f"case {case_id} is not {wanted} request")
    reply: MessageBody
    if is_citizenship:
        reply = build_citizenship_reply(uow, node, registries, case)
    else:
        reply = build_reply(uow, node, registries, case, hit_key=hit_key)
    row = _store(uow, case, "disclosure", reply, actor=actor, now=now)
    _ledger_read(uow, node, case, row, reader=actor, now=now)
    result = _preview(uow, node, case, row)
    uow.commit()
    return result


def draft_refusal(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, grounds: Sequence[str],
    explanation: str, actor: str, now: datetime,
) -> Preview:  # fmt: skip
    """Drafts a refusal on the agreement's grounds (NotFound for a ground it lacks)."""
    case = _incoming_in_review(uow, case_id)
    check_holder(case, actor)
    refusal = refusal_for(node.agreements[case.agreement_id], grounds, explanation)
    row = _store(uow, case, "refusal", refusal, actor=actor, now=now)
    result = _preview(uow, node, case, row)
    uow.commit()
    return result


def narrow(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, fields: Sequence[str],
    persons: Sequence[int] | None = None, actor: str, now: datetime,
) -> Preview:  # fmt: skip
    """Withholds `fields` (of `persons`, or of everyone) from the drafted answer. Narrowing
    takes the draft back from approval: the second officer approves what will leave."""
    case = _incoming_in_review(uow, case_id)
    check_holder(case, actor)
    row = _open_draft(uow, case_id)
    body = _body(row)
    if not isinstance(body, PersonInquiryReply):
        raise Conflict(f"a {row.type} draft has no person fields to withhold")
    chosen = set(persons) if persons is not None else {r.person for r in body.results}
    results = [_withhold(r, set(fields)) if r.person in chosen else r for r in body.results]
    narrowed = PersonInquiryReply(step=body.step, results=results)
    row.body = canonical_json(narrowed.model_dump(mode="json", exclude_none=True))
    row.status, row.submitted_by = "draft", None
    _logged(uow, case, "narrow", actor, now)
    _ledger_read(uow, node, case, row, reader=actor, now=now)
    result = _preview(uow, node, case, row)
    uow.commit()
    return result


def _withhold(result: InquiryResult, names: set[str]) -> InquiryResult:
    gone = sorted(names & set(result.fields))
    if not gone:
        return result
    return InquiryResult(
        person=result.person, hit=result.hit, reference=result.reference,
        fields={k: v for k, v in result.fields.items() if k not in names},
        withheld=[*result.withheld,
                  *(Withheld(field=name, reason=WITHHELD_BY_REVIEWER) for name in gone)],
    )  # fmt: skip


def submit(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, actor: str, now: datetime
) -> Preview:
    """Sends the draft, or hands it to a second officer where the agreement requires one."""
    case = _incoming_in_review(uow, case_id)
    check_holder(case, actor)
    row = _open_draft(uow, case_id)
    if row.status != "draft":
        raise Conflict(f"the draft of case {case_id} already awaits approval")
    row.submitted_by = actor
    if row.decision in node.agreements[case.agreement_id].data_protection.second_officer:
        row.status = "awaiting-approval"
        _logged(uow, case, "submit-for-approval", actor, now)
    else:
        _send_draft(uow, node, case, row, actor=actor, now=now)
    result = _preview(uow, node, case, row)
    uow.commit()
    return result


def approve(
    uow: UnitOfWork, node: NodeContext, case_id: str, *, approver: str, now: datetime
) -> Preview:
    """A second officer approves the draft, which leaves at once. The caller has checked the
    approver's fresh sign-in; this checks they neither drafted nor submitted it."""
    case = _incoming_in_review(uow, case_id)
    row = _open_draft(uow, case_id)
    if row.status != "awaiting-approval":
        raise Conflict(f"the draft of case {case_id} is not awaiting approval")
    if approver in {row.drafted_by, row.submitted_by}:
        raise SecondOfficerRequired(
            f"{approver} drafted or submitted this decision; another officer must approve it",
            [Problem("approver", "must be neither the drafter nor the submitter")],
        )
    row.approved_by = approver
    _logged(uow, case, "approve", approver, now)
    _send_draft(uow, node, case, row, actor=approver, now=now)
    result = _preview(uow, node, case, row)
    uow.commit()
    return result


def discard(uow: UnitOfWork, case_id: str, *, actor: str, now: datetime) -> None:
    case = lock_case(uow, case_id)  # of two discards at once, the second finds no open draft
    row = _open_draft(uow, case_id)
    row.status, row.decided_at = "discarded", now
    _logged(uow, case, "discard-draft", actor, now)
    uow.commit()


def _send_draft(
    uow: UnitOfWork, node: NodeContext, case: CaseRow, row: DraftRow, *, actor: str,
    now: datetime,
) -> None:  # fmt: skip
    body = _body(row)
    if isinstance(body, PersonInquiryReply | CitizenshipVerificationReply):
        message_id = send_answer(uow, node, case, body, actor=actor, now=now)
    elif isinstance(body, Refusal):
        move(uow, case, Event.REFUSE, actor, now)
        message_id = send(uow, node, case, body, actor=actor, now=now)
    else:
        raise Conflict(f"a {row.type} cannot be sent as a decision")
    row.status, row.message_id, row.decided_at = "sent", message_id, now
