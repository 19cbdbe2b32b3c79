"""Tests of govsim.platform.intake: the hotline's day as an M/M/c queue with impatient callers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govsim.platform.intake import MINUTES_PER_DAY, hotline_day
from govsim.platform.queueing import mmc_mean_wait, mmc_prob_wait_longer

OPS, MU, STD_S, PATIENCE = 6, 90.0, 15.0, 3.0
CAPACITY = OPS * MU  # calls per day the operators can answer


def test_no_calls_and_no_operators() -> None:
    d = hotline_day(0, OPS, MU, STD_S, PATIENCE)
    assert (d.calls, d.answered_within_standard, d.abandon_probability) == (0, 1.0, 0.0)
    assert d.expected_wait_minutes == 0.0
    d = hotline_day(10, 0, MU, STD_S, PATIENCE)
    assert d.answered_within_standard == 0.0 and d.abandon_probability == 1.0


@pytest.mark.parametrize("calls", [30, 200, 400, 500, 530])
def test_patient_callers_follow_erlang_c(calls: int) -> None:
    # with (practically) infinite patience Erlang A is Erlang C: exact formulas below capacity
    d = hotline_day(calls, OPS, MU, STD_S, 1e12)
    t_std = STD_S / 86400.0
    assert d.answered_within_standard == pytest.approx(
        1.0 - mmc_prob_wait_longer(calls, MU, OPS, t_std), rel=1e-6, abs=1e-9
    )
    assert d.expected_wait_minutes == pytest.approx(
        mmc_mean_wait(calls, MU, OPS) * MINUTES_PER_DAY, rel=1e-6, abs=1e-9
    )
    assert d.abandon_probability == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("calls", [200, 500, 540, 1000])
def test_impatient_callers_abandon_consistently(calls: int) -> None:
    # Erlang A: abandonment = gamma * E[queue] / lambda and E[wait] = E[queue] / lambda (Little),
    # so abandonment = gamma * E[wait]; impatience shortens the queue for those who stay
    d = hotline_day(calls, OPS, MU, STD_S, PATIENCE)
    gamma = 1.0 / PATIENCE  # per minute
    assert d.abandon_probability == pytest.approx(gamma * d.expected_wait_minutes, rel=1e-9)
    if calls < CAPACITY:
        assert d.expected_wait_minutes < mmc_mean_wait(calls, MU, OPS) * MINUTES_PER_DAY


def test_light_load_meets_the_beijing_standard() -> None:
    # docs/FACTS.md: 15 s answer standard, 95% connect; a lightly loaded centre meets it easily
    d = hotline_day(50, OPS, MU, STD_S, PATIENCE)
    assert d.answered_within_standard > 0.95 and d.abandon_probability < 0.05


@given(calls=st.integers(1, 3000), ops=st.integers(1, 20))
@settings(max_examples=200, deadline=None)
def test_outputs_are_probabilities(calls: int, ops: int) -> None:
    d = hotline_day(calls, ops, MU, STD_S, PATIENCE)
    assert 0.0 <= d.answered_within_standard <= 1.0
    assert 0.0 <= d.abandon_probability <= 1.0
    assert d.expected_wait_minutes >= 0.0


def test_more_operators_answer_faster() -> None:
    within = [
        hotline_day(400, c, MU, STD_S, PATIENCE).answered_within_standard for c in range(5, 12)
    ]
    assert np.all(np.diff(within) > 0)


def test_service_gets_worse_as_calls_grow_across_the_capacity_limit() -> None:
    """More calls on the same operators can only make the caller's experience worse.

    Checked on a grid of offered calls from 10% to 300% of capacity, across the point where the
    code switches from the Erlang C formulas to its 'overloaded' branch (load >= 0.999 c): the
    share answered within the standard must not rise, the abandonment probability must not fall
    and the expected wait (what citizens weigh when choosing the hotline) must not fall.
    """
    grid = np.unique(np.linspace(0.1 * CAPACITY, 3 * CAPACITY, 300).astype(int))
    grid = np.union1d(grid, np.arange(int(CAPACITY) - 5, int(CAPACITY) + 5))
    days = [hotline_day(int(k), OPS, MU, STD_S, PATIENCE) for k in grid]
    within = np.array([d.answered_within_standard for d in days])
    abandon = np.array([d.abandon_probability for d in days])
    wait = np.array([d.expected_wait_minutes for d in days])
    assert np.all(np.diff(within) <= 1e-12)
    bad_a = np.flatnonzero(np.diff(abandon) < -1e-9)
    assert bad_a.size == 0, (
        f"abandonment falls from {abandon[bad_a[0]]:.3f} at {grid[bad_a[0]]} calls to "
        f"{abandon[bad_a[0] + 1]:.3f} at {grid[bad_a[0] + 1]} calls (capacity {CAPACITY:g})"
    )
    bad_w = np.flatnonzero(np.diff(wait) < -1e-9)
    assert bad_w.size == 0, (
        f"expected wait falls from {wait[bad_w[0]]:.1f} min at {grid[bad_w[0]]} calls to "
        f"{wait[bad_w[0] + 1]:.1f} min at {grid[bad_w[0] + 1]} calls"
    )


def test_overloaded_centre_answers_at_most_its_capacity() -> None:
    for calls in (600, 1000, 5000):
        d = hotline_day(calls, OPS, MU, STD_S, PATIENCE)
        answered = calls * (1 - d.abandon_probability)
        assert answered <= CAPACITY + 1e-6
        assert (
            d.answered_within_standard
            < hotline_day(CAPACITY // 2, OPS, MU, STD_S, PATIENCE).answered_within_standard
        )


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (3, 2.0), (6, 5.9), (6, 9.0), (20, 25.0)])
def test_erlang_a_with_patience_equal_to_service_time_is_poisson(c: int, a: float) -> None:
    """Independent closed form: with gamma = mu every call in the centre leaves at rate mu, so the
    number of calls is that of an M/M/inf queue, Poisson(a), whatever the load."""
    from scipy import stats

    from govsim.platform.intake import erlang_a

    mu = 10.0
    lam = a * mu
    p_wait, p_abandon, mean_wait = erlang_a(lam, mu, c, mu)
    pois = stats.poisson(a)
    k = np.arange(c, c + 400)
    mean_q = float(((k - c) * pois.pmf(k)).sum())
    assert p_wait == pytest.approx(pois.sf(c - 1), rel=1e-9)
    assert mean_wait == pytest.approx(mean_q / lam, rel=1e-9)
    assert p_abandon == pytest.approx(mu * mean_q / lam, rel=1e-9)


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (4, 3.0), (10, 12.0)])
def test_erlang_a_without_patience_is_erlang_b(c: int, a: float) -> None:
    """Callers who cannot wait at all are lost when every operator is busy: Erlang B."""
    from govsim.platform.intake import erlang_a

    mu = 10.0
    _, p_abandon, _ = erlang_a(a * mu, mu, c, 1e7)
    terms = np.array([a**k / math.factorial(k) for k in range(c + 1)])
    assert p_abandon == pytest.approx(terms[-1] / terms.sum(), rel=1e-4)


def test_a_remembered_day_is_the_day_computed_afresh() -> None:
    """hotline_day is memoised (a run meets the same call count again and again): the remembered
    answer must be exactly the one the function computes, for every argument that differs."""
    args = [
        (120, OPS, MU, STD_S, PATIENCE),
        (121, OPS, MU, STD_S, PATIENCE),
        (120, OPS + 1, MU, STD_S, PATIENCE),
        (120, OPS, MU, STD_S, 2.0),
    ]
    fresh = [hotline_day.__wrapped__(*a) for a in args]
    for a, f in zip(args, fresh, strict=True):
        assert hotline_day(*a) == f
        assert hotline_day(*a) == f  # the second call is answered from memory
    assert len(set(fresh)) == len(fresh)  # each argument changed the answer


@pytest.mark.parametrize(("c", "rho"), [(1, 0.98), (6, 0.99), (40, 0.995)])
def test_erlang_a_without_abandonment_is_erlang_c_even_near_saturation(c: int, rho: float) -> None:
    """gamma = 0 is Erlang C; near saturation the queue's tail is long (its mean is of order
    rho / (1 - rho) calls), so a chain truncated too short would understate waiting."""
    from govsim.platform.intake import erlang_a
    from govsim.platform.queueing import erlang_c

    mu = 10.0
    lam = rho * c * mu
    p_wait, p_abandon, mean_wait = erlang_a(lam, mu, c, 0.0)
    assert p_abandon == 0.0
    assert p_wait == pytest.approx(erlang_c(c, lam / mu), rel=1e-6)
    assert mean_wait == pytest.approx(mmc_mean_wait(lam, mu, c), rel=1e-6)


def _birth_death_reference(lam: float, mu: float, c: int, gamma: float, n_max: int):
    """The M/M/c+M chain solved directly in log space, truncated at a fixed, generous ``n_max``."""
    logp = [0.0]
    for n in range(1, n_max + 1):
        logp.append(logp[-1] + math.log(lam) - math.log(min(n, c) * mu + max(n - c, 0) * gamma))
    top = max(logp)
    p = np.exp(np.array(logp) - top)
    p /= p.sum()
    q = np.maximum(np.arange(n_max + 1) - c, 0)
    mean_q = float((q * p).sum())
    return float(p[c:].sum()), gamma * mean_q / lam, mean_q / lam


@pytest.mark.parametrize(
    ("lam", "c", "gamma"), [(100.0, 8, 0.5), (30.0, 2, 0.2), (70.0, 6, 1.0), (12.0, 1, 0.05)]
)
def test_erlang_a_with_slow_abandonment_matches_the_chain(lam: float, c: int, gamma: float) -> None:
    """Overloaded centres whose callers give up slowly (gamma of 1 or less per time unit, so the
    queue holds about (lambda - c mu) / gamma calls): every output matches the chain solved
    independently with 20,000 states."""
    from govsim.platform.intake import erlang_a

    mu = 10.0
    got = erlang_a(lam, mu, c, gamma)
    want = _birth_death_reference(lam, mu, c, gamma, 20_000)
    assert got[1] > 0.05  # callers do abandon
    assert got == pytest.approx(want, rel=1e-6)
