"""`migrex bench channels`' grid on `migrex synth` populations, at the smallest size."""

from __future__ import annotations

from migrex.channels.bench import SYNTH_CAMOUFLAGE, _synth_grid
from migrex.synth import MIN_PERSONS

FIGURES = ("precision_at_10", "channel_recall_at_20", "member_f1")


def test_synth_grid_scores_every_setting_and_the_null_world() -> None:
    grid = _synth_grid(MIN_PERSONS, 5)
    for setting in ("cohesion_80", "cohesion_50"):
        assert set(grid[setting]) == set(SYNTH_CAMOUFLAGE)
        for figures in grid[setting].values():
            assert figures["channels"] == 11  # with the chains and the brokers
            for name in FIGURES:
                assert 0.0 <= figures[name] <= 1.0
                assert 0.0 <= figures["baseline_most_violators"][name] <= 1.0
            assert set(figures["lift_over_most_violators"]) == set(FIGURES)
    # Tight, uncamouflaged channels are found even at the smallest size.
    assert grid["cohesion_80"]["none"]["channel_recall_at_20"] >= 0.5
    null = grid["null_world"]
    assert null["persons"] == MIN_PERSONS + MIN_PERSONS // 4  # the look-alikes among them
    assert null["false_leads_per_million"] == round(1e6 * null["leads"] / null["persons"], 2)
