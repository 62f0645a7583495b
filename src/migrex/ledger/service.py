"""Recording disclosures and answering for them: the data-subject report and volume limits.

Recording happens inside the caller's unit of work, in the same transaction as the message
or read it records, so the ledger can never miss a disclosure that happened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from migrex.audit import events, subject_hash
from migrex.audit.pending import record
from migrex.db import bulk_insert
from migrex.ledger import volume
from migrex.ledger.subjects import Subject, subjects_in
from migrex.ledger.tables import DisclosureRow

# The node secret the subject hashes are keyed with (in the node's key folder).
SUBJECT_KEY = "subject.key"


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
        volume.tally(session, rows)


def insert_many(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """`insert_rows` for a round of many messages' rows at once (COPY on PostgreSQL), on the
    session's connection: what the session has pending goes in with its own flush."""
    bulk_insert(session, DisclosureRow.__table__, rows)  # type: ignore[arg-type]
    volume.tally(session, rows)


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
