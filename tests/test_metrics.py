"""Tests of govsim.metrics: every indicator formula on hand-built case logs and ledgers.

The expected values below are worked out by hand from the tables in this file (see the comments);
they are not produced by the code under test.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govsim import metrics as M
from govsim.cases import (
    CLOSED,
    DISPATCHED,
    IN_PROGRESS,
    REOPENED,
    VERIFIED,
    WITHDRAWN,
    CaseView,
)
from govsim.schema import AGE_GROUPS

nan = math.nan
T, F = True, False

# A hand-built log of ten cases, evaluated at NOW = 13 with a response window of 1 day.
#   case 0: a consultation answered at intake (hotline)
#   case 1: app, single owner, solved in 0.8 d, rated satisfied (pressed: not truly satisfied)
#   case 2: app, three owners, solved, audited and verified
#   case 3: hotline, closed nominally and unsolved, responded late (1.8 d after reaching its owner)
#   case 4: offline, two owners, in progress
#   case 5: assisted, withdrawn before service
#   case 6: patrol, solved in 0.5 d
#   case 7: app, dispatched, never reached an owner
#   case 8: hotline, closed nominally, audited, caught and reopened
#   case 9: app, two owners, a repeat complaint of case 3, solved late (12 > deadline 11)
NOW, RESPONSE_DAYS = 13.0, 1.0
CASES = {
    "t_created": [0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0],
    "t_owner": [nan, 0.4, 0.6, 1.2, 2.0, 2.1, 2.6, nan, 3.6, 4.2],
    "t_started": [nan, 0.5, 0.7, 3.0, 2.1, nan, 2.7, nan, 4.0, 4.3],
    "t_closed": [0.1, 1.0, 2.0, 5.0, nan, 2.2, 3.0, nan, 5.0, 12.0],
    "t_solved": [0.1, 1.0, 2.0, nan, nan, nan, 3.0, nan, nan, 12.0],
    "deadline": [7.1, 7.2, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0, 10.5, 11.0],
    "state": [
        CLOSED,
        CLOSED,
        VERIFIED,
        CLOSED,
        IN_PROGRESS,
        WITHDRAWN,
        CLOSED,
        DISPATCHED,
        REOPENED,
        CLOSED,
    ],
    "channel": [1, 0, 0, 1, 2, 3, 4, 0, 1, 0],
    "consultation": [T, F, F, F, F, F, F, F, F, F],
    "solved": [T, T, T, F, F, F, T, F, F, T],
    "owner_units": [0, 1, 3, 1, 2, 1, 1, 1, 1, 2],
    "handoffs": [0, 1, 2, 0, 3, 0, 1, 0, 2, 1],
    "rated": [F, T, T, T, F, F, T, F, T, T],
    "reported_satisfied": [F, T, T, T, F, F, T, F, T, F],
    "true_satisfied": [F, F, T, F, F, F, T, F, F, F],
    "repeat_of": [-1, -1, -1, -1, -1, -1, -1, -1, -1, 3],
    "quartile": [0, 0, 1, 1, 2, 2, 3, 3, 0, 3],
    "age_group": [0, 1, 2, 0, 1, 2, 0, 1, 2, 0],
    "unit": [-1, 0, 1, 0, 1, 2, 2, 0, 1, 2],
    "audited": [F, F, T, F, F, F, F, F, T, F],
    "caught": [F, F, F, F, F, F, F, F, T, F],
    "nominal": [F, F, F, T, F, F, F, F, T, F],
}


def make_view(cols: dict[str, list]) -> CaseView:
    """A CaseView from plain lists, with the dtypes the store uses."""
    dtypes = {
        "state": np.int8,
        "channel": np.int8,
        "owner_units": np.int8,
        "handoffs": np.int16,
        "repeat_of": np.int64,
        "quartile": np.int8,
        "age_group": np.int8,
        "unit": np.int32,
    }
    out = {}
    for f, spec in CaseView.__dataclass_fields__.items():
        if f not in cols and spec.default is not dataclasses.MISSING:
            continue  # optional columns keep their defaults
        v = cols[f]
        if f.startswith("t_") or f == "deadline":
            out[f] = np.asarray(v, dtype=float)
        elif f in dtypes:
            out[f] = np.asarray(v, dtype=dtypes[f])
        else:
            out[f] = np.asarray(v, dtype=bool)
    return CaseView(**out)


def make_ledger() -> M.Ledger:
    """Four days; rows 0..2 are summed by the tests, row 3 holds values that must be ignored."""
    L = M.Ledger(4)
    L.problems[:] = [10, 20, 30, 99]
    L.reached[:] = [5, 10, 15, 0]
    L.data_hours[:] = [1, 2, 3, 100]
    L.pool_hours[:] = [10, 10, 10, 1]
    L.burnout_mean[:] = [0.1, 0.2, 0.3, 0.9]
    L.overload_share[:] = [0.0, 0.5, 1.0, 0.0]
    L.hotline_within[:] = [nan, 0.9, 0.7, 0.1]
    L.problems_q[:] = 10
    L.voiced_q[:] = [2, 4, 6, 8]
    L.voiced_q[3] = 0
    L.problems_g[:] = 10
    L.voiced_g[:] = [5, 3, 1]
    L.problems_nc_q[:] = 4
    L.problems_nc_g[:] = 4
    return L


def test_intake_metrics_by_hand() -> None:
    m = M.intake_metrics(make_view(CASES))
    assert m["consultation_share"] == pytest.approx(0.1)
    # app: 1,2,7,9; hotline: 0,3,8; offline 4; assisted 5; patrol 6
    assert m["channel_share_app"] == pytest.approx(0.4)
    assert m["channel_share_hotline"] == pytest.approx(0.3)
    for c in ("offline", "assisted", "patrol"):
        assert m[f"channel_share_{c}"] == pytest.approx(0.1)
    assert sum(
        m[f"channel_share_{c}"] for c in ("app", "hotline", "offline", "assisted", "patrol")
    ) == pytest.approx(1.0)


def test_responsiveness_metrics_by_hand() -> None:
    m = M.responsiveness_metrics(make_view(CASES), NOW, RESPONSE_DAYS)
    # reached, not withdrawn: 1,2,3,4,6,8,9; all acted on within 1 day except case 3 (1.8 d)
    assert m["response_rate"] == pytest.approx(6 / 7)
    # non-consultation, not withdrawn, closed or past deadline: 1,2,3,4,6,7,8,9 (8 cases);
    # closed by the deadline: 1,2,3,6 (case 9 closed at 12 > 11)
    assert m["on_time_closure_rate"] == pytest.approx(4 / 8)
    # closed or verified among those 8: 1,2,3,6,9
    assert m["closure_rate"] == pytest.approx(5 / 8)
    # solved among the 9 non-consultation cases: 1,2,6,9
    assert m["real_resolution_rate"] == pytest.approx(4 / 9)
    # days to resolution: 0.8, 1.5, 0.5, 8.0 -> median 1.15; p90 (linear) 1.5 + 0.7 * 6.5
    assert m["days_to_resolution_median"] == pytest.approx(1.15)
    assert m["days_to_resolution_p90"] == pytest.approx(6.05)
    # hand-offs of cases 1..9: 1,2,0,3,0,1,0,2,1 -> 10/9
    assert m["handoffs_per_case"] == pytest.approx(10 / 9)
    # multi-owner solved: 1.5, 8.0 (median 4.75); single-owner solved: 0.8, 0.5 (median 0.65)
    assert m["cross_dept_days_ratio"] == pytest.approx(4.75 / 0.65)
    assert m["repeat_complaint_rate"] == pytest.approx(1 / 9)
    # nominal among closed non-consultation (1,2,3,6,9): case 3
    assert m["nominal_closure_rate"] == pytest.approx(1 / 5)


def test_satisfaction_metrics_by_hand() -> None:
    m = M.satisfaction_metrics(make_view(CASES))
    # closed (closed/verified) non-consultation: 1,2,3,6,9; unsolved: 3
    assert m["closure_gap"] == pytest.approx(1 / 5)
    # rated: 1,2,3,6,8,9; reported satisfied: 1,2,3,6,8; truly satisfied: 2,6
    assert m["satisfaction_reported"] == pytest.approx(5 / 6)
    assert m["satisfaction_true"] == pytest.approx(2 / 6)
    assert m["satisfaction_inflation"] == pytest.approx(5 / 6 - 2 / 6)


def test_satisfaction_inflation_is_never_negative() -> None:
    cols = dict(CASES)
    cols["reported_satisfied"] = [F] * 10
    cols["true_satisfied"] = [T] * 10
    m = M.satisfaction_metrics(make_view(cols))
    assert m["satisfaction_reported"] == 0.0 and m["satisfaction_true"] == 1.0
    assert m["satisfaction_inflation"] == 0.0


def test_ledger_metrics_by_hand() -> None:
    m = M.ledger_metrics(make_ledger(), 0, 3)
    assert m["formalism_burden"] == pytest.approx(6 / 30)
    assert m["official_burnout_mean"] == pytest.approx(0.3)  # last day of the window
    assert m["official_overload_share"] == pytest.approx(0.5)
    assert m["hotline_answer_within_15s"] == pytest.approx(0.8)  # days without calls skipped
    for q, want in enumerate([0.2, 0.4, 0.6, 0.8]):
        assert m[f"voice_rate_q{q + 1}"] == pytest.approx(want)
    for g, want in zip(AGE_GROUPS, [0.5, 0.3, 0.1], strict=True):
        assert m[f"voice_rate_{g}"] == pytest.approx(want)


def test_equity_metrics_and_gaps_by_hand() -> None:
    v, L = make_view(CASES), make_ledger()
    m = M.equity_metrics(v, L, 0, 3)
    # solved non-consultation by quartile: 1 (q1), 2 (q2), 6 and 9 (q4); 12 problems per quartile
    for q, want in enumerate([1 / 12, 1 / 12, 0.0, 2 / 12]):
        assert m[f"real_resolution_q{q + 1}"] == pytest.approx(want)
    # finished (closed, verified, withdrawn) by quartile: q1 {1}, q2 {2,3}, q3 {5}, q4 {6,9};
    # truly satisfied among them: 2 (q2), 6 (q4)
    for q, want in enumerate([0.0, 0.5, 0.0, 0.5]):
        assert m[f"satisfaction_q{q + 1}"] == pytest.approx(want)
    # by age: solved 6,9 (young), 1 (middle), 2 (old); 12 problems each
    for g, want in zip(AGE_GROUPS, [2 / 12, 1 / 12, 1 / 12], strict=True):
        assert m[f"real_resolution_{g}"] == pytest.approx(want)
    # finished by age: young {3,6,9}, middle {1}, old {2,5}; satisfied: 6 (young), 2 (old)
    for g, want in zip(AGE_GROUPS, [1 / 3, 0.0, 1 / 2], strict=True):
        assert m[f"satisfaction_{g}"] == pytest.approx(want)
    m.update(M.ledger_metrics(L, 0, 3))
    gaps = M.equity_gaps(m)
    assert gaps["equity_gap_voice"] == pytest.approx(0.8 - 0.2)
    assert gaps["equity_gap_resolution"] == pytest.approx(2 / 12 - 1 / 12)
    assert gaps["equity_gap_satisfaction"] == pytest.approx(0.5 - 0.0)


def test_voice_gap_counts_problems_not_consultations_and_persuaded_withdrawals() -> None:
    """Rows 0..2: 16 problems (not consultations) a day, 48 in all, of which 30 reached the
    platform; the window's cases hold one withdrawal (case 5): (48 - 30 + 1) / 48."""
    L = make_ledger()
    L.reached_nc[:] = [10, 10, 10, 99]
    assert M.voice_gap(make_view(CASES), L, 0, 3) == pytest.approx((48 - 30 + 1) / 48)
    L.reached_nc[:3] = 16  # everything reached: only the withdrawal is unheard
    assert M.voice_gap(make_view(CASES), L, 0, 3) == pytest.approx(1 / 48)


