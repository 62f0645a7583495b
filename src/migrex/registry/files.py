"""Reading registry files (CSV or Parquet) into a table of text cells.

Every cell becomes text, whatever the file's own types, so that one set of checks applies to
both formats; surrounding whitespace is trimmed and empty cells become missing values.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from migrex.errors import ImportRejected, Problem
from migrex.registry.columns import COLUMNS, Kind

FORMATS = ("csv", "parquet")
# Names, places and document numbers are tens of characters; a cell of 64 KiB is no register's.
MAX_FIELD_BYTES = 64 * 1024
# Arrow parses a CSV file in blocks; a row must fit in one.
BLOCK_BYTES = 1 << 20
SCAN_CHUNK = 1 << 20
BOM = b"\xef\xbb\xbf"
_FIELD_BREAK = re.compile(rb"[,\r\n]")


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
        if fmt == "csv":
            digest = _scan_csv(path)
            table = _read_csv(path)
        else:
            raw = path.read_bytes()
            digest, table = hashlib.sha256(raw).hexdigest(), _read_parquet(path, raw)
    except OSError as error:
        raise ImportRejected(f"cannot read {path}: {error.strerror}") from error
    table = _conform(path, table, kind)
    return RegistryFile(path, fmt, digest, table)


def _scan_csv(path: Path) -> str:
    """The file's SHA-256, once it is known to be UTF-8 with no field longer than
    `MAX_FIELD_BYTES`; read in chunks, so a hostile file is refused at its first bad byte
    without ever being held whole (a 100 MB field took a gigabyte and an unclear message)."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, run, empty = 1, 0, True
    with path.open("rb") as file:
        while chunk := file.read(SCAN_CHUNK):
            digest.update(chunk)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                _not_utf8(path, chunk, error, lines)
            # The longest stretch without a comma or line break lies inside one field.
            pieces = _FIELD_BREAK.split(chunk)
            for n, piece in enumerate(pieces):
                run = run + len(piece) if n == 0 else len(piece)
                if run > MAX_FIELD_BYTES:
                    at = lines + chunk.count(b"\n", 0, sum(len(p) + 1 for p in pieces[:n]))
                    raise ImportRejected(
                        f"{path.name} has a field longer than {MAX_FIELD_BYTES} bytes",
                        [Problem(f"line {at}", "no registry cell is this long; is this the "
                                 "right file, with commas between columns?")],
                    )  # fmt: skip
            lines += chunk.count(b"\n")
            empty = empty and not chunk.strip(b" \t\r\n\xef\xbb\xbf")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        _not_utf8(path, b"", error, lines)
    if empty:
        raise ImportRejected(f"{path.name} is empty")
    return digest.hexdigest()


def _not_utf8(path: Path, chunk: bytes, error: UnicodeDecodeError, lines: int) -> NoReturn:
    line = lines + chunk[: error.start].count(b"\n")
    bad = f"byte 0x{chunk[error.start]:02x}" if error.start < len(chunk) else "the last bytes"
    raise ImportRejected(
        f"{path.name} is not UTF-8 text",
        [Problem(f"line {line}", f"{bad} is not valid UTF-8; export the file as UTF-8")],
    ) from None


def _read_csv(path: Path) -> pa.Table:
    with path.open("rb") as file:
        head = file.read(MAX_FIELD_BYTES * 4)
        bom = len(BOM) if head.startswith(BOM) else 0
        first = head[bom:].split(b"\n", 1)[0].decode("utf-8", errors="replace")
        names = [name.strip() for name in next(csv.reader(io.StringIO(first)), [])]
        file.seek(bom)
        try:
            return pacsv.read_csv(
                file,
                read_options=pacsv.ReadOptions(
                    column_names=names, skip_rows=1, block_size=BLOCK_BYTES
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    strings_can_be_null=True,
                    null_values=[""],
                    quoted_strings_can_be_null=True,
                ),
            )
        except pa.ArrowInvalid as error:
            reason = _arrow_reason(error)
            if "straddling" in reason or "block" in reason:
                # A quoted field with commas or line breaks inside, longer than a block.
                reason = f"a row or quoted field is longer than {BLOCK_BYTES} bytes"
            raise ImportRejected(
                f"{path.name} is not a well-formed CSV file", [Problem("", reason)]
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
    for name in present:
        longest = pc.max(pc.binary_length(table.column(name))).as_py()
        if longest is not None and longest > MAX_FIELD_BYTES:
            raise ImportRejected(
                f"{path.name} has a field longer than {MAX_FIELD_BYTES} bytes",
                [Problem(f"column {name}", "no registry cell is this long")],
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
