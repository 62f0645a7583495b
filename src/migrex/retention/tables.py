"""One data key per sealed record; erasing a record is deleting its key (the row stays, with
when and why the key went, so the erasure can be shown). A record's search terms go with it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from migrex.db import Base


class RetentionKeyRow(Base):
    __tablename__ = "retention_key"
    __table_args__ = (Index("ix_retention_key_due", "erased_at", "expires_at"),)

    # The message id of the received message whose stored copies are sealed under this key.
    record: Mapped[str] = mapped_column(String(36), primary_key=True)
    agreement_id: Mapped[str] = mapped_column(String(64))
    our_authority: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    erased_at: Mapped[datetime | None] = mapped_column()


class SearchTermRow(Base):
    """A keyed hash by which a record can be found (a form of a person's name, say), never the
    value itself. Retention deletes a record's terms when it erases the record's key, so an
    erased person can no longer be found, even by someone holding the node's keys."""

    __tablename__ = "retention_search_term"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record: Mapped[str] = mapped_column(String(36), index=True)
    # Where in the record the term was found, e.g. "2:surname" (the third person's surname).
    scope: Mapped[str] = mapped_column(String(32))
    term: Mapped[str] = mapped_column(String(64), index=True)


# The Core table, for the receiver's bulk insert of the keys it seals a batch under.
retention_table = Base.metadata.tables[RetentionKeyRow.__tablename__]