def test_dsi_weights() -> None:
    comp = {
        "closure_gap": 0.2,
        "satisfaction_inflation": 0.4,
        "formalism_burden": 0.1,
        "voice_gap": 0.5,
    }
    equal = dict.fromkeys(comp, 0.25)
    comp["hidden_dissatisfaction"] = 0.8  # the weight of satisfaction_inflation reads this scale
    assert M.dsi(comp, equal) == pytest.approx((0.2 + 0.8 + 0.1 + 0.5) / 4)
    w = {
        "closure_gap": 1.0,
        "satisfaction_inflation": 0.0,
        "formalism_burden": 3.0,
        "voice_gap": 0.0,
    }
    assert M.dsi(comp, w) == pytest.approx((0.2 + 3 * 0.1) / 4)
    # weights are normalised: scaling them changes nothing
    assert M.dsi(comp, {k: 7 * v for k, v in w.items()}) == pytest.approx(M.dsi(comp, w))
    # a single component weighted alone is that component
    assert M.dsi(comp, {"voice_gap": 2.0}) == pytest.approx(0.5)
    # an undefined (nan) component counts as 0, as documented
    assert M.dsi({**comp, "closure_gap": nan}, equal) == pytest.approx((0.8 + 0.1 + 0.5) / 4)


def test_open_backlog_and_queue_metrics() -> None:
    counts = np.array([3, 2, 1, 4, 10, 1, 5, 2])  # by state code
    assert M.open_backlog(counts) == 3 + 2 + 1 + 4 + 1
    assert M.open_backlog(counts, open_consultations=2) == 9
    v = make_view(
        {
            **{k: vals[:4] for k, vals in CASES.items()},
            "t_created": [0.0, 1.0, 2.0, 3.0],
            "t_owner": [0.0, 1.0, 2.0, 3.0],
            "t_started": [0.0, 1.5, 2.0, nan],
            "t_closed": [0.5, 2.0, 2.5, nan],
        }
    )
    q = M.queue_metrics(v, warmup=0.5)
    # measured: cases 1 and 2 (case 0 in warm-up, case 3 unfinished); waits 0.5 and 0
    assert q["queue_cases_measured"] == 2
    assert q["mean_wait_days"] == pytest.approx(0.25)
    assert q["mean_days_in_system"] == pytest.approx(0.75)
    assert q["prob_wait"] == pytest.approx(0.5)


