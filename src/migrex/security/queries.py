"""Reading the security log, newest first."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from migrex.security.tables import SecurityEvent


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    last_at: datetime
    reason: str
    count: int
    peer: str | None
    detail: str
    size: int
    envelope_sha256: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id, "at": self.at.isoformat(), "last_at": self.last_at.isoformat(),
            "reason": self.reason, "count": self.count, "peer": self.peer,
            "detail": self.detail, "size": self.size, "envelope_sha256": self.envelope_sha256,
        }  # fmt: skip


def entries(
    session: Session,
    *,
    since: datetime | None = None,
    reasons: Collection[str] = (),
    partner: str | None = None,
    limit: int = 100,
) -> list[Entry]:
    """Entries whose last refusal is at or after `since`, of the given reasons, from `partner`
    (an address or node, matched exactly or as the start of the peer)."""
    last = func.coalesce(SecurityEvent.last_at, SecurityEvent.at)
    query = select(SecurityEvent).order_by(last.desc(), SecurityEvent.id.desc()).limit(limit)
    if since is not None:
        query = query.where(last >= since)
    if reasons:
        query = query.where(SecurityEvent.reason.in_(sorted(reasons)))
    if partner:
        query = query.where(
            or_(SecurityEvent.peer == partner, SecurityEvent.peer.startswith(f"{partner}:"))
        )
    return [
        Entry(
            id=row.id, at=row.at, last_at=row.last_at or row.at, reason=row.reason,
            count=row.count, peer=row.peer, detail=row.detail, size=row.size,
            envelope_sha256=row.envelope_sha256,
        )
        for row in session.scalars(query)
    ]  # fmt: skip


def reasons(session: Session) -> list[str]:
    """Every reason the log holds, for the help of a filter that matched nothing."""
    return list(session.scalars(select(SecurityEvent.reason).distinct().order_by("reason")))
