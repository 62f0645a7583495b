"""The security log's one table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from migrex.db import Base


class SecurityEvent(Base):
    """A refusal at a door: an envelope, a request, a handshake or a login. Holds no content,
    only what identifies it. Identical refusals from one source within a window are one row
    whose `count` grows and whose `last_at` moves (`migrex.security.model`)."""

    # Named after the exchange, whose door wrote it first; renaming would gain nothing.
    __tablename__ = "exchange_security_event"
    __table_args__ = (Index("ix_exchange_security_event_reason_at", "reason", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)  # the first of the window's refusals
    reason: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[str] = mapped_column(Text)  # the first refusal's
    peer: Mapped[str | None] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    envelope_sha256: Mapped[str | None] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_at: Mapped[datetime | None] = mapped_column()
