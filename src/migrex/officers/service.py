"""Use cases of the officers feature: add officers, issue and revoke tokens, authenticate.

Each use case commits once through its unit of work, or raises and stores nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError

from migrex.audit import events
from migrex.audit.pending import record
from migrex.errors import MigrexError, NotFound, ProblemCollector
from migrex.officers.model import Grant, NotAuthenticated, Officer, Role
from migrex.officers.passwords import (
    check_strength,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from migrex.officers.tables import ApiTokenRow, OfficerRoleRow, OfficerRow
from migrex.uow import UnitOfWork


class OfficerRejected(MigrexError):
    type_slug = "officer-rejected"
    title = "The officer command was refused; nothing was stored"
    status = 422


# mgx_<prefix>_<secret>: a recognisable scheme (secret scanners can match it), 8 hex
# characters to find the row, 32 random bytes (43 base64url characters) of secret.
TOKEN_SCHEME = "mgx"  # noqa: S105 - a public marker, not a secret
_TOKEN = re.compile(r"mgx_([0-9a-f]{8})_[A-Za-z0-9_-]{43}")
_TOKEN_LENGTH = 56
MAX_TOKEN_TTL = timedelta(days=366)
# Recording every single use would turn each API read into a write; a minute is enough to
# tell a live token from a dormant one.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
_BAD_TOKEN = "the token is not valid"  # noqa: S105 - an error message
_BAD_LOGIN = "unknown username or wrong password"


@dataclass(frozen=True)
class IssuedToken:
    token: str  # the plaintext: shown once to its holder, never stored
    token_id: int
    expires_at: datetime


@dataclass(frozen=True)
class TokenInfo:
    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def add_officer(
    uow: UnitOfWork,
    *,
    username: str,
    display_name: str,
    roles: Iterable[tuple[Role | str, str]],
    password: str | None,
    actor: str,
    hosted_authorities: Iterable[str],
    now: datetime | None = None,
) -> Officer:
    """Stores a new officer with roles for hosted authorities and an optional password.

    Raises OfficerRejected listing every problem (bad username, duplicate, no role, a role
    for an authority this node does not host, weak password).
    """
    username = username.strip().lower()
    hosted = set(hosted_authorities)
    problems = ProblemCollector()
    if not _USERNAME.fullmatch(username):
        problems.add("username", "use 2-64 lowercase letters, digits, '.', '_' or '-'")
    elif _officer_row(uow, username) is not None:
        problems.add("username", f"{username} already exists")
    if not display_name.strip() or len(display_name) > 200:
        problems.add("display_name", "give a name of 1-200 characters")
    given = list(roles)
    if not given:
        problems.add("roles", "give at least one ROLE@AUTHORITY")
    grants = sorted(_grants(given, problems))
    for grant in grants:
        if grant.authority not in hosted:
            problems.add(f"roles: {grant}", f"this node hosts only {', '.join(sorted(hosted))}")
    if password is not None:
        check_strength(password, username, problems)
    if problems:
        raise OfficerRejected(f"officer {username} was not added", problems.problems)
    row = OfficerRow(
        username=username,
        display_name=display_name.strip(),
        password_hash=hash_password(password) if password is not None else None,
        active=True,
        created_at=now or datetime.now(UTC),
        created_by=actor,
        roles=[OfficerRoleRow(role=g.role.value, authority_id=g.authority) for g in grants],
    )
    uow.session.add(row)
    _administered(uow, actor, "officer-added", username, now)
    try:
        uow.commit()
    except IntegrityError:
        # Another session added the same username between our check and our commit.
        raise OfficerRejected(f"officer {username} already exists") from None
    return _officer(row)


def issue_token(
    uow: UnitOfWork,
    *,
    username: str,
    name: str,
    ttl: timedelta,
    actor: str,
    now: datetime | None = None,
) -> IssuedToken:
    """A new API token for an active officer; its plaintext exists only in the result."""
    now = now or datetime.now(UTC)
    row = _officer_row(uow, username.strip().lower())
    if row is None:
        raise NotFound(f"no officer named {username}")
    problems = ProblemCollector()
    if not row.active:
        problems.add("username", f"{row.username} is disabled")
    if not name.strip() or len(name) > 100:
        problems.add("name", "give the token a name of 1-100 characters")
    if not timedelta(0) < ttl <= MAX_TOKEN_TTL:
        problems.add("ttl", f"a token lives more than 0 and at most {MAX_TOKEN_TTL.days} days")
    if problems:
        raise OfficerRejected(f"no token was issued to {row.username}", problems.problems)
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    token_row = ApiTokenRow(
        officer_id=row.id,
        token_prefix=prefix,
        token_hash=_token_hash(token),
        name=name.strip(),
        created_at=now,
        created_by=actor,
        expires_at=now + ttl,
    )
    uow.session.add(token_row)
    uow.session.flush()
    _administered(uow, actor, "token-issued", f"{row.username}/{token_row.id}", now)
    uow.commit()
    return IssuedToken(token, token_row.id, token_row.expires_at)


def revoke_token(
    uow: UnitOfWork, *, token_id: int, actor: str, now: datetime | None = None
) -> TokenInfo:
    """Revokes a token at once; revoking it again keeps the first revocation."""
    row = uow.session.get(ApiTokenRow, token_id)
    if row is None:
        raise NotFound(f"no API token with id {token_id}")
    now = now or datetime.now(UTC)
    # Only while nobody has: of two administrators revoking it at once, both found it in use,
    # and the later overwrote the first revocation and logged a second.
    if _revoke(uow, ApiTokenRow.id == token_id, actor=actor, now=now):
        _administered(uow, actor, "token-revoked", str(token_id), now)
        uow.commit()
    uow.session.refresh(row)
    return _token_info(row, _officer_username(uow, row.officer_id))


def _revoke(uow: UnitOfWork, which: ColumnElement[bool], *, actor: str, now: datetime) -> bool:
    """Revokes the token `which` finds unless it is revoked; whether this did."""
    revoked = uow.session.execute(
        update(ApiTokenRow).where(which, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=actor)
    )  # fmt: skip
    return bool(revoked.rowcount)  # type: ignore[attr-defined]


def disable_officer(
    uow: UnitOfWork, *, username: str, actor: str, now: datetime | None = None
) -> Officer:
    """Disables an officer at once: every token and session of theirs stops working (they are
    checked against the account on each use); their history stays."""
    row = _officer_row(uow, username.strip().lower())
    if row is None:
        raise NotFound(f"no officer named {username}")
    # Only while active: of two administrators disabling the officer at once, both found the
    # account active and each logged disabling it.
    disabled = uow.session.execute(
        update(OfficerRow).where(OfficerRow.id == row.id, OfficerRow.active.is_(True))
        .values(active=False)
    )  # fmt: skip
    if disabled.rowcount:  # type: ignore[attr-defined]
        _administered(uow, actor, "officer-disabled", row.username, now)
        uow.commit()
    uow.session.refresh(row)
    return _officer(row)


def set_password(
    uow: UnitOfWork, *, username: str, password: str, actor: str, now: datetime | None = None
) -> Officer:
    """Sets (or resets) an officer's password, under the same strength rules as at creation."""
    row = _officer_row(uow, username.strip().lower())
    if row is None:
        raise NotFound(f"no officer named {username}")
    problems = ProblemCollector()
    check_strength(password, row.username, problems)
    if problems:
        raise OfficerRejected(f"the password of {row.username} was not set", problems.problems)
    row.password_hash = hash_password(password)
    _administered(uow, actor, "password-set", row.username, now)
    uow.commit()
    return _officer(row)


