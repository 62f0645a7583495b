"""The casework the exchange benchmark drives between two running nodes, and how it checks it.

Armenia's officer (am-mcs) opens person inquiries about workers in Kazakhstan's registries and
legal-status consultations followed at once by findings (several messages of one case queued
together, so the relays' order within a case is exercised); Kazakhstan's officer (kz-mia) takes
each inquiry into review and answers it from the registries. Every step is the officers' own
use case, one unit of work each, as the API would call it, and is timed as an officer action;
the messages it writes wait in the outbox (`held`) until the benchmark releases them all at
once (`release`), so that what the machine carries is timed apart from the officers' pace.

What arrived is checked at the application level, from what filing wrote, not from the inbox
whose unique message id could never show a message twice: a message filed twice leaves its
ledger rows twice (G4, one row per person and identifier each time it is filed); a message
received twice is logged twice; a case whose messages were filed in another order than sent,
or a message set aside as unfileable, is counted too.
"""

from __future__ import annotations

import csv
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from migrex.audit.leaves import LeafKind
from migrex.audit.tables import AuditLeafRow
from migrex.casework.answers import answer_inquiry
from migrex.casework.consultation import add_finding
from migrex.casework.context import NodeContext, hit_reference_key, node_context
from migrex.casework.filing import QUARANTINED
from migrex.casework.lifecycle import CaseState, Direction
from migrex.casework.service import OpenRequest, open_request, open_review
from migrex.casework.tables import CaseMessageRow, CaseRow
from migrex.exchange.outbox import announce
from migrex.exchange.tables import InboxMessage, OutboxMessage
from migrex.ledger.tables import DisclosureRow
from migrex.node import Node
from migrex.registry.columns import Kind, column_names
from migrex.registry.service import import_registries
from migrex.registry.sql import SqlRegistries
from migrex.uow import UnitOfWork

AGREEMENT = "kz-am-2024"
REQUESTER, ANSWERER = "am-mcs", "kz-mia"
OFFICER, REVIEWER = "bench:officer-am", "bench:reviewer-kz"
BASIS = "Law of the Republic of Armenia on Foreigners, Article 12, part 3"
FINDINGS_PER_CONSULTATION = 2
# Persons in Kazakhstan's registries the inquiries are about: inquiries cycle through them.
REGISTRY_PERSONS = 500


def bench_agreement(source: Path, target: Path) -> Path:
    """The agreement with its volume limit per period raised: the benchmark names more persons
    in a few seconds than the agreement allows in a month. Every message still counts (G6)."""
    text = source.read_text(encoding="utf-8")
    text, replaced = re.subn(r"(?m)^max_persons_per_period = \d+", "max_persons_per_period = "
                             "100_000_000", text)  # fmt: skip
    if not replaced:
        raise ValueError(f"{source} sets no max_persons_per_period to raise for the benchmark")
    target.write_text(text, encoding="utf-8")
    return target


def _document(n: int) -> str:
    return f"AM{n:07d}"


def load_registries(node: Node, folder: Path, persons: int = REGISTRY_PERSONS) -> None:
    """Armenian workers present in Kazakhstan, each with an open employment spell, imported
    through the registry import as a ministry's export would be."""
    present, spells = folder / "persons.csv", folder / "employment.csv"
    with present.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(column_names(Kind.PERSONS_PRESENT)))
        writer.writeheader()
        writer.writerows(_person(n) for n in range(1, persons + 1))
    with spells.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(column_names(Kind.EMPLOYMENT)))
        writer.writeheader()
        writer.writerows(_spell(n) for n in range(1, persons + 1))
    with node.unit_of_work() as uow:
        import_registries(uow, [(Kind.PERSONS_PRESENT, present), (Kind.EMPLOYMENT, spells)],
                          state="KZ", actor="bench")  # fmt: skip


def _person(n: int) -> dict[str, str]:
    return {
        "record_id": f"KZ-PP-{n:07d}", "surname": "Оганесян", "given_name": "Арам",
        "patronymic": "Ашотович", "surname_latin": "HOVHANNISYAN", "given_name_latin": "ARAM",
        "sex": "M", "birth_date": "1985-03-14", "citizenship": "ARM", "document_type": "P",
        "document_number": _document(n), "national_id": "", "entry_date": "2023-05-01",
        "entry_point": "ALA-AIRPORT", "purpose_of_stay": "work", "registration_region": "KZ-75",
        "registration_address": "Almaty, Abay avenue 10, flat 4", "inviting_party": "",
        "permit_type": "eaeu_worker", "permit_number": f"EAEU-{n}",
        "permit_valid_from": "2023-05-02", "permit_valid_to": "2026-05-01", "departure_date": "",
    }  # fmt: skip


