"""Detection on random registers: a planted channel is found under FRAUDAR's camouflage,
and registers without one give no lead."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrex.channels.peeling import column_weights, dense_blocks
from migrex.channels.pipeline import run
from migrex.channels.scoring import HIGH_SCORE
from migrex.channels.worlds import Plant, random_registers


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    camouflage=st.sampled_from([0.0, 1.0, 2.0]),
    biased=st.booleans(),
)
def test_a_planted_channel_is_the_top_lead_under_camouflage(
    seed: int, camouflage: float, biased: bool
) -> None:
    registers, (planted,) = random_registers(
        seed, plant=Plant(camouflage=camouflage, biased=biased, cohesion=0.8)
    )
    cards = run(registers).cards
    assert cards, "no lead"
    assert _jaccard(frozenset(cards[0].member_record_ids), planted) >= 0.5
    assert cards[0].score >= HIGH_SCORE


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_no_lead_in_a_register_without_channels(seed: int) -> None:
    registers, none = random_registers(seed)
    assert none == []
    result = run(registers, min_score=0.0)
    assert result.blocks, "the background has dense blocks to score"
    assert max(c.score for c in result.cards) < HIGH_SCORE


@pytest.mark.parametrize("seed", range(3))
def test_a_dense_crew_caught_no_more_than_others_is_no_lead(seed: int) -> None:
    """A hostel of one employer's crew, arriving together: dense and bunched, but caught at
    the base rate. A burst alone makes no lead."""
    registers, (planted,) = random_registers(seed, plant=Plant(caught=0.03))
    cards = run(registers, min_score=0.0).cards
    crew = max(cards, key=lambda c: _jaccard(frozenset(c.member_record_ids), planted))
    assert _jaccard(frozenset(crew.member_record_ids), planted) >= 0.5
    assert crew.burst["ratio_low"] > 10
    assert crew.score < HIGH_SCORE


def test_peeling_finds_a_dense_block_in_noise() -> None:
    """Plain FRAUDAR setting: a 30 × 6 block at 80 % among 2,000 × 500 random edges, with
    1:1 random camouflage."""
    rng = np.random.default_rng(7)
    n_p, n_e = 2000, 500
    rows = list(rng.integers(0, n_p, 6000))
    cols = list(rng.integers(0, n_e, 6000))
    members, entities = np.arange(30), np.arange(n_e - 6, n_e)
    for p in members:
        mine = entities[rng.random(6) < 0.8]
        rows += [p] * (2 * len(mine))
        cols += list(mine) + list(rng.integers(0, n_e - 6, len(mine)))
    adjacency = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_p, n_e))
    adjacency.data[:] = 1.0
    blocks = dense_blocks(adjacency, np.ones(n_e, dtype=bool), min_density=0.3)
    assert blocks
    best = max(blocks, key=lambda b: b.density)
    found = set(best.persons.tolist())
    assert len(found & set(members.tolist())) / len(found | set(members.tolist())) >= 0.5
    assert set(best.entities.tolist()) >= set(entities.tolist())


def test_popular_entities_weigh_less() -> None:
    weights = column_weights(np.array([1, 10, 1000]))
    assert weights[0] > weights[1] > weights[2] > 0
