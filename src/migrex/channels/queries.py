"""What the analyst's queue and `migrex channels list` show: leads without their members.

A lead in a list is its rank, size, score and state; who its members are is on the card,
whose reading is recorded (`service.show_lead`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from migrex.channels.tables import ChannelRunRow, LeadRow
from migrex.uow import UnitOfWork


@dataclass(frozen=True)
class LeadLine:
    id: str
    run_id: int
    authority: str
    found_at: datetime
    rank: int
    members: int
    violators: int
    score: float
    state: str
    partner_data: bool
    case_id: str | None


def leads_of(
    uow: UnitOfWork, authorities: Sequence[str], *, state: str | None = None, limit: int = 500
) -> list[LeadLine]:
    """Leads of runs made for `authorities`, the newest run first and best first within it."""
    query = (
        select(LeadRow, ChannelRunRow)
        .join(ChannelRunRow, ChannelRunRow.id == LeadRow.run_id)
        .where(ChannelRunRow.authority.in_(list(authorities)))
        .order_by(ChannelRunRow.id.desc(), LeadRow.rank)
        .limit(limit)
    )
    if state is not None:
        query = query.where(LeadRow.state == state)
    return [
        LeadLine(lead.id, run.id, run.authority, run.at, lead.rank, lead.members, lead.violators,
                 lead.score, lead.state, lead.partner_data, lead.case_id)
        for lead, run in uow.session.execute(query)
    ]  # fmt: skip
