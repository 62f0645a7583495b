"""What happens to a run's candidates at each party: the unit's pairs, each resolved by the
party to its own record, become a queue for its officers.

An officer looks a candidate up in the own register and either files the ordinary
citizenship-verification request to the run's partner, quoting the pair id, or dismisses the
candidate with a reason. The partner's node, filing that request, finds its own candidate of
the pair and links it to the incoming case; its reviewer answers formally, as any such
request; the reply, sent there and filed here, closes the candidate at both parties with its
outcome. Nothing is decided by the machine alone: a candidate is a lead for an officer.

The decisions are use cases (one commit each, with their audit leaf); the two hooks take
part in casework's filing and sending (`features.Feature.filing_hooks`, `sending_hooks`), in
the message's own transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrex.agreements import Agreement
from migrex.audit import events, subject_hash
from migrex.audit.pending import record
from migrex.casework.context import NodeContext
from migrex.casework.lifecycle import CaseState
from migrex.casework.messages import (
    CitizenshipVerificationReply,
    CitizenshipVerificationRequest,
    LinkageRunProposal,
    MessageInvalid,
    parse_body,
)
from migrex.casework.service import Opened, OpenRequest, open_case
from migrex.casework.steps import load_case, opening_of
from migrex.casework.tables import CaseRow
from migrex.db import begin_writing
from migrex.exchange.service import NotPermitted
from migrex.ledger.service import MessageFacts, record_subjects
from migrex.ledger.subjects import Subject, identifiers_of
from migrex.linkage.candidate_rules import (
    CandidateEvent,
    CandidateInvalid,
    CandidateNotFound,
    CandidateState,
    allowed,
    checked,
    decide,
    dismissal_reason,
    outcome_of,
)
from migrex.linkage.runs import LINKAGE_CATEGORY, PROPOSAL
from migrex.linkage.tables import CandidateRow
from migrex.officers.model import Action, Officer, may, require
from migrex.registry.tables import CitizenRow
from migrex.retention.sealing import is_sealed
from migrex.uow import UnitOfWork

REQUEST_TYPE = "citizenship-verification-request"
REPLY_TYPE = "citizenship-verification-reply"
# What a candidate's page shows of our own record, and what its request asks the partner with.
SHOWN = ("national_id", "surname", "given_name", "patronymic", "surname_latin",
         "given_name_latin", "sex", "birth_date")  # fmt: skip
ASKED_WITH = ("surname_latin", "given_name_latin", "birth_date")
READ_TYPE = "linkage-candidate"


@dataclass(frozen=True)
class ResolvedCandidate:
    pair_id: str  # the unit's id of the pair: the same string at both parties
    national_id: str  # OUR register's id of OUR record (the party resolved its pseudonym)
    band: str  # "strong" | "probable" | "possible"  (linkage.compare.BANDS names)


def _run_proposal(uow: UnitOfWork, case: CaseRow) -> LinkageRunProposal:
    """The run's proposal, read from its case. A proposal names no person, so its copy is
    kept in clear (`linkage-run-proposal` carries no personal data)."""
    opening = opening_of(uow, case.id)
    if opening.type != PROPOSAL or is_sealed(opening.body):
        raise MessageInvalid(f"case {case.id} is not a linkage run")
    proposal = parse_body(opening.type, json.loads(opening.body))
    if not isinstance(proposal, LinkageRunProposal):
        raise MessageInvalid(f"case {case.id} is not a linkage run")
    return proposal


def file_candidates(
    uow: UnitOfWork, *, run_case_id: str, authority: str,
    candidates: Sequence[ResolvedCandidate], actor: str, now: datetime,
) -> int:  # fmt: skip
    """Files the candidates of one run for `authority` (hosted here) in one transaction, with one
    audit entry (counts only, no ids: G8); idempotent per (run, pair_id); returns how many new."""
    case = load_case(uow, run_case_id)
    proposal = _run_proposal(uow, case)
    if case.category != LINKAGE_CATEGORY or case.state != CaseState.ANSWERED:
        raise NotPermitted(f"run {proposal.run_id} is {case.state}, not accepted")
    if authority not in proposal.candidates_to or authority == case.partner_authority:
        raise NotPermitted(f"the run's candidates do not go to {authority}")
    for candidate in candidates:
        checked(candidate.pair_id, candidate.band)
        if not 0 < len(candidate.national_id.strip()) <= 40:
            raise CandidateInvalid("a national id is 1 to 40 characters")
    known = set(uow.session.scalars(
        select(CandidateRow.pair_id).where(CandidateRow.run_case_id == case.id)
    ))  # fmt: skip
    new = 0
    for candidate in candidates:
        if candidate.pair_id in known:
            continue
        known.add(candidate.pair_id)
        uow.session.add(CandidateRow(
            agreement_id=case.agreement_id, run_id=proposal.run_id, run_case_id=case.id,
            authority=authority, pair_id=candidate.pair_id,
            national_id=candidate.national_id.strip(), band=candidate.band,
            state=CandidateState.OPEN, filed_at=now,
        ))  # fmt: skip
        new += 1
    record(uow.session, events.analysis(
        at=now, actor=actor, authority=authority,
        reference=f"case:{case.id}:linkage-candidates:new={new}:given={len(candidates)}",
    ))  # fmt: skip
    uow.commit()
    return new


# ---------------------------------------------------------------- an officer's decisions


def load_candidate(session: Session, candidate_id: int, *, deciding: bool = False) -> CandidateRow:
    """The candidate; CandidateNotFound for none. `deciding` holds it until the transaction
    ends and reads it afresh: of two decisions at once (an officer's double click on Request
    verification) both found it open, and each opened a case and sent the partner a request."""
    if deciding:
        begin_writing(session)  # SQLite: its one write lock, which PostgreSQL's row lock is
    candidate = session.get(CandidateRow, candidate_id, with_for_update=deciding,
                            populate_existing=deciding)  # fmt: skip
    if candidate is None:
        raise CandidateNotFound(f"no linkage candidate {candidate_id}")
    return candidate


@dataclass(frozen=True)
class CandidateView:
    """A candidate's page: the candidate, its run's partner, and our own record when the
    officer may see personal data of the candidate's authority (None otherwise, or when the
    record has left the register or was stripped)."""

    candidate: CandidateRow
    partner: str
    purpose: str
    own_record: dict[str, Any] | None
    may_see_record: bool


def _citizen(session: Session, national_id: str | None) -> CitizenRow | None:
    if national_id is None:
        return None
    return session.scalars(
        select(CitizenRow).where(CitizenRow.national_id == national_id)
    ).first()  # fmt: skip


def show_candidate(
    uow: UnitOfWork, node: NodeContext, officer: Officer, candidate_id: int, *, now: datetime
) -> CandidateView:
    """The candidate; our own record on it only for an officer who may see personal data of
    the candidate's authority, and then as a recorded read: a ledger row and an audit leaf
    under the officer's name (G4, G5)."""
    candidate = load_candidate(uow.session, candidate_id)
    require(officer, Action.VIEW_CASE, candidate.authority)
    run_case = load_case(uow, candidate.run_case_id)
    purpose = _run_proposal(uow, run_case).purpose
    may_see = may(officer, Action.VIEW_PERSONAL_DATA, candidate.authority)
    citizen = _citizen(uow.session, candidate.national_id) if may_see else None
    shown = None
    if citizen is not None:
        shown = {name: getattr(citizen, name) for name in SHOWN if getattr(citizen, name)}
        facts = MessageFacts(
            "read", candidate.agreement_id, candidate.authority, run_case.partner_authority,
            f"linkage-candidate:{candidate.id}", READ_TYPE, None, purpose, None,
            officer.actor, now,
        )  # fmt: skip
        identifiers = identifiers_of({"national_id": citizen.national_id})
        record_subjects(uow.session, node.subject_key, facts, [Subject(identifiers, SHOWN)])
        record(uow.session, events.personal_data_shown(
            at=now, actor=officer.actor, authority=candidate.authority, purpose=purpose,
            subject_hash=subject_hash(node.subject_key, identifiers[0]),
            reference=f"linkage-candidate:{candidate.id}",
        ))  # fmt: skip
    uow.commit()
    return CandidateView(candidate, run_case.partner_authority, purpose, shown, may_see)