def _spell(n: int) -> dict[str, str]:
    return {
        "record_id": f"KZ-EM-{n:07d}", "person_record_id": f"KZ-PP-{n:07d}",
        "employer_id": "940540000012", "employer_name": "Alatau Construction LLP",
        "occupation_isco08": "7112", "region": "KZ-75", "start_date": "2024-02-01",
        "end_date": "",
    }  # fmt: skip


def inquiry_body(n: int) -> dict[str, Any]:
    return {
        "purpose": "legal-status-of-stay", "legal_basis": BASIS,
        "persons": [{"surname_latin": "HOVHANNISYAN", "given_name_latin": "ARAM",
                     "birth_date": "1985-03-14", "citizenship": "ARM",
                     "document_number": _document(n % REGISTRY_PERSONS + 1)}],
        "requested_fields": ["surname_latin", "given_name_latin", "permit_type",
                             "permit_valid_to", "employer_name", "occupation_isco08"],
    }  # fmt: skip


def consultation_body(n: int) -> dict[str, Any]:
    return {
        "purpose": "legal-status-of-stay", "legal_basis": BASIS,
        "question": "May the person keep working after the employer's licence was withdrawn?",
        "person": {"citizenship": "ARM", "document_number": _document(n % REGISTRY_PERSONS + 1)},
        "requested_fields": ["permit_type", "employer_name"],
    }  # fmt: skip


@dataclass
class Plan:
    """What the benchmark opened: inquiry cases (two messages each, one each way) and
    consultation cases (an opening and its findings, all from the requester)."""

    inquiries: list[str] = field(default_factory=list)
    consultations: list[str] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return 2 * len(self.inquiries) + (1 + FINDINGS_PER_CONSULTATION) * len(self.consultations)

    def extend(self, other: Plan) -> None:
        self.inquiries += other.inquiries
        self.consultations += other.consultations


