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
from govsim.experiment.analyze import analyze, format_table, point_means
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
    assert [w.name for w in written] == ["sensitivity.parquet", "sensitivity_y.png"]
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
