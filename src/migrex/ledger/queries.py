"""What pages ask of the disclosure ledger: read-only, and never a person's data (the ledger
holds keyed hashes of persons, field names and references)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

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
