"""Outbox, inbox and receipts; the security log, kept by `migrex.security`, is re-exported.

The outbox row is written in the same transaction as the business change that causes it, so
a message exists exactly when the change does. The inbox is keyed by message id, which makes
receiving idempotent: a message delivered twice is stored and processed once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from migrex.db import Base
from migrex.security.tables import SecurityEvent

__all__ = ["InboxMessage", "OutboxMessage", "Receipt", "SecurityEvent"]


class OutboxMessage(Base):
    __tablename__ = "exchange_outbox"
    __table_args__ = (
        # The relay looks for the oldest due message of each case; ordering keys keep cases
        # in order, so the (status, due) and (ordering_key, id) lookups must be cheap.
        Index("ix_exchange_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_exchange_outbox_ordering", "ordering_key", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    agreement_id: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(64))
    in_reply_to: Mapped[str | None] = mapped_column(String(36))
    ordering_key: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # canonical JSON
    issued_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    # pending → in_flight → delivered, or back to pending with a later next_attempt_at,
    # or parked after the last attempt, or refused for good by the receiver (until an
    # operator re-issues or discards it); see exchange.delivery for the rules.
    status: Mapped[str] = mapped_column(String(16))
    # The receiver's reason code when it refused the message for good (`refused`).
    refusal: Mapped[str | None] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Sealed once, on the first claim, so every retry sends the same bytes and the receipt's
    # envelope hash always matches what is stored here.
    envelope: Mapped[str | None] = mapped_column(Text)
    envelope_sha256: Mapped[str | None] = mapped_column(String(64))
    # The hashes of the envelopes this message was sealed in before an operator re-issued it,
    # space-separated: if one of them did arrive, the receiver answers the re-issue with the
    # receipt it signed for that one, and only these make such a receipt ours.
    earlier_envelopes: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column()


class Receipt(Base):
    """A receiving node's signed acknowledgement of one envelope: proof of delivery."""

    __tablename__ = "exchange_receipt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    envelope_sha256: Mapped[str] = mapped_column(String(64))
    receiver: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column()
    token: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column()


class InboxMessage(Base):
    __tablename__ = "exchange_inbox"
    # The filing clerk's look for messages waiting (status new, oldest first) at every round:
    # without it, each round read every message ever received before the waiting ones.
    __table_args__ = (
        Index("ix_exchange_inbox_status_id", "status", "id"),
        # The answer to a message we sent (a witness's cosignature): `witness.sending`.
        Index("ix_exchange_inbox_in_reply_to", "in_reply_to"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    agreement_id: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(36))
    body: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column()
    sender_kid: Mapped[str] = mapped_column(String(64))
    # The envelope itself is not kept: it opens with our own key for as long as we hold it,
    # which would outlive erasure. Its hash (here and in the audit log) proves what came.
    # The sender's own JWS from inside the envelope proves origin to a third party without
    # handing over our decryption key; it and the body are sealed at the door.
    signed_message: Mapped[str] = mapped_column(Text)
    envelope_sha256: Mapped[str] = mapped_column(String(64))
    receipt: Mapped[str] = mapped_column(Text)  # the receipt we signed, returned on redelivery
    # new → filed (or another filing outcome), or quarantined with `problem` saying why.
    status: Mapped[str] = mapped_column(String(24), default="new")
    # Why filing refused the message: a stable code and the places at fault, never content.
    problem: Mapped[str | None] = mapped_column(Text)


# Core tables for the relay's and the receiver's bulk statements, which skip the ORM's
# per-object work.
outbox_table = Base.metadata.tables[OutboxMessage.__tablename__]
receipts_table = Base.metadata.tables[Receipt.__tablename__]
inbox_table = Base.metadata.tables[InboxMessage.__tablename__]
