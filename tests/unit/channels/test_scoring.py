"""Scoring a cluster: Wilson intervals, and a card that explains itself in JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrex.channels.egonets import wilson_low
from migrex.channels.pipeline import run
from migrex.channels.scoring import SIGNALS_NOT_USED, Z95, simultaneous_z, wilson
from migrex.channels.worlds import Plant, random_registers


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (47, 64, 0.6152, 0.8270)],
)
def test_wilson_interval(k: int, n: int, low: float, high: float) -> None:
    assert wilson(k, n) == pytest.approx((low, high), abs=1e-4)


@given(n=st.integers(0, 5000), share=st.floats(0, 1))
def test_array_and_scalar_wilson_agree(n: int, share: float) -> None:
    k = int(share * n)
    expected = wilson(k, n)[0] if n else 0.0
    got = wilson_low(np.array([float(k)]), np.array([float(n)]))[0]
    assert got == pytest.approx(expected, abs=1e-9)


def test_a_card_explains_its_score() -> None:
    registers, (planted,) = random_registers(3, plant=Plant())
    card = run(registers).cards[0]
    document = json.loads(json.dumps(card.to_json()))
    assert set(document["member_record_ids"]) & planted
    assert document["signals_not_used"] == list(SIGNALS_NOT_USED)
    density = document["density"]
    assert density["observed"] > density["expected"] * 10
    violations = document["violations"]
    assert violations["interval_95"][0] <= violations["rate"] <= violations["interval_95"][1]
    assert document["burst"]["arrivals"] <= document["members"]
    kinds = {entity["kind"] for entity in document["shared_entities"]}
    assert {"party", "address"} <= kinds
    assert all(entity["sources"] for entity in document["shared_entities"])
    assert document["benign_explanations"]


def test_intervals_hold_for_all_the_clusters_scored_at_once() -> None:
    """A flat of four with two violators (base rate 2.55 %) is a lift of 5.9 on its own
    interval; among the 600 clusters a million persons give, one such flat is expected by
    chance, and the simultaneous interval leaves it a lift of about 2."""
    assert simultaneous_z(1) == pytest.approx(Z95)
    assert simultaneous_z(600) == pytest.approx(3.93, abs=0.01)
    zs = [simultaneous_z(n) for n in (0, 1, 10, 100, 1000, 10**6)]
    assert zs == sorted(zs)
    alone, among = wilson(2, 4)[0] / 0.0255, wilson(2, 4, simultaneous_z(600))[0] / 0.0255
    assert alone > 5.8 and 1.5 < among < 2.5
