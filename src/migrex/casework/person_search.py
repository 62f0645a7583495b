"""Finding the cases a person appears in by their name, whichever script it was written in.

An officer types a surname (and a given name) in Cyrillic, Armenian or Latin letters; the
cases whose messages name that person in any of those scripts are found: Оганесян finds
HOVHANNISYAN and Հովհաննիսյան (`migrex.spelling`).

Names are never stored to be searched. When a message is filed or sent, each identified
person it carries leaves, under the message's record, keyed hashes of the forms of their
surname and given name (`terms`), the key derived from the node's subject key; retention
deletes them when it erases the record, so an erased person can no longer be found. A search
hashes the forms of what was typed the same way.

What a search shows is a read of personal data: each person shown gets a "read" row in the
disclosure ledger and an audit entry (G4, G5), as opening the case would. Persons named by
names alone carry no identifier the ledger can record, so they are neither indexed nor shown:
the ledger answers for document holders, and a names-only person cannot be matched anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrex.audit import subject_hash
from migrex.audit.events import personal_data_read
from migrex.audit.pending import record
from migrex.casework import kinds
from migrex.casework.bodies import body_text
from migrex.casework.context import NodeContext
from migrex.casework.kinds import Carried
from migrex.casework.messages import parse_body
from migrex.casework.tables import CaseMessageRow, CaseRow
from migrex.ledger.service import MessageFacts, record_found
from migrex.ledger.subjects import Subject, identifiers_of
from migrex.officers.model import Action, NotAuthorised, Officer, may
from migrex.retention.service import Erased, records_with, search_term_rows
from migrex.spelling.names import forms
from migrex.uow import UnitOfWork

# The parts of a name searched, and the person fields each is written in.
PARTS: Final[Mapping[str, tuple[str, ...]]] = {
    "surname": ("surname", "surname_latin"),
    "given": ("given_name", "given_name_latin"),
}
# What a search shows of each person found: enough to tell two namesakes apart.
SHOWN: Final = ("surname", "given_name", "surname_latin", "given_name_latin", "birth_date")
MAX_FOUND: Final = 50
# Finds read from the index before they are grouped by person: a common surname may match
# many records, of which only the newest MAX_FOUND persons are shown.
MAX_TERMS_READ: Final = 5_000


def search_key(subject_key: bytes) -> bytes:
    """The key of the name terms: derived, so a term can never be taken for a subject hash."""
    return hmac.new(subject_key, b"migrex person-search v1", hashlib.sha256).digest()


def name_terms(key: bytes, part: str, spellings: Iterable[str | None]) -> set[str]:
    """The keyed hashes of every form of a name written in `spellings`."""
    return {
        hmac.new(key, f"{part}\x1f{form}".encode(), hashlib.sha256).hexdigest()
        for form in forms(spellings)
    }


def person_terms(key: bytes, place: int, who: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(scope, term) for each form of the person's names; the scope says where: "2:surname"."""
    found: list[tuple[str, str]] = []
    for part, fields in PARTS.items():
        spellings = [who[f] for f in fields if isinstance(who.get(f), str)]
        found += [(f"{place}:{part}", term) for term in name_terms(key, part, spellings)]
    return found


def index_rows(
    subject_key: bytes, message_id: str, carried: Sequence[Carried]
) -> list[dict[str, str]]:
    """The search terms that let the identified persons a message carries be found by their
    names (`retention.add_search_terms` writes them)."""
    key = search_key(subject_key)
    terms = [
        term
        for place, item in enumerate(carried)
        if identifiers_of(item.who)
        for term in person_terms(key, place, item.who)
    ]
    return search_term_rows(message_id, terms)


@dataclass(frozen=True)
class PersonFound:
    case: CaseRow
    message_id: str
    at: datetime
    person: dict[str, Any]  # the SHOWN fields the message holds


