"""The calibration's mechanics on a stand-in simulator: distance, seeds, cache, resume after a kill.

The stand-in replaces :func:`govsim.calibrate.fit.simulate_features` (one govsim run reduced to
features) by a cheap function of the values and the seed, so that the ABC machinery (pyabc, the
SQLite checkpoint, the per-particle cache, the outputs) is tested in seconds; the real simulator
is exercised by the parameter-recovery test.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import govsim.calibrate.fit as fit
from govsim.calibrate.cli import run_calibration
from govsim.calibrate.patterns import load_patterns_text
from govsim.calibrate.spec import load_calibration_text
from govsim.cli import main

PATTERNS = """\
patterns:
  a_level:
    metric: satisfaction_reported
    target: {value: 0.6, uncertainty: 0.05}
    source: test
  b_level:
    metric: closure_rate
    target: {value: 0.3, uncertainty: 0.05}
    source: test
  held:
    metric: response_rate
    target: {interval: [0.0, 1.0]}
    source: test
"""

PARAMS = """\
parameters:
  gaming.pressure_effect: {range: [0.0, 1.0]}
  closed_loop.audit_rate: {range: [0.01, 0.5], scale: log}
set: {population.citizens: 200}
days: 20
replicates: 2
root_seed: 11
holdout: [held]
screening: {enabled: false}
abc: {population: 12, generations: 3}
"""


def stand_in(
    base: dict[str, Any], values: dict[str, Any], patterns: Any, seed: int, days: int
) -> dict[str, float]:
    """Features: a_level = pressure_effect, b_level = audit_rate, plus seeded noise."""
    rng = np.random.default_rng(seed)
    return {
        "a_level": values["gaming.pressure_effect"] + rng.normal(0, 0.02),
        "b_level": values["closed_loop.audit_rate"] + rng.normal(0, 0.02),
        "held": 0.5,
    }


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count stand-in simulations (each replicate)."""
    seen: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> dict[str, float]:
        seen.append(args[3])
        return stand_in(*args, **kwargs)

    monkeypatch.setattr(fit, "simulate_features", counted)
    return seen


def _cal(patterns: str = PATTERNS, params: str = PARAMS) -> Any:
    pats = load_patterns_text(patterns, "patterns.yaml")
    return load_calibration_text(params, "params.yaml", "baseline", pats)


def test_distance_standardises_by_the_target_and_ignores_held_out() -> None:
    cal = _cal()
    d = fit.distance_for(cal)
    assert set(d.centres) == {"a_level", "b_level"}  # held out: not in the distance
    assert d({"a_level": 0.6, "b_level": 0.3, "held": 99.0}, {}) == 0.0
    assert d({"a_level": 0.65, "b_level": 0.3}, {}) == pytest.approx(1.0)
    assert d({"a_level": 0.65, "b_level": 0.2}, {}) == pytest.approx(math.sqrt(5))
    assert d({"a_level": math.nan, "b_level": 0.3}, {}) == math.inf


def test_particle_seeds_depend_on_values_and_replicate_only() -> None:
    a = fit.theta_digest({"x": 0.5, "y": 1.0})
    assert a == fit.theta_digest({"y": 1.0, "x": 0.5})
    b = fit.theta_digest({"x": 0.5000001, "y": 1.0})
    seeds = {fit.particle_seed(7, a, 0), fit.particle_seed(7, a, 1), fit.particle_seed(7, b, 0)}
    assert len(seeds) == 3
    assert fit.particle_seed(7, a, 0) == fit.particle_seed(7, a, 0)
    assert fit.particle_seed(8, a, 0) != fit.particle_seed(7, a, 0)


def test_simulator_averages_replicates_and_reuses_finished_particles(
    tmp_path: Path, calls: list[int]
) -> None:
    cal = _cal()
    sim = fit.Simulator(
        cal.base_scenario, cal.priors, cal.patterns.patterns, 3, 11, cal.days, str(tmp_path)
    )
    coords = {"p0": 0.4, "p1": math.log10(0.2)}
    first = sim(coords)
    assert len(calls) == 3 and len(set(calls)) == 3  # three replicates, three seeds
    values = sim.values(coords)
    digest = fit.theta_digest(values)
    expected = np.mean(
        [
            stand_in({}, values, None, fit.particle_seed(11, digest, r), 20)["a_level"]
            for r in range(3)
        ]
    )
    assert first["a_level"] == pytest.approx(expected)
    assert sim(coords) == first and len(calls) == 3  # from the cache: nothing simulated again
    records = [json.loads(p.read_text()) for p in tmp_path.rglob("*.json")]
    assert sorted(r["seed"] for r in records) == sorted(calls)


