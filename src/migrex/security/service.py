"""Noting refusals in the security log, aggregated (`migrex.security.model`).

`note` runs inside the caller's transaction (the receiver's batch, a login), so a refusal is
logged exactly when the work it refused is rolled back or committed; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from migrex.security.model import WINDOW, Refusal, aggregate, clipped, window_start
from migrex.security.tables import SecurityEvent


def note(session: Session, refusals: Iterable[Refusal], now: datetime) -> int:
    """Adds the refusals to the log: each (source, reason) to its row of the current window,
    or a new row. Returns how many rows were written or grown."""
    written = 0
    since = window_start(now, WINDOW)
    # In one order whatever the batch's: two transactions growing the same rows then lock
    # them in the same order and cannot deadlock (PostgreSQL).
    groups = sorted(aggregate(refusals, now), key=lambda g: (g.key[0] or "", g.key[1]))
    for group in groups:
        peer, reason = group.key
        row_id = session.scalar(
            select(SecurityEvent.id)
            .where(SecurityEvent.reason == reason, SecurityEvent.at >= since)
            .where(SecurityEvent.peer.is_(None) if peer is None else SecurityEvent.peer == peer)
            .order_by(SecurityEvent.id.desc())
            .limit(1)
        )
        if row_id is not None:
            # Grown in the database, so concurrent notes add up instead of overwriting.
            session.execute(
                update(SecurityEvent)
                .where(SecurityEvent.id == row_id)
                .values(count=SecurityEvent.count + group.count, last_at=now)
            )
        else:
            first = group.first
            session.add(
                SecurityEvent(
                    at=now, reason=reason, detail=clipped(first.detail), peer=peer,
                    size=first.size, envelope_sha256=first.envelope_sha256,
                    count=group.count, last_at=now,
                )
            )  # fmt: skip
        written += 1
    return written
