"""Paired comparisons on common random numbers: exact cancellation, intervals, the CLI, scenarios."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from govsim.config import ScenarioError
from govsim.experiment.cli import main
from govsim.experiment.compare import compare, paired_table
from govsim.experiment.seeds import run_seed

FN = "govsim.experiment.testfunctions:paired_noise"


def test_paired_seeds_cancel_shared_noise_exactly() -> None:
    # y = 2x + eps(seed): with the same seed on both sides the difference is exactly 2 in every pair
    table, _, _ = compare(FN, set_a=["x=0"], set_b=["x=1"], replicates=12, seed=3, progress=False)
    y = table.set_index("metric").loc["y"]
    assert y["diff"] == pytest.approx(2.0, abs=1e-12)
    assert y["sd_diff"] == pytest.approx(0.0, abs=1e-12)
    assert y["ci_low"] == pytest.approx(2.0, abs=1e-12) and y["ci_high"] == pytest.approx(
        2.0, abs=1e-12
    )
    assert y["mean_a"] != pytest.approx(0.0, abs=1e-3)  # the noise itself is there


def test_interval_is_the_student_t_interval_of_the_paired_differences() -> None:
    n = 9
    table, _, _ = compare(FN, set_a=["x=0"], set_b=["x=1"], replicates=n, seed=11, progress=False)
    z = table.set_index("metric").loc["z"]  # z = x * eps: B - A = eps(seed_r)
    eps = np.array([np.random.default_rng(run_seed(11, r)).normal() for r in range(n)])
    half = stats.t.ppf(0.975, n - 1) * eps.std(ddof=1) / math.sqrt(n)
    assert z["diff"] == pytest.approx(eps.mean(), rel=1e-12)
    assert z["ci_low"] == pytest.approx(eps.mean() - half, rel=1e-12)
    assert z["ci_high"] == pytest.approx(eps.mean() + half, rel=1e-12)
    assert z["p_value"] == pytest.approx(stats.ttest_rel(eps, np.zeros(n)).pvalue, rel=1e-9)


def test_failed_pairs_are_dropped_and_all_failed_is_an_error() -> None:
    ok = {"run_id": 0, "status": "ok", "error": None, "outputs": {"y": 1.0}}
    bad = {"run_id": 1, "status": "failed", "error": "ValueError: boom", "outputs": {}}
    table = paired_table(
        [ok, ok, ok], [{**ok, "outputs": {"y": 2.0}}, bad, {**ok, "outputs": {"y": 4.0}}]
    )
    assert table.loc[0, "n"] == 2 and table.loc[0, "diff"] == pytest.approx(2.0)
    with pytest.raises(ScenarioError, match="no replicate completed on both sides"):
        paired_table([bad], [bad])


def test_cli_prints_and_writes_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp.csv"
    code = main(
        [
            "compare",
            FN,
            "--set-a",
            "x=0",
            "--set-b",
            "x=1",
            "--replicates",
            "5",
            "-o",
            str(out),
            "-q",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "B - A" in printed and "95% CI" in printed and f"wrote {out}" in printed
    table = pd.read_csv(out)
    assert list(table["metric"]) == ["y", "z"] and (table["n"] == 5).all()


def test_cli_refuses_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", FN, "--replicates", "1", "-q"]) == 2
    assert "need at least 2 pairs" in capsys.readouterr().err
    assert main(["compare", "no_such_scenario_xyz", "--replicates", "3", "-q"]) == 2
    assert "not a packaged scenario" in capsys.readouterr().err


@pytest.mark.slow
def test_compare_two_variants_of_a_scenario(tmp_path: Path) -> None:
    pytest.importorskip("govsim.runner")
    table, label_a, label_b = compare(
        "baseline",
        set_both=["population.citizens=300"],
        set_b=["dispatch.data_sharing=0.9"],
        replicates=2,
        days=4,
        seed=1,
        progress=False,
    )
    assert "dispatch.data_sharing=0.9" in label_b and "data_sharing" not in label_a
    assert len(table) > 3 and (table["n"] <= 2).all()
    # reproducible: the same call gives the same table
    again, _, _ = compare(
        "baseline",
        set_both=["population.citizens=300"],
        set_b=["dispatch.data_sharing=0.9"],
        replicates=2,
        days=4,
        seed=1,
        progress=False,
    )
    pd.testing.assert_frame_equal(table, again)
