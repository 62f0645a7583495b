"""The planted dual citizens carry every kind of variation two registers show, each as its ground
truth says; the near misses are other people and never in the truth."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrex.registry.columns import Kind
from migrex.registry.scripts import check_latin_name, check_local_name
from migrex.synth import MIN_PERSONS, Population, generate
from migrex.synth.arrays import day, to_date
from migrex.synth.dual import DUAL_CITIZENS, NEAR_MISSES
from migrex.synth.variation import (
    KINDS,
    passport_variants,
    russified_ov,
    swap_day_month,
    swappable,
    typo,
    with_yants,
)


@pytest.fixture(scope="module")
def population() -> Population:
    return generate(MIN_PERSONS, 11)


def _pairs(population: Population) -> list[tuple[dict[str, Any], dict[str, Any], set[str]]]:
    """(Kazakh row, Armenian row, kinds of variation) of each planted pair."""
    kz = {r["national_id"]: r for r in population.table("KZ", Kind.CITIZENS).to_pylist()}
    am = {r["national_id"]: r for r in population.table("AM", Kind.CITIZENS).to_pylist()}
    return [
        (
            kz[p["kz_national_id"]],
            am[p["am_national_id"]],
            set(filter(None, p["variations"].split(","))),
        )
        for p in population.ground_truth.dual_citizens.to_pylist()
    ]


def test_every_kind_of_variation_is_planted(population: Population) -> None:
    counts = Counter(kind for _, _, kinds in _pairs(population) for kind in kinds)
    assert set(counts) == set(KINDS)
    assert population.ground_truth.dual_citizens.num_rows == DUAL_CITIZENS  # one row a pair
    assert counts["day_month_swap"] >= 5 and counts["maiden_name"] >= 5
    # Most pairs still differ only as two scripts do.
    assert sum(1 for _, _, kinds in _pairs(population) if not kinds - {"russified_surname"}) > 100


def test_each_pair_differs_as_its_kinds_say(population: Population) -> None:
    for kz, am, kinds in _pairs(population):
        assert kz["sex"] == am["sex"]
        for row, node in ((kz, "KZ"), (am, "AM")):
            for column in ("surname", "given_name"):
                assert check_local_name(row[column], node) is None
            for column in ("surname_latin", "given_name_latin"):
                assert check_latin_name(row[column]) is None
        born, recorded = kz["birth_date"], am["birth_date"]
        if "day_month_swap" in kinds:
            assert recorded == born.replace(month=born.day, day=born.month) != born
        elif "birth_date_typo" in kinds:
            assert abs(recorded - born) == timedelta(days=1)
        else:
            assert recorded == born
        assert ("patronymic_dropped" in kinds) == (
            kz["patronymic"] is None and am["patronymic"] is not None
        )
        assert ("patronymic_added" in kinds) == (
            kz["patronymic"] is not None and am["patronymic"] is None
        )
        if "maiden_name" in kinds:
            assert kz["sex"] == "F"
        if "surname_ov" in kinds:
            assert kz["surname"].endswith(("ов", "ова")) and kz["surname_latin"].endswith(
                ("OV", "OVA")
            )
            assert am["surname"].endswith("յան")
        if "surname_yants" in kinds:  # (a typo may have struck the ending since)
            endings = (kz["surname"][-3:], am["surname"][-4:])
            assert "typo" in kinds or "янц" in endings or "յանց" in endings
            assert "YANTS" in kz["surname_latin"] + am["surname_latin"]


def test_russified_surnames_are_the_issues_examples(population: Population) -> None:
    russified = [(kz, am) for kz, am, kinds in _pairs(population) if "russified_surname" in kinds]
    assert len(russified) >= 50
    assert all(kz["surname_latin"] != am["surname_latin"] for kz, am in russified)
    # Somebody is OGANESYAN or AKOPYAN in Kazakhstan and HOVHANNISYAN or HAKOBYAN in Armenia.
    assert {am["surname_latin"] for _, am in russified} & {"HOVHANNISYAN", "HAKOBYAN", "SARGSYAN"}


def test_near_misses_are_other_people_and_not_in_the_truth(population: Population) -> None:
    truth = population.ground_truth
    dual = set(truth.dual_citizens["kz_national_id"].to_pylist()) | set(
        truth.dual_citizens["am_national_id"].to_pylist()
    )
    near = truth.near_misses.to_pylist()
    assert Counter(p["kind"] for p in near) == NEAR_MISSES
    assert not ({p["kz_national_id"] for p in near} | {p["am_national_id"] for p in near}) & dual
    similar = [p for p in near if p["kind"] == "similar_names"]
    for pair in similar:  # born the same day, of one sex, another given name, another father
        assert pair["kz_birth_date"] == pair["am_birth_date"] and pair["kz_sex"] == pair["am_sex"]
        assert pair["kz_given_name_latin"] != pair["am_given_name_latin"]


@given(st.dates(date(1930, 1, 1), date(2010, 12, 31)))
def test_a_day_and_month_swap_keeps_the_year(born: date) -> None:
    days = np.array([day(born.year, born.month, born.day)], dtype=np.int32)
    if not swappable(days)[0]:
        assert born.day > 12 or born.day == born.month
        return
    swapped = to_date(int(swap_day_month(days)[0]))
    assert (swapped.year, swapped.month, swapped.day) == (born.year, born.day, born.month)


@given(st.text("абвгдеклмнопрстя", min_size=4, max_size=12), st.integers(0, 2), st.floats(0, 0.999))
def test_a_typo_changes_one_letter_and_keeps_the_first(word: str, kind: int, at: float) -> None:
    slipped = typo(word, kind, at)
    assert slipped[0] == word[0]
    assert abs(len(slipped) - len(word)) <= 1
    assert sorted(slipped) == sorted(word) or len(slipped) != len(word)


def test_russified_and_older_endings_and_earlier_passports() -> None:
    assert russified_ov("Акопян", "AKOPYAN", False) == ("Акопов", "AKOPOV")
    assert russified_ov("Саркисян", "SARKISYAN", True) == ("Саркисова", "SARKISOVA")
    assert russified_ov("Иванов", "IVANOV", False) is None
    assert with_yants("Карапетян", "KARAPETYAN") == ("Карапетянц", "KARAPETYANTS")
    assert with_yants("Հակոբյան", "HAKOBYAN") == ("Հակոբյանց", "HAKOBYANTS")
    assert passport_variants("HOVHANNISYAN", "AM") == ["HOVHANNISIAN", "OVANNISYAN"]
    assert passport_variants("KHACHATRYAN", "AM") == ["KHACHATRIAN", "XACHATRYAN"]
    assert passport_variants("OGANESYAN", "KZ") == ["OGANESIAN"]
    assert passport_variants("PETROV", "KZ") == []


def test_the_variation_is_the_same_for_the_same_seed() -> None:
    first = generate(MIN_PERSONS, 5).ground_truth.dual_citizens
    again = generate(MIN_PERSONS, 5).ground_truth.dual_citizens
    assert first.equals(again)
    assert first.column("variations").type == pa.string()
