"""The whole linkage on two register files, offline, with the very code of a run.

Both parties' encoders run here under a throwaway key (drawn for the evaluation and
forgotten), then blocking, comparison and matching as the linkage unit does them. With a
truth file (the pairs that are one person), the result is scored: precision and recall of
the matched pairs, and the pair completeness of blocking (true pairs that met in a block).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from migrex.errors import ImportRejected, Problem
from migrex.linkage.blocking import blocking_tokens, candidate_pairs
from migrex.linkage.compare import BANDS, THRESHOLD, Matches, match, pair_scores
from migrex.linkage.encoder import Encoded, encode_filters
from migrex.linkage.keys import KEY_BYTES
from migrex.linkage.records import Register

# Truth files name the pair's two ids: `left_id,right_id`, or the synthetic population's
# ground truth (`kz_national_id,am_national_id`, either register on the left).
TRUTH_COLUMNS = (("left_id", "right_id"), ("kz_national_id", "am_national_id"))


def encode(register: Register, key: bytes, *, salted: bool = True) -> Encoded:
    """A party's side of a run: its filters and blocking tokens."""
    return Encoded(encode_filters(register, key, salted=salted), blocking_tokens(register, key))


@dataclass
class Linkage:
    """What a run found, by row of each register, and what it took."""

    matches: Matches
    candidate_pairs: int
    pairs_per_pass: dict[str, int]
    seconds: dict[str, float]
    candidates: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] = field(repr=False)


def link(
    left: Register, right: Register, *, key: bytes | None = None,
    threshold: float = THRESHOLD, salted: bool = True,
) -> Linkage:  # fmt: skip
    """Encode both registers, block, compare and match them."""
    key = key or secrets.token_bytes(KEY_BYTES)
    clock = time.perf_counter()
    ours, theirs = encode(left, key, salted=salted), encode(right, key, salted=salted)
    encoded = time.perf_counter()
    li, ri, per_pass = candidate_pairs(ours.blocks, theirs.blocks)
    blocked = time.perf_counter()
    scores = pair_scores(ours.filters, theirs.filters, li, ri)
    compared = time.perf_counter()
    matches = match(li, ri, scores, n_left=len(left), n_right=len(right), threshold=threshold)
    matched = time.perf_counter()
    return Linkage(
        matches=matches,
        candidate_pairs=len(li),
        pairs_per_pass=per_pass,
        seconds={
            "encode": round(encoded - clock, 3),
            "block": round(blocked - encoded, 3),
            "compare": round(compared - blocked, 3),
            "match": round(matched - compared, 3),
        },
        candidates=(li, ri),
    )


def _read_table(path: Path) -> pa.Table:
    try:
        if path.suffix.lower() == ".parquet":
            return pq.read_table(path)
        return pacsv.read_csv(
            path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True, column_types={
                name: pa.string() for pair in TRUTH_COLUMNS for name in pair
            }),
        )  # fmt: skip
    except (OSError, pa.ArrowInvalid) as error:
        raise ImportRejected(
            f"{path.name} is not a readable truth file (CSV or Parquet)"
        ) from error


def read_truth(path: Path, left: Register, right: Register) -> set[tuple[int, int]]:
    """The true pairs of a truth file, as (left row, right row); pairs whose ids are not in
    the registers are left out (a truth file may cover a larger population)."""
    return truth_pairs(_read_table(path), left, right, source=path.name)


def truth_pairs(
    table: pa.Table, left: Register, right: Register, source: str = "the truth table"
) -> set[tuple[int, int]]:
    """The (left row, right row) pairs a truth table names, whichever register its first
    id column belongs to."""
    columns = next((pair for pair in TRUTH_COLUMNS if set(pair) <= set(table.column_names)), None)
    if columns is None:
        raise ImportRejected(
            f"{source} does not name pairs",
            [Problem("header", "needs columns left_id,right_id (or kz_national_id,"
                     "am_national_id)")],
        )  # fmt: skip
    first, second = (table.column(c).cast(pa.string()).to_pylist() for c in columns)
    left_rows = {v: i for i, v in enumerate(left.ids.to_pylist())}
    right_rows = {v: i for i, v in enumerate(right.ids.to_pylist())}
    if sum(v in left_rows for v in second) > sum(v in left_rows for v in first):
        first, second = second, first
    return {
        (left_rows[a], right_rows[b])
        for a, b in zip(first, second, strict=True)
        if a in left_rows and b in right_rows
    }


def scored(linkage: Linkage, truth: set[tuple[int, int]]) -> dict[str, Any]:
    """Precision, recall and F1 of the matches, and blocking's pair completeness."""
    found = set(zip(linkage.matches.left.tolist(), linkage.matches.right.tolist(), strict=True))
    li, ri = linkage.candidates
    met = set(zip(li.tolist(), ri.tolist(), strict=True)) & truth
    right = len(found & truth)
    precision = right / len(found) if found else 1.0
    recall = right / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "truth_pairs": len(truth),
        "true_matches": right,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "pair_completeness": round(len(met) / len(truth), 4) if truth else 1.0,
    }


def figures(linkage: Linkage, left: Register, right: Register) -> dict[str, Any]:
    """Counts and times of a run: no id, no name, no score of a single pair."""
    bands = np.bincount(linkage.matches.bands, minlength=len(BANDS) + 1)
    return {
        "left_records": len(left),
        "right_records": len(right),
        "candidate_pairs": linkage.candidate_pairs,
        "pairs_per_pass": linkage.pairs_per_pass,
        "reduction_ratio": round(1 - linkage.candidate_pairs / max(len(left) * len(right), 1), 6),
        "matches": len(linkage.matches.left),
        "bands": {name: int(bands[i]) for i, (name, _) in enumerate(BANDS)},
        "seconds": linkage.seconds,
    }


def write_pairs(linkage: Linkage, left: Register, right: Register, out: Path) -> None:
    """`left_id,right_id,score`, best first; written under a temporary name, then renamed."""
    m = linkage.matches
    table = pa.table({
        "left_id": left.ids.take(pa.array(m.left)),
        "right_id": right.ids.take(pa.array(m.right)),
        "score": pa.array(np.round(m.scores.astype(np.float64), 4)),
    })  # fmt: skip
    partial = out.with_name(out.name + ".partial")
    with partial.open("wb") as handle:
        handle.write((",".join(table.column_names) + "\n").encode("utf-8"))
        pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False))
    partial.replace(out)
