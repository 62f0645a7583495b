"""The rules of a kept lead, without a database: decisions are final, a dismissal says why,
and the request a lead opens is minimal (violators only, by document only, the purpose's
profile fields only); and each edge of a card says where and when it was read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from migrex.agreements import load_agreement
from migrex.channels import model
from migrex.channels.edges import lead_edges
from migrex.channels.graph import EntityKind, Registers, build_graph
from migrex.channels.scoring import LeadCard, SharedEntity

KZ_AM = load_agreement(Path(__file__).parents[3] / "agreements" / "kz-am-2024.toml")


@pytest.mark.parametrize("event", list(model.LeadEvent))
def test_a_new_lead_is_decided_once(event: model.LeadEvent) -> None:
    after = model.decide(model.LeadState.NEW, event)
    assert after is not model.LeadState.NEW
    for again in model.LeadEvent:
        with pytest.raises(model.LeadAlreadyDecided):
            model.decide(after, again)


def test_a_dismissal_states_its_reason() -> None:
    assert model.dismissal_reason("  a school group  ") == "a school group"
    for bad in ("", "   ", "x" * (model.MAX_REASON + 1)):
        with pytest.raises(model.ReasonRequired):
            model.dismissal_reason(bad)


def _member(n: int, violator: bool) -> model.Member:
    return model.Member(f"R{n}", violator, "UZB", "P", f"FA{n:07d}")


def test_the_request_names_the_violators_by_document_only() -> None:
    members = [_member(3, True), _member(1, False), _member(2, True)]
    body = model.minimal_request(KZ_AM, "R1-L0001", members)
    assert body["purpose"] == model.PURPOSE
    assert "R1-L0001" in body["legal_basis"] and KZ_AM.id in body["legal_basis"]
    assert body["persons"] == [
        {"citizenship": "UZB", "document_type": "P", "document_number": "FA0000002"},
        {"citizenship": "UZB", "document_type": "P", "document_number": "FA0000003"},
    ]
    allowed = KZ_AM.fields_allowed(model.PURPOSE)
    assert body["requested_fields"] and set(body["requested_fields"]) <= allowed
    assert set(body["requested_fields"]) <= set(model.FOLLOW_UP_FIELDS)


def test_a_lead_without_a_violator_opens_no_request() -> None:
    with pytest.raises(model.NoMemberToAsk):
        model.minimal_request(KZ_AM, "R1-L0002", [_member(1, False), _member(2, False)])


def test_lead_ids() -> None:
    assert model.lead_id(12, 3) == "R12-L0003"
    assert model.LEAD_ID.match("R12-L0003") and not model.LEAD_ID.match("R12-L3; drop")


def test_each_edge_says_its_register_and_date() -> None:
    persons = pa.table({
        "record_id": ["A", "B"],
        "entry_date": ["2024-03-04", "2024-03-06"],
        "entry_point": ["ALA-AIRPORT", "ALA-AIRPORT"],
        "registration_address": ["Almaty, Abaya 12, flat 5", "Almaty, Abaya 12, flat 5"],
        "inviting_party": ["990340000017", None],
    })  # fmt: skip
    employment = pa.table({
        "person_record_id": ["B", "B"], "employer_id": ["990340000017", "990340000017"],
        "employer_name": ["Nur LLP", "Nur LLP"], "start_date": ["2024-05-01", "2024-04-01"],
    })  # fmt: skip
    violations = pa.table({
        "person_record_id": ["A"], "inviting_party": ["990 340 000 017"],
        "employer_id": pa.array([None], pa.string()), "detected_on": ["2024-06-09"],
    })  # fmt: skip
    registers = Registers(persons, employment, violations)
    graph = build_graph(registers)
    card = LeadCard(
        "L0001", 1, 5.0, 2, ["A", "B"], {}, {"violators": 1}, {}, {}, {},
        [SharedEntity("party", "990340000017", "Nur LLP", 2, 2, []),
         SharedEntity("address", "x", "x", 0, 0, [])],
        [],
    )  # fmt: skip
    edges = {(e.record_id, e.position): e for e in lead_edges(graph, registers, card, "KZ")}
    # A invited (entry date) and caught naming the party: both registers, the earlier date.
    a = edges["A", 0]
    assert a.sources == ("persons_present", "violations") and a.read_on == date(2024, 3, 4)
    # B employed by it: the earliest spell's start.
    b = edges["B", 0]
    assert b.sources == ("employment",) and b.read_on == date(2024, 4, 1)
    assert all(e.state == "KZ" and not e.partner_data for e in edges.values())
    # The address is not among the card's entities under that key: no edge for it.
    assert {p for _, p in edges} == {0}


def test_a_document_window_edge_is_dated_by_the_documents_issue() -> None:
    persons = pa.table({
        "record_id": ["A", "B"],
        "entry_date": ["2024-03-04", "2024-05-06"],
        "entry_point": ["ALA-AIRPORT", "KORDAI-ROAD"],
        "registration_address": ["Almaty, Abaya 12, flat 5", "Astana, Mira 3"],
        "inviting_party": pa.array([None, None], pa.string()),
        "document_issue_date": ["2024-01-10", "2024-01-12"],
        "document_issuing_office": ["UZB-0171", "UZB-0171"],
    })  # fmt: skip
    empty = pa.table(
        {
            c: pa.array([], pa.string())
            for c in ("person_record_id", "employer_id", "employer_name", "start_date")
        }
    )
    caught = pa.table(
        {
            c: pa.array([], pa.string())
            for c in ("person_record_id", "inviting_party", "employer_id", "detected_on")
        }
    )
    registers = Registers(persons, empty, caught)
    graph = build_graph(registers)
    window = next(
        graph.key(e)
        for e in range(graph.entities)
        if graph.entity_kind[e] == EntityKind.DOCUMENT_WINDOW and graph.adjacency[:, e].sum() == 2
    )
    card = LeadCard(
        "L0001",
        1,
        5.0,
        2,
        ["A", "B"],
        {},
        {"violators": 0},
        {},
        {},
        {},
        [SharedEntity("document-window", window, window, 2, 2, [])],
        [],
    )
    edges = {e.record_id: e for e in lead_edges(graph, registers, card, "KZ")}
    assert edges["A"].read_on == date(2024, 1, 10) and edges["B"].read_on == date(2024, 1, 12)
