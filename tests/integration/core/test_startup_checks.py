"""Every command that opens a node checks it first: its folder, its database (there, reachable,
at the current migration), its agreements and hosted authorities, and, for `serve` and
`relay`, its keys, certificates and directories. A failure is one line naming what is wrong
and what to run, with an exit code of its own; nothing is created on the way."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

import migrex.exchange.cli as exchange_cli
from migrex import migrate
from migrex.checks import (
    DatabaseMissing,
    DatabaseNotCurrent,
    DatabaseUnreachable,
    NodeFilesMissing,
    migration_heads,
)
from migrex.cli import app
from migrex.db import make_engine
from migrex.errors import ConfigurationError, Conflict
from nodes import make_pair

runner = CliRunner()
SRC = Path(__file__).parents[3] / "src"


@pytest.fixture
def kz(tmp_path: Path) -> Iterator[Path]:
    """The configuration of a KZ node (demo trust, SQLite in var/node.db, migrated)."""
    for pair in make_pair(tmp_path, f"sqlite:///{tmp_path / 'am.db'}"):
        yield pair.kz.settings.data_dir.parent / "node.toml"


def migrex(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), *args])
    return result.exit_code, result.output


def run_process(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrex", "--config", str(config), *args],
        check=False, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )  # fmt: skip


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def with_setting(config: Path, key: str, value: str) -> Path:
    text = config.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith(f"{key} =")]
    config.write_text("\n".join([*lines, f"{key} = {value}"]) + "\n", encoding="utf-8")
    return config


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_serve_without_its_database_says_so_in_one_line_and_does_not_listen(kz: Path) -> None:
    database = kz.parent / "var" / "node.db"
    database.unlink()
    done = run_process(kz, "serve")
    assert done.returncode == DatabaseMissing.exit_code == 28, done.stderr
    line = one_line(done.stdout + done.stderr)
    assert "does not exist" in line and "migrex db create" in line
    assert not database.exists(), "serve created an empty database"
    port = int(
        next(x for x in kz.read_text().splitlines() if x.startswith("listen_port")).split()[-1]
    )
    assert not listening(port)


def test_a_command_without_the_database_creates_none(kz: Path) -> None:
    database = kz.parent / "var" / "node.db"
    database.unlink()
    code, output = migrex(kz, "outbox", "list")
    assert code == DatabaseMissing.exit_code
    assert "migrex db create" in one_line(output)
    assert not database.exists()


def test_a_data_dir_typo_is_refused_and_creates_nothing(kz: Path) -> None:
    with_setting(kz, "data_dir", '"vra"')
    code, output = migrex(kz, "outbox", "list")
    assert code == NodeFilesMissing.exit_code == 31
    assert "data_dir" in one_line(output) and "vra" in output
    assert not (kz.parent / "vra").exists()


def test_no_configuration_at_all_is_named_as_the_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MIGREX_CONFIG", raising=False)
    result = runner.invoke(app, ["outbox", "list"])
    assert result.exit_code == NodeFilesMissing.exit_code
    line = " ".join(one_line(result.output).split())
    assert line.startswith("error: no node configuration given: name it with --config FILE")
    assert not (tmp_path / "var").exists()


def test_a_database_behind_the_migrations_asks_for_db_upgrade(kz: Path) -> None:
    engine = make_engine(f"sqlite:///{kz.parent / 'var' / 'node.db'}")
    _downgrade(engine)
    engine.dispose()
    code, output = migrex(kz, "outbox", "list")
    assert code == DatabaseNotCurrent.exit_code == 29
    assert "migrex db upgrade" in one_line(output)
    code, output = migrex(kz, "db", "upgrade")
    assert code == 0, output
    assert "database at head (1 migration applied)" in output
    code, output = migrex(kz, "outbox", "list")
    assert code == 0, output
    code, output = migrex(kz, "db", "upgrade")
    assert "database at head (nothing to apply)" in output


def _downgrade(engine: sa.Engine) -> None:
    """One migration back, as a node left at an older version of migrex would be."""
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")


def test_a_database_without_schema_asks_for_db_upgrade(kz: Path) -> None:
    database = kz.parent / "var" / "node.db"
    database.unlink()
    database.touch()
    code, output = migrex(kz, "outbox", "list")
    assert code == DatabaseNotCurrent.exit_code
    assert "migrex db upgrade" in one_line(output)


def test_db_create_makes_a_new_node_database_once(kz: Path) -> None:
    with_setting(kz, "data_dir", '"new-node"')
    done = run_process(kz, "db", "create")
    assert done.returncode == 0, done.stderr
    # One line, not one log entry per migration.
    migrations = len(list((Path(migrate.MIGRATIONS) / "versions").glob("*.py")))
    assert done.stdout.strip().startswith(f"database created at head ({migrations} migrations)")
    assert done.stderr == ""
    assert (kz.parent / "new-node" / "node.db").is_file()
    code, output = migrex(kz, "outbox", "list")
    assert code == 0, output
    code, output = migrex(kz, "db", "create")
    assert code == Conflict.exit_code
    assert "migrex db upgrade" in one_line(output)


def test_db_upgrade_does_not_create_a_missing_sqlite_database(kz: Path) -> None:
    database = kz.parent / "var" / "node.db"
    database.unlink()
    code, output = migrex(kz, "db", "upgrade")
    assert code == DatabaseMissing.exit_code
    assert "migrex db create" in one_line(output)
    assert not database.exists()


@pytest.mark.postgres
def test_db_upgrade_against_a_missing_postgres_database_is_one_line(
    kz: Path, postgres_database: str
) -> None:
    name = f"migrex_missing_{uuid.uuid4().hex[:10]}"
    server = sa.make_url(postgres_database)
    url = server.set(database=name).render_as_string(hide_password=False)
    with_setting(kz, "database_url", f'"{url}"')
    done = run_process(kz, "db", "upgrade")
    assert done.returncode == DatabaseMissing.exit_code, done.stderr
    line = one_line(done.stdout + done.stderr)
    assert name in line and "migrex db create" in line
    try:
        code, output = migrex(kz, "db", "create")
        assert code == 0, output
        code, output = migrex(kz, "outbox", "list")
        assert code == 0, output
    finally:
        admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_an_unreachable_database_server_is_one_line(kz: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with_setting(kz, "database_url", f'"postgresql://migrex:secret@127.0.0.1:{port}/migrex"')
    code, output = migrex(kz, "db", "upgrade")
    assert code == DatabaseUnreachable.exit_code == 30
    line = one_line(output)
    assert "cannot reach" in line and "secret" not in line


def test_a_missing_agreement_file_fails_db_upgrade_and_case_list(kz: Path) -> None:
    with_setting(kz, "agreements", '["no-such-agreement.toml"]')
    for args in (("db", "upgrade"), ("case", "list", "--token", "mgx_x")):
        code, output = migrex(kz, *args)
        assert code != 0 and code >= ConfigurationError.exit_code, (args, output)
        assert "no-such-agreement.toml" in output and "Traceback" not in output


def test_an_unknown_authority_fails_db_upgrade_and_case_list(kz: Path) -> None:
    with_setting(kz, "authorities", '["kz-mia", "kz-nobody"]')
    for args in (("db", "upgrade"), ("case", "list", "--token", "mgx_x")):
        code, output = migrex(kz, *args)
        assert code == ConfigurationError.exit_code, (args, output)
        assert "kz-nobody" in output


def test_serve_without_its_keys_says_so_and_does_not_listen(kz: Path) -> None:
    keys = kz.parent / "var" / "keys" / "authorities"
    for path in sorted(keys.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    done = run_process(kz, "serve")
    assert done.returncode == NodeFilesMissing.exit_code, done.stderr
    line = one_line(done.stdout + done.stderr)
    assert "kz-mia" in line and "key" in line


def test_relay_without_its_directories_says_so(kz: Path) -> None:
    with_setting(kz, "directory_dir", '"no-directories"')
    done = run_process(kz, "relay")
    assert done.returncode == NodeFilesMissing.exit_code, done.stderr
    assert "directory_dir" in one_line(done.stdout + done.stderr)


def test_the_heads_come_from_the_revision_files_as_alembic_reads_them() -> None:
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    assert migration_heads() == frozenset(ScriptDirectory.from_config(config).get_heads())


def test_an_unexpected_error_is_one_line_without_its_text(
    kz: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug's message and traceback may quote what it failed on: only its class is shown,
    and Typer's tracebacks with local variables are off."""

    def planted(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("Aram Hovhannisyan AM1234567")

    monkeypatch.setattr(exchange_cli, "node_from", planted)
    code, output = migrex(kz, "outbox", "list")
    assert code == 1
    line = one_line(output)
    assert "RuntimeError" in line and "Hovhannisyan" not in output
    assert app.pretty_exceptions_show_locals is False
    assert app.pretty_exceptions_enable is False
