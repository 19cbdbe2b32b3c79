"""Screening (Morris, on the sweep engine) and ABC-SMC (pyabc) of a calibration.

**Screening.** The parameters' Morris design is an ordinary govsim experiment planned into
``OUT/screening`` and run by :func:`govsim.experiment.execute.execute` (so it checkpoints per run,
resumes, and runs on the same executors); each run's pattern features are computed from its
summary and daily table, their replicate means analysed with SALib's Morris method
(:func:`govsim.experiment.analyze.analyze_output`). A parameter *matters* for a pattern when its
mu* exceeds both the replicate noise bar and ``threshold`` times the pattern's target scale; a
parameter that matters for at least one fitted pattern is called *identifiable*. The table is
cached in ``OUT/screening.csv``. The *noise bar* is two standard errors above the noise floor
(the mu* a parameter without effect gets on average, :func:`govsim.experiment.analyze.noise_floor`):
with ``r`` trajectories such a parameter's mu* is the mean of ``r`` absolute normal elementary
effects, mean ``floor`` and standard error ``floor * sqrt(pi/2 - 1) / sqrt(r)``, so the bar is
``floor * (1 + 2 sqrt(pi/2 - 1) / sqrt(r))`` (1.87 floors at r = 3). Comparing with the floor
itself called an inert parameter identifiable about half of the time.

**ABC-SMC.** pyabc's :class:`pyabc.ABCSMC` with a uniform prior per parameter (log10 units for
``scale: log``), an adaptive (median) epsilon and a multivariate normal transition. Each particle
is simulated ``replicates`` times and the distance is taken between the *mean* features of those
replicates and the targets: ``sqrt(sum_k ((mean_k - centre_k) / scale_k)^2)`` over the fitted
patterns. The targets are city-level rates whose uncertainty the pattern states; averaging R
replicates shrinks the simulator's own noise by sqrt(R) so that the posterior reflects the
targets' uncertainty more than Monte Carlo noise. (pyabc's stochastic acceptor would need an
explicit noise model and likelihood per pattern, which mixed rates, slopes and correlations do not
have.)

**Seeds.** Replicate r of the particle with parameter values theta runs with
``stream_seed(root_seed, (CALIBRATION_STREAM, h1(theta), h2(theta), r))``, the same SeedSequence
scheme as sweeps: it depends only on the root seed, the values and r, never on the executor.

**Checkpoints.** pyabc writes every finished generation into ``OUT/abc.db`` (SQLite);
``--resume`` loads it and continues from the next generation. Every simulation's features are also
stored in ``OUT/simulations/`` (one JSON file per replicate of a particle, written atomically): a
particle proposed again (the same generation after a kill with the serial sampler, whose
proposals are seeded per generation) is not simulated again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from govsim.calibrate.patterns import PatternSpec, features
from govsim.calibrate.spec import Calibration, Prior
from govsim.config import ScenarioError
from govsim.experiment.seeds import stream_seed
from govsim.experiment.spec import ClusterSpec
from govsim.outputs import atomic_write_text

CALIBRATION_STREAM = 0x63616C6962
"""First word of the spawn key of calibration runs ("calib"): never equal to a sweep's run key."""
PROPOSAL_STREAM = 0x70726F706F
"""First word of the spawn key seeding pyabc's proposals of a generation."""
ABC_DB = "abc.db"
SIM_DIR = "simulations"
SCREENING_DIR = "screening"
SCREENING_TABLE = "screening.csv"


def parameter_key(i: int) -> str:
    """pyabc's name of the i-th parameter (pyabc stores names in SQL; dotted paths stay ours)."""
    return f"p{i}"


def theta_digest(values: dict[str, float]) -> str:
    """A stable digest of a particle's scenario values (name order, repr of floats)."""
    canon = json.dumps({k: values[k] for k in sorted(values)}, sort_keys=True)
    return hashlib.sha256(canon.encode()).hexdigest()


def particle_seed(root_seed: int, digest: str, replicate: int) -> int:
    """The seed of replicate ``replicate`` of the particle with this digest."""
    h1, h2 = int(digest[:8], 16), int(digest[8:16], 16)
    return stream_seed(root_seed, (CALIBRATION_STREAM, h1, h2, replicate))


def simulate_features(
    base: dict[str, Any],
    values: dict[str, Any],
    patterns: dict[str, PatternSpec],
    seed: int,
    days: int,
) -> dict[str, float]:
    """One ordinary govsim run at these values, reduced to the patterns' features."""
    from govsim.config import scenario_from_dict, set_path
    from govsim.runner import simulate

    data = base
    for name, value in values.items():
        data = set_path(data, name, value)
    scenario = scenario_from_dict(data, "calibration particle")
    timeseries = any(p.needs_timeseries for p in patterns.values())
    result = simulate(scenario, seed=seed, days=days, timeseries=timeseries)
    return features(
        patterns,
        dict(result.summary),
        result.timeseries,
        citizens=scenario.population.citizens,
        days=result.days,
    )


