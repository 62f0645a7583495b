"""Officer use cases on SQLite and PostgreSQL: adding, tokens, passwords, and refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, func, select, update

from at_once import beside
from migrex.audit.leaves import LeafKind
from migrex.audit.tables import AuditLeafRow
from migrex.db import Base, make_session_factory
from migrex.errors import NotFound
from migrex.officers import service
from migrex.officers.model import Grant, NotAuthenticated, Role
from migrex.officers.passwords import HASHER
from migrex.officers.service import (
    OfficerRejected,
    TokenInfo,
    add_officer,
    authenticate_password,
    authenticate_token,
    disable_officer,
    issue_token,
    list_officers,
    list_tokens,
    revoke_token,
    set_password,
)
from migrex.officers.tables import ApiTokenRow, OfficerRoleRow, OfficerRow
from migrex.uow import SqlUnitOfWork, UnitOfWork

NOW = datetime(2025, 9, 3, 9, 0, tzinfo=UTC)
HOSTED = ("kz-mia", "kz-mlsp")
PASSWORD = "Yerevan-15-April-2024"
Uow = Callable[[], UnitOfWork]


@pytest.fixture
def uow(engine: Engine) -> Uow:
    # Until the officers' migration exists the tables are made here; on PostgreSQL they stay
    # in the session's database, which conftest empties after every test.
    factory = make_session_factory(engine)
    return lambda: SqlUnitOfWork(factory)


def add(uow: Uow, username: str = "aram", **overrides: Any) -> None:
    command: dict[str, Any] = {
        "username": username,
        "display_name": "Aram Hovhannisyan",
        "roles": [(Role.REVIEWER, "kz-mia")],
        "password": PASSWORD,
        "actor": "cli:root",
        "hosted_authorities": HOSTED,
        "now": NOW,
    } | overrides
    with uow() as work:
        add_officer(work, **command)


def token_for(uow: Uow, username: str = "aram", days: int = 30) -> str:
    with uow() as work:
        issued = issue_token(
            work, username=username, name="laptop", ttl=timedelta(days=days), actor="t", now=NOW
        )
    return issued.token


def authenticate(uow: Uow, token: str, now: datetime = NOW) -> str:
    with uow() as work:
        return authenticate_token(work, token, now).username


def count(uow: Uow, table: type[Base]) -> int:
    with uow() as work:
        return work.session.scalar(select(func.count()).select_from(table)) or 0


def disable(uow: Uow, username: str) -> None:
    with uow() as work:
        disable_officer(work, username=username, actor="cli:root", now=NOW)


def test_an_added_officer_is_listed_with_roles_and_a_hashed_password(uow: Uow) -> None:
    roles = [(Role.REVIEWER, "kz-mia"), ("supervisor", "kz-mlsp"), (Role.REVIEWER, "kz-mia")]
    add(uow, "Aram", roles=roles)
    with uow() as work:
        [officer] = list_officers(work)
        row = work.session.scalars(select(OfficerRow)).one()
    assert officer.username == "aram"
    assert officer.grants == {Grant(Role.REVIEWER, "kz-mia"), Grant(Role.SUPERVISOR, "kz-mlsp")}
    assert row.created_by == "cli:root"
    assert row.created_at == NOW
    assert row.password_hash is not None
    assert row.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in row.password_hash


@pytest.mark.parametrize(
    ("overrides", "where", "reason"),
    [
        ({"username": "aram"}, "username", "aram already exists"),
        ({"username": "a"}, "username", "lowercase letters"),
        ({"roles": [(Role.OFFICER, "am-police")]}, "roles: officer@am-police", "hosts only"),
        ({"roles": [("clerk", "kz-mia")]}, "roles: clerk@kz-mia", "roles are"),
        ({"roles": []}, "roles", "at least one"),
        ({"password": "short-pw"}, "password", "at least 12 characters"),
        ({"password": "aaaaaaaaaaaaaaaa"}, "password", "different characters"),
        ({"password": "my-name-is-noor!"}, "password", "must not contain the username"),
        ({"display_name": " "}, "display_name", "1-200 characters"),
    ],
)
def test_refused_officers_store_nothing(
    uow: Uow, overrides: dict[str, Any], where: str, reason: str
) -> None:
    add(uow, "aram")
    before = count(uow, OfficerRow), count(uow, OfficerRoleRow)
    command = {"username": "noor"} | overrides
    with pytest.raises(OfficerRejected) as refused:
        add(uow, **command)
    assert [(p.where, reason in p.reason) for p in refused.value.problems] == [(where, True)]
    assert (count(uow, OfficerRow), count(uow, OfficerRoleRow)) == before


def test_every_problem_is_reported_at_once(uow: Uow) -> None:
    with pytest.raises(OfficerRejected) as refused:
        add(uow, "x", roles=[(Role.AUDITOR, "am-police")], password="short")
    assert {p.where for p in refused.value.problems} == {
        "username",
        "roles: auditor@am-police",
        "password",
    }


def test_a_token_authenticates_its_officer_and_only_its_hash_is_stored(uow: Uow) -> None:
    add(uow, "aram")
    token = token_for(uow)
    prefix = token.split("_")[1]
    assert token.startswith(f"mgx_{prefix}_")
    assert len(token) == 56
    assert authenticate(uow, token) == "aram"
    with uow() as work:
        row = work.session.scalars(select(ApiTokenRow)).one()
    assert row.token_prefix == prefix
    assert token not in (row.token_hash, row.name)
    assert row.last_used_at == NOW


def test_last_use_is_recorded_once_a_minute(uow: Uow) -> None:
    add(uow, "aram")
    token = token_for(uow)
    for now in (NOW, NOW + timedelta(seconds=30), NOW + timedelta(minutes=2)):
        authenticate(uow, token, now)
    with uow() as work:
        [info] = list_tokens(work, "aram")
    assert info.last_used_at == NOW + timedelta(minutes=2)


def test_an_expired_token_is_refused(uow: Uow) -> None:
    add(uow, "aram")
    token = token_for(uow, days=1)
    assert authenticate(uow, token, NOW + timedelta(hours=23)) == "aram"
    with pytest.raises(NotAuthenticated, match="expired"):
        authenticate(uow, token, NOW + timedelta(days=1))


def test_a_revoked_token_is_refused_at_once(uow: Uow) -> None:
    add(uow, "aram")
    token = token_for(uow)
    with uow() as work:
        [info] = list_tokens(work)
        revoked = revoke_token(work, token_id=info.id, actor="cli:root", now=NOW)
    assert revoked.revoked_at == NOW
    with pytest.raises(NotAuthenticated, match="revoked"):
        authenticate(uow, token)
    with uow() as work:
        again = revoke_token(work, token_id=info.id, actor="cli:other", now=NOW + timedelta(1))
    assert again.revoked_at == NOW
    with uow() as work, pytest.raises(NotFound):
        revoke_token(work, token_id=info.id + 1, actor="cli:root")


def test_a_token_with_any_one_character_changed_is_refused(uow: Uow) -> None:
    add(uow, "aram")
    token = token_for(uow)
    for index, char in enumerate(token):
        replacement = "b" if char == "a" else "a"
        tampered = token[:index] + replacement + token[index + 1 :]
        with pytest.raises(NotAuthenticated, match="not valid"):
            authenticate(uow, tampered)
    assert authenticate(uow, token) == "aram"


@pytest.mark.parametrize("token", ["", "mgx", "Bearer mgx_", "x" * 56, "mgx_" + "0" * 10_000])
def test_malformed_tokens_are_refused(uow: Uow, token: str) -> None:
    with pytest.raises(NotAuthenticated, match="not valid"):
        authenticate(uow, token)


def test_a_disabled_officer_cannot_use_or_get_tokens(uow: Uow) -> None:
    add(uow, "aram")
    token = token_for(uow)
    disable(uow, "aram")
    with pytest.raises(NotAuthenticated, match="disabled"):
        authenticate(uow, token)
    with pytest.raises(OfficerRejected, match="no token was issued"):
        token_for(uow)


def test_a_reset_password_replaces_the_old_one_and_keeps_the_rules(uow: Uow) -> None:
    add(uow, "aram")
    with uow() as work, pytest.raises(OfficerRejected, match="was not set"):
        set_password(work, username="aram", password="short", actor="cli:root", now=NOW)
    new = "Almaty-3-September-2025"
    with uow() as work:
        set_password(work, username="aram", password=new, actor="cli:root", now=NOW)
    with uow() as work, pytest.raises(NotAuthenticated):
        authenticate_password(work, "aram", PASSWORD, NOW)
    with uow() as work:
        assert authenticate_password(work, "aram", new, NOW).username == "aram"


@pytest.mark.parametrize(("username", "days"), [("aram", 0), ("aram", 367), ("nobody", 30)])
def test_tokens_are_refused_for_bad_lifetimes_and_unknown_officers(
    uow: Uow, username: str, days: int
) -> None:
    add(uow, "aram")
    with pytest.raises(NotFound if username == "nobody" else OfficerRejected):
        token_for(uow, username, days)
    assert count(uow, ApiTokenRow) == 0


def test_password_login(uow: Uow) -> None:
    add(uow, "aram")
    with uow() as work:
        assert authenticate_password(work, " ARAM ", PASSWORD, NOW).username == "aram"
    with uow() as work:
        assert work.session.scalars(select(OfficerRow.last_login_at)).one() == NOW


def test_unknown_users_token_only_and_disabled_accounts_and_wrong_passwords_look_alike(
    uow: Uow,
) -> None:
    add(uow, "aram")
    add(uow, "service", password=None)
    add(uow, "gone")
    disable(uow, "gone")
    messages = set()
    for username, password in [
        ("aram", PASSWORD + "!"),
        ("nobody", PASSWORD),
        ("service", PASSWORD),
        ("gone", PASSWORD),
        ("ar\x00am", PASSWORD),  # PostgreSQL cannot even look a NUL up
    ]:
        with uow() as work, pytest.raises(NotAuthenticated) as refused:
            authenticate_password(work, username, password, NOW)
        messages.add((refused.value.detail, refused.value.status))
    assert messages == {("unknown username or wrong password", 401)}
    with uow() as work:
        assert set(work.session.scalars(select(OfficerRow.last_login_at))) == {None}


def test_an_old_hash_is_upgraded_at_the_next_login(uow: Uow) -> None:
    add(uow, "aram", password=None)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with uow() as work:
        work.session.execute(update(OfficerRow).values(password_hash=weak))
        work.commit()
    with uow() as work:
        authenticate_password(work, "aram", PASSWORD, NOW)
    with uow() as work:
        stored = work.session.scalars(select(OfficerRow.password_hash)).one()
    assert stored is not None
    assert stored != weak
    assert not HASHER.check_needs_rehash(stored)


def _administrations(uow: Uow) -> int:
    with uow() as work:
        query = (
            select(func.count())
            .select_from(AuditLeafRow)
            .where(AuditLeafRow.kind == LeafKind.ADMINISTRATION)
        )
        return work.session.scalar(query) or 0


def test_a_token_revoked_by_two_administrators_at_once_is_revoked_and_logged_once(
    uow: Uow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both found it in use and revoked it: two audit entries, and the later overwrote who
    revoked it and when ("revoking it again keeps the first revocation")."""
    add(uow, "aram")
    token_for(uow)
    with uow() as work:
        [info] = list_tokens(work)
    before = _administrations(uow)

    def revoke(actor: str, at: datetime) -> TokenInfo:
        with uow() as work:
            return revoke_token(work, token_id=info.id, actor=actor, now=at)

    others = beside(
        monkeypatch, service, "_administered", lambda: revoke("cli:other", NOW + timedelta(1))
    )
    first = revoke("cli:root", NOW)
    [again] = others()
    assert first.revoked_at == again.revoked_at == NOW
    with uow() as work:
        row = work.session.get(ApiTokenRow, info.id)
        assert row is not None and (row.revoked_at, row.revoked_by) == (NOW, "cli:root")
    assert _administrations(uow) == before + 1


def test_an_officer_disabled_by_two_administrators_at_once_is_logged_once(
    uow: Uow, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(uow, "aram")
    before = _administrations(uow)
    others = beside(monkeypatch, service, "_administered", lambda: disable(uow, "aram"))
    disable(uow, "aram")
    assert others() == [None]
    assert _administrations(uow) == before + 1


def test_a_password_reset_during_a_login_that_upgrades_the_old_hash_stands(
    uow: Uow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The login checked the old password and stored it hashed anew over the reset one: the
    old password worked again and the new one did not."""
    add(uow, "aram", password=None)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with uow() as work:
        work.session.execute(update(OfficerRow).values(password_hash=weak))
        work.commit()
    reset = "Gyumri-28-March-2025"

    def set_new() -> None:
        with uow() as work:
            set_password(work, username="aram", password=reset, actor="cli:root", now=NOW)

    others = beside(monkeypatch, service, "needs_rehash", set_new)
    with uow() as work:
        authenticate_password(work, "aram", PASSWORD, NOW)
    assert others() == [None]
    with uow() as work:
        assert authenticate_password(work, "aram", reset, NOW).username == "aram"
    with uow() as work, pytest.raises(NotAuthenticated):
        authenticate_password(work, "aram", PASSWORD, NOW)
