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
    # Texts stay in Arrow: a register of ten million has millions of addresses, and a
    # Python string for each would cost more than the whole matrix.
    entity_key: pa.ChunkedArray  # resolved key per column (text)
    entity_label: pa.ChunkedArray  # one spelling as a register wrote it ("" when none did)
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

    def key(self, column: int) -> str:
        return str(self.entity_key[int(column)].as_py())

    def label(self, column: int) -> str:
        return str(self.entity_label[int(column)].as_py())


Codes = npt.NDArray[np.int32]
NO_LABEL: Final = -1


@dataclass
class _Edges:
    """Edges of one kind before entities are numbered: each edge's key and label are
    indices into this group's distinct texts (the same key may appear under several
    spellings; numbering merges them)."""

    person: Codes
    key: Codes  # index into `keys`
    keys: pa.Array
    label: Codes  # index into `labels`, NO_LABEL when the register gave none
    labels: pa.Array
    source: int


def _days(column: pa.ChunkedArray | pa.Array) -> Days:
    parsed = pc.strptime(column, format="%Y-%m-%d", unit="s", error_is_null=True)
    days = pc.cast(pc.cast(parsed, pa.date32()), pa.int32())
    return np.asarray(days.fill_null(int(NO_DAY)), dtype=np.int32)


def _present(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.is_valid(column), dtype=bool)


def _encoded(column: pa.ChunkedArray | pa.Array, rows: Codes) -> tuple[pa.Array, Codes]:
    """The distinct texts at `rows` and each row's index among them: keys are made once
    per distinct spelling, not once per row."""
    encoded = pc.dictionary_encode(column.take(pa.array(rows))).combine_chunks()
    return encoded.dictionary, np.asarray(encoded.indices, np.int32)


def _rows(mask: npt.NDArray[np.bool_]) -> Codes:
    return np.flatnonzero(mask).astype(np.int32)


def _organisations(
    person: Codes,
    ids: pa.ChunkedArray,
    names: pa.ChunkedArray | None,
    src: int,
) -> _Edges:
    rows = _rows(_present(ids) & (person >= 0))
    # A BIN or taxpayer number is the register's own key; folding only drops spaces and
    # dashes an export may put in it.
    spellings, codes = _encoded(ids, rows)
    if names is None:
        labels, which = pa.array([], pa.string()), np.full(len(rows), NO_LABEL, np.int32)
    else:
        labels, which = _encoded(names.fill_null(""), rows)
    return _Edges(person[rows], codes, identifier_keys(spellings), which, labels, src)


def _addresses(persons: pa.Table) -> _Edges:
    column = persons["registration_address"]
    rows = _rows(_present(column))
    spellings, codes = _encoded(column, rows)
    return _Edges(rows, codes, address_keys(spellings), codes, spellings, Source.PERSONS_PRESENT)


def _windows(persons: pa.Table, entry: Days) -> _Edges:
    point = persons["entry_point"]
    rows = _rows(_present(point) & (entry != NO_DAY))
    points, point_code = _encoded(point, rows)
    week = (entry[rows].astype(np.int64) + WEEK_SHIFT) // 7
    windows, code = np.unique(point_code * 100_000 + week, return_inverse=True)
    monday = ((windows % 100_000) * 7 - WEEK_SHIFT).astype("datetime64[D]").astype(str)
    labels = pa.array(
        [f"{points[int(w // 100_000)]} week of {m}" for w, m in zip(windows, monday, strict=True)],
        pa.string(),
    )
    code = code.astype(np.int32)
    return _Edges(rows, code, labels, code, labels, Source.PERSONS_PRESENT)


