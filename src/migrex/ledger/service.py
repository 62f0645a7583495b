"""Recording disclosures and answering for them: the data-subject report and volume limits.

Recording happens inside the caller's unit of work, in the same transaction as the message
or read it records, so the ledger can never miss a disclosure that happened.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select
from sqlalchemy.orm import Session

from migrex.agreements import Agreement
from migrex.audit import events, subject_hash
from migrex.audit.pending import record
from migrex.db import in_list
from migrex.ledger.subjects import Subject, subjects_in
from migrex.ledger.tables import DisclosureRow

# The node secret the subject hashes are keyed with (in the node's key folder).
SUBJECT_KEY = "subject.key"

# The messages that open a case about persons: their persons count against volume limits.
OPENING_TYPES = frozenset(
    {
        "person-inquiry",
        "violation-notice",
        "legal-status-consultation",
        "assistance-request",
        "citizenship-verification-request",
    }
)


@dataclass(frozen=True)
class MessageFacts:
    """What the ledger needs of a message, whichever way it went."""

    direction: str  # "sent" or "received"
    agreement_id: str
    our_authority: str
    partner_authority: str
    message_id: str
    message_type: str
    case_id: str | None
    purpose: str | None
    legal_basis: str | None
    actor: str
    at: datetime


def record_message(
    session: Session,
    key: bytes,
    facts: MessageFacts,
    body: Mapping[str, Any],
    opening: Mapping[str, Any] | None = None,
) -> list[Subject]:
    """One ledger row per identified person the message carries data about."""
    subjects = subjects_in(body, opening)
    _add(session, key, subjects, facts.direction, facts, actor=facts.actor)
    return subjects


def record_subjects(
    session: Session, key: bytes, facts: MessageFacts, subjects: Sequence[Subject]
) -> None:
    """One ledger row per identifier of each person, as the message's kind said it carries."""
    _add(session, key, [s for s in subjects if s.identifiers], facts.direction, facts,
         actor=facts.actor)  # fmt: skip


@dataclass(frozen=True)
class Provenance:
    """Fields about a person this node received from a partner authority under an agreement."""

    agreement_id: str
    partner_authority: str
    fields: frozenset[str]


def received_about(session: Session, key: bytes, identifiers: Sequence[str]) -> list[Provenance]:
    """Every partner that sent this node data about the person with any of these identifiers,
    with the fields it sent (names only: the ledger never holds values)."""
    if not identifiers:
        return []
    hashes = [subject_hash(key, identifier) for identifier in identifiers]
    rows = session.execute(
        select(DisclosureRow.agreement_id, DisclosureRow.partner_authority, DisclosureRow.fields)
        .where(DisclosureRow.subject_hash.in_(hashes), DisclosureRow.direction == "received")
        .distinct()
    )
    found: dict[tuple[str, str], set[str]] = {}
    for agreement_id, partner, fields in rows:
        found.setdefault((agreement_id, partner), set()).update(f for f in fields.split(",") if f)
    return [Provenance(a, p, frozenset(f)) for (a, p), f in sorted(found.items())]


def record_read(
    session: Session,
    key: bytes,
    facts: MessageFacts,
    body: Mapping[str, Any],
    opening: Mapping[str, Any] | None,
    *,
    reader: str,
    at: datetime,
) -> list[Subject]:
    """Someone in the node looked at a message carrying personal data: who, when, about whom."""
    subjects = subjects_in(body, opening)
    read = MessageFacts(**{**facts.__dict__, "at": at})
    _add(session, key, subjects, "read", read, actor=reader)
    return subjects


def record_found(
    session: Session, key: bytes, facts: MessageFacts, place: int, subject: Subject, *,
    reader: str, at: datetime,
) -> None:  # fmt: skip
    """A search showed someone in the node one person of a message: a read of that person,
    under the person's place in the message."""
    rows = ledger_rows(key, [subject], "read", replace(facts, at=at), actor=reader)
    insert_rows(session, [{**row, "person": place} for row in rows])


def _add(
    session: Session, key: bytes, subjects: Sequence[Subject], direction: str,
    facts: MessageFacts, *, actor: str,
) -> None:  # fmt: skip
    insert_rows(session, ledger_rows(key, subjects, direction, facts, actor=actor))


def ledger_rows(
    key: bytes, subjects: Sequence[Subject], direction: str, facts: MessageFacts, *, actor: str
) -> list[dict[str, Any]]:
    """The ledger's rows for `subjects`, one per identifier of each: for a caller that
    inserts many messages' rows at once (`insert_rows`)."""
    return [
        {
            "at": facts.at,
            "direction": direction,
            "subject_hash": subject_hash(key, identifier),
            "agreement_id": facts.agreement_id,
            "our_authority": facts.our_authority,
            "partner_authority": facts.partner_authority,
            "message_id": facts.message_id,
            "message_type": facts.message_type,
            "case_id": facts.case_id,
            "purpose": facts.purpose,
            "legal_basis": facts.legal_basis,
            "fields": ",".join(subject.fields),
            "actor": actor,
            "person": place,
        }
        for place, subject in enumerate(subjects)
        for identifier in subject.identifiers
    ]


