"""Mesa's own ``batch_run`` can build and step :class:`govsim.model.GovernanceModel`.

This is the contract that lets Mesa tooling (batch_run, SolaraViz) drive govsim: a keyword-only
constructor whose arguments all have defaults, seeding through ``rng``, and a ``datacollector``.
"""

from __future__ import annotations

import multiprocessing

import pandas as pd
import pytest
from mesa.batchrunner import batch_run

from govsim.metrics import METRICS
from govsim.model import GovernanceModel

STEPS = 3
TINY = {"population.citizens": 300}


@pytest.fixture
def keep_start_method():
    """batch_run forces the 'spawn' start method process-wide; put the old one back."""
    before = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(before, force=True)


def test_batch_run_builds_and_steps_the_model(keep_start_method) -> None:
    names = GovernanceModel(overrides=TINY).metric_names()
    assert names and set(names) <= set(METRICS)
    results = batch_run(
        GovernanceModel,
        parameters={
            "overrides": [TINY],
            "scenario": ["baseline"],
        },
        rng=[1, 2],
        max_steps=STEPS,
        number_processes=1,
        data_collection_period=1,
        display_progress=False,
    )
    # one row per run per collected step (step 0 is the initial state collected by Mesa, if any)
    runs = {r["RunId"] for r in results}
    assert runs == {0, 1}
    for run in runs:
        rows = [r for r in results if r["RunId"] == run]
        assert max(r["Step"] for r in rows) == STEPS
        assert all(r["overrides"] == TINY for r in rows)
        last = max(rows, key=lambda r: r["Step"])
        assert set(names) <= set(last)  # every metric the model reports, by name
    # different seeds give different histories
    a, b = (max((r for r in results if r["RunId"] == i), key=lambda r: r["Step"]) for i in (0, 1))
    assert any(a[k] != b[k] for k in names if a[k] == a[k] and b[k] == b[k])


def test_same_rng_same_history_in_one_process() -> None:
    m1 = GovernanceModel(rng=5, overrides=TINY)
    m2 = GovernanceModel(rng=5, overrides=TINY)
    for _ in range(STEPS):
        m1.step()
        m2.step()
    pd.testing.assert_frame_equal(m1.timeseries(), m2.timeseries())
