"""Decoys look like the register's people, resolve to no one, and are made again the same
from the same draws; the linkage finds the same people with them, and the graph attacks
inside one salt group lose them."""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from migrex.linkage.attack import one_salt_group, score_graph_attack
from migrex.linkage.decoys import MAX_PER_RECORD, decoys, with_decoys
from migrex.linkage.encoder import encode_filters
from migrex.linkage.evaluation import scored, truth_pairs
from migrex.linkage.layout import DECOYS, SALT
from migrex.linkage.linking import link
from migrex.linkage.party import decoys_of
from migrex.linkage.records import Register
from migrex.linkage.runs import HARDENING_VERSION
from migrex.registry.columns import Kind
from migrex.synth import Population, generate

KEY = bytes(range(32))


@cache
def population() -> Population:
    return generate(10_000, 7)


@cache
def citizens(state: str = "KZ") -> Register:
    return Register.from_table(population().table(state, Kind.CITIZENS))


def _column(register: Register, name: str) -> list[str | None]:
    return register.columns[name].to_pylist()


@settings(max_examples=25, deadline=None)
@given(count=st.integers(1, 400), seed=st.integers(0, 2**32))
@example(count=400, seed=86)  # a fresh number once drew one the register holds
def test_every_part_of_a_decoy_is_a_part_of_some_record(count: int, seed: int) -> None:
    register = citizens()
    made = decoys(register, count, np.random.default_rng(seed))
    assert len(made) == count and list(made.columns) == list(register.columns)
    pairs = set(zip(_column(register, "birth_date"), _column(register, "sex"), strict=True))
    surnames = set(zip(_column(register, "surname"), _column(register, "surname_latin"),
                       _column(register, "sex"), strict=True))  # fmt: skip
    for date, sex, surname, latin in zip(
        *(_column(made, c) for c in ("birth_date", "sex", "surname", "surname_latin")), strict=True
    ):
        assert (date, sex) in pairs  # date and sex drawn together: the salt groups stay real
        assert (surname, latin, sex) in surnames  # a name of the decoy's own sex, forms kept
    # No decoy holds an id or a passport number of the register.
    assert not set(_column(made, "national_id")) & set(_column(register, "national_id"))
    held = set(pc.drop_null(register.columns["passport_number"]).to_pylist())
    fresh = pc.drop_null(made.columns["passport_number"]).to_pylist()
    assert not held & set(fresh) and len(set(fresh)) == len(fresh)
    assert len(set(_column(made, "national_id"))) == count  # each its own pseudonym


def test_the_same_draws_make_the_same_decoys_in_the_same_places() -> None:
    register = citizens()
    first, origin = with_decoys(register, 1.0, np.random.default_rng(5))
    again, origin_again = with_decoys(register, 1.0, np.random.default_rng(5))
    other, _ = with_decoys(register, 1.0, np.random.default_rng(6))
    assert all(first.columns[c].equals(again.columns[c]) for c in register.columns)
    assert np.array_equal(origin, origin_again)
    assert not first.columns["national_id"].equals(other.columns["national_id"])
    # Every person once, in a random place; the rest are decoys.
    assert len(first) == 2 * len(register)
    assert sorted(origin[origin >= 0].tolist()) == list(range(len(register)))
    people = np.flatnonzero(origin >= 0)
    assert _column(first, "national_id")[int(people[0])] == \
        _column(register, "national_id")[int(origin[people[0]])]  # fmt: skip
    assert origin[: len(register)].min() == -1  # decoys are not all at the end


def test_no_decoys_leaves_the_register_as_it_is_and_too_many_are_refused() -> None:
    register = citizens()
    same, origin = with_decoys(register, 0.0)
    assert same is register and np.array_equal(origin, np.arange(len(register)))
    with pytest.raises(ValueError, match="decoys per record"):
        with_decoys(register, MAX_PER_RECORD + 1)


def test_linkage_with_decoys_finds_the_same_people() -> None:
    kz, am = citizens("KZ"), citizens("AM")
    truth = truth_pairs(population().ground_truth.dual_citizens, kz, am)
    plain = scored(link(kz, am, key=KEY), truth)
    decoyed = link(kz, am, key=KEY, decoys=1.0, seed=3)
    quality = scored(decoyed, truth)
    assert quality["recall"] >= plain["recall"] - 0.01
    assert quality["precision"] >= plain["precision"] - 0.01
    # The matches name the registers' own rows, never a decoy's.
    assert decoyed.matches.left.max() < len(kz) and decoyed.matches.right.max() < len(am)
    assert quality["pair_completeness"] >= plain["pair_completeness"] - 0.01


def test_decoys_hide_a_salt_groups_people_from_the_graph_attack() -> None:
    group = one_salt_group(citizens(), size=150, seed=3)

    def found(scene: object, people: np.ndarray) -> float:  # type: ignore[type-arg]
        filters = encode_filters(scene.encoded, KEY, salt=SALT)  # type: ignore[attr-defined]
        guesses = score_graph_attack(filters, group.attacker, salt=SALT, seed=1)
        hit = (guesses >= 0) & (guesses == scene.rows) & people  # type: ignore[attr-defined]
        return float(hit.sum()) / int(people.sum())

    bare = found(group, np.ones(len(group.encoded), np.bool_))
    mixed = group.with_decoys(1.0, np.random.default_rng(2))
    assert mixed.people is not None
    assert bare >= 0.8
    assert found(mixed, mixed.people) <= 0.15


def test_a_run_mixes_in_the_decoys_of_its_version_whatever_its_proposal_states() -> None:
    def run(version: str, stated: object) -> Any:
        proposal = SimpleNamespace(hardening_version=version,
                                   hardening={"decoys_per_record": stated})  # fmt: skip
        return SimpleNamespace(proposal=proposal)

    assert decoys_of(run(HARDENING_VERSION, 100)) == DECOYS  # a hostile statement changes nothing
    assert decoys_of(run(HARDENING_VERSION, "many")) == DECOYS
    assert decoys_of(run("migrex-bloom/2", 1)) == 0.0  # a run of the version before decoys
