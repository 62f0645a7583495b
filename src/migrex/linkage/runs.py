"""A linkage run as casework: one party proposes it, the other accepts or refuses it under the
agreement, and only then does either derive the run's key.

The proposal is a request of the agreement's `record-linkage` category: it opens a case,
passes screening (its fields must be among the agreement's linkage fields) and the outgoing
gate, which audits it, exactly as any request does; the partner's node files and screens it
as it files any request, and refuses it with the agreement's grounds (`casework.service.refuse`)
or accepts it here. The run's record is its case: the proposal, with the kids of the two keys
its key is derived from, is the case's opening message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrex.agreements import Agreement
from migrex.audit import events
from migrex.audit.pending import record
from migrex.casework.bodies import body_of
from migrex.casework.context import NodeContext, node_context
from migrex.casework.gate import as_json
from migrex.casework.lifecycle import CaseState, Direction
from migrex.casework.messages import (
    LinkageRunAcceptance,
    LinkageRunProposal,
    MessageInvalid,
    parse_body,
)
from migrex.casework.service import OpenRequest, open_request
from migrex.casework.steps import load_case, lock_case, opening_of, send_answer
from migrex.casework.tables import CaseMessageRow, CaseRow
from migrex.envelope import new_message_id
from migrex.errors import NotFound
from migrex.exchange.service import NotPermitted
from migrex.exchange.trust import Trust
from migrex.linkage.layout import DECOYS, LAYOUT, SALT, WINDOW
from migrex.linkage.run_keys import RunKeyIds, current_key_ids, derive_run_key
from migrex.node import Node
from migrex.retention.sealing import is_sealed
from migrex.uow import UnitOfWork

PROPOSAL, ACCEPTANCE = "linkage-run-proposal", "linkage-run-acceptance"
LINKAGE_CATEGORY = "record-linkage"
# The encoder a run uses and the parameters of its hardening, as the proposal names them: a
# party running another version would encode differently, so it is agreed, not assumed.
# 3: salted by birth date and sex, a decoy per record; 2: without decoys; 1: by birth year.
HARDENING_VERSION = "migrex-bloom/3"
HARDENING: dict[str, int | float | str] = {"bits": LAYOUT.bits, "date_window": WINDOW,
                                           "salt": SALT, "decoys_per_record": DECOYS}  # fmt: skip


@dataclass(frozen=True)
class LinkageNode:
    """What a linkage run needs of its node: casework's context and the node's keys and
    directories (to record and derive the run's key)."""

    casework: NodeContext
    trust: Trust


def linkage_node(node: Node, trust: Trust) -> LinkageNode:
    return LinkageNode(node_context(node), trust)


@dataclass(frozen=True)
class ProposeRun:
    """A run `proposer` (hosted here) proposes to `partner`; empty fields, no threshold and no
    candidates mean the agreement's own."""

    agreement_id: str
    proposer: str
    partner: str
    period_start: date
    period_end: date
    actor: str
    fields: Sequence[str] = ()
    threshold: float | None = None
    candidates_to: Sequence[str] = ()
    legal_basis: str | None = None


@dataclass(frozen=True)
class Proposed:
    case_id: str
    run_id: str
    message_id: str
    flags: list[str] = field(default_factory=list)


def proposal_for(
    agreement: Agreement, command: ProposeRun, run_id: str, key_ids: RunKeyIds
) -> LinkageRunProposal:
    """The proposal's body: the command's terms, the agreement's where the command gives
    none. NotPermitted when the agreement provides for no record linkage."""
    linkage = agreement.linkage
    if linkage is None:
        raise NotPermitted(f"{agreement.id} provides for no record linkage")
    return LinkageRunProposal(
        run_id=run_id,
        purpose=linkage.purpose,
        legal_basis=command.legal_basis,
        fields=list(command.fields) or sorted(linkage.fields),
        period_start=command.period_start,
        period_end=command.period_end,
        hardening_version=HARDENING_VERSION,
        hardening=HARDENING,
        threshold=linkage.threshold if command.threshold is None else command.threshold,
        candidates_to=list(command.candidates_to) or sorted(linkage.candidates_to),
        unit=linkage.unit,
        key_ids=dict(key_ids.kids),
    )


def propose_linkage_run(
    uow: UnitOfWork, node: LinkageNode, command: ProposeRun, now: datetime
) -> Proposed:
    """Opens the run's case and sends the proposal through screening and the gate; records
    the kids of our current key and of the partner's as its directory lists it now."""
    agreement = node.casework.agreements.get(command.agreement_id)
    if agreement is None:
        raise NotFound(f"this node has no agreement {command.agreement_id}")
    if command.proposer not in node.casework.hosted:
        raise NotPermitted(f"{command.proposer} is not an authority this node hosts")
    key_ids = current_key_ids(node.trust, agreement.id, command.proposer, command.partner, now)
    body = proposal_for(agreement, command, new_message_id(now), key_ids)
    request = OpenRequest(agreement.id, command.proposer, command.partner, PROPOSAL,
                          as_json(body), command.actor)  # fmt: skip
    opened = open_request(uow, node.casework, request, now)
    return Proposed(opened.case_id, body.run_id, opened.message_id, opened.flags)


@dataclass(frozen=True)
class Run:
    """A run as its case holds it."""

    case: CaseRow
    proposal: LinkageRunProposal

    @property
    def accepted(self) -> bool:
        return self.case.state == CaseState.ANSWERED


def run_of(uow: UnitOfWork, node: NodeContext, case_id: str) -> Run:
    """The run case `case_id` holds; NotFound for no case, MessageInvalid for a case that is
    no linkage run."""
    case = load_case(uow, case_id)
    return run_from(uow, node, case, opening_of(uow, case.id))


def run_from(uow: UnitOfWork, node: NodeContext, case: CaseRow, opening: CaseMessageRow) -> Run:
    """The run of `case`, whose opening message is `opening`; MessageInvalid unless that is a
    run's proposal."""
    if opening.type != PROPOSAL:
        raise MessageInvalid(f"case {case.id} is not a linkage run")
    proposal = parse_body(opening.type, body_of(uow, node, opening))
    if not isinstance(proposal, LinkageRunProposal):  # parse_body returns the type's model
        raise MessageInvalid(f"case {case.id} is not a linkage run")
    return Run(case, proposal)


def _key_ids(run: Run) -> RunKeyIds:
    return RunKeyIds(tuple(sorted(run.proposal.key_ids.items())))


def run_key(
    uow: UnitOfWork, node: LinkageNode, case_id: str, *, actor: str, now: datetime
) -> bytes:
    """The run's encoding key, once the run was accepted; each side derives it from its own
    recorded key and the partner's. Who derived it, for which run, is an audit entry (the
    key lets its holder encode the register). NotPermitted before acceptance; NotFound when
    the node no longer holds the recorded key."""
    run = run_of(uow, node.casework, case_id)
    if not run.accepted:
        raise NotPermitted(f"run {run.proposal.run_id} is {run.case.state}, not accepted")
    case = run.case
    key = derive_run_key(node.trust, case.agreement_id, case.our_authority,
                         case.partner_authority, run.proposal.run_id,
                         key_ids=_key_ids(run))  # fmt: skip
    record(uow.session, events.decision(at=now, actor=actor, authority=case.our_authority,
                                        case_id=case.id, event="derive-run-key",
                                        purpose=case.purpose))  # fmt: skip
    uow.commit()
    return key


@dataclass(frozen=True)
class Accepted:
    case_id: str
    run_id: str
    message_id: str


def accept_linkage_run(
    uow: UnitOfWork, node: LinkageNode, case_id: str, *, actor: str, now: datetime,
    remarks: str | None = None,
) -> Accepted:  # fmt: skip
    """Accepts a partner's proposed run: the case is answered and the acceptance sent. The
    node first derives the run's key, so it never accepts a run it cannot take part in (a
    kid it does not hold, a partner key its directory never listed)."""
    # Held while it is checked and answered: two acceptances at once both found the run in
    # review and each was sent (`lock_case`).
    lock_case(uow, case_id)
    run = run_of(uow, node.casework, case_id)
    case = run.case
    if case.direction != Direction.INCOMING:
        raise NotPermitted(f"case {case_id} is our own proposal: only the partner accepts it")
    derive_run_key(node.trust, case.agreement_id, case.our_authority, case.partner_authority,
                   run.proposal.run_id, key_ids=_key_ids(run))  # fmt: skip
    acceptance = LinkageRunAcceptance(run_id=run.proposal.run_id, remarks=remarks)
    message_id = send_answer(uow, node.casework, case, acceptance, actor=actor, now=now)
    uow.commit()
    return Accepted(case.id, run.proposal.run_id, message_id)


def acceptance_filed(
    session: Session, agreement: Agreement, sender: str, body: object, *, message_id: str,
    case_id: str, now: datetime,
) -> None:  # fmt: skip
    """Filing hook of a `linkage-run-acceptance`: it must accept the run its case proposed.
    An acceptance naming another run is quarantined, so the case is not taken as accepted
    and no key is derived for a run the partner never agreed to."""
    if not isinstance(body, LinkageRunAcceptance):
        return
    opening = session.scalars(
        select(CaseMessageRow)
        .where(CaseMessageRow.case_id == case_id, CaseMessageRow.type == PROPOSAL)
        .order_by(CaseMessageRow.at)
    ).first()  # fmt: skip
    # A proposal names no person: its copy is kept in clear (`casework.kinds`).
    proposal = None if opening is None or is_sealed(opening.body) else parse_body(
        PROPOSAL, json.loads(opening.body))  # fmt: skip
    if not isinstance(proposal, LinkageRunProposal):
        raise MessageInvalid(f"case {case_id} proposed no linkage run to accept")
    if proposal.run_id != body.run_id:
        raise MessageInvalid(
            f"the acceptance names run {body.run_id}; case {case_id} proposed {proposal.run_id}"
        )
