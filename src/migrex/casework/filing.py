"""The filing gate: every received message becomes case work here.

A round files the waiting messages together, in one savepoint, reading once what they all
need (`Round`: their data keys, their cases and the cases' threads, the persons received
from each partner in the volume period) and writing their ledger rows in one statement; the
audit log's entries go in with the round's commit. If any message of the round cannot be
filed, that savepoint is rolled back and the round is filed again one message at a time, each
in its own savepoint. One that cannot be filed (an unknown kind, a body that does not parse, a
refusal citing a ground the agreement lacks, an answer to a case that does not exist, a
release that does not check) is **quarantined**: its savepoint is rolled back, so it changes
nothing; it stays sealed as it arrived; the reason (a code and the places at fault, never
content) goes on the inbox row, into the security log and back to the sender as a
`message-problem`; and filing goes on with the next message.

For a message that files, in order: its kind and case (a request or notice opens one, every
other kind must join an existing case of the same two authorities); the agreement's rules for
it; person fields beyond what its purpose's profile (and, for an answer, the request) allows
are dropped and the drop is flagged for the reviewer (G2); one ledger row per person it carries
(G4); the case's copy, sealed under the message's data key (G7); the case's move (G5).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

import structlog
from sqlalchemy import Integer, Select, Table, bindparam, exists, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import make_transient_to_detached

from migrex.agreements import Agreement
from migrex.audit import events
from migrex.audit.message_kinds import AUDIT_TYPES, FOR_AUDIT
from migrex.audit.pending import discard_since, pending_mark, record
from migrex.casework import gate
from migrex.casework.consultation_signing import verify_cosignature
from migrex.casework.context import NodeContext
from migrex.casework.incoming import (
    MESSAGE_PROBLEM,
    Unfileable,
    file_problem_report,
    open_incoming,
    problem_text,
    rescreen,
)
from migrex.casework.kinds import MessageKind, Role
from migrex.casework.lifecycle import (
    TERMINAL_STATES,
    CaseState,
    Direction,
    Event,
    allowed_events,
    event_of,
)
from migrex.casework.messages import (
    ClarificationAnswer,
    ConsultationOutcome,
    MessageBody,
    Refusal,
    check_refusal,
    parse_body,
)
from migrex.casework.person_search import index_rows
from migrex.casework.steps import asked_fields, case_view, move, note
from migrex.casework.tables import CaseEventRow, CaseMessageRow, CaseRow
from migrex.db import begin_writing, bulk_insert, in_list
from migrex.exchange.outbox import canonical_json
from migrex.exchange.service import Discarded
from migrex.exchange.tables import InboxMessage, OutboxMessage, SecurityEvent
from migrex.ledger.service import MessageFacts, insert_many, ledger_rows
from migrex.ledger.volume import OPENING_TYPES, VolumeCount
from migrex.retention.sealing import is_sealed
from migrex.retention.service import (
    CASE_BODY,
    INBOX_BODY,
    SIGNED_MESSAGE,
    DataKeys,
    add_search_terms,
    sealed_copies,
)
from migrex.retention.tables import RetentionKeyRow
from migrex.uow import UnitOfWork

log = structlog.get_logger(__name__)

QUARANTINED = "quarantined"


# How many waiting messages a round takes at most (see `file_inbox`).
ROUND_LIMIT = 100


def file_inbox(uow: UnitOfWork, node: NodeContext, now: datetime, limit: int = ROUND_LIMIT) -> int:
    """Files the received messages waiting (and notes deliveries of ours); returns how many
    messages it took up, filed or quarantined.

    A round is one transaction; on SQLite it holds the one write lock the receiver also needs,
    so rounds stay small (the clerk drains a backlog round after round): 100 messages kept
    the receipt latency at 100 msg/s near a fifth of what 500 gave."""
    note_deliveries(uow, now)
    rows = list(uow.session.scalars(_statements(_dialect(uow)).waiting, {"limit": limit}))
    if rows:
        begin_writing(uow.session)  # before the round reads what it needs (see there)
    if rows and _file_together(uow, node, rows, now):
        uow.commit()
        return len(rows)
    apart = Round.read(uow, node, rows, now, shared=False)
    for row in rows:
        _file_apart(uow, node, row, now, apart)
    uow.commit()
    return len(rows)


def _file_together(
    uow: UnitOfWork, node: NodeContext, rows: list[InboxMessage], now: datetime
) -> bool:
    """Files every message of the round in one savepoint; False (and nothing changed) when
    one of them cannot be filed: the round is then filed message by message."""
    savepoint = uow.session.begin_nested()
    try:
        together = Round.read(uow, node, rows, now, shared=True)
        # Nothing is written until the round is: what it must read it read up front, and the
        # new cases go in before the rows that refer to them (`Round.write_cases`).
        with uow.session.no_autoflush:
            for row in rows:
                row.status = file_message(uow, node, row, now, together)
        together.write_cases(uow)
        together.write_thread_rows(uow)
        together.write_ledger(uow)
        savepoint.commit()
    except OperationalError:
        raise  # the database, not a message: the round is given up (see `_file_apart`)
    except Exception:
        # Which message failed, and why, is for the filing one by one to find and report.
        savepoint.rollback()
        # Cases this round wrote directly (`Round.write_cases`) are unknown to the session's
        # savepoint bookkeeping: forget every object, and read the messages again.
        ids = [row.id for row in rows]
        uow.session.expunge_all()
        rows[:] = uow.session.scalars(
            select(InboxMessage).where(InboxMessage.id.in_(ids)).order_by(InboxMessage.id)
        ).all()
        return False
    return True


def _file_apart(
    uow: UnitOfWork, node: NodeContext, row: InboxMessage, now: datetime, apart: Round
) -> None:
    mark = pending_mark(uow.session)
    savepoint = uow.session.begin_nested()
    try:
        status = file_message(uow, node, row, now, apart)
        apart.write_ledger(uow)
        row.status = status
        savepoint.commit()
    except OperationalError:
        # The database, not the message: a lock held too long, a lost connection, a
        # serialisation failure. The round is given up whole and the message stays new,
        # for the next round to file; quarantining it would refuse a good message for good.
        raise
    except Exception as error:
        savepoint.rollback()
        apart.ledger.clear()
        apart.search_terms.clear()
        discard_since(uow.session, mark)
        quarantine(uow, node, row, problem_text(error), now)


@dataclass(frozen=True)
class _Statements:
    """Filing's queries for one dialect, built once: building a SQLAlchemy statement costs
    more than running it, and a round at a steady trickle files one message or two."""

    waiting: Select[InboxMessage]
    delivered: Select[CaseRow]
    delivered_held: Select[CaseRow]
    cases: Select[CaseRow]
    threads: Select[CaseMessageRow]


@functools.cache
def _statements(dialect: str) -> _Statements:
    # The outbox orders a case's messages under the case's id (`outbox.enqueue`), so each
    # sent case's own messages are found through the ordering index. Left to themselves both
    # databases may take the status index as well (SQLite always; PostgreSQL while its
    # statistics are older than the outbox, and then it intersects the two indexes), and walk
    # every message the node ever delivered for each case still marked sent: a filing round
    # would grow with the node's whole history. `status || ''` keeps them off that index.
    status = OutboxMessage.status.concat("")
    receipted = exists().where(OutboxMessage.ordering_key == CaseRow.id,
                               OutboxMessage.case_id == CaseRow.id,
                               status == "delivered")  # fmt: skip
    delivered = select(CaseRow).where(CaseRow.direction == Direction.OUTGOING,
                                      CaseRow.state == CaseState.SENT, receipted)  # fmt: skip
    return _Statements(
        waiting=select(InboxMessage).where(InboxMessage.status == "new")
        .order_by(InboxMessage.id).limit(bindparam("limit", type_=Integer)),
        delivered=delivered,
        delivered_held=delivered.order_by(CaseRow.id).with_for_update()
        .execution_options(populate_existing=True),
        # The round holds the cases it files, as an officer's use case does (`steps.lock_case`):
        # on PostgreSQL a round that read a case in review moved it to withdrawn over the
        # refusal an officer sent meanwhile. (SQLite's round holds its one write lock.) In id
        # order, as a bulk claim holds its cases: neither can hold what the other waits for.
        cases=select(CaseRow).where(in_list(CaseRow.id.expression, "case_ids", dialect))
        .order_by(CaseRow.id).with_for_update(),
        threads=select(CaseMessageRow)
        .where(in_list(CaseMessageRow.case_id.expression, "case_ids", dialect))
        .order_by(CaseMessageRow.id),
    )  # fmt: skip


def _dialect(uow: UnitOfWork) -> str:
    return uow.session.get_bind().dialect.name


# A round's rows go in through `bulk_insert` (COPY on PostgreSQL): for a round of a hundred
# messages, a statement per row cost the client more than filing them did.
_CASES = cast(Table, CaseRow.__table__)
_CASE_COLUMNS = tuple(_CASES.columns)
_MESSAGES = cast(Table, CaseMessageRow.__table__)
_EVENTS = cast(Table, CaseEventRow.__table__)


@dataclass(frozen=True)
class FiledMessage:
    """A message the round filed into its case's thread, as the round's later messages read
    it (`Round.view`); its row goes in with the round's (`Round.write_thread_rows`)."""

    message_id: str
    type: str
    direction: str
    body: str


