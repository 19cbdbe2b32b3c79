"""Every packaged scenario builds and steps: no scenario ships that the suite never runs."""

from __future__ import annotations

import math

import pytest

from govsim.config import load_scenario, packaged_scenarios
from govsim.metrics import METRICS, QUEUE_METRICS
from govsim.queue_model import QueueModel
from govsim.runner import build_model
from govsim.timeline import REFORM_COLUMN

DAYS = 35
"""Past the first assessment period (30 days), so that ranking and learning run once."""


@pytest.mark.parametrize("name", sorted(packaged_scenarios()))
def test_every_packaged_scenario_builds_steps_and_reports(name: str) -> None:
    scenario = load_scenario(name)
    small = [] if scenario.queue.enabled else ["population.citizens=1500"]
    # a scenario with a timeline runs past its last reform (a shorter run would refuse it)
    days = max((e.day for e in scenario.timeline), default=0) + DAYS
    scenario = load_scenario(name, [*small, f"days={days}"])
    m = build_model(scenario)
    assert isinstance(m, QueueModel) == scenario.queue.enabled
    for _ in range(days):
        m.step()
    names = m.metric_names()
    assert set(names) <= set(METRICS) | set(QUEUE_METRICS) | {"cases_reported", "backlog"}
    ts = m.timeseries()
    marks = [REFORM_COLUMN] if scenario.timeline else []  # the reforms' days (govsim.timeline)
    assert list(ts.columns) == ["day", *names, *marks] and len(ts) == days
    if scenario.timeline:
        assert (ts[REFORM_COLUMN] != "").sum() == len({e.day for e in scenario.timeline})
    summary = m.summary()
    assert summary["cases_reported"] > 0
    assert all(isinstance(v, float) for v in summary.values())
    finite = [k for k, v in summary.items() if not math.isnan(v)]
    assert len(finite) > len(summary) / 2, f"{name}: most of the summary is undefined"
    if not scenario.queue.enabled:
        assert m.officials.last_assessment is not None  # a period has been assessed
