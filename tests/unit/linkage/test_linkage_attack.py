"""The attack harness: each attack re-identifies a clear share of unhardened encodings of a
small synthetic population; the default hardening (salting by birth date and sex) brings
frequency analysis and pattern mining under the issue's goal of 1 % and graph matching to
about it, but not inside one salt group, where graph matching on the unit's own score finds
nearly everyone and the harness says so; it reports shares in [0, 1], and no attack is
handed the run's key.

The thresholds: the attacker's list holds some 700 distinct surnames and as many given
names, and 1,000 people; a guess at random names under 0.2 % of encodings rightly. The
thresholds sit well above that and well below what was measured on this population (the
frequency attack names some 25–45 % of surnames or given names, pattern mining 5–40 % with
other keys, graph matching 15–65 % of people at full overlap), so they fail if an attack
stops working, not when a key shifts a tie."""

from __future__ import annotations

import inspect
from functools import cache

import numpy as np
import pytest

from migrex.linkage import attack
from migrex.linkage.attack import (
    ATTACKS,
    NAME_FIELDS,
    Scene,
    frequency_attack,
    graph_attack,
    name_labels,
    name_texts,
    one_salt_group,
    pattern_mining_attack,
    rates,
    scene,
    score_graph_attack,
    segment_of,
)
from migrex.linkage.encoder import encode_filters
from migrex.linkage.evaluation import (
    ATTACK_STEPS,
    HARDENINGS,
    REIDENTIFICATION_GOAL,
    attack_figures,
)
from migrex.linkage.layout import LAYOUT, SALT, Words
from migrex.linkage.records import Register
from migrex.registry.columns import Kind
from migrex.synth import generate

KEY = bytes(range(32))
HASHES = {s.field: s.hashes for s in LAYOUT.segments}


@cache
def setting(overlap: float = 1.0) -> Scene:
    population = Register.from_table(generate(10_000, 5).table("KZ", Kind.CITIZENS))
    return scene(population, size=1000, overlap=overlap, seed=3)


@cache
def group(size: int = 200) -> Scene:
    population = Register.from_table(generate(10_000, 5).table("KZ", Kind.CITIZENS))
    return one_salt_group(population, size=size, seed=3)


@cache
def unhardened() -> Words:
    return encode_filters(setting().encoded, KEY, salt=None)


def named_right(guesses: np.ndarray, field: str) -> float:  # type: ignore[type-arg]
    """The share of encodings named with their own name (as the encoder sees it)."""
    true = np.array(name_texts(setting().encoded, field), dtype=object)
    theirs = np.array(name_texts(setting().attacker, field), dtype=object)
    return float(((guesses >= 0) & (theirs[np.maximum(guesses, 0)] == true)).mean())


def test_the_scene_holds_the_overlap_asked_for() -> None:
    half = setting(0.5)
    assert len(half.encoded) == len(half.attacker) == 1000
    assert (half.rows >= 0).sum() == 500
    held = half.rows[half.rows >= 0]
    # The truth points at the same person in the attacker's list.
    ours = np.array(half.encoded.ids.to_pylist(), dtype=object)[half.rows >= 0]
    theirs = np.array(half.attacker.ids.to_pylist(), dtype=object)[held]
    assert (ours == theirs).all()


@pytest.mark.parametrize("field", NAME_FIELDS)
def test_the_frequency_attack_names_unhardened_encodings(field: str) -> None:
    labels = name_labels(setting().attacker, field, salt=None)
    guesses = frequency_attack(segment_of(unhardened(), field), labels)
    assert named_right(guesses, field) >= 0.15


def test_pattern_mining_names_unhardened_encodings() -> None:
    found = 0.0
    for field in NAME_FIELDS:
        segments = segment_of(unhardened(), field)
        seeds = frequency_attack(segments, name_labels(setting().attacker, field, salt=None))
        guesses = pattern_mining_attack(
            segments, setting().attacker, field, seeds, hashes=HASHES[field]
        )
        found = max(found, named_right(guesses, field))
    assert found >= 0.03


