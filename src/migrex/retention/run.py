"""The retention run: erase every record whose retention period has ended, and log it.

One unit of work: the keys are destroyed and the erasures recorded in the audit log together
(appended when it commits), so the log never claims an erasure that did not happen, nor misses
one that did.
"""

from __future__ import annotations

from datetime import datetime

from migrex.audit.events import erasure
from migrex.audit.pending import record
from migrex.retention.service import Erasure, due_for_erasure, erase
from migrex.uow import UnitOfWork


def run_retention(uow: UnitOfWork, now: datetime, *, limit: int = 10_000) -> list[Erasure]:
    """Erase what is due (at most `limit` records per run); returns what was erased."""
    erased = erase(uow.session, due_for_erasure(uow.session, now, limit), now)
    for erased_record in erased:
        record(uow.session, erasure(at=now, authority=erased_record.our_authority,
                                    message_id=erased_record.record))  # fmt: skip
    uow.commit()
    return erased
