"""The same new request sent twice (a double click on Send, a client's retry after its
connection dropped) opens one case and sends the partner one message, through the officers'
API with an `Idempotency-Key` and through the console's form, one after the other or at the
same moment; the same key with another request is refused and changes nothing."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from at_once import beside
from casework_scenes import INQUIRY, officers_app, token
from casework_scenes import REQUEST_CHOICE as CHOSEN
from casework_scenes import REQUEST_FORM as FORM
from casework_steps import context, now
from console_client import Browser, add_console_officer
from migrex.audit.tables import AuditLeafRow
from migrex.casework import request_keys
from migrex.casework.request_keys import KEY_LIFETIME
from migrex.casework.service import OpenRequest, open_request
from migrex.casework.tables import CaseRow, RequestKeyRow
from migrex.exchange.tables import OutboxMessage
from migrex.ledger.tables import DisclosureRow
from migrex.officers.model import Role
from nodes import Pair

KEY = "4f1c7e0a-2b9d-4c61-9a3e-0d8b5f6e7a21"
REQUEST = {"agreement_id": "kz-am-2024", "recipient": "kz-mia", "type": "person-inquiry",
           "body": INQUIRY}  # fmt: skip


def _post(app: FastAPI, bearer: str, body: Any, key: str | None = KEY) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
            if key is not None:
                headers["Idempotency-Key"] = key
            # Encoded here: a client's JSON library may write NaN, which httpx's refuses.
            return await client.post("/v1/authorities/am-mcs/requests", content=json.dumps(body),
                                     headers=headers)  # fmt: skip

    return asyncio.run(run())


def _counts(pair: Pair) -> tuple[int, int, int, int]:
    """Cases, outbox messages, log entries and ledger rows at Armenia's node."""
    with pair.am.unit_of_work() as uow:
        return tuple(  # type: ignore[return-value]
            uow.session.scalar(select(func.count()).select_from(table)) or 0
            for table in (CaseRow, OutboxMessage, AuditLeafRow, DisclosureRow)
        )


@pytest.fixture
def api(pair: Pair) -> tuple[FastAPI, str]:
    return officers_app(pair.am), token(pair.am, "anahit", [(Role.OFFICER, "am-mcs")])


def test_a_request_sent_again_with_its_key_opens_one_case(
    pair: Pair, api: tuple[FastAPI, str]
) -> None:
    app, bearer = api
    first = _post(app, bearer, REQUEST)
    after_first = _counts(pair)
    again = _post(app, bearer, REQUEST)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json()["case_id"] == first.json()["case_id"]
    assert again.json()["message_id"] == first.json()["message_id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _counts(pair) == after_first  # no case, message, log entry or ledger row more
    other = _post(app, bearer, REQUEST, key="b7d2c9e4-5a61-4f08-8e3b-1c2d3e4f5a6b")
    assert other.status_code == 201 and other.json()["case_id"] != first.json()["case_id"]
    plain = [_post(app, bearer, REQUEST, key=None) for _ in range(2)]  # no key: as before
    assert len({r.json()["case_id"] for r in plain}) == 2


def test_a_key_given_to_another_request_is_refused(pair: Pair, api: tuple[FastAPI, str]) -> None:
    app, bearer = api
    assert _post(app, bearer, REQUEST).status_code == 201
    before = _counts(pair)
    changed = REQUEST | {"body": INQUIRY | {"requested_fields": ["surname_latin"]}}
    refused = _post(app, bearer, changed)
    assert refused.status_code == 409, refused.text
    assert "Idempotency-Key" in refused.text
    assert INQUIRY["persons"][0]["surname_latin"] not in refused.text
    assert _counts(pair) == before
    # Keys are each officer's own: another officer's same key is another request.
    other = token(pair.am, "armen", [(Role.OFFICER, "am-mcs")])
    assert _post(app, other, changed).status_code == 201


@pytest.mark.parametrize("key", ["short", "a" * 65, "has space in it", "key/with/slashes"])
def test_a_key_the_node_does_not_accept_is_refused(
    pair: Pair, api: tuple[FastAPI, str], key: str
) -> None:
    app, bearer = api
    before = _counts(pair)
    refused = _post(app, bearer, REQUEST, key=key)
    assert refused.status_code == 422 and "Idempotency-Key" in refused.text
    assert _counts(pair) == before


def test_a_key_past_its_day_opens_a_new_case_and_is_forgotten(pair: Pair) -> None:
    def opened(at_hours: float) -> str:
        with pair.am.unit_of_work() as uow:
            command = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", INQUIRY,
                                  "officer:anahit", request_key=KEY)  # fmt: skip
            return open_request(uow, context(pair.am), command,
                                now() + timedelta(hours=at_hours)).case_id  # fmt: skip

    first = opened(0)
    assert opened(23) == first
    later = opened(KEY_LIFETIME.total_seconds() / 3600 + 1)
    assert later != first
    with pair.am.unit_of_work() as uow:
        kept = uow.session.scalars(select(RequestKeyRow.case_id)).all()
    assert kept == [later]  # the old key's row went when the new one was remembered


