"""The case engine against textbook queueing theory (docs/DESIGN.md section 2, issue 3 item 9).

Two parts:

* the Erlang C formula of :mod:`govsim.platform.queueing` against an independent formula (the
  Poisson-tail form, :func:`erlang_c_scipy_check`) and against limits known in closed form;
* the packaged scenario ``queue_mmc`` (the whole engine reduced to one M/M/c queue) against Erlang C
  for loads 0.5 to 0.95 and c in {1, 3, 10}, with at least 1e5 measured arrivals per check.

Tolerance of the simulation checks. Waiting times of successive customers are strongly
autocorrelated (the integrated autocorrelation time of the M/M/1 wait at load 0.95 is about 1,500
customers), so the Monte-Carlo standard error is estimated by **batch means**: the measured
customers (arrivals after the 10% warm-up that the summary drops) are cut, in arrival order, into
``BATCHES`` consecutive batches of at least 5,000 customers each, and SE = sd(batch means) /
sqrt(BATCHES). A check passes when ``|sim - theory| < Z * SE + slack`` with ``Z = 4`` (for
independent, normal batch means with 19 degrees of freedom the chance of a false alarm per check is
below 0.1%) and ``slack = 0.5%`` of the theoretical value, which covers the bias of starting
empty (the warm-up removal is not perfect at load 0.95) and of dropping the customers still in
service at the end. Each check also asserts that the SE is small enough (relative SE bound per
case) that the comparison could actually fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govsim import compiled
from govsim.platform.queueing import (
    erlang_c,
    erlang_c_scipy_check,
    mmc_mean_time_in_system,
    mmc_mean_wait,
    mmc_prob_wait_longer,
)
from govsim.queue_model import QueueModel

BATCHES = 20
Z = 4.0
REL_SLACK = 0.005
ARRIVALS_PER_DAY = 2000.0
"""Arrival rate used for the simulation checks: many arrivals per simulated day keeps the per-day
overhead of the model small; the engine serves in continuous time, so the day length is irrelevant."""


# ----------------------------------------------------------------------------- formulas
@pytest.mark.parametrize("c", [1, 2, 3, 5, 10, 30, 100, 250])
@pytest.mark.parametrize("rho", [0.05, 0.3, 0.5, 0.8, 0.9, 0.95, 0.99])
def test_erlang_c_matches_the_independent_poisson_tail_formula(c: int, rho: float) -> None:
    a = rho * c
    assert erlang_c(c, a) == pytest.approx(erlang_c_scipy_check(c, a), rel=1e-9, abs=1e-14)


@given(c=st.integers(1, 400), rho=st.floats(0.001, 0.999))
@settings(max_examples=200, deadline=None)
def test_erlang_c_property_against_independent_formula(c: int, rho: float) -> None:
    a = rho * c
    p = erlang_c(c, a)
    assert 0.0 <= p <= 1.0
    assert p == pytest.approx(erlang_c_scipy_check(c, a), rel=1e-8, abs=1e-14)


def test_erlang_c_closed_forms() -> None:
    # M/M/1: P(wait) = rho.
    for rho in (0.1, 0.5, 0.9):
        assert erlang_c(1, rho) == pytest.approx(rho, rel=1e-12)
    # M/M/2: P(wait) = 2 rho^2 / (1 + rho).
    for rho in (0.2, 0.6, 0.95):
        assert erlang_c(2, 2 * rho) == pytest.approx(2 * rho**2 / (1 + rho), rel=1e-12)
    # Edges documented in the docstring.
    assert erlang_c(3, 0.0) == 0.0
    assert erlang_c(3, 3.0) == 1.0
    assert erlang_c(3, 5.0) == 1.0
    with pytest.raises(ValueError):
        erlang_c(0, 1.0)


def test_erlang_c_is_monotone() -> None:
    # More load -> more waiting; more servers at the same offered load -> less waiting.
    loads = np.linspace(0.1, 9.9, 60)
    p = [erlang_c(10, a) for a in loads]
    assert np.all(np.diff(p) > 0)
    q = [erlang_c(c, 4.0) for c in range(5, 30)]
    assert np.all(np.diff(q) < 0)


def test_mmc_means_closed_forms() -> None:
    lam, mu = 3.0, 4.0
    # M/M/1: W_q = rho / (mu - lam), W = 1 / (mu - lam).
    assert mmc_mean_wait(lam, mu, 1) == pytest.approx((lam / mu) / (mu - lam))
    assert mmc_mean_time_in_system(lam, mu, 1) == pytest.approx(1 / (mu - lam))
    # P(W_q > t) = rho exp(-(mu - lam) t) for M/M/1.
    assert mmc_prob_wait_longer(lam, mu, 1, 0.7) == pytest.approx(
        (lam / mu) * math.exp(-(mu - lam) * 0.7)
    )
    # Little's law on the queue: L_q = lam W_q, and for M/M/1 L_q = rho^2 / (1 - rho).
    rho = lam / mu
    assert lam * mmc_mean_wait(lam, mu, 1) == pytest.approx(rho**2 / (1 - rho))


# ----------------------------------------------------------------------------- the engine
def _batch_mean_se(x: np.ndarray, batches: int = BATCHES) -> tuple[float, float]:
    """Mean of ``x`` and its standard error by ``batches`` consecutive batch means."""
    n = len(x) // batches * batches
    means = x[:n].reshape(batches, -1).mean(axis=1)
    return float(x.mean()), float(means.std(ddof=1) / math.sqrt(batches))


def _run_mmc(c: int, rho: float, measured: int, seed: int) -> tuple[QueueModel, dict]:
    lam = ARRIVALS_PER_DAY
    mu = lam / (c * rho)
    days = math.ceil(measured / (0.9 * lam) * 1.02) + 1
    model = QueueModel(
        scenario="queue_mmc",
        rng=seed,
        overrides={
            "days": days,
            "queue.arrival_rate": lam,
            "queue.service_rate": mu,
            "queue.servers": c,
        },
    )
    for _ in range(days):
        model.step()
    return model, {"lam": lam, "mu": mu, "days": days}


# (servers, load, measured arrivals, max relative SE of the mean wait for the check to be sharp)
MMC_CASES = [
    (1, 0.5, 100_000, 0.03),
    (1, 0.95, 200_000, 0.2),
    (3, 0.8, 100_000, 0.06),
    (3, 0.9, 150_000, 0.10),
    (10, 0.65, 100_000, 0.06),
    (10, 0.95, 200_000, 0.2),
]


@pytest.mark.slow
@pytest.mark.parametrize("kernels", [False, True], ids=["heapq", "compiled"])
@pytest.mark.parametrize(("c", "rho", "measured", "max_rel_se"), MMC_CASES)
def test_queue_mmc_matches_erlang_c(
    monkeypatch: pytest.MonkeyPatch,
    c: int,
    rho: float,
    measured: int,
    max_rel_se: float,
    kernels: bool,
) -> None:
    """On both paths of the service queues (:class:`govsim.platform.service.ServiceSystem`)."""
    monkeypatch.setattr(compiled, "FORCE", kernels)
    model, p = _run_mmc(c, rho, measured, seed=20240 + c)
    lam, mu = p["lam"], p["mu"]
    summary = model.summary()
    v = model.cases.view()
    warm = 0.1 * model.day
    done = (v.t_created >= warm) & ~np.isnan(v.t_closed)
    assert done.sum() >= measured
    # queue mode keeps the engine honest: FIFO, one unit, service starts after arrival
    wait = (v.t_started - v.t_owner)[done]
    system = (v.t_closed - v.t_owner)[done]
    assert np.all(wait >= 0) and np.all(system >= wait)
    assert np.all(np.diff(v.t_started[done]) >= -1e-12), "FIFO: starts in arrival order"

    # the summary reports exactly these quantities
    assert summary["mean_wait_days"] == pytest.approx(wait.mean(), rel=1e-12)
    assert summary["mean_days_in_system"] == pytest.approx(system.mean(), rel=1e-12)
    assert summary["prob_wait"] == pytest.approx((wait > 1e-12).mean(), rel=1e-12)

    theory = {
        "mean_wait_days": mmc_mean_wait(lam, mu, c),
        "mean_days_in_system": mmc_mean_time_in_system(lam, mu, c),
        "prob_wait": erlang_c(c, lam / mu),
    }
    samples = {
        "mean_wait_days": wait,
        "mean_days_in_system": system,
        "prob_wait": (wait > 1e-12).astype(float),
    }
    report = []
    for name, x in samples.items():
        sim, se = _batch_mean_se(x)
        th = theory[name]
        z = (sim - th) / se
        report.append(f"{name}: sim {sim:.6g} theory {th:.6g} SE {se:.2g} z {z:+.2f}")
        if name == "mean_wait_days":
            assert se / th < max_rel_se, f"check too weak: relative SE {se / th:.3f}"
        assert abs(sim - th) < Z * se + REL_SLACK * th, "; ".join(report)
    # the tail of the waiting time: P(W_q > t) at the mean wait, same batch-means tolerance
    t = theory["mean_wait_days"]
    sim, se = _batch_mean_se((wait > t).astype(float))
    th = mmc_prob_wait_longer(lam, mu, c, t)
    assert abs(sim - th) < Z * se + REL_SLACK * th, f"P(W_q > {t:.3g}): sim {sim} theory {th}"
    print(f"c={c} rho={rho} n={int(done.sum())}: " + "; ".join(report))


def test_queue_mmc_scenario_defaults_are_stable_and_reported() -> None:
    model = QueueModel(scenario="queue_mmc", overrides={"days": 200})
    q = model.config.queue
    assert q.enabled and q.arrival_rate < q.servers * q.service_rate
    for _ in range(200):
        model.step()
    s = model.summary()
    assert set(s) >= {"mean_wait_days", "mean_days_in_system", "prob_wait", "cases_reported"}
    # conservation in queue mode: every case counted once, backlog = not finished
    st_ = model.cases
    assert st_.state_counts.sum() == st_.n == s["cases_reported"]
    assert s["backlog"] == int(st_.is_open().sum())
    # a short run is only roughly at Erlang C (about 18,000 measured arrivals): 25%
    assert s["prob_wait"] == pytest.approx(
        erlang_c(q.servers, q.arrival_rate / q.service_rate), rel=0.25
    )
