"""The person × entity graph of one node's registers, as SciPy sparse matrices.

Rows are persons present; columns are the things two persons can share: a party (who
invited or employs them), a registration address (resolved, `resolution.address_key`), an entry
window (one crossing point in one ISO week) and, where the register gives them, a document
window (the office that issued the person's foreign document, in one four-week period: what
a document broker leaves in common). Every edge keeps which registers it came from, so a
lead can say where each link was read. Nationality, sex, age, names and document numbers
are never read: a channel is found from what its members share, not from who they are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from migrex.channels.resolution import address_keys, identifier_keys
from migrex.registry.columns import Kind

# The register columns the graph and the cards read: what persons share, never who they are.
GRAPH_COLUMNS: Final[dict[Kind, tuple[str, ...]]] = {
    Kind.PERSONS_PRESENT: ("record_id", "entry_date", "entry_point", "registration_address",
                           "inviting_party", "document_issue_date", "document_issuing_office"),
    Kind.EMPLOYMENT: ("person_record_id", "employer_id", "employer_name", "start_date"),
    Kind.VIOLATIONS: ("person_record_id", "inviting_party", "employer_id", "detected_on"),
}  # fmt: skip
Days = npt.NDArray[np.int32]
NO_DAY: Final = np.int32(np.iinfo(np.int32).min)
WEEK_SHIFT: Final = 3  # 1970-01-01 was a Thursday: (day + 3) // 7 counts weeks from Mondays
ISSUE_PERIOD_DAYS: Final = 28  # a broker's batch of documents, issued within a few weeks


class EntityKind(IntEnum):
    """What persons share. An inviting party and an employer are one kind, a party: the
    firm that invites its own workers is the lawful path, and counting it twice would make
    every workforce look as tight as a channel; the edge's sources tell the roles apart."""

    PARTY = 0  # who invited the person (persons present) or employs them (employment)
    ADDRESS = 1
    ENTRY_WINDOW = 2
    DOCUMENT_WINDOW = 3  # the document's issuing office and four-week period of issue

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


class Source(IntEnum):
    """The register an edge was read from; an edge's sources are a bit mask of these. For
    a party, persons present means it invited the person, employment that it employs them,
    violations that a violation named it."""

    PERSONS_PRESENT = 1
    EMPLOYMENT = 2
    VIOLATIONS = 4
    PARTNER = 8  # what a partner sent under the agreement (`partner`): its provenance applies


def source_names(mask: int) -> list[str]:
    return [s.name.lower() for s in Source if mask & s]


@dataclass(frozen=True)
class Registers:
    """The register tables the graph reads (every cell text, as `registry.files` reads
    them); employment and violations may be empty tables. `partner` holds what partners
    sent about persons of these registers (`partner.partner_table`), when any."""

    persons: pa.Table
    employment: pa.Table
    violations: pa.Table
    partner: pa.Table | None = None


@dataclass(frozen=True)
class PersonEntityGraph:
    person_ids: pa.Array  # record ids of persons present, row order
    entry_day: Days  # days since 1970-01-01, NO_DAY if unknown
    violator: npt.NDArray[np.bool_]  # the person has a detected violation
    entity_kind: npt.NDArray[np.int8]  # EntityKind per column
    entity_key: npt.NDArray[np.object_]  # resolved key per column
    entity_label: npt.NDArray[np.object_]  # one spelling as a register wrote it
    adjacency: sp.csr_matrix  # persons × entities, 1.0 per edge
    sources: sp.csr_matrix  # the same pattern, each edge's Source bit mask
    issue_day: Days | None = None  # the document's issue date, where the register gives it

    @property
    def persons(self) -> int:
        return int(self.adjacency.shape[0])

    @property
    def entities(self) -> int:
        return int(self.adjacency.shape[1])

    @property
    def edges(self) -> int:
        return int(self.adjacency.nnz)

    def entity_degree(self) -> npt.NDArray[np.int64]:
        return np.asarray(self.adjacency.getnnz(axis=0), dtype=np.int64)


@dataclass
class _Edges:
    """Edges of one kind before entities are numbered."""

    person: npt.NDArray[np.int64]
    key: npt.NDArray[np.object_]
    label: npt.NDArray[np.object_]
    source: int


def _days(column: pa.ChunkedArray | pa.Array) -> Days:
    parsed = pc.strptime(column, format="%Y-%m-%d", unit="s", error_is_null=True)
    days = pc.cast(pc.cast(parsed, pa.date32()), pa.int32())
    return np.asarray(days.fill_null(int(NO_DAY)), dtype=np.int32)


def _present(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.is_valid(column), dtype=bool)