ThreadMessage = CaseMessageRow | FiledMessage


@dataclass
class Round:
    """What a filing round reads once for all its messages, and the ledger rows it writes at
    once.

    Read up front: the messages' data keys (one query, each key unwrapped once, for the inbox
    body and the case's copy alike). A round filed together (`shared`) also reads the cases
    the messages belong to and those cases' threads (one query each), and counts the persons
    received from each partner in the volume period once, keeping the count running as it
    files openings; these change as the round files, so a round filed message by message,
    where any message may be rolled back, reads them afresh for each message instead.

    A round filed together also writes the rows of its cases' threads and histories itself,
    each table in one statement, instead of building an ORM object for each and flushing it.
    """

    keys: DataKeys
    now: datetime
    shared: bool
    cases: dict[str, CaseRow] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)  # case ids known not to exist
    threads: dict[str, list[ThreadMessage]] = field(default_factory=dict)
    volume: VolumeCount | None = None
    ledger: list[dict[str, Any]] = field(default_factory=list)
    search_terms: list[dict[str, str]] = field(default_factory=list)
    new_cases: list[CaseRow] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)  # rows of the cases' threads
    events: list[dict[str, Any]] = field(default_factory=list)  # rows of the cases' histories

    @classmethod
    def read(
        cls, uow: UnitOfWork, node: NodeContext, rows: list[InboxMessage], now: datetime, *,
        shared: bool,
    ) -> Round:  # fmt: skip
        sealed = [row.message_id for row in rows if is_sealed(row.body)]
        filing = cls(DataKeys(uow.session, node.retention_key, sealed), now, shared)
        if not shared:
            return filing
        filing.volume = VolumeCount(uow.session, direction="received", now=now)
        case_ids = {row.case_id for row in rows if row.case_id}
        statements = _statements(_dialect(uow))
        if case_ids:
            filing.cases = {case.id: case for case in uow.session.scalars(
                statements.cases, {"case_ids": list(case_ids)}
            )}  # fmt: skip
            filing.missing = case_ids - filing.cases.keys()
            filing.threads = {case_id: [] for case_id in filing.cases}
        if filing.cases:
            for message in uow.session.scalars(
                statements.threads, {"case_ids": list(filing.cases)}
            ):  # fmt: skip
                filing.threads[message.case_id].append(message)
            # The case copies of received messages are sealed under those messages' keys.
            filing.keys.read_more(
                [m.message_id for t in filing.threads.values() for m in t if is_sealed(m.body)]
            )
        return filing

    def case(self, uow: UnitOfWork, case_id: str) -> CaseRow | None:
        if case_id in self.cases:
            return self.cases[case_id]
        if case_id in self.missing:
            return None
        return uow.session.get(CaseRow, case_id, with_for_update=True)  # as `cases` (see there)

    def write_case(self, uow: UnitOfWork, case: CaseRow) -> None:
        """Keeps a new case for `write_cases`: it is not in the session yet, so nothing the
        round adds that refers to it can be flushed before it."""
        self.new_cases.append(case)

    def write_cases(self, uow: UnitOfWork) -> None:
        """Inserts the round's new cases, as they stand now, in one statement on the
        connection (no flush), then gives them to the session as stored rows: the rows that
        refer to them (notes, messages, events) follow when the round's savepoint flushes."""
        if not self.new_cases:
            return
        bulk_insert(uow.session, _CASES,
                    [{c.name: getattr(case, c.key) for c in _CASE_COLUMNS}
                     for case in self.new_cases])  # fmt: skip
        for case in self.new_cases:
            make_transient_to_detached(case)
            uow.session.add(case)
        self.new_cases.clear()

    def opened(self, case: CaseRow) -> None:
        if self.shared:
            self.cases[case.id] = case
            self.missing.discard(case.id)
            self.threads[case.id] = []

    def file(self, uow: UnitOfWork, message: dict[str, Any]) -> None:
        """Puts the row of a message filed into its case's thread: kept for
        `write_thread_rows` in a round filed together, else added to the session."""
        if not self.shared:
            uow.session.add(CaseMessageRow(**message))
            return
        self.messages.append(message)
        thread = self.threads.get(message["case_id"])
        if thread is not None:
            thread.append(FiledMessage(message["message_id"], message["type"],
                                       message["direction"], message["body"]))  # fmt: skip

    @property
    def history(self) -> list[dict[str, Any]] | None:
        """Where a case moved by this round puts its history row (`steps.move`): kept for
        `write_thread_rows` in a round filed together, else (None) added to the session."""
        return self.events if self.shared else None

    def write_thread_rows(self, uow: UnitOfWork) -> None:
        """Inserts the messages filed and the cases' history rows, after the new cases they
        refer to (`write_cases`), one statement per table on the session's connection."""
        bulk_insert(uow.session, _MESSAGES, self.messages)
        bulk_insert(uow.session, _EVENTS, self.events)
        self.messages.clear()
        self.events.clear()

    def view(self, uow: UnitOfWork, node: NodeContext, case: CaseRow) -> gate.CaseView:
        """The case's opening request and the fields it asks for, as `steps.case_view` reads
        them, from the thread read up front."""
        thread = self.threads.get(case.id)
        if thread is None:
            return case_view(uow, node, case)
        opening = parse_body(thread[0].type, json.loads(self.body_text(thread[0]))) if thread \
            else None  # fmt: skip
        direction = "received" if case.direction == Direction.INCOMING else "sent"
        answers = [
            parse_body(m.type, json.loads(self.body_text(m))) for m in thread
            if m.direction == direction and m.type == "clarification-answer"
        ]  # fmt: skip
        return gate.CaseView(opening, asked_fields(
            opening, [a for a in answers if isinstance(a, ClarificationAnswer)]
        ))  # fmt: skip

    def body_text(self, message: ThreadMessage) -> str:
        if not is_sealed(message.body):
            return message.body
        return self.keys.open(record=message.message_id, name=CASE_BODY, sealed=message.body)

    def write_ledger(self, uow: UnitOfWork) -> None:
        # On the connection: the session's pending rows go with the savepoint's flush.
        insert_many(uow.session, self.ledger)
        add_search_terms(uow.session, self.search_terms)
        self.ledger.clear()
        self.search_terms.clear()


