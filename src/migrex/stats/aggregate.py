"""Counting a dataset's tables in DuckDB, margins included, in one GROUPING SETS query.

Each population turns registry records into one row per counted unit with one code per
breakdown (`units`), then every table of the dataset asks for its full cube: all subsets of
its dimensions, so the margins come out of the same scan that counts the cells. The totals a
release publishes are therefore counted, never summed from cells that may later be blanked.

The registries are reached as DuckDB relations named persons_present, employment and
violations: Parquet files read in place, or Arrow tables streamed from the node's database
(see `sources`). Nothing here writes.

A worker is counted once per year: a person with several employment spells in the year is
counted in the region and occupation of the latest spell that started by the year's end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

import duckdb
import numpy as np
import pycountry
from numpy.typing import NDArray

from migrex.agreements.codelists import AGE_BANDS, NOT_APPLICABLE, interior_codes
from migrex.agreements.model import Dataset
from migrex.stats.cube import TOTAL, CellKey, CubeTable, Dimension
from migrex.stats.release import ReleaseInvalid

# Per population: the SQL of its units for a year (`$first`/`$last` are the year's bounds) and
# the expression of each breakdown it carries.
_WORKERS = """
    SELECT s.region, p.sex, p.birth_date, s.occupation_isco08, p.permit_type, p.citizenship
    FROM (
        SELECT person_record_id, region, occupation_isco08,
               row_number() OVER (
                   PARTITION BY person_record_id ORDER BY start_date DESC, record_id DESC
               ) AS latest
        FROM employment
        WHERE start_date <= $last AND (end_date IS NULL OR end_date >= $first)
    ) AS s
    JOIN persons_present AS p ON p.record_id = s.person_record_id
    WHERE s.latest = 1
"""
_PERSONS = """
    SELECT registration_region AS region, sex, birth_date, permit_type, purpose_of_stay,
           citizenship
    FROM persons_present
    WHERE entry_date <= $last AND (departure_date IS NULL OR departure_date >= $first)
"""
_VIOLATIONS = """
    SELECT region, violation_type, citizenship
    FROM violations
    WHERE detected_on BETWEEN $first AND $last
"""
_POPULATIONS = {"workers": _WORKERS, "persons-present": _PERSONS, "violations": _VIOLATIONS}


def _age_case() -> str:
    age = "($year - year(birth_date))"
    arms = " ".join(
        f"WHEN {age} <= {high} THEN '{code}'" for code, _, _, high in AGE_BANDS if high is not None
    )
    return f"CASE {arms} ELSE '{AGE_BANDS[-1][0]}' END"


_EXPRESSIONS = {
    "region": "region",
    "sex": "sex",
    "age": _age_case(),
    "occupation": "'OC' || left(occupation_isco08, 1)",
    "permit": f"coalesce(upper(permit_type), '{NOT_APPLICABLE}')",
    "purpose": "upper(purpose_of_stay)",
    "violation": "upper(violation_type)",
    "citizenship": "alpha2.code",
}


@dataclass(frozen=True)
class Counts:
    """The counted cube of every table of a dataset, in the dataset's table order."""

    dataset: Dataset
    period: int
    tables: tuple[CubeTable, ...]

    @property
    def grand_total(self) -> int:
        return int(self.tables[0].values[-1])


def dimensions_of(dataset: Dataset) -> dict[str, Dimension]:
    """Each breakdown as a table dimension: the interior codes of its codelist and `_T`."""
    return {d.id: Dimension(d.id, interior_codes(d.codelist)) for d in dataset.dimensions}


def _alpha3_to_alpha2() -> list[tuple[str, str]]:
    return [(country.alpha_3, country.alpha_2) for country in pycountry.countries]


