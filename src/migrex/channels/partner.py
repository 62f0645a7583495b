"""What partners sent under the agreement, as the channel graph reads it, with its provenance.

A partner's answer to one of our person inquiries, or its violation notice, filed in
casework, can say who employs a person of our registers and whether the partner recorded a
violation. The graph may read that, but such data is the partner's, not ours:
- every fact keeps where it came from: the state and authority that sent it, the message
  and case it came in, the day it was received;
- it lives only as long as the message's retention (its data key, `retention.service`):
  once erased, no fact is read from it, and kept leads forget it
  (`service.forget_departed`);
- it may go back to the state it came from and nowhere else abroad (`casework.onward`): a
  lead built on it is never opened as a request to a third state.

A partner's person is found in our persons-present register by its document (number, and
type and citizenship when given) or its national id; a person not found adds nothing. The
partner's names, birth dates and documents are used for that match only and never kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

import pyarrow as pa
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from migrex.casework.bodies import body_of
from migrex.casework.context import NodeContext
from migrex.casework.onward import Originator
from migrex.casework.tables import CaseMessageRow, CaseRow
from migrex.channels.resolution import organisation_key
from migrex.errors import MigrexError
from migrex.registry.tables import PersonPresentRow
from migrex.retention.tables import RetentionKeyRow
from migrex.uow import UnitOfWork

# The received kinds whose person fields the graph reads.
READ_KINDS: Final = ("person-inquiry-reply", "violation-notice")
PARTNER_COLUMNS: Final = ("person_record_id", "employer_id", "employer_name", "violation",
                          "message_id")  # fmt: skip
# The rule the data a partner sent is under, as a card states it.
ONWARD_RULE: Final = "back to {state} only: never to a third state (casework.onward)"


@dataclass(frozen=True)
class Provenance:
    """Where a fact came from: a message a partner sent, filed in one of our cases."""

    message_id: str  # the received message: its retention record
    case_id: str
    state: str
    authority: str
    received_on: date
    expires_at: datetime | None  # when the message's retention ends

    @property
    def originator(self) -> Originator:
        return Originator(self.state, self.authority)

    def describe(self) -> str:
        return f"partner: {self.state}, {self.authority}, message {self.message_id}, " \
               f"case {self.case_id}, {self.received_on.isoformat()}"  # fmt: skip


@dataclass(frozen=True)
class PartnerFact:
    """What one partner message says about one person of our registers."""

    record_id: str  # our persons-present record the partner's person was matched to
    employer_id: str | None
    employer_name: str | None
    violation: bool
    provenance: Provenance


@dataclass(frozen=True)
class Received:
    """A partner's person as a message names them: their identifiers (for the match only)
    and the fields the graph reads."""

    who: Mapping[str, Any]
    employer_id: str | None
    employer_name: str | None
    violation: bool


def _text(value: Any) -> str | None:
    return str(value).strip() or None if isinstance(value, str | int) else None


def _read(fields: Mapping[str, Any], who: Mapping[str, Any], violation: bool) -> Received:
    return Received(who, _text(fields.get("employer_id")), _text(fields.get("employer_name")),
                    violation)  # fmt: skip


def received_persons(kind: str, body: Mapping[str, Any], opening: Mapping[str, Any] | None
                     ) -> list[Received]:  # fmt: skip
    """The persons a received message speaks of, with what it says about each. A reply's
    persons are those of the request it answers (`opening`); a no-hit says nothing."""
    if kind == "violation-notice":
        person = dict(body.get("person") or {})
        return [_read(person, person, bool(body.get("violations")))]
    if kind != "person-inquiry-reply" or opening is None:
        return []
    asked = list(opening.get("persons") or [])
    found = []
    for result in body.get("results") or []:
        index, fields = result.get("person"), dict(result.get("fields") or {})
        if not result.get("hit") or not isinstance(index, int) or not 0 <= index < len(asked):
            continue
        found.append(_read(fields, asked[index], bool(fields.get("violations"))))
    return [r for r in found if r.employer_id or r.employer_name or r.violation]


def _matches(session: Session, persons: Sequence[Received]) -> dict[int, str]:
    """Which of `persons` our persons-present register holds: their index → record id."""
    documents = sorted({str(p.who["document_number"]) for p in persons
                        if p.who.get("document_number")})  # fmt: skip
    national = sorted({str(p.who["national_id"]) for p in persons if p.who.get("national_id")})
    if not documents and not national:
        return {}
    rows = session.execute(
        select(PersonPresentRow.record_id, PersonPresentRow.document_number,
               PersonPresentRow.document_type, PersonPresentRow.citizenship,
               PersonPresentRow.national_id)
        .where(or_(PersonPresentRow.document_number.in_(documents),
                   PersonPresentRow.national_id.in_(national)))
    ).all()  # fmt: skip
    found: dict[int, str] = {}
    for index, person in enumerate(persons):
        who = person.who
        for record_id, number, doc_type, citizenship, national_id in rows:
            same_document = (
                who.get("document_number") == number
                and who.get("document_type") in (None, doc_type)
                and who.get("citizenship") in (None, citizenship)
            )
            if same_document or (who.get("national_id") and who.get("national_id") == national_id):
                found[index] = record_id
                break
    return found


def _live_keys(session: Session, messages: Iterable[str], now: datetime) -> dict[str, datetime]:
    """The messages whose retention still runs, with when it ends."""
    wanted = sorted(set(messages))
    if not wanted:
        return {}
    rows = session.scalars(select(RetentionKeyRow).where(RetentionKeyRow.record.in_(wanted)))
    return {r.record: r.expires_at for r in rows if r.wrapped_key is not None
            and _aware(r.expires_at) > _aware(now)}  # fmt: skip


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def partner_facts(
    uow: UnitOfWork, node: NodeContext, authority: str, now: datetime
) -> list[PartnerFact]:
    """Everything partners sent `authority` that the graph reads and that may still be
    kept: answers to our person inquiries and violation notices, each fact matched to a
    record of our registers. A message whose retention has ended (or whose body no longer
    opens) gives nothing."""
    session = uow.session
    received = session.execute(
        select(CaseMessageRow, CaseRow)
        .join(CaseRow, CaseRow.id == CaseMessageRow.case_id)
        .where(CaseRow.our_authority == authority, CaseMessageRow.direction == "received",
               CaseMessageRow.type.in_(READ_KINDS))
        .order_by(CaseMessageRow.id)
    ).all()  # fmt: skip
    live = _live_keys(session, [m.message_id for m, _ in received], now)
    facts: list[PartnerFact] = []
    for message, case in received:
        if message.message_id not in live:
            continue
        agreement = node.agreements.get(case.agreement_id)
        if agreement is None:
            continue
        try:
            body = body_of(uow, node, message)
            opening = _opening(uow, node, case.id) if message.type != "violation-notice" else None
        except MigrexError:
            continue
        persons = received_persons(message.type, body, opening)
        origin = Provenance(
            message.message_id, case.id, agreement.authority(case.partner_authority).state,
            case.partner_authority, message.at.date(), live[message.message_id],
        )  # fmt: skip
        for index, record_id in sorted(_matches(session, persons).items()):
            p = persons[index]
            facts.append(PartnerFact(record_id, p.employer_id, p.employer_name, p.violation,
                                     origin))  # fmt: skip
    return facts


def _opening(uow: UnitOfWork, node: NodeContext, case_id: str) -> dict[str, Any] | None:
    first = uow.session.scalars(
        select(CaseMessageRow).where(CaseMessageRow.case_id == case_id)
        .order_by(CaseMessageRow.id).limit(1)
    ).first()  # fmt: skip
    return body_of(uow, node, first) if first is not None else None


def party_key(fact: PartnerFact) -> str | None:
    """The party a partner's fact names: its employer's id when the partner gave one (the
    data profile may allow the name only), else the employer's name, folded, under a
    prefix of its own so that it never merges with a register's id."""
    if fact.employer_id:
        return fact.employer_id
    if fact.employer_name:
        return f"name:{organisation_key(fact.employer_name)}"
    return None


def partner_table(facts: Sequence[PartnerFact]) -> pa.Table:
    """The facts as the graph reads them (`graph.Registers.partner`): text columns."""
    return pa.table(
        {
            "person_record_id": [f.record_id for f in facts],
            "employer_id": [party_key(f) for f in facts],
            "employer_name": [f.employer_name for f in facts],
            "violation": ["1" if f.violation else None for f in facts],
            "message_id": [f.provenance.message_id for f in facts],
        },
        schema=pa.schema([(name, pa.string()) for name in PARTNER_COLUMNS]),
    )
