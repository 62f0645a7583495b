"""Use cases of the channel leads: show a lead card (a read of personal data, recorded),
dismiss a lead with a reason, open it as a request, and forget the members whose records
have left the registers. The run that finds the leads is `channels.runs`.

Each is one unit of work that checks the analyst's permission, writes its change and its
audit leaf, and commits once. Opening a lead sends nothing itself: the request goes through
casework's own path (`casework.service.open_case`: screening, the outgoing gate, the
ledger), in the same transaction as the lead's decision.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Delete, Update, delete, exists, func, select, update
from sqlalchemy.orm import Session

from migrex.agreements import Agreement
from migrex.audit import events, subject_hash
from migrex.audit.pending import record
from migrex.casework.context import NodeContext
from migrex.casework.onward import OnwardTransferRefused, Originator, check_onward_transfer
from migrex.casework.service import Opened, OpenRequest, open_case
from migrex.channels import model
from migrex.channels.tables import (
    ChannelRunRow,
    LeadEdgeRow,
    LeadEntityRow,
    LeadMemberRow,
    LeadRow,
)
from migrex.db import begin_writing
from migrex.ledger.service import MessageFacts, record_subjects
from migrex.ledger.subjects import Subject, identifiers_of
from migrex.officers.model import Action, Officer, require
from migrex.registry.tables import PersonPresentRow
from migrex.retention.tables import RetentionKeyRow
from migrex.uow import UnitOfWork

# What a lead card shows of each member, as the ledger names it; the members the pre-filled
# request names are shown with their citizenship and document too.
CARD_FIELDS = ("record_id", "entry_date", "entry_point", "registration_address",
               "inviting_party", "employer_name", "violations")  # fmt: skip
REQUEST_SHOWN = ("citizenship", "document_type", "document_number")
LEAD_MESSAGE_TYPE = "channel-lead"


def origin_of(originator: Originator) -> str:
    """Whose data: "STATE/authority", as a lead keeps it."""
    return f"{originator.state}/{originator.authority}"


def origins_of(lead: LeadRow) -> list[Originator]:
    """Whose data the lead rests on besides our registers: it may go back there only."""
    return [Originator(*o.split("/", 1)) for o in (lead.partner_origins or "").split(",") if o]


def edge_source(edge: LeadEdgeRow) -> str:
    """Where a kept edge was read, as a card says it: "register: KZ, 2024-03-01" for our
    own registers; "partner: AM, am-mcs, message M, case C, 2024-05-02; kept until
    2029-05-02; back to AM only" for what a partner sent."""
    when = edge.read_on.isoformat() if edge.read_on else "date unknown"
    if not edge.partner_data:
        return f"register: {edge.state}, {when}"
    until = f"kept until {edge.expires_at:%Y-%m-%d}" if edge.expires_at else "retention unknown"
    return (f"partner: {edge.state}, {edge.origin_authority}, message {edge.message_id}, "
            f"case {edge.case_id}, {when}; {until}; back to {edge.state} only")  # fmt: skip


@dataclass(frozen=True)
class Target:
    """Whom a lead may be opened to: a partner authority under an agreement with the purpose."""

    agreement_id: str
    recipient: str
    partner_state: str

    @property
    def value(self) -> str:
        return f"{self.agreement_id}/{self.recipient}"


def targets(agreements: Mapping[str, Agreement], sender: str) -> list[Target]:
    """Every partner `sender` may send a person inquiry to under the channels purpose."""
    found = []
    for agreement in sorted(agreements.values(), key=lambda a: a.id):
        if model.PURPOSE not in agreement.purposes or sender not in agreement.authorities:
            continue
        for recipient in agreement.authorities.values():
            if agreement.may_send(model.REQUEST_CATEGORY, sender, recipient.id):
                found.append(Target(agreement.id, recipient.id, recipient.state))
    return found


@dataclass(frozen=True)
class LeadCardView:
    lead: LeadRow
    run: ChannelRunRow
    members: list[LeadMemberRow]
    entities: list[LeadEntityRow]
    edges: list[LeadEdgeRow]
    breakdown: dict[str, Any]
    benign: list[str]
    not_used: list[str]
    targets: list[Target]
    target: Target | None
    request: dict[str, Any] | None  # the pre-filled request to `target`; None when no one fits
    request_problem: str | None = None
    asked_records: list[str] = field(default_factory=list)


