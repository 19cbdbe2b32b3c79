"""Tests of govsim.platform.budgeting: the yearly PB cycle, its feedback and its metrics."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govsim.platform.aggregation import total_cost
from govsim.platform.budgeting import (
    PB_METRICS,
    ParticipatoryBudgeting,
    need_match,
    offline_share,
    representation_gap,
    turnout_metrics,
)
from govsim.schema import BudgetingSpec

YEAR = 365


@dataclass
class Citizens:
    """Stand-in for the model's Citizens: only the arrays the PB reads and writes."""

    literacy: np.ndarray
    trust: np.ndarray
    efficacy: np.ndarray
    age_group: np.ndarray
    community: np.ndarray


def make_citizens(
    n: int, n_communities: int, seed: int = 0, literacy: float | None = None
) -> Citizens:
    """A population with independent attributes; ``literacy`` fixes everyone's literacy."""
    rng = np.random.default_rng(seed)
    lit = rng.beta(3, 2, n) if literacy is None else np.full(n, literacy)
    return Citizens(
        literacy=lit,
        trust=rng.uniform(0.2, 0.8, n),
        efficacy=rng.uniform(0.2, 0.8, n),
        age_group=rng.integers(0, 3, n).astype(np.int8),
        community=rng.integers(0, n_communities, n),
    )


def spec(**kw: object) -> BudgetingSpec:
    return BudgetingSpec(enabled=True, **kw)


def run(pb: ParticipatoryBudgeting, days: range) -> None:
    for d in days:
        pb.step(d)


def vote_close(s: BudgetingSpec) -> int:
    return s.start_day + s.proposal_days + s.deliberation_days + s.voting_days


# ---------------------------------------------------------------- metric definitions


def test_turnout_metrics_on_a_hand_built_population() -> None:
    # 8 residents, two per quartile; voters: q1 none, q2 one, q3 one, q4 both -> 4 of 8.
    quartile = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    voted = np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype=bool)
    m = turnout_metrics(voted, quartile)
    assert m == {
        "pb_turnout": 0.5,
        "pb_turnout_q1": 0.0,
        "pb_turnout_q2": 0.5,
        "pb_turnout_q3": 0.5,
        "pb_turnout_q4": 1.0,
        "pb_turnout_gap": 1.0,
    }


def test_need_match_on_hand_built_communities() -> None:
    # Community 0: budget 10, costs 6, 5, 5, values 9, 5, 5: best is {5, 5} = 10; funded {6} = 9
    # -> 0.9. Community 1: best {4} = 8, funded it -> 1.0. Community 2: nothing has value -> left
    # out of the mean. Mean of 0.9 and 1.0 = 0.95.
    costs = np.array([[6.0, 5.0, 5.0], [4.0, 20.0, 20.0], [1.0, 1.0, 1.0]])
    values = np.array([[9.0, 5.0, 5.0], [8.0, 50.0, 50.0], [0.0, 0.0, 0.0]])
    funded = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 0]], dtype=bool)
    assert need_match(costs, values, funded, 10.0) == pytest.approx(0.95)
    assert need_match(costs[2:], values[2:], funded[2:], 10.0) == 0.0


def test_representation_gap_on_hand_built_benefits() -> None:
    # 4 residents, one per quartile; the bottom one gets 1 of 4 units of funded benefit: share
    # 0.25 minus population share 0.25 = 0. Giving it 3 of 6 units: 0.5 - 0.25 = 0.25.
    q = np.array([0, 1, 2, 3])
    assert representation_gap(np.array([1.0, 1.0, 1.0, 1.0]), q) == pytest.approx(0.0)
    assert representation_gap(np.array([3.0, 1.0, 1.0, 1.0]), q) == pytest.approx(0.25)
    assert representation_gap(np.array([0.0, 2.0, 1.0, 1.0]), q) == pytest.approx(-0.25)
    assert representation_gap(np.zeros(4), q) == 0.0


