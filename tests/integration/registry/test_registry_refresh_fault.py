"""A snapshot import SIGKILLed while it writes leaves the register as it was: never half of
January and half of February (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

import migrex
from migrex.registry.bench import persons_present
from migrex.registry.tables import ImportBatch, PersonPresentRow, RecordVersion

RECORDS = 20_000


def _register(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(PersonPresentRow.record_id, PersonPresentRow.registration_address)
        )
        return {(key, address) for key, address in rows}


def _writing(engine: Engine, database_url: str, pid: int) -> bool:
    """Whether the import has begun writing: it holds the write lock of its transaction."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            held = connection.scalar(text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE c.relname = 'registry_import_batch' AND l.mode = 'RowExclusiveLock' "
                "AND a.application_name <> 'probe' AND l.pid <> pg_backend_pid()"
            ))  # fmt: skip
        return bool(held)
    probe = sqlite3.connect(make_url(database_url).database or "", timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")  # fails while another connection holds the write lock
        probe.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


@pytest.mark.slow
def test_a_snapshot_killed_while_writing_changes_nothing(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    numbers = np.arange(1, RECORDS + 1)
    january, february = tmp_path / "persons_present.parquet", tmp_path / "february.parquet"
    pq.write_table(persons_present(numbers, lambda i: f"Almaty, Abay avenue {i}"), january)
    # Every address changes, a tenth of the persons leave, a tenth arrive: a long write.
    kept = numbers[numbers % 10 != 0]
    arriving = np.arange(RECORDS + 1, RECORDS + 1 + RECORDS // 10)
    pq.write_table(persons_present(np.concatenate([kept, arriving]),
                                   lambda i: f"Astana, Kabanbay batyr {i}"), february)  # fmt: skip
    config = tmp_path / "node.toml"
    agreement = Path(__file__).parents[3] / "agreements" / "kz-am-2024.toml"
    config.write_text(f'[node]\nnode_id = "kz-node"\nstate = "KZ"\n'
                      f'database_url = "{database_url}"\ndata_dir = "{tmp_path.as_posix()}"\n'
                      f'agreements = ["{agreement.as_posix()}"]\n', encoding="utf-8")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(migrex.__file__).parents[1])}

    def migrex_cli(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "migrex", "--config", str(config), *args],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    assert migrex_cli("registry", "import", str(january)).wait(timeout=240) == 0
    before = _register(engine)
    with engine.connect() as connection:
        batches = connection.scalar(select(func.count()).select_from(ImportBatch))

    importing = migrex_cli("registry", "import", str(february), "--kind", "persons_present",
                           "--mode", "snapshot", "--max-removed", "100")  # fmt: skip
    deadline = time.monotonic() + 240
    while not _writing(engine, database_url, importing.pid):
        assert importing.poll() is None, "the import ended before it was seen writing"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.05)  # into the writes, well before the commit
    os.kill(importing.pid, signal.SIGKILL)
    importing.wait(timeout=30)

    assert _register(engine) == before
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ImportBatch)) == batches
        assert connection.scalar(select(func.count()).select_from(RecordVersion)) == 0
    # Run again, it completes: February is the register, January's versions are kept.
    again = migrex_cli("registry", "import", str(february), "--kind", "persons_present",
                       "--mode", "snapshot", "--max-removed", "100")  # fmt: skip
    assert again.wait(timeout=240) == 0
    after = _register(engine)
    assert len(after) == len(kept) + len(arriving)
    assert all(address.startswith("Astana") for _, address in after)
