"""Tests of govsim.agents.official: the officials' day (time budgets add up) and burnout."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from govsim.agents.official import (
    MIN_HANDLING_SHARE,
    TIME_USES,
    Office,
    allocate_time,
    update_burnout,
)
from govsim.model import GovernanceModel
from govsim.schema import PRACTICES

HOURS = st.one_of(st.just(0.0), st.floats(0.001, 200))
"""Hours: zero or a plain positive number (no subnormals)."""


@st.composite
def day_demands(draw):
    n = draw(st.integers(1, 12))
    arr = lambda: draw(hnp.arrays(float, n, elements=HOURS))  # noqa: E731
    return {
        "pool": arr(),
        "data": arr(),
        "assist": arr(),
        "pressure": arr(),
        "deliberation": arr(),
        "patrol": arr(),
        "queued_effort": arr(),
    }


@given(day_demands())
@settings(max_examples=150, deadline=None)
def test_time_budget_adds_up_to_the_pool(d: dict) -> None:
    b = allocate_time(**d)
    pool = d["pool"]
    np.testing.assert_allclose(b.total(), pool, rtol=1e-9, atol=1e-9)
    fixed_uses = ("data", "assist", "pressure", "deliberation", "patrol")
    for use in fixed_uses:
        part = getattr(b, use)
        assert (part >= 0).all()
        assert (part <= d[use] + 1e-9).all()  # never more than demanded
    # case handling keeps at least its minimum share of the day
    assert (b.handling >= MIN_HANDLING_SHARE * pool - 1e-9).all()
    fixed = sum(d[u] for u in fixed_uses)
    cap = (1 - MIN_HANDLING_SHARE) * pool
    fits = fixed <= cap
    for use in fixed_uses:
        # demands that fit are met in full; otherwise all are scaled by the same factor
        np.testing.assert_allclose(getattr(b, use)[fits], d[use][fits])
    over = ~fits & (pool > 0)
    if over.any():
        ratio = np.stack([getattr(b, u)[over] for u in fixed_uses]) / cap[over]
        share = np.stack([d[u][over] for u in fixed_uses]) / fixed[over]
        np.testing.assert_allclose(ratio, share, rtol=1e-9, atol=1e-12)
    # workload: everything demanded (fixed uses and queued case work) over the hours available
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.where(pool > 0, (fixed + d["queued_effort"]) / pool, 0.0)
    np.testing.assert_allclose(b.workload, want, rtol=1e-9)


def test_time_budget_by_hand() -> None:
    b = allocate_time(
        pool=np.array([10.0, 10.0]),
        data=np.array([2.0, 12.0]),
        assist=np.array([1.0, 3.0]),
        pressure=np.array([0.0, 0.0]),
        deliberation=np.array([1.0, 0.0]),
        patrol=np.array([2.0, 3.0]),
        queued_effort=np.array([6.0, 0.0]),
    )
    # unit 0: 6 h fixed fit in 9 h, 4 h left for handling; workload (6 + 6)/10
    np.testing.assert_allclose([b.data[0], b.patrol[0], b.handling[0]], [2.0, 2.0, 4.0])
    assert b.workload[0] == pytest.approx(1.2)
    # unit 1: 18 h demanded, scaled to 9 h (factor 1/2), handling keeps 1 h
    np.testing.assert_allclose(
        [b.data[1], b.assist[1], b.patrol[1], b.handling[1]], [6, 1.5, 1.5, 1]
    )
    assert b.workload[1] == pytest.approx(1.8)


@given(
    burnout=hnp.arrays(float, 8, elements=st.floats(0, 1)),
    workload=hnp.arrays(float, 8, elements=st.floats(0, 50)),
    rate=st.floats(0, 1),
    recovery=st.floats(0, 1),
)
@settings(max_examples=150, deadline=None)
def test_burnout_stays_in_unit_interval_and_moves_the_right_way(burnout, workload, rate, recovery):
    new = update_burnout(burnout, workload, rate, recovery)
    assert ((new >= 0) & (new <= 1)).all()
    over = workload > 1
    assert (new[over] >= burnout[over]).all()  # overload never relieves burnout
    assert (new[~over] <= burnout[~over]).all()  # no overload never adds to it
    expect = np.clip(
        np.where(over, burnout + rate * np.clip(workload - 1, 0, 1), burnout - recovery), 0, 1
    )
    np.testing.assert_allclose(new, expect)


def test_sustained_overload_saturates_and_rest_recovers() -> None:
    b = np.zeros(3)
    for _ in range(100):
        b = update_burnout(b, np.array([3.0, 1.5, 0.5]), 0.05, 0.02)
    np.testing.assert_allclose(b, [1.0, 1.0, 0.0])
    for _ in range(49):
        b = update_burnout(b, np.zeros(3), 0.05, 0.02)
    np.testing.assert_allclose(b, [0.02, 0.02, 0.0], atol=1e-12)


# ----------------------------------------------------------------------------- in the model
def _run(seed: int, days: int = 40, **over) -> GovernanceModel:
    m = GovernanceModel(
        scenario="baseline", rng=seed, overrides={"population.citizens": 2000, "days": days, **over}
    )
    for _ in range(days):
        m.step()
    return m


def test_offices_are_agents_with_their_staff_and_a_day() -> None:
    """One Office agent per community and street, each a handle on its unit's row: staff as the
    scenario says (grid workers count in a community), a day whose shares add up to one."""
    m = _run(1, days=3)
    s, city = m.config, m.city
    offices = list(m.agents_by_type[Office])
    kinds = {k: [o for o in offices if o.kind == k] for k in ("community", "street")}
    assert len(kinds["community"]) == city.n_communities
    assert len(kinds["street"]) == city.n_streets
    assert {o.staff for o in kinds["community"]} == {
        s.city.grids_per_community + s.officials.community_workers
    }
    assert {o.staff for o in kinds["street"]} == {s.officials.street_officials}
    for o in offices[:: max(1, len(offices) // 20)]:
        sh = o.time_shares
        assert set(sh) == set(TIME_USES) and sum(sh.values()) == pytest.approx(1.0)
        assert all(v >= 0 for v in sh.values())
        assert set(o.practices) == set(PRACTICES) and 0 <= o.burnout <= 1


def test_duplicate_reporting_and_traces_raise_the_formalism_burden() -> None:
    """Same seed, more apps to report to and activity traces assessed: the share of officials'
    time on data work rises (data entry scales with apps; traces add check-in time)."""
    base = _run(2)
    apps = _run(2, **{"officials.apps": 5})
    traces = _run(2, **{"assessment.weights.traces": 2.0})
    fb = {
        k: m.summary()["formalism_burden"]
        for k, m in (("base", base), ("apps", apps), ("traces", traces))
    }
    assert fb["apps"] > fb["base"] and fb["traces"] > fb["base"]
    assert 0 < fb["base"] < 1
