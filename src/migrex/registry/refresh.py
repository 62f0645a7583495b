"""What a refreshed register changes: records added, changed and removed, by record key.

Pure: compares the stored records and an incoming file as Arrow tables of text cells, the form
both are read in, so a date or an empty cell compares the same whichever database held it.
Nothing here touches a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from migrex.errors import ImportRejected
from migrex.registry.columns import Kind, column_names

Rows = npt.NDArray[np.int64]


class Mode(StrEnum):
    """How an import meets the records already stored."""

    APPEND = "append"  # new records only: a record already stored is a problem
    SNAPSHOT = "snapshot"  # the file becomes the register: records absent from it are removed
    UPSERT = "upsert"  # new records added, changed ones updated, absent ones kept


# Citizens are keyed by their national id, a personal identifier (a Kazakh IIN even encodes
# the birth date and sex), so what is said about a citizens import is counts only. The other
# registers are keyed by the ministry's record number, which names a record, not a person.
PERSONAL_KEYS = frozenset({Kind.CITIZENS})
KEYS_WITHHELD = "withheld: the record key of this register is a personal identifier"


# A snapshot removing more than this share of a register is more likely a truncated export
# than a month's departures: it is refused unless the operator allows more.
MAX_REMOVED_PERCENT = 50.0


class SnapshotRemovesTooMuch(ImportRejected):
    type_slug = "snapshot-removes-too-much"
    title = "The snapshot would remove more of the register than allowed; nothing was stored"


def key_column(kind: Kind) -> str:
    return "national_id" if kind is Kind.CITIZENS else "record_id"


def compared_columns(kind: Kind) -> tuple[str, ...]:
    """The columns whose difference makes a record changed: all but its key."""
    key = key_column(kind)
    return tuple(name for name in column_names(kind) if name != key)


@dataclass(frozen=True)
class RecordDiff:
    """Row numbers of what an import changes; `incoming` rows index the file, `stored` rows
    the stored table as read. Changed records pair an incoming row with its stored row."""

    kind: Kind
    added: Rows
    changed: Rows
    changed_stored: Rows
    removed: Rows
    unchanged: int
    # For each compared column, which of the changed records differ in it.
    columns_changed: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (len(self.added) or len(self.changed) or len(self.removed))

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
            "unchanged": self.unchanged,
        }


def compare(kind: Kind, stored: pa.Table, incoming: pa.Table, mode: Mode) -> RecordDiff:
    """The difference `incoming` makes to `stored` under `mode` (snapshot or upsert).

    Both tables hold the register's columns as text, keys unique (the import checks refuse a
    file with a repeated key; the database refuses a stored one). In upsert mode nothing is
    removed: a record the file does not mention stays as it is.
    """
    key = key_column(kind)
    left = pa.table({"key": incoming.column(key), "incoming": np.arange(incoming.num_rows)})
    right = pa.table({"key": stored.column(key), "stored": np.arange(stored.num_rows)})
    joined = left.join(right, "key", join_type="full outer")
    in_rows = np.asarray(joined.column("incoming").fill_null(-1), dtype=np.int64)
    st_rows = np.asarray(joined.column("stored").fill_null(-1), dtype=np.int64)
    both = (in_rows >= 0) & (st_rows >= 0)
    added = np.sort(in_rows[st_rows < 0])
    removed = np.sort(st_rows[in_rows < 0]) if mode is Mode.SNAPSHOT else np.empty(0, np.int64)
    order = np.argsort(in_rows[both], kind="stable")
    pair_in, pair_st = in_rows[both][order], st_rows[both][order]
    differs = {
        name: _differs(incoming.column(name).take(pair_in), stored.column(name).take(pair_st))
        for name in compared_columns(kind)
    }
    any_differs = np.zeros(len(pair_in), dtype=bool)
    for mask in differs.values():
        any_differs |= mask
    return RecordDiff(
        kind=kind,
        added=added,
        changed=pair_in[any_differs],
        changed_stored=pair_st[any_differs],
        removed=removed,
        unchanged=int((~any_differs).sum()),
        columns_changed={name: mask[any_differs] for name, mask in differs.items()},
    )


def removes_too_much(diff: RecordDiff, stored_records: int, max_percent: float) -> str | None:
    """Why the snapshot is refused for removing too large a share of the stored register, or
    None when it removes no more than `max_percent` of it."""
    if not stored_records or len(diff.removed) * 100 <= max_percent * stored_records:
        return None
    share = len(diff.removed) * 100 / stored_records
    return (
        f"the snapshot would remove {len(diff.removed):,} of {stored_records:,} {diff.kind} "
        f"records ({share:.0f} %, more than {max_percent:g} %); if the export is complete, "
        f"import it again with --max-removed {min(100, int(share) + 1)}"
    )


def _differs(new: pa.ChunkedArray, old: pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    """True where the cells differ; two missing cells are the same, one missing is not."""
    one_missing = pc.xor(new.is_null(), old.is_null())
    unequal = pc.not_equal(new, old).fill_null(False)
    return np.asarray(pc.or_(one_missing, unequal), dtype=bool)


def report(diff: RecordDiff, incoming_keys: pa.Array, stored_keys: pa.Array) -> dict[str, Any]:
    """The diff as an operator reads it: counts, the columns that changed, and, where record
    keys are not personal, the keys added, removed and changed (with the columns that changed
    in each). Cell values never appear: only column names and record keys."""
    names = list(diff.columns_changed)
    summary: dict[str, Any] = {
        "registry": str(diff.kind),
        **diff.counts(),
        "changed_columns": {
            name: int(mask.sum()) for name, mask in diff.columns_changed.items() if mask.any()
        },
    }
    if diff.kind in PERSONAL_KEYS:
        summary["keys"] = KEYS_WITHHELD
        return summary
    matrix = (
        np.column_stack([diff.columns_changed[name] for name in names])
        if names and len(diff.changed)
        else np.zeros((len(diff.changed), 0), dtype=bool)
    )
    changed_keys = incoming_keys.take(pa.array(diff.changed)).to_pylist()
    summary["added_keys"] = incoming_keys.take(pa.array(diff.added)).to_pylist()
    summary["removed_keys"] = stored_keys.take(pa.array(diff.removed)).to_pylist()
    summary["changed_keys"] = {
        key: [names[j] for j in np.flatnonzero(row)]
        for key, row in zip(changed_keys, matrix, strict=True)
    }
    return summary
