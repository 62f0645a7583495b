"""`migrex bench linkage-scale`: the unit's whole work (encoding both registers, blocking,
comparison, matching) at the size of a real run, with its time and peak memory.

Twenty million synthetic citizens take longer to generate than to link, so the registers are
grown from one synthetic world: its citizens' registers are repeated, each copy's birth dates
moved by a random number of days within ten years, so every blocking token is about as
frequent as in a register of the full size (a plain copy would multiply each birth date's
block by the number of copies and the pairs by its square). Names repeat across copies, as
they do in any national register. Each party's register is encoded a million records at a
time into one preallocated array, so memory holds the encodings, not the names.

With the runs' decoys (`--decoys`, one per record) the unit holds twice the records of each
side, and the registers are grown to that.

Printed: the sizes, seconds per phase, comparisons made, pairs found, the peak resident
memory (and the peak while the synthetic world was generated, before any of the unit's
work), and with `--growth` the same at a tenth and a third of the size, to show how the time
grows.
"""

from __future__ import annotations

import json
import resource
import secrets
import time
from pathlib import Path
from typing import Annotated, Any, Final

import numpy as np
import pyarrow as pa
import typer

from migrex.console import err, progress_bar
from migrex.linkage.decoys import MAX_PER_RECORD
from migrex.linkage.keys import KEY_BYTES
from migrex.linkage.layout import DECOYS, LAYOUT, Encoded, Tokens
from migrex.linkage.linking import compare, encode
from migrex.linkage.records import Register
from migrex.registry.columns import Kind
from migrex.synth import generate

BLOCK: Final = 1_000_000
SHIFT_DAYS: Final = 3652


def _moved(register: Register, rng: np.random.Generator) -> Register:
    """The register with each birth date moved by up to ten years either way."""
    dates = np.array(register.columns["birth_date"].to_numpy(zero_copy_only=False),
                     dtype="datetime64[D]")  # fmt: skip
    moved = dates + rng.integers(-SHIFT_DAYS, SHIFT_DAYS + 1, len(dates)).astype("timedelta64[D]")
    return Register(register.columns | {"birth_date": pa.array(np.datetime_as_string(moved))})


def _slice(register: Register, length: int) -> Register:
    return Register({name: column.slice(0, length) for name, column in register.columns.items()})


def grown(base: Register, total: int, key: bytes, seed: int, label: str) -> Encoded:
    """`total` records encoded, copies of `base` with moved birth dates, a block at a time."""
    rng = np.random.default_rng(seed)
    filters = np.empty((total, LAYOUT.words), dtype=np.uint64)
    tokens: dict[str, list[np.ndarray[Any, Any]]] = {}
    rows: dict[str, list[np.ndarray[Any, Any]]] = {}
    done = 0
    with progress_bar() as bar:
        task = bar.add_task(f"encoding {label}", total=total)
        while done < total:
            size = min(BLOCK, len(base), total - done)
            part = _slice(base, size)
            encoded = encode(part if done == 0 else _moved(part, rng), key)
            filters[done : done + size] = encoded.filters
            for name, found in encoded.blocks.items():
                tokens.setdefault(name, []).append(found.tokens)
                # 32-bit row numbers: the blocks hold them so (`blockwise.Rows`), and a
                # register of twenty million records saves a quarter of its tokens' memory.
                rows.setdefault(name, []).append((found.rows + done).astype(np.int32))
            done += size
            bar.update(task, completed=done)
    # One pass at a time, each block's parts let go as it is joined: joining every pass at
    # once would hold each token twice.
    blocks = {}
    for name in list(tokens):
        blocks[name] = Tokens(np.concatenate(tokens.pop(name)), np.concatenate(rows.pop(name)))
    return Encoded(filters, blocks)


def _peak_gb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)


def measure(left: int, right: int, persons: int, seed: int) -> dict[str, Any]:
    """One run at `left` × `right` records; the figures as a dictionary."""
    population = generate(persons, seed=seed)
    kz = Register.from_table(population.table("KZ", Kind.CITIZENS))
    am = Register.from_table(population.table("AM", Kind.CITIZENS))
    del population
    # The synthetic world's own peak, so the unit's work can be told from generating it.
    generated_peak = _peak_gb()
    key = secrets.token_bytes(KEY_BYTES)
    start = time.perf_counter()
    ours = grown(kz, left, key, seed + 1, f"{left:,} KZ records")
    encoded_left = time.perf_counter()
    theirs = grown(am, right, key, seed + 2, f"{right:,} AM records")
    encoded_right = time.perf_counter()
    del kz, am
    err.print(f"[dim]blocking, comparing and matching {left:,} × {right:,}[/]")
    linkage = compare(ours, theirs)
    done = time.perf_counter()
    return {
        "left_records": left,
        "right_records": right,
        "seconds": {
            "encode_left": round(encoded_left - start, 1),
            "encode_right": round(encoded_right - encoded_left, 1),
            **{k: round(v, 1) for k, v in linkage.seconds.items()},
            "total": round(done - start, 1),
        },
        "compared_pairs": linkage.compared_pairs,
        "pairs_per_pass": linkage.pairs_per_pass,
        "matches": len(linkage.matches.left),
        "comparisons_per_s": round(linkage.compared_pairs / max(linkage.seconds["compare"], 1e-9)),
        "filters_gb": round((ours.filters.nbytes + theirs.filters.nbytes) / 1024**3, 2),
        "peak_rss_gb": _peak_gb(),
        "peak_rss_generating_world_gb": generated_peak,
    }


def run(
    *,
    left: Annotated[
        int, typer.Option(min=1000, help="citizens of the larger register")
    ] = 20_000_000,
    right: Annotated[int, typer.Option(min=1000, help="citizens of the smaller")] = 3_000_000,
    persons: Annotated[
        int, typer.Option(min=10_000, help="the synthetic world the registers are grown from")
    ] = 1_000_000,
    growth: Annotated[bool, typer.Option(help="also a tenth and a third of the size")] = False,
    seed: Annotated[int, typer.Option(min=0)] = 2024,
    decoys: Annotated[
        float, typer.Option(min=0.0, max=MAX_PER_RECORD, help="decoys per record on each side")
    ] = DECOYS,
) -> None:
    """The linkage unit's whole work on registers of LEFT × RIGHT citizens: time and memory.
    With the runs' decoys, the unit holds (1 + DECOYS) times as many records of each side;
    grown records stand for them, as a decoy is a recombination of the register's own."""
    sizes = [(left // 10, right // 10), (left // 3, right // 3)] if growth else []
    sizes.append((left, right))
    figures = []
    for people_left, people_right in sizes:
        a, b = (round(n * (1 + decoys)) for n in (people_left, people_right))
        figures.append({"citizens": [people_left, people_right], "decoys_per_record": decoys}
                       | measure(a, b, min(persons, max(a, 2 * b)), seed))  # fmt: skip
    typer.echo(json.dumps({"runs": figures, "load_average_1min": _load()}, indent=2))


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text(encoding="ascii").split()[0])
    except OSError:
        return -1.0
