"""`migrex bench stats`: count, protect and write a release from N registry rows.

The rows are the worker population's two registries, half persons present and half
employment spells, written as Parquet first (not timed). Timed: the DuckDB count of every
table with its margins, the linked-table disclosure control, and the SDMX-ML and SDMX-CSV
output. The same counts are then made with pandas (filter, latest spell per person, join,
one groupby per grouping set), checked to be equal, and timed as the baseline. Last, the
suppression figures: blank cells and persons of the optimiser's pattern against the heuristic's.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from itertools import combinations
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from migrex.agreements import Agreement
from migrex.agreements.codelists import ISCO08_MAJOR_GROUPS, interior_codes
from migrex.stats import aggregate, sources
from migrex.stats.cube import TOTAL, CellKey, CubeTable
from migrex.stats.intervals import Knowledge
from migrex.stats.linked import heuristic_linked, protection_of
from migrex.stats.linked_design import LinkedTables
from migrex.stats.pattern import Problem
from migrex.stats.sdmx import release_to_sdmx_csv, release_to_sdmx_ml
from migrex.stats.secondary import narrowed
from migrex.stats.service import dataset_of, release_of

DATASET = "am-workers-in-kz"
PERIOD = 2024


def _dictionary(
    rng: np.random.Generator, codes: list[str], n: int, weights: list[float] | None = None
) -> pa.DictionaryArray:
    """Codes drawn with skewed weights (a Dirichlet draw unless given), as real registries are:
    a few regions and occupations hold most people, so small cells exist to protect."""
    p = np.asarray(weights) if weights is not None else rng.dirichlet(np.full(len(codes), 0.7))
    indices = pa.array(rng.choice(len(codes), n, p=p / p.sum()).astype(np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array(codes))


def _days(rng: np.random.Generator, first: date, last: date, n: int) -> pa.Array:
    start = (first - date(1970, 1, 1)).days
    span = (last - first).days
    return pa.array(rng.integers(start, start + span, n, dtype=np.int32), type=pa.date32())


def write_rows(directory: Path, rows: int, seed: int = 7) -> None:
    """Half persons present, half employment spells; one person in a thousand is a citizen of
    Armenia (the dataset's population), as in Kazakhstan's registries."""
    rng = np.random.default_rng(seed)
    persons = rows // 2
    spells = rows - persons
    permits = [p.lower() for p in interior_codes("CL_PERMIT") if not p.startswith("_")]
    pq.write_table(
        pa.table(
            {
                "record_id": pa.array(np.arange(persons, dtype=np.int64)),
                "sex": _dictionary(rng, ["F", "M"], persons),
                "birth_date": _days(rng, date(1955, 1, 1), date(2005, 12, 31), persons),
                "citizenship": _dictionary(
                    rng, ["ARM", "UZB", "KGZ", "RUS"], persons, [0.001, 0.55, 0.25, 0.199]
                ),
                "permit_type": _dictionary(rng, permits, persons),
            }
        ),
        directory / "persons_present.parquet",
    )
    end = _days(rng, date(2023, 1, 1), date(2026, 12, 31), spells)
    open_ended = pa.array(rng.random(spells) < 0.4)
    pq.write_table(
        pa.table(
            {
                "record_id": pa.array(np.arange(spells, dtype=np.int64)),
                "person_record_id": pa.array(rng.integers(0, persons, spells, dtype=np.int64)),
                "region": _dictionary(rng, list(interior_codes("CL_REGION_KZ")), spells),
                "occupation_isco08": _dictionary(
                    rng, [code[2:] + "111" for code, _ in ISCO08_MAJOR_GROUPS], spells
                ),
                "start_date": _days(rng, date(2020, 1, 1), date(2025, 12, 31), spells),
                "end_date": pa.compute.if_else(open_ended, pa.scalar(None, pa.date32()), end),
            }
        ),
        directory / "employment.parquet",
    )


def pandas_counts(directory: Path, agreement: Agreement) -> dict[CellKey, int]:
    """The same counts as `aggregate.count`, made with pandas: the baseline."""
    dataset = dataset_of(agreement, DATASET)
    first, last = pd.Timestamp(PERIOD, 1, 1), pd.Timestamp(PERIOD, 12, 31)
    spells = pd.read_parquet(directory / "employment.parquet")
    persons = pd.read_parquet(directory / "persons_present.parquet")
    start, end = pd.to_datetime(spells["start_date"]), pd.to_datetime(spells["end_date"])
    spells = spells[(start <= last) & (end.isna() | (end >= first))]
    spells = spells.sort_values(["start_date", "record_id"], ascending=False)
    latest = spells.drop_duplicates("person_record_id")
    units = latest.merge(persons, left_on="person_record_id", right_on="record_id")
    units = units[units["citizenship"] == "ARM"]
    age = PERIOD - pd.to_datetime(units["birth_date"]).dt.year
    coded = pd.DataFrame(
        {
            "region": units["region"].astype(str),
            "sex": units["sex"].astype(str),
            "age": pd.cut(age, [-1, 24, 34, 44, 54, 64, 200], labels=interior_codes("CL_AGE")),
            "occupation": "OC" + units["occupation_isco08"].astype(str).str[0],
            "permit": units["permit_type"].astype(str).str.upper(),
        }
    )
    names = dataset.dimension_ids
    cells: dict[CellKey, int] = {}
    for table in dataset.tables:
        for size in range(len(table) + 1):
            for subset in combinations(table, size):
                if not subset:
                    cells[tuple(TOTAL for _ in names)] = len(coded)
                    continue
                sizes = coded.groupby(list(subset), observed=True).size()
                for codes, n in sizes.items():
                    values = codes if isinstance(codes, tuple) else (codes,)
                    by = dict(zip(subset, values, strict=True))
                    cells[tuple(str(by.get(name, TOTAL)) for name in names)] = int(n)
    return cells


_T = TypeVar("_T")


def _timed(work: Callable[[], _T]) -> tuple[_T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def run(rows: int, agreement: Agreement, progress: Callable[[str], None]) -> dict[str, object]:
    dataset = dataset_of(agreement, DATASET)
    with tempfile.TemporaryDirectory(prefix="migrex-bench-stats-") as folder:
        directory = Path(folder)
        progress(f"writing {rows:,} registry rows as Parquet")
        write_rows(directory, rows)
        progress("counting, protecting and writing SDMX")
        connection = sources.from_parquet(directory, dataset.population)
        counts, aggregation = _timed(lambda: aggregate.count(connection, dataset, PERIOD))
        release, protection = _timed(lambda: release_of(agreement, counts, now=datetime.now(UTC)))
        (ml, csv), output = _timed(
            lambda: (release_to_sdmx_ml(release), release_to_sdmx_csv(release))
        )
        seconds = aggregation + protection + output
        progress("the pandas baseline")
        baseline, pandas_seconds = _timed(lambda: pandas_counts(directory, agreement))
    ours = {
        key: value
        for table in counts.tables
        for key, value in _global_cells(dataset.dimension_ids, table)
        if value
    }
    if ours != baseline:
        raise RuntimeError("DuckDB and pandas counted differently: the benchmark is void")
    suppression = suppression_figures(agreement, counts)
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "aggregation_seconds": round(aggregation, 3),
        "protection_seconds": round(protection, 3),
        "sdmx_seconds": round(output, 3),
        "pandas_seconds": round(pandas_seconds, 3),
        "ratio_vs_pandas": round(pandas_seconds / aggregation, 2),
        "cells": len(release.observations),
        "suppressed_primary": release.primary_count,
        "suppressed_secondary": release.secondary_count,
        "grand_total": counts.grand_total,
        "sdmx_bytes": len(ml.encode()) + len(csv.encode()),
        **suppression,
    }


def suppression_figures(agreement: Agreement, counts: aggregate.Counts) -> dict[str, object]:
    """How many cells and persons the release blanks (persons summed over the blank cells,
    margins included), how long the optimiser and the interval attack took, and the same for
    the heuristic pattern alone, with how many of its blanks the interval attack narrows below
    the protection interval. Not part of the timed run: the protection is redone here."""
    tables = LinkedTables.from_tables(tuple(aggregate.dimensions_of(counts.dataset).values()),
                                      counts.tables)  # fmt: skip
    threshold, interval = agreement.disclosure_threshold, agreement.protection_interval
    chosen = protection_of(tables, threshold, protection=interval)
    heuristic, heuristic_seconds = _timed(lambda: heuristic_linked(tables, threshold))
    knowledge = Knowledge.counts_only(tables.design.size)
    problem = Problem(tables.design.lines, tables.values, heuristic, knowledge, interval)
    values = tables.values
    return {
        "blank_cells": int(chosen.blank.sum()),
        "blank_persons": int(values[chosen.blank].sum()),
        "protection_method": chosen.method,
        "optimiser_seconds": round(chosen.solver_seconds, 3),
        "interval_attack_seconds": round(chosen.attack_seconds, 3),
        "blanks_added_after_attack": chosen.completed,
        "heuristic_blank_cells": int(heuristic.sum()),
        "heuristic_blank_persons": int(values[heuristic].sum()),
        "heuristic_seconds": round(heuristic_seconds, 3),
        "heuristic_blanks_narrowed": len(narrowed(problem, heuristic)),
    }


def _global_cells(names: tuple[str, ...], table: CubeTable) -> list[tuple[CellKey, int]]:
    local = [d.id for d in table.dimensions]
    return [
        (tuple(key[local.index(n)] if n in local else TOTAL for n in names), value)
        for key, value in table.cells()
    ]
