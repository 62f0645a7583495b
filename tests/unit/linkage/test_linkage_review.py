"""The second look: pairs short of the threshold by a maiden surname or a day/month swap are
found, as "possible" leads only; pairs above it whose fathers differ are not taken."""

from __future__ import annotations

from functools import cache

import numpy as np
import pyarrow as pa
import pytest

from migrex.linkage.compare import BANDS, THRESHOLD, field_counts, pair_scores
from migrex.linkage.evaluation import truth_pairs
from migrex.linkage.linking import Linkage, encode, link
from migrex.linkage.records import FIELDS, Register
from migrex.linkage.review import LOOK_CEILING, second_look
from migrex.registry.columns import Kind
from migrex.synth import Population, generate

KEY = bytes(range(32))


@cache
def population() -> Population:
    return generate(10_000, 5)


@cache
def registers() -> tuple[Register, Register]:
    p = population()
    return (
        Register.from_table(p.table("KZ", Kind.CITIZENS)),
        Register.from_table(p.table("AM", Kind.CITIZENS)),
    )


@cache
def linked(review: bool) -> Linkage:
    kz, am = registers()
    return link(kz, am, key=KEY, review=review)


def _found(linkage: Linkage) -> set[tuple[int, int]]:
    return set(zip(linkage.matches.left.tolist(), linkage.matches.right.tolist(), strict=True))


def _pairs_of(kind: str) -> set[tuple[int, int]]:
    kz, am = registers()
    truth = population().ground_truth.dual_citizens
    rows = [kind in v.split(",") for v in truth["variations"].to_pylist()]
    return truth_pairs(truth.filter(pa.array(rows)), kz, am)


# A maiden surname hides one field from the filters; a day/month swap hides none under the
# default salting, which reads day and month unordered (the names keep their bits), so the
# second look only has to keep what the first found.
@pytest.mark.parametrize(("kind", "hidden"), [("maiden_name", True), ("day_month_swap", False)])
def test_a_second_look_finds_what_one_field_hid(kind: str, hidden: bool) -> None:
    pairs = _pairs_of(kind)
    assert len(pairs) >= 5
    before, after = _found(linked(False)) & pairs, _found(linked(True)) & pairs
    assert len(after) > len(before) if hidden else after >= before
    assert len(after) >= 0.6 * len(pairs)


def test_leads_of_a_second_look_are_possible_at_best() -> None:
    found = linked(True).matches
    raised = (found.scores < LOOK_CEILING + 1e-6) & (found.scores >= THRESHOLD)
    assert raised.any()
    assert {BANDS[b][0] for b in found.bands[found.scores == np.float32(LOOK_CEILING)]} <= {
        "possible"
    }


def test_the_second_look_takes_no_stranger() -> None:
    kz, am = registers()
    truth = truth_pairs(population().ground_truth.dual_citizens, kz, am)
    near = truth_pairs(population().ground_truth.near_misses, kz, am)
    with_review, without = _found(linked(True)), _found(linked(False))
    assert len(with_review & truth) > len(without & truth)
    assert len(with_review - truth) <= len(without - truth)
    assert not with_review & near


def _register(rows: list[dict[str, str]]) -> Register:
    return Register({f: pa.array([r.get(f) for r in rows], pa.string()) for f in FIELDS})


SISTER = {"surname": "Мурадян", "given_name": "Ани", "patronymic": "Арамовна", "sex": "F",
          "birth_date": "1961-03-15", "birth_place": "Армянская ССР, г. Ереван"}  # fmt: skip


# A brother and a sister are apart before any second look: the default salting reads the
# sex, so their names share no bits. The others share a salt and need the second look.
@pytest.mark.parametrize(
    ("other", "why", "salted_apart"),
    [
        ({"surname": "Մուրադյան", "given_name": "Անի", "patronymic": "Դավթի",
          "birth_place": "Երևան"}, "namesakes born the same day in one town, fathers apart", False),
        ({"surname": "Մուրադյան", "given_name": "Աննա", "patronymic": "Արամի",
          "birth_place": "Երևան"}, "twin sisters, Ани and Աննա", False),
        ({"surname": "Մուրադյան", "given_name": "Անի", "patronymic": "Արամի", "sex": "M",
          "birth_place": "Երևան"}, "a brother and a sister", True),
    ],
)  # fmt: skip
def test_a_pair_that_one_field_says_is_two_people_is_doubted(
    other: dict[str, str], why: str, salted_apart: bool
) -> None:
    left = _register([{**SISTER, "national_id": "K1"}])
    right = _register([{**SISTER, **other, "national_id": "A1"}])
    ours, theirs = encode(left, KEY), encode(right, KEY)
    counts = (field_counts(ours.filters), field_counts(theirs.filters))
    zero = np.zeros(1, dtype=np.int64)
    first = pair_scores(ours.filters, theirs.filters, zero, zero, counts=counts)
    # The weighted mean alone takes them for one person, unless the salting kept them apart.
    assert (first[0] < THRESHOLD) if salted_apart else (first[0] >= THRESHOLD), why
    again = second_look(ours.filters, theirs.filters, zero, zero, first, counts=counts)
    assert again[0] < THRESHOLD, why
