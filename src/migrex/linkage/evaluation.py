"""The whole linkage on two register files, offline, with the very code of a run.

Both parties' encoders run here under a throwaway key (drawn for the evaluation and
forgotten), then blocking, comparison and matching as the linkage unit does them. With a
truth file (the pairs that are one person), the result is scored: precision and recall of
the matched pairs, and the pair completeness of blocking (true pairs that met in a block).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from migrex.errors import ImportRejected, Problem
from migrex.linkage.attack import STEPS, Scene, rates
from migrex.linkage.blocking import (
    blocking_tokens,
    pair_completeness,
)
from migrex.linkage.blockwise import blocks_of, scored_pairs
from migrex.linkage.compare import BANDS, THRESHOLD, Matches, field_counts, match
from migrex.linkage.decoys import DECOYS, with_decoys
from migrex.linkage.encoder import SALT, Encoded, Ints, encode_filters
from migrex.linkage.keys import KEY_BYTES
from migrex.linkage.records import Register
from migrex.linkage.review import LOOKED_AT, second_look

# Truth files name the pair's two ids: `left_id,right_id`, or the synthetic population's
# ground truth (`kz_national_id,am_national_id`, either register on the left).
# The goal for the hardened encoding: at most 1 % of records re-identified.
REIDENTIFICATION_GOAL = 0.01


@dataclass(frozen=True)
class Hardening:
    """A way to harden a party's encodings: the salt (a key of `encoder.SALTS`, or None) and
    the decoys it mixes in per record (`linkage.decoys`)."""

    salt: str | None
    decoys: float = 0.0


# The encodings attacked and measured: none salted, each salting the encoder offers, and the
# runs' own: salted by date and sex, with a decoy per record (`linkage.runs.HARDENING`).
HARDENINGS: dict[str, Hardening] = {
    "unhardened": Hardening(None),
    "salted_by_year": Hardening("year"),
    "salted_by_date": Hardening("date"),
    "salted_by_date_and_sex": Hardening("date-sex"),
    "salted_by_date_and_sex_with_decoys": Hardening("date-sex", DECOYS),
}
# The runs' hardening, by its name here.
HARDENING: Final = next(name for name, h in HARDENINGS.items() if h == Hardening(SALT, DECOYS))

TRUTH_COLUMNS = (("left_id", "right_id"), ("kz_national_id", "am_national_id"))


def encode(register: Register, key: bytes, *, salt: str | None = SALT) -> Encoded:
    """A party's side of a run: its filters and blocking tokens."""
    return Encoded(encode_filters(register, key, salt=salt), blocking_tokens(register, key))


@dataclass
class Linkage:
    """What a run found, by row of each register, and what it took."""

    matches: Matches
    compared_pairs: int  # a pair blocked together by two passes counts twice
    pairs_per_pass: dict[str, int]
    seconds: dict[str, float]
    pair_completeness: Callable[[set[tuple[int, int]]], float] = field(repr=False)
    encoded: tuple[int, int] = (0, 0)
    """Records each side encoded: its people and its decoys."""
    decoy_pairs: int = 0
    """Pairs of a person and a decoy: the person's party gets them as candidates, and the
    decoy's owner answers that the pair is no one. Not in `matches`; wrong, for `scored`."""


def link(
    left: Register, right: Register, *, key: bytes | None = None,
    threshold: float = THRESHOLD, salt: str | None = SALT, review: bool = True,
    decoys: float = 0.0, seed: int | None = None,
) -> Linkage:  # fmt: skip
    """Encode both registers (under a throwaway key unless given one), each with `decoys`
    per record mixed in (drawn from `seed`, or at random), then `compare`. The matches name
    the registers' own rows: pairs of two decoys are dropped, as both owners drop them, and
    pairs of a person and a decoy are counted apart (`Linkage.decoy_pairs`)."""
    key = key or secrets.token_bytes(KEY_BYTES)
    clock = time.perf_counter()
    rng = np.random.default_rng(seed)
    left_mixed, left_origin = with_decoys(left, decoys, rng)
    right_mixed, right_origin = with_decoys(right, decoys, rng)
    ours = encode(left_mixed, key, salt=salt)
    theirs = encode(right_mixed, key, salt=salt)
    linkage = compare(ours, theirs, threshold=threshold, review=review)
    linkage.seconds = {"encode": round(time.perf_counter() - clock, 3)} | linkage.seconds
    return _without_decoys(linkage, left_origin, right_origin) if decoys else linkage


def _without_decoys(linkage: Linkage, left_origin: Ints, right_origin: Ints) -> Linkage:
    """The linkage in the registers' own rows (`link`)."""
    m = linkage.matches
    left, right = left_origin[m.left], right_origin[m.right]
    people = (left >= 0) & (right >= 0)
    linkage.decoy_pairs = int(((left >= 0) != (right >= 0)).sum())
    linkage.matches = Matches(left[people], right[people], m.scores[people], m.bands[people])
    mixed_pairs = linkage.pair_completeness

    def mixed(origin: Ints) -> Ints:
        where = np.empty(int(origin.max()) + 1, dtype=np.int64)
        people = np.flatnonzero(origin >= 0)
        where[origin[people]] = people
        return where

    left_at, right_at = mixed(left_origin), mixed(right_origin)
    linkage.pair_completeness = lambda truth: mixed_pairs(
        {(int(left_at[a]), int(right_at[b])) for a, b in truth}
    )
    return linkage