def _encoded(
    column: pa.ChunkedArray | pa.Array, rows: npt.NDArray[np.int64]
) -> tuple[pa.Array, npt.NDArray[np.int64]]:
    """The distinct texts at `rows` and each row's index among them: keys are made once
    per distinct spelling, not once per row."""
    encoded = pc.dictionary_encode(column.take(pa.array(rows))).combine_chunks()
    return encoded.dictionary, np.asarray(encoded.indices, np.int64)


def _objects(texts: pa.Array) -> npt.NDArray[np.object_]:
    return np.asarray(texts.to_numpy(zero_copy_only=False), dtype=object)


def _organisations(
    person: npt.NDArray[np.int64],
    ids: pa.ChunkedArray,
    names: pa.ChunkedArray | None,
    src: int,
) -> _Edges:
    rows = np.flatnonzero(_present(ids) & (person >= 0))
    # A BIN or taxpayer number is the register's own key; folding only drops spaces and
    # dashes an export may put in it.
    spellings, codes = _encoded(ids, rows)
    keys = _objects(identifier_keys(spellings))[codes]
    if names is None:
        shown = np.full(len(rows), "", dtype=object)
    else:
        named, which = _encoded(names.fill_null(""), rows)
        shown = _objects(named)[which]
    return _Edges(person[rows], keys, shown, src)


def _addresses(persons: pa.Table) -> _Edges:
    column = persons["registration_address"]
    rows = np.flatnonzero(_present(column))
    spellings, codes = _encoded(column, rows)
    return _Edges(
        rows.astype(np.int64),
        _objects(address_keys(spellings))[codes],
        _objects(spellings)[codes],
        Source.PERSONS_PRESENT,
    )


def _windows(persons: pa.Table, entry: Days) -> _Edges:
    point = persons["entry_point"]
    rows = np.flatnonzero(_present(point) & (entry != NO_DAY))
    points, point_code = _encoded(point, rows)
    week = (entry[rows].astype(np.int64) + WEEK_SHIFT) // 7
    windows, code = np.unique(point_code * 100_000 + week, return_inverse=True)
    monday = ((windows % 100_000) * 7 - WEEK_SHIFT).astype("datetime64[D]").astype(str)
    labels = np.array(
        [f"{points[int(w // 100_000)]} week of {m}" for w, m in zip(windows, monday, strict=True)],
        dtype=object,
    )[code]
    return _Edges(rows.astype(np.int64), labels, labels, Source.PERSONS_PRESENT)


