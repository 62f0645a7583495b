"""Our copy of a transfer the unit never took whole is deleted once stale, and logged as an
erasure; a copy still being sent stays."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

from fake_unit_of_work import FakeUnitOfWork
from migrex.audit.leaves import LeafKind
from migrex.linkage.party import OUTGOING, forget_stale_transfers
from migrex.linkage.unit import KEEP


def _transfer(data_dir: Path, run: str, age_seconds: float) -> Path:
    directory = data_dir / OUTGOING / run
    directory.mkdir(parents=True)
    (directory / "opening.jws").write_bytes(b"x")
    (directory / "chunk-00000000.bin").write_bytes(b"y" * 100)
    stamp = time.time() - age_seconds
    for path in [directory, *directory.iterdir()]:
        os.utime(path, (stamp, stamp))
    return directory


def test_a_stale_copy_is_deleted_and_logged_a_fresh_one_stays(tmp_path: Path) -> None:
    stale = _transfer(tmp_path, "01a24b00-0000-7000-8000-000000000001", KEEP.total_seconds() + 60)
    fresh = _transfer(tmp_path, "01a24b00-0000-7000-8000-000000000002", 60)
    uow = FakeUnitOfWork()
    assert forget_stale_transfers(uow, tmp_path, datetime.now(UTC)) == 1
    assert not stale.exists() and fresh.exists()
    [leaf] = uow.recorded
    assert leaf.kind == LeafKind.ERASURE and stale.name in (leaf.reference or "")
    assert uow.commits == 1
    # Nothing stale: nothing done, nothing committed.
    again = FakeUnitOfWork()
    assert forget_stale_transfers(again, tmp_path, datetime.now(UTC)) == 0
    assert again.recorded == [] and again.commits == 0