def dismiss_candidate(
    uow: UnitOfWork, officer: Officer, candidate_id: int, *, reason: str, now: datetime
) -> None:
    """The officer dismisses the candidate, saying why; nothing leaves the node."""
    candidate = load_candidate(uow.session, candidate_id, deciding=True)
    require(officer, Action.CREATE_REQUEST, candidate.authority)
    candidate.state = decide(CandidateState(candidate.state), CandidateEvent.DISMISS)
    candidate.reason = dismissal_reason(reason)
    candidate.decided_by, candidate.decided_at = officer.actor, now
    record(uow.session, events.analysis(
        at=now, actor=officer.actor, authority=candidate.authority,
        reference=f"linkage-candidate:{candidate.id}:dismiss",
    ))  # fmt: skip
    uow.commit()


def verification_request(
    agreement: Agreement, purpose: str, run_id: str, pair_id: str, citizen: CitizenRow, *,
    legal_basis: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The citizenship-verification request a candidate opens: our record's Latin names and
    birth date, the pair id, and the run as its legal basis unless the officer gives one."""
    article = agreement.purposes[purpose].article
    person = {name: getattr(citizen, name) for name in ASKED_WITH}
    body = CitizenshipVerificationRequest(
        purpose=purpose,
        legal_basis=legal_basis or f"{agreement.id}, {article}: record-linkage run {run_id}",
        persons=[person],  # validated into PersonIdentifiers
        linkage_pair_id=pair_id,
    )
    return json.loads(body.model_dump_json(exclude_none=True))  # type: ignore[no-any-return]


def request_verification(
    uow: UnitOfWork, node: NodeContext, officer: Officer, candidate_id: int, *, now: datetime,
    legal_basis: str | None = None, pair_id: str | None = None,
) -> Opened:  # fmt: skip
    """Opens the citizenship-verification request to the run's partner, pre-filled from our
    own register and quoting the pair: screened and sent through casework's path, the
    candidate marked requested with its case, in one commit. `pair_id`, when given, is the
    pair the officer was shown: CandidateInvalid if the candidate is another's."""
    session = uow.session
    candidate = load_candidate(session, candidate_id, deciding=True)
    require(officer, Action.CREATE_REQUEST, candidate.authority)
    require(officer, Action.SEND_REQUEST, candidate.authority)
    if pair_id is not None and pair_id != candidate.pair_id:
        raise CandidateInvalid("the candidate is not the pair the officer was shown")
    state = decide(CandidateState(candidate.state), CandidateEvent.REQUEST)
    citizen = _citizen(session, candidate.national_id)
    if citizen is None:
        raise CandidateInvalid("the candidate's record is no longer in the citizens' register")
    run_case = load_case(uow, candidate.run_case_id)
    proposal = _run_proposal(uow, run_case)
    agreement = node.agreements[candidate.agreement_id]
    body = verification_request(agreement, proposal.purpose, proposal.run_id,
                                candidate.pair_id, citizen, legal_basis=legal_basis)  # fmt: skip
    command = OpenRequest(agreement.id, candidate.authority, run_case.partner_authority,
                          REQUEST_TYPE, body, officer.actor)  # fmt: skip
    opened = open_case(uow, node, command, now)
    candidate.state, candidate.request_case_id = state, opened.case_id
    candidate.decided_by, candidate.decided_at = officer.actor, now
    record(session, events.analysis(
        at=now, actor=officer.actor, authority=candidate.authority,
        reference=f"linkage-candidate:{candidate.id}:request:{opened.case_id}",
    ))  # fmt: skip
    uow.commit()
    return opened


# ---------------------------------------------------------------- casework's hooks


def partner_asked(
    session: Session, agreement: Agreement, sender: str, body: Any, *, message_id: str,
    case_id: str, now: datetime,
) -> None:  # fmt: skip
    """Filing hook of a citizenship-verification request: one quoting a pair of a run with
    its sender links our own candidate of that pair, if we have one still open, to the
    incoming case. Anything else files as usual: a pair we do not hold is no fault of the
    request's."""
    pair_id = getattr(body, "linkage_pair_id", None)
    if not isinstance(body, CitizenshipVerificationRequest) or pair_id is None:
        return
    candidate = session.scalars(
        select(CandidateRow)
        .join(CaseRow, CaseRow.id == CandidateRow.run_case_id)
        .where(CandidateRow.agreement_id == agreement.id, CandidateRow.pair_id == pair_id,
               CaseRow.partner_authority == sender)
        .order_by(CandidateRow.id)
    ).first()  # fmt: skip
    if candidate is None or not allowed(CandidateState(candidate.state), CandidateEvent.REQUEST):
        return
    candidate.state = decide(CandidateState(candidate.state), CandidateEvent.REQUEST)
    candidate.request_case_id = case_id
    candidate.decided_by, candidate.decided_at = f"partner:{sender}", now
    record(session, events.analysis(
        at=now, actor=f"partner:{sender}", authority=candidate.authority,
        reference=f"linkage-candidate:{candidate.id}:asked:{case_id}",
    ))  # fmt: skip


def _close(
    session: Session, case_id: str, reply: CitizenshipVerificationReply, *, actor: str,
    now: datetime,
) -> None:  # fmt: skip
    finding = next((r for r in reply.results if r.person == 0), None)
    if finding is None:
        return
    candidates = session.scalars(
        select(CandidateRow).where(CandidateRow.request_case_id == case_id,
                                   CandidateRow.state == CandidateState.REQUESTED)
    )  # fmt: skip
    for candidate in candidates:
        candidate.state = decide(CandidateState(candidate.state), CandidateEvent.CLOSE)
        candidate.outcome = outcome_of(finding.holds)
        candidate.decided_at = now
        record(session, events.analysis(
            at=now, actor=actor, authority=candidate.authority,
            reference=f"linkage-candidate:{candidate.id}:closed:{candidate.outcome}",
        ))  # fmt: skip


def reply_filed(
    session: Session, agreement: Agreement, sender: str, body: Any, *, message_id: str,
    case_id: str, now: datetime,
) -> None:  # fmt: skip
    """Filing hook of a citizenship-verification reply: the partner's formal answer closes
    the candidate whose request it answers, with its outcome."""
    if isinstance(body, CitizenshipVerificationReply):
        _close(session, case_id, body, actor=f"partner:{sender}", now=now)


def reply_sent(
    session: Session, case_id: str, our_authority: str, body: Any, *, now: datetime
) -> None:
    """Sending hook of a citizenship-verification reply: our formal answer to a request
    quoting one of our pairs closes our candidate of it too."""
    if isinstance(body, CitizenshipVerificationReply):
        _close(session, case_id, body, actor=our_authority, now=now)
