"""Two officers, or one officer's double click, acting on one case at the same moment: the
second request waits for the first and is answered as the case then stands (409 once the
first has moved it), never a second decision, message or audit entry."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from at_once import beside
from casework_scenes import INQUIRY, _open, call, incoming_in_review, officers_app, token
from casework_steps import context, deliver, now, state
from migrex.audit.tables import AuditLeafRow
from migrex.casework import assignment, drafts, filing, steps
from migrex.casework.assignment import ClaimedByAnother, claim
from migrex.casework.filing import file_inbox
from migrex.casework.lifecycle import IllegalTransition
from migrex.casework.service import refuse, withdraw
from migrex.casework.steps import load_case
from migrex.casework.tables import CaseEventRow
from migrex.exchange.relay import Relay
from migrex.exchange.tables import OutboxMessage
from migrex.officers.model import Officer, Role
from migrex.officers.service import add_officer, issue_token
from nodes import DirectTransport, Pair

REFUSAL = {"grounds": ["national-legislation"], "explanation": "Not ours to disclose."}
PASSWORD = "correct horse 9 battery"


def _count(pair: Pair, query: Any) -> int:
    with pair.am.unit_of_work() as uow:
        return uow.session.scalar(query) or 0


def _events(pair: Pair, case_id: str, event: str) -> int:
    query = (
        select(func.count())
        .select_from(CaseEventRow)
        .where(CaseEventRow.case_id == case_id, CaseEventRow.event == event)
    )
    return _count(pair, query)


def _audited(pair: Pair, case_id: str, event: str) -> int:
    # A decision's leaf names the case and the event; its data is the canonical encoding.
    reference = f"case:{case_id}:{event}".encode()
    leaves = select(AuditLeafRow.data).where(AuditLeafRow.kind == "decision")
    with pair.am.unit_of_work() as uow:
        return sum(reference in data for data in uow.session.scalars(leaves))


def _sent(pair: Pair, case_id: str, type_: str) -> int:
    query = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.case_id == case_id, OutboxMessage.type == type_)
    )
    return _count(pair, query)


@pytest.fixture
def app(pair: Pair) -> FastAPI:
    return officers_app(pair.am)


def test_two_reviewers_taking_one_case_into_review_at_once(
    pair: Pair, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = _open(pair.kz, "kz-mia", "am-mcs", "person-inquiry", INQUIRY)
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    anna, aram = (token(pair.am, name, [(Role.REVIEWER, "am-mcs")]) for name in ("anna", "aram"))
    url = f"/v1/cases/{case_id}/review"
    others = beside(monkeypatch, steps, "transition", lambda: call(app, "POST", url, aram))
    first = call(app, "POST", url, anna)
    [again] = others()
    assert first.status_code == 200, first.text
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert _events(pair, case_id, "open-review") == 1
    assert _audited(pair, case_id, "open-review") == 1


def test_a_refusal_posted_twice_at_once_leaves_once(
    pair: Pair, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = incoming_in_review(pair)
    reviewer = token(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    url = f"/v1/cases/{case_id}/refuse"
    others = beside(monkeypatch, steps, "transition",
                    lambda: call(app, "POST", url, reviewer, REFUSAL))  # fmt: skip
    first = call(app, "POST", url, reviewer, REFUSAL)
    [again] = others()
    assert {first.status_code, again.status_code} == {200, 409}, (first.text, again.text)
    assert _sent(pair, case_id, "refusal") == 1
    assert _events(pair, case_id, "refuse") == 1
    assert _audited(pair, case_id, "refuse") == 1


def test_an_answer_posted_twice_at_once_leaves_once(
    pair: Pair, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = incoming_in_review(pair)
    reviewer = token(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    url = f"/v1/cases/{case_id}/answer"
    # The one step drafts (committing the draft) and then submits: the second request comes
    # as the first, having checked the case and found its draft, sends it.
    others = beside(monkeypatch, drafts, "_send_draft", lambda: call(app, "POST", url, reviewer))
    first = call(app, "POST", url, reviewer)
    [again] = others()
    assert {first.status_code, again.status_code} == {200, 409}, (first.text, again.text)
    assert _sent(pair, case_id, "person-inquiry-reply") == 1
    assert _events(pair, case_id, "fulfil") + _events(pair, case_id, "fulfil-partially") == 1


def _second_officer(pair: Pair, app: FastAPI) -> str:
    """The app's node wants a second officer for every decision; returns the token of one,
    who has a password to sign in again with."""
    agreement = context(pair.am).agreements["kz-am-2024"]
    both = frozenset({"disclosure", "refusal"})
    strict = replace(
        agreement, data_protection=replace(agreement.data_protection, second_officer=both)
    )
    node = app.state.casework.node
    app.state.casework = replace(
        app.state.casework, node=replace(node, agreements={**node.agreements, agreement.id: strict})
    )
    with pair.am.unit_of_work() as uow:
        add_officer(uow, username="dana", display_name="Dana", roles=[(Role.REVIEWER, "am-mcs")],
                    password=PASSWORD, actor="admin",
                    hosted_authorities=pair.am.settings.authorities)  # fmt: skip
    with pair.am.unit_of_work() as uow:
        return issue_token(uow, username="dana", name="api", ttl=timedelta(days=1),
                           actor="admin").token  # fmt: skip


def test_an_approval_posted_twice_at_once_sends_the_answer_once(
    pair: Pair, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = incoming_in_review(pair)
    approver = _second_officer(pair, app)
    reviewer = token(pair.am, "anna", [(Role.REVIEWER, "am-mcs")])
    waiting = call(app, "POST", f"/v1/cases/{case_id}/answer", reviewer)
    assert waiting.status_code == 200 and _sent(pair, case_id, "person-inquiry-reply") == 0
    url, password = f"/v1/cases/{case_id}/draft/approve", {"password": PASSWORD}
    others = beside(monkeypatch, steps, "transition",
                    lambda: call(app, "POST", url, approver, password))  # fmt: skip
    first = call(app, "POST", url, approver, password)
    [again] = others()
    assert {first.status_code, again.status_code} == {200, 409}, (first.text, again.text)
    assert _sent(pair, case_id, "person-inquiry-reply") == 1
    assert _audited(pair, case_id, "approve") == 1


def _reviewer(pair: Pair, username: str) -> Officer:
    with pair.am.unit_of_work() as uow:
        return add_officer(uow, username=username, display_name=username.title(),
                           roles=[(Role.REVIEWER, "am-mcs")], password=None, actor="admin",
                           hosted_authorities=pair.am.settings.authorities)  # fmt: skip


def test_two_officers_claiming_one_case_at_once(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both were told they held the case (the second overwrote the first's claim)."""
    case_id = incoming_in_review(pair)
    anna, boris = _reviewer(pair, "anna"), _reviewer(pair, "boris")

    def claimed_by(officer: Officer) -> None:
        with pair.am.unit_of_work() as uow:
            claim(uow, [case_id], officer, now())

    others = beside(monkeypatch, assignment, "claim_refusal", lambda: claimed_by(boris))
    claimed_by(anna)
    [second] = others()
    assert isinstance(second, ClaimedByAnother), second
    with pair.am.unit_of_work() as uow:
        assert load_case(uow, case_id).assigned_to == anna.actor
    assert _audited(pair, case_id, "claim") == 1


