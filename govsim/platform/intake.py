"""Intake (接): the hotline's call centre and classification of incoming contacts.

The hotline is evaluated each day as an Erlang-A queue (M/M/c+M) in steady state for that day's
offered load: ``c`` operators on duty, each answering ``calls_per_operator`` calls a day, a 24-hour
service day, and callers who hang up when their patience (exponential, mean
``hotline_patience_minutes``) runs out before an operator answers. The birth-death chain of calls in
the centre is solved numerically (truncated far in the tail); from it come the probability of
waiting, the abandonment probability ``gamma E[queue] / lambda``, the mean wait ``E[queue] / lambda``
(Little's law), and the share answered within the standard (15 s in Beijing), approximating the
conditional wait by an exponential with the same mean. Without impatience this is exactly Erlang C.
The expected wait is what citizens weigh when choosing a channel the next day.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

MINUTES_PER_DAY = 24 * 60.0


@dataclass(frozen=True)
class HotlineDay:
    """The call centre's performance on one day."""

    calls: int
    answered_within_standard: float
    abandon_probability: float
    expected_wait_minutes: float


def erlang_a(
    arrival_rate: float, service_rate: float, servers: int, abandon_rate: float
) -> tuple[float, float, float]:
    """Steady state of an M/M/c+M queue.

    Args:
        arrival_rate: lambda (calls per time unit).
        service_rate: mu per server.
        servers: c.
        abandon_rate: gamma = 1 / mean patience (0 for Erlang C; then lambda < c mu is required).

    Returns:
        (P(wait > 0), P(abandon), mean wait in queue over all arrivals), in the rates' time unit.
    """
    lam, mu, c, gam = float(arrival_rate), float(service_rate), int(servers), float(abandon_rate)
    tail = 60 + int(20 * lam / gam) if gam > 0 else 60 + int(40 * c * mu / max(c * mu - lam, 1e-9))
    n_max = c + min(tail, 2_000_000)
    n = np.arange(1, n_max + 1, dtype=float)
    death = np.minimum(n, c) * mu + np.maximum(n - c, 0.0) * gam
    logp = np.concatenate([[0.0], np.cumsum(math.log(lam) - np.log(death))])
    p = np.exp(logp - logp.max())
    p /= p.sum()
    q = np.maximum(np.arange(n_max + 1) - c, 0)
    p_wait = float(p[c:].sum())
    mean_q = float((q * p).sum())
    return p_wait, (gam * mean_q / lam if gam > 0 else 0.0), mean_q / lam


@functools.lru_cache(maxsize=4096)
def hotline_day(
    calls: int,
    operators: int,
    calls_per_operator: float,
    standard_s: float,
    patience_minutes: float,
) -> HotlineDay:
    """Evaluate one day of the hotline for ``calls`` offered calls (see the module docstring).

    Args:
        calls: Calls offered today.
        operators: Operators on duty (servers c).
        calls_per_operator: Calls one operator can answer per day (service rate mu per day).
        standard_s: Answer-time standard in seconds.
        patience_minutes: Mean patience of a waiting caller.

    Returns:
        The day's answered-within-standard share, abandonment probability and expected wait.
        Remembered per arguments (a pure function of them; a run meets the same day's call count
        again and again, and solving the chain is about a tenth of a small run's intake).
    """
    if calls <= 0 or operators <= 0:
        return HotlineDay(
            int(calls), 1.0 if operators > 0 else 0.0, 0.0 if operators > 0 else 1.0, 0.0
        )
    gamma = MINUTES_PER_DAY / patience_minutes  # per day
    p_wait, abandon, mean_wait = erlang_a(
        float(calls), float(calls_per_operator), int(operators), gamma
    )
    t_std = standard_s / 86400.0
    within = 1.0 - p_wait * math.exp(-t_std * p_wait / mean_wait) if mean_wait > 0 else 1.0
    return HotlineDay(int(calls), within, abandon, mean_wait * MINUTES_PER_DAY)
