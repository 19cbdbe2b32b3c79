"""Each mechanism of the officials' side of digital suspension fails its test when switched off or
its sign is flipped: scarce time (utilisation), conditional gaming (Hood 2006), the threshold
effect, the ratchet, public-service motivation in the payoff and the no-selection control.

Model-level tests run small cities (2,000-3,000 citizens) with learning frozen where a test needs
fixed practices, so that each compares one mechanism on and off under common random numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from govsim.agents.official import BACKSTOP_STAFF, OfficialUnits
from govsim.cases import WITHDRAWN
from govsim.city import BACKSTOP, COMMUNITY, DEPARTMENT, STREET, City
from govsim.config import load_scenario
from govsim.metrics import Ledger
from govsim.model import GovernanceModel
from govsim.platform.assessment import AssessmentResult
from govsim.schema import (
    NOMINAL_CLOSURE,
    PERSUADE_WITHDRAWAL,
    SATISFACTION_PRESSURE,
    Scenario,
)

FROZEN = {
    "assessment.learning.exploration": 0.0,
    "assessment.learning.imitation_step": 0.0,
    "gaming.threshold_boost": 0.0,
}
"""Learning and the threshold effect off: practices stay where a test puts them."""


def _run(days: int, practices: dict[int, float], seed: int = 1, **over) -> GovernanceModel:
    m = GovernanceModel(
        scenario="baseline",
        rng=seed,
        overrides={"population.citizens": 3000, "days": days, **FROZEN, **over},
    )
    m.officials.practices[:] = 0.0
    for k, v in practices.items():
        m.officials.practices[:, k] = v
    m.officials.acting[:] = m.officials.practices
    for _ in range(days):
        m.step()
    return m


# ----------------------------------------------------------------------------- scarce time
def test_utilisation_rises_with_load_and_stays_a_share() -> None:
    """Same city, twice the citizens: the hours in use rise (and stay in [0, 1]); by more than
    0.05 at the departments, whose hours are mostly case work, and less at the grassroots, where
    patrol and data work take most of the hours whatever the load."""
    lo = _run(90, {}, **{"population.citizens": 2000}).summary()
    hi = _run(90, {}, **{"population.citizens": 4000}).summary()
    for s in (lo, hi):
        assert 0 < s["official_utilisation_mean"] <= 1
        assert 0 < s["department_utilisation_mean"] <= 1
    assert hi["official_utilisation_mean"] > lo["official_utilisation_mean"]
    assert hi["department_utilisation_mean"] > lo["department_utilisation_mean"] + 0.05


def test_hours_in_use_never_exceed_the_pool_and_data_work_displaces_handling() -> None:
    """Every unit's hours in use are within its pool every day; more apps to report to (more data
    work) leave the grassroots fewer hours for handling cases (same seed; by more than 5%). Patrols
    that follow the hotline are off in the comparison: their hours move with the hotline's waves
    and, where data work already fills the day, cannot take from handling, which blurs the
    displacement under test (with them on: 3%, off: 6%)."""
    m = GovernanceModel(scenario="baseline", rng=2, overrides={"population.citizens": 3000})
    for _ in range(60):
        m.step()
        assert (m.officials.in_use <= m.officials.budget.pool + 1e-9).all()
        assert (m.officials.in_use >= -1e-9).all()
    handling = {}
    for apps in (1, 6):
        m = GovernanceModel(
            scenario="baseline",
            rng=3,
            overrides={
                "population.citizens": 3000,
                "officials.apps": apps,
                "officials.patrol_follow_hotline": 0.0,
                **FROZEN,
            },
        )
        hours = 0.0
        for _ in range(90):
            m.step()
            hours += m.officials.budget.handling[m.officials.grassroots].sum()
        handling[apps] = (hours, m.summary()["formalism_burden"])
    assert handling[6][1] > handling[1][1]  # more data work...
    assert handling[6][0] < 0.95 * handling[1][0]  # ...out of the hours for handling cases


# ----------------------------------------------------------------------------- conditional gaming
CALM = {
    "dispatch.mode": "unified",
    "dispatch.data_sharing": 1.0,
    "officials.routine_share": 0.2,
    "officials.department_routine_share": 0.2,
    **{f"categories.{c}.unsolvable_share": 0.0 for c in load_scenario("baseline").categories},
}
"""Cases reach their owner at once, every problem can be solved, units have hours to spare: only
urgent cases (2-hour deadline, 2 staff-hours of work) are at risk of being late."""
BUSY = {
    **CALM,
    "population.citizens": 6000,
    "officials.routine_share": 0.9,
    "officials.department_routine_share": 0.9,
}


def test_nominal_closure_only_where_a_case_threatens_a_rate() -> None:
    """Every unit ready to close nominally (propensity 0.8): the calm city closes few cases
    nominally (its urgent ones), the same city overloaded many. Unconditional gaming would close
    about 80% of cases nominally in both. Tolerance: under 10% against over twice that."""
    calm = _run(120, {NOMINAL_CLOSURE: 0.8}, **CALM).summary()["nominal_closure_rate"]
    busy = _run(120, {NOMINAL_CLOSURE: 0.8}, **BUSY).summary()["nominal_closure_rate"]
    assert calm < 0.10 and busy > 2 * calm, (calm, busy)


def test_unsolvable_cases_are_the_first_closed_nominally() -> None:
    """A unit that cannot solve a problem closes it nominally more often than one it can."""
    m = _run(120, {NOMINAL_CLOSURE: 0.5})
    st, eng = m.cases, m.engine
    n = st.n
    led = ~st.consultation[:n] & (st.unit[:n] >= 0)
    nominal, solvable = st.nominal[:n][led], eng.solvable[:n][led]
    assert nominal[~solvable].mean() > 2 * nominal[solvable].mean()


def test_pressing_only_on_callbacks_likely_to_be_negative() -> None:
    """Every pressed callback is of a case that was not solved or was closed late."""
    m = _run(120, {SATISFACTION_PRESSURE: 1.0, NOMINAL_CLOSURE: 0.3})
    st = m.cases
    n = st.n
    pressed = st.pressed[:n]
    late = st.t_closed[:n] > st.deadline[:n]
    assert pressed.sum() > 20
    assert not (pressed & st.solved[:n] & ~late).any()
    solved_on_time_rated = st.rated[:n] & st.solved[:n] & ~late
    assert solved_on_time_rated.sum() > 100  # rated cases the unit chose not to press exist


def test_withdrawal_only_persuaded_where_it_helps_a_rate() -> None:
    """Persuading withdrawal (劝撤) concerns cases at risk: the calm city sees few, the busy one
    more than twice the share (unconditional persuasion would reach 0.8 x 0.5 of single-owner
    cases in both)."""
    w = []
    for over in (CALM, BUSY):
        m = _run(120, {PERSUADE_WITHDRAWAL: 0.8}, **over)
        st = m.cases
        nc = ~st.consultation[: st.n]
        w.append(np.count_nonzero((st.state[: st.n] == WITHDRAWN) & nc) / nc.sum())
    assert w[0] < 0.10 and w[1] > 2 * w[0], w


# ----------------------------------------------------------------------------- threshold and ratchet
def _units(**over) -> OfficialUnits:
    s = load_scenario("baseline", [f"{k}={v}" for k, v in over.items()])
    return OfficialUnits(s, City.build(s), np.random.default_rng(0))


def test_units_near_the_penalty_cut_off_act_harder() -> None:
    """The threshold effect: units whose score lay within the band of their kind's cut-off act
    on (1 + boost) times their practices; the others on their practices; no boost, no effect."""
    u = _units(**{"gaming.threshold_band": 0.05, "gaming.threshold_boost": 1.0})
    n = len(u.staff)
    u.practices[:] = 0.2
    score = np.linspace(0.3, 0.9, n)
    cutoff = np.full(n, 0.6)
    r = AssessmentResult(np.zeros((n, 7)), score, score, np.zeros(n, bool), np.zeros(n), cutoff)
    u._act_on(r)
    near = np.abs(score - 0.6) <= 0.05
    assert near.any() and (~near).any()
    np.testing.assert_allclose(u.acting[near], 0.4)
    np.testing.assert_allclose(u.acting[~near], 0.2)
    flat = _units(**{"gaming.threshold_boost": 0.0})
    flat.practices[:] = 0.2
    flat._act_on(r)
    np.testing.assert_allclose(flat.acting, 0.2)


def test_the_ratchet_raises_targets_after_good_periods_and_penalises_falling_short() -> None:
    u = _units(**{"assessment.ratchet.enabled": "true", "assessment.ratchet.every_periods": 2,
                  "assessment.ratchet.step": 0.5, "assessment.ratchet.penalty": 0.1})  # fmt: skip
    n = len(u.staff)
    good = np.full(n, 0.8)
    assert (u._ratchet(good) == 0).all() and (u.target == 0).all()  # first period: no revision
    assert (u._ratchet(good) == 0).all()
    np.testing.assert_allclose(u.target, 0.4)  # revised after two periods: 0 + 0.5 * (0.8 - 0)
    np.testing.assert_allclose(u._ratchet(np.full(n, 0.3)), 0.1)  # below target: penalty
    off = _units()
    assert (off._ratchet(good) == 0).all() and (off.target == 0).all()


# ----------------------------------------------------------------------------- motivation and control
def test_motivation_differs_between_units_and_enters_the_utility() -> None:
    """Motivation is drawn per unit (spread as set, never negative); at a spread of 0 every unit
    has the mean."""
    u = _units(
        **{"assessment.learning.motivation_mean": 0.3, "assessment.learning.motivation_sd": 0.1}
    )
    assert u.motivation.std() > 0.05 and (u.motivation >= 0).all()
    same = _units(**{"assessment.learning.motivation_sd": 0.0})
    assert (same.motivation == Scenario().assessment.learning.motivation_mean).all()


# ----------------------------------------------------------------------------- the day, by hand
def test_a_units_day_by_hand() -> None:
    """plan_day against ODD 7.3 computed independently, for every kind of unit, with yesterday's
    demands set by hand (small enough that nothing is scaled down)."""
    s = load_scenario(
        "baseline",
        ["assessment.weights.traces=1.0", "assessment.weights.on_time_closure=0.5",
         "party.deliberation_hours_per_month=6", "officials.routine_share=0.5",
         "officials.trace_minutes=10"],
    )  # fmt: skip
    city = City.build(s)
    u = OfficialUnits(s, city, np.random.default_rng(0))
    o, kinds, n = s.officials, city.unit_kind, city.n_units
    # staffing by kind, as the schema says
    assert (u.staff[kinds == COMMUNITY] == o.community_workers + s.city.grids_per_community).all()
    assert (u.staff[kinds == STREET] == o.street_officials).all()
    assert (u.staff[kinds == BACKSTOP] == BACKSTOP_STAFF).all()
    dept_staff = [d.staff for d in s.departments.values()]
    for k in np.flatnonzero(kinds == DEPARTMENT):
        assert u.staff[k] == dept_staff[city.unit_dept[k]]
    assert u.grassroots.tolist() == ((kinds == COMMUNITY) | (kinds == STREET)).tolist()
    rng = np.random.default_rng(1)
    u.burnout = rng.uniform(0, 0.3, n)
    u.acting[:] = rng.uniform(0, 0.5, (n, 4))
    u.entries = rng.integers(0, 3, n)
    u.forced_entries = rng.integers(0, 2, n).astype(float)
    u.pressed = rng.integers(0, 2, n)
    u.offline_intakes = rng.integers(0, 2, city.n_communities)
    u.assisted_intakes = rng.integers(0, 2, city.n_communities)
    queued = rng.uniform(0, 4, n)
    entries, forced = u.entries.copy(), u.forced_entries.copy()
    cap = 1 - o.burnout_capacity_loss * u.burnout  # the day's capacity, from the day's start
    ledger = Ledger(3)
    u.plan_day(1, queued, ledger)
    b = u.budget
    H = o.hours_per_day
    routine = np.where(
        (kinds == DEPARTMENT) | (kinds == BACKSTOP), o.department_routine_share, o.routine_share
    )
    n_ind = 5  # response, on_time_closure, closure, satisfaction, traces
    np.testing.assert_allclose(b.pool, u.staff * H * (1 - routine) * cap)
    np.testing.assert_allclose(b.total(), b.pool)
    assert (b.handling > 0.1 * b.pool + 1e-9).all()  # nothing was scaled down
    grass = u.grassroots
    traces = 1 + u.acting[:, 3]
    per_official = (o.reporting_minutes_per_indicator * n_ind + o.trace_minutes * traces) / 60
    data = (entries + forced) * o.entry_minutes_per_transition * o.apps / 60 + np.where(
        grass, u.staff * per_official, u.staff * o.reporting_minutes_per_indicator * n_ind / 60
    )
    np.testing.assert_allclose(b.data, data)
    comm = kinds == COMMUNITY
    assist = np.zeros(n)
    assist[comm] = (u.offline_intakes * 10 + u.assisted_intakes * 20) / 60
    np.testing.assert_allclose(b.assist, assist)
    np.testing.assert_allclose(b.pressure, u.pressed * s.gaming.pressure_minutes / 60)
    np.testing.assert_allclose(b.deliberation, np.where(comm, 6 / 30, 0.0))
    patrol = np.where(
        comm, o.patrol_share * s.city.grids_per_community * H * (1 - o.routine_share) * cap, 0.0
    )
    np.testing.assert_allclose(b.patrol, patrol)
    fixed = data + assist + u.pressed * s.gaming.pressure_minutes / 60 + b.deliberation + patrol
    np.testing.assert_allclose(b.workload, (fixed + queued / o.backlog_horizon_days) / b.pool)
    np.testing.assert_allclose(u.hours_per_server, np.maximum(b.handling / u.staff, 1e-3))
    np.testing.assert_allclose(u.backlog_days, queued / (u.staff * u.hours_per_server))
    assert (u.forced_entries == 0).all()  # counted once
    g = grass
    assert ledger.data_hours[1] == pytest.approx(b.data[g].sum())
    assert ledger.pool_hours[1] == pytest.approx(b.pool[g].sum())
    assert ledger.assist_hours[1] == pytest.approx(b.assist[g].sum())
    w = u.staff[g]
    assert ledger.burnout_mean[1] == pytest.approx((u.burnout[g] * w).sum() / w.sum())
    assert ledger.overload_share[1] == pytest.approx(w[b.workload[g] > 1].sum() / w.sum())
