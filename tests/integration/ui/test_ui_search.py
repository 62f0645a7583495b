"""Finding a case in the console: by its number or its first characters, by a message id
(the partner's reference), by state; only among the cases the officer's roles let them see,
as the API's case routes allow. A person is found by name, in any script, only in a POST
and only by an officer who may see personal data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from casework_scenes import PERSON, incoming_in_review, officers_app
from console_client import Browser, add_console_officer
from migrex.casework.queries import case_messages
from migrex.officers.model import Role
from nodes import Pair


@pytest.fixture
def app(pair: Pair) -> Iterator[FastAPI]:
    add_console_officer(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    add_console_officer(pair.am, "audra", [(Role.AUDITOR, "am-mcs")])
    add_console_officer(pair.am, "pavel", [(Role.REVIEWER, "am-police")])
    yield officers_app(pair.am)


def _found(page: str, case_id: str) -> bool:
    return f'href="/ui/cases/{case_id}"' in page


def test_a_case_is_found_by_number_message_and_state(app: FastAPI, pair: Pair) -> None:
    first, second = incoming_in_review(pair), incoming_in_review(pair)
    anna = Browser(app)
    anna.sign_in("anna")
    whole = anna.get(f"/ui/search?reference={first}").text
    assert _found(whole, first) and not _found(whole, second)
    assert not _found(anna.get(f"/ui/search?reference={second[-12:]}").text, second)
    by_prefix = anna.get(f"/ui/search?reference={first[:8]}").text
    assert _found(by_prefix, first)
    with pair.am.unit_of_work() as uow:
        [message] = [m.message_id for m in case_messages(uow, first)]
    assert _found(anna.get(f"/ui/search?reference={message}").text, first)
    in_review = anna.get("/ui/search?state=in-review").text
    assert _found(in_review, first) and _found(in_review, second)
    assert not _found(anna.get("/ui/search?state=answered").text, first)
    # A name is not a reference: nothing personal is searched.
    by_name = anna.get(f"/ui/search?reference={PERSON['surname_latin']}")
    assert by_name.status_code == 200 and "/ui/cases/" not in by_name.text
    assert anna.get("/ui/search?reference=a%25b").status_code == 422  # not a reference
    assert anna.get("/ui/search?state=nonsense").status_code == 422


def test_only_the_cases_the_roles_let_the_officer_see(app: FastAPI, pair: Pair) -> None:
    case_id = incoming_in_review(pair)  # a case of am-mcs
    pavel = Browser(app)
    pavel.sign_in("pavel")  # a reviewer of another authority
    assert not _found(pavel.get(f"/ui/search?reference={case_id}").text, case_id)
    audra = Browser(app)
    audra.sign_in("audra")  # an auditor sees no case
    assert 'href="/ui/search"' not in audra.get("/ui/").text
    assert not _found(audra.get(f"/ui/search?reference={case_id}").text, case_id)


def test_a_person_is_found_by_name_in_another_script(app: FastAPI, pair: Pair) -> None:
    case_id = incoming_in_review(pair)  # HOVHANNISYAN ARAM, as Kazakhstan asked about him
    anna = Browser(app)
    anna.sign_in("anna")
    page = anna.get("/ui/search").text
    assert 'id="person-search-form"' in page and 'hx-history="false"' in page
    partial = anna.post("/ui/search/persons", htmx=True,
                        form={"surname": "Հովհաննիսյան", "given_name": "Արամ"})  # fmt: skip
    assert partial.status_code == 200 and _found(partial.text, case_id)
    assert PERSON["surname_latin"] in partial.text
    russified = anna.post("/ui/search/persons", htmx=True, form={"surname": "Оганесян"})
    assert russified.status_code == 200 and _found(russified.text, case_id)
    nobody = anna.post("/ui/search/persons", htmx=True, form={"surname": "Petrosyan"})
    assert nobody.status_code == 200 and not _found(nobody.text, case_id)
    assert anna.post("/ui/search/persons", htmx=True, form={"given_name": "x"}).status_code == 422


def test_a_person_is_not_found_by_whom_may_not_see_them(app: FastAPI, pair: Pair) -> None:
    case_id = incoming_in_review(pair)
    pavel = Browser(app)
    pavel.sign_in("pavel")  # a reviewer of another authority
    found = pavel.post("/ui/search/persons", htmx=True, form={"surname": "Оганесян"})
    assert found.status_code == 200 and not _found(found.text, case_id)
    audra = Browser(app)
    audra.sign_in("audra")  # an auditor sees no personal data: no form, and a refusal
    assert (
        audra.post("/ui/search/persons", htmx=True, form={"surname": "Оганесян"}).status_code == 403
    )
