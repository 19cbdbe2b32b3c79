"""Paired comparisons on common random numbers: exact cancellation, intervals, the CLI, scenarios."""

from __future__ import annotations

import hashlib
import json
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


def _cli(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "compare",
        FN,
        "--set-a",
        "x=0",
        "--set-b",
        "x=1",
        "--replicates",
        "5",
        "--out",
        str(tmp_path),
        "-q",
        *extra,
    ]


def test_cli_prints_the_table_and_writes_a_folder_with_provenance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_cli(tmp_path)) == 0
    printed = capsys.readouterr().out
    (dest,) = tmp_path.iterdir()
    assert "B - A" in printed and "95% CI" in printed and printed.splitlines()[-1] == str(dest)
    assert dest.name.startswith("paired_noise-vs-paired_noise-")
    assert sorted(p.name for p in dest.iterdir()) == [
        "comparison.csv",
        "difference.png",
        "manifest.json",
        "runs.csv",
    ]
    table = pd.read_csv(dest / "comparison.csv")
    assert list(table["metric"]) == ["y", "z"] and (table["n"] == 5).all()
    runs = pd.read_csv(dest / "runs.csv")
    assert list(runs["side"]) == ["A"] * 5 + ["B"] * 5
    assert list(runs["seed"][:5]) == list(runs["seed"][5:])  # paired seeds
    m = json.loads((dest / "manifest.json").read_text())
    assert m["kind"] == "govsim compare" and "git" in m and "packages" in m
    assert (m["replicates"], m["set_a"], m["set_b"]) == (5, ["x=0"], ["x=1"])
    assert m["seeds"] == [run_seed(m["root_seed"], r) for r in range(5)] == list(runs["seed"][:5])
    assert m["a"]["constants"] == {"x": 0} and m["b"]["constants"] == {"x": 1}
    assert m["comparison_sha256"][:10] == dest.name.rsplit("-", 1)[1]
    for name, entry in m["files"].items():
        assert hashlib.sha256((dest / name).read_bytes()).hexdigest() == entry["sha256"]
    assert (dest / "difference.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_refuses_to_overwrite_a_comparison_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_cli(tmp_path, "--no-figure")) == 0
    (dest,) = tmp_path.iterdir()
    before = (dest / "manifest.json").read_bytes()
    capsys.readouterr()
    assert main(_cli(tmp_path, "--no-figure")) == 2
    assert f"error: {dest}: already exists; pass --force" in capsys.readouterr().err
    assert (dest / "manifest.json").read_bytes() == before
    assert main(_cli(tmp_path, "--no-figure", "--force")) == 0
    assert [p.name for p in tmp_path.iterdir()] == [dest.name]


def test_different_comparisons_never_share_a_folder(tmp_path: Path) -> None:
    """Another B variant, replicate count or seed is another folder, not an overwrite."""
    base = ["--no-figure"]
    assert main(_cli(tmp_path, *base)) == 0
    assert main([*_cli(tmp_path, *base), "--set-b", "x=2"]) == 0
    assert main([*_cli(tmp_path, *base), "--replicates", "3"]) == 0
    assert main([*_cli(tmp_path, *base), "--seed", "9"]) == 0
    assert len(list(tmp_path.iterdir())) == 4


def test_the_difference_figure_keeps_text_off_the_data() -> None:
    from govsim.experiment.compare import difference_figure

    table, _, _ = compare(FN, set_a=["x=0"], set_b=["x=1"], replicates=4, seed=2, progress=False)
    long = pd.concat([table, table.assign(metric="a_much_longer_metric_name_than_the_others")])
    title = "A = " + " ".join(["a long scenario --set population.citizens=1000"] * 4) + "  B = y"
    fig = difference_figure(long, title=title, conf_level=0.9)
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    boxes = [ax.get_window_extent(renderer) for ax in fig.axes]
    texts = [t.get_window_extent(renderer) for t in fig.texts]
    assert len(fig.axes) == len(long)
    for text in texts:
        assert not any(text.overlaps(box) for box in boxes)
        assert text.x0 >= 0 and text.x1 <= fig.bbox.width  # nothing cut off at the edges
    for upper, lower in zip(fig.axes, fig.axes[1:], strict=False):
        for label in upper.get_xticklabels():
            if label.get_text():
                assert not label.get_window_extent(renderer).overlaps(
                    lower.get_window_extent(renderer)
                )


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


@pytest.mark.slow
def test_a_scenario_comparison_records_both_resolved_scenarios(tmp_path: Path) -> None:
    from govsim.config import load_scenario, scenario_sha256

    argv = ["compare", "baseline", "--set", "population.citizens=300", "--days", "4"]
    argv += ["--set-b", "dispatch.data_sharing=0.9", "--replicates", "2", "--no-figure"]
    assert main([*argv, "--out", str(tmp_path), "-q"]) == 0
    (dest,) = tmp_path.iterdir()
    m = json.loads((dest / "manifest.json").read_text())
    a = load_scenario("baseline", ["population.citizens=300"])
    b = load_scenario("baseline", ["population.citizens=300", "dispatch.data_sharing=0.9"])
    assert m["a"]["scenario_sha256"] == scenario_sha256(a) and m["a"]["scenario"]["seed"] == a.seed
    assert m["b"]["scenario_sha256"] == scenario_sha256(b)
    assert m["b"]["scenario"]["dispatch"]["data_sharing"] == 0.9
    assert m["a"]["days"] == m["b"]["days"] == m["days"] == 4
    assert m["a"]["overrides"] == ["population.citizens=300"]
    assert m["b"]["overrides"] == ["population.citizens=300", "dispatch.data_sharing=0.9"]
