"""A decision is drafted, previewed, narrowed and submitted; under four eyes a second officer,
who signs in again, approves it (issue 10, item 8)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casework_scenes import INQUIRY, call, officers_app, token
from casework_steps import context, deliver, now, state
from factories import employment, person_present, write_csv
from migrex.casework import drafts
from migrex.casework.context import NodeContext
from migrex.casework.lifecycle import CaseState
from migrex.casework.service import OpenRequest, open_request, open_review
from migrex.casework.tables import CaseMessageRow
from migrex.exchange.tables import OutboxMessage
from migrex.ledger.tables import DisclosureRow
from migrex.officers.model import Role
from migrex.officers.service import add_officer, issue_token
from migrex.registry.columns import Kind
from migrex.registry.service import import_registries
from migrex.registry.sql import SqlRegistries
from nodes import Pair

ASKED = ["surname_latin", "permit_type", "employer_name", "permit_valid_to"]


def _in_review(pair: Pair, tmp_path: Path) -> str:
    write_csv(
        tmp_path / "p.csv", Kind.PERSONS_PRESENT, [person_present(1, document_number="AM1234567")]
    )
    write_csv(tmp_path / "e.csv", Kind.EMPLOYMENT, [employment(1, 1)])
    with pair.kz.unit_of_work() as uow:
        import_registries(
            uow,
            [(Kind.PERSONS_PRESENT, tmp_path / "p.csv"), (Kind.EMPLOYMENT, tmp_path / "e.csv")],
            state="KZ",
            actor="t",
        )
    with pair.am.unit_of_work() as uow:
        opened = open_request(
            uow,
            context(pair.am),
            OpenRequest(
                "kz-am-2024",
                "am-mcs",
                "kz-mia",
                "person-inquiry",
                {**INQUIRY, "requested_fields": ASKED, "step": "full"},
                "officer:anna",
            ),
            now(),
        )
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        open_review(uow, opened.case_id, "officer:bolat", now())
    return opened.case_id


def _four_eyes(pair: Pair) -> NodeContext:
    node = context(pair.kz)
    agreement = node.agreements["kz-am-2024"]
    strict = replace(
        agreement,
        data_protection=replace(
            agreement.data_protection, second_officer=frozenset({"disclosure", "refusal"})
        ),
    )
    return replace(node, agreements={**node.agreements, "kz-am-2024": strict})


def _outbox(pair: Pair) -> int:
    with pair.kz.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def test_the_preview_shows_what_leaves_and_narrowing_withholds_it(
    pair: Pair, tmp_path: Path
) -> None:
    case_id = _in_review(pair, tmp_path)
    with pair.kz.unit_of_work() as uow:
        drafted = drafts.draft_answer(
            uow,
            context(pair.kz),
            SqlRegistries(uow.session),
            case_id,
            hit_key=b"k" * 32,
            actor="officer:bolat",
            now=now(),
        )
    [person] = drafted.persons
    assert person.named_as["document_number"] == "AM1234567"
    assert person.leaving["employer_name"] == "Alatau Construction LLP"
    assert person.withheld == {"permit_valid_to": "not held"} or "permit_valid_to" in person.leaving
    assert _outbox(pair) == 0  # a draft sends nothing
    with pair.kz.unit_of_work() as uow:
        narrowed = drafts.narrow(
            uow,
            context(pair.kz),
            case_id,
            fields=["employer_name"],
            actor="officer:bolat",
            now=now(),
        )
    [person] = narrowed.persons
    assert "employer_name" not in person.leaving
    assert person.withheld["employer_name"] == drafts.WITHHELD_BY_REVIEWER
    with pair.kz.unit_of_work() as uow:
        sent = drafts.submit(uow, context(pair.kz), case_id, actor="officer:bolat", now=now())
    assert sent.status == "sent" and sent.message_id and _outbox(pair) == 1
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    assert state(pair.am, case_id) == CaseState.PARTIALLY_ANSWERED
    with pair.kz.unit_of_work() as uow:
        sent_fields = uow.session.scalars(
            select(DisclosureRow.fields).where(
                DisclosureRow.case_id == case_id, DisclosureRow.direction == "sent"
            )
        ).all()
        reads = uow.session.scalar(
            select(func.count())
            .select_from(DisclosureRow)
            .where(DisclosureRow.case_id == case_id, DisclosureRow.direction == "read")
        )
    assert sent_fields and all("employer_name" not in f for f in sent_fields)
    assert reads  # showing the draft was a read of personal data


def test_under_four_eyes_the_drafter_cannot_approve_and_a_second_officer_can(
    pair: Pair, tmp_path: Path
) -> None:
    case_id = _in_review(pair, tmp_path)
    strict = _four_eyes(pair)
    with pair.kz.unit_of_work() as uow:
        drafts.draft_answer(
            uow,
            strict,
            SqlRegistries(uow.session),
            case_id,
            hit_key=b"k" * 32,
            actor="officer:bolat",
            now=now(),
        )
    with pair.kz.unit_of_work() as uow:
        waiting = drafts.submit(uow, strict, case_id, actor="officer:bolat", now=now())
    assert waiting.status == "awaiting-approval" and waiting.needs_second_officer
    assert _outbox(pair) == 0
    with pair.kz.unit_of_work() as uow, pytest.raises(drafts.SecondOfficerRequired):
        drafts.approve(uow, strict, case_id, approver="officer:bolat", now=now())
    assert _outbox(pair) == 0 and state(pair.kz, case_id) == CaseState.IN_REVIEW
    with pair.kz.unit_of_work() as uow:
        approved = drafts.approve(uow, strict, case_id, approver="officer:dana", now=now())
    assert approved.status == "sent" and _outbox(pair) == 1
    with pair.kz.unit_of_work() as uow:
        actor = uow.session.scalar(
            select(CaseMessageRow.actor).where(CaseMessageRow.message_id == approved.message_id)
        )
    assert actor == "officer:dana"


def test_approval_through_the_api_needs_a_fresh_sign_in(pair: Pair, tmp_path: Path) -> None:
    case_id = _in_review(pair, tmp_path)
    app = officers_app(pair.kz)
    app.state.casework = replace(app.state.casework, node=_four_eyes(pair))
    drafter = token(pair.kz, "bolat", [(Role.REVIEWER, "kz-mia")])
    with pair.kz.unit_of_work() as uow:
        add_officer(
            uow,
            username="dana",
            display_name="Dana",
            roles=[(Role.REVIEWER, "kz-mia")],
            password="correct horse 9 battery",
            actor="admin",
            hosted_authorities=pair.kz.settings.authorities,
        )
    with pair.kz.unit_of_work() as uow:
        second = issue_token(
            uow, username="dana", name="api", ttl=timedelta(days=1), actor="admin"
        ).token
    assert call(app, "POST", f"/v1/cases/{case_id}/draft", drafter).status_code == 200
    narrowed = call(
        app, "POST", f"/v1/cases/{case_id}/draft/narrow", drafter, {"fields": ["employer_name"]}
    )
    assert narrowed.status_code == 200, narrowed.text
    submitted = call(app, "POST", f"/v1/cases/{case_id}/draft/submit", drafter)
    assert submitted.json()["status"] == "awaiting-approval"
    own = call(app, "POST", f"/v1/cases/{case_id}/draft/approve", drafter, {"password": "x"})
    assert own.status_code in {401, 403} and _outbox(pair) == 0
    wrong = call(app, "POST", f"/v1/cases/{case_id}/draft/approve", second, {"password": "no"})
    assert wrong.status_code == 401 and _outbox(pair) == 0
    right = call(
        app,
        "POST",
        f"/v1/cases/{case_id}/draft/approve",
        second,
        {"password": "correct horse 9 battery"},
    )
    assert right.status_code == 200, right.text
    assert right.json()["status"] == "sent" and _outbox(pair) == 1