def test_empty_denominators_are_nan() -> None:
    empty = make_view({k: [] for k in CASES})
    r = M.responsiveness_metrics(empty, 1.0, 1.0)
    assert all(math.isnan(r[k]) for k in ("response_rate", "closure_rate", "real_resolution_rate"))
    s = M.satisfaction_metrics(empty)
    assert math.isnan(s["closure_gap"]) and s["satisfaction_inflation"] == 0.0


def test_issue_metric_names_are_defined() -> None:
    issue3 = [
        "cases_reported",
        "consultation_share",
        "channel_share_app",
        "channel_share_hotline",
        "channel_share_offline",
        "channel_share_assisted",
        "channel_share_patrol",
        "response_rate",
        "on_time_closure_rate",
        "closure_rate",
        "real_resolution_rate",
        "days_to_resolution_median",
        "days_to_resolution_p90",
        "handoffs_per_case",
        "cross_dept_days_ratio",
        "backlog",
        "hotline_answer_within_15s",
    ]
    issue4 = [
        "closure_gap",
        "satisfaction_inflation",
        "formalism_burden",
        "voice_gap",
        "dsi",
        "satisfaction_reported",
        "satisfaction_true",
        "repeat_complaint_rate",
        "official_burnout_mean",
        "official_overload_share",
    ]
    issue5 = [
        f"{p}_q{q}" for p in ("voice_rate", "real_resolution", "satisfaction") for q in range(1, 5)
    ]
    issue5 += [
        f"{p}_{g}" for p in ("voice_rate", "real_resolution", "satisfaction") for g in AGE_GROUPS
    ]
    issue5 += [
        "equity_gap_voice",
        "equity_gap_resolution",
        "equity_gap_satisfaction",
        "trust_mean",
        "efficacy_mean",
    ]
    missing = [k for k in issue3 + issue4 + issue5 if k not in M.METRICS]
    assert not missing
    assert all(isinstance(d, str) and d for d in M.METRICS.values())


