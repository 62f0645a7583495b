"""`migrex backup` and `migrex restore`: a consistent, encrypted copy of the database, the
keys and the configuration, restored only whole, only with the operator's key, and never over
a node that holds data."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

import migrated
from backup_steps import (
    config_of,
    fresh_database,
    fresh_settings,
    operator_key,
    postgres_server,
    restore,
    restored_node,
    take_backup,
    traffic,
)
from casework_steps import now
from migrex.audit.merkle import root_at
from migrex.audit.store import SqlNodeStore, read_head
from migrex.audit.tables import AuditRecovery
from migrex.backup import archive, database, service
from migrex.backup.encryption import BackupRefused
from migrex.backup.service import RestoreTargetInUse, restore_backup
from migrex.cli import app
from migrex.context import open_node
from migrex.demo.workspace import Workspace
from migrex.errors import EXIT_CODES
from migrex.exchange.processes import free_port
from migrex.exchange.readiness import checked_runtime
from migrex.node import Node
from migrex.schema import metadata
from migrex.settings import load_settings
from migrex.web.cli import node_listeners
from nodes import AGREEMENT_FILE, Pair


def _rows(node: Node) -> dict[str, int]:
    with node.unit_of_work() as uow:
        return {t.name: uow.session.scalar(select(func.count()).select_from(t)) or 0
                for t in metadata.sorted_tables}  # fmt: skip


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}  # fmt: skip


def test_a_restore_gives_back_the_database_and_every_key(pair: Pair, tmp_path: Path,
                                                         database_url: str) -> None:  # fmt: skip
    traffic(pair)
    traffic(pair)
    private, public = operator_key(tmp_path)
    backup = tmp_path / "am.backup"
    size = take_backup(pair.am, backup, public)
    before = _rows(pair.am)
    with pair.am.unit_of_work() as uow:
        head = read_head(uow.session)
    assert head.size == size + 1  # the backup itself is an administration entry
    with fresh_database(database_url, tmp_path) as url:
        settings = fresh_settings(pair.am, url, tmp_path / "restored")
        restore(settings, backup, private)
        node, _ = restored_node(settings)
        try:
            after = _rows(node)
            with node.unit_of_work() as uow:
                restored_head = read_head(uow.session)
                [mark] = uow.session.scalars(select(AuditRecovery)).all()
        finally:
            node.close()
    # Every row as it was, plus the restore's own administration entry in the log.
    differing = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    assert set(differing) <= {"audit_leaves", "audit_nodes", "audit_recoveries"}, differing
    assert restored_head.size == size + 1
    assert (mark.restored_size, mark.restored_root) == (size, _root_at(pair.am, size))
    assert _files(settings.resolved_key_dir) == _files(pair.am.settings.resolved_key_dir)
    assert {p.stat().st_mode & 0o777 for p in settings.resolved_key_dir.rglob("*")
            if p.is_file()} == {0o600}  # fmt: skip
    assert (settings.data_dir / "restored-config").is_dir()


def _root_at(node: Node, size: int) -> bytes:
    with node.unit_of_work() as uow:
        return root_at(SqlNodeStore(uow.session), size)


def test_a_backup_changed_by_one_byte_is_refused_and_nothing_is_written(
    pair: Pair, tmp_path: Path, database_url: str
) -> None:
    private, public = operator_key(tmp_path)
    backup = tmp_path / "am.backup"
    take_backup(pair.am, backup, public)
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0x20
    backup.write_bytes(bytes(data))
    with fresh_database(database_url, tmp_path) as url:
        settings = fresh_settings(pair.am, url, tmp_path / "restored")
        with pytest.raises(BackupRefused, match="altered or damaged"):
            restore(settings, backup, private)
        assert not settings.resolved_key_dir.exists()
        node = Node(settings)
        try:
            with node.engine.connect() as connection:
                assert not node.engine.dialect.get_table_names(connection)
        finally:
            node.close()


def _backup_and_another_key(pair: Pair, tmp_path: Path) -> tuple[Path, Path]:
    """A backup of Kazakhstan's node, and the private key of an operator it is not for."""
    _, public = operator_key(tmp_path)
    (tmp_path / "other").mkdir()
    someone_else, _ = operator_key(tmp_path / "other")
    backup = tmp_path / "kz.backup"
    take_backup(pair.kz, backup, public)
    return backup, someone_else


def test_restore_without_the_operators_key_is_refused(pair: Pair, tmp_path: Path) -> None:
    backup, someone_else = _backup_and_another_key(pair, tmp_path)
    settings = fresh_settings(pair.kz, f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "restored")
    with pytest.raises(BackupRefused, match="another operator key"):
        restore(settings, backup, someone_else)


