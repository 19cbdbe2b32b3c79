"""Tests of govsim.agents.party: summoning (吹哨报到) and party-member volunteers."""

from __future__ import annotations

import copy

import numpy as np

from govsim.agents.party import StreetCommittee, summon_departments
from govsim.cases import CLOSED_STATES
from govsim.model import GovernanceModel


def _whistle(seed: int, days: int, **over) -> GovernanceModel:
    m = GovernanceModel(
        scenario="whistle", rng=seed, overrides={"population.citizens": 3000, "days": days, **over}
    )
    for _ in range(days):
        m.step()
    return m


def _summon(m: GovernanceModel, t: float) -> int:
    return summon_departments(m.street_committees, m.cases, m.engine, m.config.dispatch, t, m.rng)


def test_every_street_has_a_party_committee() -> None:
    m = _whistle(1, 1)
    committees = list(m.agents_by_type[StreetCommittee])
    assert sorted(c.street for c in committees) == list(range(m.city.n_streets))


def test_no_summons_when_switched_off() -> None:
    """With summoning off the model never summons; with no capacity the committees cannot."""
    m = _whistle(2, 30, **{"dispatch.summoning": False})
    assert not m.cases.summoned[: m.cases.n].any()
    m = _whistle(2, 30, **{"dispatch.summons_per_street_day": 0.0})
    assert _summon(m, float(m.day)) == 0
    assert not m.cases.summoned[: m.cases.n].any()


def test_summons_take_the_oldest_eligible_cases_up_to_each_streets_capacity() -> None:
    """Called at a day boundary on a running model: per street, the committee summons the
    min(capacity, eligible) oldest eligible cases, capacity being its Poisson draw for the day
    (replayed from a copy of the model's generator). From day 25, the first day boundary at which
    some street has both capacity and an eligible case (so that the call summons something)."""
    m = _whistle(3, 25, **{"dispatch.summons_per_street_day": 1.5})
    st, eng, d = m.cases, m.engine, m.config.dispatch
    for _ in range(60):
        t = float(m.day)
        n = st.n
        idx = np.arange(n)
        age = t - st.t_created[:n]
        eligible = (
            ~np.isin(st.state[:n], CLOSED_STATES)
            & ~st.consultation[:n]
            & ~st.summoned[:n]
            & (age <= 60.0)
            & ((st.owner_units[:n] > 1) | (age > d.summon_after_days))
        )
        cap = copy.deepcopy(m.rng).poisson(d.summons_per_street_day, size=m.city.n_streets)
        streets = eng.case_street[:n][eligible]
        if (cap[streets] > 0).any():
            break
        m.step()
    before = st.summoned[:n].copy()
    per_org_before = [o.summons for o in m.street_committees]
    k = _summon(m, t)
    chosen = idx[st.summoned[:n] & ~before]
    assert k == len(chosen) > 0
    for s in range(m.city.n_streets):
        cand = idx[eligible & (eng.case_street[:n] == s)]
        want = cand[np.argsort(st.t_created[cand], kind="stable")][: cap[s]]
        got = chosen[eng.case_street[chosen] == s]
        assert set(got.tolist()) == set(want.tolist()), f"street {s}"
        assert m.street_committees[s].summons - per_org_before[s] == len(want)


def test_every_summons_is_counted_by_a_street_committee() -> None:
    m = _whistle(4, 60)
    total = int(m.cases.summoned[: m.cases.n].sum())
    assert total > 0
    assert sum(o.summons for o in m.street_committees) == total


def test_summoned_cases_are_not_served_before_they_exist() -> None:
    """Time order with summoning on: no case reaches its owner, starts or closes before it was
    filed. (Summoning runs at the start of the day, after the day's cases are filed with times
    later in the day; a multi-department case filed later that day must not be summoned before
    it exists.)"""
    m = _whistle(5, 120, **{"population.citizens": 5000})
    st = m.cases
    v = st.view()
    with np.errstate(invalid="ignore"):
        early = (v.t_owner < v.t_created) | (v.t_started < v.t_created) | (v.t_closed < v.t_created)
    bad = np.flatnonzero(early)
    assert bad.size == 0, (
        f"{bad.size} cases served before they were filed, e.g. case {bad[0]}: created "
        f"{v.t_created[bad[0]]:.3f}, reached owner {v.t_owner[bad[0]]:.3f}, summoned "
        f"{bool(st.summoned[bad[0]])}, owners {v.owner_units[bad[0]]}"
    )


def test_party_volunteers_extend_assisted_reporting() -> None:
    """Same seed: with 20 volunteers per community mobilised by the branches, more cases come
    through assisted reporting than with the branches inactive. Tolerance: the assisted share
    at least 1.3 times higher (the reach rises from 1-exp(-3/5) = 0.45 to about 0.99)."""
    shares = {}
    for active in (False, True):
        m = GovernanceModel(
            scenario="baseline",
            rng=6,
            overrides={
                "population.citizens": 4000,
                "days": 90,
                "party.branch_volunteers_active": active,
                "channels.volunteers_per_community": 20,
            },
        )
        for _ in range(90):
            m.step()
        shares[active] = m.summary()["channel_share_assisted"]
    assert shares[True] > 1.3 * shares[False]
