"""Tests of govsim.platform.assessment: indicators, scores, rankings, validity and learning.

Indicators and scores are checked on hand-built inputs with hand-computed values. The learning rule
is checked statistically in a controlled world: a synthetic population of units whose cases are
drawn from their nominal-closure propensity, scored by the packaged ``speed_kpi`` assessment
without audits (where nominal closure pays) and by the packaged ``balanced_kpi`` assessment with
strong audits (where it costs), each against its no-selection control (``selection: false``: the
same learning on shuffled payoffs, the same random draws).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govsim.cases import CLOSED, IN_PROGRESS, REOPENED, VERIFIED, WITHDRAWN, CaseView
from govsim.config import load_scenario
from govsim.platform.assessment import (
    MIN_CASES_FOR_VALIDITY,
    LearningState,
    adapt_practices,
    indicator_validity,
    period_record,
    score_units,
    unit_indicators,
)
from govsim.schema import INDICATORS, NOMINAL_CLOSURE, AssessmentSpec, LearningSpec

nan = math.nan
T, F = True, False
IND = {k: i for i, k in enumerate(INDICATORS)}


DEFAULTS = {
    "t_created": 0.0, "t_owner": nan, "t_started": nan, "t_closed": nan, "t_solved": nan,
    "deadline": 7.0, "state": 0, "channel": 0, "consultation": F, "solved": F,
    "owner_units": 1, "handoffs": 0, "rated": F, "reported_satisfied": F,
    "true_satisfied": F, "repeat_of": -1, "quartile": 0, "age_group": 0, "unit": -1,
    "audited": F, "caught": F, "nominal": F,
}  # fmt: skip
"""Neutral values of the fields a test leaves unspecified."""


def view_from_columns(n: int, **cols) -> CaseView:
    """A CaseView of ``n`` cases from column arrays; missing columns take DEFAULTS."""
    out = {}
    for f, spec in CaseView.__dataclass_fields__.items():
        if f not in DEFAULTS and spec.default is not dataclasses.MISSING:
            continue  # optional columns keep their defaults
        d = DEFAULTS[f]
        dtype = bool if isinstance(d, bool) else float if isinstance(d, float) else np.int64
        out[f] = np.asarray(cols[f], dtype=dtype) if f in cols else np.full(n, d, dtype=dtype)
    return CaseView(**out)


def make_view(rows: list[dict]) -> CaseView:
    """A CaseView from a list of per-case dicts; unspecified fields take DEFAULTS."""
    cols = {f: [r.get(f, DEFAULTS[f]) for r in rows] for f in DEFAULTS}
    return view_from_columns(len(rows), **cols)


# unit 0: a (responded, on time, satisfied), b (late response, closed late, nominal, audited and
# caught), c (in progress, overdue), d (withdrawn: ignored), e (a consultation: ignored);
# unit 1: f (a repeat complaint, verified); unit 2: no cases.
CASES = [
    dict(unit=0, t_owner=0.0, t_started=0.5, t_closed=2.0, deadline=7.0, state=CLOSED,
         rated=T, reported_satisfied=T, solved=T),
    dict(unit=0, t_owner=1.0, t_started=3.0, t_closed=10.0, deadline=8.0, state=CLOSED,
         rated=T, audited=T, caught=T, nominal=T),
    dict(unit=0, t_owner=2.0, t_started=2.2, deadline=9.0, state=IN_PROGRESS),
    dict(unit=0, t_owner=2.0, t_closed=2.1, deadline=9.0, state=WITHDRAWN),
    dict(unit=0, consultation=T, t_closed=0.0, state=CLOSED, solved=T),
    dict(unit=1, t_owner=5.0, t_started=5.5, t_closed=6.0, deadline=12.0, state=VERIFIED,
         rated=T, reported_satisfied=T, solved=T, audited=T, repeat_of=0),
]  # fmt: skip


def test_unit_indicators_by_hand() -> None:
    practices = np.zeros((3, 4))
    practices[:, 3] = [0.2, 0.6, 0.0]
    ind, n_cases, caught = unit_indicators(make_view(CASES), 20.0, 3, 1.0, practices)
    assert n_cases.tolist() == [3, 1, 0]
    # unit 0 over a, b, c: responded a, c of 3; on time a of 3 due; closed a, b of 3;
    # satisfied a of rated a, b; verified 0 of audited b; traces (1 + 0.2)/2; no repeats
    want0 = [2 / 3, 1 / 3, 2 / 3, 1 / 2, 0.0, 0.6, 1.0]
    want1 = [1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.0]
    np.testing.assert_allclose(ind[0], want0)
    np.testing.assert_allclose(ind[1], want1)
    assert np.isnan(ind[2]).all()
    np.testing.assert_allclose(caught, [1 / 3, 0.0, 0.0])


def _assessment(**kw) -> AssessmentSpec:
    return AssessmentSpec(**kw)


def test_score_units_by_hand() -> None:
    a = _assessment(
        weights={"response": 1.0, "closure": 1.0, "verified_resolution": 2.0},
        audit_penalty=0.5, penalty_share=0.5, penalty=0.3, vertical_exposure=0.3,
        reverse_assessment_weight=0.5,
    )  # fmt: skip
    ind = np.full((4, len(INDICATORS)), nan)
    ind[0, [IND["response"], IND["closure"]]] = [0.8, 0.6]
    ind[1, [IND["response"], IND["closure"], IND["verified_resolution"]]] = [1.0, 1.0, 0.5]
    ind[3, [IND["response"], IND["closure"], IND["verified_resolution"]]] = [0.4, 0.4, 1.0]
    ind[:, IND["satisfaction"]] = 0.0  # weight 0: must not matter
    kinds = np.array([0, 0, 2, 2])
    vertical = np.array([F, F, F, T])
    caught = np.array([0.2, 0.0, 0.0, 0.0])
    r = score_units(ind, caught, kinds, vertical, None, a)
    # u0: (0.8+0.6)/2 - 0.5*0.2; u1: (1+1+2*0.5)/4; u2: no data -> 0.5; u3: (0.4+0.4+2)/4
    np.testing.assert_allclose(r.score, [0.6, 0.75, 0.5, 0.7])
    # bottom half of each kind penalised: u0 and u2; the cut-off lies between the last penalised
    # and the first safe unit of each kind
    assert r.penalised.tolist() == [T, F, T, F]
    np.testing.assert_allclose(r.cutoff, [0.675, 0.675, 0.6, 0.6])
    # felt: penalised lose 0.3; vertical u3 feels 0.3*own + 0.7*mean of its kind (0.6)
    np.testing.assert_allclose(r.felt, [0.3, 0.75, 0.2, 0.3 * 0.7 + 0.7 * 0.6])
    # the streets' reverse assessment of a department (summoning on)
    rev = np.array([nan, nan, nan, 0.5])
    r2 = score_units(ind, caught, kinds, vertical, rev, a)
    s3 = (0.7 + 0.5 * 0.5) / 1.5
    assert r2.score[3] == pytest.approx(s3)
    assert r2.felt[3] == pytest.approx(0.3 * s3 + 0.7 * (0.5 + s3) / 2)


def test_the_top_of_the_ranking_is_rewarded() -> None:
    a = _assessment(weights={"closure": 1.0}, penalty_share=0.25, reward_share=0.25, reward=0.2)
    ind = np.full((4, len(INDICATORS)), nan)
    ind[:, IND["closure"]] = [0.1, 0.9, 0.5, 0.6]
    r = score_units(ind, np.zeros(4), np.zeros(4, int), np.zeros(4, bool), None, a)
    np.testing.assert_allclose(r.felt - r.score, [-a.penalty, 0.2, 0.0, 0.0])


def test_penalty_on_vertical_unit_is_damped() -> None:
    a = _assessment(
        weights={"closure": 1.0}, penalty_share=0.5, penalty=0.4, vertical_exposure=0.25
    )
    ind = np.full((2, len(INDICATORS)), nan)
    ind[:, IND["closure"]] = [0.2, 0.8]
    r = score_units(ind, np.zeros(2), np.array([2, 2]), np.array([T, F]), None, a)
    assert r.penalised.tolist() == [T, F]
    assert r.felt[0] == pytest.approx(0.25 * 0.2 + 0.75 * 0.5 - 0.4 * 0.25)


def test_period_record_counts_gaming_and_true_performance_by_hand() -> None:
    """Unit 0 leads a (solved, truly satisfied), b (nominal), c (in progress), d (withdrawn):
    gamed b and d of 4, real resolution 1 of 4, true satisfaction 1 of rated a, b -> (0.25 +
    0.5) / 2; unit 1 leads f (solved, rated, not truly satisfied): performance (1 + 0) / 2."""
    rows = [dict(r) for r in CASES]
    rows[0]["true_satisfied"] = T
    rec = period_record(make_view(rows), 3)
    assert rec.n_cases.tolist() == [4, 1, 0]
    np.testing.assert_allclose(rec.gamed_share, [0.5, 0.0, 0.0])
    np.testing.assert_allclose(rec.true_performance[:2], [0.375, 0.5])
    assert np.isnan(rec.true_performance[2])


def test_indicator_validity_is_the_correlation_of_score_and_true_performance() -> None:
    rng = np.random.default_rng(0)
    perf = rng.random(30)
    rec = period_record(make_view([]), 0)
    rec.n_cases = np.full(30, MIN_CASES_FOR_VALIDITY)
    rec.true_performance = perf
    assert indicator_validity(perf * 2 + 1, rec) == pytest.approx(1.0)
    assert indicator_validity(-perf, rec) == pytest.approx(-1.0)
    noise = rng.random(30)
    assert indicator_validity(noise, rec) == pytest.approx(np.corrcoef(noise, perf)[0, 1])
    rec.n_cases[:28] = MIN_CASES_FOR_VALIDITY - 1  # too few units with enough cases
    assert math.isnan(indicator_validity(noise, rec))


# ----------------------------------------------------------------------------- learning rule
def _learning(**kw) -> LearningSpec:
    return LearningSpec(**kw)


def _adapt(p, utility, kinds, active, learning, rng, state=None):
    state = state or LearningState.fresh(*p.shape)
    return adapt_practices(p, utility, state, kinds, active, learning, rng)


def test_inactive_units_keep_their_practices_and_nothing_moves_without_learning() -> None:
    quiet = _learning(imitation_step=0.0, exploration=0.0)
    p = np.random.default_rng(0).random((6, 4))
    active = np.array([T, T, T, T, F, F])
    new = _adapt(p, np.arange(6.0), np.zeros(6, int), active, quiet, np.random.default_rng(1))
    np.testing.assert_array_equal(new, p)
    explore = _learning(imitation_step=0.0, exploration=0.1)
    new = _adapt(p, np.arange(6.0), np.zeros(6, int), active, explore, np.random.default_rng(1))
    assert (new[:4] != p[:4]).any()
    np.testing.assert_array_equal(new[4:], p[4:])


def test_units_imitate_only_their_own_kind() -> None:
    learning = _learning(imitation_step=1.0, exploration=0.0)
    p = np.vstack([np.zeros((5, 4)), np.ones((5, 4))])
    utility = np.r_[np.zeros(5), np.ones(5)]
    kinds = np.r_[np.zeros(5, int), np.ones(5, int)]
    new = _adapt(p, utility, kinds, np.ones(10, bool), learning, np.random.default_rng(2))
    np.testing.assert_array_equal(new, p)


def test_imitation_copies_one_practice_at_a_time() -> None:
    """A worse-off unit meeting a much better-off peer copies one practice, not the whole mix (no
    hitch-hiking): after one period no unit has changed more than one column."""
    learning = _learning(imitation_step=1.0, imitation_strength=1000.0, exploration=0.0)
    rng = np.random.default_rng(3)
    p = rng.random((40, 4))
    utility = rng.random(40)
    new = _adapt(p, utility, np.zeros(40, int), np.ones(40, bool), learning, rng)
    changed = (new != p).sum(axis=1)
    assert changed.max() == 1 and (changed == 1).sum() >= 10


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 30),
    step=st.floats(0, 1),
    strength=st.floats(0, 50),
)
@settings(max_examples=100, deadline=None)
def test_imitation_stays_within_the_kinds_practices(seed, n, step, strength) -> None:
    """Without exploration (hence without reinforcement), learning only mixes practices the kind
    already has."""
    rng = np.random.default_rng(seed)
    learning = _learning(imitation_step=step, imitation_strength=strength, exploration=0.0)
    p = rng.random((n, 4))
    kinds = rng.integers(0, 2, n)
    new = _adapt(p, rng.random(n), kinds, np.ones(n, bool), learning, rng)
    for k in (0, 1):
        m = kinds == k
        if m.sum():
            assert (new[m] >= p[m].min(axis=0) - 1e-12).all()
            assert (new[m] <= p[m].max(axis=0) + 1e-12).all()


@given(seed=st.integers(0, 2**32 - 1), explore=st.floats(0, 1), rate=st.floats(0, 100))
@settings(max_examples=100, deadline=None)
def test_practices_stay_in_unit_interval(seed, explore, rate) -> None:
    rng = np.random.default_rng(seed)
    learning = _learning(exploration=explore, reinforcement_rate=rate)
    p = rng.random((12, 4))
    state = LearningState.fresh(12, 4)
    for _ in range(3):
        p = _adapt(p, rng.normal(size=12), rng.integers(0, 3, 12), rng.random(12) < 0.8,
                   learning, rng, state)  # fmt: skip
        assert (p >= 0).all() and (p <= 1).all()


def test_reinforcement_follows_the_step_that_paid() -> None:
    """A unit whose utility beat its aspiration after a step keeps going that way, by
    reinforcement_rate * advantage * step / exploration; one below its aspiration turns back."""
    learning = _learning(imitation_step=0.0, exploration=0.1, reinforcement_rate=0.5)
    p = np.full((2, 4), 0.5)
    state = LearningState(np.array([0.5, 0.5]), np.full((2, 4), 0.1))
    rng = np.random.default_rng(4)
    new = _adapt(p, np.array([0.7, 0.3]), np.zeros(2, int), np.ones(2, bool), learning, rng, state)
    reinforce = 0.5 * np.array([0.2, -0.2])[:, None] * 0.1 / 0.1
    # unit 0 gained on every practice relative to unit 1 by twice the reinforcement step, beside
    # the difference of this period's exploration steps (kept in state.last_step)
    diff = (new[0] - p[0]) - (new[1] - p[1]) - (state.last_step[0] - state.last_step[1])
    np.testing.assert_allclose(diff, np.full(4, 2 * reinforce[0, 0]), atol=1e-12)
    np.testing.assert_allclose(state.aspiration, 0.5 + 0.3 * np.array([0.2, -0.2]))


def test_without_selection_the_same_draws_move_practices_when_payoffs_are_equal() -> None:
    """The control shares the run's random numbers: with every unit earning the same (so that
    shuffling payoffs changes nothing), selection on and off give identical practices."""
    rng_p = np.random.default_rng(5)
    p = rng_p.random((20, 4))
    kinds = rng_p.integers(0, 2, 20)
    out = {}
    for selection in (True, False):
        learning = _learning(selection=selection)
        state = LearningState.fresh(20, 4)
        q, rng = p.copy(), np.random.default_rng(6)
        for _ in range(5):
            q = _adapt(q, np.full(20, 0.4), kinds, np.ones(20, bool), learning, rng, state)
        out[selection] = q
    np.testing.assert_array_equal(out[True], out[False])
    assert (out[True] != p).any()


# ----------------------------------------------------------------------------- a controlled world
N_UNITS, CASES_PER_UNIT, PERIOD, PERIODS = 40, 30, 30.0, 24
REAL_WORK_DAYS = 8.0
"""Mean days of real work on a case: slow enough that closing nominally visibly helps closure and
on-time indicators (otherwise the speed score barely rewards it and the test has no signal)."""


def synthetic_period(nominal: np.ndarray, audit_rate: float, rng: np.random.Generator) -> CaseView:
    """One period's cases of N_UNITS units. A unit closes each case nominally with its propensity:
    quick, on time and unsolved (the citizen is rarely satisfied); otherwise it works on it
    (Exp(REAL_WORK_DAYS) of work, may still be open at the end of the period, solved unless one of the 5%
    unsolvable). Audits check closed cases; a caught nominal closure is reopened."""
    u = np.repeat(np.arange(N_UNITS), CASES_PER_UNIT)
    n = len(u)
    t0 = rng.uniform(0, PERIOD, n)
    owner = t0 + 0.1
    nom = rng.random(n) < nominal[u]
    start = np.where(nom, owner + 0.05, owner + rng.exponential(0.5, n))
    end = np.where(nom, start + 0.1, start + rng.exponential(REAL_WORK_DAYS, n))
    closed = end <= PERIOD
    solved = closed & ~nom & (rng.random(n) >= 0.05)
    sat = closed & (rng.random(n) < np.where(solved, 0.9, 0.1))
    audited = closed & (rng.random(n) < audit_rate)
    caught = audited & nom
    state = np.where(
        closed, np.where(caught, REOPENED, np.where(audited, VERIFIED, CLOSED)), IN_PROGRESS
    )
    return view_from_columns(
        n, unit=u, t_created=t0, t_owner=owner, t_started=start,
        t_closed=np.where(closed, end, nan), deadline=t0 + 7.0, state=state, solved=solved,
        rated=closed, reported_satisfied=sat, true_satisfied=sat, audited=audited,
        caught=caught, nominal=nom,
    )  # fmt: skip


def regime(name: str) -> tuple[AssessmentSpec, float]:
    """speed_kpi without audits (nominal closure pays) or balanced_kpi with strong audits."""
    if name == "pays":
        return load_scenario("speed_kpi").assessment, 0.0
    return load_scenario("balanced_kpi").assessment, 0.3


def evolve(name: str, seed: int, selection: bool, motivation: float = 0.0) -> np.ndarray:
    """Mean propensities after PERIODS periods of assessment and learning in the controlled world.

    Only nominal closure (column 0) acts on the cases; columns 1-3 are neutral practices that no
    indicator sees, learned on their own beside it. Utility is the felt score less ``motivation``
    times the share of cases closed nominally.
    """
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.1, 0.3, (N_UNITS, 4))
    kinds = np.zeros(N_UNITS, int)
    vertical = np.zeros(N_UNITS, bool)
    a, audit = regime(name)
    learning = a.learning.model_copy(update={"selection": selection})
    state = LearningState.fresh(N_UNITS, 4)
    for _ in range(PERIODS):
        v = synthetic_period(p[:, NOMINAL_CLOSURE], audit, rng)
        ind, n_cases, caught = unit_indicators(v, PERIOD, N_UNITS, 1.0, p)
        felt = score_units(ind, caught, kinds, vertical, None, a).felt
        utility = felt - motivation * period_record(v, N_UNITS).gamed_share
        p = adapt_practices(p, utility, state, kinds, n_cases > 0, learning, rng)
    return p.mean(axis=0)


@pytest.mark.parametrize("name", ["pays", "costs"])
def test_regimes_reward_or_punish_nominal_closure(name: str) -> None:
    """Precondition of the learning tests: the felt score really rises (falls) with nominal
    closure where it pays (costs). Slope of felt score on propensity over 5 draws of a population
    spread over [0, 1]; tolerance: the sign in every draw."""
    a, audit = regime(name)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        p = np.zeros((N_UNITS, 4))
        p[:, 0] = np.linspace(0, 1, N_UNITS)
        ind, _, caught = unit_indicators(
            synthetic_period(p[:, 0], audit, rng), PERIOD, N_UNITS, 1.0, p
        )
        felt = score_units(
            ind, caught, np.zeros(N_UNITS, int), np.zeros(N_UNITS, bool), None, a
        ).felt
        slope = np.polyfit(p[:, 0], felt, 1)[0]
        assert (slope > 0) if name == "pays" else (slope < 0), slope


SEEDS = range(20)


def _paired(name: str, motivation: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    with_sel = np.array([evolve(name, k, True, motivation) for k in SEEDS])
    without = np.array([evolve(name, k, False, motivation) for k in SEEDS])
    return with_sel, without


def test_selection_raises_what_pays_and_lowers_what_costs_against_its_control() -> None:
    """20 seeds, 40 units, 24 periods, the packaged learning parameters, no motivation term.

    Against the no-selection control (same seed, same draws, payoffs shuffled), the mean
    nominal-closure propensity ends higher where nominal closure pays and lower where strong
    audits make it cost, in at least 16 of 20 seeds (a sign test under no effect gives
    P(>= 16 of 20) = 0.006), and the mean over seeds differs by more than 0.05.
    """
    pays, pays_ctl = _paired("pays")
    costs, costs_ctl = _paired("costs")
    d_pays = pays[:, NOMINAL_CLOSURE] - pays_ctl[:, NOMINAL_CLOSURE]
    d_costs = costs[:, NOMINAL_CLOSURE] - costs_ctl[:, NOMINAL_CLOSURE]
    print(f"selection - control: pays {d_pays.mean():+.3f}, costs {d_costs.mean():+.3f}")
    assert (d_pays > 0).sum() >= 16 and d_pays.mean() > 0.05
    assert (d_costs < 0).sum() >= 16 and d_costs.mean() < -0.05


def test_a_neutral_practice_is_not_selected() -> None:
    """Practices are learned on their own: the three practices no indicator sees end where their
    control ends (|mean difference over 20 seeds| < 0.05, a tenth of their spread), while nominal
    closure, beside them, is selected (previous test). Copying whole mixes (hitch-hiking) would
    carry them along with nominal closure."""
    pays, pays_ctl = _paired("pays")
    d = (pays - pays_ctl)[:, 1:].mean(axis=0)
    assert (np.abs(d) < 0.05).all(), d


def test_public_service_motivation_restrains_what_pays() -> None:
    """Where nominal closure pays (the felt score gains about 0.7 per unit of propensity, and the
    share of cases gamed about 1.0), a public-service motivation of 2.0 of utility per unit share
    of cases closed nominally outweighs the gain, and selection lowers it instead (mean over 20
    seeds below the control by more than 0.05; at least 16 of 20 seeds)."""
    pays, pays_ctl = _paired("pays", motivation=2.0)
    d = pays[:, NOMINAL_CLOSURE] - pays_ctl[:, NOMINAL_CLOSURE]
    print(f"with motivation 2.0: selection - control {d.mean():+.3f}")
    assert (d < 0).sum() >= 16 and d.mean() < -0.05