def test_offline_share_counts_proposals_not_residents() -> None:
    proposed = np.array([1, 1, 1, 0, 0], dtype=bool)
    at_offline = np.array([1, 0, 0, 1, 1], dtype=bool)  # the last two raised nothing
    assert offline_share(proposed, at_offline) == pytest.approx(1 / 3)
    assert offline_share(np.zeros(3, bool), np.ones(3, bool)) == 0.0


# ---------------------------------------------------------------- the cycle


def test_metrics_are_zero_before_the_first_vote_and_finite_after() -> None:
    cit = make_citizens(3000, 6)
    s = spec()
    pb = ParticipatoryBudgeting(s, cit, 6, np.random.default_rng(1))
    run(pb, range(vote_close(s)))
    m = pb.metrics()
    assert list(m) == list(PB_METRICS)
    assert all(v == 0.0 for v in m.values())
    run(pb, range(vote_close(s), 2 * YEAR + vote_close(s) + 1))
    m = pb.metrics()
    assert all(math.isfinite(v) for v in m.values())
    assert 0 < m["pb_turnout"] < 1
    assert 0 < m["pb_need_match"] <= 1 + 1e-9
    assert m["pb_projects_completed"] > 0


def test_disabled_pb_does_nothing() -> None:
    cit = make_citizens(500, 2)
    trust = cit.trust.copy()
    pb = ParticipatoryBudgeting(BudgetingSpec(enabled=False), cit, 2, np.random.default_rng(1))
    run(pb, range(2 * YEAR))
    np.testing.assert_array_equal(cit.trust, trust)
    assert all(v == 0.0 for v in pb.metrics().values())


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rule=st.sampled_from(["greedy", "equal_shares"]),
    budget=st.floats(0, 600_000),
)
def test_funded_projects_never_exceed_the_budget(seed: int, rule: str, budget: float) -> None:
    s = spec(rule=rule, budget_per_community=budget, project_types=8, proposals_per_community=8)
    cit = make_citizens(600, 4, seed=seed % 1000)
    pb = ParticipatoryBudgeting(s, cit, 4, np.random.default_rng(seed))
    run(pb, range(vote_close(s) + 1))
    for c in range(4):
        assert total_cost(pb._cand_cost[c], pb._funded[c]) <= budget
        assert not (pb._funded[c] & ~pb._tabled[c]).any(), "funded a project that was not tabled"


def test_same_seed_same_outcome() -> None:
    outs = []
    for _ in range(2):
        cit = make_citizens(2000, 5, seed=3)
        pb = ParticipatoryBudgeting(spec(rule="equal_shares"), cit, 5, np.random.default_rng(9))
        run(pb, range(YEAR + 200))
        outs.append((pb.metrics(), cit.trust.copy(), cit.efficacy.copy()))
    assert outs[0][0] == outs[1][0]
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    np.testing.assert_array_equal(outs[0][2], outs[1][2])


def first_vote(s: BudgetingSpec, cit: Citizens, n_comm: int, seed: int) -> dict[str, float]:
    pb = ParticipatoryBudgeting(s, cit, n_comm, np.random.default_rng(seed))
    run(pb, range(vote_close(s) + 1))
    return pb.metrics()


def test_turnout_rises_with_literacy_when_voting_is_online() -> None:
    # Online-only: access is literacy itself, so literacy 0.9 against 0.3 with everything else
    # equal (same attitudes, ages, communities, seed) should roughly triple turnout. With 20,000
    # residents the sampling error of a turnout share is below 0.005, far under the difference.
    s = spec(offline=False)
    low = first_vote(s, make_citizens(20_000, 10, seed=5, literacy=0.3), 10, seed=2)
    high = first_vote(s, make_citizens(20_000, 10, seed=5, literacy=0.9), 10, seed=2)
    assert high["pb_turnout"] > low["pb_turnout"] + 0.1