# ----------------------------------------------------------------------------- properties
SHARES = [
    "consultation_share",
    "channel_share_app",
    "channel_share_hotline",
    "channel_share_offline",
    "channel_share_assisted",
    "channel_share_patrol",
    "response_rate",
    "on_time_closure_rate",
    "closure_rate",
    "real_resolution_rate",
    "repeat_complaint_rate",
    "nominal_closure_rate",
    "closure_gap",
    "satisfaction_reported",
    "satisfaction_true",
    "satisfaction_inflation",
]


@st.composite
def case_logs(draw):
    n = draw(st.integers(0, 30))
    rnd = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t_created = np.sort(rnd.uniform(0, 10, n))
    t_owner = np.where(rnd.random(n) < 0.8, t_created + rnd.exponential(0.5, n), nan)
    t_started = np.where(rnd.random(n) < 0.8, t_owner + rnd.exponential(1.0, n), nan)
    t_closed = np.where(rnd.random(n) < 0.7, t_started + rnd.exponential(1.0, n), nan)
    solved = rnd.random(n) < 0.6
    rated = rnd.random(n) < 0.7
    cols = {
        "t_created": t_created,
        "t_owner": t_owner,
        "t_started": t_started,
        "t_closed": t_closed,
        "t_solved": np.where(solved, t_closed, nan),
        "deadline": t_created + rnd.choice([1 / 12, 1, 7, 15], n),
        "state": rnd.integers(0, 8, n),
        "channel": rnd.integers(0, 5, n),
        "consultation": rnd.random(n) < 0.3,
        "solved": solved,
        "owner_units": rnd.integers(1, 4, n),
        "handoffs": rnd.integers(0, 4, n),
        "rated": rated,
        "reported_satisfied": rated & (rnd.random(n) < 0.7),
        "true_satisfied": rated & (rnd.random(n) < 0.5),
        "repeat_of": np.where(rnd.random(n) < 0.1, 0, -1),
        "quartile": rnd.integers(0, 4, n),
        "age_group": rnd.integers(0, 3, n),
        "unit": rnd.integers(0, 5, n),
        "audited": rnd.random(n) < 0.2,
        "caught": rnd.random(n) < 0.05,
        "nominal": rnd.random(n) < 0.1,
    }
    return make_view({k: list(v) for k, v in cols.items()})


@given(v=case_logs(), now=st.floats(0, 30))
@settings(max_examples=200, deadline=None)
def test_share_metrics_stay_in_unit_interval(v: CaseView, now: float) -> None:
    m = {}
    m.update(M.intake_metrics(v))
    m.update(M.responsiveness_metrics(v, now, 1.0))
    m.update(M.satisfaction_metrics(v))
    for k in SHARES:
        assert math.isnan(m[k]) or 0.0 <= m[k] <= 1.0, (k, m[k])
    if len(v.t_created):
        total = sum(
            m[f"channel_share_{c}"] for c in ("app", "hotline", "offline", "assisted", "patrol")
        )
        assert total == pytest.approx(1.0)
    w = dict.fromkeys(
        ("closure_gap", "satisfaction_inflation", "formalism_burden", "voice_gap"), 1.0
    )
    assert 0.0 <= M.dsi({**m, "formalism_burden": 0.3, "voice_gap": 0.2}, w) <= 1.0
