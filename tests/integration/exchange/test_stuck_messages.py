"""Messages the receiver refuses for good, on both databases: a partner outage longer than the
message lifetime, the refused head and what waits behind it, re-issue and discard.

Time is injected, not slept: the sending relay and the receiver's door each run on a clock the
test moves, so "eight days later" is one assignment.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from casework_scenes import INQUIRY
from casework_steps import case, context
from migrex.audit.leaves import LeafKind
from migrex.audit.tables import AuditLeafRow
from migrex.casework.service import OpenRequest, open_request
from migrex.casework.tables import CaseEventRow, ScreeningNoteRow
from migrex.cli import app as cli_app
from migrex.exchange.delivery import RetryPolicy, Status
from migrex.exchange.queries import held_up
from migrex.exchange.receiver import receive_batch
from migrex.exchange.relay import Relay
from migrex.exchange.service import (
    NotAwaitingOperator,
    SendMessage,
    discard,
    reissue,
    retry,
    send_message,
)
from migrex.exchange.tables import InboxMessage, OutboxMessage, Receipt
from migrex.exchange.transport import TransportError
from migrex.exchange.trust import Trust
from migrex.node import Node
from nodes import DirectTransport, Pair

AGREEMENT = "kz-am-2024"
LIFETIME = timedelta(days=7)  # kz-am-2024's message lifetime


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


class Partner(DirectTransport):
    """The receiving node's door on the test's clock: it can be down, or lose its answers
    (the batch is stored, the reply never comes back); it counts what it accepted."""

    def __init__(self, receiver: Node, trust: Trust, clock: Clock) -> None:
        super().__init__(receiver, trust)
        self.clock = clock
        self.lose_answers = False
        self.posted: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()  # application-level deliveries, by message

    def post_batch(self, endpoint: str, envelopes: Sequence[str]) -> list[dict[str, Any]]:
        if self.failing:
            raise TransportError("connection refused")
        with self.receiver.unit_of_work() as uow:
            outcomes = [o.as_json() for o in receive_batch(
                uow, self.trust, envelopes, policy=self.policy, now=self.clock(), peer=None,
            )]  # fmt: skip
        for outcome in outcomes:
            self.posted[outcome.get("message_id") or "?"] += 1
            if outcome["status"] == "accepted":
                self.accepted[outcome["message_id"]] += 1
        if self.lose_answers:
            raise TransportError("connection reset after the request was sent")
        return outcomes


def relay(node: Node, trust: Trust, partner: Partner, clock: Clock) -> Relay:
    return Relay("test", node.unit_of_work, trust, partner, clock=clock, rng=random.Random(0),
                 policy=RetryPolicy(max_attempts=3, base=timedelta(0)))  # fmt: skip


def drain(relay_: Relay) -> None:
    while relay_.run_once():
        pass


def send(node: Node, case: str, n: int, at: datetime, **kw: str) -> str:
    sender, recipient = kw.get("sender", "am-mcs"), kw.get("recipient", "kz-mia")
    with node.unit_of_work() as uow:
        return send_message(
            uow, SendMessage(AGREEMENT, sender, recipient, "notice", {"n": n}, case),
            agreements=node.agreements, hosted=node.settings.authorities, now=at,
        )  # fmt: skip


def outbox(node: Node) -> dict[str, OutboxMessage]:
    with node.unit_of_work() as uow:
        rows = list(uow.session.scalars(select(OutboxMessage)))
        uow.session.expunge_all()
    return {row.message_id: row for row in rows}


def inbox_order(node: Node, case: str) -> list[str]:
    with node.unit_of_work() as uow:
        return list(uow.session.scalars(
            select(InboxMessage.message_id).where(InboxMessage.case_id == case)
            .order_by(InboxMessage.id)
        ))  # fmt: skip


def administration_leaves(node: Node) -> list[str]:
    """The node's administration entries, oldest first, as their logged bytes."""
    with node.unit_of_work() as uow:
        return [
            data.decode() for data in uow.session.scalars(
                select(AuditLeafRow.data).where(AuditLeafRow.kind == LeafKind.ADMINISTRATION)
                .order_by(AuditLeafRow.position)
            )
        ]  # fmt: skip


@dataclass
class Outage:
    """Armenia's node (on the parametrised database) sent while Kazakhstan was down for
    eight days; the messages' lifetime is seven. Case A is a real case of casework (its
    request `a[0]`) with two messages continuing it queued near the end of the outage; case
    B holds three notices, the last one queued late."""

    clock: Clock
    kz: Partner
    relay: Relay
    case_a: str
    a: tuple[str, str, str]
    b: tuple[str, str, str]


