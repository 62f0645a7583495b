"""Partner data in kept leads: what Armenia answered to one of Kazakhstan's person inquiries
(the members' employer there, the violations it recorded) joins Kazakhstan's graph with its
provenance; a lead built on it is marked so, goes back to Armenia only, never to a third
state, and forgets the answer when its retention ends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from casework_scenes import officers_app, token
from casework_steps import context, deliver, now
from channel_scenes import import_am, synthetic_registers
from console_client import Browser, add_console_officer
from factories import person_present, write_csv
from migrex.casework.onward import OnwardTransferRefused
from migrex.casework.service import OpenRequest, open_request
from migrex.casework.tables import CaseRow
from migrex.channels import model, service
from migrex.channels.partner import partner_facts
from migrex.channels.runs import StoreRun, store_run
from migrex.channels.service import dismiss_lead, edge_source, forget_departed, open_lead, show_lead
from migrex.channels.tables import LeadEdgeRow, LeadMemberRow, LeadRow
from migrex.cli import app
from migrex.envelope import new_message_id
from migrex.exchange.outbox import OutgoingMessage, enqueue
from migrex.exchange.tables import OutboxMessage
from migrex.officers.model import Grant, Officer, Role
from migrex.registry.columns import Kind
from migrex.registry.service import import_registries
from migrex.registry.tables import PersonPresentRow
from migrex.retention.run import run_retention
from nodes import Pair

CHANNEL = range(80_000, 80_012)
OTHERS = range(80_100, 80_400)
TOLD = list(CHANNEL)[:9]  # the members Armenia's answer finds
CAUGHT = list(CHANNEL)[:6]  # the members it recorded a violation of
FIRM = "Steppe Recruiting LLP"
ANALYST = Officer(0, "aigerim", "Aigerim", frozenset({Grant(Role.ANALYST, "kz-mia")}))


def _record(n: int) -> str:
    return f"KZ-PP-{n:07d}"


def _document(n: int) -> str:
    return str(person_present(n)["document_number"])


def _import(pair: Pair, root: Path) -> None:
    people = [
        person_present(n, record_id=_record(n), inviting_party="940540000012",
                       registration_address="Almaty, Abay 3, flat 9",
                       entry_date=f"2024-03-{n - CHANNEL.start + 1:02d}")
        for n in CHANNEL
    ] + [person_present(n, record_id=_record(n), registration_address=f"Astana, Mira {n}")
         for n in OTHERS]  # fmt: skip
    path = write_csv(root / "persons_present.csv", Kind.PERSONS_PRESENT, people)
    with pair.kz.unit_of_work() as uow:
        import_registries(uow, [(Kind.PERSONS_PRESENT, path)], state="KZ", actor="test")


def _violation() -> dict[str, Any]:
    return {"violation_type": "overstay", "detected_on": "2024-04-02", "region": "AM-ER",
            "legal_article": "Article 517", "decision": "fine"}  # fmt: skip


def _kazakhstan_answers(pair: Pair) -> tuple[str, str]:
    """Kazakhstan asks about the channel's members; Armenia answers. The case and the
    answer's message id."""
    with pair.kz.unit_of_work() as uow:
        opened = open_request(uow, context(pair.kz), OpenRequest(
            "kz-am-2024", "kz-mia", "am-mcs", "person-inquiry", {
                "purpose": model.PURPOSE,
                "legal_basis": "Article 2 of the agreement: a route under review",
                "persons": [{"citizenship": "ARM", "document_type": "P",
                             "document_number": _document(n)} for n in CHANNEL],
                "requested_fields": ["employer_name", "violations"],
                "step": "full",
            }, "officer:bolat",
        ), now())  # fmt: skip
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    results = [
        {"person": i, "hit": True,
         "fields": {"employer_name": FIRM, **({"violations": [_violation()]} if n in CAUGHT
                                               else {})}}
        if n in TOLD else {"person": i, "hit": False}
        for i, n in enumerate(CHANNEL)
    ]  # fmt: skip
    agreement = pair.am.agreements["kz-am-2024"]
    message_id = new_message_id(now())
    with pair.am.unit_of_work() as uow:
        enqueue(uow.session, OutgoingMessage(
            message_id=message_id, agreement_id=agreement.id, sender="am-mcs",
            recipient="kz-mia", type="person-inquiry-reply",
            body={"step": "full", "results": results}, issued_at=now(),
            expires_at=now() + agreement.message_lifetime, case_id=opened.case_id,
            in_reply_to=None,
        ), now())  # fmt: skip
        uow.commit()
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    return opened.case_id, message_id