def card_json(view: LeadCardView) -> dict[str, Any]:
    """The card as `migrex channels show --json` prints it and the API returns it: record
    ids, entities, figures and every edge's source; no name or document."""
    entities = [{"position": e.position, "kind": e.kind, "label": e.label,
                 "members_linked": e.members_linked, "degree": e.degree,
                 "sources": e.sources.split(",")} for e in view.entities]  # fmt: skip
    return {
        "lead": view.lead.id, "run": view.run.id, "rank": view.lead.rank,
        "score": view.lead.score, "state": view.lead.state, "case": view.lead.case_id,
        "partner_data": view.lead.partner_data,
        "partner_origins": [f"{o.state}/{o.authority}" for o in origins_of(view.lead)],
        "onward_transfer": ("back to the partner's state only" if view.lead.partner_data
                            else None),
        "breakdown": view.breakdown,
        "members": [{"record_id": m.record_id, "violator": m.violator,
                     "violation_from": m.violation_origin} for m in view.members],
        "shared_entities": entities,
        "edges": [{"record_id": e.record_id, "entity": e.position,
                   "sources": e.sources.split(","), "state": e.state,
                   "read_on": e.read_on.isoformat() if e.read_on else None,
                   "partner_data": e.partner_data, "source": edge_source(e)}
                  for e in view.edges],
        "benign_explanations": view.benign, "signals_not_used": view.not_used,
        "request_to": view.target.value if view.target else None,
        "request_members": view.asked_records,
        "request_fields": (view.request or {}).get("requested_fields", []),
        "request_problem": view.request_problem,
    }  # fmt: skip


def load_lead(
    session: Session, lead_id: str, *, deciding: bool = False
) -> tuple[LeadRow, ChannelRunRow]:
    """The lead and its run; LeadNotFound for none. `deciding` holds the lead until the
    transaction ends and reads it afresh: of two decisions at once (an analyst's double click
    on Open) both found it undecided, and each opened a case and sent the partner a request."""
    if not model.LEAD_ID.match(lead_id):
        raise model.LeadNotFound(f"no lead {lead_id}")
    if deciding:
        begin_writing(session)  # SQLite: its one write lock, which PostgreSQL's row lock is
    lead = session.get(LeadRow, lead_id, with_for_update=deciding, populate_existing=deciding)
    if lead is None:
        raise model.LeadNotFound(f"no lead {lead_id}")
    # A lead's run is its foreign key: it is there.
    return lead, session.get_one(ChannelRunRow, lead.run_id)


def _identities(session: Session, records: Sequence[str]) -> dict[str, PersonPresentRow]:
    """The members still in the register (a record removed since the run is left out)."""
    rows = session.scalars(select(PersonPresentRow).where(PersonPresentRow.record_id.in_(records)))
    return {r.record_id: r for r in rows}


def _may_go(lead: LeadRow, run_row: ChannelRunRow, target: Target) -> bool:
    """Whether the lead may be opened to `target`: always, unless it rests on data a
    partner sent and `target` is of a third state (`casework.onward`)."""
    try:
        check_onward_transfer(origins_of(lead), target.partner_state, own_state=run_row.state)
    except OnwardTransferRefused:
        return False
    return True


def _prefill(
    agreements: Mapping[str, Agreement], lead: LeadRow, members: Sequence[LeadMemberRow],
    persons: Mapping[str, PersonPresentRow], target: Target,
) -> tuple[dict[str, Any] | None, str | None, list[str]]:  # fmt: skip
    """The pre-filled request, or why there is none, and the records it names."""
    found = [
        model.Member(m.record_id, m.violator, p.citizenship, p.document_type, p.document_number)
        for m in members
        if (p := persons.get(m.record_id)) is not None
    ]
    try:
        body = model.minimal_request(
            agreements[target.agreement_id],
            lead.id,
            found,
            partner_states=[o.state for o in origins_of(lead)],
        )
    except model.NoMemberToAsk as error:
        return None, str(error), []
    return body, None, [m.record_id for m in model.members_to_ask(found)]