def quarantine(
    uow: UnitOfWork, node: NodeContext, row: InboxMessage, problem: str, now: datetime
) -> None:
    """Sets the message aside with why, tells the security log, the audit log and the sender."""
    row.status, row.problem = QUARANTINED, problem
    _seal_if_clear(uow, node, row, now)
    uow.session.add(SecurityEvent(at=now, reason="unfileable",
                                  detail=f"{row.type} {row.message_id}: {problem}"[:500],
                                  peer=row.sender, size=0,
                                  envelope_sha256=row.envelope_sha256))  # fmt: skip
    record(uow.session, events.decision(at=now, actor="filing", authority=row.recipient,
                                        case_id=row.case_id or "none", event="quarantine",
                                        purpose=None, message_id=row.message_id))  # fmt: skip
    log.warning("message quarantined", message_id=row.message_id, type=row.type, problem=problem)
    if row.type != MESSAGE_PROBLEM:
        file_problem_report(uow, node, row, problem, now)


def file_message(
    uow: UnitOfWork, node: NodeContext, row: InboxMessage, now: datetime,
    filing: Round | None = None,
) -> str:  # fmt: skip
    """Files one received message; returns its inbox status. Raises when it cannot be filed.
    Its ledger rows wait in `filing.ledger` for `Round.write_ledger`."""
    if filing is None:
        filing = Round.read(uow, node, [row], now, shared=False)
        status = file_message(uow, node, row, now, filing)
        filing.write_ledger(uow)
        return status
    if row.type in AUDIT_TYPES:
        return FOR_AUDIT  # checkpoints and cosignatures: the witness clerk's
    aside = node.set_aside.get(row.type)
    if aside is not None:
        return aside  # a kind of no case that its own feature's clerk files (directory updates)
    agreement = node.agreements.get(row.agreement_id)
    if agreement is None:
        raise Unfileable("unknown-agreement")
    kind = gate.kind_for(row.type)
    payload = json.loads(inbox_text(uow, node, row, filing.keys))
    body = parse_body(row.type, payload)
    if row.type == MESSAGE_PROBLEM:
        return file_problem_report_received(uow, row, body)
    if row.case_id is None:
        raise Unfileable("no-case")
    case = filing.case(uow, row.case_id)
    if case is None:
        if not kind.opens_case:
            raise Unfileable("no-such-case")
        case = open_incoming(uow, agreement, row, kind, body, now=now, volume=filing.volume,
                             write=filing.write_case if filing.shared else None)  # fmt: skip
        filing.opened(case)
        view = gate.CaseView(opening=None, asked=frozenset())
    else:
        if kind.opens_case:
            raise Unfileable("case-exists")
        if case.partner_authority != row.sender or case.our_authority != row.recipient:
            raise Unfileable("not-a-party-to-the-case")
        gate.check_agreement(agreement, kind, case, now)
        view = filing.view(uow, node, case)
    if isinstance(body, Refusal):
        check_refusal(agreement, body)
    hook = node.filing_hooks.get(row.type)
    if hook is not None:
        hook(uow.session, agreement, row.sender, body, message_id=row.message_id,
             case_id=case.id, now=now)  # fmt: skip
    arrival = Arrival(row, kind, case, view, payload, body)
    arrival = _minimised(uow, agreement.fields_allowed(case.purpose) if case.purpose
                         else frozenset(), arrival)  # fmt: skip
    _ledger(node, agreement, arrival, now, filing)
    filing.file(uow, {"case_id": case.id, "message_id": row.message_id, "direction": "received",
                      "type": row.type, "body": _case_copy(uow, node, arrival, now, filing.keys),
                      "at": now, "actor": arrival.actor})  # fmt: skip
    return _move_case(uow, node, arrival, now, filing)


