"""Reading registry files (CSV or Parquet) into a table of text cells.

Every cell becomes text, whatever the file's own types, so that one set of checks applies to
both formats; surrounding whitespace is trimmed and empty cells become missing values.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from migrex.errors import ImportRejected, Problem
from migrex.registry.columns import COLUMNS, Kind

FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class RegistryFile:
    path: Path
    format: str
    sha256: str
    table: pa.Table  # every column is text; absent optional columns are filled with nulls

    def location(self, row: int) -> str:
        """How a person finds a row: CSV line numbers count the header as line 1."""
        return f"line {row + 2}" if self.format == "csv" else f"row {row + 1}"


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    raise ImportRejected(f"{path.name}: unknown file type; use .csv or .parquet")


def read_registry_file(path: Path, kind: Kind) -> RegistryFile:
    fmt = detect_format(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ImportRejected(f"cannot read {path}: {error.strerror}") from error
    table = _read_csv(path, raw) if fmt == "csv" else _read_parquet(path, raw)
    table = _conform(path, table, kind)
    return RegistryFile(path, fmt, hashlib.sha256(raw).hexdigest(), table)


def _read_csv(path: Path, raw: bytes) -> pa.Table:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ImportRejected(
            f"{path.name} is not UTF-8 text",
            [
                Problem(
                    f"line {line}",
                    f"byte 0x{raw[error.start]:02x} is not valid UTF-8; export the file as UTF-8",
                )
            ],
        ) from error
    if not text.strip():
        raise ImportRejected(f"{path.name} is empty")
    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))), [])
    names = [name.strip() for name in header]
    try:
        return pacsv.read_csv(
            pa.py_buffer(raw.removeprefix(b"\xef\xbb\xbf")),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as error:
        raise ImportRejected(
            f"{path.name} is not a well-formed CSV file", [Problem("", _arrow_reason(error))]
        ) from error


def _read_parquet(path: Path, raw: bytes) -> pa.Table:
    try:
        table = pq.read_table(pa.BufferReader(raw))
    except (pa.ArrowInvalid, OSError) as error:
        raise ImportRejected(
            f"{path.name} is not a readable Parquet file", [Problem("", _arrow_reason(error))]
        ) from error
    columns = []
    for field in table.schema:
        column = table.column(field.name)
        try:
            columns.append(column if pa.types.is_string(field.type) else column.cast(pa.string()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ImportRejected(
                f"{path.name}: column {field.name} has type {field.type}, not readable as text"
            ) from error
    return pa.table(columns, names=table.column_names)


def _conform(path: Path, table: pa.Table, kind: Kind) -> pa.Table:
    """Checks the header, then trims cells and fills absent optional columns."""
    expected = {column.name: column for column in COLUMNS[kind]}
    present = table.column_names
    problems = [
        Problem(f"column {name}", "required column is missing")
        for name, column in expected.items()
        if column.required and name not in present
    ]
    problems += [
        Problem(f"column {name}", f"not a column of the {kind} registry")
        for name in present
        if name not in expected
    ]
    problems += [
        Problem(f"column {name}", "appears more than once in the header")
        for name in sorted({name for name in present if present.count(name) > 1})
    ]
    if problems:
        raise ImportRejected(
            f"{path.name} does not have the columns of the {kind} registry", problems
        )
    columns = []
    for name in expected:
        if name in present:
            trimmed = pc.utf8_trim_whitespace(table.column(name))
            columns.append(pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed))
        else:
            columns.append(pa.nulls(table.num_rows, pa.string()))
    return pa.table(columns, names=list(expected))


def _arrow_reason(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
