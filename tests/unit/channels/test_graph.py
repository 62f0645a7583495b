"""The person × entity graph: one column per resolved entity, edges that remember their
registers, and nothing read about who a person is."""

from __future__ import annotations

import pyarrow as pa

from migrex.channels.graph import NO_DAY, EntityKind, Registers, Source, build_graph


def _registers() -> Registers:
    persons = pa.table({
        "record_id": ["A", "B", "C", None],
        "entry_date": ["2024-03-04", "2024-03-06", "not a date", "2024-03-04"],
        "entry_point": ["ALA-AIRPORT", "ALA-AIRPORT", "KORDAI-ROAD", "ALA-AIRPORT"],
        "registration_address": ["г. Алматы, ул. Абая, д. 12, кв. 5",
                                 "Almaty, Abaya st. 12 apt 5", None, "x"],
        "inviting_party": ["990340000017", "990 340 000 017", None, "990340000017"],
        "citizenship": ["UZB", "UZB", "KGZ", "UZB"],
    })  # fmt: skip
    employment = pa.table({
        "person_record_id": ["A", "A", "Z"],
        "employer_id": ["990340000017", "990340000017", "111111111111"],
        "employer_name": ["ТОО «Нур Строй»", "ТОО «Нур Строй»", "Other LLP"],
    })  # fmt: skip
    violations = pa.table({
        "person_record_id": ["B", None],
        "inviting_party": [None, "990340000017"],
        "employer_id": ["220000000001", None],
    })  # fmt: skip
    return Registers(persons, employment, violations)


def test_spellings_of_one_party_and_one_flat_are_one_column_each() -> None:
    graph = build_graph(_registers())
    assert graph.person_ids.to_pylist() == ["A", "B", "C"]
    degree = graph.entity_degree()
    kinds = graph.entity_kind
    party = [e for e in range(graph.entities) if graph.key(e) == "990340000017"]
    assert len(party) == 1 and kinds[party[0]] == EntityKind.PARTY and degree[party[0]] == 2
    flats = [e for e in range(graph.entities) if kinds[e] == EntityKind.ADDRESS]
    assert len(flats) == 1 and degree[flats[0]] == 2
    assert graph.label(party[0]) == "ТОО «Нур Строй»"


def test_each_edge_keeps_its_registers() -> None:
    graph = build_graph(_registers())
    party = graph.entity_key.to_pylist().index("990340000017")
    # A was invited by the firm and is employed by it (twice: one edge); B only invited.
    assert graph.sources[0, party] == Source.PERSONS_PRESENT | Source.EMPLOYMENT
    assert graph.sources[1, party] == Source.PERSONS_PRESENT
    workplace = graph.entity_key.to_pylist().index("220000000001")
    assert graph.sources[1, workplace] == Source.VIOLATIONS
    assert graph.violator.tolist() == [False, True, False]
    assert graph.adjacency.max() == 1.0


def test_entry_windows_are_a_crossing_in_one_week() -> None:
    graph = build_graph(_registers())
    windows = [e for e in range(graph.entities) if graph.entity_kind[e] == EntityKind.ENTRY_WINDOW]
    assert [graph.label(e) for e in windows] == ["ALA-AIRPORT week of 2024-03-04"]
    assert graph.entry_day[2] == NO_DAY


def _with_documents() -> Registers:
    base = _registers()
    persons = base.persons.append_column(
        "document_issue_date", pa.array(["2024-03-01", "2024-03-13", "2024-03-02", "2024-03-01"])
    ).append_column(
        "document_issuing_office", pa.array(["UZB-0171", "uzb 0171", "UZB-0172", "UZB-0171"])
    )
    return Registers(persons, base.employment, base.violations)


def test_document_windows_join_one_office_within_a_fortnight() -> None:
    graph = build_graph(_with_documents())
    windows = [e for e in range(graph.entities)
               if graph.entity_kind[e] == EntityKind.DOCUMENT_WINDOW]  # fmt: skip
    dense = graph.adjacency.toarray()
    # A and B (one office, spelled two ways, twelve days apart) share a window; C's office
    # is another; every person with a document is in two windows (shifted by two weeks).
    assert any(dense[0, e] and dense[1, e] for e in windows)
    assert not any(dense[2, e] and (dense[0, e] or dense[1, e]) for e in windows)
    assert [int(dense[p, windows].sum()) for p in range(3)] == [2, 2, 2]
    assert all("issued in the 4 weeks from" in graph.label(e) for e in windows)


def test_a_register_without_document_columns_has_no_document_window() -> None:
    graph = build_graph(_registers())
    assert EntityKind.DOCUMENT_WINDOW not in set(graph.entity_kind.tolist())