@dataclass(frozen=True)
class Arrival:
    """A received message on its way into its case."""

    row: InboxMessage
    kind: MessageKind
    case: CaseRow
    view: gate.CaseView
    payload: dict[str, Any]
    body: MessageBody

    @property
    def actor(self) -> str:
        return f"partner:{self.row.sender}"


def _minimised(uow: UnitOfWork, allowed: frozenset[str], arrival: Arrival) -> Arrival:
    """Drops the person fields the partner sent beyond what may be kept, and flags the drop."""
    kind = arrival.kind
    if not kind.personal or kind.role is Role.REQUEST:
        return arrival  # a request's identifiers are screened, not stripped
    if kind.answers_request:
        allowed &= arrival.view.asked
    kept, dropped = kind.strip(arrival.payload, allowed)
    if not dropped:
        return arrival
    note(uow, arrival.case.id, "flag", "over-disclosure",
         f"the partner's {kind.type} carried fields outside what was asked and allowed; they "
         f"were not kept: {', '.join(sorted(dropped))}")  # fmt: skip
    return replace(arrival, payload=kept, body=parse_body(kind.type, kept))


def _ledger(
    node: NodeContext, agreement: Agreement, arrival: Arrival, now: datetime, filing: Round
) -> None:
    """One ledger row per person and identifier (G4), written with the round's; an opening's
    persons count at once in the round's running volume count."""
    if not arrival.kind.personal:
        return
    case, row, opening = arrival.case, arrival.row, arrival.view.opening
    facts = MessageFacts(
        "received", case.agreement_id, case.our_authority, case.partner_authority,
        row.message_id, row.type, case.id, case.purpose, gate.legal_basis(arrival.body, opening),
        arrival.actor, now,
    )  # fmt: skip
    carried = arrival.kind.carried(arrival.body, opening)
    persons = [s for s in gate.subjects(carried) if s.identifiers]
    filing.ledger += ledger_rows(node.subject_key, persons, "received", facts, actor=facts.actor)
    filing.search_terms += index_rows(node.subject_key, row.message_id, carried)
    if filing.volume is not None and row.type in OPENING_TYPES and persons:
        filing.volume.add(agreement.id, agreement.authority(row.sender).state, len(persons))


