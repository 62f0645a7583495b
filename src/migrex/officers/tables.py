"""Officers, the roles they hold per authority, and their API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from migrex.db import Base


class OfficerRow(Base):
    __tablename__ = "officer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # None for officers who only use API tokens (service accounts, CLI-only operators).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(120))
    last_login_at: Mapped[datetime | None] = mapped_column()

    # Roles are always needed with the officer, so they load with it in one extra query.
    roles: Mapped[list[OfficerRoleRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="OfficerRoleRow.id"
    )


class OfficerRoleRow(Base):
    __tablename__ = "officer_role"
    __table_args__ = (UniqueConstraint("officer_id", "role", "authority_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    authority_id: Mapped[str] = mapped_column(String(64))


class ApiTokenRow(Base):
    """An API token; only a SHA-256 of it is stored, so a database leak reveals no token.

    A fast hash is right here, unlike for passwords: the secret is 32 random bytes, so there
    is nothing to guess that a slow hash would protect.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"), index=True)
    # The token's public part: finds the row without scanning every hash.
    token_prefix: Mapped[str] = mapped_column(String(8), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[str | None] = mapped_column(String(120))


class LoginThrottleRow(Base):
    """Recent failed logins of one account or one address, under a keyed hash of it (the name
    typed or the address itself is never stored), and until when they lock it."""

    __tablename__ = "officer_login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The failures still in the window, as a JSON list of ISO times (a few dozen at most).
    failures: Mapped[str] = mapped_column(Text)
    locked_until: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(index=True)


# The feature's tables, for `metadata.create_all(engine, tables=OFFICER_TABLES)` in tests.
OFFICER_TABLES: tuple[Table, ...] = tuple(
    Base.metadata.tables[name]
    for name in ("officer", "officer_role", "api_token", "officer_login_throttle")
)