def outage(pair: Pair) -> Outage:
    clock = Clock()
    t0, t1 = clock.now, clock.now + timedelta(days=8)
    kz = Partner(pair.kz, pair.kz_trust, clock)
    with pair.am.unit_of_work() as uow:
        request = OpenRequest(AGREEMENT, "am-mcs", "kz-mia", "person-inquiry", INQUIRY, "test")
        opened = open_request(uow, context(pair.am), request, t0)
    case_a = opened.case_id
    b = (send(pair.am, "case-b", 1, t0), send(pair.am, "case-b", 2, t0),
         send(pair.am, "case-b", 3, t1 - timedelta(hours=2)))  # fmt: skip
    a = (opened.message_id, send(pair.am, case_a, 2, t1 - timedelta(hours=2)),
         send(pair.am, case_a, 3, t1 - timedelta(hours=1)))  # fmt: skip
    happened = Outage(clock, kz, relay(pair.am, pair.am_trust, kz, clock), case_a, a, b)
    kz.failing = True  # the partner is down: retries, then parked
    for minutes in range(3):
        clock.now = t0 + timedelta(minutes=minutes)
        happened.relay.run_once()
    assert {outbox(pair.am)[m].status for m in (a[0], b[0])} == {Status.PARKED}
    clock.now = t1  # back, after the lifetime; the operator retries what was parked
    kz.failing = False
    with pair.am.unit_of_work() as uow:
        assert retry(uow, None, t1, actor="cli:operator") == 2
    drain(happened.relay)
    return happened


def test_a_head_refused_as_expired_is_not_retried_and_shows_what_waits_behind_it(
    pair: Pair,
) -> None:
    o = outage(pair)
    t1 = o.clock.now
    rows = outbox(pair.am)
    for head in (o.a[0], o.b[0]):
        assert (rows[head].status, rows[head].refusal, rows[head].attempts) == (
            Status.REFUSED, "expired", 1,
        )  # fmt: skip
    # Refused for good: not retried, however long the relay runs.
    for later in (timedelta(minutes=5), timedelta(hours=2), timedelta(days=1)):
        o.clock.now = t1 + later
        assert o.relay.run_once() == 0
    assert [o.kz.posted[m] for m in (*o.a, *o.b)] == [1, 0, 0, 1, 0, 0]
    assert outbox(pair.am)[o.a[0]].attempts == 1
    # The operator sees each head and what waits behind it, in order.
    with pair.am.unit_of_work() as uow:
        held = {h.head.message_id: h.waiting for h in held_up(uow, 50)}
    assert held == {o.a[0]: o.a[1:], o.b[0]: o.b[1:]}


def test_a_reissued_head_delivers_its_whole_case_in_order_exactly_once(pair: Pair) -> None:
    o = outage(pair)
    b1, b2, b3 = o.b
    # b1 and b2 (whose own times have passed) are sealed anew; b3 keeps its times.
    with pair.am.unit_of_work() as uow:
        [done] = reissue(uow, [b1], agreements=pair.am.agreements, now=o.clock.now,
                         actor="cli:operator")  # fmt: skip
    assert done.redated == (b2,)
    drain(o.relay)
    rows = outbox(pair.am)
    assert [rows[m].status for m in o.b] == [Status.DELIVERED] * 3
    assert rows[b1].expires_at == o.clock.now + LIFETIME and rows[b3].issued_at < o.clock.now
    assert inbox_order(pair.kz, "case-b") == [b1, b2, b3]
    assert [o.kz.accepted[m] for m in o.b] == [1, 1, 1]  # application-level deliveries
    assert outbox(pair.am)[o.a[0]].status == Status.REFUSED  # the other case still waits


