"""Retention of linkage candidates (G7): what a party keeps of a candidate, and for how long.

A candidate names a record of the party's own citizens' register. When the record leaves the
register (the person was erased), the candidate goes with it, whatever its state. An open
candidate, which no officer took up, goes with its run once the agreement's retention period
has passed since the run began; a decided one (asked about, dismissed, or closed by the
partner's answer) keeps its decision, the officer, the reason and the case for
accountability, but not whose record it was once the retention period has passed since the
decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, select

from migrex.agreements import Agreement
from migrex.audit import events
from migrex.audit.pending import record
from migrex.casework.tables import CaseRow
from migrex.linkage.candidate_rules import CandidateState, keeping
from migrex.linkage.tables import CandidateRow
from migrex.registry.tables import CitizenRow
from migrex.uow import UnitOfWork

FORGETTING_ACTOR = "linkage"


@dataclass(frozen=True)
class ForgottenCandidates:
    """What one pass erased: counts only."""

    erased_persons: int  # candidates deleted because their record left the register
    expired: int  # open candidates deleted with their run
    stripped: int  # decided candidates that lost their national id

    @property
    def total(self) -> int:
        return self.erased_persons + self.expired + self.stripped


def forget_candidates(
    uow: UnitOfWork, agreements: Mapping[str, Agreement], now: datetime, *,
    actor: str = FORGETTING_ACTOR,
) -> ForgottenCandidates:  # fmt: skip
    """One retention pass over the candidates: one erasure leaf (counts only) when anything
    went, one commit. The node's own work (the linkage job): no officer decides here."""
    session = uow.session
    departed = ~exists().where(CitizenRow.national_id == CandidateRow.national_id)
    gone = session.execute(
        delete(CandidateRow).where(CandidateRow.national_id.is_not(None), departed)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    erased_persons = int(gone.rowcount or 0)  # type: ignore[attr-defined]
    expired = stripped = 0
    waiting = session.execute(
        select(CandidateRow, CaseRow.opened_at)
        .join(CaseRow, CaseRow.id == CandidateRow.run_case_id)
        .where((CandidateRow.state == CandidateState.OPEN)
               | CandidateRow.national_id.is_not(None))
    ).all()  # fmt: skip
    for candidate, run_opened_at in waiting:
        agreement = agreements.get(candidate.agreement_id)
        if agreement is None:
            continue
        fate = keeping(CandidateState(candidate.state), run_opened_at=run_opened_at,
                       decided_at=candidate.decided_at,
                       retention=agreement.data_protection.retention, now=now)  # fmt: skip
        if fate == "delete":
            session.delete(candidate)
            expired += 1
        elif fate == "strip":
            candidate.national_id = None
            stripped += 1
    forgotten = ForgottenCandidates(erased_persons, expired, stripped)
    if forgotten.total:
        record(session, events.forgotten(at=now, actor=actor, reference=(
            f"linkage-candidates-forgotten:erased-persons={erased_persons}:expired={expired}:"
            f"stripped={stripped}"
        )))  # fmt: skip
    uow.commit()
    return forgotten
