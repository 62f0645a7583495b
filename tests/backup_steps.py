"""Steps the backup tests share: an operator key, a fresh database to restore into (a new
SQLite file, or a new PostgreSQL database when the node under test runs on PostgreSQL), and
the restored node with its own trust."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from casework_steps import context, deliver, now
from migrex.backup.encryption import write_key_pair
from migrex.backup.service import create_backup, restore_backup
from migrex.bench.twonodes import postgres_databases
from migrex.casework.service import OpenRequest, open_request
from migrex.exchange.trust import Trust, load_trust
from migrex.node import Node
from migrex.settings import Settings, load_settings
from nodes import Pair

POSTGRES_ADMIN_URL = os.environ.get(
    "MIGREX_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
INQUIRY = {
    "purpose": "legal-status-of-stay",
    "legal_basis": "Law of the Republic of Armenia on Foreigners, Article 12, part 3",
    "persons": [{"citizenship": "ARM", "document_number": "AM1234567"}],
    "requested_fields": ["surname_latin"],
}


def postgres_server() -> str:
    """The test server's admin URL; skips the test when the server does not answer."""
    engine = sa.create_engine(POSTGRES_ADMIN_URL)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is unreachable at {POSTGRES_ADMIN_URL}: {error}")
        pytest.skip(f"PostgreSQL is unreachable at {POSTGRES_ADMIN_URL}")
    finally:
        engine.dispose()
    return POSTGRES_ADMIN_URL


def traffic(pair: Pair) -> None:
    """Armenia asks Kazakhstan something, and Kazakhstan's receipt comes back."""
    with pair.am.unit_of_work() as uow:
        request = OpenRequest("kz-am-2024", "am-mcs", "kz-mia", "person-inquiry", INQUIRY, "a:b")
        open_request(uow, context(pair.am), request, now())
    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)


def operator_key(folder: Path) -> tuple[Path, Path]:
    """(private, public) operator key files."""
    private = folder / "operator.key"
    public, _ = write_key_pair(private)
    return private, public


def config_of(node: Node) -> Path:
    return node.settings.data_dir.parent / "node.toml"


def take_backup(node: Node, target: Path, public: Path) -> int:
    """Back `node` up to `target`; returns the audit log's size in the backup."""
    manifest, _ = create_backup(node, config_of(node), target, public, actor="cli:test",
                                now=datetime.now(UTC))  # fmt: skip
    return manifest.audit_size


@contextmanager
def fresh_database(like: str, folder: Path) -> Iterator[str]:
    """An empty database of the same kind as `like`."""
    if like.startswith("sqlite"):
        yield f"sqlite:///{folder / 'restored.db'}"
        return
    with postgres_databases(POSTGRES_ADMIN_URL, 1) as [url]:
        yield url


def fresh_settings(node: Node, database_url: str, folder: Path) -> Settings:
    """The node's configuration, pointed at a new database and a new key folder."""
    return load_settings(config_of(node), database_url=database_url, key_dir=folder / "keys")


def restore(settings: Settings, source: Path, private: Path, *, force: bool = False) -> None:
    restore_backup(settings, source, private, force=force, actor="cli:test",
                   now=datetime.now(UTC))  # fmt: skip


def restored_node(settings: Settings) -> tuple[Node, Trust]:
    node = Node(settings)
    return node, load_trust(settings, node.agreements)