def test_a_refusal_while_the_partners_withdrawal_is_filed(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The filing round read the case in review and moved it to withdrawn over the refusal an
    officer made meanwhile (PostgreSQL): a refusal left for a case the node shows withdrawn.
    The round holds the cases it files; the refusal waits and finds the case withdrawn."""
    case_id = incoming_in_review(pair)
    with pair.kz.unit_of_work() as uow:
        withdraw(uow, context(pair.kz), case_id, reason="sent in error", actor="officer:bolat",
                 now=now())  # fmt: skip
    relay = Relay("test", pair.kz.unit_of_work, pair.kz_trust,
                  DirectTransport(pair.am, pair.am_trust))  # fmt: skip
    while relay.run_once():
        pass

    def refuse_it() -> None:
        with pair.am.unit_of_work() as uow:
            refuse(uow, context(pair.am), case_id, grounds=REFUSAL["grounds"],
                   explanation="Not ours.", actor="officer:anna", now=now())  # fmt: skip

    refusals = beside(monkeypatch, filing, "file_message", refuse_it)
    with pair.am.unit_of_work() as uow:
        assert file_inbox(uow, context(pair.am), now()) == 1
    [refused] = refusals()
    assert isinstance(refused, IllegalTransition), refused
    assert state(pair.am, case_id) == "withdrawn"
    assert _sent(pair, case_id, "refusal") == 0


def test_a_withdrawal_while_the_partners_receipt_is_noted(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Noting the partner's receipt read our request as sent and moved it to delivered over
    the withdrawal an officer made meanwhile: the node showed delivered a request it had
    withdrawn. The round holds the cases it moves; the withdrawal waits and then stands."""
    case_id = _open(pair.am, "am-mcs", "kz-mia", "person-inquiry", INQUIRY)
    relay = Relay("test", pair.am.unit_of_work, pair.am_trust,
                  DirectTransport(pair.kz, pair.kz_trust))  # fmt: skip
    while relay.run_once():  # delivered, and receipted by Kazakhstan's node
        pass

    def withdraw_it() -> None:
        with pair.am.unit_of_work() as uow:
            withdraw(uow, context(pair.am), case_id, reason="sent in error",
                     actor="officer:anna", now=now())  # fmt: skip

    withdrawals = beside(monkeypatch, filing, "move", withdraw_it)
    with pair.am.unit_of_work() as uow:
        file_inbox(uow, context(pair.am), now())
    assert withdrawals() == [None]
    assert state(pair.am, case_id) == "withdrawn"
    assert _events(pair, case_id, "withdraw") == 1
