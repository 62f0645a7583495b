"""`migrex bench linkage` on a small population: every figure is measured, none is missing."""

from __future__ import annotations

import json

import pytest

from migrex.linkage.bench import run


def test_the_benchmark_prints_measured_figures(capsys: pytest.CaptureFixture[str]) -> None:
    run(
        persons=10_000, seed=3, dense=100, transfer_records=20_000, attacked=300, febrl=False,
        as_json=True,
    )  # fmt: skip
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["left_records"] > figures["right_records"] > 0
    assert figures["encode_records_per_s"] > 0
    assert figures["dice_comparisons_per_s"]["1"] > figures["numpy_popcount_comparisons_per_s"]
    assert figures["cross_script_precision"] >= 0.99
    assert figures["cross_script_recall"] >= 0.97
    assert figures["pair_completeness"] >= 0.995
    assert figures["dual_citizens"] == 300
    transfer = figures["transfer"]
    assert transfer["records"] == 20_000 and transfer["chunks"] == 1
    assert figures["transfer_mb_per_s"] > 0 and transfer["megabytes"] > 20_000 * 128 / 1e6
    assert figures["attack_encodings"] == 300
    rates = figures["attack_rates"]
    chosen = figures["hardening"]
    assert chosen == "salted_by_date_and_sex_with_decoys"
    in_group = figures["attack_rates_in_one_salt_group"]
    assert figures["reidentification_rate_whole_population"] == rates[chosen]["max"]
    assert figures["reidentification_rate_in_one_salt_group"] == (in_group[chosen]["max"])
    assert figures["reidentification_rate"] == max(rates[chosen]["max"], in_group[chosen]["max"])
    assert all(0 <= r <= 1 for kind in rates.values() for r in kind.values())
    assert rates["unhardened"]["max"] > 0
    f1 = figures["cross_script_f1_by_hardening"]
    assert set(f1) == set(rates) and f1[chosen] == figures["cross_script_f1"]
    assert all(0.9 <= value <= 1 for value in f1.values())
    assert figures["f1_cost_points"] == round(
        100 * (f1["unhardened"] - figures["cross_script_f1"]), 2
    )
    # The two states' passports differ, and decoys' numbers are fresh: no passport block.
    assert figures["pairs_per_pass"]["passport"] == 0
    assert figures["cross_script_decoy_pairs"] >= 0
    assert figures["febrl4"] == "not run: --no-febrl" and figures["febrl4_f1"] is None
