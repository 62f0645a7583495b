"""The administrator's pages: officers with their roles, disabling one and resetting a
password (the use cases `migrex user` calls, audited with the administrator as actor), and
the node's delivery, where a message awaiting an operator is re-issued or discarded with a
reason (the use cases `migrex outbox` calls); refused to every other role."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from casework_scenes import INQUIRY, call, officers_app
from casework_steps import context, now
from console_client import PASSWORD, Browser, add_console_officer
from migrex.audit.tables import AuditLeafRow
from migrex.casework.service import OpenRequest, open_request
from migrex.exchange.delivery import Status
from migrex.exchange.tables import OutboxMessage
from migrex.officers.model import Role
from migrex.officers.service import list_tokens
from nodes import Pair

NEW_PASSWORD = "another long passphrase, set by the administrator"
PLANTED = "ZZPLANTEDSURNAME"


@pytest.fixture
def app(pair: Pair) -> Iterator[FastAPI]:
    add_console_officer(pair.am, "arpi", [(Role.SUPERVISOR, "am-mcs")])
    add_console_officer(pair.am, "arev", [(Role.OFFICER, "am-mcs")])
    add_console_officer(pair.am, "ani", [(Role.ADMINISTRATOR, "am-mcs")])
    add_console_officer(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    add_console_officer(pair.am, "dina", [(Role.DATA_PROTECTION_OFFICER, "am-mcs")])
    yield officers_app(pair.am)


def _leaves(pair: Pair) -> int:
    with pair.am.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditLeafRow)) or 0


def _administered(pair: Pair) -> list[str]:
    """The references of the administration entries in the audit log, oldest first, with the
    hash of a reason cut off."""
    with pair.am.unit_of_work() as uow:
        rows = uow.session.scalars(select(AuditLeafRow.data)
                                   .where(AuditLeafRow.kind == "administration")
                                   .order_by(AuditLeafRow.position))  # fmt: skip
        references = [json.loads(data)["reference"] for data in rows]
    return [r.rsplit(":", 1)[0] + ":" if "reason-sha256" in r else r for r in references]


def _signed_in(app: FastAPI, username: str, password: str = PASSWORD) -> Browser:
    browser = Browser(app)
    assert browser.sign_in(username, password).status_code == 303
    return browser


def _parked(pair: Pair) -> str:
    """A request am-mcs sends, parked after failed tries: it awaits an operator."""
    with pair.am.unit_of_work() as uow:
        command = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", INQUIRY,
                              "officer:arev")  # fmt: skip
        message_id = open_request(uow, context(pair.am), command, now()).message_id
        row = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == message_id)
        ).one()
        row.status, row.attempts, row.last_error = Status.PARKED, 5, "connection refused"
        uow.commit()
    return message_id


def _status(pair: Pair, message_id: str) -> str:
    with pair.am.unit_of_work() as uow:
        return uow.session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.message_id == message_id)
        ).one()


def test_officers_are_listed_disabled_and_given_a_new_password(app: FastAPI, pair: Pair) -> None:
    ani = _signed_in(app, "ani")
    home = ani.get("/ui/").text
    assert 'href="/ui/officers"' in home and 'href="/ui/node"' in home
    page = ani.get("/ui/officers").text
    assert "Dina" in page and "Data-protection officer" in page and "Reviewer" in page
    anna = _signed_in(app, "anna")
    before = _leaves(pair)
    reset = ani.post("/ui/officers/anna/password", htmx=True, form={"password": NEW_PASSWORD})
    assert reset.status_code == 200 and "The password of anna is set." in reset.text
    assert NEW_PASSWORD not in reset.text
    assert _leaves(pair) == before + 1
    _signed_in(app, "anna", NEW_PASSWORD)
    before = _leaves(pair) - 1
    weak = ani.post("/ui/officers/anna/password", htmx=True, form={"password": "short"})
    assert weak.status_code == 422 and "short" not in weak.text.split("<details>")[0]
    assert _leaves(pair) == before + 1  # refused: nothing changed
    disabled = ani.post("/ui/officers/anna/disable", htmx=True)
    assert disabled.status_code == 204 and disabled.headers["HX-Refresh"] == "true"
    assert _leaves(pair) == before + 2
    done = _administered(pair)
    assert done[-1] == "officer-disabled:anna" and "password-set:anna" in done
    assert anna.get("/ui/").status_code == 303  # her session ends at once
    assert "Disabled" in ani.get("/ui/officers").text
    assert ani.post("/ui/officers/nobody/disable", htmx=True).status_code == 404


def test_an_officer_is_added_with_roles_and_signs_in(app: FastAPI, pair: Pair) -> None:
    ani = _signed_in(app, "ani")
    page = ani.get("/ui/officers").text
    assert 'value="statistician@am-police"' in page and 'value="dpo@am-mcs"' in page
    form = {"username": "gohar", "display_name": "Gohar", "password": NEW_PASSWORD,
            "grant": ["officer@am-mcs", "reviewer@am-police"]}  # fmt: skip
    added = ani.post("/ui/officers", htmx=True, form=form)
    assert added.status_code == 204 and added.headers["HX-Refresh"] == "true"
    assert _administered(pair)[-1] == "officer-added:gohar"
    assert "Gohar" in ani.get("/ui/officers").text
    gohar = _signed_in(app, "gohar", NEW_PASSWORD)
    assert 'href="/ui/search"' in gohar.get("/ui/").text
    before = _leaves(pair)
    for refused in (form, form | {"username": "hasmik", "password": "short"},
                    form | {"username": "hasmik", "grant": "officer@kz-mia"},
                    form | {"username": "hasmik", "grant": []}):  # fmt: skip
        response = ani.post("/ui/officers", htmx=True, form=refused)
        assert response.status_code == 422, response.text
        assert (
            NEW_PASSWORD not in response.text and "short" not in response.text.split("<details>")[0]
        )
    assert _leaves(pair) == before


def test_a_token_is_issued_once_and_acts_as_its_officer(app: FastAPI, pair: Pair) -> None:
    ani = _signed_in(app, "ani")
    issued = ani.post("/ui/officers/dina/tokens", htmx=True, form={"name": "reports", "days": "7"})
    assert issued.status_code == 200, issued.text
    token = issued.text.split('id="issued-token" class="token" value="', 1)[1].split('"', 1)[0]
    assert token.startswith("mgx_")
    me = call(app, "GET", "/v1/officers/me", token)
    assert me.status_code == 200 and me.json()["username"] == "dina"
    with pair.am.unit_of_work() as uow:
        [kept] = [t for t in list_tokens(uow, "dina") if t.name == "reports"]
    assert _administered(pair)[-1] == f"token-issued:dina/{kept.id}"
    assert token not in ani.get("/ui/officers").text  # shown that once
    too_long = ani.post("/ui/officers/dina/tokens", htmx=True, form={"name": "x", "days": "9999"})
    assert too_long.status_code == 422
    assert ani.post("/ui/officers/nobody/tokens", htmx=True,
                    form={"name": "x", "days": "1"}).status_code == 404  # fmt: skip


def test_the_node_page_shows_partners_and_witnesses(app: FastAPI, pair: Pair) -> None:
    ani = _signed_in(app, "ani")
    assert "Nothing has been sent to a partner yet." in ani.get("/ui/node").text
    _parked(pair)
    page = ani.get("/ui/node").text
    partners = page.split('id="partners"', 1)[1].split("</table>", 1)[0]
    assert "kz-mia" in partners and 'data-state="never-reached"' in partners
    assert "No witness has cosigned the log yet." in page


def test_a_supervisor_retries_a_parked_message_from_its_case(app: FastAPI, pair: Pair) -> None:
    message_id = _parked(pair)
    with pair.am.unit_of_work() as uow:
        case_id = uow.session.scalars(
            select(OutboxMessage.case_id).where(OutboxMessage.message_id == message_id)
        ).one()
    arev = _signed_in(app, "arev")  # the caseworker sees the delivery but may not retry it
    page = arev.get(f"/ui/cases/{case_id}").text
    assert 'id="deliveries"' in page and "Parked after failed tries" in page
    assert f"/ui/outbox/{message_id}/retry" not in page
    assert arev.post(f"/ui/outbox/{message_id}/retry", htmx=True).status_code == 403
    arpi = _signed_in(app, "arpi")
    assert f"/ui/outbox/{message_id}/retry" in arpi.get(f"/ui/cases/{case_id}").text
    before = _leaves(pair)
    retried = arpi.post(f"/ui/outbox/{message_id}/retry", htmx=True)
    assert retried.status_code == 204 and retried.headers["HX-Refresh"] == "true"
    assert _status(pair, message_id) == Status.PENDING and _leaves(pair) == before + 1
    assert arpi.post(f"/ui/outbox/{message_id}/retry", htmx=True).status_code == 409
    assert arpi.post("/ui/outbox/no-such/retry", htmx=True).status_code == 404


def test_a_token_is_revoked(app: FastAPI, pair: Pair) -> None:
    ani = _signed_in(app, "ani")
    dina = _signed_in(app, "dina")
    page = ani.get("/ui/officers").text
    with pair.am.unit_of_work() as uow:
        [session] = [t for t in list_tokens(uow, "dina") if t.revoked_at is None]
    assert f"/ui/tokens/{session.id}/revoke" in page
    revoked = ani.post(f"/ui/tokens/{session.id}/revoke", htmx=True)
    assert revoked.status_code == 204
    assert _administered(pair)[-1] == f"token-revoked:{session.id}"
    assert dina.get("/ui/").status_code == 303  # her session ended
    assert f"/ui/tokens/{session.id}/revoke" not in ani.get("/ui/officers").text
    assert ani.post("/ui/tokens/999999/revoke", htmx=True).status_code == 404


def test_a_held_up_message_is_reissued_or_discarded(app: FastAPI, pair: Pair) -> None:
    first, second = _parked(pair), _parked(pair)
    ani = _signed_in(app, "ani")
    page = ani.get("/ui/node").text
    assert first in page and second in page
    assert "Parked after failed tries" in page
    before = _leaves(pair)
    assert ani.post(f"/ui/outbox/{first}/reissue", htmx=True).status_code == 204
    assert _status(pair, first) == Status.PENDING
    assert _leaves(pair) == before + 1
    missing = ani.post(f"/ui/outbox/{second}/discard", htmx=True, form={"reason": " "})
    assert missing.status_code == 422 and _status(pair, second) == Status.PARKED
    dropped = ani.post(f"/ui/outbox/{second}/discard", htmx=True,
                       form={"reason": f"sent twice by mistake {PLANTED}"})  # fmt: skip
    assert dropped.status_code == 204 and _status(pair, second) == Status.DISCARDED
    assert _administered(pair)[-2:] == [
        f"outbox-reissued:{first}",
        f"outbox-discarded:{second}:reason-sha256:",
    ]
    again = ani.post(f"/ui/outbox/{second}/reissue", htmx=True)
    assert again.status_code == 409  # discarded: nothing to re-issue
    page = ani.get("/ui/node").text
    assert PLANTED not in page and second not in page


@pytest.mark.parametrize("username", ["anna", "dina"])
@pytest.mark.parametrize(
    ("method", "url", "form"),
    [
        ("GET", "/ui/officers", None),
        ("POST", "/ui/officers/ani/disable", None),
        ("POST", "/ui/tokens/1/revoke", None),
        ("POST", "/ui/officers/ani/password", {"password": NEW_PASSWORD}),
        (
            "POST",
            "/ui/officers",
            {
                "username": "eve",
                "display_name": "Eve",
                "password": NEW_PASSWORD,
                "grant": "administrator@am-mcs",
            },
        ),
        ("POST", "/ui/officers/ani/tokens", {"name": "script", "days": "30"}),
        ("GET", "/ui/node", None),
        ("POST", "/ui/outbox/{message}/reissue", None),
        ("POST", "/ui/outbox/{message}/discard", {"reason": "no"}),
    ],
)
def test_other_roles_are_refused(
    app: FastAPI, pair: Pair, *, username: str, method: str, url: str,
    form: dict[str, str] | None,
) -> None:  # fmt: skip
    message_id = _parked(pair)
    other = _signed_in(app, username)
    assert 'href="/ui/officers"' not in other.get("/ui/").text
    before = _leaves(pair)
    refused = other.request(method, url.format(message=message_id), form=form,
                            htmx=method == "POST")  # fmt: skip
    assert refused.status_code == 403, refused.text
    assert _leaves(pair) == before and _status(pair, message_id) == Status.PARKED
    _signed_in(app, "ani")  # still active, with the password it had
