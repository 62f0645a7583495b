"""Cases: one request (outgoing or incoming) and everything that happened to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from migrex.db import Base


class CaseRow(Base):
    __tablename__ = "casework_case"
    __table_args__ = (Index("ix_casework_case_state_due", "state", "due_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agreement_id: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(16))  # outgoing | incoming
    category: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(64))
    our_authority: Mapped[str] = mapped_column(String(64), index=True)
    partner_authority: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    opened_by: Mapped[str] = mapped_column(String(120))
    # The officer working on the case ("officer:<username>"), who alone may decide it while
    # they hold it (`casework.assignment`); None when nobody has claimed it.
    assigned_to: Mapped[str | None] = mapped_column(String(120), index=True)
    assigned_at: Mapped[datetime | None]


class CaseMessageRow(Base):
    """A message of the case's thread, sent or received; the body is the message's JSON."""

    __tablename__ = "casework_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("casework_case.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    direction: Mapped[str] = mapped_column(String(16))  # sent | received
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))


class CaseEventRow(Base):
    """A state change of the case, with who caused it: the case's own history."""

    __tablename__ = "casework_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("casework_case.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    event: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


class ScreeningNoteRow(Base):
    """What screening found: a breach (with the refusal ground it proposes) or a doubt."""

    __tablename__ = "casework_screening_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("casework_case.id"), index=True)
    severity: Mapped[str] = mapped_column(String(16))  # breach | flag
    kind: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    proposed_ground: Mapped[str | None] = mapped_column(String(64))


class DraftRow(Base):
    """A decision prepared on an incoming case before it leaves: the answer or refusal exactly
    as it will be sent, so the reviewer sees, narrows and (where the agreement wants a second
    officer) has it approved. `body` is the message's canonical JSON."""

    __tablename__ = "casework_draft"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("casework_case.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # disclosure | refusal
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    # draft → awaiting-approval → sent, or discarded (a newer draft, or by an officer).
    status: Mapped[str] = mapped_column(String(24))
    drafted_by: Mapped[str] = mapped_column(String(120))
    drafted_at: Mapped[datetime]
    submitted_by: Mapped[str | None] = mapped_column(String(120))
    approved_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(36))


class RequestKeyRow(Base):
    """A new request's key, given by the client that sent it (`casework.request_keys`): the
    case it opened and a keyed fingerprint of the request, kept for a day."""

    __tablename__ = "casework_request_key"

    actor: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