def test_offline_meetings_raise_turnout_most_in_the_bottom_literacy_quartile() -> None:
    # Same population and seed, online only versus online plus offline. Offline access does not
    # depend on literacy, so it adds most where online access (literacy) is lowest. Tolerance: the
    # quartile turnouts come from 5,000 residents each (sampling error below 0.01).
    cit = make_citizens(20_000, 10, seed=6)
    online = first_vote(spec(offline=False), cit, 10, seed=3)
    cit = make_citizens(20_000, 10, seed=6)
    blended = first_vote(spec(offline=True), cit, 10, seed=3)
    assert blended["pb_turnout"] > online["pb_turnout"] + 0.02
    gain_q1 = blended["pb_turnout_q1"] - online["pb_turnout_q1"]
    gain_q4 = blended["pb_turnout_q4"] - online["pb_turnout_q4"]
    assert gain_q1 > gain_q4 + 0.02
    assert blended["pb_turnout_gap"] < online["pb_turnout_gap"]


def test_offline_only_turnout_does_not_depend_on_literacy() -> None:
    # Offline-only: literacy enters nowhere, so quartile turnouts differ by sampling error only
    # (5,000 residents per quartile: standard error of a difference about 0.01; allow 0.04).
    m = first_vote(spec(online=False), make_citizens(20_000, 10, seed=8), 10, seed=4)
    assert abs(m["pb_turnout_gap"]) < 0.04
    assert m["pb_proposals_offline_share"] == 1.0


def test_online_only_has_no_offline_proposals() -> None:
    m = first_vote(spec(offline=False), make_citizens(5000, 5, seed=1), 5, seed=1)
    assert m["pb_proposals_offline_share"] == 0.0


def test_deliberation_narrows_the_perception_gap() -> None:
    s = spec()
    cit = make_citizens(5000, 5, seed=2)
    pb = ParticipatoryBudgeting(s, cit, 5, np.random.default_rng(5))
    delib_close = s.start_day + s.proposal_days + s.deliberation_days
    run(pb, range(delib_close))
    before = pb.perception_gap()
    pb.step(delib_close)
    after = pb.perception_gap()
    assert before > 0
    assert after < before


def test_without_deliberation_learning_perceptions_do_not_move() -> None:
    s = spec(deliberation_online=0.0, deliberation_offline=0.0)
    cit = make_citizens(3000, 3, seed=2)
    pb = ParticipatoryBudgeting(s, cit, 3, np.random.default_rng(5))
    delib_close = s.start_day + s.proposal_days + s.deliberation_days
    run(pb, range(delib_close))
    before = pb.perception_gap()
    pb.step(delib_close)
    assert pb.perception_gap() == before


def test_disclosure_raises_voters_trust_and_only_theirs() -> None:
    # Disclosure draws no random numbers, so the two runs are identical until the next cycle
    # except for the trust disclosure adds. Compare at the end of year 1 (before evaluation).
    outs = {}
    for disclosure in (False, True):
        cit = make_citizens(4000, 4, seed=11)
        pb = ParticipatoryBudgeting(
            spec(disclosure=disclosure, implementation_days=60), cit, 4, np.random.default_rng(2)
        )
        run(pb, range(YEAR))
        outs[disclosure] = (cit.trust.copy(), pb.voted_last.copy(), pb._order.copy())
    t_off, t_on = outs[False][0], outs[True][0]
    voted = np.zeros(4000, dtype=bool)
    voted[outs[True][2]] = outs[True][1]
    assert np.all(t_on >= t_off)
    assert np.all(t_on[voted] > t_off[voted])
    np.testing.assert_array_equal(t_on[~voted], t_off[~voted])


def test_implementation_respects_capacity_and_completes_projects() -> None:
    s = spec(implementation_capacity=1, implementation_days=40, budget_per_community=400_000)
    cit = make_citizens(3000, 3, seed=4)
    pb = ParticipatoryBudgeting(s, cit, 3, np.random.default_rng(8))
    for d in range(2 * YEAR):
        pb.step(d)
        running = pb._p_comm[pb._p_status == 1]
        assert np.bincount(running, minlength=3).max(initial=0) <= 1
    assert pb.projects_completed > 0
    assert pb.metrics()["pb_projects_completed"] == pb.projects_completed
    assert pb.stock.sum() == pb.projects_completed


