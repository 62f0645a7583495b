"""The use case that finds the leads: a run over the node's registers (and what partners
sent that may still be kept) keeps every lead with its card and edges. Apart from the
leads' own use cases (`channels.service`) because it needs the graph's engines (Arrow,
SciPy's sparse matrices), which a node serving lead cards need not load.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from migrex.audit import events
from migrex.audit.pending import record
from migrex.casework.context import NodeContext
from migrex.channels import model
from migrex.channels.edges import lead_edges
from migrex.channels.graph import GRAPH_COLUMNS, PersonEntityGraph, Registers
from migrex.channels.partner import Provenance, partner_facts, partner_table
from migrex.channels.pipeline import run
from migrex.channels.scoring import HIGH_SCORE
from migrex.channels.service import origin_of
from migrex.channels.tables import ChannelRunRow, LeadEdgeRow, LeadEntityRow, LeadMemberRow, LeadRow
from migrex.officers.model import Action, Officer, require
from migrex.registry.bulk import read_text_table
from migrex.registry.columns import Kind
from migrex.registry.tables import ROWS
from migrex.uow import UnitOfWork

# The register columns a run reads: what persons share, never who they are.
READ_COLUMNS = GRAPH_COLUMNS


@dataclass(frozen=True)
class StoreRun:
    officer: Officer
    authority: str  # the hosted authority the analyst works for
    state: str  # the node's state, whose registers are read
    min_score: float = HIGH_SCORE


@dataclass(frozen=True)
class StoredRun:
    run_id: int
    persons: int
    leads: list[str]
    seconds: dict[str, float]


def node_registers(session: Session) -> Registers:
    """The node's registers as the graph reads them: only READ_COLUMNS, as text."""
    tables = {kind: read_text_table(session, ROWS[kind].__table__, columns)
              for kind, columns in READ_COLUMNS.items()}  # fmt: skip
    return Registers(tables[Kind.PERSONS_PRESENT], tables[Kind.EMPLOYMENT], tables[Kind.VIOLATIONS])


def store_run(
    uow: UnitOfWork, command: StoreRun, now: datetime, *, node: NodeContext | None = None
) -> StoredRun:
    """Analyses the node's registers and keeps every lead with its card and edges. With the
    node's context, what partners sent the authority and may still be kept is read too
    (`partner.partner_facts`), each of its edges with its provenance."""
    require(command.officer, Action.RUN_CHANNELS, command.authority)
    session = uow.session
    facts = partner_facts(uow, node, command.authority, now) if node is not None else []
    registers = replace(node_registers(session), partner=partner_table(facts) if facts else None)
    result = run(registers, min_score=command.min_score)
    own_violators = set(registers.violations["person_record_id"].to_pylist())
    reported: dict[str, Provenance] = {}
    for fact in facts:
        if fact.violation and fact.record_id not in own_violators:
            reported.setdefault(fact.record_id, fact.provenance)
    row = ChannelRunRow(
        authority=command.authority, state=command.state, actor=command.officer.actor, at=now,
        persons=result.graph.persons, leads=len(result.cards), min_score=command.min_score,
        seconds=json.dumps(result.seconds),
    )  # fmt: skip
    session.add(row)
    session.flush()
    ids = []
    for card in result.cards:
        lead = model.lead_id(row.id, card.rank)
        ids.append(lead)
        edges = lead_edges(result.graph, registers, card, command.state, facts)
        caught = _violators(result.graph, card.member_record_ids)
        told = {m: reported[m] for m in card.member_record_ids if m in reported and m in caught}
        origins = {origin_of(e.provenance.originator) for e in edges if e.provenance} | {
            origin_of(p.originator) for p in told.values()}  # fmt: skip
        breakdown = {"density": card.density, "violations": card.violations,
                     "burst": card.burst, "border_window": card.border_window,
                     "rank_among_size": card.rank_among_size}  # fmt: skip
        session.add(LeadRow(
            id=lead, run_id=row.id, rank=card.rank, score=card.score, members=card.members,
            violators=int(card.violations["violators"]), breakdown=json.dumps(breakdown),
            benign=json.dumps(card.benign_explanations),
            not_used=json.dumps(card.signals_not_used),
            partner_data=bool(origins), partner_origins=",".join(sorted(origins)) or None,
            state=model.LeadState.NEW,
        ))  # fmt: skip
        session.flush()
        session.add_all(
            LeadMemberRow(lead_id=lead, record_id=m, violator=m in caught,
                          violation_message=told[m].message_id if m in told else None,
                          violation_origin=origin_of(told[m].originator) if m in told else None)
            for m in card.member_record_ids
        )  # fmt: skip
        session.add_all(
            LeadEntityRow(lead_id=lead, position=i, kind=e.kind, key=e.key[:200],
                          label=e.label[:200], members_linked=e.members_linked, degree=e.degree,
                          sources=",".join(e.sources))
            for i, e in enumerate(card.shared_entities)
        )  # fmt: skip
        session.add_all(
            LeadEdgeRow(lead_id=lead, record_id=e.record_id, position=e.position,
                        sources=",".join(e.sources), state=e.state, read_on=e.read_on,
                        partner_data=e.partner_data,
                        message_id=e.provenance.message_id if e.provenance else None,
                        case_id=e.provenance.case_id if e.provenance else None,
                        origin_authority=e.provenance.authority if e.provenance else None,
                        expires_at=e.provenance.expires_at if e.provenance else None)
            for e in edges
        )  # fmt: skip
    reference = f"channels-run:{row.id}:{len(ids)}-leads"
    record(session, events.analysis(at=now, actor=command.officer.actor,
                                    authority=command.authority, reference=reference))  # fmt: skip
    uow.commit()
    return StoredRun(row.id, result.graph.persons, ids, result.seconds)


def _violators(graph: PersonEntityGraph, members: Sequence[str]) -> set[str]:
    rows = pc.index_in(pa.array(members, pa.string()), value_set=graph.person_ids).to_pylist()
    return {m for m, row in zip(members, rows, strict=True)
            if row is not None and bool(graph.violator[row])}  # fmt: skip
