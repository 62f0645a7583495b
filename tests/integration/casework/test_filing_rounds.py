"""Filing a round of messages together: what it reads once must come out as filing them one by
one would, a bad message among them is still quarantined alone, the volume limit still counts
every person of the round, the audit log is appended once per round, and the clerk files what
the door has just stored without waiting for its poll."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, event, func, insert, make_url, select, text

from casework_scenes import INQUIRY
from casework_steps import context, now
from migrex import migrate
from migrex.audit import events
from migrex.audit.leaves import LeafKind
from migrex.audit.pending import record
from migrex.audit.tables import AuditLeafRow
from migrex.bench.twonodes import postgres_databases
from migrex.casework import filing, jobs
from migrex.casework.answers import answer_inquiry
from migrex.casework.bodies import body_of
from migrex.casework.jobs import start_filing
from migrex.casework.lifecycle import CaseState
from migrex.casework.service import OpenRequest, open_request, open_review
from migrex.casework.tables import CaseEventRow, CaseMessageRow, CaseRow, ScreeningNoteRow
from migrex.db import make_engine
from migrex.envelope import new_message_id
from migrex.exchange.outbox import OutgoingMessage, enqueue
from migrex.exchange.relay import Relay
from migrex.exchange.tables import InboxMessage, OutboxMessage
from migrex.exchange.wakeup import Doorbell
from migrex.ledger.service import insert_rows
from migrex.ledger.tables import DisclosureRow
from migrex.node import Node
from migrex.registry.sql import SqlRegistries
from nodes import DirectTransport, Pair
from query_plans import sqlite_plan


def _inquiry(pair: Pair, document: str) -> str:
    body = {**INQUIRY, "persons": [{**INQUIRY["persons"][0], "document_number": document}]}
    with pair.am.unit_of_work() as uow:
        request = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", body, "anna")
        opened = open_request(uow, context(pair.am), request, now())
    return opened.case_id


def _stray_reply(pair: Pair) -> str:
    """A reply to a case Kazakhstan never had: unfileable."""
    agreement = pair.am.agreements["kz-am-2024"]
    message_id = new_message_id(now())
    with pair.am.unit_of_work() as uow:
        enqueue(uow.session, OutgoingMessage(
            message_id=message_id, agreement_id=agreement.id, sender="am-mcs",
            recipient="kz-mia", type="person-inquiry-reply",
            body={"step": "full", "results": [{"person": 0, "hit": False}]}, issued_at=now(),
            expires_at=now() + agreement.message_lifetime,
            case_id="01a2f000-0000-7000-8000-00000000beef", in_reply_to=None,
        ), now())  # fmt: skip
        uow.commit()
    return message_id


def _relayed(pair: Pair) -> None:
    """Everything Armenia queued, in Kazakhstan's inbox, not filed yet."""
    relay = Relay("test", pair.am.unit_of_work, pair.am_trust,
                  DirectTransport(pair.kz, pair.kz_trust))  # fmt: skip
    while relay.run_once():
        pass


