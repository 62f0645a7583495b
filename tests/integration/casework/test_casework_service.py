"""Casework between two nodes' databases: a request opened in Armenia, screened and refused in
Kazakhstan, and the refusal closing the Armenian case. The relay carries the messages."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from casework_scenes import incoming_in_review
from casework_steps import case, context, deliver, now
from factories import employment, person_present, write_csv
from migrex.agreements import load_agreement
from migrex.casework.answers import answer_inquiry
from migrex.casework.lifecycle import CaseState, IllegalTransition
from migrex.casework.onward import OnwardTransferRefused
from migrex.casework.service import (
    OpenRequest,
    open_request,
    open_review,
    overdue_cases,
    refuse,
    withdraw,
)
from migrex.casework.tables import CaseEventRow, CaseRow, ScreeningNoteRow
from migrex.exchange.service import NotPermitted
from migrex.exchange.tables import OutboxMessage
from migrex.registry.columns import Kind
from migrex.registry.service import import_registries
from migrex.registry.sql import SqlRegistries
from nodes import Pair

ROOT = Path(__file__).parents[3]
KG_RECEIVER = "kg-migration"
KG_PURPOSE = "labour-migration-control"


def inquiry(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "purpose": "legal-status-of-stay",
        "legal_basis": "Law of the Republic of Armenia on Foreigners, Article 12, part 3",
        "persons": [
            {
                "surname_latin": "HOVHANNISYAN",
                "given_name_latin": "ARAM",
                "birth_date": "1985-03-14",
                "citizenship": "ARM",
                "document_number": "AM1234567",
            }
        ],
        "requested_fields": ["surname_latin", "given_name_latin", "permit_type", "employer_name"],
    }
    body.update(overrides)
    return body


def test_request_refused_on_a_security_ground(pair: Pair) -> None:
    with pair.am.unit_of_work() as uow:
        opened = open_request(
            uow, context(pair.am),
            OpenRequest(
                "kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", inquiry(), "officer:anna"
            ),
            now(),
        )  # fmt: skip
    assert case(pair.am, opened.case_id).state == CaseState.SENT

    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    incoming = case(pair.kz, opened.case_id)
    assert (incoming.direction, incoming.state) == ("incoming", CaseState.DELIVERED)
    assert incoming.our_authority == "kz-mia" and incoming.partner_authority == "am-mcs"

    with pair.kz.unit_of_work() as uow:
        open_review(uow, opened.case_id, "officer:bolat", now())
    with pair.kz.unit_of_work() as uow:
        refuse(uow, context(pair.kz), opened.case_id, grounds=["security"],
               explanation="The person is subject of a security check", actor="officer:bolat",
               now=now())  # fmt: skip
    assert case(pair.kz, opened.case_id).state == CaseState.REFUSED

    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    closed = case(pair.am, opened.case_id)
    assert closed.state == CaseState.REFUSED and closed.closed_at is not None
    with pair.am.unit_of_work() as uow:
        events = list(uow.session.scalars(select(CaseEventRow.event).order_by(CaseEventRow.id)))
    # The partner's receipt of the request is noted before its refusal arrives.
    assert events == ["send", "delivered", "refuse"]


def test_a_breach_stops_the_send_and_stores_nothing(pair: Pair) -> None:
    body = inquiry(requested_fields=["registration_address", "employer_id"], purpose="assistance")
    with pair.am.unit_of_work() as uow, pytest.raises(NotPermitted) as caught:
        open_request(
            uow, context(pair.am),
            OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", body, "officer:anna"),
            now(),
        )  # fmt: skip
    assert caught.value.problems
    with pair.am.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CaseRow)) == 0
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_doubts_become_flags_for_the_reviewer(pair: Pair) -> None:
    with pair.am.unit_of_work() as uow:
        opened = open_request(
            uow, context(pair.am),
            OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry",
                        inquiry(legal_basis="the agreement"), "officer:anna"),
            now(),
        )  # fmt: skip
    assert any(flag.startswith("legal-basis-vague") for flag in opened.flags)
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        kinds = set(uow.session.scalars(select(ScreeningNoteRow.kind)))
    assert "legal-basis-vague" in kinds


def test_withdrawal_and_overdue(pair: Pair) -> None:
    with pair.am.unit_of_work() as uow:
        first = open_request(
            uow,
            context(pair.am),
            OpenRequest(
                "kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", inquiry(), "officer:anna"
            ),
            now(),
        )
    with pair.am.unit_of_work() as uow:
        second = open_request(
            uow,
            context(pair.am),
            OpenRequest(
                "kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", inquiry(), "officer:anna"
            ),
            now(),
        )
    with pair.am.unit_of_work() as uow:
        withdraw(uow, context(pair.am), first.case_id, reason="sent in error",
                 actor="officer:anna", now=now())  # fmt: skip
    assert case(pair.am, first.case_id).state == CaseState.WITHDRAWN
    later = now() + timedelta(days=400)
    with pair.am.unit_of_work() as uow:
        assert [c.id for c in overdue_cases(uow, later)] == [second.case_id]
        assert overdue_cases(uow, now()) == []


def test_an_inquiry_is_answered_with_only_the_profiles_fields(pair: Pair, tmp_path: Any) -> None:
    person = person_present(1, document_number="AM1234567", permit_valid_to="")
    write_csv(tmp_path / "p.csv", Kind.PERSONS_PRESENT, [person])
    write_csv(tmp_path / "e.csv", Kind.EMPLOYMENT, [employment(1, 1)])
    with pair.kz.unit_of_work() as uow:
        files = [(Kind.PERSONS_PRESENT, tmp_path / "p.csv"), (Kind.EMPLOYMENT, tmp_path / "e.csv")]
        import_registries(uow, files, state="KZ", actor="test")
    asked = [
        "surname_latin",
        "permit_type",
        "employer_name",
        "registration_address",
        "permit_valid_to",
    ]
    with pair.am.unit_of_work() as uow:
        opened = open_request(
            uow, context(pair.am),
            OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry",
                        inquiry(requested_fields=asked), "officer:anna"),
            now(),
        )  # fmt: skip
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        open_review(uow, opened.case_id, "officer:bolat", now())
    with pair.kz.unit_of_work() as uow:
        reply = answer_inquiry(
            uow, context(pair.kz), SqlRegistries(uow.session), opened.case_id,
            hit_key=b"k" * 32, actor="officer:bolat", now=now(),
        )  # fmt: skip
    [result] = reply.results
    allowed = pair.kz.agreements["kz-am-2024"].fields_allowed("legal-status-of-stay")
    assert result.hit and set(result.fields) <= allowed & set(asked)
    assert result.fields["employer_name"] == "Alatau Construction LLP"
    assert "permit_valid_to" in {w.field for w in result.withheld}  # allowed but not held
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    assert case(pair.am, opened.case_id).state == CaseState.PARTIALLY_ANSWERED


def test_data_received_from_armenia_cannot_be_passed_to_a_third_state(pair: Pair) -> None:
    with pair.am.unit_of_work() as uow:
        open_request(
            uow, context(pair.am),
            OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", inquiry(),
                        "officer:anna"),
            now(),
        )  # fmt: skip
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    agreements = {
        **pair.kz.agreements,
        "kz-kg-example": load_agreement(ROOT / "agreements" / "kz-kg-example.toml"),
    }  # fmt: skip
    # No caller says where the person came from: the gate finds it in the ledger.
    kz = replace(context(pair.kz), agreements=agreements)
    onward = OpenRequest(
        "kz-kg-example", "kz-mlsp", KG_RECEIVER, "person-inquiry",
        inquiry(purpose=KG_PURPOSE, requested_fields=["surname_latin"]), "officer:bolat",
    )  # fmt: skip
    with pair.kz.unit_of_work() as uow, pytest.raises(OnwardTransferRefused):
        open_request(uow, kz, onward, now())
    with pair.kz.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    back_home = OpenRequest(
        "kz-am-2024", "kz-mia", "am-mcs", "person-inquiry", inquiry(), "officer:bolat"
    )
    with pair.kz.unit_of_work() as uow:
        assert open_request(uow, context(pair.kz), back_home, now()).case_id


def test_the_partners_request_cannot_be_withdrawn_by_us(pair: Pair) -> None:
    """The state machine lets an incoming case in review become withdrawn (when the partner
    withdraws it); an officer here must not: that would send the partner a withdrawal of its
    own request."""
    case_id = incoming_in_review(pair)
    with pair.am.unit_of_work() as uow:
        sent_before = uow.session.scalar(select(func.count()).select_from(OutboxMessage))
    with pair.am.unit_of_work() as uow, pytest.raises(IllegalTransition) as refused:
        withdraw(uow, context(pair.am), case_id, reason="not ours", actor="officer:anna",
                 now=now())  # fmt: skip
    assert refused.value.status == 409 and "partner's request" in refused.value.detail
    assert case(pair.am, case_id).state == CaseState.IN_REVIEW
    with pair.am.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == sent_before
