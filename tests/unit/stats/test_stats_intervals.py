"""The interval attack and the protection interval: what leaves the node, attacked with all
its flags, narrows no blank below the agreement's interval; the optimiser's pattern costs no
more cells than the heuristic's."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from stats_interval_checks import intervals

from migrex.agreements.codelists import interior_codes
from migrex.stats import ConfStatus, Dimension, Knowledge, LinkedTables, protect_linked
from migrex.stats.intervals import feasible_intervals, requirement, shortfalls
from migrex.stats.linked import _cost_rank, heuristic_linked, protection_of
from migrex.stats.pattern import Problem
from migrex.stats.published import Observation
from migrex.stats.release import ReleaseDimension, ReleaseTemplate
from migrex.stats.sdmx import release_to_sdmx_csv, release_to_sdmx_ml
from migrex.stats.secondary import complete
from migrex.stats.vintages import from_flags, from_versions

TEMPLATE = ReleaseTemplate(
    agreement_id="kz-am-2024",
    dataset_id="kz-workers-in-am",
    title="Citizens of Kazakhstan working in Armenia",
    producer="am-mcs",
    host_state="AM",
    citizenship="KZ",
    unit="PS",
    dimensions=(
        ReleaseDimension("region", "CL_REGION_AM"),
        ReleaseDimension("sex", "CL_SEX"),
        ReleaseDimension("age", "CL_AGE"),
    ),
    version=1,
    prepared_at=datetime(2026, 1, 15, tzinfo=UTC),
)
DIMENSIONS = tuple(Dimension(d.id.upper(), interior_codes(d.codelist)) for d in TEMPLATE.dimensions)
TABLES = [("REGION", "SEX"), ("AGE", "SEX")]


def _workers(persons: int, seed: int) -> LinkedTables:
    """Skewed counts, as real registries are: a few regions hold most workers."""
    rng = np.random.default_rng(seed)
    shape = tuple(len(d.codes) for d in DIMENSIONS)
    weights = np.ones(shape)
    for axis, n in enumerate(shape):
        share = rng.dirichlet(np.full(n, 0.6))
        weights = weights * share.reshape([n if a == axis else 1 for a in range(len(shape))])
    counts = rng.multinomial(persons, weights.reshape(-1)).reshape(shape)
    return LinkedTables.from_counts(DIMENSIONS, counts, TABLES)


def _outgoing_flags(text: str, keys: tuple[tuple[str, ...], ...]) -> list[ConfStatus]:
    """The CONF_STATUS of every cell as an SDMX-CSV payload carries it, in design order."""
    rows = {
        (row["REGION"], row["SEX"], row["AGE"]): ConfStatus(row["CONF_STATUS"])
        for row in csv.DictReader(io.StringIO(text))
    }
    return [rows[key] for key in keys]


def _short(tables: LinkedTables, blank: NDArray[np.bool_], knowledge: Knowledge) -> list[int]:
    values = tables.values
    found = feasible_intervals(tables.design.lines.cells, values, blank, knowledge, cap=10**6)
    return shortfalls(found, values, requirement(values, blank, knowledge, 5))


def test_the_old_flags_narrow_blanks_and_what_leaves_now_does_not() -> None:
    tables = _workers(400, 11)
    release = protect_linked(tables, 5)
    keys = tables.design.keys
    stored = TEMPLATE.release(2025, tuple(release.observations()))
    assert stored.primary_count > 0
    # As releases went out before: "A" tells a reader the cell holds 1 to 4 persons.
    old = from_flags(release.status, 5)
    assert _short(tables, release.blank, old)
    # What leaves the node now: SDMX-CSV and SDMX-ML carry one code for every blank.
    flags = _outgoing_flags(release_to_sdmx_csv(stored), keys)
    assert set(flags) == {ConfStatus.FREE, ConfStatus.CONFIDENTIAL}
    assert 'CONF_STATUS="A"' not in release_to_sdmx_ml(stored)
    assert _short(tables, release.blank, from_flags(flags, 5)) == []


@settings(max_examples=12, deadline=None)
@given(st.integers(60, 600), st.integers(0, 10_000), st.integers(1, 8))
def test_no_blank_is_narrowed_below_the_interval_by_every_table_with_its_flags(
    persons: int, seed: int, protection: int
) -> None:
    tables = _workers(persons, seed)
    release = protect_linked(tables, 5, protection=protection)
    flags = [status.published for status in release.status]
    values, blank = tables.values, release.blank
    # Judged by an attack written apart from the one the protection uses.
    for cell, (least, most) in intervals(tables.design.lines.cells, values, blank).items():
        assert flags[cell] is ConfStatus.CONFIDENTIAL
        value = int(values[cell])
        assert value - least >= min(protection, value)
        assert most - value >= protection
    # Shared cells agree: each key is one observation, the same in every table's view.
    for view, ids in zip(release.tables, tables.design.ids, strict=True):
        assert view.status == tuple(release.status[i] for i in ids.tolist())
        assert view.values.tolist() == release.values[ids].tolist()
    # Margins are true: the published margins equal the sums of the true counts.
    for line in tables.design.lines.cells:
        assert int(values[list(line[:-1])].sum()) == int(values[line[-1]])
    shown = [o for o in release.observations() if o.value is not None]
    assert all(o.value == values[tables.design.cell(o.key)] for o in shown)


def test_the_interval_attack_agrees_with_an_independent_one() -> None:
    tables = _workers(300, 5)
    blank = protect_linked(tables, 5).blank
    ours = feasible_intervals(tables.design.lines.cells, tables.values, blank, cap=10**6)
    theirs = intervals(tables.design.lines.cells, tables.values, blank)
    assert ours.keys() == theirs.keys()
    for cell, (least, most) in ours.items():
        assert (least, most) == (theirs[cell][0], theirs[cell][1]) or (
            math.isinf(most) and math.isinf(theirs[cell][1]) and least == theirs[cell][0]
        )


def test_the_optimiser_blanks_no_more_cells_than_the_heuristic() -> None:
    fewer = 0
    for seed in range(6):
        tables = _workers(250, seed)
        design, values = tables.design, tables.values
        optimised = protection_of(tables, 5)
        assert optimised.method == "optimiser"
        # The heuristic's pattern, completed until the interval attack finds nothing.
        heuristic = heuristic_linked(tables, 5)
        problem = Problem(design.lines, values, heuristic, Knowledge.counts_only(design.size), 5)
        complete(problem, heuristic, _cost_rank(design, values))
        assert int(optimised.blank.sum()) <= int(heuristic.sum())
        fewer += int(optimised.blank.sum()) < int(heuristic.sum())
    assert fewer >= 3


def test_a_revision_keeps_earlier_blanks_blank_and_counts_what_they_published() -> None:
    tables = _workers(400, 3)
    keys, values = tables.design.keys, tables.values
    # Version 1 went out with threshold 3: cells of 3 and 4 persons were published.
    first = protect_linked(tables, 3)
    knowledge, withheld = from_versions(keys, values, [first.observations()], 5)
    published = ~first.blank
    assert (knowledge.known() == published).all()
    second = protect_linked(tables, 5, forced=withheld, knowledge=knowledge)
    assert not (first.blank & ~second.blank).any()
    # The attacker holds both versions: no blank of version 2 is narrowed below what version
    # 1 left open (a cell version 1 published is public already, and nothing can hide it).
    problem = Problem(tables.design.lines, values, second.blank, knowledge, 5)
    found = feasible_intervals(tables.design.lines.cells, values, second.blank, knowledge)
    assert shortfalls(found, values, problem.required(second.blank)) == []
    # Cells version 1 left free are protected in full: its published cells are known, and
    # the waiver covers only what those (and its old codes) pin.
    free_before = first.blank & ~knowledge.known() & (knowledge.low == 0)
    _, up = problem.reachable
    assert (up[free_before & np.isinf(knowledge.high)] > 0).all()


def test_an_old_primary_code_still_true_of_the_count_bounds_the_cell() -> None:
    keys = (("a",), ("b",), ("c",))
    values = np.array([3, 40, 0])
    earlier = [
        Observation(("a",), None, ConfStatus.PRIMARY),
        Observation(("b",), None, ConfStatus.SECONDARY),
        Observation(("c",), None, ConfStatus.CONFIDENTIAL),
    ]
    knowledge, withheld = from_versions(keys, values, [earlier], 5)
    assert knowledge.low.tolist() == [1, 5, 0]
    assert knowledge.high.tolist() == [4, math.inf, math.inf]
    assert withheld.tolist() == [True, True, True]