def _move_case(
    uow: UnitOfWork, node: NodeContext, arrival: Arrival, now: datetime, filing: Round
) -> str:
    case, kind, body, actor = arrival.case, arrival.kind, arrival.body, arrival.actor
    if kind.role is Role.NOTICE:
        move(uow, case, Event.FILE, actor, now, rows=filing.history)
        return "filed"
    event = event_of(body, parties=(case.our_authority, case.partner_authority))
    if (
        isinstance(body, ConsultationOutcome)
        and event is not None
        and not _our_cosignature_holds(node, case, body)
    ):
        forged = "the outcome claims our co-signature, which does not verify with our keys"
        note(uow, case.id, "flag", "cosignature-not-ours", forged)
        return "cosignature-invalid"
    if isinstance(body, ClarificationAnswer) and case.direction == Direction.INCOMING:
        rescreen(uow, node, case, body, now=now, volume=filing.volume)
    if event is None or case.state in TERMINAL_STATES or kind.role is Role.REQUEST:
        return "filed"
    if event not in allowed_events(Direction(case.direction), CaseState(case.state)):
        return "filed-late"
    move(uow, case, event, actor, now, rows=filing.history)
    return "filed"


def _our_cosignature_holds(node: NodeContext, case: CaseRow, body: ConsultationOutcome) -> bool:
    ours = [c for c in body.cosignatures if c.authority == case.our_authority]
    return bool(ours) and any(
        verify_cosignature(ours[0], key, agreement_id=case.agreement_id, case_id=case.id,
                           outcome=body.outcome)
        for key in node.own_signing_keys(case.our_authority)
    )  # fmt: skip