def _alpha2_to_alpha3(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise ReleaseInvalid(f"{code!r} is not a country")
    return str(country.alpha_3)


def _grouping_sets(tables: Iterable[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Every subset of every table's dimensions, each once: the cells and all margins."""
    sets: dict[frozenset[str], tuple[str, ...]] = {}
    for table in tables:
        for size in range(len(table), -1, -1):
            for subset in combinations(table, size):
                sets.setdefault(frozenset(subset), subset)
    return list(sets.values())


def count(connection: duckdb.DuckDBPyConnection, dataset: Dataset, period: int) -> Counts:
    """Count `dataset` for the year `period` from the registries visible in `connection`."""
    dims = dimensions_of(dataset)
    names = dataset.dimension_ids
    select = ", ".join(f"{_EXPRESSIONS[name]} AS {name}" for name in names)
    where = "WHERE u.citizenship = $citizenship" if dataset.citizenship else ""
    sets = _grouping_sets(dataset.tables)
    grouping = ", ".join("(" + ", ".join(s) + ")" for s in sets)
    connection.execute("CREATE OR REPLACE TEMP TABLE alpha2 (alpha3 VARCHAR, code VARCHAR)")
    connection.executemany("INSERT INTO alpha2 VALUES (?, ?)", _alpha3_to_alpha2())
    # Only fixed SQL and dimension ids the agreement loader checked against DIMENSIONS are
    # spliced in; every value (dates, citizenship) is a bound parameter.
    sql = f"""
        WITH u AS ({_POPULATIONS[dataset.population]}),
        coded AS (
            SELECT {select}
            FROM u LEFT JOIN alpha2 ON alpha2.alpha3 = u.citizenship
            {where}
        )
        SELECT {", ".join(f"{n}, grouping({n}) AS g_{n}" for n in names)}, count(*) AS n
        FROM coded
        GROUP BY GROUPING SETS ({grouping})
    """  # noqa: S608
    parameters: dict[str, object] = {
        "first": f"{period}-01-01",
        "last": f"{period}-12-31",
        "year": period,
    }
    if dataset.citizenship:
        parameters["citizenship"] = _alpha2_to_alpha3(dataset.citizenship)
    # Only the parameters the statement mentions may be bound.
    parameters = {k: v for k, v in parameters.items() if f"${k}" in sql}
    rows = connection.execute(sql, parameters).fetchall()
    cells = _cells(rows, names)
    if not cells.get(tuple(TOTAL for _ in names)):
        raise ReleaseInvalid(f"no records for {dataset.id} in {period}: nothing to release")
    return Counts(dataset, period, tuple(_table(dims, table, cells) for table in dataset.tables))


def _cells(rows: list[tuple[object, ...]], names: tuple[str, ...]) -> dict[CellKey, int]:
    cells: dict[CellKey, int] = {}
    width = len(names)
    for row in rows:
        key = tuple(TOTAL if row[2 * i + 1] else _code(row[2 * i], names[i]) for i in range(width))
        cells[key] = int(row[-1])  # type: ignore[call-overload]
    return cells


def _code(value: object, dimension: str) -> str:
    if value is None:
        raise ReleaseInvalid(f"a record has no {dimension}: it cannot be counted")
    return str(value)


def _table(
    dims: Mapping[str, Dimension], table: tuple[str, ...], cells: Mapping[CellKey, int]
) -> CubeTable:
    """The cube of one table from the global cells (keys in dataset order, `_T` elsewhere)."""
    order = list(dims)
    positions = [order.index(name) for name in table]
    dimensions = tuple(dims[name] for name in table)
    local: dict[CellKey, int] = {}
    for key, n in cells.items():
        if all(key[i] == TOTAL for i in range(len(order)) if i not in positions):
            local_key = tuple(key[i] for i in positions)
            for code, dimension in zip(local_key, dimensions, strict=True):
                if code != TOTAL and code not in dimension.codes:
                    raise ReleaseInvalid(f"{code!r} is not a code of the {dimension.id} codelist")
            local[local_key] = n
    filled = _with_zeros(dimensions, local)
    return CubeTable.from_cube(dimensions, filled)


def _with_zeros(
    dimensions: tuple[Dimension, ...], local: Mapping[CellKey, int]
) -> dict[CellKey, int]:
    """Every cell of the cube: combinations nobody falls into are counted as zero."""
    grid: NDArray[np.int64] = np.zeros(tuple(len(d.cube_codes) for d in dimensions), dtype=np.int64)
    index = [{code: i for i, code in enumerate(d.cube_codes)} for d in dimensions]
    for key, n in local.items():
        grid[tuple(index[i][code] for i, code in enumerate(key))] = n
    codes = [d.cube_codes for d in dimensions]
    return {
        tuple(codes[i][p] for i, p in enumerate(position)): int(grid[position])
        for position in np.ndindex(grid.shape)
    }
