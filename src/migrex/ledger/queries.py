"""What pages ask of the disclosure ledger: read-only, and never a person's data (the ledger
holds keyed hashes of persons, field names and references)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import distinct, func, select

from migrex.ledger.tables import DisclosureRow
from migrex.uow import UnitOfWork


@dataclass(frozen=True)
class Read:
    """One look at a message of a case that showed personal data: who, when, which message,
    how many persons and which of their fields."""

    at: datetime
    actor: str
    message_id: str | None
    persons: int
    fields: tuple[str, ...]


def reads_of_case(uow: UnitOfWork, case_id: str) -> list[Read]:
    """Every read of the case's personal data, oldest first."""
    rows = uow.session.scalars(
        select(DisclosureRow)
        .where(DisclosureRow.case_id == case_id, DisclosureRow.direction == "read")
        .order_by(DisclosureRow.at, DisclosureRow.id)
    )
    grouped: dict[tuple[datetime, str, str | None], tuple[set[int], set[str]]] = {}
    for row in rows:
        persons, fields = grouped.setdefault((row.at, row.actor, row.message_id), (set(), set()))
        persons.add(row.person)
        fields.update(f for f in row.fields.split(",") if f)
    return [Read(at, actor, message_id, len(persons), tuple(sorted(fields)))
            for (at, actor, message_id), (persons, fields) in grouped.items()]  # fmt: skip


@dataclass(frozen=True)
class DisclosureFilter:
    """What the data-protection officer narrows the ledger to (None: any)."""

    partner: str | None = None
    purpose: str | None = None
    direction: str | None = None  # "sent", "received" or "read"
    since: datetime | None = None  # from this moment on
    until: datetime | None = None  # before this moment


@dataclass(frozen=True)
class Disclosure:
    """One message (or one read of it) in the ledger: how many persons it carried data about,
    and which of their fields; never who they are."""

    at: datetime
    direction: str
    agreement_id: str
    partner_authority: str
    message_id: str | None
    message_type: str | None
    case_id: str | None
    purpose: str | None
    legal_basis: str | None
    fields: tuple[str, ...]
    actor: str
    persons: int


@dataclass(frozen=True)
class DisclosurePage:
    lines: list[Disclosure]
    total: int
    page: int
    pages: int


def disclosures(
    uow: UnitOfWork, authority: str, filters: DisclosureFilter, *, page: int = 1,
    per_page: int = 50,
) -> DisclosurePage:  # fmt: skip
    """The authority's disclosures, newest first, one line per message (or read) and set of
    fields, with the number of persons it concerned."""
    where = [DisclosureRow.our_authority == authority]
    if filters.partner:
        where.append(DisclosureRow.partner_authority == filters.partner)
    if filters.purpose:
        where.append(DisclosureRow.purpose == filters.purpose)
    if filters.direction:
        where.append(DisclosureRow.direction == filters.direction)
    if filters.since is not None:
        where.append(DisclosureRow.at >= filters.since)
    if filters.until is not None:
        where.append(DisclosureRow.at < filters.until)
    key = (DisclosureRow.at, DisclosureRow.direction, DisclosureRow.agreement_id,
           DisclosureRow.partner_authority, DisclosureRow.message_id, DisclosureRow.message_type,
           DisclosureRow.case_id, DisclosureRow.purpose, DisclosureRow.legal_basis,
           DisclosureRow.fields, DisclosureRow.actor)  # fmt: skip
    grouped = (
        select(*key, func.count(distinct(DisclosureRow.person)).label("persons"))
        .where(*where)
        .group_by(*key)
    )
    total = uow.session.scalar(select(func.count()).select_from(grouped.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = uow.session.execute(
        grouped.order_by(DisclosureRow.at.desc(), DisclosureRow.message_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    lines = [
        Disclosure(r.at, r.direction, r.agreement_id, r.partner_authority, r.message_id,
                   r.message_type, r.case_id, r.purpose, r.legal_basis,
                   tuple(f for f in r.fields.split(",") if f), r.actor, r.persons)
        for r in rows
    ]  # fmt: skip
    return DisclosurePage(lines, total, page, pages)


def disclosure_choices(uow: UnitOfWork, authority: str) -> tuple[list[str], list[str]]:
    """The partners and purposes the authority's ledger names: what its filters offer."""
    mine = DisclosureRow.our_authority == authority
    partners = uow.session.scalars(
        select(DisclosureRow.partner_authority).where(mine).distinct()
    ).all()
    purposes = uow.session.scalars(
        select(DisclosureRow.purpose).where(mine, DisclosureRow.purpose.is_not(None)).distinct()
    ).all()
    return sorted(partners), sorted(p for p in purposes if p)
