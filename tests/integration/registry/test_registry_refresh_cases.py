"""A record a case was answered from, then removed by the next month's snapshot, is not lost:
the case keeps its reply, and the register as of the answer still gives the same reply."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from casework_steps import context, deliver, now
from factories import employment, person_present, write_csv
from migrex.casework.answers import answer_inquiry, build_reply
from migrex.casework.queries import case_messages
from migrex.casework.service import OpenRequest, open_request, open_review
from migrex.casework.tables import CaseRow
from migrex.registry.columns import Kind
from migrex.registry.history import RegistersAsOf
from migrex.registry.refresh import Mode
from migrex.registry.service import import_registries
from migrex.registry.sql import SqlRegistries
from migrex.registry.tables import RecordVersion
from nodes import Pair

ASKED = ["surname_latin", "permit_type", "employer_name", "registration_address"]


def inquiry() -> dict[str, Any]:
    return {
        "purpose": "legal-status-of-stay",
        "legal_basis": "Law of the Republic of Armenia on Foreigners, Article 12, part 3",
        "persons": [{"surname_latin": "HOVHANNISYAN", "given_name_latin": "ARAM",
                     "birth_date": "1985-03-14", "citizenship": "ARM",
                     "document_number": "AM1234567"}],
        "requested_fields": ASKED,
    }  # fmt: skip


def refresh(pair: Pair, folder: Path, registers: dict[Kind, list[dict[str, Any]]],
            mode: Mode) -> None:  # fmt: skip
    folder.mkdir()
    found = [(k, write_csv(folder / f"{k}.csv", k, rows)) for k, rows in registers.items()]
    with pair.kz.unit_of_work() as uow:
        import_registries(uow, found, state="KZ", actor="test", mode=mode, max_removed=100)


def test_a_removed_record_stays_visible_in_the_case_it_answered(pair: Pair, tmp_path: Path) -> None:
    answered = person_present(1, document_number="AM1234567")
    refresh(pair, tmp_path / "jan", {Kind.PERSONS_PRESENT: [answered, person_present(2)],
                                     Kind.EMPLOYMENT: [employment(1, 1)]}, Mode.APPEND)  # fmt: skip
    with pair.am.unit_of_work() as uow:
        opened = open_request(
            uow, context(pair.am),
            OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", inquiry(),
                        "officer:anna"),
            now(),
        )  # fmt: skip
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        open_review(uow, opened.case_id, "officer:bolat", now())
    with pair.kz.unit_of_work() as uow:
        sent = answer_inquiry(uow, context(pair.kz), SqlRegistries(uow.session), opened.case_id,
                              hit_key=b"k" * 32, actor="officer:bolat", now=now())  # fmt: skip
    [result] = sent.results
    assert result.hit and result.fields["employer_name"] == "Alatau Construction LLP"
    with pair.kz.unit_of_work() as uow:
        answered_at = case_messages(uow, opened.case_id)[-1].at

    # February's export no longer holds the person (nor the employment spell).
    refresh(pair, tmp_path / "feb", {Kind.PERSONS_PRESENT: [person_present(2)],
                                     Kind.EMPLOYMENT: []}, Mode.SNAPSHOT)  # fmt: skip

    with pair.kz.unit_of_work() as uow:
        registries = SqlRegistries(uow.session)
        assert registries.present_holding(document_number="AM1234567") == []
        # The case still shows the reply it sent, cell for cell.
        reply = case_messages(uow, opened.case_id)[-1]
        assert reply.type == "person-inquiry-reply"
        assert json.loads(reply.body)["results"][0]["fields"] == result.fields
        # And the register as it stood at the answer gives the very same reply again.
        case = uow.session.get(CaseRow, opened.case_id)
        assert case is not None
        then = build_reply(uow, context(pair.kz), RegistersAsOf(uow.session, answered_at), case,
                           hit_key=b"k" * 32)  # fmt: skip
        assert then.results[0].fields == result.fields
        kept = uow.session.scalars(
            select(RecordVersion.record_key).where(RecordVersion.ended == "removed")
        ).all()
        assert sorted(kept) == ["KZ-EM-0000001", "KZ-PP-0000001"]