def find_persons(
    uow: UnitOfWork, node: NodeContext, officer: Officer, *, surname: str,
    given_name: str | None, reader: str, now: datetime,
) -> list[PersonFound]:  # fmt: skip
    """The persons named `surname` (and `given_name`) in the cases whose personal data the
    officer may see, newest first, one per case; each shown person is recorded as read."""
    authorities = [a for a in officer.authorities if may(officer, Action.VIEW_PERSONAL_DATA, a)]
    if not authorities:
        raise NotAuthorised(f"{officer.username} may not {Action.VIEW_PERSONAL_DATA}")
    key = search_key(node.subject_key)
    wanted = {"surname": name_terms(key, "surname", [surname])}
    if given_name:
        wanted["given"] = name_terms(key, "given", [given_name])
    places = _places_matching(uow.session, wanted)
    rows = uow.session.execute(
        select(CaseMessageRow, CaseRow)
        .join(CaseRow, CaseRow.id == CaseMessageRow.case_id)
        .where(CaseMessageRow.message_id.in_(sorted({m for m, _ in places})),
               CaseRow.our_authority.in_(authorities))
        .order_by(CaseMessageRow.at.desc(), CaseMessageRow.id.desc())
    ).all()  # fmt: skip
    found: list[PersonFound] = []
    seen: set[tuple[str, str]] = set()
    for message, case in rows:
        for place in sorted(p for m, p in places if m == message.message_id):
            shown = _shown(uow, node, case, message, place, reader=reader, now=now, seen=seen)
            if shown is not None:
                found.append(shown)
        if len(found) >= MAX_FOUND:
            break
    uow.commit()
    return found[:MAX_FOUND]


def _places_matching(session: Session, wanted: Mapping[str, set[str]]) -> set[tuple[str, int]]:
    """(record, place) of each person whose every wanted part has a matching form."""
    terms = set().union(*wanted.values())
    matched: dict[tuple[str, int], set[str]] = {}
    for hit in records_with(session, terms, MAX_TERMS_READ):
        place, _, part = hit.scope.partition(":")
        if hit.term in wanted.get(part, ()):
            matched.setdefault((hit.record, int(place)), set()).add(part)
    return {where for where, parts in matched.items() if parts >= wanted.keys()}


def _shown(
    uow: UnitOfWork, node: NodeContext, case: CaseRow, message: CaseMessageRow, place: int, *,
    reader: str, now: datetime, seen: set[tuple[str, str]],
) -> PersonFound | None:  # fmt: skip
    try:
        who = _who(uow, node, case, message, place)
    except Erased:
        return None
    identifiers = identifiers_of(who) if who is not None else ()
    if who is None or not identifiers or (case.id, identifiers[0]) in seen:
        return None
    seen.add((case.id, identifiers[0]))
    person = {name: who[name] for name in SHOWN if who.get(name) is not None}
    facts = MessageFacts(
        message.direction, case.agreement_id, case.our_authority, case.partner_authority,
        message.message_id, message.type, case.id, case.purpose, None, message.actor, message.at,
    )  # fmt: skip
    record_found(uow.session, node.subject_key, facts, place,
                 Subject(identifiers, tuple(sorted(person))), reader=reader, at=now)  # fmt: skip
    record(uow.session, personal_data_read(
        at=now, actor=reader, authority=case.our_authority, message_id=message.message_id,
        purpose=case.purpose, subject_hash=subject_hash(node.subject_key, identifiers[0]),
    ))  # fmt: skip
    return PersonFound(case, message.message_id, message.at, person)


def _who(
    uow: UnitOfWork, node: NodeContext, case: CaseRow, message: CaseMessageRow, place: int
) -> dict[str, Any] | None:
    """The person at `place` of the message, as the index read them when it was stored."""
    body = parse_body(message.type, json.loads(body_text(uow, node, message)))
    opening_row = uow.session.scalars(
        select(CaseMessageRow).where(CaseMessageRow.case_id == case.id)
        .order_by(CaseMessageRow.id).limit(1)
    ).one()  # fmt: skip
    opening = (
        body
        if opening_row.id == message.id
        else parse_body(opening_row.type, json.loads(body_text(uow, node, opening_row)))
    )
    carried = kinds.carried(message.type, body, opening)
    return dict(carried[place].who) if place < len(carried) else None
