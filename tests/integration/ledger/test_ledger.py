"""The disclosure ledger on both nodes of a request and its answer, the data-subject report,
and volume limits enforced at send and at receive."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from casework_scenes import token
from casework_steps import context, deliver, now
from factories import employment, person_present, write_csv
from migrex.agreements import Agreement
from migrex.casework.answers import answer_inquiry
from migrex.casework.service import NodeContext, OpenRequest, open_request, open_review
from migrex.casework.tables import ScreeningNoteRow
from migrex.cli import app
from migrex.exchange.service import NotPermitted
from migrex.ledger.service import subject_report
from migrex.ledger.subjects import document_identifier
from migrex.ledger.tables import DisclosureRow
from migrex.ledger.volume import limits_report
from migrex.officers.model import NotAuthenticated, NotAuthorised, Role
from migrex.registry.columns import Kind
from migrex.registry.service import import_registries
from migrex.registry.sql import SqlRegistries
from nodes import Pair

runner = CliRunner()
DOCUMENT = "AM1234567"


def inquiry(*documents: str) -> dict[str, Any]:
    return {
        "purpose": "legal-status-of-stay",
        "legal_basis": "Law of the Republic of Armenia on Foreigners, Article 12, part 3",
        "persons": [{"citizenship": "ARM", "document_number": d} for d in documents],
        "requested_fields": ["surname_latin", "permit_type"],
    }


def ask(pair: Pair, body: dict[str, Any], ctx: NodeContext | None = None) -> str:
    with pair.am.unit_of_work() as uow:
        opened = open_request(
            uow, ctx or context(pair.am),
            OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", body, "officer:anna"),
            now(),
        )  # fmt: skip
    return opened.case_id


def test_request_and_answer_are_in_both_ledgers(pair: Pair, tmp_path: Path) -> None:
    write_csv(tmp_path / "p.csv", Kind.PERSONS_PRESENT,
              [person_present(1, document_number=DOCUMENT, permit_valid_to="")])  # fmt: skip
    write_csv(tmp_path / "e.csv", Kind.EMPLOYMENT, [employment(1, 1)])
    with pair.kz.unit_of_work() as uow:
        files = [(Kind.PERSONS_PRESENT, tmp_path / "p.csv"), (Kind.EMPLOYMENT, tmp_path / "e.csv")]
        import_registries(uow, files, state="KZ", actor="test")
    case_id = ask(pair, inquiry(DOCUMENT))
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        open_review(uow, case_id, "officer:bolat", now())
    with pair.kz.unit_of_work() as uow:
        answer_inquiry(uow, context(pair.kz), SqlRegistries(uow.session), case_id,
                       hit_key=b"k" * 32, actor="officer:bolat", now=now())  # fmt: skip
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)

    identifiers = [document_identifier(DOCUMENT)]
    with pair.am.unit_of_work() as uow:
        am = subject_report(uow.session, context(pair.am).subject_key, identifiers)
    with pair.kz.unit_of_work() as uow:
        kz = subject_report(uow.session, context(pair.kz).subject_key, identifiers)
    assert [(e.direction, e.message_type) for e in am] == [
        ("sent", "person-inquiry"),
        ("received", "person-inquiry-reply"),
    ]
    assert [(e.direction, e.message_type) for e in kz] == [
        ("received", "person-inquiry"),
        ("sent", "person-inquiry-reply"),
    ]
    reply = kz[1]
    assert reply.partner_authority == "am-mcs" and reply.actor == "officer:bolat"
    assert reply.purpose == "legal-status-of-stay" and "Article 12" in (reply.legal_basis or "")
    assert "surname_latin" in reply.fields and "registration_address" not in reply.fields
    # Each node hashes with its own key: the other node's ledger cannot be searched with it.
    with pair.kz.unit_of_work() as uow:
        assert subject_report(uow.session, context(pair.am).subject_key, identifiers) == []
        stored = uow.session.scalars(select(DisclosureRow.subject_hash)).all()
    assert stored and all(DOCUMENT not in h for h in stored)

    config = str(pair.kz.settings.data_dir.parent / "node.toml")
    dpo = token(pair.kz, "dina", [(Role.DATA_PROTECTION_OFFICER, "kz-mia")])
    report = ["--config", config, "subject", "report", "--authority", "kz-mia"]
    shown = runner.invoke(app, [*report, "--document", DOCUMENT, "--json", "--token", dpo])
    assert shown.exit_code == 0, shown.output
    assert [e["direction"] for e in json.loads(shown.output)] == ["received", "sent"]
    nobody = runner.invoke(app, [*report, "--document", "X1"], env={"MIGREX_TOKEN": dpo})
    assert nobody.exit_code == 0 and "nothing" in nobody.output
    # Only an officer whose role allows subject reports for the authority gets one.
    anonymous = runner.invoke(app, [*report, "--document", DOCUMENT, "--json"])
    assert anonymous.exit_code == NotAuthenticated.exit_code
    assert DOCUMENT not in anonymous.output and "received" not in anonymous.output
    reviewer = token(pair.kz, "bolat", [(Role.REVIEWER, "kz-mia")])
    refused = runner.invoke(app, [*report, "--document", DOCUMENT, "--token", reviewer])
    assert refused.exit_code == NotAuthorised.exit_code and "may not" in refused.output
    limits = runner.invoke(app, ["--config", config, "limits", "--authority", "kz-mia", "--json",
                                 "--token", dpo])  # fmt: skip
    assert limits.exit_code == 0, limits.output
    assert {(u["partner_state"], u["direction"]) for u in json.loads(limits.output)} == {
        ("AM", "sent"), ("AM", "received")}  # fmt: skip


def _tight(agreement: Agreement, per_period: int) -> Agreement:
    protection = agreement.data_protection
    volume = dataclasses.replace(protection.volume, max_persons_per_period=per_period,
                                 max_persons_per_request=per_period)  # fmt: skip
    return dataclasses.replace(
        agreement, data_protection=dataclasses.replace(protection, volume=volume)
    )


def _limited(ctx: NodeContext, per_period: int) -> NodeContext:
    agreements = {k: _tight(a, per_period) for k, a in ctx.agreements.items()}
    return NodeContext(agreements, ctx.hosted, ctx.subject_key, ctx.retention_key)


def test_the_period_limit_stops_a_send(pair: Pair) -> None:
    tight = _limited(context(pair.am), 2)
    ask(pair, inquiry("AM1000001", "AM1000002"), tight)
    with pytest.raises(NotPermitted, match="breaches") as refused:
        ask(pair, inquiry("AM1000003"), tight)
    assert "volume-exceeded" in {p.where for p in refused.value.problems}
    with pair.am.unit_of_work() as uow:
        recorded = uow.session.scalar(select(func.count()).select_from(DisclosureRow))
        [sent, _received] = limits_report(uow.session, tight.agreements, "AM", now())
    assert recorded == 2  # the refused request recorded nothing
    assert (sent.direction, sent.persons, sent.limit, sent.share) == ("sent", 2, 2, 1.0)


def test_a_receipt_over_the_limit_becomes_a_proposed_refusal(pair: Pair) -> None:
    first = ask(pair, inquiry("AM1000001", "AM1000002"))
    late = ask(pair, inquiry("AM1000003"))  # Armenia's node has the file's limit (2,000)
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust, _limited(context(pair.kz), 2))
    with pair.kz.unit_of_work() as uow:
        notes = {
            case_id: set(
                uow.session.scalars(
                    select(ScreeningNoteRow.kind).where(ScreeningNoteRow.case_id == case_id)
                )
            )
            for case_id in (first, late)
        }
    assert "volume-exceeded" not in notes[first]
    assert "volume-exceeded" in notes[late]
