"""Taking a backup of a node and restoring one into a fresh database and key folder.

The database snapshot is taken first and the key folder copied after it, so every key a row
of the snapshot refers to is in the backup (a key rotated in between is there too). Both use
cases stage their files in a private temporary folder (mode 0700) beside their target, and
remove it when done.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from migrex import migrate
from migrex.audit import events
from migrex.audit.pending import append_recorded, record
from migrex.audit.store import read_head
from migrex.audit.tables import AuditRecovery
from migrex.backup import database
from migrex.backup.archive import open_archive, staged_files, write_archive
from migrex.backup.configuration import CONFIG, restore_configuration, stage_configuration
from migrex.backup.encryption import (
    BackupNotWritten,
    BackupRefused,
    fingerprint,
    read_private_key,
    read_public_key,
)
from migrex.backup.manifest import Manifest
from migrex.checks import check_database
from migrex.db import make_engine
from migrex.errors import Conflict, MigrexError, NotFound
from migrex.node import Node
from migrex.settings import Settings

KEYS = "keys"
RESTORED_CONFIG = "restored-config"


class RestoreTargetInUse(MigrexError):
    type_slug = "restore-target-in-use"
    title = "The database or key folder to restore into is not empty"
    status = 409


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    key_dir: Path
    config_dir: Path
    node_file: Path | None
    """The restored node's TOML file in `config_dir` (None: the backup's predates it)."""
    set_aside: Path | None
    """Where the key folder that was replaced (--force) was moved to."""


def _stage_keys(key_dir: Path, folder: Path) -> None:
    if not key_dir.is_dir() or not any(key_dir.iterdir()):
        raise BackupRefused(f"no key folder at {key_dir}: a backup without keys cannot restore")
    shutil.copytree(key_dir, folder / KEYS, symlinks=False)


def _check_backup_target(target: Path) -> None:
    """A backup is written only as a new file in a folder that exists: it never replaces a
    file, and a folder a typo names is not made (not even at the filesystem's root)."""
    if target.exists():
        raise Conflict(f"{target} exists: a backup never overwrites a file; give a new name")
    if not target.parent.is_dir():
        raise NotFound(f"the folder {target.parent} does not exist: create it, or give "
                       "--to a file in a folder that exists")  # fmt: skip


@contextmanager
def _written_or_said(target: Path) -> Iterator[None]:
    """A backup that cannot be staged or written (a full disk, a folder it may not write
    in) is said to be so; the staging folder goes with the `TemporaryDirectory`."""
    try:
        yield
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        raise BackupNotWritten(
            f"the backup {target} was not written: {error.strerror or type(error).__name__}{where}"
        ) from None


def create_backup(
    node: Node, config: Path | None, target: Path, recipient_key: Path, *, actor: str,
    now: datetime,
) -> tuple[Manifest, int]:  # fmt: skip
    """Write an encrypted backup of `node` to `target`; returns its manifest and size. The
    backup is an administration entry in the audit log (it holds what the node holds)."""
    _check_backup_target(target)
    recipient = read_public_key(recipient_key)
    settings = node.settings
    with (
        _written_or_said(target),
        tempfile.TemporaryDirectory(prefix=".migrex-backup-", dir=target.parent) as staging,
    ):
        folder = Path(staging)
        snapshot = database.snapshot(node.engine, folder)
        _stage_keys(settings.resolved_key_dir, folder)
        configuration = stage_configuration(settings, config, folder)
        manifest = Manifest(
            node_id=settings.node_id, state=settings.state, created_at=now,
            migration_head=snapshot.revision, database_dialect=snapshot.dialect,
            database_format=snapshot.format, audit_size=snapshot.audit_size,
            audit_root=snapshot.audit_root, rows=snapshot.rows, files=staged_files(folder),
            config_files=configuration.files, config_places=configuration.places,
            operator_key=fingerprint(recipient),
        )  # fmt: skip
        size = write_archive(folder, manifest, target, recipient)
    with node.unit_of_work() as uow:
        entry = events.administration(at=now, actor=actor, action="backup-taken",
                                      target=f"audit-size-{snapshot.audit_size}")  # fmt: skip
        record(uow.session, entry)
        uow.commit()
    return manifest, size


# ---------------------------------------------------------------- restore


def _key_dir_in_use(key_dir: Path) -> bool:
    return key_dir.exists() and (not key_dir.is_dir() or any(key_dir.iterdir()))


def _check_target(settings: Settings, manifest: Manifest, in_use: dict[str, int],
                  force: bool) -> None:  # fmt: skip
    if (manifest.node_id, manifest.state) != (settings.node_id, settings.state):
        raise BackupRefused(
            f"the backup is of node {manifest.node_id} ({manifest.state}); this configuration "
            f"is node {settings.node_id} ({settings.state})"
        )
    if manifest.database_format != "sqlite-file" and manifest.migration_head != (
        migrate.head_revision()
    ):
        raise BackupRefused(
            f"the backup's schema is {manifest.migration_head}, this migrex's is "
            f"{migrate.head_revision()}: restore with the version that made it, then upgrade"
        )
    key_dir = settings.resolved_key_dir
    if force:
        return
    if in_use:
        raise RestoreTargetInUse(
            f"the database already holds a node ({sum(in_use.values())} rows in "
            f"{len(in_use)} tables): restore into an empty one, or give --force to replace it"
        )
    if _key_dir_in_use(key_dir):
        raise RestoreTargetInUse(
            f"the key folder {key_dir} is not empty: restore into a new one, or give --force"
        )


@contextmanager
def _keys_placed(staged: Path, key_dir: Path, now: datetime) -> Iterator[Path | None]:
    """Put the backup's keys at `key_dir` (folders 0700, files 0600), the folder there
    before moved aside; yields where it went, and puts it back if the block fails."""
    aside = None
    if key_dir.exists():
        aside = key_dir.with_name(f"{key_dir.name}.before-restore-{now:%Y%m%dT%H%M%S}")
        key_dir.rename(aside)
    try:
        key_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staged, key_dir)
        for folder, dirs, files in os.walk(key_dir):
            Path(folder).chmod(0o700)
            for name in files:
                (Path(folder) / name).chmod(0o600)
            del dirs  # walked by os.walk itself
        yield aside
    except BaseException:
        shutil.rmtree(key_dir, ignore_errors=True)
        if aside is not None:
            aside.rename(key_dir)
        raise


