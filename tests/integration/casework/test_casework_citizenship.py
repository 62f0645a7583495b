"""A citizenship verification between the two nodes: Armenia asks whether persons hold
Kazakhstan's citizenship, Kazakhstan answers from its own citizens register."""

from __future__ import annotations

from typing import Any

import pytest

from casework_steps import context, deliver, now, state
from factories import citizen, write_csv
from migrex.casework.citizenship import answer_citizenship
from migrex.casework.lifecycle import CaseState
from migrex.casework.messages import MessageInvalid
from migrex.casework.service import OpenRequest, open_request, open_review
from migrex.registry.columns import Kind
from migrex.registry.service import import_registries
from migrex.registry.sql import SqlRegistries
from nodes import Pair

LEGAL_BASIS = "Law of the Republic of Armenia on Citizenship, Article 13, part 2"


def ask(pair: Pair, message_type: str, body: dict[str, Any]) -> str:
    with pair.am.unit_of_work() as uow:
        opened = open_request(
            uow, context(pair.am),
            OpenRequest("kz-am-2024", "am-mcs", "kz-mia", message_type, body, "officer:anna"),
            now(),
        )  # fmt: skip
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        open_review(uow, opened.case_id, "officer:bolat", now())
    return opened.case_id


def test_citizenship_is_verified_from_the_own_citizens_register(pair: Pair, tmp_path: Any) -> None:
    active = citizen(1)
    renounced = citizen(2, surname_latin="SARGSYAN", given_name_latin="ANI", sex="F",
                        birth_date="1992-07-20", citizenship_acquired="1992-07-20",
                        status="renounced")  # fmt: skip
    write_csv(tmp_path / "c.csv", Kind.CITIZENS, [active, renounced])
    with pair.kz.unit_of_work() as uow:
        import_registries(uow, [(Kind.CITIZENS, tmp_path / "c.csv")], state="KZ", actor="test")
    persons = [
        # By national id.
        {"national_id": active["national_id"]},
        # By passport number, the birth date agreeing.
        {"document_number": renounced["passport_number"], "birth_date": "1992-07-20"},
        # The same passport number but another birth date: a different person.
        {"document_number": renounced["passport_number"], "birth_date": "1970-01-01"},
        # By Latin names and birth date, in any letter case.
        {"surname_latin": "alibekov", "given_name_latin": "Nurlan", "birth_date": "1990-01-01"},
        # Names alone identify nobody: the register cannot tell.
        {"surname_latin": "ALIBEKOV", "given_name_latin": "NURLAN"},
    ]
    body = {"purpose": "combat-dual-citizenship", "legal_basis": LEGAL_BASIS, "persons": persons}
    case_id = ask(pair, "citizenship-verification-request", body)
    assert state(pair.kz, case_id) == CaseState.IN_REVIEW

    with pair.kz.unit_of_work() as uow:
        reply = answer_citizenship(uow, context(pair.kz), SqlRegistries(uow.session), case_id,
                                   actor="officer:bolat", now=now())  # fmt: skip
    answers = [(r.person, r.holds, r.status) for r in reply.results]
    assert answers == [
        (0, "yes", "active"),
        (1, "no", "renounced"),
        (2, "no", None),
        (3, "yes", "active"),
        (4, "unknown", None),
    ]
    assert state(pair.kz, case_id) == CaseState.ANSWERED

    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    assert state(pair.am, case_id) == CaseState.ANSWERED


def test_two_matching_entries_are_unknown_not_a_guess(pair: Pair, tmp_path: Any) -> None:
    # Two citizens with the same Latin names and birth date: names cannot tell them apart.
    write_csv(tmp_path / "c.csv", Kind.CITIZENS, [citizen(1), citizen(2)])
    with pair.kz.unit_of_work() as uow:
        import_registries(uow, [(Kind.CITIZENS, tmp_path / "c.csv")], state="KZ", actor="test")
    persons = [{"surname_latin": "ALIBEKOV", "given_name_latin": "NURLAN",
                "birth_date": "1990-01-01"}]  # fmt: skip
    body = {"purpose": "combat-dual-citizenship", "legal_basis": LEGAL_BASIS, "persons": persons}
    case_id = ask(pair, "citizenship-verification-request", body)
    with pair.kz.unit_of_work() as uow:
        reply = answer_citizenship(uow, context(pair.kz), SqlRegistries(uow.session), case_id,
                                   actor="officer:bolat", now=now())  # fmt: skip
    assert [r.holds for r in reply.results] == ["unknown"]


def test_only_a_citizenship_request_is_answered_so(pair: Pair) -> None:
    inquiry = {
        "purpose": "legal-status-of-stay",
        "legal_basis": "Law of the Republic of Armenia on Foreigners, Article 12, part 3",
        "persons": [{"citizenship": "ARM", "document_number": "AM1234567"}],
        "requested_fields": ["surname_latin"],
    }
    case_id = ask(pair, "person-inquiry", inquiry)
    with pair.kz.unit_of_work() as uow, pytest.raises(MessageInvalid):
        answer_citizenship(uow, context(pair.kz), SqlRegistries(uow.session), case_id,
                           actor="officer:bolat", now=now())  # fmt: skip
    assert state(pair.kz, case_id) == CaseState.IN_REVIEW