@pytest.fixture
def answered(pair: Pair, tmp_path: Path) -> tuple[Pair, str, str]:
    _import(pair, tmp_path)
    case_id, message_id = _kazakhstan_answers(pair)
    return pair, case_id, message_id


def _run(pair: Pair, *, partner: bool = True) -> list[str]:
    with pair.kz.unit_of_work() as uow:
        stored = store_run(uow, StoreRun(ANALYST, "kz-mia", "KZ", 0.0), now(),
                           node=context(pair.kz) if partner else None)  # fmt: skip
    return stored.leads


def _channel_lead(pair: Pair, leads: list[str]) -> str:
    with pair.kz.unit_of_work() as uow:
        for lead in leads:
            members = set(
                uow.session.scalars(
                    select(LeadMemberRow.record_id).where(LeadMemberRow.lead_id == lead)
                )
            )
            if {_record(n) for n in TOLD} <= members:
                return lead
    raise AssertionError("no lead holds the members Armenia told about")


def test_the_partners_answer_is_read_with_its_provenance(answered: tuple[Pair, str, str]) -> None:
    pair, case_id, message_id = answered
    with pair.kz.unit_of_work() as uow:
        facts = partner_facts(uow, context(pair.kz), "kz-mia", now())
    assert sorted(f.record_id for f in facts) == sorted(_record(n) for n in TOLD)
    assert {f.record_id for f in facts if f.violation} == {_record(n) for n in CAUGHT}
    assert {
        (f.provenance.state, f.provenance.authority, f.provenance.message_id, f.provenance.case_id)
        for f in facts
    } == {("AM", "am-mcs", message_id, case_id)}
    # No fact once the answer's retention has ended.
    with pair.kz.unit_of_work() as uow:
        assert partner_facts(uow, context(pair.kz), "kz-mia", now() + timedelta(days=366)) == []
    # Another authority's cases are not read.
    with pair.kz.unit_of_work() as uow:
        assert partner_facts(uow, context(pair.kz), "kz-police", now()) == []


def test_a_lead_built_on_partner_data_says_so_edge_by_edge(
    answered: tuple[Pair, str, str],
) -> None:
    pair, case_id, message_id = answered
    lead = _channel_lead(pair, _run(pair))
    with pair.kz.unit_of_work() as uow:
        row = uow.session.get_one(LeadRow, lead)
        assert row.partner_data and row.partner_origins == "AM/am-mcs"
        edges = list(uow.session.scalars(select(LeadEdgeRow).where(LeadEdgeRow.lead_id == lead)))
        members = list(
            uow.session.scalars(select(LeadMemberRow).where(LeadMemberRow.lead_id == lead))
        )
    theirs = [e for e in edges if e.partner_data]
    assert {e.record_id for e in theirs} == {_record(n) for n in TOLD}
    for edge in theirs:
        assert (edge.sources, edge.state, edge.origin_authority, edge.message_id, edge.case_id) == (
            "partner",
            "AM",
            "am-mcs",
            message_id,
            case_id,
        )
        assert edge.expires_at is not None and edge.expires_at > datetime.now(UTC)
        assert edge_source(edge).startswith(f"partner: AM, am-mcs, message {message_id}")
    ours = [e for e in edges if not e.partner_data]
    assert ours and all(e.state == "KZ" and e.message_id is None for e in ours)
    assert all(edge_source(e).startswith("register: KZ") for e in ours)
    flagged = {m.record_id: m.violation_origin for m in members if m.violator}
    assert flagged == {_record(n): "AM/am-mcs" for n in CAUGHT}
    # Without the partner's data the same registers give no partner mark at all.
    with pair.kz.unit_of_work() as uow:
        own = [uow.session.get_one(LeadRow, lead) for lead in _run(pair, partner=False)]
    assert own and not any(r.partner_data or r.partner_origins for r in own)