def test_calibration_writes_every_output(tmp_path: Path, calls: list[int]) -> None:
    cal = _cal()
    out = tmp_path / "out"
    assert run_calibration(cal, out, progress=False, best_name="fitted") == 0
    names = {p.name for p in out.iterdir()}
    for name in (
        "posterior.parquet",
        "pairs.png",
        "marginals.png",
        "best.yaml",
        "report.md",
        "patterns.png",
        "patterns.csv",
        "manifest.json",
    ):
        assert name in names, name
    manifest = json.loads((out / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        assert (out / name).stat().st_size == entry["bytes"]
    post = pd.read_parquet(out / "posterior.parquet")
    assert len(post) == 12 and post["weight"].sum() == pytest.approx(1.0)
    assert post["closed_loop.audit_rate"].between(0.01, 0.5).all()
    table = pd.read_csv(out / "patterns.csv")
    assert table.set_index("pattern").loc["held", "role"] == "validation (held out)"
    # the best-fitting scenario is one govsim run takes
    from govsim.config import load_scenario

    best = load_scenario(out / "best.yaml")
    row = post.loc[post["distance"].idxmin()]
    assert best.name == "fitted"
    assert best.gaming.pressure_effect == pytest.approx(row["gaming.pressure_effect"])


def test_resume_after_a_kill_loses_no_finished_simulation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kill in the middle of generation 1; --resume reruns only what was not finished, and ends
    with exactly the posterior of an uninterrupted calibration (serial sampler)."""
    cal = _cal()
    plain: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> dict[str, float]:
        plain.append(args[3])
        return stand_in(*args, **kwargs)

    monkeypatch.setattr(fit, "simulate_features", counted)
    run_calibration(cal, tmp_path / "whole", progress=False)
    whole = pd.read_parquet(tmp_path / "whole" / "posterior.parquet")
    n_whole = len(plain)

    state = {"n": 0, "kill_at": None}
    done: list[int] = []

    def killed(*args: Any, **kwargs: Any) -> dict[str, float]:
        if state["kill_at"] is not None and state["n"] == state["kill_at"]:
            raise KeyboardInterrupt
        state["n"] += 1
        done.append(args[3])
        return stand_in(*args, **kwargs)

    monkeypatch.setattr(fit, "simulate_features", killed)
    # generation 0 of the whole run took this many simulations; kill a few into generation 1
    import sqlite3

    with sqlite3.connect(tmp_path / "whole" / "abc.db") as con:
        samples = dict(con.execute("select t, nr_samples from populations").fetchall())
    first_gen = (samples[-1] + samples[0]) * cal.spec.replicates
    state["kill_at"] = first_gen + 5
    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        run_calibration(cal, out, progress=False)
    assert len(done) == first_gen + 5
    assert not (out / "posterior.parquet").exists()
    state["kill_at"] = None
    before = len(done)
    run_calibration(cal, out, resume=True, progress=False)
    rerun = len(done) - before
    assert rerun == n_whole - before  # the 5 finished simulations of generation 1 were kept
    resumed = pd.read_parquet(out / "posterior.parquet")
    cols = ["gaming.pressure_effect", "closed_loop.audit_rate", "weight"]
    pd.testing.assert_frame_equal(resumed[cols], whole[cols])


def test_cli_resume_refuses_other_inputs_and_needs_the_flag(
    tmp_path: Path,
    write: Callable[[str, str], Path],
    calls: list[int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    patterns = write("patterns.yaml", PATTERNS)
    params = write("params.yaml", PARAMS.replace("generations: 3", "generations: 1"))
    out = tmp_path / "out"
    argv = [
        "calibrate",
        "baseline",
        "--patterns",
        str(patterns),
        "--params",
        str(params),
        "-o",
        str(out),
        "-q",
    ]
    assert main(argv) == 0
    assert main(argv) == 2
    assert "add --resume" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 0
    assert main([*argv, "--resume", "--holdout", "a_level"]) == 2
    assert "other inputs" in capsys.readouterr().err


def test_the_noise_bar_tells_an_inert_parameter_from_noise() -> None:
    """An inert parameter's mu* is the mean of r absolute normal elementary effects. Compared with
    the noise floor (their mean) it would count as mattering about half of the time; the bar (two
    standard errors above) lets through about 3% at r = 3 (the normal approximation of a skewed
    mean; tolerance: below 6%, 200,000 draws give a standard error of 0.04 points)."""
    from govsim.calibrate.fit import noise_bar
    from govsim.experiment.analyze import morris_delta, noise_floor

    rng = np.random.default_rng(7)
    variance, replicates, levels, r = 0.3, 2, 4, 3
    floor = noise_floor(variance, replicates, levels)
    sd_effect = math.sqrt(2 * variance / replicates) / morris_delta(levels)
    mu_star = np.abs(rng.normal(0.0, sd_effect, size=(200_000, r))).mean(axis=1)
    assert mu_star.mean() == pytest.approx(floor, rel=0.01)
    assert 0.35 < (mu_star > floor).mean() < 0.6
    assert (mu_star > noise_bar(floor, r)).mean() < 0.06


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_real_runs_calibrate_on_parallel_executors(tmp_path: Path, executor: str) -> None:
    """Ordinary govsim runs (no stand-in) through pyabc's multicore sampler and a local Dask
    cluster of two workers: the calibration completes, and every accepted particle's features are
    exactly what one process simulates at its values with its seed (a particle's runs are seeded by
    its values and replicate, on any executor; which particles are accepted may differ, as parallel
    samplers take whichever finish first)."""
    params = PARAMS.replace(
        "abc: {population: 12, generations: 3}", "abc: {population: 4, generations: 1}"
    ).replace("replicates: 2", "replicates: 1")
    cal = _cal(params=params)
    out = tmp_path / executor
    assert run_calibration(cal, out, executor=executor, workers=2) == 0
    post = pd.read_parquet(out / "posterior.parquet")
    assert len(post) == 4 and np.isfinite(post["distance"]).all()
    distance = fit.distance_for(cal)
    for _, row in post.iterrows():
        values = {p.name: float(row[p.name]) for p in cal.priors}
        seed = fit.particle_seed(cal.spec.root_seed, fit.theta_digest(values), 0)
        got = fit.simulate_features(
            cal.base_scenario, values, cal.patterns.patterns, seed, cal.days
        )
        for name in ("a_level", "b_level"):
            assert got[name] == pytest.approx(row[f"sim::{name}"], rel=1e-12, abs=1e-15)
        assert distance(got, {}) == pytest.approx(row["distance"], rel=1e-9)
