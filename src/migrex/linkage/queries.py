"""What `migrex linkage runs` and `candidates` list: the node's linkage runs, each read from
its case, and the candidates its officers work through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from migrex.casework.context import NodeContext
from migrex.casework.messages import MessageInvalid
from migrex.casework.tables import CaseMessageRow, CaseRow
from migrex.linkage.candidate_rules import (
    BANDS,
    CandidateInvalid,
    CandidateNotFound,
    CandidateState,
)
from migrex.linkage.runs import LINKAGE_CATEGORY, Run, run_from
from migrex.linkage.tables import CandidateRow
from migrex.uow import UnitOfWork


def linkage_runs(
    uow: UnitOfWork, node: NodeContext, authority: str | None = None, limit: int = 200
) -> list[Run]:
    """The runs proposed by or to `authority` (every hosted one when None), newest first.
    A proposal names fields and parameters, never a person: reading one discloses nothing."""
    return _runs(uow, node, None if authority is None else [authority], limit)


def _runs(
    uow: UnitOfWork, node: NodeContext, authorities: Sequence[str] | None, limit: int
) -> list[Run]:
    """The runs of `authorities` (all when None), newest first: the cases, then their
    opening messages, in two queries whatever the number of runs."""
    query = (
        select(CaseRow)
        .where(CaseRow.category == LINKAGE_CATEGORY)
        .order_by(CaseRow.opened_at.desc(), CaseRow.id.desc())
        .limit(limit)
    )
    if authorities is not None:
        query = query.where(CaseRow.our_authority.in_(list(authorities)))
    cases = list(uow.session.scalars(query))
    if not cases:
        return []
    first = (
        select(func.min(CaseMessageRow.id))
        .where(CaseMessageRow.case_id.in_([c.id for c in cases]))
        .group_by(CaseMessageRow.case_id)
    )
    openings = {m.case_id: m for m in uow.session.scalars(
        select(CaseMessageRow).where(CaseMessageRow.id.in_(first)))}  # fmt: skip
    runs = []
    for case_row in cases:
        opening = openings.get(case_row.id)
        if opening is None:
            raise MessageInvalid(f"case {case_row.id} has no message")
        runs.append(run_from(uow, node, case_row, opening))
    return runs


@dataclass(frozen=True)
class RunLine:
    """A run as the console lists it: its case and terms, and how many of its candidates
    were filed here and are still open. Counts only: no candidate is named."""

    run: Run
    candidates: int
    open_candidates: int


def run_lines(
    uow: UnitOfWork, node: NodeContext, authorities: Sequence[str], limit: int = 200
) -> list[RunLine]:
    """The runs of `authorities`, newest first, each with its candidates' counts."""
    runs = _runs(uow, node, authorities, limit)
    counts = {
        case_id: (total, still_open)
        for case_id, total, still_open in uow.session.execute(
            select(
                CandidateRow.run_case_id,
                func.count(),
                func.count(case((CandidateRow.state == CandidateState.OPEN, 1))),
            )
            .where(CandidateRow.run_case_id.in_([r.case.id for r in runs]))
            .group_by(CandidateRow.run_case_id)
        )
    }
    return [RunLine(run, *counts.get(run.case.id, (0, 0))) for run in runs]


@dataclass(frozen=True)
class CandidateLine:
    """A candidate as the queue lists it: no personal data (the pair id is the unit's, the
    national id is not shown)."""

    id: int
    run_id: str
    run_case_id: str
    authority: str
    pair_id: str
    band: str
    state: str
    filed_at: datetime
    decided_by: str | None
    request_case_id: str | None
    outcome: str | None


def candidates_of(
    uow: UnitOfWork, authorities: Sequence[str], *, run: str | None = None,
    state: str | None = None, limit: int = 500,
) -> list[CandidateLine]:  # fmt: skip
    """The candidates of `authorities` (of one run, by its run id or its case id, and in one
    state when given), strongest band first, then oldest first."""
    band_order = case(*((CandidateRow.band == b, i) for i, b in enumerate(BANDS)), else_=len(BANDS))
    query = (
        select(CandidateRow)
        .where(CandidateRow.authority.in_(list(authorities)))
        .order_by(CandidateRow.run_case_id, band_order, CandidateRow.filed_at, CandidateRow.id)
        .limit(limit)
    )
    if run is not None:
        query = query.where((CandidateRow.run_id == run) | (CandidateRow.run_case_id == run))
    if state is not None:
        query = query.where(CandidateRow.state == state)
    return [
        CandidateLine(c.id, c.run_id, c.run_case_id, c.authority, c.pair_id, c.band, c.state,
                      c.filed_at, c.decided_by, c.request_case_id, c.outcome)
        for c in uow.session.scalars(query)
    ]  # fmt: skip


def candidate_by_pair(
    uow: UnitOfWork, authorities: Sequence[str], pair_id: str, run: str | None = None
) -> int:
    """The id of the candidate of `pair_id` among `authorities`' (of one run when given);
    CandidateNotFound for none, CandidateInvalid when the pair id names candidates of several
    runs and no run is given."""
    query = select(CandidateRow.id).where(
        CandidateRow.pair_id == pair_id, CandidateRow.authority.in_(list(authorities))
    )
    if run is not None:
        query = query.where((CandidateRow.run_id == run) | (CandidateRow.run_case_id == run))
    found = list(uow.session.scalars(query.limit(2)))
    if not found:
        raise CandidateNotFound("no linkage candidate of that pair among the officer's")
    if len(found) > 1:
        raise CandidateInvalid("the pair id names candidates of several runs: give --run")
    return found[0]
