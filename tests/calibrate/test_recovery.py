"""Parameter recovery: calibrate govsim against observations govsim itself made at known values.

The observations are the mean of 6 ordinary govsim runs at the true values (seeds from another
root seed than the calibration's). Each target's half-width is 2 replicate standard deviations of
those runs: a particle's statistic is a mean of 2 replicates and the observation a mean of 6, so
their difference at the true values has standard deviation sqrt(1/2 + 1/6) = 0.82 replicate
standard deviations, and the truth lies well inside the acceptance band (2 sd = 2.4 of those).

Tolerance: for every parameter the screening calls identifiable, the posterior's weighted 90%
interval must contain the true value; and (so that a posterior equal to the prior cannot pass)
it must be narrower than 80% of the prior's range. ``officials.trace_minutes`` has no effect on
these patterns: the screening must find it not identifiable. Everything runs on the serial
sampler with fixed seeds, so the outcome is the same on every run (no flakiness, no timing).
Size: 600 citizens, 90 days, 3 Morris trajectories, 16 particles x 3 generations, 2 replicates:
a few hundred runs of about 0.15 s each: 65 s of CPU in one process (measured at commit
b75a94b; 3 minutes of wall time on the shared, loaded 2-core machine).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from govsim.calibrate.cli import run_calibration
from govsim.calibrate.fit import identifiable
from govsim.calibrate.patterns import load_patterns_text
from govsim.calibrate.report import weighted_quantile
from govsim.calibrate.spec import load_calibration_text
from govsim.config import load_scenario
from govsim.experiment.seeds import run_seed
from govsim.runner import simulate

TRUTH = {
    "citizens.satisfied_if_solved": 0.8,
    "citizens.voice_base": -1.2,
    "officials.trace_minutes": 20.0,
}
CITIZENS, DAYS = 600, 90

PARAMS = f"""\
parameters:
  citizens.satisfied_if_solved: {{range: [0.5, 0.99]}}
  citizens.voice_base: {{range: [-2.5, 0.0]}}
  officials.trace_minutes: {{range: [5, 60], scale: log}}
set: {{population.citizens: {CITIZENS}}}
days: {DAYS}
replicates: 2
root_seed: 99
screening: {{trajectories: 3, levels: 4, replicates: 2}}
abc: {{population: 16, generations: 3}}
"""


def observations() -> dict[str, tuple[float, float]]:
    """Mean and replicate sd of each pattern's metric over 6 runs at the true values."""
    sets = [f"population.citizens={CITIZENS}"] + [f"{k}={v}" for k, v in TRUTH.items()]
    scenario = load_scenario("baseline", sets)
    rows = []
    for i in range(6):
        result = simulate(scenario, seed=run_seed(4242, i), days=DAYS, timeseries=False)
        rows.append(
            {
                "satisfaction": result.summary["satisfaction_reported"],
                "volume": result.summary["cases_reported"] / CITIZENS / DAYS,
            }
        )
    frame = pd.DataFrame(rows)
    return {k: (float(frame[k].mean()), float(frame[k].std(ddof=1))) for k in frame}


@pytest.mark.slow
def test_calibration_recovers_known_parameters(tmp_path: Path) -> None:
    obs = observations()
    patterns = textwrap.dedent(
        f"""\
        patterns:
          satisfaction:
            metric: satisfaction_reported
            target: {{value: {obs["satisfaction"][0]!r}, uncertainty: {2 * obs["satisfaction"][1]!r}}}
            source: govsim at known values
          volume:
            metric: cases_reported
            per_resident: true
            target: {{value: {obs["volume"][0]!r}, uncertainty: {2 * obs["volume"][1]!r}}}
            source: govsim at known values
        """
    )
    cal = load_calibration_text(
        PARAMS, "params.yaml", "baseline", load_patterns_text(patterns, "patterns.yaml")
    )
    out = tmp_path / "recovery"
    assert run_calibration(cal, out, progress=False, truth=TRUTH) == 0
    screening = pd.read_csv(out / "screening.csv")
    ident = identifiable(cal, screening)
    assert ident == ["citizens.satisfied_if_solved", "citizens.voice_base"]
    post = pd.read_parquet(out / "posterior.parquet")
    w = post["weight"].to_numpy()
    for prior in cal.priors:
        if prior.name not in ident:
            continue
        v = post[prior.name].to_numpy()
        lo, hi = weighted_quantile(v, w, 0.05), weighted_quantile(v, w, 0.95)
        assert lo <= TRUTH[prior.name] <= hi, (prior.name, lo, hi)
        assert hi - lo < 0.8 * (prior.high - prior.low), (prior.name, lo, hi)
    assert np.isfinite(post["distance"]).all()
