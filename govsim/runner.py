"""Run one scenario to the end: the single entry point shared by the CLI, experiments and tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from govsim import compiled
from govsim.model import GovernanceModel
from govsim.queue_model import QueueModel
from govsim.schema import Scenario


@dataclass
class RunResult:
    """What one run produced."""

    scenario: Scenario
    seed: int
    days: int
    timeseries: pd.DataFrame | None
    """One row per day; ``None`` for a run made with ``timeseries=False``."""
    summary: dict[str, float]
    wall_seconds: float


def build_model(
    scenario: Scenario, *, seed: int | None = None, daily_metrics: bool = True
) -> GovernanceModel | QueueModel:
    """The model a scenario describes: the city, or the M/M/c validation queue (``queue.enabled``).

    Args:
        scenario: A validated scenario.
        seed: Root seed (default: the scenario's ``seed``).
        daily_metrics: Compute and collect the metrics every day.
    """
    cls = QueueModel if scenario.queue.enabled else GovernanceModel
    return cls(scenario=scenario, rng=seed, daily_metrics=daily_metrics)


_runs_in_process = 0
"""Runs :func:`simulate` has started in this process. Before the second it loads the compiled
kernels if they are cached (:func:`govsim.compiled.preload`): a process that runs more than one
model, like a sweep's or a calibration's worker, probably runs many, and after about three
runs with them the kernels have paid for their load (a 10,000-citizen summary-only year 0.58 ->
0.46 s; the load 0.33 s; finding the cache cold costs numba's import, 0.2 s, once). One run, as
``govsim run`` makes it, loads nothing it does not need. Results are the same either way."""


def simulate(
    scenario: Scenario,
    *,
    seed: int | None = None,
    days: int | None = None,
    progress: Callable[[int], None] | None = None,
    timeseries: bool = True,
) -> RunResult:
    """Simulate ``scenario`` for ``days`` days (default: the scenario's) with ``seed``.

    Args:
        scenario: A validated scenario.
        seed: Root seed (default: the scenario's ``seed``).
        days: Days to simulate (default: the scenario's ``days``).
        progress: Called with the number of days done after each day.
        timeseries: Compute and keep the daily metrics. ``False`` gives the same summary
            faster (no daily metrics; see ``GovernanceModel(daily_metrics=...)``).

    Returns:
        The time series (one row per day), the end-of-run summary and timing.
    """
    global _runs_in_process
    _runs_in_process += 1
    if _runs_in_process == 2:  # a process that runs many models (a sweep's worker): see above
        compiled.preload()
    seed = scenario.seed if seed is None else int(seed)
    days = scenario.days if days is None else int(days)
    if days != scenario.days or seed != scenario.seed:
        scenario = scenario.model_copy(update={"days": days, "seed": seed})
    t0 = time.perf_counter()
    model = build_model(scenario, seed=seed, daily_metrics=timeseries)
    for d in range(days):
        model.step()
        if progress is not None:
            progress(d + 1)
    return RunResult(
        scenario,
        seed,
        days,
        model.timeseries() if timeseries else None,
        model.summary(),
        time.perf_counter() - t0,
    )
