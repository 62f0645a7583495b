"""Writing a population: one file per node and registry kind, ground truth kept apart.

    OUT/KZ/{persons_present,employment,citizens,violations}.{parquet|csv}
    OUT/AM/...                                               (the same kinds)
    OUT/ground_truth/dual_citizens.{fmt}, near_misses.{fmt}, channels.json

Registry files carry exactly the contract's columns, so each can be imported as it is; the
ground truth lives only under ground_truth/. CSV is UTF-8 with a header row and an empty
cell for a missing value; Parquet keeps dates as dates. Each file is written under a
temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from migrex.registry.columns import Kind
from migrex.synth.population import NODES, Population

FORMATS = ("parquet", "csv")
GROUND_TRUTH_DIR = "ground_truth"
FILES_WRITTEN = len(NODES) * len(Kind) + 3  # + dual citizens, near misses, channels


def _write_table(table: pa.Table, path: Path, fmt: str) -> None:
    partial = path.with_name(path.name + ".partial")
    if fmt == "parquet":
        pq.write_table(table, partial, compression="zstd", compression_level=1)
    else:
        # The header is written bare (column names need no quotes) and the body with quotes
        # where needed: readers that split the header line on commas get plain names.
        with partial.open("wb") as handle:
            handle.write((",".join(table.column_names) + "\n").encode("utf-8"))
            pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False))
    partial.replace(path)


def _write_json(value: object, path: Path) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


def write_population(
    population: Population,
    out_dir: Path,
    fmt: str,
    progress: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Writes every file (replacing earlier ones of the same name); returns their paths."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    report = progress or (lambda path: None)
    truth = population.ground_truth
    tables: list[tuple[Path, pa.Table]] = [
        (out_dir / node / f"{kind}.{fmt}", population.table(node, kind))
        for node in NODES
        for kind in Kind
    ]
    tables += [
        (out_dir / GROUND_TRUTH_DIR / f"dual_citizens.{fmt}", truth.dual_citizens),
        (out_dir / GROUND_TRUTH_DIR / f"near_misses.{fmt}", truth.near_misses),
    ]
    written: list[Path] = []
    for path, table in tables:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_table(table, path, fmt)
        written.append(path)
        report(path)
    channels = out_dir / GROUND_TRUTH_DIR / "channels.json"
    _write_json(
        {
            "seed": population.seed,
            "persons": population.persons,
            "channels": [channel.to_json() for channel in truth.channels],
        },
        channels,
    )
    written.append(channels)
    report(channels)
    return written