@contextmanager
def _statements(node: Node) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(node.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(node.engine, "before_cursor_execute", note)


def _file_one_round(node: Node) -> int:
    with node.unit_of_work() as uow:
        return filing.file_inbox(uow, context(node), now())


def test_a_bad_message_in_a_round_is_quarantined_alone(pair: Pair) -> None:
    good = [_inquiry(pair, "AM1000001"), _inquiry(pair, "AM1000002")]
    stray = _stray_reply(pair)
    good.append(_inquiry(pair, "AM1000003"))
    _relayed(pair)
    assert _file_one_round(pair.kz) == 4
    with pair.kz.unit_of_work() as uow:
        rows = uow.session.execute(select(InboxMessage.message_id, InboxMessage.status))
        status = {row[0]: row[1] for row in rows}
        cases = set(uow.session.scalars(select(CaseRow.id)))
        filed = uow.session.scalar(select(func.count()).select_from(CaseMessageRow))
        ledger = uow.session.scalar(select(func.count()).select_from(DisclosureRow))
        decisions = uow.session.scalars(
            select(AuditLeafRow.message_id).where(AuditLeafRow.kind == LeafKind.DECISION)
        ).all()
    assert status.pop(stray) == "quarantined"
    assert set(status.values()) == {"filed"}
    assert cases == set(good) and filed == 3 and ledger == 3
    assert decisions == [stray]  # the quarantine's entry, once


def test_the_volume_limit_counts_every_person_of_the_round(pair: Pair) -> None:
    # The period's limit (2000 persons) all but reached by what Armenia asked before.
    at = datetime.now(UTC)
    with pair.kz.unit_of_work() as uow:
        insert_rows(uow.session, [
            {"at": at, "direction": "received", "subject_hash": f"{n:064x}",
             "agreement_id": "kz-am-2024", "our_authority": "kz-mia",
             "partner_authority": "am-mcs", "message_id": f"earlier-{n}",
             "message_type": "person-inquiry", "case_id": None, "purpose": None,
             "legal_basis": None, "fields": "", "actor": "test", "person": 0}
            for n in range(1999)
        ])  # fmt: skip
        uow.commit()
    cases = [_inquiry(pair, f"AM200000{n}") for n in range(3)]
    _relayed(pair)
    with _statements(pair.kz) as statements:
        assert _file_one_round(pair.kz) == 3
    with pair.kz.unit_of_work() as uow:
        breaches = set(uow.session.scalars(
            select(ScreeningNoteRow.case_id).where(ScreeningNoteRow.kind == "volume-exceeded")
        ))  # fmt: skip
    # The 2000th person is within the limit; the next two, in the same round, are not.
    assert breaches == set(cases[1:])
    counts = [s for s in statements if "count(" in s.lower() and "ledger_disclosure" in s]
    days = [s for s in statements if "sum(" in s.lower() and "ledger_volume_day" in s]
    assert len(counts) == len(days) == 1  # counted once for the round, then kept running


def test_a_round_appends_the_audit_log_once(pair: Pair) -> None:
    with pair.kz.unit_of_work() as uow:
        for n in range(3):
            savepoint = uow.session.begin_nested()
            leaf = events.decision(at=now(), actor="test", authority="kz-mia", case_id=f"c{n}",
                                   event="file", purpose=None)  # fmt: skip
            record(uow.session, leaf)
            if n == 1:
                savepoint.rollback()  # drops its own entry, not the others'
            else:
                savepoint.commit()
        with _statements(pair.kz) as statements:
            uow.commit()
    with pair.kz.unit_of_work() as uow:
        references = uow.session.scalars(
            select(AuditLeafRow.data).where(AuditLeafRow.kind == LeafKind.DECISION)
        ).all()
    assert len(references) == 2
    assert all(b"case:c1:" not in bytes(r) for r in references)
    assert sum("audit_leaves" in s and s.lstrip().upper().startswith("INSERT")
               for s in statements) == 1  # fmt: skip


def test_the_clerk_files_what_the_door_just_stored(pair: Pair) -> None:
    stop = threading.Event()
    received = Doorbell()
    start_filing(pair.kz.unit_of_work, context(pair.kz), stop, interval=60, received=received)
    try:
        time.sleep(0.5)  # its first round found nothing; it now waits up to a minute
        case_id = _inquiry(pair, "AM3000001")
        _relayed(pair)
        received.ring()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with pair.kz.unit_of_work() as uow:
                if uow.session.get(CaseRow, case_id) is not None:
                    break
            time.sleep(0.05)
        with pair.kz.unit_of_work() as uow:
            assert uow.session.get(CaseRow, case_id) is not None
    finally:
        stop.set()
        received.ring_all()


def test_a_clerk_the_door_rings_waits_for_the_ring_after_a_round_that_took_all(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> int:
        rounds.append(filing.file_inbox(*args, **kwargs))
        return rounds[-1]

    monkeypatch.setattr(jobs, "file_inbox", counted)
    stop, received = threading.Event(), Doorbell()
    start_filing(pair.kz.unit_of_work, context(pair.kz), stop, interval=60, received=received)
    try:
        time.sleep(0.3)  # its first round found nothing; it now waits for the door
        case_id = _inquiry(pair, "AM3000002")
        _relayed(pair)
        received.ring()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and rounds[-1:] != [1]:
            time.sleep(0.02)
        time.sleep(0.3)
        # The round that filed the message took fewer than it may: no round looked again.
        assert rounds == [0, 1]
        with pair.kz.unit_of_work() as uow:
            assert uow.session.get(CaseRow, case_id) is not None
    finally:
        stop.set()
        received.ring_all()


def test_the_clerk_finds_waiting_messages_by_index(pair: Pair) -> None:
    # Every round looks for the messages waiting; the inbox keeps every message received for
    # the retention period, so the look must not read them all (Kazakhstan's is SQLite).
    plan = sqlite_plan(pair.kz.engine, filing._statements("sqlite").waiting)
    assert "ix_exchange_inbox_status_id" in plan, plan


def test_the_clerk_finds_deliveries_of_a_sent_case_by_its_ordering(pair: Pair) -> None:
    # Every round asks which of our sent cases the partner has receipted; the outbox keeps
    # every message ever delivered, so each sent case must be looked up by its own messages
    # (the ordering index holds them under the case's id), not by walking all delivered ones.
    plan = sqlite_plan(pair.kz.engine, filing._statements("sqlite").delivered)
    assert "ix_exchange_outbox_ordering" in plan, plan


@pytest.mark.postgres
def test_postgresql_finds_deliveries_by_the_ordering_even_with_old_statistics(
    postgres_database: str,
) -> None:
    """A young database's statistics say its outbox is empty; planning with them, PostgreSQL
    intersected the ordering index with the status index for each sent case, reading every
    delivered message of the node's history once per case (68 ms a round for 500 sent cases
    and 9,000 delivered messages). The look must use the ordering index alone."""
    server = make_url(postgres_database).set(database="postgres").render_as_string(False)
    with postgres_databases(server, 1) as [url]:  # young: its own statistics
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))  # the statistics of empty tables
                _fill_history(connection, sent=200, delivered=1000)
            statement = filing._statements("postgresql").delivered
            compiled = statement.compile(dialect=engine.dialect,
                                         compile_kwargs={"literal_binds": True})  # fmt: skip
            with engine.connect() as connection:
                plan = " ".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))
        finally:
            engine.dispose()
    assert "ix_exchange_outbox_ordering" in plan, plan
    assert "ix_exchange_outbox_status_due" not in plan, plan


