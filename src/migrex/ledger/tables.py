"""The disclosure ledger: one row per person per message that carried data about them, and
per read of such data by someone in the node. Identifiers are stored only as keyed hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
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