def test_the_same_request_sent_twice_at_once_opens_one_case(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second comes while the first has opened its case and not yet noted its key: on
    SQLite it waits for the first and finds the key; on PostgreSQL one of the two notes the
    key first and the other's case, message and log entries are rolled back."""
    command = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", INQUIRY,
                          "officer:anahit", request_key=KEY)  # fmt: skip

    def send() -> str:
        with pair.am.unit_of_work() as uow:
            return open_request(uow, context(pair.am), command, now()).case_id

    others = beside(monkeypatch, request_keys, "remember", send)
    first = send()
    [second] = others()
    assert second == first
    with pair.am.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CaseRow)) == 1
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_the_console_form_sent_twice_opens_one_case(pair: Pair) -> None:
    add_console_officer(pair.am, "anahit", [(Role.OFFICER, "am-mcs")])
    anahit = Browser(officers_app(pair.am))
    anahit.sign_in("anahit")
    page = anahit.get(f"/ui/requests/new?{CHOSEN}").text
    found = re.search(r'name="request_key" value="([^"]+)"', page)
    assert found is not None
    form = FORM | {"request_key": found.group(1)}
    sent = [anahit.post("/ui/requests", htmx=True, form=form) for _ in range(2)]
    assert [s.status_code for s in sent] == [204, 204]
    assert sent[0].headers["HX-Redirect"] == sent[1].headers["HX-Redirect"]
    with pair.am.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CaseRow)) == 1
    fresh = re.search(r'name="request_key" value="([^"]+)"',
                      anahit.get(f"/ui/requests/new?{CHOSEN}").text)  # fmt: skip
    assert fresh is not None and fresh.group(1) != found.group(1)  # each form its own key


def test_a_replay_answers_as_the_first_answer_did(pair: Pair, api: tuple[FastAPI, str]) -> None:
    """The client that replays is the one that lost the first answer: it is told what
    screening flagged, as the first was."""
    app, bearer = api
    vague = REQUEST | {"body": INQUIRY | {"legal_basis": "the agreement"}}
    first, again = _post(app, bearer, vague), _post(app, bearer, vague)
    assert first.json()["flags"] and again.json() == first.json()


def test_a_body_that_is_not_json_is_refused_as_without_a_key(
    pair: Pair, api: tuple[FastAPI, str]
) -> None:
    app, bearer = api
    before = _counts(pair)
    broken = REQUEST | {"body": INQUIRY | {"persons": [{"surname_latin": float("nan")}]}}
    answers = [_post(app, bearer, broken, key=key).status_code for key in (None, KEY)]
    assert answers == [422, 422]
    assert _counts(pair) == before


def test_the_key_is_not_kept_in_clear(pair: Pair, api: tuple[FastAPI, str]) -> None:
    """A client may make its keys of what it knows (a document number and a birth date)."""
    app, bearer = api
    personal = "AM1234567.1985-03-14"
    assert _post(app, bearer, REQUEST, key=personal).status_code == 201
    with pair.am.unit_of_work() as uow:
        [row] = uow.session.execute(select(RequestKeyRow)).scalars().all()
    assert personal not in repr(vars(row)) and "AM1234567" not in row.key
    assert _post(app, bearer, REQUEST, key=personal).headers.get("Idempotent-Replayed") == "true"