def restore_backup(
    settings: Settings, source: Path, identity_key: Path, *, force: bool, actor: str,
    now: datetime,
) -> Restored:  # fmt: skip
    """Check the backup whole, then load it into the node's database and key folder, which
    must be empty unless `force`, and write its configuration to run the restored node. The
    log is marked restored (`AuditRecovery`): witnessing declares the recovery to the
    partners' witnesses before it shows them a checkpoint. A refused restore leaves no
    folder or file it made."""
    if not source.exists():
        raise NotFound(f"the backup {source} does not exist")
    identity = read_private_key(identity_key)
    _check_database(settings)
    with _undone_if_refused(settings):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url)
        try:
            with tempfile.TemporaryDirectory(prefix=".migrex-restore-",
                                             dir=settings.data_dir) as tmp:  # fmt: skip
                folder = Path(tmp)
                manifest = open_archive(source, identity, folder)
                content = folder / "content"
                _check_target(settings, manifest, database.rows_in_use(engine), force)
                migrate.upgrade(engine)
                # The keys and the rows are replaced together: a load or a commit that fails
                # puts the keys back, and the rows (emptied in the load's own transaction)
                # stay as they were, not an empty database.
                with (
                    _keys_placed(content / KEYS, settings.resolved_key_dir, now) as aside,
                    engine.begin() as connection,
                ):
                    if force:
                        database.empty(connection)
                    database.load(content, manifest.database_format, connection)
                    _mark_restored(Session(bind=connection), manifest, actor, now)
                config_dir = settings.data_dir / RESTORED_CONFIG
                shutil.rmtree(config_dir, ignore_errors=True)
                node_file = None
                if (content / CONFIG).is_dir():
                    node_file = restore_configuration(content / CONFIG, manifest.config_places,
                                                      manifest.config_files, settings,
                                                      config_dir)  # fmt: skip
        finally:
            engine.dispose()
    return Restored(manifest, settings.resolved_key_dir, config_dir, node_file, aside)


def _check_database(settings: Settings) -> None:
    """A PostgreSQL database must exist before a restore (the server, not the restore,
    makes it), and answers as it does for every command; a SQLite file is made here."""
    if make_url(settings.resolved_database_url).get_backend_name() != "sqlite":
        check_database(settings, "exists")


def _first_missing(path: Path) -> Path | None:
    """The outermost of `path` and its parents that does not exist (None: `path` exists)."""
    missing = None
    for folder in (path, *path.parents):
        if folder.exists():
            return missing
        missing = folder
    return missing


@contextmanager
def _undone_if_refused(settings: Settings) -> Iterator[None]:
    """Removes, when the restore fails, the folders and the SQLite file it made."""
    made: list[Path | None] = [_first_missing(settings.data_dir),
                               _first_missing(settings.resolved_key_dir)]  # fmt: skip
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database_file = Path(url.database)
        made += [
            file
            for suffix in ("", "-wal", "-shm", "-journal")
            if not (file := database_file.with_name(database_file.name + suffix)).exists()
        ]
    try:
        yield
    except BaseException:
        for path in filter(None, made):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise


def _mark_restored(session: Session, manifest: Manifest, actor: str, now: datetime) -> None:
    head = read_head(session)
    session.add(AuditRecovery(restored_size=head.size, restored_root=head.root_hash,
                              restored_at=now, backup_created_at=manifest.created_at))  # fmt: skip
    entry = events.administration(at=now, actor=actor, action="restored-from-backup",
                                  target=f"audit-size-{manifest.audit_size}")  # fmt: skip
    # This session rides on the restore's own transaction and is never committed itself,
    # so the entry is appended at once rather than at a commit.
    record(session, entry)
    append_recorded(session, now)
    session.flush()
    session.close()