def _fill_history(connection: Connection, *, sent: int, delivered: int) -> None:
    """`sent` outgoing cases waiting for a receipt, each with one message in line, and
    `delivered` closed cases, each with three messages delivered."""
    at = now()
    cases, messages = [], []
    for n in range(sent + delivered):
        case_id, waiting = f"case-{n}", n < sent
        cases.append({
            "id": case_id, "agreement_id": "kz-am-2024", "direction": "outgoing",
            "category": "person-inquiry", "purpose": None, "our_authority": "am-mcs",
            "partner_authority": "kz-mia", "state": "sent" if waiting else "closed",
            "urgency": "normal", "opened_at": at, "due_at": at, "closed_at": None,
            "opened_by": "officer:anna",
        })  # fmt: skip
        messages += [{
            "message_id": new_message_id(at), "agreement_id": "kz-am-2024", "sender": "am-mcs",
            "recipient": "kz-mia", "type": "person-inquiry", "case_id": case_id,
            "in_reply_to": None, "ordering_key": case_id, "body": "{}", "issued_at": at,
            "expires_at": at, "created_at": at, "status": "pending" if waiting else "delivered",
            "attempts": 0, "next_attempt_at": at,
        } for _ in range(1 if waiting else 3)]  # fmt: skip
    connection.execute(insert(CaseRow), cases)
    connection.execute(insert(OutboxMessage), messages)


def test_a_round_writes_threads_and_histories_without_an_object_per_row(pair: Pair) -> None:
    """A round filed together puts its messages into their cases' threads and its moves into
    the cases' histories with one statement per table, building no ORM object per row (nor do
    the deliveries of our requests noted before it); the rows are those filing builds."""
    cases = [_inquiry(pair, f"AM300000{n}") for n in range(2)]
    _relayed(pair)
    _file_one_round(pair.kz)
    for case_id in cases:
        with pair.kz.unit_of_work() as uow:
            open_review(uow, case_id, "officer:bolat", now())
        with pair.kz.unit_of_work() as uow:
            answer_inquiry(uow, context(pair.kz), SqlRegistries(uow.session), case_id,
                           hit_key=b"k" * 32, actor="officer:bolat", now=now())  # fmt: skip
    relay = Relay("test", pair.kz.unit_of_work, pair.kz_trust,
                  DirectTransport(pair.am, pair.am_trust))  # fmt: skip
    while relay.run_once():
        pass
    built: list[str] = []

    def count(target: Any, *_: Any) -> None:
        built.append(type(target).__name__)

    for row_class in (CaseMessageRow, CaseEventRow):
        event.listen(row_class, "init", count)
    try:
        assert _file_one_round(pair.am) == 2
    finally:
        for row_class in (CaseMessageRow, CaseEventRow):
            event.remove(row_class, "init", count)
    assert built == []
    with pair.am.unit_of_work() as uow:
        for case_id in cases:
            moved = uow.session.get(CaseRow, case_id)
            assert moved is not None and moved.state != CaseState.DELIVERED
            [answer] = uow.session.scalars(select(CaseMessageRow).where(
                CaseMessageRow.case_id == case_id, CaseMessageRow.direction == "received"
            )).all()  # fmt: skip
            assert (answer.type, answer.actor) == ("person-inquiry-reply", "partner:kz-mia")
            assert "results" in body_of(uow, context(pair.am), answer)  # sealed, and opens
            assert answer.at.tzinfo is not None
            history = uow.session.scalars(select(CaseEventRow).where(
                CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
            ).all()  # fmt: skip
            delivered, answered = history[-2:]
            assert (delivered.from_state, delivered.to_state, delivered.actor) == (
                CaseState.SENT, CaseState.DELIVERED, "relay")  # fmt: skip
            assert (answered.from_state, answered.to_state, answered.actor) == (
                CaseState.DELIVERED, moved.state, "partner:kz-mia")  # fmt: skip
            assert answered.at.tzinfo is not None and answered.detail is None
