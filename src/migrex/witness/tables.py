"""The signed directories this node has taken, every version, as signed; and the recoveries
of a log declared between partners (ours to them, theirs to us).

A directory lists only keys that have not expired, so once a partner rotates its key and its
old one runs out, the next directory no longer names the key its older cosignatures were made
with. Keeping every signed version lets `verify` find that key still, and, the documents
being signed by every party, lets it trust the key without trusting this database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from migrex.db import Base


class WitnessDirectory(Base):
    __tablename__ = "witness_directories"

    agreement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[str] = mapped_column(Text)
    """The signed directory exactly as read from its file."""
    kept_at: Mapped[datetime] = mapped_column()


class RecoveryDeclaration(Base):
    """A recovery of our log (`audit_recoveries`) declared to one partner's witness.

    It rides on every checkpoint we send that witness until the witness cosigns one that
    includes the recovery leaf (`leaf_position`): from then on the witness holds the new
    branch.
    """

    __tablename__ = "witness_recovery_declarations"

    recovery_id: Mapped[int] = mapped_column(
        ForeignKey("audit_recoveries.id"), primary_key=True, autoincrement=False
    )
    witness: Mapped[str] = mapped_column(String(64), primary_key=True)
    leaf_position: Mapped[int] = mapped_column(BigInteger)
    held_size: Mapped[int | None] = mapped_column(BigInteger)
    """The largest head of our log the witness held when asked (None: it could not be)."""
    declaration: Mapped[str] = mapped_column(Text)
    """The signed declaration (compact JWS), as sent."""
    declared_at: Mapped[datetime] = mapped_column()


class PartnerRecovery(Base):
    """A partner's declared recovery of its log, checked and accepted by us as its witness:
    the branch we had witnessed beyond `restored_size` is abandoned, visibly, here."""

    __tablename__ = "witness_partner_recoveries"

    origin: Mapped[str] = mapped_column(String(255), primary_key=True)
    declaration_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    authority: Mapped[str] = mapped_column(String(64))
    restored_size: Mapped[int] = mapped_column(BigInteger)
    restored_root: Mapped[bytes] = mapped_column(LargeBinary(32))
    restored_at: Mapped[datetime] = mapped_column()
    abandoned_size: Mapped[int | None] = mapped_column(BigInteger)
    """The largest checkpoint of the lost branch we had cosigned (None: none beyond)."""
    abandoned_note: Mapped[str | None] = mapped_column(Text)
    """That checkpoint as we cosigned it: the evidence of what the lost branch held."""
    heads_set_aside: Mapped[int] = mapped_column(Integer)
    """Heads its receipts stated on the lost branch, no longer checked against it."""
    declaration: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column()


directories_table = Base.metadata.tables[WitnessDirectory.__tablename__]