def test_graph_matching_matches_unhardened_encodings_to_their_people() -> None:
    guesses = graph_attack(unhardened(), setting().attacker, salt=None, seed=1)
    assert ((guesses >= 0) & (guesses == setting().rows)).mean() >= 0.08


def test_salting_by_year_defeats_the_frequency_attack_that_ignores_it() -> None:
    salted = encode_filters(setting().encoded, KEY, salt="year")
    for field in NAME_FIELDS:
        labels = name_labels(setting().attacker, field, salt=None)
        plain = named_right(frequency_attack(segment_of(unhardened(), field), labels), field)
        hardened = named_right(frequency_attack(segment_of(salted, field), labels), field)
        assert hardened < plain / 5


def test_the_harness_reports_shares_between_zero_and_one() -> None:
    steps: list[str] = []
    figures = attack_figures(setting(0.75), group(100), progress=steps.append)
    assert figures["encodings"] == 1000 and figures["overlap"] == 0.75
    assert figures["one_salt_group_size"] == 100
    for shares in [figures[kind] for kind in HARDENINGS] + list(figures["one_salt_group"].values()):
        assert set(shares) == {*ATTACKS, "max"}
        assert all(0.0 <= shares[a] <= 1.0 for a in ATTACKS)
        assert shares["max"] == max(shares[a] for a in ATTACKS)
    assert set(figures["one_salt_group"]) == set(HARDENINGS)
    assert figures["unhardened"]["max"] >= 0.1  # the attacks work: the harness proves something
    default = figures["hardening"]
    assert default == "salted_by_date_and_sex_with_decoys"
    # The rate reported is the worse of the two scenes: inside the group, salting is no help.
    assert figures["reidentification_rate_whole_population"] == figures[default]["max"]
    assert (
        figures["reidentification_rate_in_one_salt_group"]
        == (figures["one_salt_group"][default]["max"])
    )
    assert figures["reidentification_rate"] == max(
        figures[default]["max"], figures["one_salt_group"][default]["max"]
    )
    # Salting alone is no help inside the group; decoys take the graph attacks down.
    salted_only = figures["one_salt_group"]["salted_by_date_and_sex"]
    decoyed = figures["one_salt_group"][default]
    assert salted_only["graph_matching_by_score"] >= 0.5
    assert decoyed["graph_matching_by_score"] <= salted_only["graph_matching_by_score"] / 3
    assert figures["goal_met"] == (figures["reidentification_rate"] <= figures["goal"])
    assert len(steps) == ATTACK_STEPS == len(HARDENINGS) * (2 * attack.STEPS + 1)


def test_no_attack_is_handed_a_key() -> None:
    """The attacker has the encodings, his own list and the public code: no function of the
    module takes the run's key, and `rates` takes only the filters and the scene."""
    for name, function in inspect.getmembers(attack, inspect.isfunction):
        if function.__module__ != attack.__name__:
            continue
        parameters = inspect.signature(function).parameters
        assert not any("key" in p for p in parameters), name
    assert list(inspect.signature(rates).parameters) == [
        "filters", "setting", "salt", "layout", "progress",
    ]  # fmt: skip
    # What the scene hands over is registers and the truth only the harness reads.
    assert set(Scene.__dataclass_fields__) == {"encoded", "attacker", "rows", "people", "source"}


def test_the_frequency_attack_works_under_any_run_key() -> None:
    """The attack does not depend on the key: under another one the encodings change, the
    attacker's knowledge does not, and he names as many."""
    other = encode_filters(setting().encoded, bytes(range(1, 33)), salt=None)
    labels = name_labels(setting().attacker, "given_name", salt=None)
    a = named_right(frequency_attack(segment_of(unhardened(), "given_name"), labels), "given_name")
    b = named_right(frequency_attack(segment_of(other, "given_name"), labels), "given_name")
    assert a >= 0.15 and b >= 0.15


