"""Behavioural tests of the model's mechanisms: each fails when its mechanism is switched off,
inverted or short-circuited.

Every test here was checked against a mutation of the source (docs/testing.md lists them): the
mutation was applied, the test failed, the mutation was reverted, the test passed. The tests use
only the model's public surface (``GovernanceModel(scenario=, overrides=, rng=)``, ``step``,
``summary``, ``cases``, ``citizens``), so they survive refactoring of the model's insides.

Most are *twin* comparisons on common random numbers: two runs with the same seed that differ in
one parameter. Where the parameter feeds a mechanism that is switched off, the twins are bit for
bit identical, so any mutation that disconnects the mechanism gives a difference of exactly zero.
The margins asserted are stated with the spread they were measured over (seeds 1-8): each is well
below the smallest effect seen and far above zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from govsim.cases import CLOSED_STATES, HOTLINE, PATROL, WITHDRAWN
from govsim.model import GovernanceModel

SMALL = {"population.citizens": 2000, "days": 90}

GAMING = {
    # every unit games from day 0 (where a case threatens a rate), and keeps its practices all run
    # (no exploration, hence no reinforcement, and no imitation), so that the practice under test
    # is exercised on many cases
    "assessment.learning.initial_gaming": 0.5,
    "assessment.learning.exploration": 0.0,
    "assessment.learning.imitation_step": 0.0,
}


def _run(scenario: str = "baseline", seed: int = 1, **over: Any) -> GovernanceModel:
    overrides = {**SMALL, **over}
    m = GovernanceModel(scenario=scenario, rng=seed, overrides=overrides)
    for _ in range(int(overrides["days"])):
        m.step()
    return m


def _non_consultation(m: GovernanceModel) -> np.ndarray:
    return ~m.cases.consultation[: m.cases.n]


# ----------------------------------------------------------------------------- dispatch
def test_data_sharing_cuts_returns_and_handoffs_under_fragmented_dispatch() -> None:
    """Fragmented dispatch misroutes each hand-off with ``misroute (1 - ds) + (1 - acc)/2``.

    Measured over seeds 1-3: returns per case 0.40-0.49 at ds=0 against 0.05-0.08 at ds=1, so
    "at least twice" leaves a wide margin; with the sign of data sharing flipped the order reverses.
    """
    low = _run("fragmented", **{"dispatch.data_sharing": 0.0})
    high = _run("fragmented", **{"dispatch.data_sharing": 1.0})
    returns, handoffs = {}, {}
    for ds, m in ((0.0, low), (1.0, high)):
        nc = _non_consultation(m)
        returns[ds] = m.cases.returns[: m.cases.n][nc].mean()
        handoffs[ds] = m.cases.handoffs[: m.cases.n][nc].mean()
    assert returns[0.0] > 2 * returns[1.0] > 0, returns
    assert handoffs[0.0] > handoffs[1.0], handoffs


# ----------------------------------------------------------------------------- citizens' learning
def _late_solved_citizens(m: GovernanceModel) -> np.ndarray:
    st, n = m.cases, m.cases.n
    late = st.solved[:n] & (st.t_closed[:n] > st.deadline[:n]) & ~st.consultation[:n]
    return np.unique(st.citizen[:n][late])


def test_a_late_solution_teaches_less_trust_than_an_on_time_one() -> None:
    """``late_solved_value`` is the outcome citizens learn from when their case is solved late.

    Twins at 0 and 1 (on common random numbers) diverge only through late solutions. Over seeds
    1-8 (3,000 citizens, 120 days, a loaded city so that many solutions are late) the citizens
    with a late solution ended 0.064-0.072 less trusting at 0 than at 1, and the city's mean trust
    0.0042-0.0058 lower; the margins below are under half of the smallest of each.
    """
    over = {"population.citizens": 3000, "days": 120, "officials.routine_share": 0.7}
    worth_nothing = _run(**over, **{"citizens.late_solved_value": 0.0})
    as_on_time = _run(**over, **{"citizens.late_solved_value": 1.0})
    a, b = _late_solved_citizens(worth_nothing), _late_solved_citizens(as_on_time)
    assert len(a) > 50 and len(b) > 50, "too few late solutions for the check to mean anything"
    assert as_on_time.citizens.trust[b].mean() - worth_nothing.citizens.trust[a].mean() > 0.03
    assert as_on_time.citizens.trust.mean() - worth_nothing.citizens.trust.mean() > 0.002


# ----------------------------------------------------------------------------- intake
def test_callers_who_hang_up_are_not_filed() -> None:
    """Hotline callers who abandon before an operator answers fall silent: no case is filed.

    Only the hotline is open and waiting costs citizens nothing, so the twins (one operator
    answering one call a day against 200 operators) make the same choices on common random numbers
    until the first abandonment. The congested line abandons most calls (Erlang A at about 5 calls
    a day for a capacity of 1), so it files well under half the cases of the staffed one (0.15-0.16
    of them over seeds 1-4); if abandoned calls were filed anyway, the twins would be identical.
    """
    only_hotline = {
        "channels.app": False,
        "channels.offline": False,
        "channels.assisted": False,
        "citizens.hotline_wait_cost_per_minute": 0.0,
        "citizens.hotline_abandon_cost": 0.0,
        "channels.hotline_calls_per_operator": 1.0,
    }
    congested = _run(**only_hotline, **{"channels.hotline_operators": 1})
    staffed = _run(**only_hotline, **{"channels.hotline_operators": 200})

    def hotline_cases(m: GovernanceModel) -> int:
        return int((m.cases.channel[: m.cases.n] == HOTLINE).sum())

    assert hotline_cases(staffed) > 200
    assert hotline_cases(congested) < 0.5 * hotline_cases(staffed)
    assert congested.summary()["voice_gap"] > staffed.summary()["voice_gap"]


def test_patrols_discover_silent_problems() -> None:
    """Grid workers' patrols file silent problems as PATROL cases, more with more patrol time."""
    counts = {}
    for rate in (0.0, 0.2, 1.0):
        m = _run(**{"officials.patrol_discovery_per_hour": rate})
        counts[rate] = int((m.cases.channel[: m.cases.n] == PATROL).sum())
    assert counts[0.0] == 0
    assert 0 < counts[0.2] < counts[1.0], counts
    less = _run(**{"officials.patrol_discovery_per_hour": 0.2, "officials.patrol_share": 0.05})
    assert int((less.cases.channel[: less.cases.n] == PATROL).sum()) < counts[0.2]


