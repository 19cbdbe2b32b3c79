"""Mechanism tests of the experiment layer: replicates really differ, and a lognormal's ``sd`` is
its spread. Each fails under a mutation listed in docs/testing.md."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from govsim.config import load_scenario, scenario_to_dict
from govsim.experiment.compare import compare
from govsim.experiment.design import build_design, map_unit
from govsim.experiment.run import RunContext, RunTask, run_one
from govsim.experiment.spec import DesignSpec, Parameter, ParameterSpec
from govsim.runner import simulate

TINY = ["population.citizens=300"]


# ----------------------------------------------------------------------------- seeds
def test_a_scenario_run_uses_its_own_seed() -> None:
    """Every sweep run goes through ``run_one``: its record must be the model run at its seed.

    Runs with seeds 7 and 8 must differ (a 300-citizen city over 5 days files a few dozen cases
    whose number and times depend on the seed), and the seed-7 record must equal a direct
    ``simulate`` at seed 7.
    """
    scenario = load_scenario("baseline", TINY)
    ctx = RunContext("scenario", None, scenario_to_dict(scenario), {}, 5, False, "h", "c", "")
    seven, _ = run_one(ctx, RunTask(0, 0, 0, 7, {}))
    eight, _ = run_one(ctx, RunTask(1, 0, 1, 8, {}))
    assert seven["status"] == eight["status"] == "ok", seven["traceback"] or eight["traceback"]
    assert seven["outputs"] != pytest.approx(eight["outputs"], nan_ok=True)
    direct = simulate(scenario, seed=7, days=5, timeseries=False).summary
    assert seven["outputs"] == pytest.approx(direct, nan_ok=True)


def test_replicates_of_a_scenario_comparison_differ() -> None:
    """Replicate r of a comparison runs on seed ``run_seed(root, r)``, so replicates differ.

    B has a third more citizens than A: on paired seeds B - A in ``cases_reported`` varies from
    pair to pair (it is a difference of Poisson counts), so its standard deviation is positive
    and the interval has width. If every replicate ran on the same seed the pairs would be
    identical: zero spread, a zero-width interval.
    """
    table, _, _ = compare(
        "baseline",
        set_a=TINY,
        set_b=["population.citizens=400"],
        replicates=4,
        days=5,
        seed=1,
        progress=False,
    )
    row = table.set_index("metric").loc["cases_reported"]
    assert row["n"] == 4
    assert row["diff"] > 0
    assert row["sd_diff"] > 0
    assert row["ci_high"] > row["ci_low"]


# ----------------------------------------------------------------------------- marginals
def test_a_lognormal_design_has_the_spread_of_its_sd() -> None:
    """``lognormal(mean, sd)``: log X ~ N(mean, sd), so the quantile at Phi(1) is exp(mean + sd)."""
    for sd in (0.3, 1.2):
        p = Parameter("ln", ParameterSpec(distribution="lognormal", mean=0.5, sd=sd))
        u = np.array([[0.5], [stats.norm.cdf(1.0)], [stats.norm.cdf(-2.0)]])
        got = map_unit([p], u)["ln"].to_numpy()
        np.testing.assert_allclose(got, np.exp([0.5, 0.5 + sd, 0.5 - 2 * sd]), rtol=1e-9)


def test_a_lognormal_sample_has_the_log_sd_asked_for() -> None:
    """An LHS sample of 2,000 points: the sd of log X is within 2% of ``sd``.

    Stratification puts one point in each 1/2000 of probability, so the sample's log-quantiles
    follow the normal's closely; only the truncation of the extreme strata (EPS) pulls the sd
    down, by far less than 2%.
    """
    for sd in (0.3, 1.2):
        p = Parameter("ln", ParameterSpec(distribution="lognormal", mean=0.5, sd=sd))
        values = build_design(DesignSpec(method="lhs", n=2000), [p], seed=4).values["ln"]
        logs = np.log(values.to_numpy())
        assert logs.std(ddof=1) == pytest.approx(sd, rel=0.02)
        assert logs.mean() == pytest.approx(0.5, abs=0.01)