@dataclass
class Simulator:
    """pyabc's model: parameter coordinates -> mean pattern features over R replicates.

    Small and picklable (sent to Dask workers). Returns every pattern's feature mean (held-out
    patterns too: they are stored, not used in the distance) and ``sd::NAME`` replicate spreads.
    """

    base: dict[str, Any]
    priors: list[Prior]
    patterns: dict[str, PatternSpec]
    replicates: int
    root_seed: int
    days: int
    cache_dir: str | None

    def values(self, coords: dict[str, float]) -> dict[str, Any]:
        """Scenario values of a particle."""
        return {
            p.name: p.to_value(float(coords[parameter_key(i)])) for i, p in enumerate(self.priors)
        }

    def replicate(self, values: dict[str, Any], digest: str, r: int) -> dict[str, float]:
        """Replicate r of a particle: from the cache, or simulated and cached (atomically)."""
        seed = particle_seed(self.root_seed, digest, r)
        path = Path(self.cache_dir) / digest[:2] / f"{digest}-r{r}.json" if self.cache_dir else None
        if path is not None and path.is_file():
            with contextlib.suppress(OSError, ValueError, KeyError):
                cached = json.loads(path.read_text())
                if cached["seed"] == seed and set(cached["features"]) == set(self.patterns):
                    return {
                        k: math.nan if v is None else float(v)
                        for k, v in cached["features"].items()
                    }
        feats = simulate_features(self.base, values, self.patterns, seed, self.days)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            record = {
                "values": values,
                "replicate": r,
                "seed": seed,
                "features": {k: _finite(v) for k, v in feats.items()},
            }
            atomic_write_text(path, json.dumps(record) + "\n")
        return feats

    def __call__(self, coords: dict[str, float]) -> dict[str, float]:
        values = self.values(coords)
        digest = theta_digest(values)
        rows = [self.replicate(values, digest, r) for r in range(self.replicates)]
        frame = pd.DataFrame(rows, columns=list(self.patterns), dtype=float)
        out = {k: float(frame[k].mean()) for k in frame}
        out.update(
            {f"sd::{k}": float(frame[k].std(ddof=1)) if len(frame) > 1 else 0.0 for k in frame}
        )
        return out


