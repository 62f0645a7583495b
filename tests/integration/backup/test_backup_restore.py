"""`migrex backup` and `migrex restore`: a consistent, encrypted copy of the database, the
keys and the configuration, restored only whole, only with the operator's key, and never over
a node that holds data."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from backup_steps import (
    config_of,
    fresh_database,
    fresh_settings,
    operator_key,
    restore,
    restored_node,
    take_backup,
    traffic,
)
from casework_steps import now
from migrex.audit.merkle import root_at
from migrex.audit.store import SqlNodeStore, read_head
from migrex.audit.tables import AuditRecovery
from migrex.backup.encryption import BackupRefused
from migrex.backup.service import RestoreTargetInUse
from migrex.cli import app
from migrex.errors import EXIT_CODES
from migrex.node import Node
from migrex.schema import metadata
from nodes import Pair


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


def test_restore_without_the_operators_key_is_refused(pair: Pair, tmp_path: Path) -> None:
    _, public = operator_key(tmp_path)
    someone_else, _ = operator_key(tmp_path / "other" if (tmp_path / "other").mkdir() is None
                                   else tmp_path)  # fmt: skip
    backup = tmp_path / "kz.backup"
    take_backup(pair.kz, backup, public)
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
