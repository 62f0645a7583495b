"""Hostile registry files (issue 11, item 9): a 100 MB CSV field was refused with an unclear
Arrow message after taking about a gigabyte. It is now refused at the first oversized field,
with its line, in bounded memory; so are long quoted fields and long Parquet cells."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


_CELL = st.one_of(
    st.none(),
    st.text(alphabet=" \t\u00a0AaЖՀ,-", max_size=6),
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(_CELL, _CELL, _CELL), min_size=1, max_size=8),
    fmt=st.sampled_from(["csv", "parquet"]),
)
def test_reading_some_columns_gives_what_the_whole_read_gives_for_them(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str | None, ...]], fmt: str
) -> None:
    """An analysis reads only its columns: the cells must be the very ones a whole read
    gives (trimmed, an empty or blank cell missing), in either format."""
    names = [column.name for column in COLUMNS[Kind.PERSONS_PRESENT]]
    cells = {name: ["x"] * len(rows) for name in names}
    for at, name in enumerate(("registration_address", "entry_point", "inviting_party")):
        cells[name] = [row[at] for row in rows]
    cells["record_id"] = [f"KZ-{i}" for i in range(len(rows))]
    path = tmp_path_factory.mktemp("subset") / f"persons.{fmt}"
    table = pa.table(cells, schema=pa.schema([(name, pa.string()) for name in names]))
    if fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    wanted = ("record_id", "registration_address", "inviting_party", "document_issue_date")
    whole = read_registry_file(path, Kind.PERSONS_PRESENT)
    some = read_registry_file(path, Kind.PERSONS_PRESENT, wanted)
    assert some.table.column_names == [n for n in names if n in wanted]
    for name in some.table.column_names:
        assert some.table[name].to_pylist() == whole.table[name].to_pylist(), name
    assert some.sha256 == whole.sha256
    address = whole.table["registration_address"].to_pylist()
    expected = [c.strip() or None if c is not None else None for c, _, _ in rows]
    if fmt == "csv":  # CSV cannot tell an empty cell from a missing one, nor keep edge blanks
        expected = [None if c is None or not c.strip() else c.strip() for c, _, _ in rows]
    assert address == expected
