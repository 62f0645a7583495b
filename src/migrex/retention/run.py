"""The retention run: erase every record whose retention period has ended, and log it.

One unit of work: the keys are destroyed and the erasures appended to the audit log together,
so the log never claims an erasure that did not happen, nor misses one that did.
"""

from __future__ import annotations

from datetime import datetime

from migrex.audit.events import erasure
from migrex.audit.log import append_leaves
from migrex.retention.service import Erasure, due_for_erasure, erase
from migrex.uow import UnitOfWork


def run_retention(uow: UnitOfWork, now: datetime, *, limit: int = 10_000) -> list[Erasure]:
    """Erase what is due (at most `limit` records per run); returns what was erased."""
    erased = erase(uow.session, due_for_erasure(uow.session, now, limit), now)
    append_leaves(
        uow.session,
        [erasure(at=now, authority=e.our_authority, message_id=e.record) for e in erased],
        now,
    )
    uow.commit()
    return erased
