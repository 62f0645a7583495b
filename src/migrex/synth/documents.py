"""Foreign documents' issuing offices and issue dates: the optional columns of persons present
(`registry.columns`, `extension`) that `migrex synth --more-archetypes` writes.

Each citizenship's documents come from `DOCUMENT_OFFICES` offices, a few large and most
small (weights 1/rank); a document was issued between ten years and a month before its
holder arrived, never before their birth. A document broker's members share one small
office and a fortnight (`channels`): dozens of documents where that office issues a handful.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrex.synth.arrays import NO_DATE, TODAY, Days, Frame, uniform_days

DOCUMENT_OFFICES: Final = 200
OFFICE: Final = "document_issuing_office"
ISSUED: Final = "document_issue_date"


def office_codes(citizenship: pa.Array, index: np.ndarray) -> pa.Array:
    """The offices' codes as the issuing state writes them: "UZB-0007"."""
    number = pa.array([f"-{i:04d}" for i in range(DOCUMENT_OFFICES)], pa.string())
    return pc.binary_join_element_wise(citizenship, number.take(pa.array(index)), "")


def _after_birth(issued: Days, birth: Days) -> Days:
    return np.minimum(np.maximum(issued, birth.astype(np.int64) + 1), TODAY).astype(np.int32)


def draw_documents(
    rng: np.random.Generator, citizenship: pa.Array, entry: Days, birth: Days
) -> tuple[pa.Array, Days]:
    """Each person's issuing office and issue date, drawn as the register's background."""
    n = len(entry)
    weights = 1.0 / np.arange(1, DOCUMENT_OFFICES + 1)
    office = rng.choice(DOCUMENT_OFFICES, size=n, p=weights / weights.sum())
    arrived = entry.astype(np.int64)
    issued = uniform_days(rng, arrived - 3650, arrived - 30, n)
    return office_codes(citizenship, office), _after_birth(issued, birth)


def broker_documents(
    rng: np.random.Generator, citizenship: pa.Array, birth: Days, first_day: int, days: int
) -> tuple[pa.Array, Days, str]:
    """A broker's batch: one small office (among the less used half), within `days` days
    from `first_day`; the office's code too."""
    n = len(birth)
    office = np.full(n, int(rng.integers(DOCUMENT_OFFICES // 2, DOCUMENT_OFFICES)))
    codes = office_codes(citizenship, office)
    issued = (first_day + rng.integers(0, days, n)).astype(np.int32)
    return codes, _after_birth(issued, birth), str(codes[0]) if n else ""


def fill_documents(rng: np.random.Generator, persons: Frame) -> None:
    """Gives every person without a document's office and issue date the background's."""
    n = len(persons["citizenship"])
    office: pa.Array = persons.get(OFFICE, pa.nulls(n, pa.string()))
    issued = np.asarray(persons.get(ISSUED, np.full(n, NO_DATE, np.int32)), np.int32)
    drawn_office, drawn_issued = draw_documents(
        rng, persons["citizenship"], np.asarray(persons["entry_date"]),
        np.asarray(persons["birth_date"]),
    )  # fmt: skip
    missing = np.asarray(pc.is_null(office), dtype=bool)
    persons[OFFICE] = pc.if_else(pa.array(missing), drawn_office, office)
    persons[ISSUED] = np.where(missing, drawn_issued, issued).astype(np.int32)
