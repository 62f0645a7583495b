"""The signed directories this node has taken, every version, as signed.

A directory lists only keys that have not expired, so once a partner rotates its key and its
old one runs out, the next directory no longer names the key its older cosignatures were made
with. Keeping every signed version lets `verify` find that key still, and, the documents
being signed by every party, lets it trust the key without trusting this database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from migrex.db import Base


class WitnessDirectory(Base):
    __tablename__ = "witness_directories"

    agreement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[str] = mapped_column(Text)
    """The signed directory exactly as read from its file."""
    kept_at: Mapped[datetime] = mapped_column()


directories_table = Base.metadata.tables[WitnessDirectory.__tablename__]
