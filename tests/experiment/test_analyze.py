"""Sensitivity analysis against analytic answers (Ishigami, Sobol G, a linear function) and refusals.

Tolerances: SALib's Saltelli/Jansen estimators at base sample N = 1024 were measured here over 40
independent design seeds (60 for G): for Ishigami the standard deviation of S1 and ST errors was
at most 0.0093 and the largest error 0.027; for the four-input G function with the noise and
replicates used below, at most 0.0067 and 0.021. The tolerance of 0.05 is over 5 standard deviations and nearly twice the largest
error seen, so a correct pipeline passes while a wrong ordering of runs, a lost replicate average or
a mis-scaled input (errors of 0.1 to 0.5) fails.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from govsim.config import ScenarioError
from govsim.experiment.analyze import (
    SOBOL_MIN_N,
    analyze,
    format_table,
    index_warnings,
    noise_floor,
    point_means,
    sensitivity_figure,
)
from govsim.experiment.execute import execute
from govsim.experiment.merge import merge
from govsim.experiment.plan import plan
from govsim.experiment.spec import load_experiment
from govsim.experiment.testfunctions import G_A, ishigami_indices, sobol_g_indices

from .helpers import uniform_x

TOLERANCE = 0.05

ISHIGAMI = """
name: ishigami
function: govsim.experiment.testfunctions:ishigami
parameters:
  x1: {range: [-3.141592653589793, 3.141592653589793]}
  x2: {range: [-3.141592653589793, 3.141592653589793]}
  x3: {range: [-3.141592653589793, 3.141592653589793]}
