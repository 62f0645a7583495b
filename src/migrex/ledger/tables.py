"""The disclosure ledger: one row per person per message that carried data about them, and
per read of such data by someone in the node. Identifiers are stored only as keyed hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from migrex.db import Base


class DisclosureRow(Base):
    __tablename__ = "ledger_disclosure"
    __table_args__ = (
        Index("ix_ledger_disclosure_subject", "subject_hash"),
        # Volume limits count requests per partner and period.
        Index("ix_ledger_disclosure_volume", "agreement_id", "partner_authority", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column()
    # "sent", "received" or "read".
    direction: Mapped[str] = mapped_column(String(8))
    subject_hash: Mapped[str] = mapped_column(String(64))
    # The person's place in the message: one person named under two identifiers is two rows
    # with the same place, and counts once.
    person: Mapped[int] = mapped_column(Integer)
    agreement_id: Mapped[str] = mapped_column(String(64))
    our_authority: Mapped[str] = mapped_column(String(64))
    partner_authority: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(36))
    message_type: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(64))
    legal_basis: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[str] = mapped_column(Text)  # comma-separated person field names
    actor: Mapped[str] = mapped_column(String(200))


class VolumeDayRow(Base):
    """The persons that requests and notices named, per agreement, direction, partner authority
    and day (UTC): what volume limits count, kept as the ledger is written, so that a count
    over a period adds up its days instead of reading every disclosure in it. A person named
    under two identifiers in one message is one person, as in the ledger's own count."""

    __tablename__ = "ledger_volume_day"
    __table_args__ = (
        PrimaryKeyConstraint("agreement_id", "direction", "partner_authority", "day"),
    )

    agreement_id: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8))  # "sent" or "received"
    partner_authority: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))  # ISO 8601, UTC: sorts as the days do
    persons: Mapped[int] = mapped_column(Integer)
