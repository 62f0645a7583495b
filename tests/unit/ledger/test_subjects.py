"""Who a message is about, read from its body as it travelled."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from migrex.ledger.subjects import (
    Subject,
    document_identifier,
    national_id_identifier,
    subjects_in,
)

DOCUMENTS = st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=5, max_size=12)


def person(document: str | None = None, national_id: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"surname_latin": "HOVHANNISYAN", "given_name_latin": "ARAM"}
    if document:
        record["document_number"] = document
    if national_id:
        record["national_id"] = national_id
    return record


@given(st.lists(st.tuples(DOCUMENTS, st.one_of(st.none(), DOCUMENTS)), min_size=1, max_size=8))
def test_every_identified_person_of_a_request_is_found(
    people: list[tuple[str, str | None]],
) -> None:
    body = {"purpose": "x", "persons": [person(doc, nid) for doc, nid in people]}
    found = subjects_in(body)
    assert len(found) == len(people)
    for subject, (doc, nid) in zip(found, people, strict=True):
        expected = [document_identifier(doc)] + ([national_id_identifier(nid)] if nid else [])
        assert list(subject.identifiers) == expected
        assert "surname_latin" in subject.fields


def test_a_reply_names_its_persons_through_the_request() -> None:
    opening = {"persons": [person("AM1234567"), person("AM7654321")]}
    reply = {
        "results": [
            {"person": 0, "hit": True, "fields": {"surname_latin": "X", "permit_type": "p"}},
            {"person": 1, "hit": False},
            {"person": 7, "hit": True},  # no such person in the request: ignored
        ]
    }
    assert subjects_in(reply, opening) == [
        Subject(("document:AM1234567",), ("permit_type", "surname_latin")),
        Subject(("document:AM7654321",), ("hit",)),
    ]


def test_names_alone_and_information_messages_name_nobody() -> None:
    assert subjects_in({"persons": [person()]}) == []
    assert subjects_in({"subject": "figures", "figures": {"_T": 2623}}) == []
    assert subjects_in({"results": [{"person": 0, "hit": True}]}) == []  # no request to resolve


def test_identifiers_ignore_spacing_and_case() -> None:
    assert document_identifier(" am 123 4567") == document_identifier("AM1234567")