def show_lead(
    uow: UnitOfWork, node: NodeContext, officer: Officer, lead_id: str, *, now: datetime,
    target: str | None = None,
) -> LeadCardView:  # fmt: skip
    """The lead's card with its pre-filled request to `target` (the first partner when not
    given). The card names member records: each member shown is a ledger "read" row and an
    audit leaf under the analyst's name (G4, G5)."""
    session = uow.session
    lead, run_row = load_lead(session, lead_id)
    require(officer, Action.VIEW_LEADS, run_row.authority)
    members = list(session.scalars(
        select(LeadMemberRow).where(LeadMemberRow.lead_id == lead.id)
        .order_by(LeadMemberRow.record_id)
    ))  # fmt: skip
    entities = list(session.scalars(
        select(LeadEntityRow).where(LeadEntityRow.lead_id == lead.id)
        .order_by(LeadEntityRow.position)
    ))  # fmt: skip
    edges = list(session.scalars(
        select(LeadEdgeRow).where(LeadEdgeRow.lead_id == lead.id)
        .order_by(LeadEdgeRow.position, LeadEdgeRow.record_id)
    ))  # fmt: skip
    every = targets(node.agreements, run_row.authority)
    offered = [t for t in every if _may_go(lead, run_row, t)]
    chosen = next((t for t in offered if t.value == target), offered[0] if offered else None)
    persons = _identities(session, [m.record_id for m in members])
    nobody = ("no partner takes this purpose" if not every else
              "the lead rests on data a partner sent: it may go back to that state only, and "
              "no partner of that state takes this purpose")  # fmt: skip
    body, problem, asked = (_prefill(node.agreements, lead, members, persons, chosen)
                            if chosen else (None, nobody, []))  # fmt: skip
    _record_card_read(session, node, lead, run_row, target=chosen, persons=persons,
                      asked=set(asked), reader=officer.actor, now=now)  # fmt: skip
    uow.commit()
    return LeadCardView(
        lead, run_row, members, entities, edges, json.loads(lead.breakdown),
        json.loads(lead.benign), json.loads(lead.not_used), offered, chosen, body, problem, asked,
    )  # fmt: skip


def _record_card_read(
    session: Session, node: NodeContext, lead: LeadRow, run_row: ChannelRunRow, *,
    target: Target | None, persons: Mapping[str, PersonPresentRow], asked: set[str],
    reader: str, now: datetime,
) -> None:  # fmt: skip
    facts = MessageFacts(
        "read", target.agreement_id if target else "", run_row.authority,
        target.recipient if target else "", f"lead:{lead.id}", LEAD_MESSAGE_TYPE, None,
        model.PURPOSE, None, reader, now,
    )  # fmt: skip
    shown = []
    for record_id, person in sorted(persons.items()):
        identifiers = identifiers_of({"document_number": person.document_number,
                                      "national_id": person.national_id})  # fmt: skip
        fields = CARD_FIELDS + (REQUEST_SHOWN if record_id in asked else ())
        shown.append(Subject(identifiers, fields))
    shown = [s for s in shown if s.identifiers]
    record_subjects(session, node.subject_key, facts, shown)
    for subject in shown:
        record(session, events.personal_data_shown(
            at=now, actor=reader, authority=run_row.authority, purpose=model.PURPOSE,
            subject_hash=subject_hash(node.subject_key, subject.identifiers[0]),
            reference=f"lead:{lead.id}",
        ))  # fmt: skip


def dismiss_lead(
    uow: UnitOfWork, officer: Officer, lead_id: str, *, reason: str, now: datetime
) -> None:
    """The analyst dismisses the lead, saying why; nothing leaves the node."""
    lead, run_row = load_lead(uow.session, lead_id, deciding=True)
    require(officer, Action.DECIDE_LEAD, run_row.authority)
    lead.state = model.decide(model.LeadState(lead.state), model.LeadEvent.DISMISS)
    lead.reason = model.dismissal_reason(reason)
    lead.decided_by, lead.decided_at = officer.actor, now
    record(uow.session, events.analysis(at=now, actor=officer.actor, authority=run_row.authority,
                                        reference=f"lead:{lead.id}:dismiss"))  # fmt: skip
    uow.commit()


