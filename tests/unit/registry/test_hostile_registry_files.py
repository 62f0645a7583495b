"""Hostile registry files (issue 11, item 9): a 100 MB CSV field was refused with an unclear
Arrow message after taking about a gigabyte. It is now refused at the first oversized field,
with its line, in bounded memory; so are long quoted fields and long Parquet cells."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from memory import peak_growth
from migrex.errors import ImportRejected
from migrex.registry.columns import COLUMNS, Kind
from migrex.registry.files import BLOCK_BYTES, MAX_FIELD_BYTES, read_registry_file

HEADER = ",".join(column.name for column in COLUMNS[Kind.PERSONS_PRESENT])
WIDTH = len(COLUMNS[Kind.PERSONS_PRESENT])


def _row(first: str) -> str:
    return ",".join([first, *["x"] * (WIDTH - 1)])


def test_a_100_mb_field_is_refused_early_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "persons.csv"
    with path.open("w", encoding="utf-8") as file:
        file.write(HEADER + "\n" + _row("KZ-1") + "\n" + _row("KZ-2") + "\n")
        for _ in range(100):
            file.write("A" * (1 << 20))
        file.write(",x\n")
    with peak_growth() as growth, pytest.raises(ImportRejected) as refused:
        read_registry_file(path, Kind.PERSONS_PRESENT)
    assert refused.value.detail == f"persons.csv has a field longer than {MAX_FIELD_BYTES} bytes"
    assert str(refused.value.problems[0]).startswith("line 4:")
    assert growth[0] < 50, growth


def test_a_long_quoted_field_with_commas_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "persons.csv"
    text = '"' + "a, " * (BLOCK_BYTES // 2) + '"'
    path.write_text(HEADER + "\n" + _row(text) + "\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as refused:
        read_registry_file(path, Kind.PERSONS_PRESENT)
    assert "longer than" in str(refused.value.problems[0]) or "longer than" in (
        refused.value.detail
    )


def test_a_quoted_field_over_the_cell_limit_is_named_by_column(tmp_path: Path) -> None:
    path = tmp_path / "persons.csv"
    text = '"' + "a, " * (MAX_FIELD_BYTES // 2) + '"'
    path.write_text(HEADER + "\n" + _row("KZ-1").replace("x", text, 1) + "\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match="field longer than") as refused:
        read_registry_file(path, Kind.PERSONS_PRESENT)
    assert refused.value.problems[0].where == "column surname"


def test_a_long_parquet_cell_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "persons.parquet"
    names = [column.name for column in COLUMNS[Kind.PERSONS_PRESENT]]
    cells = {name: ["x"] for name in names}
    cells["surname"] = ["A" * (MAX_FIELD_BYTES + 1)]
    pq.write_table(pa.table(cells), path)
    with pytest.raises(ImportRejected, match="field longer than"):
        read_registry_file(path, Kind.PERSONS_PRESENT)


def test_a_file_with_a_bom_and_a_normal_row_is_read(tmp_path: Path) -> None:
    path = tmp_path / "persons.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "\n" + _row("KZ-1") + "\n").encode())
    table = read_registry_file(path, Kind.PERSONS_PRESENT).table
    assert table.num_rows == 1 and table.column("record_id").to_pylist() == ["KZ-1"]