def cases_for(messages: int, consultation_share: float = 0.2) -> tuple[int, int]:
    """(inquiry cases, consultation cases) that make about `messages` messages, a fifth of the
    messages in consultations; at least one inquiry."""
    consultation_messages = int(messages * consultation_share)
    consultations = consultation_messages // (1 + FINDINGS_PER_CONSULTATION)
    inquiries = max(1, (messages - consultations * (1 + FINDINGS_PER_CONSULTATION)) // 2)
    return inquiries, consultations


# Messages the officers write wait in the outbox until the benchmark releases them, so that
# the officers' pace (a person's, in reality) stays out of the machine's throughput.
HELD_UNTIL = datetime(9000, 1, 1, tzinfo=UTC)


class OfficerTimes:
    """How long each officer action took (its use case, one unit of work), by action."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}

    def timed(self, action: str, started: float) -> None:
        self.seconds.setdefault(action, []).append(time.perf_counter() - started)

    def as_json(self) -> dict[str, dict[str, float | int | None]]:
        figures: dict[str, dict[str, float | int | None]] = {}
        for action, seconds in self.seconds.items():
            ordered = sorted(seconds)
            figures[action] = {
                "count": len(ordered),
                "p50_ms": _ms(percentile(ordered, 0.5)),
                "p99_ms": _ms(percentile(ordered, 0.99)),
            }
        return figures


def percentile(sorted_values: list[float], share: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * share))]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def held(node: Node) -> UnitOfWork:
    """A unit of work whose new outbox messages wait (`HELD_UNTIL`) until `release`: the
    officer's use case runs unchanged, the relays just find nothing due yet."""
    uow = node.unit_of_work().__enter__()

    def hold(session: Session, _context: object, _instances: object) -> None:
        for row in session.new:
            if isinstance(row, OutboxMessage):
                row.next_attempt_at = HELD_UNTIL

    event.listen(uow.session, "before_flush", hold)
    return uow


@contextmanager
def officer(node: Node, times: OfficerTimes, action: str) -> Iterator[UnitOfWork]:
    """One officer action: its unit of work (messages held), timed."""
    started = time.perf_counter()
    uow = held(node)
    try:
        yield uow
    finally:
        uow.__exit__(None, None, None)
        times.timed(action, started)


def release(node: Node, message_ids: list[str] | None = None) -> int:
    """Lets the held messages (all, or these) leave now; wakes the relays (PostgreSQL; SQLite
    relays poll). Returns how many were released."""
    condition = (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at == HELD_UNTIL)
    if message_ids is not None:
        condition &= OutboxMessage.message_id.in_(message_ids)
    with node.unit_of_work() as uow:
        released = uow.session.execute(
            update(OutboxMessage).where(condition).values(next_attempt_at=datetime.now(UTC))
            .returning(OutboxMessage.id)
        ).all()  # fmt: skip
        announce(uow.session)
        uow.commit()
    return len(released)


def open_inquiry(
    node: Node, context: NodeContext, n: int, times: OfficerTimes | None = None
) -> str:
    with officer(node, times or OfficerTimes(), "open_inquiry") as uow:
        opened = open_request(
            uow, context,
            OpenRequest(AGREEMENT, REQUESTER, ANSWERER, "person-inquiry", inquiry_body(n), OFFICER),
            datetime.now(UTC),
        )  # fmt: skip
    return opened.case_id


def open_consultation(
    node: Node, context: NodeContext, n: int, times: OfficerTimes | None = None
) -> str:
    """Opens a consultation and adds the officer's findings at once: they wait in the outbox
    behind the opening, and the partner can file them only after it."""
    times = times or OfficerTimes()
    with officer(node, times, "open_consultation") as uow:
        opened = open_request(
            uow, context,
            OpenRequest(AGREEMENT, REQUESTER, ANSWERER, "legal-status-consultation",
                        consultation_body(n), OFFICER),
            datetime.now(UTC),
        )  # fmt: skip
    for step in range(FINDINGS_PER_CONSULTATION):
        with officer(node, times, "add_finding") as uow:
            add_finding(uow, context, opened.case_id, finding=f"Finding {step + 1} of case {n}",
                        fields=None, actor=OFFICER, now=datetime.now(UTC))  # fmt: skip
    return opened.case_id


def open_cases(
    node: Node, inquiries: int, consultations: int, start: int = 0,
    times: OfficerTimes | None = None,
) -> Plan:  # fmt: skip
    """Opens the cases, consultations spread evenly among the inquiries; their messages are
    held in the outbox until `release`."""
    context = node_context(node)
    times = times or OfficerTimes()
    plan = Plan()
    total = inquiries + consultations
    for n in range(start, start + total):
        # Every k-th case is a consultation, k chosen so that the counts come out.
        if (
            consultations
            and (n - start) * consultations // total != (n - start + 1) * consultations // total
        ):
            plan.consultations.append(open_consultation(node, context, n, times))
        else:
            plan.inquiries.append(open_inquiry(node, context, n, times))
    return plan


def answer_inquiries(node: Node, times: OfficerTimes) -> tuple[int, Counter[str]]:
    """Kazakhstan's reviewer takes every inquiry filed and waiting into review and answers it
    from the registries, each step its own use case (the answers held in the outbox).
    Returns how many were answered, and the classes of the errors met."""
    context = node_context(node)
    hit_key = hit_reference_key(node.settings.resolved_key_dir)
    with node.unit_of_work() as uow:
        waiting = list(uow.session.scalars(
            select(CaseRow.id).where(CaseRow.direction == Direction.INCOMING,
                                     CaseRow.state == CaseState.DELIVERED,
                                     CaseRow.category == "persons-present")
            .order_by(CaseRow.opened_at)
        ))  # fmt: skip
    answered, errors = 0, Counter[str]()
    for case_id in waiting:
        try:
            with officer(node, times, "open_review") as uow:
                open_review(uow, case_id, REVIEWER, datetime.now(UTC))
            with officer(node, times, "answer_inquiry") as uow:
                answer_inquiry(uow, context, SqlRegistries(uow.session), case_id,
                               hit_key=hit_key, actor=REVIEWER, now=datetime.now(UTC))  # fmt: skip
            answered += 1
        except Exception as error:
            # The class only: an error's text may quote what it failed on (G8).
            errors[type(error).__name__] += 1
    return answered, errors


def filed_ids(node: Node, after: int = 0) -> list[tuple[int, str]]:
    """(row id, message id) of the messages filed into cases at this node since row `after`."""
    with node.unit_of_work() as uow:
        return [(int(i), m) for i, m in uow.session.execute(
            select(CaseMessageRow.id, CaseMessageRow.message_id)
            .where(CaseMessageRow.direction == "received", CaseMessageRow.id > after)
            .order_by(CaseMessageRow.id)
        )]  # fmt: skip


def sent_ids(node: Node, case_ids: list[str]) -> list[str]:
    """The message ids this node sent in these cases, in the order sent."""
    with node.unit_of_work() as uow:
        return list(uow.session.scalars(
            select(CaseMessageRow.message_id)
            .where(CaseMessageRow.direction == "sent", CaseMessageRow.case_id.in_(case_ids))
            .order_by(CaseMessageRow.id)
        ))  # fmt: skip


def filed_count(node: Node, after: int = 0) -> int:
    """Messages filed into cases at this node (received, in its case threads) since row
    `after`: a range of the primary key, so that polling it often costs the machine little
    beside the nodes it measures (the direction has no index: counting them all scans)."""
    with node.unit_of_work() as uow:
        return int(uow.session.scalar(
            select(func.count()).select_from(CaseMessageRow)
            .where(CaseMessageRow.id > after, CaseMessageRow.direction == "received")
        ) or 0)  # fmt: skip


def last_row(node: Node) -> int:
    """The id of the last row of the node's case threads (0 when none)."""
    with node.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.max(CaseMessageRow.id))) or 0)