# ---------------------------------------------------------------- sealed copies


def inbox_text(
    uow: UnitOfWork, node: NodeContext, row: InboxMessage, keys: DataKeys | None = None
) -> str:
    if not is_sealed(row.body):
        return row.body
    keys = keys or DataKeys(uow.session, node.retention_key, ())
    return keys.open(record=row.message_id, name=INBOX_BODY, sealed=row.body)


def _case_copy(
    uow: UnitOfWork, node: NodeContext, arrival: Arrival, now: datetime, keys: DataKeys
) -> str:
    """The case's copy of the message: sealed under the message's data key (the key retention
    destroys) when it carries personal data or belongs to a case about persons, whose free
    texts (questions, answers, explanations) may name them; in clear otherwise."""
    text = canonical_json(arrival.payload)
    category = node.agreements[arrival.case.agreement_id].categories.get(arrival.case.category)
    if not arrival.kind.personal and not (category is not None and category.personal_data):
        return text
    _seal_if_clear(uow, node, arrival.row, now)
    return keys.seal(record=arrival.row.message_id, name=CASE_BODY, text=text)


def _seal_if_clear(uow: UnitOfWork, node: NodeContext, row: InboxMessage, now: datetime) -> None:
    """Seals a row that arrived without door sealing (a receiver set up without it)."""
    if is_sealed(row.body) or row.type in AUDIT_TYPES:
        return
    agreement = node.agreements.get(row.agreement_id)
    retention = agreement.data_protection.retention if agreement is not None else None
    key_row, sealed = sealed_copies(
        node.retention_key, record=row.message_id, agreement_id=row.agreement_id,
        our_authority=row.recipient,
        expires_at=now + retention if retention is not None else now, now=now,
        texts={INBOX_BODY: row.body, SIGNED_MESSAGE: row.signed_message},
    )  # fmt: skip
    uow.session.add(RetentionKeyRow(**key_row))
    row.body, row.signed_message = sealed[INBOX_BODY], sealed[SIGNED_MESSAGE]
    uow.session.flush()