def test_a_discarded_head_is_audited_told_to_its_case_and_lets_the_case_go(pair: Pair) -> None:
    o = outage(pair)
    a1, a2, a3 = o.a
    before = len(administration_leaves(pair.am))
    reason = "the partner asked for a new request under the 2025 protocol"
    with pair.am.unit_of_work() as uow:
        discard(uow, a1, reason, now=o.clock.now, actor="cli:operator")
    drain(o.relay)
    rows = outbox(pair.am)
    assert [rows[m].status for m in o.a] == [
        Status.DISCARDED, Status.DELIVERED, Status.DELIVERED,
    ]  # fmt: skip
    assert inbox_order(pair.kz, o.case_a) == [a2, a3] and o.kz.accepted[a1] == 0
    leaves = administration_leaves(pair.am)
    assert len(leaves) == before + 1
    assert f"outbox-discarded:{a1}:reason-sha256:" in leaves[-1] and "protocol" not in leaves[-1]
    with pair.am.unit_of_work() as uow:
        notes = list(uow.session.scalars(
            select(ScreeningNoteRow).where(ScreeningNoteRow.case_id == o.case_a)
        ))  # fmt: skip
    [note] = [n for n in notes if n.kind == "message-discarded"]
    assert a1 in note.detail and "expired" in note.detail and reason in note.detail
    assert max(o.kz.accepted.values()) == 1  # nothing was delivered twice
    # The request itself never reached Kazakhstan: the case is closed as withdrawn, by the
    # operator who discarded it, rather than left "sent" for ever.
    withdrawn = case(pair.am, o.case_a)
    assert withdrawn.state == "withdrawn" and withdrawn.closed_at == o.clock.now
    with pair.am.unit_of_work() as uow:
        last = uow.session.scalars(
            select(CaseEventRow).where(CaseEventRow.case_id == o.case_a)
            .order_by(CaseEventRow.id.desc())
        ).first()  # fmt: skip
    assert last is not None and (last.event, last.actor) == ("withdraw", "cli:operator")


def test_discarding_a_later_message_leaves_the_case_open(pair: Pair) -> None:
    o = outage(pair)
    with pair.am.unit_of_work() as uow:
        discard(uow, o.a[1], "sent by mistake", now=o.clock.now, actor="cli:operator")
    assert case(pair.am, o.case_a).state == "sent"


def test_a_reissue_of_a_message_that_did_arrive_files_nothing_twice(pair: Pair) -> None:
    """Kazakhstan sends to Armenia (on the parametrised database); Armenia stores the message
    but its answer is lost, and the message is parked. The operator re-issues it: Armenia
    answers the new envelope with the receipt it signed for the first one."""
    clock = Clock()
    am = Partner(pair.am, pair.am_trust, clock)
    kz_relay = relay(pair.kz, pair.kz_trust, am, clock)
    first = send(pair.kz, "case-k", 1, clock.now, sender="kz-mia", recipient="am-mcs")
    second = send(pair.kz, "case-k", 2, clock.now, sender="kz-mia", recipient="am-mcs")
    am.lose_answers = True
    for _ in range(3):
        clock.now += timedelta(minutes=1)
        kz_relay.run_once()
    original = outbox(pair.kz)[first]
    assert original.status == Status.PARKED and am.accepted[first] == 1

    am.lose_answers = False
    with pair.kz.unit_of_work() as uow:
        reissue(uow, [first], agreements=pair.kz.agreements, now=clock.now, actor="cli:operator")
    drain(kz_relay)
    rows = outbox(pair.kz)
    assert rows[first].status == rows[second].status == Status.DELIVERED
    assert rows[first].envelope_sha256 != original.envelope_sha256  # sealed anew
    assert rows[first].earlier_envelopes == original.envelope_sha256
    with pair.kz.unit_of_work() as uow:
        receipt = uow.session.scalars(select(Receipt).where(Receipt.message_id == first)).one()
    assert receipt.envelope_sha256 == original.envelope_sha256  # what Armenia did receive
    assert inbox_order(pair.am, "case-k") == [first, second]
    assert (am.accepted[first], am.accepted[second]) == (1, 1)


def test_stored_bytes_sent_again_after_their_lifetime_get_their_receipt(pair: Pair) -> None:
    """The answer to a delivery is lost and the partner is then down past the lifetime: the
    retry carries bytes the receiver holds, so it is answered with their receipt, not
    refused as expired (which no retry could ever change)."""
    clock = Clock()
    am = Partner(pair.am, pair.am_trust, clock)
    kz_relay = relay(pair.kz, pair.kz_trust, am, clock)
    sent = send(pair.kz, "case-l", 1, clock.now, sender="kz-mia", recipient="am-mcs")
    am.lose_answers = True
    kz_relay.run_once()
    am.lose_answers = False
    clock.now += timedelta(days=8)
    drain(kz_relay)
    row = outbox(pair.kz)[sent]
    assert (row.status, row.refusal) == (Status.DELIVERED, None)
    assert am.accepted[sent] == 1 and am.posted[sent] == 2


