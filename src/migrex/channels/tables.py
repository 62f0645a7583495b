"""Channel runs and their leads, kept as the node's work until an analyst decides each.

A lead keeps everything its card shows, so the card an analyst reads next month is the card
the run produced: the score broken down, the members (record ids of the node's registers,
never names or documents), the shared entities and every member–entity edge with the
register, state and date it was read from.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from migrex.db import Base


class ChannelRunRow(Base):
    """One analysis of the node's registers, made by an analyst for one hosted authority."""

    __tablename__ = "channels_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    authority: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(2))  # the state whose registers were read
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column()
    persons: Mapped[int] = mapped_column(Integer)
    leads: Mapped[int] = mapped_column(Integer)
    min_score: Mapped[float] = mapped_column(Float)
    seconds: Mapped[str] = mapped_column(Text)  # JSON: each stage's seconds


class LeadRow(Base):
    __tablename__ = "channels_lead"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # R<run>-L<rank>
    run_id: Mapped[int] = mapped_column(ForeignKey("channels_run.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    members: Mapped[int] = mapped_column(Integer)
    violators: Mapped[int] = mapped_column(Integer)
    # JSON: density, violations, burst, border window and rank among leads of its size.
    breakdown: Mapped[str] = mapped_column(Text)
    benign: Mapped[str] = mapped_column(Text)  # JSON list of lawful explanations
    not_used: Mapped[str] = mapped_column(Text)  # JSON list of signals never read
    # Some edge was read from data a partner sent (its provenance and retention apply).
    partner_data: Mapped[bool] = mapped_column(Boolean, default=False)
    # Whose data it is ("AM/am-mcs", comma-separated): the lead may go back there only.
    partner_origins: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), index=True)  # model.LeadState
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[str | None] = mapped_column(String(64))


def _lead() -> Mapped[str]:
    return mapped_column(ForeignKey("channels_lead.id"), index=True)


class LeadMemberRow(Base):
    __tablename__ = "channels_lead_member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[str] = _lead()
    record_id: Mapped[str] = mapped_column(String(40))
    violator: Mapped[bool] = mapped_column(Boolean)
    # When the violation is known only from what a partner sent: that message and its
    # originator ("AM/am-mcs"); the flag goes when the message's retention ends.
    violation_message: Mapped[str | None] = mapped_column(String(36), index=True)
    violation_origin: Mapped[str | None] = mapped_column(String(80))


class LeadEntityRow(Base):
    __tablename__ = "channels_lead_entity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[str] = _lead()
    position: Mapped[int] = mapped_column(Integer)  # its place on the card, most linked first
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(200))
    members_linked: Mapped[int] = mapped_column(Integer)
    degree: Mapped[int] = mapped_column(Integer)
    sources: Mapped[str] = mapped_column(String(64))  # comma-separated registers


class LeadEdgeRow(Base):
    """One member's link to one shared entity, and where it was read."""

    __tablename__ = "channels_lead_edge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[str] = _lead()
    record_id: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)  # the entity's position on the card
    sources: Mapped[str] = mapped_column(String(64))  # comma-separated registers
    state: Mapped[str] = mapped_column(String(2))  # whose register
    read_on: Mapped[date | None] = mapped_column(Date)  # the date the register gives the link
    partner_data: Mapped[bool] = mapped_column(Boolean, default=False)
    # For a link a partner sent: the message (its retention record), its case, the sending
    # authority, and when its retention ends; the edge goes with the message.
    message_id: Mapped[str | None] = mapped_column(String(36), index=True)
    case_id: Mapped[str | None] = mapped_column(String(64))
    origin_authority: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column()
