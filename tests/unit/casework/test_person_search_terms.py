"""The keyed terms a person is found by: one name in three scripts shares a term, the key and
the part of the name are bound into every term, and no term shows the name."""

from __future__ import annotations

import pytest

from migrex.casework.person_search import name_terms, person_terms, search_key

KEY = search_key(b"k" * 32)


@pytest.mark.parametrize(
    ("one", "other"),
    [("Оганесян", "HOVHANNISYAN"), ("Հովհաննիսյան", "Оганесян"), ("Акопян", "Hakobyan"),
     ("Саркисян", "Սարգսյան"), ("Арам", "Արամ")],
)  # fmt: skip
def test_one_name_in_two_scripts_shares_a_term(one: str, other: str) -> None:
    assert name_terms(KEY, "surname", [one]) & name_terms(KEY, "surname", [other])


@pytest.mark.parametrize(("one", "other"), [("Оганесян", "Петросян"), ("ARAM", "DAVIT")])
def test_two_names_share_no_term(one: str, other: str) -> None:
    assert not name_terms(KEY, "surname", [one]) & name_terms(KEY, "surname", [other])


def test_the_key_and_the_part_are_in_every_term() -> None:
    terms = name_terms(KEY, "surname", ["Арам"])
    assert not terms & name_terms(search_key(b"j" * 32), "surname", ["Арам"])
    assert not terms & name_terms(KEY, "given", ["Арам"])


def test_a_persons_terms_say_where_without_saying_what() -> None:
    who = {"surname": "Оганесян", "given_name_latin": "ARAM", "document_number": "AM1"}
    found = person_terms(KEY, 2, who)
    assert {scope for scope, _ in found} == {"2:surname", "2:given"}
    assert all(len(term) == 64 for _, term in found)
    assert person_terms(KEY, 0, {"document_number": "AM1"}) == []
