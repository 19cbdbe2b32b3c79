"""Tests of govsim.model.GovernanceModel: determinism, conservation and invariants over random small
scenarios (hypothesis), the Mesa agents, summary windows, and a model-level assessment check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from govsim import metrics as M
from govsim.agents.department import Department
from govsim.agents.official import TIME_USES, Office
from govsim.agents.party import StreetCommittee
from govsim.cases import STATE_NAMES
from govsim.city import DEPARTMENT
from govsim.config import ScenarioError, load_scenario
from govsim.diagnostics import gaming_score_gain
from govsim.model import GovernanceModel
from govsim.queue_model import QueueModel
from govsim.runner import build_model, simulate

SMALL = {"population.citizens": 2000, "days": 60}

SHARE_PREFIXES = ("channel_share_", "voice_rate_", "real_resolution_", "satisfaction_", "practice_")
SHARE_NAMES = {
    "consultation_share", "response_rate", "on_time_closure_rate", "closure_rate",
    "hotline_answer_within_15s", "closure_gap", "formalism_burden", "voice_gap", "dsi",
    "repeat_complaint_rate", "official_burnout_mean", "official_overload_share", "trust_mean",
    "efficacy_mean", "nominal_closure_rate",
}  # fmt: skip
SHARE_METRICS = sorted(k for k in M.METRICS if k in SHARE_NAMES or k.startswith(SHARE_PREFIXES))
"""Metrics that are shares or means of [0,1] quantities (the rest are counts, days or gaps)."""


def _run(scenario="baseline", seed: int | None = None, **over) -> GovernanceModel:
    m = GovernanceModel(scenario=scenario, rng=seed, overrides={**SMALL, **over})
    for _ in range(m.config.days):
        m.step()
    return m


# ----------------------------------------------------------------------------- determinism
def test_same_scenario_and_seed_give_identical_outputs() -> None:
    a, b = _run(seed=5), _run(seed=5)
    sa, sb = a.summary(), b.summary()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert (math.isnan(sa[k]) and math.isnan(sb[k])) or sa[k] == sb[k], k
    ta, tb = a.timeseries(), b.timeseries()
    assert ta.equals(tb)
    n = a.cases.n
    assert n == b.cases.n
    np.testing.assert_array_equal(a.cases.t_created[:n], b.cases.t_created[:n])
    np.testing.assert_array_equal(a.cases.state[:n], b.cases.state[:n])
    np.testing.assert_array_equal(a.citizens.trust, b.citizens.trust)


def test_different_seeds_give_different_outputs() -> None:
    a, b = _run(seed=5), _run(seed=6)
    assert a.cases.n != b.cases.n or not np.array_equal(
        a.cases.t_created[: a.cases.n], b.cases.t_created[: b.cases.n]
    )
    sa, sb = a.summary(), b.summary()
    assert any(sa[k] != sb[k] for k in sa if not math.isnan(sa[k]))


def test_runner_seed_overrides_scenario_seed() -> None:
    s = load_scenario("baseline").model_copy(
        update={
            "population": load_scenario("baseline").population.model_copy(update={"citizens": 1000})
        }
    )
    r1 = simulate(s, seed=9, days=30)
    r2 = simulate(s.model_copy(update={"seed": 9}), days=30)
    assert r1.seed == 9 and r1.days == 30 and len(r1.timeseries) == 30
    assert r1.summary == r2.summary or all(
        (math.isnan(r1.summary[k]) and math.isnan(r2.summary[k])) or r1.summary[k] == r2.summary[k]
        for k in r1.summary
    )
    assert r1.timeseries.equals(r2.timeseries)


# ----------------------------------------------------------------------------- outputs
def test_metric_names_in_timeseries_and_summary() -> None:
    m = _run(seed=1)
    names = m.metric_names()  # every METRICS name, less the PB ones when budgeting is off
    assert set(names) <= set(M.METRICS)
    assert not m.config.budgeting.enabled and not any(k.startswith("pb_") for k in names)
    pb = {k for k in M.METRICS if k.startswith("pb_")}
    assert set(M.METRICS) - set(names) == pb | M.SUMMARY_ONLY
    assert list(m.timeseries().columns) == ["day", *names]
    assert set(m.summary()) == set(names) | M.SUMMARY_ONLY
    assert m.timeseries()["day"].tolist() == list(range(1, 61))


def test_queue_mode_is_a_model_of_its_own_reporting_queue_metrics() -> None:
    m = QueueModel(scenario="queue_mmc", overrides={"days": 20})
    for _ in range(20):
        m.step()
    assert list(m.timeseries().columns) == ["day", *m.metric_names()]
    assert {"mean_wait_days", "mean_days_in_system", "prob_wait"} <= set(m.summary())
    assert set(m.erlang_c()) == {"mean_wait_days", "mean_days_in_system", "prob_wait"}
    with pytest.raises(ValueError, match="QueueModel"):
        GovernanceModel(scenario="queue_mmc")
    with pytest.raises(ValueError, match=r"queue\.enabled"):
        QueueModel(scenario="baseline")


def test_bad_overrides_are_rejected_with_the_key_path() -> None:
    with pytest.raises(ScenarioError, match=r"dispatch\.mode"):
        GovernanceModel(overrides={"dispatch.mode": "bogus"})
    with pytest.raises(ScenarioError, match="arrival_rate"):
        QueueModel(
            scenario="queue_mmc",
            overrides={"queue.arrival_rate": 100, "queue.servers": 1, "queue.service_rate": 10},
        )


def test_mesa_agents_are_the_units_and_committees_and_citizens_are_views_on_request() -> None:
    """Mesa agents stand for the actors that carry behaviour: one Office per community and street,
    one Department per department copy, one StreetCommittee per street. Citizens are rows of
    arrays; ``model.citizen(i)`` is a view of row i."""
    m = _run(seed=2, days=5)
    city = m.city
    c = m.citizen(17)
    assert c.literacy == m.citizens.literacy[17] and c.trust == m.citizens.trust[17]
    assert c.age_group in ("young", "middle", "old")
    with pytest.raises(IndexError):
        m.citizen(m.citizens.n)
    offices = list(m.agents_by_type[Office])
    assert len(offices) == city.n_communities + city.n_streets
    shares = offices[0].time_shares
    assert set(shares) == set(TIME_USES) and sum(shares.values()) == pytest.approx(1.0)
    assert 0.0 <= offices[0].burnout <= 1.0
    assert len(m.agents_by_type[Department]) == int((city.unit_kind == DEPARTMENT).sum())
    assert len(m.agents_by_type[StreetCommittee]) == city.n_streets
    assert len(m.agents) == city.n_communities + 2 * city.n_streets + len(
        m.agents_by_type[Department]
    )


# ----------------------------------------------------------------------------- invariants
SWITCHES = st.fixed_dictionaries(
    {
        "dispatch.mode": st.sampled_from(["fragmented", "unified"]),
        "dispatch.data_sharing": st.sampled_from([0.0, 0.5, 1.0]),
        "dispatch.first_receiver_responsibility": st.booleans(),
        "dispatch.district_backstop": st.booleans(),
        "dispatch.summoning": st.booleans(),
        "dispatch.classification_accuracy": st.sampled_from([0.3, 0.85, 1.0]),
        "closed_loop.escalation": st.booleans(),
        "closed_loop.callback": st.booleans(),
        "closed_loop.audit_rate": st.sampled_from([0.0, 0.1, 0.5]),
        "boundary.force_online": st.booleans(),
        "channels.offline": st.booleans(),
        "channels.assisted": st.booleans(),
        "assessment.learning.initial_gaming": st.sampled_from([0.0, 0.05, 0.4]),
        "assessment.period_days": st.sampled_from([7, 30]),
        "population.literacy_training_rate": st.sampled_from([0.0, 0.5]),
    }
)


FOUND_REAL_RESOLUTION_ABOVE_ONE = {
    "dispatch.mode": "fragmented",
    "dispatch.data_sharing": 0.0,
    "dispatch.first_receiver_responsibility": False,
    "dispatch.district_backstop": True,
    "dispatch.summoning": True,
    "dispatch.classification_accuracy": 0.3,
    "closed_loop.escalation": False,
    "closed_loop.callback": True,
    "closed_loop.audit_rate": 0.5,
    "boundary.force_online": True,
    "channels.offline": True,
    "channels.assisted": True,
    "assessment.learning.initial_gaming": 0.05,
    "assessment.period_days": 7,
    "population.literacy_training_rate": 0.0,
}
"""A case hypothesis found: real_resolution_q3 = 1.25 on day 38 (a repeat complaint solved as
well as its reopened original counts two solved cases for one problem)."""


@given(switches=SWITCHES, seed=st.integers(0, 2**31 - 1))
@example(switches=FOUND_REAL_RESOLUTION_ABOVE_ONE, seed=510511)
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # whole model runs: report, no shrinking
)
def test_invariants_hold_every_day(switches: dict, seed: int) -> None:
    """Conservation of cases, time budgets, bounded states and shares, every day of random small
    scenarios (seeds, dispatch modes and switches)."""
    m = GovernanceModel(
        scenario="baseline",
        rng=seed,
        overrides={"population.citizens": 600, "days": 40, **switches},
    )
    st_, c = m.cases, m.citizens
    for _ in range(40):
        m.step()
        n = st_.n
        # each case is in exactly one recorded state
        assert st_.state_counts.sum() == n
        assert (np.bincount(st_.state[:n], minlength=len(STATE_NAMES)) == st_.state_counts).all()
        assert m.metrics["backlog"] == int((st_.is_open() & ~st_.consultation[:n]).sum())
        # every unit's day adds up to its pool of hours, parts non-negative
        b = m.officials.budget
        np.testing.assert_allclose(b.total(), b.pool, rtol=1e-9, atol=1e-9)
        for use in TIME_USES:
            assert (getattr(b, use) >= -1e-9).all(), use
        assert ((m.officials.burnout >= 0) & (m.officials.burnout <= 1)).all()
        assert ((m.officials.practices >= 0) & (m.officials.practices <= 1)).all()
        for arr in (c.trust, c.efficacy, c.literacy):
            assert ((arr >= 0) & (arr <= 1)).all()
        for k in SHARE_METRICS:
            x = m.metrics.get(k, 0.0)
            assert math.isnan(x) or -1e-12 <= x <= 1 + 1e-12, (k, x)
    s = m.summary()
    for k in set(SHARE_METRICS) & set(s):
        assert math.isnan(s[k]) or -1e-12 <= s[k] <= 1 + 1e-12, (k, s[k])


def test_repeat_complaint_due_on_a_day_without_new_problems() -> None:
    """A repeat complaint falling due on a day when no new problem arises is still filed (small
    populations have such days: 600 citizens see none on about 7% of days)."""
    m = GovernanceModel(
        scenario="baseline", rng=4, overrides={"population.citizens": 2000, "days": 40}
    )
    while not (~m.cases.consultation[: m.cases.n]).any():
        m.step()
    old = int(np.flatnonzero(~m.cases.consultation[: m.cases.n])[0])
    m.categories.rate[:] = 0.0  # no new problems from now on
    m.citizens._refiles.setdefault(m.day, []).append((m.day + 0.5, old))
    n0 = m.cases.n
    m.step()
    assert m.cases.n == n0 + 1
    assert m.cases.repeat_of[n0] == old


def test_summary_equity_rates_use_one_cohort() -> None:
    """The summary's case rates cover the settled cohort (cases created before the last
    SETTLE_DAYS days). ``real_resolution_q*`` divides solved cases by problems that arose, so both
    must come from the same days: problems arising in the last SETTLE_DAYS days cannot be in the
    numerator and must not be in the denominator (otherwise the rate is biased low by about
    SETTLE_DAYS / days). Problems are counted once, however many cases their solution took."""
    m = _run(seed=3, days=200)
    s = m.summary()
    st_, L = m.cases, m.ledger
    settle_end = m.day - M.SETTLE_DAYS
    v = st_.view(0, st_.first_created_at_or_after(float(settle_end)))
    # problems solved: original cases whose problem got solved (by them or a repeat complaint)
    solved = ~v.consultation & (v.repeat_of < 0) & v.problem_solved
    solved_q = np.bincount(v.quartile[solved], minlength=4)
    problems_q = L.problems_nc_q[:settle_end].sum(axis=0)
    want = solved_q / problems_q
    got = np.array([s[f"real_resolution_q{q}"] for q in range(1, 5)])
    np.testing.assert_allclose(got, want, rtol=1e-9, err_msg="summary real_resolution_q1..q4")


# ----------------------------------------------------------------------------- assessment
@pytest.mark.slow
def test_audited_assessment_punishes_nominal_closure() -> None:
    """Model level, what the learning rule sees: under balanced_kpi with regular audits, units that
    close nominally score lower than honest ones, on average over seeds 0-4. Since issue 17 honest
    work can fail too (service capability below 1, problems that worsen while waiting) and audits
    reopen such closures as well, and app holdouts and channel habit change the load (at 3,000
    citizens two of six seeds were positive with them alone): the gap is narrower and noisier than
    it was (then -0.13 to -0.31 in every seed at 3,000). Observed after issue 17 at 6,000: -0.30,
    -0.19, -0.10, -0.09, -0.15 (seeds 0-4). The test asks for the sign of
    the mean over five seeds at 6,000 citizens and for most seeds."""
    gains = [
        gaming_score_gain("balanced_kpi", citizens=6000, audit_rate=0.1, seed=seed)
        for seed in range(5)
    ]
    assert np.mean(gains) < 0
    assert sum(g < 0 for g in gains) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_speed_assessment_rewards_nominal_closure_where_units_are_overloaded(seed: int) -> None:
    """Under speed_kpi without audits and double the citizens on the same staff, streets and
    departments (where the load falls) that close nominally score higher than honest ones.
    Observed +0.06 to +0.26 over 5 seeds; the test asks only for the sign, in every seed. (Whether
    learning then spreads the practice is a separate question: see experiments/README.md.)"""
    from govsim.city import DEPARTMENT, STREET

    gain = gaming_score_gain(
        "speed_kpi", citizens=20000, audit_rate=0.0, seed=seed, kinds=(DEPARTMENT, STREET)
    )
    assert gain > 0


def _same_values(a: dict[str, float], b: dict[str, float]) -> None:
    """The same keys and, key by key, the same value (NaN equal to NaN)."""
    assert a.keys() == b.keys()
    for k, v in a.items():
        w = b[k]
        assert v == w or (math.isnan(v) and math.isnan(w)), k


@pytest.mark.parametrize(
    "name, overrides",
    [
        ("baseline", ["population.citizens=3000"]),
        ("whistle", ["population.citizens=3000"]),
        ("participatory_budgeting", ["population.citizens=2000"]),
        ("queue_mmc", []),
    ],
)
def test_a_run_without_daily_metrics_has_the_same_summary(name: str, overrides: list) -> None:
    """Metrics only read the model: skipping them (as sweeps that keep no time series do) must
    change nothing the run computes. Exact equality (NaN equal to NaN)."""
    scenario = load_scenario(name, overrides)
    full = simulate(scenario, days=90)
    lean = simulate(scenario, days=90, timeseries=False)
    assert lean.timeseries is None and len(full.timeseries) == 90
    _same_values(full.summary, lean.summary)
    m = build_model(scenario, daily_metrics=False)
    for _ in range(5):
        m.step()
    assert (
        m.metrics == {} and m.datacollector.model_vars[next(iter(m.datacollector.model_vars))] == []
    )


def test_a_model_that_keeps_no_time_series_has_the_same_metrics_and_collects_none() -> None:
    """The classroom's cities (``keep_timeseries=False``): every day's ``metrics`` as a model
    that collects them, the summary the same, and nothing in the DataCollector."""
    scenario = load_scenario("baseline", ["population.citizens=1500"])
    keeping = GovernanceModel(scenario=scenario)
    lean = GovernanceModel(scenario=scenario, keep_timeseries=False)
    for _ in range(40):
        keeping.step()
        lean.step()
        _same_values(keeping.metrics, lean.metrics)
    assert len(keeping.timeseries()) == 40 and len(lean.timeseries()) == 0
    _same_values(keeping.summary(), lean.summary())
