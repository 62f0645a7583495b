"""The columns of a citizens' register the linkage reads, and their reading from a file.

A party encodes its own register: these columns never leave it in clear. Every column is
text (as `registry.files` reads it); a missing cell is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from migrex.registry.columns import Kind
from migrex.registry.files import read_registry_file

FIELDS = (
    "national_id", "surname", "surname_latin", "given_name", "given_name_latin", "patronymic",
    "sex", "birth_date", "birth_place", "passport_number",
)  # fmt: skip


@dataclass(frozen=True)
class Register:
    """One party's citizens, as text columns of equal length (`birth_date` is YYYY-MM-DD)."""

    columns: dict[str, pa.Array]

    def __len__(self) -> int:
        return len(self.columns["national_id"])

    @property
    def ids(self) -> pa.Array:
        return self.columns["national_id"]

    @classmethod
    def from_table(cls, table: pa.Table) -> Register:
        columns = {}
        for name in FIELDS:
            column = table.column(name) if name in table.column_names else None
            if column is None:
                columns[name] = pa.nulls(table.num_rows, pa.string())
            else:
                columns[name] = column.combine_chunks().cast(pa.string())
        return cls(columns)


def read_register(path: Path) -> Register:
    """A citizens' register file (CSV or Parquet, the registry's column contract).

    Raises `ImportRejected` for a file that is not one, naming the file and the column,
    never a cell's content.
    """
    return Register.from_table(read_registry_file(path, Kind.CITIZENS).table)