def graph_matched(salt: str | None, seed: int) -> float:
    """The share of people the graph attack matches right, the attacker mirroring `salt`."""
    filters = encode_filters(setting().encoded, KEY, salt=salt)
    guesses = graph_attack(filters, setting().attacker, salt=salt, seed=seed)
    return float(((guesses >= 0) & (guesses == setting().rows)).mean())


def test_the_default_hardening_leaves_the_graph_attack_under_the_goal() -> None:
    """Salted by birth date and sex (the default), a name shares bits only with people of
    the same sex born the same day, and the date and sex segments are the same for all: the
    graph attack, knowing the scheme, matches under 1 % of a thousand people at full
    overlap (the mean over three of the attacker's own keys: 0.5-1.1 % each was measured,
    about what the filters' weights alone give away). The same bound fails salted by year
    (the former default; 6-7 % measured) and unhardened (50-75 %), so it tells the
    hardenings apart."""

    def mean(salt: str | None) -> float:
        return float(np.mean([graph_matched(salt, seed) for seed in (1, 2, 3)]))

    assert mean("date-sex") <= REIDENTIFICATION_GOAL
    assert mean("year") > 3 * REIDENTIFICATION_GOAL
    assert mean(None) > 30 * REIDENTIFICATION_GOAL


def test_the_default_hardening_defeats_frequency_and_pattern_mining() -> None:
    """Knowing the salting, the attacker counts his names per salt as well: no segment of a
    name is frequent enough to align, so neither attack names anyone."""
    shares = rates(encode_filters(setting().encoded, KEY), setting(), salt=SALT)
    assert shares["frequency"] <= REIDENTIFICATION_GOAL
    assert shares["pattern_mining"] <= REIDENTIFICATION_GOAL


def score_matched(scene_: Scene, salt: str | None, seed: int) -> float:
    """The share of people the graph attack on the unit's score matches right."""
    filters = encode_filters(scene_.encoded, KEY, salt=salt)
    guesses = score_graph_attack(filters, scene_.attacker, salt=salt, seed=seed)
    return float(((guesses >= 0) & (guesses == scene_.rows)).mean())


def test_graph_matching_on_the_units_score_is_the_strongest_attack() -> None:
    """The unit's own score weighs each field as what it is, where whole-filter Dice lets
    the fields alike for everyone drown the names: unhardened, it matches nearly everyone
    (0.99-1.0 measured, against 0.15-0.65 for whole-filter Dice). Salted by date and sex it
    matches about the goal's 1 % of a thousand people (0.5-1.6 % measured over five of the
    attacker's keys): what the filters' weights and the few people sharing a salt give
    away; salted by year, 11-14 %."""
    assert score_matched(setting(), None, 1) >= 0.9
    assert score_matched(setting(), None, 1) > graph_matched(None, 1)
    assert np.mean([score_matched(setting(), SALT, seed) for seed in (1, 2, 3)]) <= 0.025
    assert np.mean([score_matched(setting(), "year", seed) for seed in (1, 2, 3)]) >= 0.05


def test_inside_one_salt_group_the_encoding_is_as_exposed_as_an_unsalted_one() -> None:
    """What the harness's thousand people drawn from a whole population cannot show: in a
    large register a few hundred people share a birth date and a sex, hence a salt, and
    inside that group the graph attack does at least as well on the hardened encoding as on
    an unsalted one (nearly all of 200 people, the attacker holding them all; unsalted, the
    date's bits, the same for all, blur the names' a little)."""
    people = group()
    assert len(set(people.encoded.columns["birth_date"].to_pylist())) == 1
    assert set(people.encoded.columns["sex"].to_pylist()) == {"M"}
    assert (people.rows >= 0).all()
    shares = {}
    for salt in (SALT, None):
        guesses = graph_attack(encode_filters(people.encoded, KEY, salt=salt), people.attacker,
                               salt=salt, seed=1)  # fmt: skip
        shares[salt] = float(((guesses >= 0) & (guesses == people.rows)).mean())
    assert shares[SALT] >= 0.5
    assert shares[SALT] >= shares[None] - 0.1
    assert score_matched(people, SALT, 1) >= 0.5