def test_messages_sealed_by_a_clock_that_ran_ahead_are_reissued_once_it_is_fixed(
    pair: Pair,
) -> None:
    """Armenia's clock runs three hours ahead: what it queues and seals is issued in the
    future for Kazakhstan, refused `not-yet-valid` and set aside at once. Once the clock is
    fixed, a re-issue dates the head and what waits behind it anew, and the case goes."""
    true = Clock()
    ahead = Clock()
    ahead.now = true.now + timedelta(hours=3)
    kz = Partner(pair.kz, pair.kz_trust, true)
    first, second = (send(pair.am, "case-t", n, ahead.now) for n in (1, 2))
    drain(relay(pair.am, pair.am_trust, kz, ahead))
    row = outbox(pair.am)[first]
    assert (row.status, row.refusal, row.attempts) == (Status.REFUSED, "not-yet-valid", 1)
    fixed = relay(pair.am, pair.am_trust, kz, true)
    assert fixed.run_once() == 0  # not retried with the same bytes
    with pair.am.unit_of_work() as uow:
        [done] = reissue(uow, [first], agreements=pair.am.agreements, now=true.now,
                         actor="cli:operator")  # fmt: skip
    assert done.redated == (second,)
    drain(fixed)
    assert inbox_order(pair.kz, "case-t") == [first, second]
    assert [kz.accepted[m] for m in (first, second)] == [1, 1]


def test_only_messages_no_relay_holds_can_be_reissued_or_discarded(pair: Pair) -> None:
    clock = Clock()
    kz = Partner(pair.kz, pair.kz_trust, clock)
    sent = send(pair.am, "case-d", 1, clock.now)
    drain(relay(pair.am, pair.am_trust, kz, clock))
    leaves = len(administration_leaves(pair.am))
    with pair.am.unit_of_work() as uow, pytest.raises(NotAwaitingOperator):
        discard(uow, sent, "too late", now=clock.now, actor="cli:operator")
    with pair.am.unit_of_work() as uow, pytest.raises(NotAwaitingOperator):
        reissue(uow, [sent], agreements=pair.am.agreements, now=clock.now, actor="cli:operator")
    assert outbox(pair.am)[sent].status == Status.DELIVERED
    assert len(administration_leaves(pair.am)) == leaves


# ---------------------------------------------------------------- the commands


def migrex(node: Node, *argv: str) -> Any:
    config = str(node.settings.data_dir.parent / "node.toml")
    return CliRunner(env={"COLUMNS": "80"}).invoke(cli_app, ["--config", config, *argv])


def refused_case(pair: Pair) -> tuple[str, list[str]]:
    """A case at Armenia whose head Kazakhstan refused as expired, two messages behind it."""
    clock = Clock()
    t0 = clock.now
    ids = [send(pair.am, "case-c", n, t0) for n in range(3)]
    clock.now = t0 + timedelta(days=8)
    drain(relay(pair.am, pair.am_trust, Partner(pair.kz, pair.kz_trust, clock), clock))
    return ids[0], ids[1:]


def test_outbox_list_parked_shows_the_head_and_what_waits_behind_it(pair: Pair) -> None:
    head, behind = refused_case(pair)
    result = migrex(pair.am, "outbox", "list", "--parked", "--json")
    assert result.exit_code == 0, result.output
    [listed] = json.loads(result.stdout)
    assert (listed["message_id"], listed["status"], listed["refusal"]) == (
        head, "refused", "expired",
    )  # fmt: skip
    assert listed["waiting"] == {"count": 2, "message_ids": behind}
    with pair.am.unit_of_work() as uow:
        row = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == head)
        ).one()
    # ISO 8601 times, as every --json prints them
    assert listed["issued_at"] == row.issued_at.isoformat()
    assert listed["expires_at"] == row.expires_at.isoformat() and "T" in listed["expires_at"]
    table = migrex(pair.am, "outbox", "list", "--parked")
    assert table.exit_code == 0
    [block] = [line for line in table.stdout.splitlines() if line.startswith(head)]
    assert "am-mcs → kz-mia notice case case-c" in block  # whole ids, even at 80 columns
    assert "refused (expired) after 1 try" in table.stdout
    assert f"2 waiting behind it: {behind[0]} {behind[1]}" in table.stdout
    assert "migrex outbox reissue ID" in " ".join(table.stdout.split())
    every = json.loads(migrex(pair.am, "outbox", "list", "--json").stdout)
    assert {m["message_id"]: m["refusal"] for m in every}[head] == "expired"


