"""Each lead's member–entity edges, with where each was read: the register (or registers),
the state whose register it is, and the date the register gives the link (the entry date
for an invitation, an address or a crossing; the document's issue date for a document
window; the start of the employment spell; the day the violation naming the party was
detected). A link a partner sent is an edge of its own, one
per message, with that message's provenance (`partner.Provenance`): the partner's state, the
message and case, the day it was received, and when its retention ends.

Run once per stored run over the lead cards' members only, so a card's edges cost what the
card's size costs, not the register's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrex.channels.graph import (
    NO_DAY,
    EntityKind,
    PersonEntityGraph,
    Registers,
    Source,
    source_names,
)
from migrex.channels.partner import PartnerFact, Provenance, party_key
from migrex.channels.resolution import identifier_keys
from migrex.channels.scoring import LeadCard


@dataclass(frozen=True)
class Edge:
    record_id: str
    position: int  # the entity's place among the card's shared entities
    sources: tuple[str, ...]
    state: str
    read_on: date | None
    provenance: Provenance | None = None  # None: our own register

    @property
    def partner_data(self) -> bool:
        return self.provenance is not None


def _day(value: int) -> date | None:
    if value == NO_DAY:
        return None
    return date.fromordinal(date(1970, 1, 1).toordinal() + int(value))


def _earliest(
    table: pa.Table, members: pa.Array, party: str, day: str
) -> dict[tuple[str, str], date]:
    """(person record id, resolved party key) → the earliest `day` of a row naming both."""
    rows = table.filter(pc.is_in(table["person_record_id"], value_set=members))
    rows = rows.filter(pc.is_valid(rows[party]))
    if not rows.num_rows:
        return {}
    keys = identifier_keys(rows[party].combine_chunks()).to_pylist()
    found: dict[tuple[str, str], date] = {}
    for person, key, text in zip(rows["person_record_id"].to_pylist(), keys,
                                 rows[day].to_pylist(), strict=True):  # fmt: skip
        try:
            when = date.fromisoformat(text) if text else None
        except ValueError:
            when = None
        if when is not None and ((person, key) not in found or when < found[(person, key)]):
            found[(person, key)] = when
    return found


def _told(
    facts: Sequence[PartnerFact], members: set[str]
) -> dict[tuple[str, str], list[Provenance]]:
    """(person record id, resolved party key) → the messages a partner named that link in."""
    named = [f for f in facts if f.record_id in members and party_key(f)]
    keys = identifier_keys(pa.array([party_key(f) for f in named], pa.string())).to_pylist()
    told: dict[tuple[str, str], list[Provenance]] = {}
    for fact, key in zip(named, keys, strict=True):
        mine = told.setdefault((fact.record_id, key), [])
        if fact.provenance not in mine:
            mine.append(fact.provenance)
    return told


def lead_edges(
    graph: PersonEntityGraph, registers: Registers, card: LeadCard, state: str,
    facts: Sequence[PartnerFact] = (),
) -> list[Edge]:  # fmt: skip
    """The card's edges, member by member, in the order of its shared entities; `facts` are
    the partner data the graph was built with."""
    members = pa.array(card.member_record_ids, pa.string())
    rows = np.asarray(pc.index_in(members, value_set=graph.person_ids).fill_null(-1), np.int64)
    wanted = {(e.kind, e.key): i for i, e in enumerate(card.shared_entities)}
    employed = _earliest(registers.employment, members, "employer_id", "start_date")
    caught: dict[tuple[str, str], date] = {}
    for party in ("inviting_party", "employer_id"):
        for k, v in _earliest(registers.violations, members, party, "detected_on").items():
            caught[k] = min(v, caught.get(k, v))
    told = _told(facts, set(card.member_record_ids))
    edges = []
    for record_id, row in zip(card.member_record_ids, rows.tolist(), strict=True):
        if row < 0:
            continue
        start, end = graph.sources.indptr[row], graph.sources.indptr[row + 1]
        for column, mask in zip(graph.sources.indices[start:end].tolist(),
                                graph.sources.data[start:end].tolist(), strict=True):  # fmt: skip
            kind = EntityKind(int(graph.entity_kind[column]))
            key = graph.key(column)
            position = wanted.get((kind.label, key))
            if position is None:
                continue
            days = []
            if kind is EntityKind.DOCUMENT_WINDOW and graph.issue_day is not None:
                days.append(_day(int(graph.issue_day[row])))
            elif mask & Source.PERSONS_PRESENT:
                days.append(_day(int(graph.entry_day[row])))
            if kind is EntityKind.PARTY and mask & Source.EMPLOYMENT:
                days.append(employed.get((record_id, key)))
            if kind is EntityKind.PARTY and mask & Source.VIOLATIONS:
                days.append(caught.get((record_id, key)))
            known = [d for d in days if d is not None]
            own = int(mask) & ~Source.PARTNER
            if own:
                edges.append(Edge(record_id, position, tuple(source_names(own)), state,
                                  min(known) if known else None))  # fmt: skip
            if mask & Source.PARTNER:
                edges.extend(Edge(record_id, position, ("partner",), origin.state,
                                  origin.received_on, origin)
                             for origin in told.get((record_id, key), []))  # fmt: skip
    return sorted(edges, key=lambda e: (e.position, e.record_id))