# ---------------------------------------------------------------- deliveries of ours


def note_deliveries(uow: UnitOfWork, now: datetime) -> int:
    """Moves our sent cases whose messages the partner has receipted: a request becomes
    delivered, a notice filed. Returns how many moved."""
    statements = _statements(_dialect(uow))
    cases = list(uow.session.scalars(statements.delivered))
    if cases:
        # Held and read again before they move, as an officer's use case holds a case
        # (`steps.lock_case`): a request read as sent was moved to delivered over the
        # withdrawal an officer made meanwhile. Nothing is held while nothing moves.
        begin_writing(uow.session)
        cases = list(uow.session.scalars(statements.delivered_held))
    history: list[dict[str, Any]] = []
    for case in cases:
        move(uow, case, Event.DELIVERED if case.due_at is not None else Event.FILE, "relay", now,
             rows=history)  # fmt: skip
    # The cases are stored already: their history rows go in at once, in one statement.
    bulk_insert(uow.session, _EVENTS, history)
    return len(cases)


def note_discarded(uow: UnitOfWork, discarded: Discarded) -> None:
    """An operator discarded one of our messages before it was delivered (`migrex outbox
    discard`): its case is told what will not arrive, and why; a request whose opening
    message was discarded is closed as withdrawn, since the partner never received it and
    nothing can follow. A discard hook (`features.Feature.discard_hooks`), run in the
    operator's transaction."""
    case = uow.session.get(CaseRow, discarded.case_id) if discarded.case_id else None
    if case is None:
        return
    refused = (
        f" after {discarded.recipient} refused it ({discarded.refusal})"
        if discarded.refusal
        else ""
    )
    note(uow, case.id, "flag", "message-discarded",
         f"our {discarded.type} message {discarded.message_id} to {discarded.recipient} was "
         f"not delivered: {discarded.actor} discarded it{refused}: {discarded.reason}")  # fmt: skip
    if _opened(case, discarded, uow) and Event.WITHDRAW in allowed_events(
        Direction(case.direction), CaseState(case.state)
    ):
        move(uow, case, Event.WITHDRAW, discarded.actor, discarded.at)


def _opened(case: CaseRow, discarded: Discarded, uow: UnitOfWork) -> bool:
    """Whether the discarded message opened our outgoing case (its first message)."""
    if case.direction != Direction.OUTGOING or case.state != CaseState.SENT:
        return False
    first = uow.session.scalar(
        select(CaseMessageRow.message_id).where(CaseMessageRow.case_id == case.id)
        .order_by(CaseMessageRow.id).limit(1)
    )  # fmt: skip
    return first == discarded.message_id


def file_problem_report_received(uow: UnitOfWork, row: InboxMessage, body: MessageBody) -> str:
    """The partner could not file one of our messages: the case it belongs to is told."""
    refused = getattr(body, "message_id", None)
    case_id = uow.session.scalar(
        select(CaseMessageRow.case_id).where(CaseMessageRow.message_id == refused)
    )
    if case_id is None and row.case_id and uow.session.get(CaseRow, row.case_id) is not None:
        case_id = row.case_id
    if case_id is not None:
        why = getattr(body, "problem", "")
        note(uow, case_id, "flag", "partner-could-not-file",
             f"{row.sender} could not file message {refused}: {why}")  # fmt: skip
    return "filed"
