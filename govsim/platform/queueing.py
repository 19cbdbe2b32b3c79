"""Textbook queueing formulas (M/M/c, Erlang C), the yardstick of the case engine.

The case engine is simulated and checked against these formulas in the ``queue_mmc`` scenario.
(The hotline uses Erlang A, the same queue with impatient callers: govsim.platform.intake.)
"""

from __future__ import annotations

import math

from scipy import special


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (Erlang C).

    Args:
        servers: Number of servers c (>= 1).
        offered_load: a = lambda / mu in Erlangs; must be below ``servers`` for a steady state.

    Returns:
        P(wait > 0); 1.0 when the queue is unstable (a >= c).
    """
    c, a = int(servers), float(offered_load)
    if c < 1:
        raise ValueError("servers must be >= 1")
    if a <= 0:
        return 0.0
    if a >= c:
        return 1.0
    # Erlang B by the stable recursion, then C = B / (1 - rho (1 - B)).
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def mmc_mean_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean waiting time in queue, W_q = C(c, a) / (c mu - lambda), in the rates' time unit."""
    a = arrival_rate / service_rate
    return erlang_c(servers, a) / (servers * service_rate - arrival_rate)


def mmc_mean_time_in_system(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time in system, W = W_q + 1/mu."""
    return mmc_mean_wait(arrival_rate, service_rate, servers) + 1.0 / service_rate


def mmc_prob_wait_longer(arrival_rate: float, service_rate: float, servers: int, t: float) -> float:
    """P(W_q > t) = C(c, a) exp(-(c mu - lambda) t)."""
    a = arrival_rate / service_rate
    return erlang_c(servers, a) * math.exp(-(servers * service_rate - arrival_rate) * t)


def erlang_c_scipy_check(servers: int, offered_load: float) -> float:
    """Erlang C from the Poisson tail (an independent formula, used by tests)."""
    c, a = servers, offered_load
    p_le = special.pdtr(c - 1, a)  # P(Poisson(a) <= c-1)
    p_c = math.exp(c * math.log(a) - a - math.lgamma(c + 1))
    rho = a / c
    return p_c / (p_c + (1 - rho) * p_le)