def open_lead(
    uow: UnitOfWork, node: NodeContext, officer: Officer, lead_id: str, *, target: str,
    now: datetime,
) -> Opened:  # fmt: skip
    """Opens the lead as its pre-filled minimal request to `target` ("agreement/recipient"):
    screened and sent through casework's path, the lead marked opened with its case, all in
    one commit. The analyst must also be allowed to create and send requests."""
    session = uow.session
    lead, run_row = load_lead(session, lead_id, deciding=True)
    sender = run_row.authority
    require(officer, Action.DECIDE_LEAD, sender)
    require(officer, Action.CREATE_REQUEST, sender)
    require(officer, Action.SEND_REQUEST, sender)
    state = model.decide(model.LeadState(lead.state), model.LeadEvent.OPEN)
    chosen = next((t for t in targets(node.agreements, sender) if t.value == target), None)
    if chosen is None:
        raise model.NoPartner(f"{sender} may not ask {target} under the channels purpose")
    # G3: a lead built on what a partner sent goes back to that partner's state only.
    check_onward_transfer(origins_of(lead), chosen.partner_state, own_state=run_row.state)
    members = list(session.scalars(select(LeadMemberRow).where(LeadMemberRow.lead_id == lead.id)))
    persons = _identities(session, [m.record_id for m in members])
    body, problem, _ = _prefill(node.agreements, lead, members, persons, chosen)
    if body is None:
        raise model.NoMemberToAsk(problem or "no member to ask")
    command = OpenRequest(chosen.agreement_id, sender, chosen.recipient, model.REQUEST_TYPE,
                          body, officer.actor)  # fmt: skip
    opened = open_case(uow, node, command, now)
    lead.state, lead.case_id = state, opened.case_id
    lead.decided_by, lead.decided_at = officer.actor, now
    record(session, events.analysis(at=now, actor=officer.actor, authority=sender,
                                    reference=f"lead:{lead.id}:open:{opened.case_id}"))  # fmt: skip
    uow.commit()
    return opened


@dataclass(frozen=True)
class Forgotten:
    """What one pass of `forget_departed` erased: counts only."""

    members: int
    edges: int
    entities: int
    leads_deleted: int
    partner_flags: int = 0  # violations known only from a partner, taken off as it expired

    @property
    def total(self) -> int:
        return self.members + self.edges + self.entities + self.leads_deleted + self.partner_flags


FORGETTING_ACTOR = "channels"


def _departed(record_id: Any) -> Any:
    """True where `record_id` names no record of the persons-present register."""
    return ~exists().where(PersonPresentRow.record_id == record_id)


def forget_departed(uow: UnitOfWork, now: datetime, *, actor: str = FORGETTING_ACTOR) -> Forgotten:
    """Erases from every kept lead what names a record no longer in the node's registers
    (G7: once a record's retention ends, no copy of it stays readable): its member rows,
    its edges, and the shared entities no remaining member links to (their labels and keys
    were read from the records that left). And what a partner sent whose retention has ended
    (`partner`): see `_forget_partner_data`.

    An undecided lead left with fewer members than a run ever keeps (`model.MIN_PERSONS`)
    is deleted whole, with its entities: it is no longer what a run would call a lead, no
    analyst has decided anything on it, and the next run finds again whatever the remaining
    records still show. A decided lead (opened or dismissed) stays with its decision, the
    analyst, the time, the reason and the case it opened, for accountability, but loses the
    members that left like any other. A lead's member and violator counts follow its rows.

    One erasure leaf, counts only, when anything was erased; one commit. The caller is the
    node itself (the channels job, `migrex channels forget`): nothing here is an analyst's
    decision, so no officer is asked for."""
    session = uow.session
    touched = set(session.scalars(
        select(LeadMemberRow.lead_id).where(_departed(LeadMemberRow.record_id)).distinct()
    )) | set(session.scalars(
        select(LeadEdgeRow.lead_id).where(_departed(LeadEdgeRow.record_id)).distinct()
    ))  # fmt: skip
    members = edges = entities = deleted = 0
    if touched:
        members = _deleted(session, delete(LeadMemberRow).where(
            _departed(LeadMemberRow.record_id)))  # fmt: skip
        edges = _deleted(session, delete(LeadEdgeRow).where(_departed(LeadEdgeRow.record_id)))
    for lead in session.scalars(select(LeadRow).where(LeadRow.id.in_(sorted(touched)))):
        left = session.scalar(select(func.count()).where(LeadMemberRow.lead_id == lead.id)) or 0
        if lead.state == model.LeadState.NEW and left < model.MIN_PERSONS:
            entities += _delete_lead(session, lead)
            deleted += 1
            continue
        entities += _settle(session, lead)
    partner = _forget_partner_data(session, now)
    forgotten = Forgotten(members, edges + partner.edges, entities + partner.entities,
                          deleted + partner.leads_deleted, partner.partner_flags)  # fmt: skip
    if not forgotten.total:
        return forgotten
    reference = (f"channels-forgotten:members={members}:edges={forgotten.edges}:"
                 f"entities={forgotten.entities}:leads-deleted={forgotten.leads_deleted}:"
                 f"partner-flags={partner.partner_flags}")  # fmt: skip
    record(session, events.forgotten(at=now, actor=actor, reference=reference))
    uow.commit()
    return forgotten


