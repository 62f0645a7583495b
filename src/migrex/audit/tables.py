"""The audit log's tables: leaf rows, the tree's node hashes, its head, and checkpoints;
and what this node holds of its partners' logs (checkpoints it witnessed, heads it saw).

The leaf rows are the record; `audit_nodes` and `audit_head` are derived from them and kept
only so that appends and proofs read O(log n) rows instead of the whole log. `verify`
recomputes both from the leaf rows, and signed checkpoints pin the roots, so a change to any
of these tables is found even when the derived ones are rewritten to match.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from migrex.audit.merkle import HASH_SIZE
from migrex.db import Base

# Origins and key names are URL-like lines (c2sp.org/tlog-checkpoint); 255 is ample.
_LINE = 255
# 64-bit everywhere; on SQLite a lone INTEGER primary key is the rowid itself, which saves an
# index (BIGINT would not be).
_POSITION = BigInteger().with_variant(Integer(), "sqlite")


class AuditLeafRow(Base):
    """One log entry: its canonical `AuditLeaf.encode()` bytes at its 0-based position.

    `kind`, `message_id` and `subject_hash` repeat fields of `data` so that a message's or a
    person's entries are found by index; `verify` checks they agree with `data`.
    """

    __tablename__ = "audit_leaves"

    position: Mapped[int] = mapped_column(_POSITION, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str | None] = mapped_column(String(36), index=True)
    subject_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    recorded_at: Mapped[datetime] = mapped_column()


class AuditNode(Base):
    """The hash of the complete subtree over leaves [index * 2**level, (index + 1) * 2**level).

    Level 0 holds the leaf hashes. A node exists only once all its leaves do, which is how
    `merkle.append` writes them, so a missing node means "not in the tree yet".
    """

    __tablename__ = "audit_nodes"
    # Looked up only by its key: on SQLite the key's b-tree then holds the hash too.
    __table_args__ = ({"sqlite_with_rowid": False},)

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE))


class AuditHead(Base):
    """The one row (id 1) with the tree's size and root; appends lock it to take turns."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE))


class AuditCheckpoint(Base):
    """A checkpoint this node signed: the signed note as published, and when."""

    __tablename__ = "audit_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()


class AuditCosignature(Base):
    """One of our checkpoints as a witness returned it, with the witness's cosignature line."""

    __tablename__ = "audit_cosignatures"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    witness: Mapped[str] = mapped_column(String(_LINE), primary_key=True)
    note: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column()


class AuditWitnessed(Base):
    """A partner log's checkpoint that this node verified and cosigned, acting as its witness.

    Kept so that the next checkpoint from the same origin can be checked against it: two
    checkpoints no append-only history explains are evidence of a split view.
    """

    __tablename__ = "audit_witnessed"

    origin: Mapped[str] = mapped_column(String(_LINE), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE))
    note: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column()


class AuditPartnerHead(Base):
    """A partner log's tree head as that partner's signed receipt for one of our messages
    stated it: the size and root of its log just after it logged our envelope.

    The partner signed it, so it is evidence of what its log held: as its witness we check
    every checkpoint it asks us to cosign against these heads (`reconciled_at` is set once
    one was shown to extend a head), and we return them to the partner when it verifies its
    own log against what we saw. Two roots for one size are both kept: that is a fork.
    """

    __tablename__ = "audit_partner_heads"
    # Every witnessing round reads the heads not yet under a cosigned checkpoint; the others
    # accumulate for good, so that read must not scan them.
    __table_args__ = (Index("ix_audit_partner_heads_open", "origin", "reconciled_at", "size"),)

    origin: Mapped[str] = mapped_column(String(_LINE), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36))
    """Our message whose receipt stated this head; the receipt itself is the evidence."""
    signed_at: Mapped[datetime] = mapped_column()
    """The time the partner's receipt states (the partner's clock)."""
    seen_at: Mapped[datetime] = mapped_column()
    proven_size: Mapped[int | None] = mapped_column(BigInteger)
    proven_root: Mapped[bytes | None] = mapped_column(LargeBinary(HASH_SIZE))
    """The checkpoint (size and root) this head was proven to lie under, cosigned or not
    yet: proofs the partner sent for it count again when it shows that checkpoint again."""
    reconciled_at: Mapped[datetime | None] = mapped_column()
    """When a checkpoint we cosigned was proven to extend this head."""


class AuditRecovery(Base):
    """Our log was restored from a backup (or moved to a fresh database) at this head.

    Leaves the log had beyond it are gone; the partners' witnesses hold later heads of the
    lost branch and would refuse the new one as a rollback. Witnessing reads these rows and
    declares each one, signed, to every witness before it shows a checkpoint again.
    """

    __tablename__ = "audit_recoveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    restored_size: Mapped[int] = mapped_column(BigInteger)
    restored_root: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE))
    restored_at: Mapped[datetime] = mapped_column()
    backup_created_at: Mapped[datetime | None] = mapped_column()
    """When the backup it came from was taken (None: declared by hand)."""


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


# Core tables for the bulk statements, which skip the ORM's per-object work.
leaves_table = _table(AuditLeafRow)
nodes_table = _table(AuditNode)
head_table = _table(AuditHead)
checkpoints_table = _table(AuditCheckpoint)
cosignatures_table = _table(AuditCosignature)
witnessed_table = _table(AuditWitnessed)
partner_heads_table = _table(AuditPartnerHead)

AUDIT_TABLES = (
    leaves_table,
    nodes_table,
    head_table,
    checkpoints_table,
    cosignatures_table,
    witnessed_table,
    partner_heads_table,
)
"""The audit log's tables, for creating them outside Alembic (benchmarks, tests)."""
