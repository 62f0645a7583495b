"""Releases and their observations: every version kept, our own and our partners'.

A release is never updated. A revision is a new version of the same dataset and period; it
keeps the earlier version's rows untouched and records in `changes` which observations moved,
so anyone can see what an earlier report was based on and why a figure changed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from migrex.db import Base


class ReleaseRow(Base):
    __tablename__ = "stats_release"
    __table_args__ = (
        UniqueConstraint("agreement_id", "dataset_id", "producer", "period", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[str] = mapped_column(String(64))
    dataset_id: Mapped[str] = mapped_column(String(64))
    # The authority that produced it: ours for own releases, the partner's for received ones.
    producer: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(8))  # "own" or "partner"
    period: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    prepared_at: Mapped[datetime] = mapped_column()
    stored_at: Mapped[datetime] = mapped_column()
    stored_by: Mapped[str] = mapped_column(String(200))
    rounding_base: Mapped[int | None] = mapped_column(Integer)
    # The message that carried it (received) or that was sent with it, once sent.
    message_id: Mapped[str | None] = mapped_column(String(36))
    # JSON list of {key, before, after} against the previous version; null for version 1.
    changes: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)


class ObservationRow(Base):
    __tablename__ = "stats_observation"

    release_id: Mapped[int] = mapped_column(
        ForeignKey("stats_release.id", ondelete="CASCADE"), primary_key=True
    )
    # The codes of the key joined by "." in the dataset's dimension order (SDMX series key).
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(1))
