"""Answering an incoming citizenship verification request from the node's own citizens register.

Each person is looked up by the strongest identifier the request gives: the national id, else
the passport number, else names with the birth date. Every other identifier given must agree
with the entry, so a coincidental passport number (a partner's document numbered like one of
ours) does not make a stranger a citizen. Names without a birth date identify nobody: the
answer is "unknown", not "no".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from migrex.casework.bodies import body_of
from migrex.casework.context import NodeContext
from migrex.casework.disclosure import citizenship_finding
from migrex.casework.messages import (
    CitizenshipFinding,
    CitizenshipVerificationReply,
    CitizenshipVerificationRequest,
    MessageInvalid,
    PersonIdentifiers,
    parse_body,
)
from migrex.casework.steps import lock_case, opening_of, send_answer
from migrex.casework.tables import CaseRow
from migrex.registry.model import Citizen
from migrex.registry.ports import Registries
from migrex.registry.sql import _record
from migrex.registry.tables import CitizenRow
from migrex.uow import UnitOfWork

# The identifiers both a request and a register entry carry, compared when the request gives them.
_COMPARED = ("surname", "given_name", "surname_latin", "given_name_latin", "birth_date")


def _agrees(who: PersonIdentifiers, citizen: Citizen) -> bool:
    for name in _COMPARED:
        given = getattr(who, name)
        if given is None:
            continue
        held = getattr(citizen, name)
        if isinstance(given, str):
            # Names are compared as written in passports: case and outer blanks do not count.
            if given.strip().casefold() != str(held).strip().casefold():
                return False
        elif given != held:
            return False
    return True


def _candidates(uow: UnitOfWork, registries: Registries, who: PersonIdentifiers) -> list[Citizen]:
    if who.national_id is not None:
        found = registries.find_citizen(who.national_id)
        return [] if found is None else [found]
    if who.document_number is not None:
        query = select(CitizenRow).where(CitizenRow.passport_number == who.document_number)
    elif who.surname_latin is not None and who.given_name_latin is not None:
        query = select(CitizenRow).where(
            CitizenRow.surname_latin == who.surname_latin.upper(),
            CitizenRow.given_name_latin == who.given_name_latin.upper(),
        )
    else:
        # Local-script names: the birth date narrows the search, names are compared after.
        query = select(CitizenRow).where(CitizenRow.birth_date == who.birth_date)
    return [_record(Citizen, row) for row in uow.session.scalars(query.order_by(CitizenRow.id))]


def _finding(
    uow: UnitOfWork, registries: Registries, index: int, who: PersonIdentifiers
) -> CitizenshipFinding:
    strong = who.national_id is not None or who.document_number is not None
    if not strong and who.birth_date is None:
        return CitizenshipFinding(person=index, holds="unknown")
    matches = [c for c in _candidates(uow, registries, who) if _agrees(who, c)]
    return citizenship_finding(index, matches)


def build_citizenship_reply(
    uow: UnitOfWork, node: NodeContext, registries: Registries, case: CaseRow
) -> CitizenshipVerificationReply:
    """The reply the own-citizens register gives to the case's request."""
    opening = opening_of(uow, case.id)
    request = parse_body(opening.type, body_of(uow, node, opening))
    if not isinstance(request, CitizenshipVerificationRequest):
        raise MessageInvalid(f"case {case.id} is not a citizenship verification request")
    return CitizenshipVerificationReply(
        results=[_finding(uow, registries, i, who) for i, who in enumerate(request.persons)]
    )


def answer_citizenship(
    uow: UnitOfWork,
    node: NodeContext,
    registries: Registries,
    case_id: str,
    *,
    actor: str,
    now: datetime,
) -> CitizenshipVerificationReply:
    """Builds, records and sends the reply; the case becomes answered."""
    case = lock_case(uow, case_id)
    reply = build_citizenship_reply(uow, node, registries, case)
    send_answer(uow, node, case, reply, actor=actor, now=now)
    uow.commit()
    return reply