def _documents(persons: pa.Table) -> list[_Edges]:
    """Each person's document windows: the issuing office (its spelling folded as an id's)
    and a four-week period of the issue date, twice, the periods of the second shifted by
    two weeks, so that a batch issued within a fortnight lies whole in one of them. None
    when the register has no such columns (they are an optional part of the contract)."""
    if not {"document_issuing_office", "document_issue_date"} <= set(persons.column_names):
        return []
    office = persons["document_issuing_office"]
    issued = _days(persons["document_issue_date"])
    rows = _rows(_present(office) & (issued != NO_DAY))
    spellings, code = _encoded(office, rows)
    keys, shown = identifier_keys(spellings).to_pylist(), spellings.to_pylist()
    found = []
    for shift in (0, ISSUE_PERIOD_DAYS // 2):
        period = (issued[rows].astype(np.int64) + shift) // ISSUE_PERIOD_DAYS
        windows, which = np.unique(code.astype(np.int64) * 1_000_000 + period,
                                   return_inverse=True)  # fmt: skip
        start = (windows % 1_000_000) * ISSUE_PERIOD_DAYS - shift
        first = start.astype("datetime64[D]").astype(str)
        offices = (windows // 1_000_000).astype(np.int64)
        key = pa.array([f"{keys[o]} {d}" for o, d in zip(offices, first, strict=True)])
        label = pa.array([f"{shown[o]}, issued in the 4 weeks from {d}"
                          for o, d in zip(offices, first, strict=True)])  # fmt: skip
        which = which.astype(np.int32)
        found.append(_Edges(rows, which, key, which, label, Source.PERSONS_PRESENT))
    return found


def _person_index(ids: pa.Array, column: pa.ChunkedArray) -> Codes:
    index = pc.index_in(column, value_set=ids)
    return np.asarray(index.fill_null(-1), dtype=np.int32)


def build_graph(registers: Registers) -> PersonEntityGraph:
    """The graph of these registers. Persons without a record id are left out; an
    employment or violation naming no person present adds no edge."""
    persons = registers.persons
    if persons["record_id"].null_count:  # a copy of the whole table only when one is needed
        persons = persons.filter(pc.is_valid(persons["record_id"]))
    ids = persons["record_id"].combine_chunks()
    n = len(ids)
    entry = _days(persons["entry_date"])
    everyone = np.arange(n, dtype=np.int32)
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
    # Arrow's allocator keeps what it freed for reuse; the matrices are NumPy's.
    pa.default_memory_pool().release_unused()
    graph = _assemble(ids, entry, violator, groups)
    del groups
    pa.default_memory_pool().release_unused()
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
    keys: list[pa.Array | pa.ChunkedArray] = []
    labels: list[pa.Array | pa.ChunkedArray] = []
    offset = 0
    for kind in EntityKind:
        mine = [edges for k, edges in groups if k is kind and len(edges.person)]
        if not mine:
            continue
        unique, code = _numbered(mine)
        rows.append(np.concatenate([e.person for e in mine]))
        cols.append(code + offset)
        masks.append(np.concatenate([np.full(len(e.key), e.source, np.int8) for e in mine]))
        kinds.append(np.full(len(unique), int(kind), dtype=np.int8))
        keys.append(unique)
        labels.append(_first_spelling(mine, code, len(unique)))
        offset += len(unique)
    row = np.concatenate(rows) if rows else np.array([], np.int32)
    col = np.concatenate(cols) if cols else np.array([], np.int32)
    mask = np.concatenate(masks) if masks else np.array([], np.int8)
    del rows, cols, masks
    sources = _sources(row, col, mask, (len(ids), offset))
    # The same pattern: its index arrays are shared, not copied (neither matrix is ever
    # changed in place), which saves 200 MB on ten million persons.
    adjacency = sp.csr_matrix(
        (np.ones(sources.nnz), sources.indices, sources.indptr), sources.shape
    )
    return PersonEntityGraph(
        person_ids=ids,
        entry_day=entry,
        violator=violator,
        entity_kind=np.concatenate(kinds) if kinds else np.array([], np.int8),
        entity_key=_texts(keys),
        entity_label=_texts(labels),
        adjacency=adjacency,
        sources=sources,
    )


def _texts(parts: list[pa.Array | pa.ChunkedArray]) -> pa.ChunkedArray:
    """One text per column, each kind's in its own chunks: joining them would copy every
    address."""
    chunks = [c for p in parts for c in (p.chunks if isinstance(p, pa.ChunkedArray) else [p])]
    return pa.chunked_array(chunks, pa.string())


def _numbered(edges: list[_Edges]) -> tuple[pa.Array, Codes]:
    """The distinct keys of these groups, and each edge's index among them: the groups'
    own distinct keys are merged, never one text per edge."""
    merged = pc.dictionary_encode(pa.concat_arrays([e.keys for e in edges]))
    index = np.asarray(merged.indices, np.int32)
    starts = np.cumsum([0] + [len(e.keys) for e in edges[:-1]])
    code = np.concatenate([index[start + e.key] for start, e in zip(starts, edges, strict=True)])
    # Entities numbered in the order the edges first name them, whatever the groups' own
    # order: the columns, and so every tie in peeling, follow the registers' rows.
    seen, first = np.unique(code, return_index=True)
    order = seen[np.argsort(first, kind="stable")]
    rank = np.empty(len(merged.dictionary), np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return merged.dictionary.take(pa.array(order)), rank[code]


def _first_spelling(edges: list[_Edges], code: Codes, n: int) -> pa.ChunkedArray:
    """Each entity's first spelling a register gave (a violation names an employer by id
    only; its name comes from the employment register)."""
    spellings = pa.chunked_array([e.labels for e in edges], pa.string())
    written = np.asarray(pc.fill_null(pc.greater(pc.binary_length(spellings), 0), False), bool)
    starts = np.cumsum([0] + [len(e.labels) for e in edges[:-1]])
    label = np.concatenate([
        np.where(e.label == NO_LABEL, NO_LABEL, start + e.label)
        for start, e in zip(starts, edges, strict=True)
    ])  # fmt: skip
    named = np.flatnonzero(label != NO_LABEL)
    named = named[written[label[named]]]
    entities, first = np.unique(code[named], return_index=True)
    chosen = np.full(n, -1, np.int64)
    chosen[entities] = label[named[first]]
    shown = spellings.take(pa.array(chosen, mask=chosen < 0))
    return pc.fill_null(shown, "")


def _sources(
    row: Codes, col: Codes, mask: npt.NDArray[np.int8], shape: tuple[int, int]
) -> sp.csr_matrix:
    """One edge per (person, entity), the bit masks of its sources or-ed: one 0/1 matrix
    per register, added."""
    sources = sp.csr_matrix(shape, dtype=np.int8)
    for source in Source:
        mine = mask == source
        if not mine.any():
            continue
        edges = sp.csr_matrix((np.ones(int(mine.sum()), np.int8), (row[mine], col[mine])), shape)
        edges.sum_duplicates()
        edges.data[:] = source
        sources = sources + edges
    sources.sort_indices()
    return sources