def _administered(
    uow: UnitOfWork, actor: str, action: str, target: str, now: datetime | None
) -> None:
    """The change's audit entry, appended when the use case commits (G5)."""
    entry = events.administration(at=now or datetime.now(UTC), actor=actor, action=action,
                                  target=target)  # fmt: skip
    record(uow.session, entry)


def revoke_presented_token(uow: UnitOfWork, token: str, *, actor: str, now: datetime) -> None:
    """Revoke the token the caller holds (a web session at logout); unknown tokens are ignored."""
    # Logging out twice at once keeps the first revocation.
    if _revoke(uow, ApiTokenRow.token_hash == _token_hash(token), actor=actor, now=now):
        uow.commit()


def authenticate_token(
    uow: UnitOfWork, token: str, now: datetime, *, idle: timedelta | None = None
) -> Officer:
    """The active officer holding `token`; NotAuthenticated for anything else, and for a
    token unused for longer than `idle` (a web session left alone: its use is recorded to
    `LAST_USED_RESOLUTION`, so give an `idle` well above it)."""
    match = _TOKEN.fullmatch(token) if len(token) == _TOKEN_LENGTH else None
    if match is None:
        raise NotAuthenticated(_BAD_TOKEN)
    digest = _token_hash(token)
    # The prefix is a public lookup key, so only the hash comparison must be constant-time.
    candidates = uow.session.scalars(
        select(ApiTokenRow).where(ApiTokenRow.token_prefix == match.group(1))
    )
    row = next((c for c in candidates if hmac.compare_digest(c.token_hash, digest)), None)
    if row is None:
        raise NotAuthenticated(_BAD_TOKEN)
    # The caller holds the real token from here on, so telling why it fails reveals nothing.
    if row.revoked_at is not None:
        raise NotAuthenticated("the token was revoked")
    if row.expires_at <= now:
        raise NotAuthenticated("the token has expired")
    officer_row = uow.session.get(OfficerRow, row.officer_id)
    if officer_row is None or not officer_row.active:
        raise NotAuthenticated("the officer's account is disabled")
    if idle is not None and now - (row.last_used_at or row.created_at) > idle:
        raise NotAuthenticated("the session ended after a time without use")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        uow.commit()
    return _officer(officer_row)


