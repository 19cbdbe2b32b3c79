"""Intake (接): the hotline's call centre and classification of incoming contacts.

The hotline is evaluated each day as an M/M/c queue in steady state for that day's offered load
(operators on duty, calls per operator-day, a 24-hour service day): the share answered within the
answer-time standard (15 s in Beijing), the share abandoned by callers whose patience (exponential)
runs out, and the expected wait that citizens weigh when choosing a channel the next day. Calls
beyond the operators' capacity (load >= servers) are mostly abandoned.
"""

from __future__ import annotations

from dataclasses import dataclass

from govsim.platform.queueing import erlang_c

MINUTES_PER_DAY = 24 * 60.0


@dataclass(frozen=True)
class HotlineDay:
    """The call centre's performance on one day."""

    calls: int
    answered_within_standard: float
    abandon_probability: float
    expected_wait_minutes: float


def hotline_day(
    calls: int,
    operators: int,
    calls_per_operator: float,
    standard_s: float,
    patience_minutes: float,
) -> HotlineDay:
    """Evaluate one day of the hotline for ``calls`` offered calls.

    Args:
        calls: Calls offered today.
        operators: Operators on duty (servers c).
        calls_per_operator: Calls one operator can answer per day (service rate mu per day).
        standard_s: Answer-time standard in seconds.
        patience_minutes: Mean patience of a waiting caller.

    Returns:
        The day's answered-within-standard share, abandonment probability and expected wait.
    """
    if calls <= 0 or operators <= 0:
        return HotlineDay(
            int(calls), 1.0 if operators > 0 else 0.0, 0.0 if operators > 0 else 1.0, 0.0
        )
    lam = float(calls)  # per day
    mu = float(calls_per_operator)
    a = lam / mu
    c = int(operators)
    theta = patience_minutes / MINUTES_PER_DAY  # mean patience in days
    if a >= c * 0.999:
        # Overloaded: the operators answer at full capacity; the rest give up.
        served = c * mu * 0.999
        abandon = 1.0 - served / lam
        return HotlineDay(int(calls), 0.0, abandon, patience_minutes)
    pw = erlang_c(c, a)
    r = c * mu - lam  # rate of the conditional waiting-time exponential
    t_std = standard_s / 86400.0
    import math

    within = 1.0 - pw * math.exp(-r * t_std)
    abandon = pw * (1.0 / theta) / (r + 1.0 / theta)
    wait_min = pw / r * MINUTES_PER_DAY
    return HotlineDay(int(calls), within, abandon, wait_min)