def test_outbox_reissue_and_discard_commands(pair: Pair) -> None:
    head, behind = refused_case(pair)
    result = migrex(pair.am, "outbox", "reissue", head)
    assert result.exit_code == 0, result.output
    # At the real clock the messages behind it are still good: they keep their times.
    assert f"{head} re-issued\n" in result.stdout
    rows = outbox(pair.am)
    assert rows[head].status == Status.PENDING and rows[head].envelope is None

    blank = migrex(pair.am, "outbox", "discard", head, "--reason", "  ")
    assert blank.exit_code == 2 and outbox(pair.am)[head].status == Status.PENDING
    assert migrex(pair.am, "outbox", "discard", head).exit_code == 2  # --reason is required
    unknown = migrex(pair.am, "outbox", "discard", "0190d6a4-0000-7000-8000-000000000000",
                     "--reason", "typo")  # fmt: skip
    assert unknown.exit_code == 6 and "no outgoing message" in unknown.output

    result = migrex(pair.am, "outbox", "discard", head, "--reason", "sent by mistake")
    assert result.exit_code == 0, result.output
    assert f"{head} discarded" in result.stdout
    again = migrex(pair.am, "outbox", "discard", head, "--reason", "twice")
    assert again.exit_code == 24 and "discarded" in again.output
    assert migrex(pair.am, "outbox", "reissue", head).exit_code == 24
    assert migrex(pair.am, "outbox", "reissue").exit_code == 2
    assert outbox(pair.am)[behind[0]].status == Status.PENDING


def test_outbox_retry_of_messages_none_of_which_is_parked_is_refused(pair: Pair) -> None:
    head, behind = refused_case(pair)
    leaves = len(administration_leaves(pair.am))
    refused = migrex(pair.am, "outbox", "retry", head)
    assert refused.exit_code == 24, refused.output
    assert f"nothing to retry: {head} is refused" in " ".join(refused.output.split())
    unknown = migrex(pair.am, "outbox", "retry", "0190d6a4-0000-7000-8000-000000000000")
    assert unknown.exit_code == 6 and "no outgoing message 0190d6a4" in unknown.output
    mixed = migrex(pair.am, "outbox", "retry", behind[0], "0190d6a4-0000-7000-8000-000000000000")
    assert mixed.exit_code == 6, mixed.output
    assert {outbox(pair.am)[m].status for m in behind} == {Status.PENDING}
    assert outbox(pair.am)[head].status == Status.REFUSED
    assert len(administration_leaves(pair.am)) == leaves  # refused, so not audited either
    assert migrex(pair.am, "outbox", "retry", "--all").exit_code == 0  # none parked: fine


def test_outbox_and_inbox_lists_filter_by_type(pair: Pair) -> None:
    head, behind = refused_case(pair)
    with pair.am.unit_of_work() as uow:
        request = OpenRequest(AGREEMENT, "am-mcs", "kz-mia", "person-inquiry", INQUIRY, "test")
        opened = open_request(uow, context(pair.am), request, datetime.now(UTC))

    def listed(*argv: str) -> list[str]:
        result = migrex(pair.am, "outbox", "list", "--json", *argv)
        assert result.exit_code == 0, result.output
        return [m["message_id"] for m in json.loads(result.stdout)]

    assert set(listed()) == {head, *behind, opened.message_id}
    assert listed("--type", "person-inquiry") == [opened.message_id]
    assert set(listed("--skip-type", "person-inquiry")) == {head, *behind}
    assert set(listed("--type", "notice", "--type", "person-inquiry")) == set(listed())
    typo = migrex(pair.am, "outbox", "list", "--type", "person-inqiury")
    assert typo.exit_code == 0
    assert "no message of type person-inqiury; the types held: notice, person-inquiry" in (
        " ".join(typo.output.split())
    )

    clock = Clock()
    drain(relay(pair.am, pair.am_trust, Partner(pair.kz, pair.kz_trust, clock), clock))

    def received(*argv: str) -> list[str]:
        result = migrex(pair.kz, "inbox", "list", "--json", *argv)
        assert result.exit_code == 0, result.output
        return [m["message_id"] for m in json.loads(result.stdout)]

    assert received() == received("--type", "person-inquiry") == [opened.message_id]
    assert received("--skip-type", "person-inquiry") == []
