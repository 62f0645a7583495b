"""What the retention lists read: sealed records and when each is (or was) erased; never a
record's content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from migrex.retention.tables import RetentionKeyRow
from migrex.uow import UnitOfWork


@dataclass(frozen=True)
class Kept:
    """A received message whose personal data is sealed: kept until `expires_at`, erased at
    `erased_at` (None while it is kept)."""

    record: str
    agreement_id: str
    our_authority: str
    sealed_at: datetime
    expires_at: datetime
    erased_at: datetime | None


def kept_records(uow: UnitOfWork, *, erased: bool, limit: int = 1000) -> list[Kept]:
    """The records still kept, or (`erased`) those erased; by when each was due, soonest
    first."""
    statement = (
        select(RetentionKeyRow)
        .where(
            RetentionKeyRow.erased_at.is_not(None)
            if erased
            else RetentionKeyRow.erased_at.is_(None)
        )
        .order_by(RetentionKeyRow.expires_at)
    )
    return [
        Kept(r.record, r.agreement_id, r.our_authority, r.sealed_at, r.expires_at, r.erased_at)
        for r in uow.session.scalars(statement.limit(limit))
    ]