def _outbox(pair: Pair) -> int:
    with pair.kz.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def test_a_lead_on_partner_data_goes_back_to_that_state_only(
    answered: tuple[Pair, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A third state among the partners the channels purpose reaches (as another agreement
    would add it): the card does not offer it, and opening the lead to it is refused before
    anything is written; back to Armenia it opens as any request."""
    pair, _, _ = answered
    lead = _channel_lead(pair, _run(pair))
    node = context(pair.kz)
    third = service.Target("kz-am-2024", "kg-mvd", "KG")
    real = service.targets
    monkeypatch.setattr(service, "targets", lambda *args: [third, *real(*args)])
    with pair.kz.unit_of_work() as uow:
        card = show_lead(uow, node, ANALYST, lead, now=now(), target=third.value)
    assert third not in card.targets and card.target is not None
    assert card.target.partner_state == "AM"
    assert "data AM sent" in (card.request or {}).get("legal_basis", "")
    before = _outbox(pair)
    with pair.kz.unit_of_work() as uow, pytest.raises(OnwardTransferRefused):
        open_lead(uow, node, ANALYST, lead, target=third.value, now=now())
    with pair.kz.unit_of_work() as uow:
        assert uow.session.get_one(LeadRow, lead).state == model.LeadState.NEW
    assert _outbox(pair) == before
    with pair.kz.unit_of_work() as uow:
        opened = open_lead(uow, node, ANALYST, lead, target="kz-am-2024/am-mcs", now=now())
    assert opened.case_id and _outbox(pair) == before + 1


def test_the_guard_spares_a_lead_on_our_registers_alone(
    answered: tuple[Pair, str, str],
) -> None:
    pair, _, _ = answered
    with pair.kz.unit_of_work() as uow:
        own = uow.session.get_one(LeadRow, _channel_lead(pair, _run(pair, partner=False)))
        assert service.origins_of(own) == []
        run_row = uow.session.get_one(service.ChannelRunRow, own.run_id)
        assert service._may_go(own, run_row, service.Target("x", "kg-mvd", "KG"))


def _erase_the_answer(pair: Pair) -> datetime:
    later = now() + timedelta(days=366)
    with pair.kz.unit_of_work() as uow:
        assert run_retention(uow, later)
        uow.commit()
    return later


def test_an_undecided_lead_expires_with_the_partners_data(
    answered: tuple[Pair, str, str],
) -> None:
    pair, _, message_id = answered
    leads = _run(pair)
    lead = _channel_lead(pair, leads)
    later = _erase_the_answer(pair)
    with pair.kz.unit_of_work() as uow:
        done = forget_departed(uow, later)
    assert done.leads_deleted >= 1
    with pair.kz.unit_of_work() as uow:
        assert uow.session.get(LeadRow, lead) is None
        assert not uow.session.scalars(select(LeadEdgeRow).where(
            LeadEdgeRow.message_id == message_id)).all()  # fmt: skip
        assert not uow.session.scalars(select(LeadMemberRow).where(
            LeadMemberRow.violation_message == message_id)).all()  # fmt: skip
    # A second pass has nothing left to do.
    with pair.kz.unit_of_work() as uow:
        assert forget_departed(uow, later).total == 0


def test_a_decided_lead_keeps_its_decision_and_loses_the_partners_data(
    answered: tuple[Pair, str, str],
) -> None:
    pair, _, message_id = answered
    lead = _channel_lead(pair, _run(pair))
    with pair.kz.unit_of_work() as uow:
        dismiss_lead(uow, ANALYST, lead, reason="a seasonal crew, checked", now=now())
    later = _erase_the_answer(pair)
    with pair.kz.unit_of_work() as uow:
        done = forget_departed(uow, later)
    assert done.partner_flags == len(CAUGHT) and done.edges >= len(TOLD)
    with pair.kz.unit_of_work() as uow:
        row = uow.session.get_one(LeadRow, lead)
        assert row.state == model.LeadState.DISMISSED and row.reason
        assert not row.partner_data and row.partner_origins is None
        assert row.violators == 0
        edges = list(uow.session.scalars(select(LeadEdgeRow).where(LeadEdgeRow.lead_id == lead)))
        assert edges and not [e for e in edges if e.partner_data or e.message_id]
        members = list(
            uow.session.scalars(select(LeadMemberRow).where(LeadMemberRow.lead_id == lead))
        )
        assert len(members) == row.members and not [m for m in members if m.violation_message]
        assert message_id not in str([(e.message_id, e.case_id) for e in edges])


def test_a_notice_the_partner_sent_counts_like_an_answer(pair: Pair, tmp_path: Path) -> None:
    """A violation notice Armenia sent about a person of Kazakhstan's register marks them as
    a violator known from Armenia."""
    _import(pair, tmp_path)
    person = person_present(CHANNEL.start)
    with pair.am.unit_of_work() as uow:
        open_request(uow, context(pair.am), OpenRequest(
            "kz-am-2024", "am-police", "kz-mia", "violation-notice", {
                "purpose": model.PURPOSE,
                "legal_basis": "Article 2 of the agreement",
                "person": {k: person[k] for k in ("surname_latin", "given_name_latin",
                                                  "citizenship", "document_type",
                                                  "document_number")},
                "violations": [_violation()],
            }, "officer:anna",
        ), now())  # fmt: skip
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    with pair.kz.unit_of_work() as uow:
        facts = partner_facts(uow, context(pair.kz), "kz-mia", now())
        cases = uow.session.scalars(select(CaseRow.id)).all()
    assert [(f.record_id, f.violation, f.provenance.state) for f in facts] == [
        (_record(CHANNEL.start), True, "AM")
    ]
    assert cases


def test_the_cli_and_the_console_mark_a_lead_on_partner_data(
    answered: tuple[Pair, str, str],
) -> None:
    """`channels run` reads what the partner sent; `show --json` and the console's card say
    whose data each edge is, its case, how long it is kept and where it may go."""
    pair, case_id, message_id = answered
    analyst = token(pair.kz, "aigerim", [(Role.ANALYST, "kz-mia")])
    config = str(pair.kz.settings.data_dir.parent / "node.toml")
    runner = CliRunner(env={"COLUMNS": "200", "MIGREX_TOKEN": analyst})
    ran = runner.invoke(app, ["--config", config, "channels", "run", "--min-score", "0",
                              "--json"])  # fmt: skip
    assert ran.exit_code == 0, ran.output
    lead = _channel_lead(pair, json.loads(ran.stdout.strip().splitlines()[-1])["leads"])
    listed = json.loads(runner.invoke(app, ["--config", config, "channels", "list",
                                            "--json"]).stdout)  # fmt: skip
    assert next(line for line in listed if line["id"] == lead)["partner_data"] is True
    shown = runner.invoke(app, ["--config", config, "channels", "show", lead, "--json"])
    card = json.loads(shown.stdout)
    assert card["partner_data"] and card["partner_origins"] == ["AM/am-mcs"]
    theirs = [e for e in card["edges"] if e["partner_data"]]
    assert theirs and all(e["source"].startswith(f"partner: AM, am-mcs, message {message_id}, "
                                                 f"case {case_id}") for e in theirs)  # fmt: skip
    assert {m["violation_from"] for m in card["members"] if m["violator"]} == {"AM/am-mcs"}
    add_console_officer(pair.kz, "dana", [(Role.ANALYST, "kz-mia")])
    browser = Browser(officers_app(pair.kz))
    browser.sign_in("dana")
    page = browser.get(f"/ui/leads/{lead}")
    assert page.status_code == 200
    assert "partner data" in page.text and f'href="/ui/cases/{case_id}"' in page.text
    assert "kept until" in page.text and "never to a third state" in page.text


# ---------------------------------------------------------------- on Armenia's node (PostgreSQL)


@pytest.fixture(scope="module")
def armenian_registers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_registers(tmp_path_factory.mktemp("channels"))


def test_on_either_database_a_partners_answer_joins_and_leaves_a_kept_lead(
    pair: Pair, armenian_registers: Path
) -> None:
    """Armenia's node (the parametrised database) asks Kazakhstan about the members of its
    best lead; the answer marks the next run's lead, and its erasure takes the answer's
    edges and violation marks off the lead, which was dismissed meanwhile."""
    import_am(pair.am, armenian_registers)
    analyst = Officer(0, "ani", "Ani", frozenset({Grant(Role.ANALYST, "am-mcs")}))
    with pair.am.unit_of_work() as uow:
        first = store_run(uow, StoreRun(analyst, "am-mcs", "AM"), now())
    with pair.am.unit_of_work() as uow:
        members = sorted(uow.session.scalars(select(LeadMemberRow.record_id).where(
            LeadMemberRow.lead_id == first.leads[0])))  # fmt: skip
        people = {p.record_id: p for p in uow.session.scalars(
            select(PersonPresentRow).where(PersonPresentRow.record_id.in_(members)))}  # fmt: skip
    asked = members[:5]
    with pair.am.unit_of_work() as uow:
        opened = open_request(uow, context(pair.am), OpenRequest(
            "kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", {
                "purpose": model.PURPOSE, "legal_basis": "Article 2 of the agreement",
                "persons": [{"citizenship": people[m].citizenship,
                             "document_type": people[m].document_type,
                             "document_number": people[m].document_number} for m in asked],
                "requested_fields": ["employer_name", "violations"], "step": "full",
            }, "officer:ani",
        ), now())  # fmt: skip
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    agreement = pair.kz.agreements["kz-am-2024"]
    message_id = new_message_id(now())
    results = [{"person": i, "hit": True,
                "fields": {"employer_name": FIRM, "violations": [_violation()]}}
               for i in range(len(asked))]  # fmt: skip
    with pair.kz.unit_of_work() as uow:
        enqueue(uow.session, OutgoingMessage(
            message_id=message_id, agreement_id=agreement.id, sender="kz-mia",
            recipient="am-mcs", type="person-inquiry-reply",
            body={"step": "full", "results": results}, issued_at=now(),
            expires_at=now() + agreement.message_lifetime, case_id=opened.case_id,
            in_reply_to=None,
        ), now())  # fmt: skip
        uow.commit()
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    with pair.am.unit_of_work() as uow:
        second = store_run(uow, StoreRun(analyst, "am-mcs", "AM"), now(), node=context(pair.am))
    with pair.am.unit_of_work() as uow:
        marked = [lead for lead in second.leads
                  if uow.session.get_one(LeadRow, lead).partner_origins == "KZ/kz-mia"]  # fmt: skip
    assert marked, "no lead of the second run rests on the answer"
    lead = marked[0]
    with pair.am.unit_of_work() as uow:
        dismiss_lead(uow, analyst, lead, reason="checked with Kazakhstan", now=now())
    later = now() + timedelta(days=366)
    with pair.am.unit_of_work() as uow:
        assert run_retention(uow, later)
        uow.commit()
    with pair.am.unit_of_work() as uow:
        done = forget_departed(uow, later)
    assert done.edges >= 1
    with pair.am.unit_of_work() as uow:
        row = uow.session.get_one(LeadRow, lead)
        assert row.state == model.LeadState.DISMISSED and not row.partner_data
        assert not uow.session.scalars(select(LeadEdgeRow).where(
            LeadEdgeRow.message_id == message_id)).all()  # fmt: skip
        assert not uow.session.scalars(select(LeadMemberRow).where(
            LeadMemberRow.violation_message == message_id)).all()  # fmt: skip
