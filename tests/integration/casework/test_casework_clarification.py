"""A request with doubts between the two nodes: Kazakhstan's reviewer asks for clarification,
Armenia answers with a precise legal basis, the request is back in review and answered."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from casework_steps import context, deliver, now, state
from factories import person_present, write_csv
from migrex.casework.answers import answer_inquiry
from migrex.casework.bodies import body_text
from migrex.casework.clarification import answer_clarification, ask_clarification
from migrex.casework.lifecycle import CaseState, IllegalTransition
from migrex.casework.service import OpenRequest, open_request, open_review
from migrex.casework.tables import CaseEventRow, CaseMessageRow
from migrex.exchange.service import NotPermitted
from migrex.exchange.tables import OutboxMessage
from migrex.registry.columns import Kind
from migrex.registry.service import import_registries
from migrex.registry.sql import SqlRegistries
from nodes import Pair

PRECISE = "Law of the Republic of Armenia on Foreigners, Article 12, part 3"


def vague_inquiry(pair: Pair) -> str:
    body = {
        "purpose": "legal-status-of-stay",
        "legal_basis": "the agreement",
        "persons": [{"surname_latin": "HOVHANNISYAN", "given_name_latin": "ARAM",
                     "birth_date": "1985-03-14", "citizenship": "ARM",
                     "document_number": "AM1234567"}],
        "requested_fields": ["surname_latin", "permit_type"],
    }  # fmt: skip
    with pair.am.unit_of_work() as uow:
        opened = open_request(
            uow, context(pair.am),
            OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", body, "officer:anna"),
            now(),
        )  # fmt: skip
    assert any(flag.startswith("legal-basis-vague") for flag in opened.flags)
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        open_review(uow, opened.case_id, "officer:bolat", now())
    return opened.case_id


def test_a_doubtful_request_is_answered_after_a_clarification(pair: Pair, tmp_path: Any) -> None:
    write_csv(tmp_path / "p.csv", Kind.PERSONS_PRESENT,
              [person_present(1, document_number="AM1234567")])  # fmt: skip
    with pair.kz.unit_of_work() as uow:
        import_registries(uow, [(Kind.PERSONS_PRESENT, tmp_path / "p.csv")], state="KZ",
                          actor="test")  # fmt: skip
    case_id = vague_inquiry(pair)
    assert state(pair.kz, case_id) == CaseState.IN_REVIEW

    with pair.kz.unit_of_work() as uow:
        ask_clarification(uow, context(pair.kz), case_id,
                          question="Which law and article is the request made under?",
                          actor="officer:bolat", now=now())  # fmt: skip
    assert state(pair.kz, case_id) == CaseState.CLARIFICATION_REQUESTED
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    assert state(pair.am, case_id) == CaseState.CLARIFICATION_REQUESTED

    with pair.am.unit_of_work() as uow:
        answer_clarification(uow, context(pair.am), case_id,
                             answer={"answers": ["See the legal basis."], "legal_basis": PRECISE},
                             actor="officer:anna", now=now())  # fmt: skip
    assert state(pair.am, case_id) == CaseState.DELIVERED
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    assert state(pair.kz, case_id) == CaseState.IN_REVIEW

    with pair.kz.unit_of_work() as uow:
        reply = answer_inquiry(uow, context(pair.kz), SqlRegistries(uow.session), case_id,
                               hit_key=b"k" * 32, actor="officer:bolat", now=now())  # fmt: skip
    assert [r.hit for r in reply.results] == [True]
    assert state(pair.kz, case_id) in {CaseState.ANSWERED, CaseState.PARTIALLY_ANSWERED}
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    assert state(pair.am, case_id) == state(pair.kz, case_id)

    with pair.kz.unit_of_work() as uow:
        events = list(uow.session.scalars(
            select(CaseEventRow.event).where(CaseEventRow.case_id == case_id)
            .order_by(CaseEventRow.id)
        ))  # fmt: skip
        row = uow.session.scalars(
            select(CaseMessageRow).where(CaseMessageRow.type == "clarification-answer")
        ).one()
        answer = body_text(uow, context(pair.kz), row)
    assert events[:3] == ["open-review", "request-clarification", "clarification-answered"]
    assert PRECISE in answer
    assert PRECISE not in row.body  # stored sealed: received personal-data casework


def test_an_answer_that_would_breach_is_not_sent(pair: Pair) -> None:
    case_id = vague_inquiry(pair)
    with pair.kz.unit_of_work() as uow:
        ask_clarification(uow, context(pair.kz), case_id, question="Why these fields?",
                          actor="officer:bolat", now=now())  # fmt: skip
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    with pair.am.unit_of_work() as uow:
        before = uow.session.scalar(select(func.count()).select_from(OutboxMessage))
    outside = {"answers": ["We need the address."], "requested_fields": ["registration_address"],
               "purpose": "assistance"}  # fmt: skip
    with pair.am.unit_of_work() as uow, pytest.raises(NotPermitted):
        answer_clarification(uow, context(pair.am), case_id, answer=outside,
                             actor="officer:anna", now=now())  # fmt: skip
    assert state(pair.am, case_id) == CaseState.CLARIFICATION_REQUESTED
    with pair.am.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == before


def test_only_a_case_in_review_can_be_asked_about(pair: Pair) -> None:
    case_id = vague_inquiry(pair)
    before = state(pair.am, case_id)
    with pair.am.unit_of_work() as uow, pytest.raises(IllegalTransition):
        # Armenia's own outgoing case: the requesting party does not ask itself.
        ask_clarification(uow, context(pair.am), case_id, question="?", actor="officer:anna",
                          now=now())  # fmt: skip
    assert state(pair.am, case_id) == before  # unchanged


def test_the_answer_follows_the_request_as_the_clarification_narrowed_it(
    pair: Pair, tmp_path: Any
) -> None:
    write_csv(tmp_path / "p.csv", Kind.PERSONS_PRESENT,
              [person_present(1, document_number="AM1234567")])  # fmt: skip
    with pair.kz.unit_of_work() as uow:
        import_registries(uow, [(Kind.PERSONS_PRESENT, tmp_path / "p.csv")], state="KZ",
                          actor="test")  # fmt: skip
    case_id = vague_inquiry(pair)  # asks for surname_latin and permit_type
    with pair.kz.unit_of_work() as uow:
        ask_clarification(uow, context(pair.kz), case_id, question="Do you need the permit?",
                          actor="officer:bolat", now=now())  # fmt: skip
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    with pair.am.unit_of_work() as uow:
        answer_clarification(uow, context(pair.am), case_id,
                             answer={"answers": ["No, only the name."], "legal_basis": PRECISE,
                                     "requested_fields": ["surname_latin"]},
                             actor="officer:anna", now=now())  # fmt: skip
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        reply = answer_inquiry(uow, context(pair.kz), SqlRegistries(uow.session), case_id,
                               hit_key=b"k" * 32, actor="officer:bolat", now=now())  # fmt: skip
    [result] = reply.results
    assert set(result.fields) == {"surname_latin"}
