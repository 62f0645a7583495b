"""What `migrex linkage runs` lists: the node's linkage runs, each read from its case."""

from __future__ import annotations

from sqlalchemy import select

from migrex.casework.context import NodeContext
from migrex.casework.tables import CaseRow
from migrex.linkage.runs import LINKAGE_CATEGORY, Run, run_of
from migrex.uow import UnitOfWork


def linkage_runs(
    uow: UnitOfWork, node: NodeContext, authority: str | None = None, limit: int = 200
) -> list[Run]:
    """The runs proposed by or to `authority` (every hosted one when None), newest first.
    A proposal names fields and parameters, never a person: reading one discloses nothing."""
    query = (
        select(CaseRow.id)
        .where(CaseRow.category == LINKAGE_CATEGORY)
        .order_by(CaseRow.opened_at.desc(), CaseRow.id.desc())
        .limit(limit)
    )
    if authority is not None:
        query = query.where(CaseRow.our_authority == authority)
    return [run_of(uow, node, case_id) for case_id in uow.session.scalars(query)]