# ----------------------------------------------------------------------------- gaming
def test_nominal_closure_takes_a_fraction_of_the_work_of_solving() -> None:
    """A nominal closure takes ``nominal_effort_share`` (0.1) of the case's effort, outside the queue.

    From the start of work to closure, single-owner cases closed nominally take a small fraction of
    the time that really solved ones take (median ratio 0.08-0.13 over seeds 1-4; asserted < 0.4). At
    full effort the ratio would be about 1 (the same service time, without queueing).
    """
    m = _run(**GAMING, **{"dispatch.mode": "unified", "closed_loop.audit_rate": 0.0})
    st, n = m.cases, m.cases.n
    one = (st.owner_units[:n] == 1) & ~st.consultation[:n] & np.isin(st.state[:n], CLOSED_STATES)
    took = st.t_closed[:n] - st.t_started[:n]
    nominal = one & st.nominal[:n] & ~np.isnan(took)
    real = one & ~st.nominal[:n] & st.solved[:n] & ~np.isnan(took)
    assert nominal.sum() > 30 and real.sum() > 30
    assert np.median(took[nominal]) < 0.4 * np.median(took[real])


def test_pressed_ratings_inflate_reported_satisfaction() -> None:
    """A pressed dissatisfied citizen reports 'satisfied' with probability ``pressure_effect``.

    Without effect (0) the reported and true satisfaction of rated cases agree exactly, so the
    inflation is 0; with full effect and half of the units pressing it is clearly positive (0.20-0.31
    over seeds 1-4; asserted > 0.05).
    """
    none = _run(**GAMING, **{"gaming.pressure_effect": 0.0}).summary()
    full = _run(**GAMING, **{"gaming.pressure_effect": 1.0}).summary()
    assert none["satisfaction_inflation"] == 0.0
    assert full["satisfaction_inflation"] > 0.05
    assert full["satisfaction_reported"] > none["satisfaction_reported"]


def test_being_pressed_costs_trust() -> None:
    """Citizens pressed for a rating or to withdraw lose ``pressure_trust_cost`` of trust.

    Twins at cost 0 and 0.3 on common random numbers: the costly one ends clearly less trusting
    (100-130 pressed citizens, each losing 0.3; the mean trust fell 0.023-0.027 over seeds 1-4,
    asserted 0.01).
    """
    free = _run(**GAMING, **{"citizens.pressure_trust_cost": 0.0})
    costly = _run(**GAMING, **{"citizens.pressure_trust_cost": 0.3})
    pressed = costly.cases.pressed[: costly.cases.n].sum()
    assert pressed > 50
    assert costly.citizens.trust.mean() < free.citizens.trust.mean() - 0.01


def test_withdrawal_success_is_the_chance_a_persuaded_citizen_withdraws() -> None:
    """At ``withdrawal_success`` 0 no case is withdrawn; at 1 every persuaded citizen withdraws."""
    counts = {}
    for p in (0.0, 0.3, 1.0):
        m = _run(**GAMING, **{"gaming.withdrawal_success": p})
        counts[p] = int((m.cases.state[: m.cases.n] == WITHDRAWN).sum())
    assert counts[0.0] == 0
    assert 0 < counts[0.3] < counts[1.0], counts