def test_evaluation_moves_voters_efficacy_toward_what_was_delivered() -> None:
    # Short implementation (about 5 days, no spread) so every funded project is delivered by the
    # next cycle's evaluation. Voters whose approved projects were all delivered move up, voters
    # who got none of theirs move down, in proportion to the evaluation weight.
    s = spec(implementation_days=5, implementation_cv=0.0, evaluation_efficacy_weight=0.5)
    cit = make_citizens(3000, 3, seed=12)
    pb = ParticipatoryBudgeting(s, cit, 3, np.random.default_rng(3))
    run(pb, range(YEAR + s.start_day))
    approved = pb._approved.copy()
    delivered = pb._funded[pb._comm]
    voted = pb._voted.copy()
    order = pb._order.copy()
    eff_before = cit.efficacy[order].copy()
    pb.step(YEAR + s.start_day)  # evaluation, then next need collection
    eff_after = cit.efficacy[order]
    n_appr = approved.sum(axis=1)
    share = (approved & delivered).sum(axis=1) / np.maximum(n_appr, 1)
    all_in = voted & (n_appr > 0) & (share == 1)
    none_in = voted & (n_appr > 0) & (share == 0)
    assert all_in.any() and none_in.any()
    np.testing.assert_allclose(
        eff_after[all_in], eff_before[all_in] + 0.5 * (1 - eff_before[all_in])
    )
    np.testing.assert_allclose(eff_after[none_in], 0.5 * eff_before[none_in])
    np.testing.assert_array_equal(eff_after[~voted], eff_before[~voted])


def test_voting_last_year_raises_next_years_willingness() -> None:
    # The habit term: with everything else equal, a larger habit weight raises the second vote's
    # turnout (the first vote is identical because nobody has voted before).
    res = {}
    for habit in (0.0, 3.0):
        s = spec(turnout_habit_weight=habit)
        cit = make_citizens(10_000, 5, seed=13)
        pb = ParticipatoryBudgeting(s, cit, 5, np.random.default_rng(6))
        run(pb, range(vote_close(s) + 1))
        first = pb.metrics()["pb_turnout"]
        run(pb, range(vote_close(s) + 1, YEAR + vote_close(s) + 1))
        res[habit] = (first, pb.metrics()["pb_turnout"])
    assert res[0.0][0] == res[3.0][0]
    assert res[3.0][1] > res[0.0][1] + 0.02


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start_day": 300, "proposal_days": 30, "deliberation_days": 30}, "must be below 365"),
        ({"offline_age_availability": {"young": 1.0}}, "missing age groups"),
    ],
)
def test_bad_spec_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ParticipatoryBudgeting(spec(**kwargs), make_citizens(10, 1), 1, np.random.default_rng(0))


def test_bad_citizens_are_refused() -> None:
    cit = make_citizens(10, 2)
    with pytest.raises(ValueError, match=r"community must lie in \[0, 1\)"):
        ParticipatoryBudgeting(spec(), cit, 1, np.random.default_rng(0))
    cit.trust = cit.trust[:5]
    with pytest.raises(ValueError, match=r"citizens\.trust has length 5"):
        ParticipatoryBudgeting(spec(), cit, 2, np.random.default_rng(0))


def test_empty_communities_are_skipped() -> None:
    cit = make_citizens(800, 2, seed=1)  # communities 0 and 1 used, 2..4 empty
    pb = ParticipatoryBudgeting(spec(), cit, 5, np.random.default_rng(0))
    run(pb, range(YEAR))
    assert not pb._funded[2:].any()
    assert all(math.isfinite(v) for v in pb.metrics().values())


def test_the_model_runs_pb_and_reports_its_metrics_only_when_enabled() -> None:
    from govsim.model import GovernanceModel

    small = {"population.citizens": 1500, "days": 110}
    s = spec()
    m = GovernanceModel(scenario="participatory_budgeting", rng=4, overrides=small)
    assert m.pb is not None
    assert set(PB_METRICS) <= set(m.metric_names())
    for _ in range(vote_close(s) + 1):
        m.step()
    assert 0 < m.metrics["pb_turnout"] < 1
    assert m.metrics["pb_turnout"] == m.pb.metrics()["pb_turnout"]
    off = GovernanceModel(scenario="baseline", rng=4, overrides=small)
    assert off.pb is None
    assert not set(PB_METRICS) & set(off.metric_names())
