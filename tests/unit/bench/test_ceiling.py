"""The crypto ceiling: the per-message cryptography on every core, and a run's share of it."""

from __future__ import annotations

import pytest

from migrex.bench.ceiling import ceiling_per_s, cores, share_of_ceiling


def test_the_ceiling_is_the_cores_over_the_time_per_message() -> None:
    # 4 ms of cryptography per message: 250 messages a second per core, 500 on two.
    assert ceiling_per_s(0.004, 2) == pytest.approx(500.0)
    assert ceiling_per_s(0.004, 1) == pytest.approx(250.0)


def test_the_share_is_the_rate_over_the_ceiling() -> None:
    assert share_of_ceiling(125.0, 500.0) == pytest.approx(0.25)
    assert share_of_ceiling(ceiling_per_s(0.002, 2), ceiling_per_s(0.002, 2)) == pytest.approx(1)


@pytest.mark.parametrize(("seconds", "count"), [(0.0, 2), (-1.0, 2), (0.004, 0)])
def test_a_ceiling_needs_a_positive_time_and_a_core(seconds: float, count: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        ceiling_per_s(seconds, count)


def test_no_share_of_a_zero_ceiling() -> None:
    with pytest.raises(ValueError, match="positive"):
        share_of_ceiling(100.0, 0.0)


def test_the_cores_are_those_this_process_may_use() -> None:
    assert cores() >= 1