def test_restore_over_a_live_node_is_refused_unless_forced(pair: Pair, tmp_path: Path) -> None:
    traffic(pair)
    private, public = operator_key(tmp_path)
    backup = tmp_path / "kz.backup"
    take_backup(pair.kz, backup, public)
    before = _rows(pair.kz)
    with pytest.raises(RestoreTargetInUse):
        restore(pair.kz.settings, backup, private)
    assert _rows(pair.kz) == before
    restore(pair.kz.settings, backup, private, force=True)
    aside = list(pair.kz.settings.data_dir.glob("keys.before-restore-*"))
    assert len(aside) == 1 and _files(aside[0]) == _files(pair.kz.settings.resolved_key_dir)


def test_a_forced_restore_that_fails_leaves_the_node_as_it_was(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    traffic(pair)
    private, public = operator_key(tmp_path)
    backup = tmp_path / "kz.backup"
    take_backup(pair.kz, backup, public)
    traffic(pair)  # the node holds more than the backup: what a failed restore must keep
    before, keys = _rows(pair.kz), _files(pair.kz.settings.resolved_key_dir)
    loaded = database.load

    def load_then_fail(*args: Any, **kwargs: Any) -> dict[str, int]:
        loaded(*args, **kwargs)  # every row of the backup inserted, then the disk fills
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(database, "load", load_then_fail)
    with pytest.raises(OSError, match="No space left"):
        restore(pair.kz.settings, backup, private, force=True)
    assert _rows(pair.kz) == before and before["audit_leaves"] > 0
    assert _files(pair.kz.settings.resolved_key_dir) == keys
    assert not list(pair.kz.settings.data_dir.glob("keys.before-restore-*"))


@pytest.mark.parametrize("failing", ["staging", "writing"])
def test_a_backup_the_disk_cannot_take_is_said_and_leaves_nothing(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    key = tmp_path / "operator.key"
    runner = CliRunner()
    assert runner.invoke(app, ["backup", "keygen", "--out", str(key)]).exit_code == 0
    folder = tmp_path / "backups"
    folder.mkdir()

    def full(*_: Any, **__: Any) -> None:
        raise OSError(28, "No space left on device")

    where = (service.shutil, "copytree") if failing == "staging" else (archive.os, "fsync")
    monkeypatch.setattr(*where, full)
    made = runner.invoke(app, ["--config", str(config_of(pair.kz)), "backup", "--to",
                               str(folder / "kz.backup"), "--recipient", f"{key}.pub"])  # fmt: skip
    assert made.exit_code == EXIT_CODES["BackupNotWritten"], made.output
    assert "No space left on device" in made.output and "Traceback" not in made.output
    assert list(folder.iterdir()) == []


def test_the_commands_back_up_and_restore_with_their_exit_codes(
    pair: Pair, tmp_path: Path, database_url: str
) -> None:
    runner = CliRunner()
    key = tmp_path / "operator.key"
    assert runner.invoke(app, ["backup", "keygen", "--out", str(key)]).exit_code == 0
    backup = tmp_path / "am.backup"
    config = str(config_of(pair.am))
    made = runner.invoke(app, ["--config", config, "backup", "--to", str(backup),
                               "--recipient", f"{key}.pub"])  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "audit log" in " ".join(made.output.split()) and "Traceback" not in made.output
    over_live = runner.invoke(app, ["--config", config, "restore", "--from", str(backup),
                                    "--identity", str(key)])  # fmt: skip
    assert over_live.exit_code == EXIT_CODES["RestoreTargetInUse"], over_live.output
    backup.write_bytes(backup.read_bytes()[:-1])
    cut = runner.invoke(app, ["--config", config, "restore", "--from", str(backup),
                              "--identity", str(key), "--force"])  # fmt: skip
    assert cut.exit_code == EXIT_CODES["BackupRefused"], cut.output
    assert "Traceback" not in cut.output
    assert now()  # the node is untouched: it still answers
    assert _rows(pair.am)["audit_leaves"] > 0


def _node_with_officers_tls(root: Path) -> Node:
    """A KZ node as `pki demo` makes it with an officers' port (its listener over TLS),
    migrated, whose directory folder also keeps a version in its history."""
    workspace = Workspace(root)
    workspace.create({"KZ": [AGREEMENT_FILE], "AM": [AGREEMENT_FILE]}, {"kz-am-2024": ("KZ", "AM")},
                     {"KZ": free_port(), "AM": free_port()},
                     officer_ports={"KZ": free_port()})  # fmt: skip
    node = Node(load_settings(workspace.node_config("KZ")))
    directory = node.settings.directory_dir
    assert directory is not None and node.settings.officer_tls_cert is not None
    kept = directory / "history" / "kz-am-2024" / "00000001.json"
    kept.parent.mkdir(parents=True)
    shutil.copyfile(directory / "kz-am-2024.json", kept)
    migrated.upgrade(node.engine)
    return node


def test_the_restored_configuration_runs_the_restored_node_as_it_is(tmp_path: Path) -> None:
    node = _node_with_officers_tls(tmp_path / "ws")
    try:
        private, public = operator_key(tmp_path)
        take_backup(node, tmp_path / "kz.backup", public)
    finally:
        node.close()
    target = tmp_path / "restore2" / "var"
    settings = load_settings(config_of(node), data_dir=target,
                             database_url=f"sqlite:///{target / 'node.db'}")  # fmt: skip
    restored = restore_backup(settings, tmp_path / "kz.backup", private, force=False,
                              actor="cli:test", now=now())  # fmt: skip
    assert restored.node_file == target / "restored-config" / "node.toml"
    restored_node = open_node(restored.node_file)  # what every command checks first
    try:
        runtime = checked_runtime(restored_node, now())  # and `serve`, before it listens
        try:
            listeners = node_listeners(restored_node, runtime)
        finally:
            runtime.stop(timeout=1)
        assert [listener.name for listener in listeners][-1] == "officers"
        assert restored_node.settings.data_dir == target.resolve()
        officers_cert = restored_node.settings.officer_tls_cert
        assert officers_cert == target.resolve() / "restored-config" / "pki" / "officers.pem"
        assert officers_cert.read_bytes() == node.settings.officer_tls_cert.read_bytes()  # type: ignore[union-attr]
        history = target / "restored-config" / "directory" / "history" / "kz-am-2024"
        assert (history / "00000001.json").is_file()
    finally:
        restored_node.close()


def test_a_refused_restore_creates_nothing(pair: Pair, tmp_path: Path) -> None:
    backup, someone_else = _backup_and_another_key(pair, tmp_path)
    target = tmp_path / "restore2"
    settings = load_settings(config_of(pair.kz), data_dir=target / "var",
                             database_url=f"sqlite:///{target / 'var' / 'node.db'}")  # fmt: skip
    with pytest.raises(BackupRefused, match="another operator key"):
        restore(settings, backup, someone_else)
    assert not target.exists()
    target.mkdir()  # an empty folder for the node's data, made by the operator, is kept
    with pytest.raises(BackupRefused, match="another operator key"):
        restore(load_settings(config_of(pair.kz), data_dir=target,
                              database_url=f"sqlite:///{target / 'node.db'}"),
                backup, someone_else)  # fmt: skip
    assert target.is_dir() and not any(target.iterdir())


@pytest.mark.postgres
def test_restore_into_a_postgresql_database_that_does_not_exist_says_to_create_it(
    pair: Pair, tmp_path: Path
) -> None:
    private, public = operator_key(tmp_path)
    backup = tmp_path / "kz.backup"
    take_backup(pair.kz, backup, public)
    missing = make_url(postgres_server()).set(database=f"bk_missing_{uuid.uuid4().hex[:10]}")
    target = tmp_path / "restore2" / "var"
    config = tmp_path / "restore2.toml"
    config.write_text(config_of(pair.kz).read_text(encoding="utf-8").replace(
        'data_dir = "var"', f'data_dir = "{target.as_posix()}"').replace(
        'database_url = ""',
        f'database_url = "{missing.render_as_string(hide_password=False)}"'),
        encoding="utf-8")  # fmt: skip
    result = CliRunner().invoke(app, ["--config", str(config), "restore", "--from", str(backup),
                                      "--identity", str(private)])  # fmt: skip
    assert result.exit_code == EXIT_CODES["DatabaseMissing"], result.output
    assert "does not exist: run `migrex db create`" in " ".join(result.output.split())
    assert not target.parent.exists()


def test_backup_and_keygen_refuse_to_overwrite_make_folders_or_read_missing_keys(
    pair: Pair, tmp_path: Path
) -> None:
    runner = CliRunner()
    key = tmp_path / "operator.key"
    assert runner.invoke(app, ["backup", "keygen", "--out", str(key)]).exit_code == 0
    again = runner.invoke(app, ["backup", "keygen", "--out", str(key)])
    assert again.exit_code == EXIT_CODES["Conflict"], again.output
    assert "exists" in again.output
    config = str(config_of(pair.kz))

    def backup(to: Path, recipient: Path) -> Result:
        return runner.invoke(app, ["--config", config, "backup", "--to", str(to),
                                   "--recipient", str(recipient)])  # fmt: skip

    no_folder = backup(tmp_path / "nonexist" / "kz.backup", Path(f"{key}.pub"))
    assert no_folder.exit_code == EXIT_CODES["NotFound"], no_folder.output
    assert "does not exist" in no_folder.output and len(no_folder.output.splitlines()) == 1
    assert not (tmp_path / "nonexist").exists()
    existing = tmp_path / "kz.backup"
    existing.write_bytes(b"kept")
    over = backup(existing, Path(f"{key}.pub"))
    assert over.exit_code == EXIT_CODES["Conflict"], over.output
    assert existing.read_bytes() == b"kept"
    no_key = backup(tmp_path / "new.backup", tmp_path / "operator.pub")
    assert no_key.exit_code == EXIT_CODES["NotFound"], no_key.output
    assert "operator.pub does not exist" in " ".join(no_key.output.split())
    assert not (tmp_path / "new.backup").exists()
