"""Finding a person's cases by name across scripts: what is found, who may find it, that each
person shown is a recorded read, and that an erased person can no longer be found."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from casework_steps import context, deliver, now
from migrex.audit import subject_hash
from migrex.audit.leaves import AuditLeaf, LeafKind
from migrex.audit.log import leaf_data, position_of_message
from migrex.casework.person_search import PersonFound, find_persons
from migrex.casework.service import OpenRequest, open_request
from migrex.ledger.subjects import document_identifier
from migrex.ledger.tables import DisclosureRow
from migrex.node import Node
from migrex.officers.model import Grant, NotAuthorised, Officer, Role
from migrex.retention.run import run_retention
from migrex.retention.tables import SearchTermRow
from nodes import Pair

# The person as a Kazakh register writes an Armenian citizen: Russified, in Cyrillic.
PERSON = {"surname": "Оганесян", "given_name": "Арам", "birth_date": "1985-03-14",
          "citizenship": "ARM", "document_number": "AM1234567"}  # fmt: skip
OTHER = {"surname_latin": "PETROSYAN", "given_name_latin": "ANI", "citizenship": "ARM",
         "document_number": "AM7654321"}  # fmt: skip


def inquiry(*persons: dict[str, str]) -> dict[str, object]:
    return {
        "purpose": "legal-status-of-stay",
        "legal_basis": "Law of the Republic of Armenia on Foreigners, Article 12, part 3",
        "persons": list(persons), "requested_fields": ["permit_type"],
    }  # fmt: skip


def officer(role: Role, authority: str, username: str = "bolat") -> Officer:
    return Officer(1, username, username.title(), frozenset({Grant(role, authority)}))


def asked(pair: Pair, *persons: dict[str, str]) -> str:
    """Armenia asks Kazakhstan about `persons`; the request is filed at Kazakhstan's node."""
    with pair.am.unit_of_work() as uow:
        command = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry",
                              inquiry(*persons), "officer:a")  # fmt: skip
        case_id = open_request(uow, context(pair.am), command, now()).case_id
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    return case_id


def search(node: Node, who: Officer, surname: str, given: str | None = None) -> list[PersonFound]:
    with node.unit_of_work() as uow:
        return find_persons(uow, context(node), who, surname=surname, given_name=given,
                            reader=f"officer:{who.username}", now=now())  # fmt: skip


@pytest.mark.parametrize(
    ("surname", "given"),
    [("Հովհաննիսյան", "Արամ"), ("HOVHANNISYAN", "ARAM"), ("Оганесян", None), ("Ованесян", None)],
)
def test_a_name_in_any_script_finds_the_person(pair: Pair, surname: str, given: str | None) -> None:
    case_id = asked(pair, PERSON, OTHER)
    [found] = search(pair.kz, officer(Role.REVIEWER, "kz-mia"), surname, given)
    assert found.case.id == case_id
    assert found.person == {"surname": "Оганесян", "given_name": "Арам", "birth_date": "1985-03-14"}


def test_another_name_or_given_name_finds_nobody(pair: Pair) -> None:
    asked(pair, PERSON)
    reviewer = officer(Role.REVIEWER, "kz-mia")
    assert search(pair.kz, reviewer, "Петросян") == []
    assert search(pair.kz, reviewer, "Hovhannisyan", "Davit") == []


def test_the_sender_finds_its_own_request(pair: Pair) -> None:
    case_id = asked(pair, OTHER)
    [found] = search(pair.am, officer(Role.OFFICER, "am-mcs", "anna"), "Петросян", "Ани")
    assert found.case.id == case_id and found.case.direction == "outgoing"


def test_only_cases_of_an_authority_whose_personal_data_the_officer_sees(pair: Pair) -> None:
    asked(pair, PERSON)
    assert search(pair.kz, officer(Role.REVIEWER, "kz-mlsp"), "Оганесян") == []
    with pytest.raises(NotAuthorised):
        search(pair.kz, officer(Role.AUDITOR, "kz-mia"), "Оганесян")
    with pytest.raises(NotAuthorised):
        search(pair.kz, officer(Role.ADMINISTRATOR, "kz-mia"), "Оганесян")


def test_each_person_shown_is_a_recorded_read_and_nobody_else(pair: Pair) -> None:
    case_id = asked(pair, PERSON, OTHER)
    [found] = search(pair.kz, officer(Role.REVIEWER, "kz-mia"), "Hovhannisyan")
    key = context(pair.kz).subject_key
    with pair.kz.unit_of_work() as uow:
        reads = uow.session.scalars(
            select(DisclosureRow).where(DisclosureRow.direction == "read")
        ).all()
        logged = [AuditLeaf.decode(leaf_data(uow.session, p))
                  for p in position_of_message(uow.session, found.message_id)]  # fmt: skip
    person = subject_hash(key, document_identifier("AM1234567"))
    assert [(r.subject_hash, r.person, r.actor, r.case_id) for r in reads] == [
        (person, 0, "officer:bolat", case_id)
    ]
    assert reads[0].fields == "birth_date,given_name,surname"
    shown = [leaf for leaf in logged if leaf.kind is LeafKind.PERSONAL_DATA_READ]
    assert [(leaf.subject_hash, leaf.actor) for leaf in shown] == [(person, "officer:bolat")]


def test_no_name_is_stored_to_be_searched(pair: Pair) -> None:
    asked(pair, PERSON)
    with pair.kz.unit_of_work() as uow:
        terms = uow.session.scalars(select(SearchTermRow)).all()
    assert terms, "the filed request left no search terms"
    stored = " ".join(f"{t.scope} {t.term}" for t in terms).upper()
    for value in ("ОГАНЕСЯН", "OGANES", "HOVHAN", "ARAM", "АРАМ", "AM1234567"):
        assert value not in stored


def test_an_erased_person_can_no_longer_be_found(pair: Pair) -> None:
    asked(pair, PERSON)
    reviewer = officer(Role.REVIEWER, "kz-mia")
    assert len(search(pair.kz, reviewer, "Оганесян")) == 1
    retention = pair.kz.agreements["kz-am-2024"].data_protection.retention
    with pair.kz.unit_of_work() as uow:
        assert run_retention(uow, now() + retention + timedelta(minutes=1))
    with pair.kz.unit_of_work() as uow:
        left = uow.session.scalar(select(func.count()).select_from(SearchTermRow))
    assert left == 0
    assert search(pair.kz, reviewer, "Оганесян") == []