design: {method: sobol, n: 1024}
outputs: [y]
root_seed: 2024
"""


def g_experiment(design: str, replicates: int, noise: float, d: int = len(G_A)) -> str:
    params = "\n".join(f"  x{i}: {{range: [0, 1]}}" for i in range(d))
    return (
        f"name: sobol_g\nfunction: govsim.experiment.testfunctions:sobol_g\nset: {{noise: {noise}}}\n"
        f"parameters:\n{params}\ndesign: {design}\nreplicates: {replicates}\noutputs: [y]\nroot_seed: 77\n"
    )


def run_sweep(
    write_experiment: Callable[..., Path], tmp_path: Path, text: str, **kw: object
) -> tuple[pd.DataFrame, list[Path]]:
    p, _ = plan(load_experiment(write_experiment(text)), tmp_path / "sweep")
    execute(p.dir, progress=False)
    merge(p.dir)
    return analyze(p.dir, **kw)


def indices(table: pd.DataFrame, index: str) -> np.ndarray:
    return table[table["index"] == index]["estimate"].to_numpy()


@pytest.mark.slow
def test_ishigami_sobol_indices_match_analytic_values(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    table, written = run_sweep(write_experiment, tmp_path, ISHIGAMI)
    truth = ishigami_indices()
    np.testing.assert_allclose(indices(table, "S1"), truth["S1"], atol=TOLERANCE)
    np.testing.assert_allclose(indices(table, "ST"), truth["ST"], atol=TOLERANCE)
    conf = table["conf"].to_numpy()
    assert np.all(conf > 0) and np.all(conf < 0.15)  # bootstrap intervals exist and are informative
    assert [w.name for w in written] == [
        "sensitivity.parquet",
        "sensitivity.txt",
        "sensitivity_y.png",
    ]
    assert table.attrs["warnings"] == []  # N = 1,024, a deterministic function: nothing to say
    assert pd.read_parquet(tmp_path / "sweep" / "sensitivity.parquet").equals(table)
    assert "x1" in format_table(table)


@pytest.mark.slow
def test_sobol_g_indices_with_noisy_replicates_averaged(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    # noise sd 0.05 averaged over 2 replicates adds variance 0.00125 to V = 0.46: a 0.3% bias at most
    table, _ = run_sweep(
        write_experiment, tmp_path, g_experiment("{method: sobol, n: 1024}", 2, 0.05), plots=False
    )
    truth = sobol_g_indices()
    np.testing.assert_allclose(indices(table, "S1"), truth["S1"], atol=TOLERANCE)
    np.testing.assert_allclose(indices(table, "ST"), truth["ST"], atol=TOLERANCE)
    # the noise left after averaging: 0.05^2 / 2 of the point means' variance (about 0.3%)
    share = indices(table, "noise_share")[0]
    assert 0.001 < share < 0.005
    assert not any("noise" in w for w in table.attrs["warnings"])


def test_sobol_reports_the_replicate_noise_left_in_the_variance(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    # G on four inputs (V = 0.44) with noise sd 0.6 averaged over 2 replicates (0.18): about 29%
    noise, replicates = 0.6, 2
    table, _ = run_sweep(
        write_experiment,
        tmp_path,
        g_experiment("{method: sobol, n: 512}", replicates, noise, d=4),
        plots=False,
    )
    a = np.asarray(G_A[:4])
    v = float(np.prod(1 + 1 / (3 * (1 + a) ** 2)) - 1)
    expected = noise**2 / replicates / (v + noise**2 / replicates)
    # the pooled variance of 3,072 runs' replicate pairs estimates noise^2 within a few percent
    np.testing.assert_allclose(indices(table, "noise_share")[0], expected, rtol=0.15)
    warned = table.attrs["warnings"]
    assert any(w.startswith("y: replicate noise is 2") for w in warned), warned
    text = format_table(table)
    assert "replicate noise: 2" in text and "warnings:" in text


def test_morris_noise_floor_is_what_pure_noise_gives(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    # y = slope * x + e with x = 0: slope has no effect, mu* of slope is replicate noise alone
    text = """
    function: govsim.experiment.testfunctions:paired_noise
    set: {x: 0.0, sd: 1.0}
    parameters:
      slope: {range: [1, 2]}
    design: {method: morris, n: 200, levels: 4}
    replicates: 2
    outputs: [y]
    root_seed: 3
    """
    table, _ = run_sweep(write_experiment, tmp_path, text, plots=False)
    floor = indices(table, "noise_floor")[0]
    # sd 1 averaged over 2 replicates, differences of two means over a step of 2/3
    assert floor == pytest.approx(noise_floor(1.0, 2, 4), rel=0.1)
    assert noise_floor(1.0, 2, 4) == pytest.approx(np.sqrt(2 / np.pi) * 1.5)
    # 200 elementary effects of pure noise: their mean absolute value is the floor (sd 5%)
    assert indices(table, "mu_star")[0] == pytest.approx(floor, rel=0.2)


def test_morris_marks_parameters_within_the_noise_floor(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    text = """
    function: govsim.experiment.testfunctions:paired_noise
    set: {sd: 0.2}
    parameters:
      x: {range: [0, 1]}
      slope: {range: [1.0, 1.01]}
    design: {method: morris, n: 40, levels: 4}
    replicates: 3
    outputs: [y]
    root_seed: 4
    """
    table, _ = run_sweep(write_experiment, tmp_path, text)
    mu_star = dict(zip(["x", "slope"], indices(table, "mu_star"), strict=True))
    floor = indices(table, "noise_floor")[0]
    assert floor == pytest.approx(noise_floor(0.2**2, 3, 4), rel=0.25)
    assert mu_star["x"] > 3 * floor  # x moves y by about 1 per range; the floor is about 0.2
    assert mu_star["slope"] < 2 * floor  # slope moves y by at most 0.01: noise
    assert not any("of x" in w for w in table.attrs["warnings"])
    report = (tmp_path / "sweep" / "sensitivity.txt").read_text()
    assert f"noise floor of mu* (replicate noise alone): {floor:.3f}" in report
    assert (tmp_path / "sweep" / "plots" / "sensitivity_y.png").exists()


def test_parameters_within_the_noise_floor_are_marked_and_warned_about() -> None:
    table = _table(
        [
            ("mu_star", "strong", 1.0, 0.1),
            ("sigma", "strong", 0.2, np.nan),
            ("mu_star", "weak", 0.15, 0.05),
            ("sigma", "weak", 0.1, np.nan),
            ("mu_star", "unclear", 0.25, 0.06),  # above the floor, but not by its interval
            ("sigma", "unclear", 0.1, np.nan),
            ("noise_floor", None, 0.2, np.nan),
        ],
        method="morris",
    )
    m = {**_manifest(10, replicates=2, kind="scenario"), "method": "morris"}
    table.attrs["warnings"] = index_warnings(table, m)
    assert table.attrs["warnings"] == [
        "y: mu* of weak, unclear is not above the noise floor 0.2 (what replicate noise alone "
        "gives) by more than its interval: these effects cannot be told from noise"
    ]
    lines = format_table(table).splitlines()
    assert lines[2].split()[0] == "strong" and "(within noise)" not in lines[2]
    assert lines[3].split()[0] == "weak" and lines[3].endswith("(within noise)")
    assert lines[4].split()[0] == "unclear" and lines[4].endswith("(within noise)")
    assert lines[5] == "  noise floor of mu* (replicate noise alone): 0.200"
    assert lines[6:] == ["warnings:", "  - " + table.attrs["warnings"][0]]


def _table(rows: list[tuple[str, str, float, float]], method: str = "sobol") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "output": "y",
                "method": method,
                "index": i,
                "parameter": p,
                "parameter2": None,
                "estimate": e,
                "conf": c,
            }
            for i, p, e, c in rows
        ]
    )


def _manifest(n: int, k: int = 2, replicates: int = 1, kind: str = "function") -> dict:
    return {
        "method": "sobol",
        "design": {"method": "sobol", "n": n},
        "parameters": [{"name": f"p{i}"} for i in range(k)],
        "n_points": n * (k + 2),
        "replicates": replicates,
        "target": {"kind": kind},
    }


def test_sobol_warnings_name_small_samples_and_indices_outside_zero_one() -> None:
    # the case of issue 22: N = 16 printed S1 = 1.404 +- 0.444 without a word
    bad = _table(
        [
            ("S1", "p0", 1.404, 0.444),
            ("ST", "p0", 1.03, 0.5),
            ("S1", "p1", -0.04, 0.08),
            ("ST", "p1", -0.02, 0.01),
        ]
    )
    warned = index_warnings(bad, _manifest(16))
    assert warned[0].startswith("Sobol base sample N = 16 for 2 parameters (64 points)")
    outside = [w for w in warned if "outside [0, 1]" in w]
    assert [w.split(" lies")[0] for w in outside] == [
        "y: S1 of p0 = 1.404 +- 0.444",  # 0.404 too high
        "y: ST of p1 = -0.020 +- 0.010",  # only 0.02 too low, but twice its interval
    ]  # 1.03 and -0.04 are within 0.05 of [0, 1]: the scatter of estimates near a bound
    assert any(w.startswith("y: intervals up to +-0.50") for w in warned)
    good = _table([("S1", "p0", 0.6, 0.05), ("ST", "p0", 0.7, 0.06)])
    assert index_warnings(good, _manifest(SOBOL_MIN_N)) == []
    assert len(index_warnings(good, _manifest(SOBOL_MIN_N // 2))) == 1


def test_a_stochastic_morris_without_replicates_is_told_it_has_no_noise_floor() -> None:
    m = {**_manifest(10, kind="scenario"), "method": "morris", "design": {"levels": 4}}
    table = _table([("mu_star", "p0", 1.0, 0.1), ("sigma", "p0", 0.5, np.nan)], method="morris")
    assert "one replicate per design point" in index_warnings(table, m)[0]
    assert index_warnings(table, {**m, "target": {"kind": "function"}}) == []


def _data_covered(fig) -> list[str]:
    """Texts (titles, tick and axis labels) and legends that overlap the plotting area or one
    another, or leave the figure: the dashboard's layout test (tests/test_report.py) applied to a
    single-axes figure with its legend outside."""
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    (ax,) = fig.axes
    area = ax.get_window_extent(renderer)
    named = [(f"legend {i}", leg.get_window_extent(renderer)) for i, leg in enumerate(fig.legends)]
    named += [(f"text {t.get_text()!r}", t.get_window_extent(renderer)) for t in ax.texts]
    named += [("title", ax.title.get_window_extent(renderer))]
    named += [("x label", ax.xaxis.label.get_window_extent(renderer))]
    lo, hi = sorted(ax.get_xlim())
    shown = [
        t
        for x, t in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)
        if lo <= x <= hi  # Matplotlib keeps (undrawn) labels for ticks beyond the limits
    ]
    named += [
        (f"tick label {t.get_text()}", t.get_window_extent(renderer))
        for t in ax.get_yticklabels() + shown
        if t.get_text()
    ]
    problems = [f"{name} covers the plotting area" for name, box in named if box.overlaps(area)]
    page = fig.bbox
    problems += [
        f"{name} leaves the figure"
        for name, box in named
        if box.x0 < page.x0 or box.y0 < page.y0 or box.x1 > page.x1 or box.y1 > page.y1
    ]
    texts = [(n, b) for n, b in named if not n.startswith("tick label")]
    problems += [
        f"{a} overlaps {b}"
        for i, (a, box_a) in enumerate(texts)
        for b, box_b in texts[i + 1 :]
        if box_a.overlaps(box_b)
    ]
    return problems


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_sensitivity_plots_keep_labels_and_legends_off_the_data(method: str) -> None:
    names = ["x", "a_very_long_parameter_name.with.dots", "officials.patrol_share"] + [
        f"p{i}" for i in range(9)
    ]
    rng = np.random.default_rng(0)
    if method == "sobol":
        idx = [("S1", 0.4), ("ST", 0.5)]
        extra = [("noise_share", None, 0.2, np.nan)]
    else:
        idx = [("mu_star", 3000.0), ("sigma", 2000.0)]
        extra = [("noise_floor", None, 150.0, np.nan)]
    rows = [
        (i, n, scale * rng.random() * (1.5 if n == "x" else 1), 0.3 * scale)
        for n in names
        for i, scale in idx
    ]
    frame = _table(rows + extra, method=method)
    if method == "morris":
        frame.loc[frame["index"] == "sigma", "conf"] = np.nan
    for warned in (False, True):
        fig = sensitivity_figure(frame, "days_to_resolution_median", method, 0.95, warned=warned)
        assert _data_covered(fig) == []
        labels = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
        assert any("noise" in label for label in labels)


def test_morris_on_g_ranks_parameters_and_bounds_inert_ones(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    table, _ = run_sweep(
        write_experiment, tmp_path, g_experiment("{method: morris, n: 40, levels: 4}", 1, 0.0)
    )
    mu_star = indices(table, "mu_star")
    # Analytic bound for a = 99: the factor |4x-2|+99 / 100 moves by at most 0.02, the other factors'
    # product is at most 2 * 1.5 * 6.5/5.5 * 11/10 * 101/100 = 3.94, and the step is 2/3, so
    # |elementary effect| <= 0.02 * 3.94 / (2/3) = 0.118 for x4 and x5, whatever the sample.
    assert mu_star[4] <= 0.119 and mu_star[5] <= 0.119
    assert mu_star[0] > mu_star[1] > mu_star[2] > mu_star[3] > max(mu_star[4], mu_star[5])


def test_morris_elementary_effects_of_a_linear_function_are_exact(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    text = """
    function: govsim.experiment.testfunctions:linear
    parameters:
      x1: {range: [0, 1]}
      x2: {range: [0, 2]}
      x3: {levels: [0, 1]}
    design: {method: morris, n: 10, levels: 4}
    root_seed: 1
    """
    table, _ = run_sweep(write_experiment, tmp_path, text, plots=False)
    # unit-scaled inputs: the effect is the coefficient times the range width (x3's two levels
    # split the unit interval at 1/2, so a step of 2/3 always crosses it: effect 3 / (2/3) = 4.5)
    np.testing.assert_allclose(indices(table, "mu_star"), [1.0, 4.0, 4.5], rtol=1e-9)
    np.testing.assert_allclose(indices(table, "sigma"), [0.0, 0.0, 0.0], atol=1e-9)


def test_point_means_average_replicates_in_point_order(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p, _ = plan(load_experiment(write_experiment(uniform_x(n=4, replicates=3))), tmp_path / "p")
    execute(p.dir, progress=False)
    runs, _ = merge(p.dir)
    means = point_means(p, runs, ["u"])
    manual = [runs.loc[runs["point_id"] == k, "u"].mean() for k in range(4)]
    np.testing.assert_allclose(means["u"].to_numpy(), manual, rtol=0, atol=0)


def test_analyze_refuses_failed_runs(write_experiment: Callable[..., Path], tmp_path: Path) -> None:
    text = uniform_x(function="fails_above", n=5).replace(
        "method: lhs, n: 5", "method: morris, n: 8"
    )
    with pytest.raises(
        ScenarioError, match=r"runs failed .*first error: ValueError.*--retry-failed"
    ):
        run_sweep(write_experiment, tmp_path, text)
    assert not (tmp_path / "sweep" / "sensitivity.parquet").exists()


def test_analyze_refuses_nan_outputs_naming_runs(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    text = uniform_x(function="nan_above", n=5).replace("method: lhs, n: 5", "method: morris, n: 8")
    with pytest.raises(
        ScenarioError, match=r"output 'y' is NaN, infinite or not a number in runs \d"
    ):
        run_sweep(write_experiment, tmp_path, text)


def test_analyze_refuses_incomplete_sets_and_grids(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    text = uniform_x(n=5).replace("method: lhs, n: 5", "method: morris, n: 8")
    p, _ = plan(load_experiment(write_experiment(text)), tmp_path / "m")
    execute(p.dir, shard=(0, 2), progress=False)
    with pytest.raises(ScenarioError, match="runs have no result"):
        analyze(p.dir)
    lhs, _ = plan(load_experiment(write_experiment(uniform_x(n=5), name="l.yaml")), tmp_path / "l")
    with pytest.raises(ScenarioError, match="this is a lhs design"):
        analyze(lhs.dir)


def test_analyze_refuses_unknown_and_constant_outputs(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    text = """
    function: govsim.experiment.testfunctions:paired_noise
    set: {x: 0.0, sd: 0.0}
    parameters:
      slope: {range: [1, 2]}
    design: {method: morris, n: 4}
    root_seed: 1
    """
    p, _ = plan(load_experiment(write_experiment(text)), tmp_path / "m")
    execute(p.dir, progress=False)
    with pytest.raises(ScenarioError, match="output 'yy' is not in the results; did you mean 'y'"):
        analyze(p.dir, outputs=["yy"])
    with pytest.raises(ScenarioError, match=r"outputs \['y', 'z'\] do not vary across the design"):
        analyze(p.dir)
