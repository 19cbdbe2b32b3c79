"""More tests of govsim.platform.assessment's rules, written against the mutants that mutmut found
alive (docs/testing.md): which cases the response and on-time indicators count and at their
boundaries, a unit with a single case, kinds with one unit, and the imitation probability."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from govsim.cases import CLOSED, IN_PROGRESS, CaseView
from govsim.platform.assessment import (
    LearningState,
    adapt_practices,
    score_units,
    unit_indicators,
)
from govsim.schema import INDICATORS, AssessmentSpec, LearningSpec

nan = math.nan
IND = {k: i for i, k in enumerate(INDICATORS)}
NEUTRAL = {
    "t_created": 0.0, "t_owner": nan, "t_started": nan, "t_closed": nan, "t_solved": nan,
    "deadline": 50.0, "state": IN_PROGRESS, "channel": 0, "consultation": False, "solved": False,
    "owner_units": 1, "handoffs": 0, "rated": False, "reported_satisfied": False,
    "true_satisfied": False, "repeat_of": -1, "quartile": 0, "age_group": 0, "unit": 0,
    "audited": False, "caught": False, "nominal": False,
}  # fmt: skip


def view(rows: list[dict]) -> CaseView:
    """A CaseView of the given cases; unspecified fields take NEUTRAL values."""
    cols = {}
    for name, spec in CaseView.__dataclass_fields__.items():
        if name not in NEUTRAL and spec.default is not dataclasses.MISSING:
            continue
        d = NEUTRAL[name]
        dtype = bool if isinstance(d, bool) else float if isinstance(d, float) else np.int64
        cols[name] = np.array([r.get(name, d) for r in rows], dtype=dtype)
    return CaseView(**cols)


def indicators(rows: list[dict], now: float, n_units: int = 1):
    return unit_indicators(view(rows), now, n_units, 1.0, np.zeros((n_units, 4)))


def test_response_counts_cases_due_or_acted_on_and_the_boundary_is_on_time() -> None:
    """``response``: among cases that reached their owner and are either due (waiting longer than
    the response time) or already acted on, the share acted on within the response time."""
    rows = [
        dict(t_owner=9.5),  # not due yet, not acted on: left out
        dict(t_owner=9.5, t_started=9.7),  # acted on before it was due: counts, responded
        dict(t_owner=9.8, t_closed=9.9, state=CLOSED),  # closed before it was due: the same
        dict(t_owner=5.0),  # due, never acted on: counts, not responded
        dict(t_owner=5.0, t_started=7.0),  # acted on late: counts, not responded
        dict(t_owner=9.0),  # exactly the response time old, not acted on: not yet due
        dict(t_owner=3.0, t_started=4.0),  # acted on exactly at the response time: on time
        dict(),  # never reached its owner: left out
    ]
    ind, _, _ = indicators(rows, now=10.0)
    assert ind[0, IND["response"]] == pytest.approx(3 / 5)


def test_on_time_closure_counts_closed_or_overdue_cases_and_the_deadline_itself() -> None:
    rows = [
        dict(state=CLOSED, t_closed=4.0, deadline=4.0),  # closed at its deadline: on time
        dict(deadline=10.0),  # open, deadline now: due, not on time
        dict(deadline=20.0),  # open, not due: left out
        dict(state=CLOSED, t_closed=6.0, deadline=5.0),  # closed late
    ]
    ind, _, _ = indicators(rows, now=10.0)
    assert ind[0, IND["on_time_closure"]] == pytest.approx(1 / 3)


def test_a_unit_with_one_caught_case_has_all_its_cases_caught() -> None:
    rows = [dict(unit=0, state=CLOSED, t_closed=1.0, caught=True), dict(unit=1), dict(unit=1)]
    _, n_cases, caught = indicators(rows, now=10.0, n_units=3)
    assert n_cases.tolist() == [1, 2, 0]
    np.testing.assert_array_equal(caught, [1.0, 0.0, 0.0])


def test_a_kind_with_one_unit_does_not_stop_the_ranking_of_the_others() -> None:
    """Kind 0 has a single unit (nothing to rank); kind 1's bottom half is still penalised, and
    the result carries the indicators and caught shares it was given."""
    s = AssessmentSpec(weights={"closure": 1.0}, penalty_share=0.5, penalty=0.2)
    ind = np.full((3, len(INDICATORS)), nan)
    ind[:, IND["closure"]] = [0.1, 0.3, 0.9]
    caught = np.array([0.0, 0.1, 0.0])
    r = score_units(ind, caught, np.array([0, 1, 1]), np.zeros(3, bool), None, s)
    assert r.penalised.tolist() == [False, True, False]
    np.testing.assert_array_equal(r.indicators, ind)
    np.testing.assert_array_equal(r.caught_share, caught)


def test_ties_in_score_are_penalised_in_unit_order() -> None:
    """Equal scores are ranked by unit index (a stable sort), so the penalised set does not depend
    on the sorting algorithm: 40 units of one kind, scores 0.2, 0.5 or 0.8 in a shuffled order,
    ``penalty_share`` 0.5; the cut at 20 falls inside the 0.5 group, whose lowest indices go first.
    """
    s = AssessmentSpec(weights={"closure": 1.0}, penalty_share=0.5, penalty=0.2)
    closure = np.random.default_rng(0).permutation(np.repeat([0.2, 0.5, 0.8], [12, 16, 12]))
    ind = np.full((40, len(INDICATORS)), nan)
    ind[:, IND["closure"]] = closure
    r = score_units(ind, np.zeros(40), np.zeros(40, int), np.zeros(40, bool), None, s)
    want = sorted(range(40), key=lambda i: (closure[i], i))[:20]
    assert np.flatnonzero(r.penalised).tolist() == sorted(want)


def _learning(**kw: float) -> LearningSpec:
    return LearningSpec(**kw)


def _adapt(p, utility, kinds, learning, rng):
    state = LearningState.fresh(*p.shape)
    return adapt_practices(p, utility, state, kinds, np.ones(len(p), bool), learning, rng)


def test_a_kind_of_two_units_imitates_after_a_kind_of_one() -> None:
    """Kind 0 has one unit (no peer), kind 1 two: the worse of the two copies the better one when
    it draws it as its peer (half the time) and imitates one practice (almost surely at this
    strength)."""
    s = _learning(imitation_step=1.0, imitation_strength=50.0, exploration=0.0)
    p = np.array([[0.5] * 4, [0.0] * 4, [1.0] * 4])
    felt = np.array([0.0, 0.0, 1.0])
    kinds = np.array([0, 1, 1])
    moved = 0
    for seed in range(20):
        new = _adapt(p, felt, kinds, s, np.random.default_rng(seed))
        moved += bool(new[1].max() > 0)
    assert moved >= 5  # about 10 of 20 (binomial(20, ~1/2): 5 or fewer has probability 0.02)


def test_imitation_probability_is_logistic_in_the_utility_difference() -> None:
    """P(imitate) = 1 / (1 + exp(-k (U_peer - U_own))), with a uniformly drawn peer.

    2,000 kinds of two units, utility 0 and 0.5, practices 0 and 1, k = 2, step 1: the worse unit
    draws the better as its peer half the time and imitates (one of its practices) with
    probability 1 / (1 + e^-1) = 0.731, so 0.366 of them move one practice to 1; the better one
    moves one to 0 with probability 0.5 / (1 + e) = 0.134. Tolerance: 4 binomial standard errors
    (0.011 and 0.0076).
    """
    k, n = 2.0, 2000
    s = _learning(imitation_step=1.0, imitation_strength=k, exploration=0.0)
    p = np.tile(np.array([[0.0] * 4, [1.0] * 4]), (n, 1))
    felt = np.tile([0.0, 0.5], n)
    kinds = np.repeat(np.arange(n), 2)
    new = _adapt(p, felt, kinds, s, np.random.default_rng(7))
    assert ((new != p).sum(axis=1) <= 1).all()  # one practice at a time
    up = (new[0::2].max(axis=1) == 1.0).mean()
    down = (new[1::2].min(axis=1) == 0.0).mean()
    want_up = 0.5 / (1.0 + math.exp(-k * 0.5))
    want_down = 0.5 / (1.0 + math.exp(k * 0.5))
    assert up == pytest.approx(want_up, abs=4 * math.sqrt(want_up * (1 - want_up) / n))
    assert down == pytest.approx(want_down, abs=4 * math.sqrt(want_down * (1 - want_down) / n))
