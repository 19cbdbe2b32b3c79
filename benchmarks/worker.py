"""One benchmark measurement in a fresh interpreter; prints one JSON line.

Run by :mod:`benchmarks.run` (one subprocess per measurement, so that peak RSS belongs to that
measurement alone and nothing is warmed up by an earlier one)::

    python -m benchmarks.worker govsim N DAYS SEED
    python -m benchmarks.worker mesa N STEPS SEED
    python -m benchmarks.worker numpy N DAYS SEED
    python -m benchmarks.worker sweep N DAYS SEED [RUNS]
    python -m benchmarks.worker demo N DAYS SEED

* ``govsim``: the baseline scenario scaled to ``N`` citizens (:func:`benchmarks.scaling.
  scaled_baseline`), end to end as :func:`govsim.runner.simulate` does it: build the model, step
  ``DAYS`` days, then the time series and summary.
* ``mesa``: Mesa's own per-agent loop, the peer anchor: ``N`` agents whose ``step`` does nothing,
  activated with ``model.agents.shuffle_do("step")`` ``STEPS`` times.
* ``numpy``: the practical limit: one vectorised NumPy random draw per citizen per day,
  ``rng.random(N)`` ``DAYS`` times.
* ``sweep``: runs as a sensitivity sweep makes them: ``RUNS`` (default 32) runs of a Sobol design
  over the six platform levers of ``experiments/sweeps/platform_sobol.yaml``, on the scaled city of
  ``N`` citizens, planned and executed by :mod:`govsim.experiment` with a local process pool of one
  worker per usable core. CPU time counts every process (the workers' imports included).
* ``demo``: the classroom demo's model, headless: :class:`govsim.viz.pair.CityPair` (the
  ``baseline`` preset, ``N`` citizens per city, city B with unified dispatch as a lesson would
  set it) stepped ``DAYS`` days (at most the preset's horizon); each step advances both cities
  and records the charted metrics. No browser and no drawing: what the server does between two
  frames, so days/s is an upper bound on the demo's speed.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def _rss_now_kb() -> int:
    """Current resident set size in KiB (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return 0
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _peak_rss_kb() -> int:
    """Peak resident set size of this process in KiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak // 1024) if sys.platform == "darwin" else int(peak)


def measure_govsim(n: int, days: int, seed: int, timeseries: bool = True) -> dict[str, float]:
    """End-to-end baseline run at ``n`` citizens (see the module docstring); with
    ``timeseries=False`` a summary-only run, as sweeps run them (no daily metrics)."""
    from benchmarks.scaling import scaled_baseline
    from govsim import compiled
    from govsim.model import GovernanceModel

    scenario = scaled_baseline(n, days=days, seed=seed)
    base_rss = _rss_now_kb()
    c0 = time.process_time()
    t0 = time.perf_counter()
    model = GovernanceModel(scenario=scenario, rng=seed, daily_metrics=timeseries)
    t1 = time.perf_counter()
    for _ in range(days):
        model.step()
    t2 = time.perf_counter()
    if timeseries:
        model.timeseries()
    model.summary()
    t3 = time.perf_counter()
    return {
        "seconds": t3 - t0,
        "cpu_seconds": time.process_time() - c0,
        "init_seconds": t1 - t0,
        "step_seconds": t2 - t1,
        "output_seconds": t3 - t2,
        "kernel_load_seconds": sum(compiled.COMPILE_SECONDS.values()),
        "cases": float(model.cases.n),
        "citizen_days": float(n) * days,
        "base_rss_kb": float(base_rss),
        "peak_rss_kb": float(_peak_rss_kb()),
    }


def measure_mesa(n: int, steps: int, seed: int) -> dict[str, float]:
    """Mesa 3's empty-step ``shuffle_do`` rate at ``n`` agents."""
    import mesa

    class Empty(mesa.Agent):
        """An agent whose step does nothing."""

    model = mesa.Model(rng=seed)
    t0 = time.perf_counter()
    Empty.create_agents(model, n)
    t1 = time.perf_counter()
    c1 = time.process_time()
    for _ in range(steps):
        model.agents.shuffle_do("step")
    t2 = time.perf_counter()
    return {
        "seconds": t2 - t1,
        "cpu_seconds": time.process_time() - c1,
        "create_seconds": t1 - t0,
        "agent_steps": float(n) * steps,
        "peak_rss_kb": float(_peak_rss_kb()),
    }


def measure_numpy(n: int, days: int, seed: int) -> dict[str, float]:
    """One vectorised NumPy draw per citizen per day."""
    import numpy as np

    rng = np.random.default_rng(seed)
    c0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(days):
        rng.random(n)
    t1 = time.perf_counter()
    return {"seconds": t1 - t0, "cpu_seconds": time.process_time() - c0, "draws": float(n) * days}


def measure_govsim_summary(n: int, days: int, seed: int) -> dict[str, float]:
    """A summary-only run (no daily metrics, no time series), as a sweep runs it."""
    return measure_govsim(n, days, seed, timeseries=False)


SWEEP_EXPERIMENT = "experiments/sweeps/platform_sobol.yaml"
"""The sweep whose levers (and outputs) the ``sweep`` measurement uses."""
SWEEP_RUNS = 32


def _sweep_spec() -> dict:
    """The experiment file of :data:`SWEEP_EXPERIMENT`, as plain data."""
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[1]
    return yaml.safe_load((root / SWEEP_EXPERIMENT).read_text(encoding="utf-8"))


def sweep_design_points(runs: int, spec: dict | None = None) -> int:
    """Sobol base points giving ``runs`` runs (``points x (levers + 2)``, a power of 2 points) of
    the experiment ``spec`` (default: :data:`SWEEP_EXPERIMENT`'s).

    Raises:
        ValueError: if no such design has ``runs`` runs.
    """
    k = len((spec or _sweep_spec())["parameters"])
    points, rest = divmod(runs, k + 2)  # a Sobol design without second order: n (k + 2) runs
    if runs < 0 or rest or points < 1 or points & (points - 1):
        raise ValueError(
            f"expected {k + 2} x a power of 2 ({k + 2}, {2 * (k + 2)}, ...), got {runs}"
        )
    return points


def measure_sweep(n: int, days: int, seed: int, runs: int = SWEEP_RUNS) -> dict[str, float]:
    """``runs`` runs of a Sobol sweep at ``n`` citizens, end to end (see the module docstring)."""
    import tempfile
    from pathlib import Path

    import yaml

    from benchmarks.scaling import scaled_baseline_file
    from govsim.experiment.cluster import default_workers
    from govsim.experiment.execute import execute
    from govsim.experiment.plan import plan
    from govsim.experiment.spec import load_experiment

    spec = _sweep_spec()
    points = sweep_design_points(runs, spec)
    workers = default_workers()
    with tempfile.TemporaryDirectory(prefix="govsim-bench-sweep-") as tmp:
        (Path(tmp) / "city.yaml").write_text(
            scaled_baseline_file(n, days=days, seed=seed), encoding="utf-8"
        )
        for key in ("set", "slurm", "cluster"):
            spec.pop(key, None)
        spec.update(
            name="bench_sweep",
            scenario="city.yaml",
            design={"method": "sobol", "n": points, "second_order": False},
            replicates=1,
            days=days,
            root_seed=seed,
        )
        (Path(tmp) / "sweep.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
        c0, kids0 = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        plan(load_experiment(Path(tmp) / "sweep.yaml"), Path(tmp) / "plan")
        t1 = time.perf_counter()
        done = execute(Path(tmp) / "plan", executor="processes", workers=workers, progress=False)
        t2 = time.perf_counter()
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time() - c0
        cpu += (kids.ru_utime - kids0.ru_utime) + (kids.ru_stime - kids0.ru_stime)
    if done.ok != runs:
        raise RuntimeError(f"sweep: {done.ok} of {runs} runs completed ({done.failed} failed)")
    return {
        "seconds": t2 - t0,
        "cpu_seconds": cpu,
        "plan_seconds": t1 - t0,
        "execute_seconds": t2 - t1,
        "runs": float(runs),
        "workers": float(workers),
        "citizen_days": float(n) * days * runs,
    }


def measure_demo(n: int, days: int, seed: int) -> dict[str, float]:
    """The classroom demo's two cities at ``n`` citizens each, stepped headless (see the module
    docstring)."""
    from govsim.viz.pair import CityPair

    c0 = time.process_time()
    t0 = time.perf_counter()
    pair = CityPair(preset="baseline", citizens=n, seed=seed, dispatch_mode="unified")
    t1 = time.perf_counter()
    c1 = time.process_time()
    steps = min(days, pair.horizon)
    for _ in range(steps):
        pair.step()
    t2 = time.perf_counter()
    return {
        "seconds": t2 - t1,
        "cpu_seconds": time.process_time() - c1,
        "init_seconds": t1 - t0,
        "init_cpu_seconds": c1 - c0,
        "days": float(steps),
        "peak_rss_kb": float(_peak_rss_kb()),
    }


MEASURES = {
    "govsim": measure_govsim,
    "govsim_summary": measure_govsim_summary,
    "mesa": measure_mesa,
    "numpy": measure_numpy,
    "sweep": measure_sweep,
    "demo": measure_demo,
}


def main(argv: list[str] | None = None) -> int:
    """Command line: ``KIND N COUNT SEED`` (``sweep N DAYS SEED [RUNS]``); prints the measurement
    as JSON."""
    args = sys.argv[1:] if argv is None else argv
    extra = 1 if args and args[0] == "sweep" else 0  # a sweep may name its number of runs
    if not 4 <= len(args) <= 4 + extra or args[0] not in MEASURES:
        print(
            f"usage: python -m benchmarks.worker {{{'|'.join(MEASURES)}}} N COUNT SEED "
            "(sweep: N DAYS SEED [RUNS])",
            file=sys.stderr,
        )
        return 2
    kind, n, count, seed = args[0], int(args[1]), int(args[2]), int(args[3])
    if kind == "sweep" and len(args) > 4:
        try:
            sweep_design_points(int(args[4]))
        except ValueError as e:
            print(f"benchmarks.worker sweep: RUNS: {e}", file=sys.stderr)
            return 2
    out = MEASURES[kind](n, count, seed, *(int(a) for a in args[4:]))
    print(json.dumps({"kind": kind, "n": n, "count": count, "seed": seed, **out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