def authenticate_password(uow: UnitOfWork, username: str, password: str, now: datetime) -> Officer:
    """The active officer with this username and password; NotAuthenticated otherwise.

    Unknown users, token-only and disabled accounts and wrong passwords all get the same
    error after one Argon2 verification each, so neither the answer nor its timing tells
    which usernames exist.
    """
    # A NUL cannot be in a username (PostgreSQL would refuse the lookup): no such officer.
    row = None if "\x00" in username else _officer_row(uow, username.strip().lower())
    stored = row.password_hash if row is not None and row.password_hash else None
    matches = verify_password(stored or dummy_hash(), password)
    if row is None or stored is None or not matches or not row.active:
        raise NotAuthenticated(_BAD_LOGIN)
    if needs_rehash(stored):
        # Over the hash just checked only: a password reset meanwhile stands (the rehash of
        # the old password was written over it, which then worked again).
        uow.session.execute(
            update(OfficerRow)
            .where(OfficerRow.id == row.id, OfficerRow.password_hash == stored)
            .values(password_hash=hash_password(password))
            .execution_options(synchronize_session=False)
        )
    row.last_login_at = now
    uow.commit()
    return _officer(row)


def login_subject(uow: UnitOfWork, username: str) -> str:
    """What the security log may say about a login for `username`: the account's record id,
    never the name typed (a password typed in the wrong field must not be kept)."""
    row = None if "\x00" in username else _officer_row(uow, username.strip().lower()[:100])
    return f"officer #{row.id}" if row is not None else "an unknown account"


def list_officers(uow: UnitOfWork) -> list[Officer]:
    rows = uow.session.scalars(select(OfficerRow).order_by(OfficerRow.username))
    return [_officer(row) for row in rows]


def list_tokens(uow: UnitOfWork, username: str | None = None) -> list[TokenInfo]:
    """Tokens (never their secrets), newest first; only `username`'s when given."""
    query = (
        select(ApiTokenRow, OfficerRow.username)
        .join(OfficerRow, OfficerRow.id == ApiTokenRow.officer_id)
        .order_by(ApiTokenRow.id.desc())
    )
    if username is not None:
        query = query.where(OfficerRow.username == username.strip().lower())
    return [_token_info(row, name) for row, name in uow.session.execute(query)]


def _grants(roles: Iterable[tuple[Role | str, str]], problems: ProblemCollector) -> set[Grant]:
    grants = set()
    for role, authority in roles:
        try:
            grants.add(Grant(Role(role), authority))
        except ValueError:
            problems.add(f"roles: {role}@{authority}", f"roles are {', '.join(Role)}")
    return grants


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _officer_row(uow: UnitOfWork, username: str) -> OfficerRow | None:
    return uow.session.scalar(select(OfficerRow).where(OfficerRow.username == username))


def _officer_username(uow: UnitOfWork, officer_id: int) -> str:
    return uow.session.scalars(select(OfficerRow.username).where(OfficerRow.id == officer_id)).one()


def _officer(row: OfficerRow) -> Officer:
    grants = frozenset(Grant(Role(r.role), r.authority_id) for r in row.roles)
    return Officer(row.id, row.username, row.display_name, grants, row.active)


def _token_info(row: ApiTokenRow, username: str) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        username=username,
        name=row.name,
        prefix=row.token_prefix,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )
