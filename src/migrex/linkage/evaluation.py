"""The whole linkage on two register files, offline, with the very code of a run.

Both parties' encoders run here under a throwaway key (drawn for the evaluation and
forgotten), then blocking, comparison and matching as the linkage unit does them. With a
truth file (the pairs that are one person), the result is scored: precision and recall of
the matched pairs, and the pair completeness of blocking (true pairs that met in a block).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from migrex.errors import ImportRejected, Problem
from migrex.linkage.attack import STEPS, Scene, rates
from migrex.linkage.compare import BANDS
from migrex.linkage.encoder import encode_filters
from migrex.linkage.keys import KEY_BYTES
from migrex.linkage.layout import DECOYS, SALT
from migrex.linkage.linking import Linkage
from migrex.linkage.records import Register

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

# Truth files name the pair's two ids: `left_id,right_id`, or the synthetic population's
# ground truth (`kz_national_id,am_national_id`, either register on the left).
TRUTH_COLUMNS = (("left_id", "right_id"), ("kz_national_id", "am_national_id"))


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
