"""`migrex user` as an operator runs it: add, token, tokens, revoke, list."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from migrex.db import make_session_factory
from migrex.officers.cli import app
from migrex.officers.model import NotAuthenticated
from migrex.officers.service import OfficerRejected, authenticate_password, authenticate_token
from migrex.officers.tables import OfficerRow
from migrex.uow import SqlUnitOfWork

runner = CliRunner()
# Every command checks the node's folder and agreements first (`migrex.checks`).
AGREEMENT = Path(__file__).parents[3] / "agreements" / "kz-am-2024.toml"
NODE_FOLDER = f'data_dir = "."\nagreements = ["{AGREEMENT.as_posix()}"]\n'
PASSWORD = "Yerevan-15-April-2024"


@pytest.fixture
def config(tmp_path: Path, database_url: str, engine: Engine) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(
        f'[node]\nnode_id = "kz-node"\nstate = "KZ"\n'
        f'{NODE_FOLDER}authorities = ["kz-mia", "kz-mlsp"]\n'
        f'database_url = "{database_url}"\n',
        encoding="utf-8",
    )
    return path


def user(config: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    # The sub-app reads --config from its root context, as it will once mounted as `migrex user`.
    result = runner.invoke(app, list(args), input=stdin, obj={"config": config})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_add_an_officer_issue_a_token_and_revoke_it(config: Path, engine: Engine) -> None:
    code, stdout, _ = user(
        config, "add", "aram", "--name", "Aram Hovhannisyan",
        "--role", "reviewer@kz-mia", "--role", "data-protection-officer@kz-mlsp",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, stdout
    assert "added officer aram" in stdout
    assert "dpo@kz-mlsp, reviewer@kz-mia" in stdout

    code, stdout, stderr = user(config, "token", "aram", "--name", "laptop", "--days", "7")
    assert code == 0
    token = stdout.strip()
    assert token.startswith("mgx_")
    issued = re.match(r"token (\d+) for aram, expires .* UTC; store it now:", stderr)
    assert issued is not None, stderr

    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    with SqlUnitOfWork(factory) as uow:
        assert authenticate_token(uow, token, now).username == "aram"
    with SqlUnitOfWork(factory) as uow:
        assert authenticate_password(uow, "aram", PASSWORD, now).username == "aram"

    code, stdout, _ = user(config, "tokens", "aram")
    assert code == 0
    assert token.split("_")[1] in stdout
    assert token not in stdout
    code, stdout, _ = user(config, "revoke", issued.group(1))
    assert code == 0
    assert "is revoked" in stdout
    with SqlUnitOfWork(factory) as uow, pytest.raises(NotAuthenticated, match="revoked"):
        authenticate_token(uow, token, now)

    code, stdout, _ = user(config, "list")
    assert code == 0
    assert "Aram Hovhannisyan" in stdout


def test_a_badly_written_role_is_a_usage_error(config: Path) -> None:
    code, _, stderr = user(config, "add", "aram", "--name", "Aram", "--role", "clerk@kz-mia")
    assert code == 2
    assert "roles are officer, reviewer" in stderr


def test_a_role_for_an_authority_not_hosted_is_refused(config: Path, engine: Engine) -> None:
    with pytest.raises(OfficerRejected) as refused:
        user(config, "add", "aram", "--name", "Aram", "--role", "officer@am-police")
    assert refused.value.problems[0].where == "roles: officer@am-police"
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(OfficerRow)) == 0


def officer_id(added: str) -> int:
    return int(re.findall(r"\(id (\d+)\)", added)[0])


def test_list_and_tokens_print_one_json_array(config: Path) -> None:
    _, aram, _ = user(config, "add", "aram", "--name", "Aram Hovhannisyan",
                      "--role", "reviewer@kz-mia", "--role", "officer@kz-mlsp")  # fmt: skip
    _, bella, _ = user(
        config, "add", "bella", "--name", "Bella Sargsyan", "--role", "officer@kz-mia"
    )
    user(config, "token", "bella", "--name", "desk")
    user(config, "disable", "bella")
    _, laptop, laptop_said = user(config, "token", "aram", "--name", "laptop", "--days", "7")
    _, _, phone_said = user(config, "token", "aram", "--name", "phone")
    user(config, "revoke", re.findall(r"token (\d+)", phone_said)[0])

    code, stdout, _ = user(config, "list", "--json")
    assert code == 0, stdout
    assert json.loads(stdout) == [
        {"id": officer_id(aram), "username": "aram", "display_name": "Aram Hovhannisyan",
         "active": True, "roles": [{"role": "officer", "authority": "kz-mlsp"},
                                   {"role": "reviewer", "authority": "kz-mia"}]},
        {"id": officer_id(bella), "username": "bella", "display_name": "Bella Sargsyan",
         "active": False, "roles": [{"role": "officer", "authority": "kz-mia"}]},
    ]  # fmt: skip

    code, stdout, _ = user(config, "tokens", "aram", "--json")
    assert code == 0, stdout
    phone, first = json.loads(stdout)  # newest first, bella's left out
    assert (phone["name"], phone["username"], first["name"]) == ("phone", "aram", "laptop")
    assert first["id"] == int(re.findall(r"token (\d+)", laptop_said)[0])
    assert len(first["prefix"]) >= 4 and laptop.strip().split("_")[1].startswith(first["prefix"])
    assert laptop.strip() not in stdout
    expires = datetime.fromisoformat(first["expires_at"])
    assert "T" in first["expires_at"] and expires.utcoffset() == timedelta(0)
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    assert first["last_used_at"] is None and first["revoked_at"] is None
    assert datetime.fromisoformat(phone["revoked_at"]) <= datetime.now(UTC)
    assert set(first) == {"id", "username", "name", "prefix", "expires_at", "last_used_at",
                          "revoked_at"}  # fmt: skip