def _documents(persons: pa.Table) -> list[_Edges]:
    """Each person's document windows: the issuing office (its spelling folded as an id's)
    and a four-week period of the issue date, twice, the periods of the second shifted by
    two weeks, so that a batch issued within a fortnight lies whole in one of them. None
    when the register has no such columns (they are an optional part of the contract)."""
    if not {"document_issuing_office", "document_issue_date"} <= set(persons.column_names):
        return []
    office = persons["document_issuing_office"]
    issued = _days(persons["document_issue_date"])
    rows = np.flatnonzero(_present(office) & (issued != NO_DAY))
    spellings, code = _encoded(office, rows)
    keys, shown = _objects(identifier_keys(spellings)), _objects(spellings)
    found = []
    for shift in (0, ISSUE_PERIOD_DAYS // 2):
        period = (issued[rows].astype(np.int64) + shift) // ISSUE_PERIOD_DAYS
        windows, which = np.unique(code * 1_000_000 + period, return_inverse=True)
        start = (windows % 1_000_000) * ISSUE_PERIOD_DAYS - shift
        first = start.astype("datetime64[D]").astype(str)
        offices = (windows // 1_000_000).astype(np.int64)
        key = np.array([f"{keys[o]} {d}" for o, d in zip(offices, first, strict=True)], object)
        label = np.array([f"{shown[o]}, issued in the 4 weeks from {d}"
                          for o, d in zip(offices, first, strict=True)], dtype=object)  # fmt: skip
        found.append(_Edges(rows.astype(np.int64), key[which], label[which],
                            Source.PERSONS_PRESENT))  # fmt: skip
    return found


def _person_index(ids: pa.Array, column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    index = pc.index_in(column, value_set=ids)
    return np.asarray(index.fill_null(-1), dtype=np.int64)


def build_graph(registers: Registers) -> PersonEntityGraph:
    """The graph of these registers. Persons without a record id are left out; an
    employment or violation naming no person present adds no edge."""
    persons = registers.persons.filter(pc.is_valid(registers.persons["record_id"]))
    ids = persons["record_id"].combine_chunks()
    n = len(ids)
    entry = _days(persons["entry_date"])
    everyone = np.arange(n, dtype=np.int64)
    employment, violations = registers.employment, registers.violations
    at_work = _person_index(ids, employment["person_record_id"])
    caught = _person_index(ids, violations["person_record_id"])
    violator = np.zeros(n, dtype=bool)
    violator[caught[caught >= 0]] = True
    groups: list[tuple[EntityKind, _Edges]] = [
        (
            EntityKind.PARTY,
            _organisations(everyone, persons["inviting_party"], None, Source.PERSONS_PRESENT),
        ),
        (
            EntityKind.PARTY,
            _organisations(caught, violations["inviting_party"], None, Source.VIOLATIONS),
        ),
        (
            EntityKind.PARTY,
            _organisations(
                at_work, employment["employer_id"], employment["employer_name"], Source.EMPLOYMENT
            ),
        ),
        (
            EntityKind.PARTY,
            _organisations(caught, violations["employer_id"], None, Source.VIOLATIONS),
        ),
        (EntityKind.ADDRESS, _addresses(persons)),
        (EntityKind.ENTRY_WINDOW, _windows(persons, entry)),
    ]
    groups += [(EntityKind.DOCUMENT_WINDOW, edges) for edges in _documents(persons)]
    partner = registers.partner
    if partner is not None and partner.num_rows:
        # A partner's answer names the person's employer there, and whether it recorded a
        # violation: the same kinds of link as our registers', each edge marked as theirs.
        told = _person_index(ids, partner["person_record_id"])
        flagged = told[np.asarray(pc.is_valid(partner["violation"]), dtype=bool)]
        violator[flagged[flagged >= 0]] = True
        groups.append((EntityKind.PARTY, _organisations(
            told, partner["employer_id"], partner["employer_name"], Source.PARTNER)))  # fmt: skip
    graph = _assemble(ids, entry, violator, groups)
    if "document_issue_date" in persons.column_names:
        return replace(graph, issue_day=_days(persons["document_issue_date"]))
    return graph


def _assemble(
    ids: pa.Array,
    entry: Days,
    violator: npt.NDArray[np.bool_],
    groups: list[tuple[EntityKind, _Edges]],
) -> PersonEntityGraph:
    rows, cols, masks = [], [], []
    kinds: list[npt.NDArray[np.int8]] = []
    keys: list[npt.NDArray[np.object_]] = []
    labels: list[npt.NDArray[np.object_]] = []
    offset = 0
    for kind in EntityKind:
        mine = [edges for k, edges in groups if k is kind]
        key = np.concatenate([e.key for e in mine]) if mine else np.array([], dtype=object)
        if not len(key):
            continue
        encoded = pa.array(key, pa.string()).dictionary_encode()
        code = np.asarray(encoded.indices, dtype=np.int64)
        unique = np.array(encoded.dictionary.to_pylist(), dtype=object)
        label = np.concatenate([e.label for e in mine])
        rows.append(np.concatenate([e.person for e in mine]))
        cols.append(code + offset)
        masks.append(np.concatenate([np.full(len(e.key), e.source, np.int8) for e in mine]))
        kinds.append(np.full(len(unique), int(kind), dtype=np.int8))
        keys.append(unique)
        labels.append(_first_spelling(label, code, len(unique)))
        offset += len(unique)
    n = len(ids)
    row = np.concatenate(rows) if rows else np.array([], np.int64)
    col = np.concatenate(cols) if cols else np.array([], np.int64)
    mask = np.concatenate(masks) if masks else np.array([], np.int8)
    # One edge per (person, entity), its sources or-ed: one 0/1 matrix per register.
    shape = (n, offset)
    sources = sp.csr_matrix(shape, dtype=np.int8)
    for source in Source:
        mine = mask == source
        edges = sp.csr_matrix((np.ones(int(mine.sum()), np.int8), (row[mine], col[mine])), shape)
        edges.sum_duplicates()
        edges.data[:] = source
        sources = sources + edges
    sources.sort_indices()
    adjacency = sp.csr_matrix(
        (np.ones(sources.nnz), sources.indices.copy(), sources.indptr.copy()), shape
    )
    return PersonEntityGraph(
        person_ids=ids,
        entry_day=entry,
        violator=violator,
        entity_kind=np.concatenate(kinds) if kinds else np.array([], np.int8),
        entity_key=np.concatenate(keys) if keys else np.array([], object),
        entity_label=np.concatenate(labels) if labels else np.array([], object),
        adjacency=adjacency,
        sources=sources,
    )


def _first_spelling(
    label: npt.NDArray[np.object_], code: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.object_]:
    """Each entity's first spelling a register gave (a violation names an employer by id
    only; its name comes from the employment register)."""
    shown = np.full(n, "", dtype=object)
    named = np.flatnonzero(label != "")
    entities, first = np.unique(code[named], return_index=True)
    shown[entities] = label[named[first]]
    return shown