def _finite(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass
class PatternDistance:
    """Standardised Euclidean distance over the fitted patterns (NaN feature: infinite)."""

    centres: dict[str, float]
    scales: dict[str, float]

    def __call__(self, x: dict[str, float], x0: dict[str, float]) -> float:
        total = 0.0
        for k, c in self.centres.items():
            v = float(x.get(k, math.nan))
            if not math.isfinite(v):
                return math.inf
            total += ((v - c) / self.scales[k]) ** 2
        return math.sqrt(total)


def observed(cal: Calibration) -> dict[str, float]:
    """The targets' centres (pyabc's observed data)."""
    return {n: p.target.centre for n, p in cal.patterns.patterns.items()}


def distance_for(cal: Calibration) -> PatternDistance:
    """The distance over the fitted patterns."""
    pats = cal.patterns.patterns
    return PatternDistance(
        {n: pats[n].target.centre for n in cal.fitted},
        {n: pats[n].target.scale for n in cal.fitted},
    )


# --- screening ----------------------------------------------------------------------------


def screening(
    cal: Calibration,
    out: Path,
    *,
    executor: str,
    workers: int | None,
    scheduler: str | None,
    cluster: ClusterSpec | None,
    progress: bool | None,
) -> pd.DataFrame:
    """Run (or resume) the Morris screening and return the table of effects.

    Returns:
        One row per (pattern, parameter): ``mu_star``, ``mu_star_conf``, ``sigma``,
        ``noise_floor``, ``scale`` (the target's), ``effect`` (mu* / scale), ``matters``.
    """
    cached = out / SCREENING_TABLE
    if cached.is_file():
        return pd.read_csv(cached)
    from govsim.experiment.analyze import analyze_output
    from govsim.experiment.execute import execute
    from govsim.experiment.merge import collect
    from govsim.experiment.plan import load_plan, plan
    from govsim.experiment.results import timeseries_path

    exp = cal.screening_experiment()
    pl, _ = plan(exp, out / SCREENING_DIR)
    summary = execute(
        pl.dir,
        executor=executor,  # type: ignore[arg-type]
        workers=workers,
        scheduler=scheduler,
        cluster=cluster,
        progress=progress,
        retry_failed=True,
    )
    if summary.interrupted:
        raise KeyboardInterrupt
    pl = load_plan(pl.dir)
    records = collect(pl)
    failed = [r for r, rec in records.items() if rec["status"] != "ok"]
    if failed:
        first = records[failed[0]]["error"]
        raise ScenarioError(
            [f"{pl.dir}: {len(failed)} screening runs failed (first error: {first})"]
        )
    pats = cal.patterns.patterns
    rows = []
    for run_id in sorted(records):
        rec = records[run_id]
        ts = (
            pd.read_parquet(timeseries_path(pl.results_dir, run_id))
            if cal.patterns.needs_timeseries
            else None
        )
        citizens = int(
            pl.design.loc[pl.design["run_id"] == run_id, "population.citizens"].iloc[0]
            if "population.citizens" in pl.design
            else cal.base_scenario["population"]["citizens"]
        )
        rows.append({"run_id": run_id, **features(pats, rec["outputs"], ts, citizens, cal.days)})
    feats = pl.design[["run_id", "point_id"]].merge(pd.DataFrame(rows), on="run_id")
    means = feats.groupby("point_id", sort=True)[list(pats)].mean()
    noise = feats.groupby("point_id")[list(pats)].var(ddof=1).mean()
    table = []
    for name, p in pats.items():
        y = means[name].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            y = np.where(np.isfinite(y), y, np.nanmean(y) if np.isfinite(y).any() else 0.0)
        rows_ = analyze_output(
            pl,
            y,
            name,
            num_resamples=200,
            conf_level=0.95,
            seed=cal.spec.root_seed % (2**32),
            noise_variance=float(noise[name]) if cal.spec.screening.replicates > 1 else math.nan,
        )
        by = pd.DataFrame(rows_)
        floor_rows = by[by["index"] == "noise_floor"]
        floor = float(floor_rows["estimate"].iloc[0]) if len(floor_rows) else 0.0
        bar = noise_bar(floor, cal.spec.screening.trajectories)
        for prior in cal.priors:
            sub = by[by["parameter"] == prior.name].set_index("index")
            mu_star = float(sub.loc["mu_star", "estimate"])
            effect = mu_star / p.target.scale
            table.append(
                {
                    "pattern": name,
                    "parameter": prior.name,
                    "mu_star": mu_star,
                    "mu_star_conf": float(sub.loc["mu_star", "conf"]),
                    "sigma": float(sub.loc["sigma", "estimate"]),
                    "noise_floor": floor,
                    "noise_bar": bar,
                    "scale": p.target.scale,
                    "effect": effect,
                    "matters": bool(mu_star > bar and effect >= cal.spec.screening.threshold),
                    "held_out": name in cal.holdout,
                }
            )
    frame = pd.DataFrame(table)
    atomic_write_text(cached, frame.to_csv(index=False, lineterminator="\n"))
    return frame


def noise_bar(floor: float, trajectories: int) -> float:
    """The mu* a parameter must exceed to be told from replicate noise (module docstring).

    Args:
        floor: The noise floor, the mean mu* of a parameter without effect.
        trajectories: Morris trajectories ``r``.

    Returns:
        ``floor * (1 + 2 sqrt(pi/2 - 1) / sqrt(r))``: two standard errors above the floor.
    """
    return floor * (1.0 + 2.0 * math.sqrt(math.pi / 2.0 - 1.0) / math.sqrt(trajectories))


def identifiable(cal: Calibration, table: pd.DataFrame | None) -> list[str]:
    """Parameters that matter for at least one fitted pattern (all, without a screening)."""
    if table is None or table.empty:
        return [p.name for p in cal.priors]
    sub = table[(~table["held_out"].astype(bool)) & table["matters"].astype(bool)]
    return [p.name for p in cal.priors if p.name in set(sub["parameter"])]


# --- ABC-SMC ------------------------------------------------------------------------------


@contextmanager
def _sampler(
    executor: str,
    workers: int | None,
    scheduler: str | None,
    cluster: ClusterSpec | None,
) -> Iterator[Any]:
    """The pyabc sampler for an executor (a Dask client lives as long as the context)."""
    from pyabc import sampler as samplers

    from govsim.experiment.cluster import dask_client, default_workers

    if executor == "serial":
        yield samplers.SingleCoreSampler()
    elif executor == "processes":
        yield samplers.MulticoreEvalParallelSampler(n_procs=workers or default_workers())
    elif executor == "dask":
        with dask_client(workers=workers, scheduler=scheduler, cluster=cluster) as client:
            yield samplers.DaskDistributedSampler(dask_client=client)
    else:
        raise ScenarioError([f"--executor {executor}: expected serial, processes or dask"])


def _quiet_pyabc() -> None:
    """pyabc logs every generation at INFO: the progress bar says it instead."""
    for name in ("ABC", "ABC.History", "ABC.Sampler", "ABC.Distance", "ABC.Epsilon"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _generation_row(history: Any) -> dict[str, Any]:
    pops = history.get_all_populations()
    last = pops[pops["t"] == history.max_t].iloc[0]
    samples = float(last["samples"])
    return {
        "t": int(last["t"]),
        "epsilon": float(last["epsilon"]),
        "acceptance": float(last["particles"]) / samples if samples else math.nan,
    }


def run_abc(
    cal: Calibration,
    out: Path,
    *,
    executor: str,
    workers: int | None,
    scheduler: str | None,
    cluster: ClusterSpec | None,
    resume: bool,
    progress: bool | None,
) -> Any:
    """Run ABC-SMC (or resume it from ``OUT/abc.db``) and return pyabc's history.

    Generations run one at a time: each loads the history, seeds the proposals from the root seed
    and the generation's index (:data:`PROPOSAL_STREAM`), and runs one population. So a generation
    cut short by a kill and run again after ``--resume`` proposes the same particles with the serial
    sampler, and finds their simulations in ``OUT/simulations/``. (Parallel samplers propose in
    worker processes whose order depends on timing; their finished simulations are kept too, but a
    resumed generation may propose others.)
    """
    import pyabc
    from tqdm import tqdm

    db_path = (out / ABC_DB).resolve()
    db = f"sqlite:///{db_path}"
    prior = pyabc.Distribution(
        **{
            parameter_key(i): pyabc.RV("uniform", lo, hi - lo)
            for i, (lo, hi) in enumerate(p.coordinate_bounds for p in cal.priors)
        }
    )
    model = Simulator(
        base=cal.base_scenario,
        priors=cal.priors,
        patterns=cal.patterns.patterns,
        replicates=cal.spec.replicates,
        root_seed=cal.spec.root_seed,
        days=cal.days,
        cache_dir=str((out / SIM_DIR).resolve()),
    )
    a = cal.spec.abc
    _quiet_pyabc()
    with _sampler(executor, workers, scheduler, cluster) as sampler:
        sampler.show_progress = False

        def smc() -> Any:
            return pyabc.ABCSMC(
                model, prior, distance_for(cal), population_size=a.population, sampler=sampler
            )

        history = None
        if resume and db_path.is_file():
            abc = smc()
            abc.load(db, 1)
            history = abc.history
            if history.max_t < 0:  # killed before the first generation ended: start again
                history = None
        done = 0 if history is None else history.max_t + 1
        bar = tqdm(
            total=a.generations,
            initial=done,
            desc="ABC-SMC",
            unit="generation",
            file=sys.stderr,
            disable=None if progress is None else not progress,
            dynamic_ncols=True,
        )
        try:
            if history is not None:
                row = _generation_row(history)
                bar.set_postfix(eps=f"{row['epsilon']:.3g}", acceptance=f"{row['acceptance']:.3f}")
            while done < a.generations:
                abc = smc()
                np.random.seed(stream_seed(cal.spec.root_seed, (PROPOSAL_STREAM, done)) % 2**32)
                if done == 0:
                    db_path.unlink(missing_ok=True)
                    abc.new(db, observed(cal))
                else:
                    abc.load(db, 1)
                history = abc.run(max_nr_populations=1)
                done = history.max_t + 1
                row = _generation_row(history)
                bar.update(1)
                bar.set_postfix(
                    generation=row["t"],
                    eps=f"{row['epsilon']:.3g}",
                    acceptance=f"{row['acceptance']:.3f}",
                )
                if row["epsilon"] <= a.min_epsilon or row["acceptance"] < a.min_acceptance_rate:
                    break
        finally:
            bar.close()
        return history


def posterior_frame(cal: Calibration, history: Any) -> pd.DataFrame:
    """The last generation's particles, one row each: scenario values, ``weight`` (normalised),
    ``distance``, ``generation``, and every pattern's simulated mean as ``sim::NAME``."""
    pop = history.get_population(t=history.max_t)
    rows = []
    for particle in pop.particles:
        row: dict[str, Any] = {
            p.name: p.to_value(float(particle.parameter[parameter_key(i)]))
            for i, p in enumerate(cal.priors)
        }
        row["weight"] = float(particle.weight)
        row["distance"] = float(particle.distance)
        for name in cal.patterns.patterns:
            row[f"sim::{name}"] = float(particle.sum_stat.get(name, math.nan))
            row[f"sd::{name}"] = float(particle.sum_stat.get(f"sd::{name}", math.nan))
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["weight"] = frame["weight"] / frame["weight"].sum()
    frame["generation"] = int(history.max_t)
    return frame
