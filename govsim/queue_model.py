"""QueueModel: the case engine reduced to one M/M/c queue, the yardstick of its exactness.

With behaviour switched off (one channel, one unit with ``queue.servers`` servers, Poisson arrivals
at ``queue.arrival_rate`` a day, exponential service at ``queue.service_rate`` per server-day, first
come first served, no gaming, no misrouting, no audits), the engine must reproduce textbook
queueing: Erlang C's probability of waiting, mean wait and time in system
(:mod:`govsim.platform.queueing`). The packaged scenario ``queue_mmc`` runs it, and ``govsim run
queue_mmc`` prints the comparison. Like mesa-examples' ``mmc_queue``, it is a small model of its own
beside the city model, with the same interface (``step``, ``summary``, ``timeseries``).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import mesa
import numpy as np

from govsim import metrics as M
from govsim.cases import HOTLINE, CaseStore
from govsim.city import DEPARTMENT, City
from govsim.config import resolve_scenario
from govsim.model import read_metric
from govsim.platform.engine import CaseEngine
from govsim.platform.queueing import erlang_c, mmc_mean_time_in_system, mmc_mean_wait
from govsim.schema import QueueSpec, Scenario

WARMUP_SHARE = 0.1
"""Share of the run left out of the summary's queue figures (the queue starts empty)."""
NEVER = 1e9
"""A deadline no case reaches (the queue has no closed loop)."""


def erlang_c_prediction(q: QueueSpec) -> dict[str, float]:
    """What Erlang C predicts for the queue's summary figures (days, and the share that waits)."""
    lam, mu, c = q.arrival_rate, q.service_rate, q.servers
    return {
        "mean_wait_days": mmc_mean_wait(lam, mu, c),
        "mean_days_in_system": mmc_mean_time_in_system(lam, mu, c),
        "prob_wait": erlang_c(c, lam / mu),
    }


def single_unit_city(s: Scenario) -> City:
    """A 'city' of one unit, the queue's servers."""
    c = City.build(s.model_copy(update={"departments": {}}))
    return dataclasses.replace(
        c,
        unit_kind=np.array([DEPARTMENT], dtype=np.int8),
        unit_district=np.array([0]),
        unit_name=["queue"],
        unit_dept=np.array([-1]),
        unit_vertical=np.array([False]),
    )


class QueueModel(mesa.Model):
    """One M/M/c queue served by the case engine (see the module docstring).

    Args:
        scenario: A scenario with ``queue.enabled`` (default: the packaged ``queue_mmc``), a
            packaged name or path, or a dict.
        rng: Seed or generator; defaults to the scenario's ``seed``.
        overrides: Dotted-path overrides applied to the scenario.
        daily_metrics: Compute and collect the metrics every day.
    """

    def __init__(
        self,
        *,
        scenario: Scenario | str | dict | None = "queue_mmc",
        rng: int | np.random.Generator | None = None,
        overrides: dict[str, Any] | None = None,
        daily_metrics: bool = True,
    ) -> None:
        s = resolve_scenario(scenario, overrides)
        if not s.queue.enabled:
            raise ValueError("QueueModel needs a scenario with queue.enabled: true")
        super().__init__(rng=s.seed if rng is None else rng)
        self.config = s
        self.horizon = s.days
        self.day = 0
        self.daily_metrics = daily_metrics
        self.metrics: dict[str, float] = {}
        # the same four streams as the city model: the engine's is the second
        self._rng_arrivals = self.rng.spawn(4)[1]
        q = s.queue
        self.cases = CaseStore.for_year(q.arrival_rate, s.days)
        self.ledger = M.Ledger(s.days + 1)
        self.engine = CaseEngine(
            s,
            single_unit_city(s),
            self.cases,
            np.array([q.servers]),
            self._rng_arrivals,
            audits=False,
        )
        self.hours_per_server = np.array([1.0])
        self.datacollector = mesa.DataCollector(
            model_reporters={k: partial(read_metric, name=k) for k in self.metric_names()}
        )

    def step(self) -> None:
        """One day: the day's Poisson arrivals join the queue, which serves in continuous time."""
        q, rng, d = self.config.queue, self._rng_arrivals, self.day
        self.ledger.ensure(d)
        n = int(rng.poisson(q.arrival_rate))
        t = np.sort(rng.uniform(d, d + 1, n))
        ids = self.cases.add(
            t_created=t,
            citizen=np.full(n, -1),
            category=np.zeros(n, np.int16),
            channel=np.full(n, HOTLINE, np.int8),
            consultation=np.zeros(n, bool),
            deadline=t + NEVER,
            owner_units=np.ones(n, np.int8),
            quartile=np.full(n, -1, np.int8),
            age_group=np.full(n, -1, np.int8),
            community=np.full(n, -1, np.int32),
            ses_code=np.full(n, 16, np.int8),
        )
        self.engine.enqueue_direct(ids, rng.exponential(1.0 / q.service_rate, n))
        self.engine.run_day(d, self.hours_per_server)
        self.ledger.problems[d] = n
        self.ledger.reached[d] = n
        self.day += 1
        if self.daily_metrics:
            st = self.cases
            today = st.first_created_at_or_after(self.day - 1.0)
            self.metrics = {
                "cases_reported": float(st.n - today),
                "backlog": float(M.open_backlog(st.state_counts)),
                **M.queue_metrics(st.view(), warmup=0.0),
            }
            self.datacollector.collect(self)

    def metric_names(self) -> list[str]:
        """Names of the metrics this model reports."""
        return ["cases_reported", "backlog", *M.QUEUE_METRICS]

    def summary(self) -> dict[str, float]:
        """The queue's figures over the run after a warm-up of a tenth of it."""
        st = self.cases
        out = {"cases_reported": float(st.n), "backlog": float(M.open_backlog(st.state_counts))}
        out.update(M.queue_metrics(st.view(), warmup=WARMUP_SHARE * self.day))
        return out

    def erlang_c(self) -> dict[str, float]:
        """What Erlang C predicts for the summary's queue figures."""
        return erlang_c_prediction(self.config.queue)

    def timeseries(self):
        """The daily metrics as a DataFrame (column ``day`` first)."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df.insert(0, "day", np.arange(1, len(df) + 1))
        return df
