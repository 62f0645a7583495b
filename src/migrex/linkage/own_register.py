"""A party's own citizens' register as the linkage encodes it: the active citizens of the
node's registry, in the columns `linkage.records.FIELDS` names (or a register file of the
same contract, for an offline run of the same code)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from migrex.linkage.records import FIELDS, Register
from migrex.registry.tables import CitizenRow

ACTIVE: Final = "active"
_BATCH: Final = 50_000


def own_citizens(session: Session) -> Register:
    """The active citizens of the node's register, read a batch at a time."""
    columns = [getattr(CitizenRow, name) for name in FIELDS]
    query = (
        select(*columns)
        .where(CitizenRow.status == ACTIVE)
        .order_by(CitizenRow.national_id)
        .execution_options(yield_per=_BATCH)
    )
    cells: dict[str, list[str | None]] = {name: [] for name in FIELDS}
    for row in session.execute(query):
        for name, value in zip(FIELDS, row, strict=True):
            cells[name].append(None if value is None else str(value))
    return Register({name: pa.array(values, pa.string()) for name, values in cells.items()})


def national_ids(session: Session) -> Iterator[str]:
    """The ids of the active citizens, for resolving pseudonyms without the names."""
    query = select(CitizenRow.national_id).where(CitizenRow.status == ACTIVE)
    yield from session.scalars(query.execution_options(yield_per=_BATCH))
