"""Tests of govsim.platform.assessment: indicators, scores, rankings and the learning rule.

Indicators and scores are checked on hand-built inputs with hand-computed values. The learning rule
is checked statistically on a synthetic population of units whose cases are drawn from their
nominal-closure propensity, scored by the packaged ``speed_kpi`` assessment without audits (where
nominal closure pays) and by the packaged ``balanced_kpi`` assessment with strong audits (where it
costs), against a control in which every unit feels the same score.
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
from govsim.platform.assessment import adapt_practices, score_units, unit_indicators
from govsim.schema import INDICATORS, Scenario

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


def _scenario(**assessment) -> Scenario:
    return Scenario(assessment=assessment)


def test_score_units_by_hand() -> None:
    s = _scenario(
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
    r = score_units(ind, caught, kinds, vertical, None, s)
    # u0: (0.8+0.6)/2 - 0.5*0.2; u1: (1+1+2*0.5)/4; u2: no data -> 0.5; u3: (0.4+0.4+2)/4
    np.testing.assert_allclose(r.score, [0.6, 0.75, 0.5, 0.7])
    # bottom half of each kind penalised: u0 and u2
    assert r.penalised.tolist() == [T, F, T, F]
    # felt: penalised lose 0.3; vertical u3 feels 0.3*own + 0.7*mean of its kind (0.6)
    np.testing.assert_allclose(r.felt, [0.3, 0.75, 0.2, 0.3 * 0.7 + 0.7 * 0.6])
    # the streets' reverse assessment of a department (summoning on)
    rev = np.array([nan, nan, nan, 0.5])
    r2 = score_units(ind, caught, kinds, vertical, rev, s)
    s3 = (0.7 + 0.5 * 0.5) / 1.5
    assert r2.score[3] == pytest.approx(s3)
    assert r2.felt[3] == pytest.approx(0.3 * s3 + 0.7 * (0.5 + s3) / 2)


def test_penalty_on_vertical_unit_is_damped() -> None:
    s = _scenario(weights={"closure": 1.0}, penalty_share=0.5, penalty=0.4, vertical_exposure=0.25)
    ind = np.full((2, len(INDICATORS)), nan)
    ind[:, IND["closure"]] = [0.2, 0.8]
    r = score_units(ind, np.zeros(2), np.array([2, 2]), np.array([T, F]), None, s)
    assert r.penalised.tolist() == [T, F]
    assert r.felt[0] == pytest.approx(0.25 * 0.2 + 0.75 * 0.5 - 0.4 * 0.25)


# ----------------------------------------------------------------------------- learning rule
def _learning(**kw) -> Scenario:
    return _scenario(learning=kw)


def test_without_imitation_or_exploration_motivation_decays_gaming() -> None:
    s = _learning(imitation_step=0.0, exploration=0.0, intrinsic_motivation=0.2)
    p = np.random.default_rng(0).random((6, 4))
    active = np.array([T, T, T, T, F, F])
    new = adapt_practices(p, np.zeros(6), np.zeros(6, int), active, s, np.random.default_rng(1))
    np.testing.assert_allclose(new[:4], 0.8 * p[:4])
    np.testing.assert_array_equal(new[4:], p[4:])  # inactive units keep their practices


def test_units_imitate_only_their_own_kind() -> None:
    s = _learning(imitation_step=1.0, exploration=0.0, intrinsic_motivation=0.0)
    p = np.vstack([np.zeros((5, 4)), np.ones((5, 4))])
    felt = np.r_[np.zeros(5), np.ones(5)]
    kinds = np.r_[np.zeros(5, int), np.ones(5, int)]
    new = adapt_practices(p, felt, kinds, np.ones(10, bool), s, np.random.default_rng(2))
    np.testing.assert_array_equal(new, p)


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 30),
    step=st.floats(0, 1),
    strength=st.floats(0, 50),
)
@settings(max_examples=100, deadline=None)
def test_imitation_stays_within_the_kinds_practices(seed, n, step, strength) -> None:
    """Without exploration or motivation, imitation only mixes practices the kind already has."""
    rng = np.random.default_rng(seed)
    s = _learning(
        imitation_step=step, imitation_strength=strength, exploration=0.0, intrinsic_motivation=0.0
    )
    p = rng.random((n, 4))
    kinds = rng.integers(0, 2, n)
    new = adapt_practices(p, rng.random(n), kinds, np.ones(n, bool), s, rng)
    for k in (0, 1):
        m = kinds == k
        if m.sum():
            assert (new[m] >= p[m].min(axis=0) - 1e-12).all()
            assert (new[m] <= p[m].max(axis=0) + 1e-12).all()


@given(seed=st.integers(0, 2**32 - 1), explore=st.floats(0, 1), motive=st.floats(0, 1))
@settings(max_examples=100, deadline=None)
def test_practices_stay_in_unit_interval(seed, explore, motive) -> None:
    rng = np.random.default_rng(seed)
    s = _learning(exploration=explore, intrinsic_motivation=motive)
    p = rng.random((12, 4))
    new = adapt_practices(
        p, rng.normal(size=12), rng.integers(0, 3, 12), rng.random(12) < 0.8, s, rng
    )
    assert new.shape == p.shape and (new >= 0).all() and (new <= 1).all()


N_UNITS, CASES_PER_UNIT, PERIOD, PERIODS = 40, 30, 30.0, 15
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


def regime(name: str) -> tuple[Scenario, float]:
    """speed_kpi without audits (nominal closure rewarded) or balanced_kpi with strong audits."""
    if name == "rewarded":
        return load_scenario("speed_kpi"), 0.0
    return load_scenario("balanced_kpi"), 0.3


def evolve(name: str, seed: int, s_learning: Scenario | None = None) -> float:
    """Mean nominal-closure propensity after PERIODS periods of assessment and learning."""
    rng = np.random.default_rng(seed)
    p = np.zeros((N_UNITS, 4))
    p[:, 0] = rng.uniform(0.0, 0.4, N_UNITS)
    kinds = np.zeros(N_UNITS, int)
    vertical = np.zeros(N_UNITS, bool)
    s, audit = regime("rewarded" if name == "control" else name)
    if s_learning is not None:
        s = s.model_copy(
            update={
                "assessment": s.assessment.model_copy(
                    update={"learning": s_learning.assessment.learning}
                )
            }
        )
    for _ in range(PERIODS):
        v = synthetic_period(p[:, 0], audit, rng)
        ind, n_cases, caught = unit_indicators(v, PERIOD, N_UNITS, 1.0, p)
        res = score_units(ind, caught, kinds, vertical, None, s)
        felt = np.zeros(N_UNITS) if name == "control" else res.felt
        p = adapt_practices(p, felt, kinds, n_cases > 0, s, rng)
    return float(p[:, 0].mean())


@pytest.mark.parametrize("name", ["rewarded", "punished"])
def test_regimes_reward_or_punish_nominal_closure(name: str) -> None:
    """Precondition of the learning test: the felt score really rises (falls) with nominal closure
    in the 'rewarded' ('punished') regime. Slope of felt score on propensity over 5 draws of a
    population spread over [0, 1]; tolerance: the sign in every draw."""
    s, audit = regime(name)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        p = np.zeros((N_UNITS, 4))
        p[:, 0] = np.linspace(0, 1, N_UNITS)
        ind, _, caught = unit_indicators(
            synthetic_period(p[:, 0], audit, rng), PERIOD, N_UNITS, 1.0, p
        )
        felt = score_units(
            ind, caught, np.zeros(N_UNITS, int), np.zeros(N_UNITS, bool), None, s
        ).felt
        slope = np.polyfit(p[:, 0], felt, 1)[0]
        assert (slope > 0) if name == "rewarded" else (slope < 0), slope


SEEDS = range(20)


def test_learning_moves_practices_toward_what_is_rewarded() -> None:
    """Replicated over 20 seeds, 40 units, 15 periods, with the packaged learning parameters.

    Tolerance: against the control (same seed, same draws of initial practices, every unit
    feeling the same score), the mean nominal-closure propensity ends higher where nominal
    closure is rewarded and lower where strong audits punish it, in at least 18 of 20 seeds
    (under no effect, a sign test gives P(>= 18 of 20) = 2e-4).
    """
    ctl = np.array([evolve("control", s) for s in SEEDS])
    rew = np.array([evolve("rewarded", s) for s in SEEDS])
    pun = np.array([evolve("punished", s) for s in SEEDS])
    print(
        f"mean propensity: rewarded {rew.mean():.3f} control {ctl.mean():.3f} punished {pun.mean():.3f}"
    )
    assert (rew > ctl).sum() >= 18
    assert (pun < ctl).sum() >= 18


def test_without_motivation_rewarded_gaming_grows_and_punished_gaming_shrinks() -> None:
    """With intrinsic motivation switched off, the direction is absolute: from a mean initial
    propensity of 0.2 it rises when rewarded and falls when punished (20 seeds, tolerance: the
    mean over seeds moves by more than 0.05, and the direction holds in at least 18 seeds)."""
    s = _learning(intrinsic_motivation=0.0)
    rew = np.array([evolve("rewarded", k, s) for k in SEEDS])
    pun = np.array([evolve("punished", k, s) for k in SEEDS])
    print(f"without motivation: rewarded {rew.mean():.3f} punished {pun.mean():.3f} (start 0.2)")
    assert rew.mean() > 0.25 and (rew > 0.2).sum() >= 18
    assert pun.mean() < 0.15 and (pun < 0.2).sum() >= 18
