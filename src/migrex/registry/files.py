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
from collections.abc import Collection
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


def read_registry_file(
    path: Path, kind: Kind, columns: Collection[str] | None = None
) -> RegistryFile:
    """The file's table, checked against the register's columns. With `columns`, only those
    are read and kept (the header is still checked whole): an analysis that reads three
    columns of a register of millions then never holds the names and documents, not even
    for a moment."""
    fmt = detect_format(path)
    try:
        if fmt == "csv":
            digest = _scan_csv(path)
            names, table = _read_csv(path, columns)
        elif columns is None:
            # The digest of the very bytes read: a file rewritten meanwhile cannot slip in.
            content = path.read_bytes()
            digest = hashlib.sha256(content).hexdigest()
            names, table = _read_parquet(pa.BufferReader(content), path, None)
            del content
        else:
            digest = _sha256(path)
            names, table = _read_parquet(path, path, columns)
    except OSError as error:
        raise ImportRejected(f"cannot read {path}: {error.strerror}") from error
    # Column by column, each let go once cleaned: a register of millions is never held twice.
    raw = dict(zip(table.column_names, table.columns, strict=True))
    rows = table.num_rows
    del table
    return RegistryFile(path, fmt, digest, _conform(path, raw, rows, kind, names, columns))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(SCAN_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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


def _read_csv(path: Path, columns: Collection[str] | None) -> tuple[list[str], pa.Table]:
    """The header's names, and the table of the wanted columns among them."""
    with path.open("rb") as file:
        head = file.read(MAX_FIELD_BYTES * 4)
        bom = len(BOM) if head.startswith(BOM) else 0
        first = head[bom:].split(b"\n", 1)[0].decode("utf-8", errors="replace")
        names = [name.strip() for name in next(csv.reader(io.StringIO(first)), [])]
        file.seek(bom)
        wanted = _wanted(names, columns)
        try:
            return names, pacsv.read_csv(
                file,
                read_options=pacsv.ReadOptions(
                    column_names=names, skip_rows=1, block_size=BLOCK_BYTES
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    strings_can_be_null=True,
                    null_values=[""],
                    quoted_strings_can_be_null=True,
                    include_columns=wanted or [],
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


def _wanted(names: list[str], columns: Collection[str] | None) -> list[str] | None:
    """The header's names to read, or None for all: a header naming a column twice is read
    whole, for `_conform` to refuse."""
    if columns is None or len(set(names)) < len(names):
        return None
    return [name for name in names if name in columns]


def _read_parquet(
    source: Path | pa.BufferReader, path: Path, columns: Collection[str] | None
) -> tuple[list[str], pa.Table]:
    """The schema's names, and the table of the wanted columns among them, as text."""
    try:
        file = pq.ParquetFile(source)
        names = file.schema_arrow.names
        table = file.read(columns=_wanted(names, columns))
    except (pa.ArrowInvalid, OSError) as error:
        raise ImportRejected(
            f"{path.name} is not a readable Parquet file", [Problem("", _arrow_reason(error))]
        ) from error
    texts = []
    for field in table.schema:
        column = table.column(field.name)
        try:
            texts.append(column if pa.types.is_string(field.type) else column.cast(pa.string()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ImportRejected(
                f"{path.name}: column {field.name} has type {field.type}, not readable as text"
            ) from error
    return names, pa.table(texts, names=table.column_names)


def _conform(  # noqa: PLR0917 - one reading's parts, each used once
    path: Path,
    raw: dict[str, pa.ChunkedArray],
    rows: int,
    kind: Kind,
    present: list[str],
    columns: Collection[str] | None = None,
) -> pa.Table:
    """Checks the header (`present`, the file's column names), then trims the cells of the
    wanted columns and fills absent optional ones. Takes the columns out of `raw` as it
    cleans them."""
    expected = {column.name: column for column in COLUMNS[kind]}
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
    for name, column in raw.items():
        longest = pc.max(pc.binary_length(column)).as_py()
        if longest is not None and longest > MAX_FIELD_BYTES:
            raise ImportRejected(
                f"{path.name} has a field longer than {MAX_FIELD_BYTES} bytes",
                [Problem(f"column {name}", "no registry cell is this long")],
            )
    kept = [name for name in expected if columns is None or name in columns]
    cells = []
    for name in kept:
        if name in raw:
            cells.append(_cleaned(raw.pop(name)))
        else:
            cells.append(pa.chunked_array([pa.nulls(rows, pa.string())]))
    return pa.table(cells, names=kept)


def _cleaned(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Cells trimmed, an empty one missing."""
    return pa.chunked_array([_cleaned_chunk(chunk) for chunk in column.chunks], pa.string())


def _cleaned_chunk(chunk: pa.Array) -> pa.Array:
    trimmed = pc.utf8_trim_whitespace(chunk)
    if trimmed.offset:
        return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    # An empty cell is missing: only the validity bitmap changes, the text is not copied.
    filled = pc.fill_null(pc.greater(pc.binary_length(trimmed), 0), False)
    return pa.Array.from_buffers(
        pa.string(), len(trimmed), [filled.buffers()[1], *trimmed.buffers()[1:]]
    )


def _arrow_reason(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