def compare(
    ours: Encoded, theirs: Encoded, *, threshold: float = THRESHOLD, review: bool = True
) -> Linkage:
    """Block, compare and match two parties' encodings: what a linkage unit does. Each
    pass's blocks are scored as small dense blocks (`linkage.blockwise`) and only the pairs
    at or above the threshold are kept, so memory follows the matches, not the pairs
    compared. With `review`, pairs short of the threshold by one field get
    `review.second_look` (those scoring at least `review.LOOKED_AT` are kept for it)."""
    counts = (field_counts(ours.filters), field_counts(theirs.filters))
    passes = [name for name in ours.blocks if name in theirs.blocks]
    per_pass = dict.fromkeys(passes, 0)
    kept: list[tuple[Ints, Ints, npt.NDArray[np.float32]]] = []
    blocking = comparing = 0.0
    looked_at = min(LOOKED_AT, threshold) if review else threshold
    for name in passes:
        start = time.perf_counter()
        blocks = blocks_of(ours.blocks[name], theirs.blocks[name])
        per_pass[name] = blocks.pairs
        blocked = time.perf_counter()
        for li, ri, first in scored_pairs(ours.filters, theirs.filters, blocks, looked_at,
                                          counts=counts):  # fmt: skip
            scores = (
                first
                if not review
                else second_look(
                    ours.filters, theirs.filters, li, ri, first, counts=counts, threshold=threshold
                )
            )
            good = scores >= threshold
            kept.append((li[good], ri[good], scores[good]))
        blocking += blocked - start
        comparing += time.perf_counter() - blocked
        del blocks  # before the next pass's are built: the two never held at once
    start = time.perf_counter()
    li, ri, scores = (np.concatenate(part) for part in zip(*kept, strict=True)) if kept else (
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))  # fmt: skip
    # A pair two passes found is kept twice with the same score: keep it once.
    _, first = np.unique(li * (1 << 32) + ri, return_index=True)
    li, ri, scores = li[first], ri[first], scores[first]
    matches = match(li, ri, scores, n_left=len(ours), n_right=len(theirs), threshold=threshold)
    matched = time.perf_counter()
    return Linkage(
        matches=matches,
        compared_pairs=sum(per_pass.values()),
        pairs_per_pass=per_pass,
        seconds={
            "block": round(blocking, 3),
            "compare": round(comparing, 3),
            "match": round(matched - start, 3),
        },
        pair_completeness=lambda truth: pair_completeness(ours.blocks, theirs.blocks, truth),
        encoded=(len(ours), len(theirs)),
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
    right = len(found & truth)
    reported = len(found) + linkage.decoy_pairs
    precision = right / reported if reported else 1.0
    recall = right / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "truth_pairs": len(truth),
        "true_matches": right,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "pair_completeness": round(linkage.pair_completeness(truth), 4),
        "decoy_pairs": linkage.decoy_pairs,
    }


def figures(linkage: Linkage, left: Register, right: Register) -> dict[str, Any]:
    """Counts and times of a run: no id, no name, no score of a single pair."""
    bands = np.bincount(linkage.matches.bands, minlength=len(BANDS) + 1)
    return {
        "left_records": len(left),
        "right_records": len(right),
        "compared_pairs": linkage.compared_pairs,
        "pairs_per_pass": linkage.pairs_per_pass,
        "encoded_records": list(linkage.encoded),  # people and decoys
        "reduction_ratio": round(
            1 - linkage.compared_pairs / max(linkage.encoded[0] * linkage.encoded[1], 1), 6
        ),
        "matches": len(linkage.matches.left),
        "decoy_pairs": linkage.decoy_pairs,
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


def attack_figures(
    setting: Scene, group: Scene, *, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """The attacks of `attack.rates` on the setting's register and on one salt group
    (`attack.one_salt_group`), each encoded under a throwaway key (drawn here, never handed
    to them), under each hardening of `HARDENINGS` (decoys mixed in where it has them): the
    share of encodings each attack re-identifies, and the highest. `reidentification_rate`
    is the highest under the encoder's default, in either: an attacker who holds a large
    register's people attacks the group, not a draw that holds next to no two of one salt."""
    report = progress or (lambda step: None)
    key = secrets.token_bytes(KEY_BYTES)
    result: dict[str, Any] = {
        "encodings": len(setting.encoded),
        "attacker_records": len(setting.attacker),
        "overlap": round(float((setting.rows >= 0).mean()), 4) if len(setting.rows) else 0.0,
        "one_salt_group_size": len(group.encoded),
    }
    in_group: dict[str, dict[str, float]] = {}
    rng = np.random.default_rng(secrets.randbits(128))
    for name, hardening in HARDENINGS.items():
        report(f"encoding ({name})")
        salt = hardening.salt
        whole, one = (s.with_decoys(hardening.decoys, rng) if hardening.decoys else s
                      for s in (setting, group))  # fmt: skip
        filters = encode_filters(whole.encoded, key, salt=salt)
        result[name] = rates(filters, whole, salt=salt, progress=_suffixed(report, f" ({name})"))
        in_group[name] = rates(
            encode_filters(one.encoded, key, salt=salt), one, salt=salt,
            progress=_suffixed(report, f" ({name}, one salt group)"),
        )  # fmt: skip
    result["one_salt_group"] = in_group
    result["hardening"] = HARDENING
    result["reidentification_rate_whole_population"] = result[HARDENING]["max"]
    result["reidentification_rate_in_one_salt_group"] = in_group[HARDENING]["max"]
    result["reidentification_rate"] = max(result[HARDENING]["max"], in_group[HARDENING]["max"])
    result["goal"] = REIDENTIFICATION_GOAL
    result["goal_met"] = result["reidentification_rate"] <= REIDENTIFICATION_GOAL
    return result


# The progress steps of `attack_figures`: per hardening, its encoding and both scenes' attacks.
ATTACK_STEPS: Final = len(HARDENINGS) * (2 * STEPS + 1)


def _suffixed(report: Callable[[str], None], suffix: str) -> Callable[[str], None]:
    return lambda step: report(step + suffix)
