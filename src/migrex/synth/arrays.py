"""Column building blocks: day numbers, fixed-width strings, and frames of columns.

Dates are int32 day numbers (days since 1970-01-01) while generating, with `NO_DATE` for a
missing one, and become Arrow date32 only when a registry table is assembled. Text is Arrow.
A frame is a dict of equally long columns; names starting with '_' are working columns that
never reach a registry file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from migrex.registry.columns import COLUMNS, Kind, Type

Days = npt.NDArray[np.int32]
Ints = npt.NDArray[np.int64]
Integers = npt.NDArray[np.integer[Any]]  # day numbers or indices, whatever their width
Bools = npt.NDArray[np.bool_]
# A numpy array or an Arrow array (pyarrow ships no type information, so this is Any).
Column: TypeAlias = Any
Frame: TypeAlias = dict[str, Column]

NO_DATE = np.int32(np.iinfo(np.int32).min)
_DATE_COLUMNS = frozenset(c.name for cols in COLUMNS.values() for c in cols if c.type is Type.DATE)


def day(y: int, m: int, d: int) -> int:
    return (date(y, m, d) - date(1970, 1, 1)).days


# Every date is as seen on this fixed "today", so a seed always gives the same registries.
TODAY = day(2025, 12, 31)


def to_date(days: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + int(days))


def uniform_days(
    rng: np.random.Generator, low: Integers | int, high: Integers | int, n: int
) -> Days:
    """A uniform day in [low, high] (inclusive); high is raised to low where it is below."""
    lo = np.asarray(low, dtype=np.int64)
    hi = np.maximum(np.asarray(high, dtype=np.int64), lo)
    return (lo + np.floor(rng.random(n) * (hi - lo + 1))).astype(np.int32)


def ymd(days: Days) -> tuple[Ints, Ints, Ints]:
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    return year, month, (d - months).astype(np.int64) + 1


def add_years(days: Days, years: int) -> Days:
    """The same calendar day `years` later (29 February becomes 28 February)."""
    y, m, d = ymd(days)
    start = ((y + years - 1970) * 12 + m - 1).astype("datetime64[M]")
    length = ((start + 1).astype("datetime64[D]") - start.astype("datetime64[D]")).astype(np.int64)
    first = start.astype("datetime64[D]").astype(np.int64)
    return np.asarray(first + np.minimum(d, length) - 1, dtype=np.int32)


def birth_days(
    rng: np.random.Generator, age_years: npt.NDArray[np.float64], oldest: float = 95.0
) -> Days:
    """Birth days of people `age_years` old on TODAY (fractional ages spread over the year).

    Ages beyond `oldest` are redrawn uniformly rather than clipped: clipping would pile
    thousands of births onto one day, and an IIN has only 10,000 serials per birthday.
    """
    age = np.asarray(age_years, dtype=np.float64)
    wild = (age < 0) | (age > oldest)
    age = np.where(wild, rng.uniform(0, oldest, len(age)), age)
    return (TODAY - np.floor(age * 365.25)).astype(np.int32) - 1


def digits(values: Ints, width: int, prefix: str = "") -> pa.StringArray:
    """Zero-padded decimal strings, `prefix` then `width` digits, built as one buffer."""
    return codes([prefix], np.zeros(len(values), dtype=np.int64), values, width)


def codes(prefixes: Sequence[str], which: Ints, values: Ints, width: int) -> pa.StringArray:
    """Strings `prefixes[which] + digits(values)`; all prefixes must have the same length."""
    raw = [p.encode("ascii") for p in prefixes]
    if len({len(r) for r in raw}) != 1:
        raise ValueError("prefixes must have one length")
    plen = len(raw[0])
    n = len(values)
    row = plen + width
    buffer = np.empty((n, row), dtype=np.uint8)
    if plen:
        table = np.frombuffer(b"".join(raw), dtype=np.uint8).reshape(len(raw), plen)
        buffer[:, :plen] = table[which]
    rest = np.asarray(values, dtype=np.int64).copy()
    for position in range(row - 1, plen - 1, -1):
        buffer[:, position] = rest % 10 + 48
        rest //= 10
    offsets = np.arange(0, (n + 1) * row, row, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buffer.tobytes()))


def choose(rng: np.random.Generator, weights: Mapping[str, float], n: int) -> Ints:
    """Indices into `list(weights)` drawn with the (normalised) weights."""
    w = np.fromiter(weights.values(), dtype=np.float64)
    return rng.choice(len(w), size=n, p=w / w.sum()).astype(np.int64)


def labels(values: Sequence[str], which: Ints) -> pa.Array:
    return pa.array(list(values), pa.string()).take(which)


def where(mask: Bools, value: pa.Array | str | None) -> pa.Array:
    """`value` where mask holds, null elsewhere."""
    n = len(mask)
    if value is None:
        return pa.nulls(n, pa.string())
    values = pa.array([value] * n, pa.string()) if isinstance(value, str) else value
    return pc.if_else(pa.array(mask), values, pa.scalar(None, pa.string()))


def join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise concatenation of string columns and constants."""
    return pc.binary_join_element_wise(*parts, sep)


def number_text(values: Ints) -> pa.Array:
    return pa.array(values).cast(pa.string())


def concat(frames: Sequence[Frame]) -> Frame:
    """Stacks frames; a registry column absent from some frame is null there."""
    names: dict[str, None] = {}
    for frame in frames:
        names.update(dict.fromkeys(frame))
    out: Frame = {}
    for name in names:
        parts = [_column_or_missing(frame, name, frames) for frame in frames]
        if isinstance(parts[0], np.ndarray):
            out[name] = np.concatenate(parts)
        else:
            out[name] = pa.concat_arrays(parts)
    return out


def _column_or_missing(frame: Frame, name: str, frames: Sequence[Frame]) -> Column:
    if name in frame:
        return frame[name]
    n = len(next(iter(frame.values())))
    if name in _DATE_COLUMNS:
        return np.full(n, NO_DATE, dtype=np.int32)
    if name.startswith("_"):
        template = next(f[name] for f in frames if name in f)
        return np.full(n, -1, dtype=np.asarray(template).dtype)
    return pa.nulls(n, pa.string())


def scatter(n: int, parts: Sequence[tuple[Ints, pa.Array]]) -> pa.Array:
    """A column of n rows with each part's values at its rows and null elsewhere."""
    covered = np.zeros(n, dtype=bool)
    for rows, _ in parts:
        covered[rows] = True
    rest = np.flatnonzero(~covered)
    order = np.concatenate([rows for rows, _ in parts] + [rest]).astype(np.int64)
    values = pa.concat_arrays([values for _, values in parts] + [pa.nulls(len(rest), pa.string())])
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return values.take(inverse)


def take(frame: Frame, rows: Ints) -> Frame:
    return {
        name: col[rows] if isinstance(col, np.ndarray) else col.take(rows)
        for name, col in frame.items()
    }


def to_table(kind: Kind, frame: Frame) -> pa.Table:
    """The registry table: exactly the contract's columns, in its order, with its types;
    a column of a later extension of the contract only when the frame has it."""
    n = len(next(iter(frame.values())))
    arrays = []
    columns = [c for c in COLUMNS[kind] if not c.extension or c.name in frame]
    for column in columns:
        value = frame.get(column.name)
        if column.type is Type.DATE:
            days = np.full(n, NO_DATE, np.int32) if value is None else np.asarray(value, np.int32)
            arrays.append(pa.array(days, mask=days == NO_DATE).cast(pa.date32()))
        else:
            arrays.append(pa.nulls(n, pa.string()) if value is None else value)
    return pa.table(arrays, names=[c.name for c in columns])