def insert_rows(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        session.execute(insert(DisclosureRow), list(rows))


@dataclass(frozen=True)
class Entry:
    at: datetime
    direction: str
    agreement_id: str
    our_authority: str
    partner_authority: str
    message_id: str | None
    message_type: str | None
    case_id: str | None
    purpose: str | None
    legal_basis: str | None
    fields: tuple[str, ...]
    actor: str


def subject_report(session: Session, key: bytes, identifiers: Sequence[str]) -> list[Entry]:
    """Everything the ledger holds about the person with any of these identifiers, oldest first.

    A message recorded under two of the person's identifiers appears once.
    """
    hashes = [subject_hash(key, identifier) for identifier in identifiers]
    rows = session.scalars(
        select(DisclosureRow)
        .where(DisclosureRow.subject_hash.in_(hashes))
        .order_by(DisclosureRow.at, DisclosureRow.id)
    ).all()
    seen: set[tuple[str | None, str, str, datetime]] = set()
    entries = []
    for row in rows:
        once = (row.message_id, row.direction, row.actor, row.at)
        if once in seen:
            continue
        seen.add(once)
        entries.append(
            Entry(
                row.at,
                row.direction,
                row.agreement_id,
                row.our_authority,
                row.partner_authority,
                row.message_id,
                row.message_type,
                row.case_id,
                row.purpose,
                row.legal_basis,
                tuple(f for f in row.fields.split(",") if f),
                row.actor,
            )
        )
    return entries


def report_on_subject(
    session: Session, key: bytes, identifiers: Sequence[str], *, authority: str, reader: str,
    at: datetime,
) -> list[Entry]:  # fmt: skip
    """The subject report for one authority, recorded as a read about the person: one audit
    entry per identifier asked about, with the person only as its keyed hash (G5)."""
    entries = [e for e in subject_report(session, key, identifiers) if e.our_authority == authority]
    for identifier in identifiers:
        record(session, events.personal_data_shown(
            at=at, actor=reader, authority=authority, subject_hash=subject_hash(key, identifier),
            reference="subject-report",
        ))  # fmt: skip
    return entries


def persons_in_period(
    session: Session, agreement: Agreement, *, direction: str, partner_state: str, now: datetime
) -> int:
    """Persons named in requests and notices that went `direction` ("sent" or "received")
    between this node and `partner_state` within the agreement's volume period up to `now`."""
    since = now - agreement.data_protection.volume.period
    partners = [a.id for a in agreement.authorities_of(partner_state)]
    return _count(session, agreement.id, direction, partners, since)


class VolumeCount:
    """Persons that went `direction` per agreement and partner state within the volume period
    up to `now`, counted once each (`persons_in_period`) and then kept running by the caller
    (`add`) as it records more in the same transaction: a filing round checks the limits of
    a hundred openings with one count per partner instead of one each."""

    def __init__(self, session: Session, *, direction: str, now: datetime) -> None:
        self._session, self._direction, self._now = session, direction, now
        self._persons: dict[tuple[str, str], int] = {}

    def persons(self, agreement: Agreement, partner_state: str) -> int:
        key = (agreement.id, partner_state)
        if key not in self._persons:
            self._persons[key] = persons_in_period(
                self._session, agreement, direction=self._direction,
                partner_state=partner_state, now=self._now,
            )  # fmt: skip
        return self._persons[key]

    def add(self, agreement_id: str, partner_state: str, persons: int) -> int:
        """Counts `persons` more (fewer, when negative: what a rolled-back step had added);
        returns how many it counted. A pair not counted yet is left alone (0): its first
        count will find them in the ledger."""
        key = (agreement_id, partner_state)
        if key not in self._persons:
            return 0
        self._persons[key] += persons
        return persons


def _count(
    session: Session, agreement_id: str, direction: str, partners: Sequence[str], since: datetime
) -> int:
    values = {"agreement_id": agreement_id, "direction": direction, "partners": list(partners),
              "since": since}  # fmt: skip
    return session.scalar(_count_statement(session.get_bind().dialect.name), values) or 0


@functools.cache
def _count_statement(dialect: str) -> Select[int]:
    # Built once: building the statement costs more than running it, and filing counts at
    # every round. A person named under two identifiers in one message is one person.
    per_message = (
        select(DisclosureRow.message_id, DisclosureRow.person)
        .distinct()
        .where(
            DisclosureRow.agreement_id == bindparam("agreement_id"),
            DisclosureRow.direction == bindparam("direction"),
            in_list(DisclosureRow.partner_authority.expression, "partners", dialect),
            DisclosureRow.message_type.in_(OPENING_TYPES),
            DisclosureRow.at > bindparam("since", type_=DisclosureRow.at.type),
        )
        .subquery()
    )
    return select(func.count()).select_from(per_message)


@dataclass(frozen=True)
class LimitUse:
    agreement_id: str
    partner_state: str
    direction: str
    persons: int
    limit: int
    period: timedelta

    @property
    def share(self) -> float:
        return self.persons / self.limit


def authority_limits(
    session: Session, agreements: Mapping[str, Agreement], authority: str, now: datetime
) -> list[LimitUse]:
    """`limits_report` for the agreements `authority` takes part in, from its state's side."""
    mine = {k: a for k, a in agreements.items() if authority in a.authorities}
    state = next(iter(mine.values())).authority(authority).state if mine else ""
    return limits_report(session, mine, state, now)


def limits_report(
    session: Session, agreements: Mapping[str, Agreement], own_state: str, now: datetime
) -> list[LimitUse]:
    """For each agreement and partner state: persons requested each way in the current period."""
    uses = []
    for agreement in agreements.values():
        limits = agreement.data_protection.volume
        for partner in sorted(agreement.partner_states(own_state)):
            for direction in ("sent", "received"):
                persons = persons_in_period(
                    session, agreement, direction=direction, partner_state=partner, now=now
                )
                uses.append(
                    LimitUse(
                        agreement.id,
                        partner,
                        direction,
                        persons,
                        limits.max_persons_per_period,
                        limits.period,
                    )
                )
    return uses
