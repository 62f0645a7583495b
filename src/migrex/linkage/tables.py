"""The linkage candidates a party holds after a run: each a pair the unit matched, resolved to
this party's own record, and what officers and the partner's answer made of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from migrex.db import Base


class CandidateRow(Base):
    """One candidate at one of our authorities. `national_id` is our register's id of our
    record (None once retention stripped it from a decided candidate); the partner's record
    is never known here, only the pair id both parties share."""

    __tablename__ = "linkage_candidate"
    __table_args__ = (UniqueConstraint("run_case_id", "pair_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(64))
    run_case_id: Mapped[str] = mapped_column(String(64), index=True)
    authority: Mapped[str] = mapped_column(String(64), index=True)
    pair_id: Mapped[str] = mapped_column(String(80), index=True)
    national_id: Mapped[str | None] = mapped_column(String(40), index=True)
    band: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)  # candidate_rules.CandidateState
    filed_at: Mapped[datetime] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    # The citizenship-verification case quoting the pair: ours when we asked, the partner's
    # incoming one when it asked us about our record.
    request_case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome: Mapped[str | None] = mapped_column(String(16))  # candidate_rules.Outcome
