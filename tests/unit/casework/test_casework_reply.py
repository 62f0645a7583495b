"""The reply to a person inquiry, built from registers held in memory.

`answers.reply_from` reads the registries only through their port, so these tests draw whole
registers and inquiries with hypothesis and check, without a database, the rules every reply
obeys: nothing leaves that was not both requested and allowed, a person the register holds is
never answered "no hit", one it cannot tell apart is never guessed, and a hit-check says
nothing but hit or no hit."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrex.agreements import Agreement, load_agreements
from migrex.casework.answers import PersonNotDetermined, reply_from
from migrex.casework.messages import PersonIdentifiers, PersonInquiry
from migrex.registry.columns import Kind
from migrex.registry.memory import InMemoryRegistries
from migrex.registry.model import EmploymentSpell, PersonPresent

AGREEMENT: Agreement = load_agreements(
    [Path(__file__).parents[3] / "agreements" / "kz-am-2024.toml"]
)["kz-am-2024"]
HIT_KEY = b"k" * 32
FULL_PURPOSE = "legal-status-of-stay"  # answers with fields at once
TWO_STEP_PURPOSE = "combat-dual-citizenship"  # answers hit / no hit first
FIELDS = sorted(
    {"surname", "given_name", "birth_date", "citizenship", "entry_date", "permit_type",
     "registration_address", "national_id", "employer_name", "violations", "sex"}
)  # fmt: skip
DOCUMENTS = [f"AM{n:07d}" for n in range(6)]


def person(index: int, document: str) -> PersonPresent:
    return PersonPresent(
        record_id=f"p-{index}", surname="АКОПЯН", given_name="АРАМ", patronymic=None,
        surname_latin="HAKOBYAN", given_name_latin="ARAM", sex="M",
        birth_date=date(1980 + index % 20, 1 + index % 12, 1), citizenship="ARM",
        document_type="P", document_number=document, national_id=None,
        entry_date=date(2026, 1, 2), purpose_of_stay="work", registration_region="KZ-75",
        registration_address="ALMATY, ABAY 1", permit_type=None, permit_valid_from=None,
        permit_valid_to=None,
    )  # fmt: skip


registers = st.lists(st.sampled_from(DOCUMENTS), max_size=8).map(
    lambda documents: [person(i, d) for i, d in enumerate(documents)]
)
inquiries = st.builds(
    lambda documents, fields, purpose: PersonInquiry(
        purpose=purpose,
        legal_basis="Article 4",
        persons=[PersonIdentifiers(document_number=d, citizenship="ARM") for d in documents],
        requested_fields=fields,
    ),
    st.lists(st.sampled_from(DOCUMENTS), min_size=1, max_size=4),
    st.lists(st.sampled_from(FIELDS), unique=True, max_size=6),
    st.sampled_from([FULL_PURPOSE, TWO_STEP_PURPOSE]),
)


def holders(register: list[PersonPresent], who: PersonIdentifiers) -> list[PersonPresent]:
    return [p for p in register if p.document_number == who.document_number]


@settings(max_examples=300, deadline=None)
@given(register=registers, inquiry=inquiries)
def test_a_reply_discloses_only_what_was_asked_and_allowed_and_never_guesses(
    register: list[PersonPresent], inquiry: PersonInquiry
) -> None:
    registries = InMemoryRegistries(present=register)
    held = [holders(register, who) for who in inquiry.persons]
    if any(len(found) > 1 for found in held):
        with pytest.raises(PersonNotDetermined) as refused:
            reply_from(AGREEMENT, registries, inquiry, requester="am-mcs", hit_key=HIT_KEY)
        ambiguous = {p.where for p in refused.value.problems}
        assert ambiguous == {f"persons.{i}" for i, found in enumerate(held) if len(found) > 1}
        return
    reply = reply_from(AGREEMENT, registries, inquiry, requester="am-mcs", hit_key=HIT_KEY)
    assert [r.person for r in reply.results] == list(range(len(inquiry.persons)))
    allowed = AGREEMENT.fields_allowed(inquiry.purpose or "")
    for result, found in zip(reply.results, held, strict=True):
        assert result.hit is bool(found)  # a person held is never answered "no hit"
        if reply.step == "hit-check":
            assert result.fields == {} and (result.reference is not None) is result.hit
            continue
        assert set(result.fields) <= set(inquiry.requested_fields) & allowed
        if result.hit:
            withheld = {w.field for w in result.withheld}
            assert set(result.fields) | withheld == set(inquiry.requested_fields)
    expected_step = "hit-check" if inquiry.purpose == TWO_STEP_PURPOSE else "full"
    assert reply.step == expected_step


def test_the_memory_registries_answer_as_the_port_says() -> None:
    spells = [
        EmploymentSpell("e-2", "p-0", "123456789012", "ACME", "7112", "KZ-75",
                        date(2025, 6, 1), None),
        EmploymentSpell("e-1", "p-0", "123456789012", "ACME", "7112", "KZ-75",
                        date(2024, 1, 1), date(2024, 12, 31)),
    ]  # fmt: skip
    registries = InMemoryRegistries(present=[person(0, DOCUMENTS[0])], employment=spells)
    assert registries.count(Kind.PERSONS_PRESENT) == 1 and registries.count(Kind.CITIZENS) == 0
    assert [s.record_id for s in registries.employment_of("p-0")] == ["e-1", "e-2"]
    assert registries.workers_in_year("ARM", 2025) == 1
    assert registries.workers_in_year("ARM", 2023) == 0
    assert registries.present_holding() == []
    assert registries.find_present(citizenship="ARM", document_number=DOCUMENTS[1]) is None