def _settle(session: Session, lead: LeadRow) -> int:
    """After some of a kept lead's rows went: its entities no edge links to go too (how many
    is returned), and its counts and partner marks follow what is left."""
    linked = select(LeadEdgeRow.position).where(LeadEdgeRow.lead_id == lead.id)
    gone = _deleted(session, delete(LeadEntityRow).where(
        LeadEntityRow.lead_id == lead.id, LeadEntityRow.position.not_in(linked)
    ))  # fmt: skip
    lead.members = session.scalar(
        select(func.count()).where(LeadMemberRow.lead_id == lead.id)) or 0  # fmt: skip
    lead.violators = session.scalar(select(func.count()).where(
        LeadMemberRow.lead_id == lead.id, LeadMemberRow.violator.is_(True)
    )) or 0  # fmt: skip
    origins = {o for o in session.scalars(select(LeadMemberRow.violation_origin).where(
        LeadMemberRow.lead_id == lead.id, LeadMemberRow.violation_origin.is_not(None)
    )) if o} | {f"{state}/{authority}" for state, authority in session.execute(
        select(LeadEdgeRow.state, LeadEdgeRow.origin_authority).where(
            LeadEdgeRow.lead_id == lead.id, LeadEdgeRow.partner_data.is_(True))
    )}  # fmt: skip
    lead.partner_data = bool(origins)
    lead.partner_origins = ",".join(sorted(origins)) or None
    return gone


def _expired(message_id: Any, now: datetime) -> Any:
    """True where `message_id` names a received message no longer kept: its data key
    erased, its retention over, or no key at all."""
    return ~exists().where(
        RetentionKeyRow.record == message_id,
        RetentionKeyRow.wrapped_key.is_not(None),
        RetentionKeyRow.expires_at > now,
    )


def _forget_partner_data(session: Session, now: datetime) -> Forgotten:
    """Kept leads forget what a partner sent once that message's retention ends (G7): a
    lead still undecided rests on data that is gone, so it goes whole (the next run finds
    again what our registers show); a decided one keeps its decision and loses the edges
    the message gave and the violations it alone reported. Counts: edges and entities
    erased, undecided leads deleted, and violation marks taken off."""
    edge_gone = LeadEdgeRow.message_id.is_not(None) & _expired(LeadEdgeRow.message_id, now)
    flag_gone = LeadMemberRow.violation_message.is_not(None) & _expired(
        LeadMemberRow.violation_message, now)  # fmt: skip
    touched = set(session.scalars(select(LeadEdgeRow.lead_id).where(edge_gone).distinct())) | set(
        session.scalars(select(LeadMemberRow.lead_id).where(flag_gone).distinct()))  # fmt: skip
    if not touched:
        return Forgotten(0, 0, 0, 0)
    entities = deleted = 0
    for lead in session.scalars(select(LeadRow).where(
            LeadRow.id.in_(sorted(touched)), LeadRow.state == model.LeadState.NEW)):  # fmt: skip
        entities += _delete_lead(session, lead)
        deleted += 1
    edges = _deleted(session, delete(LeadEdgeRow).where(edge_gone))
    flags = _updated(session, update(LeadMemberRow).where(flag_gone).values(
        violator=False, violation_message=None, violation_origin=None))  # fmt: skip
    for lead in session.scalars(select(LeadRow).where(LeadRow.id.in_(sorted(touched)))):
        entities += _settle(session, lead)
    return Forgotten(0, edges, entities, deleted, partner_flags=flags)


def _delete_lead(session: Session, lead: LeadRow) -> int:
    """Deletes the lead and all its card; returns how many entities went with it."""
    for table in (LeadMemberRow, LeadEdgeRow):
        _deleted(session, delete(table).where(table.lead_id == lead.id))
    entities = _deleted(session, delete(LeadEntityRow).where(LeadEntityRow.lead_id == lead.id))
    session.delete(lead)
    return entities


def _updated(session: Session, statement: Update) -> int:
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _deleted(session: Session, statement: Delete) -> int:
    """Runs a bulk delete of rows no one has loaded; returns how many went."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