@dataclass(frozen=True)
class Tally:
    """What the receivers did with the messages sent, counted at the application level."""

    sent: int
    lost: int  # sent, never filed into its case at the receiver
    duplicates: int  # filed (ledger) or received (audit log) more than once: the excess
    out_of_order: int  # cases whose messages were filed in another order than sent
    quarantined: int  # set aside as unfileable, at either node

    def as_json(self) -> dict[str, int]:
        return self.__dict__.copy()


def _sent(node: Node) -> dict[str, list[str]]:
    """Each case's messages sent by this node, in the order they were sent."""
    with node.unit_of_work() as uow:
        rows = uow.session.execute(
            select(CaseMessageRow.case_id, CaseMessageRow.message_id)
            .where(CaseMessageRow.direction == "sent").order_by(CaseMessageRow.id)
        )  # fmt: skip
        by_case: dict[str, list[str]] = {}
        for case_id, message_id in rows:
            by_case.setdefault(case_id, []).append(message_id)
        return by_case


def _received(node: Node) -> dict[str, list[str]]:
    with node.unit_of_work() as uow:
        rows = uow.session.execute(
            select(CaseMessageRow.case_id, CaseMessageRow.message_id)
            .where(CaseMessageRow.direction == "received").order_by(CaseMessageRow.id)
        )  # fmt: skip
        by_case: dict[str, list[str]] = {}
        for case_id, message_id in rows:
            by_case.setdefault(case_id, []).append(message_id)
        return by_case


def times_processed(node: Node) -> tuple[Counter[str], Counter[str]]:
    """Per message id: how many times its filing wrote each ledger row (the most for any one
    person and identifier), and how many times it was logged as received."""
    with node.unit_of_work() as uow:
        ledger = uow.session.execute(
            select(DisclosureRow.message_id, func.count())
            .where(DisclosureRow.direction == "received")
            .group_by(DisclosureRow.message_id, DisclosureRow.person, DisclosureRow.subject_hash)
        )  # fmt: skip
        filed: Counter[str] = Counter()
        for message_id, count in ledger:
            if message_id is not None:
                filed[message_id] = max(filed[message_id], int(count))
        received: Counter[str] = Counter()
        for message_id in uow.session.scalars(
            select(AuditLeafRow.message_id).where(AuditLeafRow.kind == LeafKind.MESSAGE_RECEIVED)
        ):
            if message_id is not None:
                received[message_id] += 1
        return filed, received


def quarantined(node: Node) -> int:
    with node.unit_of_work() as uow:
        return int(uow.session.scalar(
            select(func.count()).select_from(InboxMessage)
            .where(InboxMessage.status == QUARANTINED)
        ) or 0)  # fmt: skip


def tally(nodes: dict[str, Node]) -> Tally:
    """Every message either node sent into a case, checked at the other node."""
    sent = lost = duplicates = out_of_order = 0
    for sender, receiver in (("AM", "KZ"), ("KZ", "AM")):
        by_case = _sent(nodes[sender])
        received = _received(nodes[receiver])
        filed, logged = times_processed(nodes[receiver])
        for case_id, ids in by_case.items():
            sent += len(ids)
            got = received.get(case_id, [])
            sent_ids, got_ids = set(ids), set(got)
            lost += len(sent_ids - got_ids)
            if [m for m in got if m in sent_ids] != [m for m in ids if m in got_ids]:
                out_of_order += 1
            for message_id in ids:
                duplicates += max(0, filed[message_id] - 1) + max(0, logged[message_id] - 1)
    return Tally(sent, lost, duplicates, out_of_order,
                 sum(quarantined(node) for node in nodes.values()))  # fmt: skip


def wait_until(check: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
    deadline = datetime.now(UTC).timestamp() + timeout
    while datetime.now(UTC).timestamp() < deadline:
        if check():
            return True
        threading.Event().wait(poll)
    return check()
