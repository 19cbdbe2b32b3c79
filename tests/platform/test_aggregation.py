"""Tests of govsim.platform.aggregation: greedy approval, Method of Equal Shares, best feasible set."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govsim.platform.aggregation import (
    approval_utilities,
    best_feasible,
    equal_shares,
    greedy_approval,
    total_cost,
)

# The example of equalshares.net ("Explanation", example 1): budget 1100, 11 voters (v0..v10),
# five projects. Approvals by voter index:
BIKE, GYM, PARK, PLAYGROUND, LIBRARY = range(5)
COSTS = np.array([700.0, 400.0, 250.0, 200.0, 100.0])
SUPPORTERS = {
    BIKE: [0, 1, 2, 3, 4, 5, 10],
    GYM: [0, 1, 2, 3, 4, 5],
    PARK: [1, 3, 4, 6, 9],
    PLAYGROUND: [6, 7, 8, 9],
    LIBRARY: [6, 8, 9],
}


def _ballots(supporters: dict[int, list[int]], n: int = 11) -> np.ndarray:
    a = np.zeros((n, len(supporters)), dtype=bool)
    for j, who in supporters.items():
        a[who, j] = True
    return a


def _mask(*projects: int, m: int = 5) -> np.ndarray:
    out = np.zeros(m, dtype=bool)
    out[list(projects)] = True
    return out


def test_equal_shares_example_1_worked_by_hand() -> None:
    # Each voter gets 1100 / 11 = 100. With cost utilities MES funds the project with the highest
    # effective vote count, cost / (largest payment):
    #   round 1: bike 700 split over 7 supporters = 100 each -> 7 votes; gym 400/6 = 66.7 each
    #     -> 6; park 250/5 = 50 -> 5; playground 4; library 3.  Fund the bike path: v0-v5 and
    #     v10 pay 100 and are left with 0; v6-v9 keep 100.
    #   round 2: gym's supporters hold 0 -> unaffordable. Park: only v6 and v9 hold money (200 <
    #     250) -> unaffordable. Playground 200/4 = 50 each (all four hold 100) -> 4 votes; library
    #     100/3 = 33.3 each -> 3. Fund the playground: v6-v9 now hold 50.
    #   round 3: library 100 split over v6, v8, v9 = 33.3 each <= 50 -> fund it; v6, v8, v9 hold
    #     16.7, v7 50. Park: v6 + v9 hold 33.3 < 250 -> stop.
    # Result: bike path, playground, library (spends 1000 of 1100). Completion changes nothing:
    # 100 is left and the cheapest unfunded project (park) costs 250, so the outcome is exhaustive.
    a = _ballots(SUPPORTERS)
    u = approval_utilities(a, COSTS)
    expected = _mask(BIKE, PLAYGROUND, LIBRARY)
    np.testing.assert_array_equal(equal_shares(COSTS, u, 1100, completion=False), expected)
    np.testing.assert_array_equal(equal_shares(COSTS, u, 1100), expected)


def test_greedy_on_example_1_funds_the_two_sports_projects() -> None:
    # Votes: bike 7, gym 6, park 5, playground 4, library 3. Greedy takes the bike path (700),
    # the gym (400) and then 0 is left: nothing else fits.
    a = _ballots(SUPPORTERS)
    np.testing.assert_array_equal(greedy_approval(COSTS, a.sum(axis=0), 1100), _mask(BIKE, GYM))


def test_equal_shares_example_2_worked_by_hand() -> None:
    # Example 2 of equalshares.net: v10 votes for the gym instead of the bike path.
    #   round 1 (shares 100): gym 400/7 = 57.14 each -> 7 effective votes; bike 700/6 = 116.7 >
    #     100 -> its supporters hold 600 < 700, unaffordable. Fund the gym: v0-v5, v10 hold 42.86.
    #   round 2: park supporters v1, v3, v4 hold 42.86, v6, v9 hold 100. Splitting 250 equally
    #     (50 each) is impossible, so v1, v3, v4 pay everything (128.57) and v6, v9 pay
    #     (250 - 128.57) / 2 = 60.71: effective votes 250 / 60.71 = 4.12. Playground: 4 votes
    #     (50 each); library 3. Fund the park: v6 and v9 hold 39.29.
    #   round 3: playground 200 over v6, v9 (39.29 each) and v7, v8 (100): v6, v9 pay all they
    #     have, v7, v8 pay (200 - 78.57) / 2 = 60.71 -> 3.29 votes. Library: v6, v9 hold 39.29
    #     and v8 100: 100/3 = 33.3 each is possible -> 3 votes. Fund the playground.
    #   round 4: library supporters hold 0 + 39.29 + 0 = 39.29 < 100 -> stop.
    # Result: gym, park, playground (850 of 1100).
    sup = dict(SUPPORTERS)
    sup[BIKE] = [0, 1, 2, 3, 4, 5]
    sup[GYM] = [0, 1, 2, 3, 4, 5, 10]
    u = approval_utilities(_ballots(sup), COSTS)
    np.testing.assert_array_equal(
        equal_shares(COSTS, u, 1100, completion=False), _mask(GYM, PARK, PLAYGROUND)
    )
    # With completion the 250 left over buys the library (100), the only project that fits.
    np.testing.assert_array_equal(
        equal_shares(COSTS, u, 1100), _mask(GYM, PARK, PLAYGROUND, LIBRARY)
    )


def test_completion_raises_shares_before_filling_greedily() -> None:
    # Budget 100, two voters: A approves x (60); B approves y (40) and z (40).
    # Plain MES (shares 50): x needs 60 from A alone -> unaffordable; y and z tie (each paid
    # fully by B, rho = 1, 1 vote, same cost) -> y by index; B keeps 10 < 40 -> stop: {y}.
    # Completion: shares 50 * (1 + 0.01 k). Until share 60 (k = 20) the outcome stays {y}
    # (40 <= 100, not exhaustive: x fits in 60). At share 60 A affords x, B affords y but not z
    # (20 left): {x, y} costs 100 -> exhaustive, stop.
    # Greedy (1 vote each, ties to the cheaper, then index): y, z (80), x does not fit -> {y, z}.
    costs = np.array([60.0, 40.0, 40.0])
    a = np.array([[True, False, False], [False, True, True]])
    u = approval_utilities(a, costs)
    np.testing.assert_array_equal(equal_shares(costs, u, 100, completion=False), [0, 1, 0])
    np.testing.assert_array_equal(equal_shares(costs, u, 100), [1, 1, 0])
    np.testing.assert_array_equal(greedy_approval(costs, a.sum(axis=0), 100), [0, 1, 1])


def test_equal_shares_is_proportional_where_greedy_is_not() -> None:
    # 60 voters approve projects A0..A9, 40 voters approve B0..B9, every project costs 10,
    # budget 100. Shares are 1: the A group holds 60 (six projects), the B group 40 (four).
    # Greedy funds the ten A projects (60 votes each beat 40).
    costs = np.full(20, 10.0)
    a = np.zeros((100, 20), dtype=bool)
    a[:60, :10] = True
    a[60:, 10:] = True
    mes = equal_shares(costs, approval_utilities(a, costs), 100)
    assert mes[:10].sum() == 6 and mes[10:].sum() == 4
    greedy = greedy_approval(costs, a.sum(axis=0), 100)
    assert greedy[:10].all() and not greedy[10:].any()


def test_greedy_skips_what_does_not_fit_and_goes_on() -> None:
    # Scores 3, 2, 1: take 80; 50 does not fit in 20 -> skip; 30 does not fit either; 15 fits.
    costs = np.array([80.0, 50.0, 30.0, 15.0])
    np.testing.assert_array_equal(greedy_approval(costs, [3, 2, 1, 1], 100), [1, 0, 0, 1])


def test_greedy_ties_go_to_the_cheaper_and_zero_votes_are_never_funded() -> None:
    costs = np.array([50.0, 30.0, 10.0])
    np.testing.assert_array_equal(greedy_approval(costs, [2, 2, 0], 60), [0, 1, 0])


def test_duplicating_every_voter_does_not_change_equal_shares() -> None:
    # Equal shares depends on the proportions of ballots, not their number.
    rng = np.random.default_rng(7)
    costs = rng.uniform(10, 60, 6)
    a = rng.random((15, 6)) < 0.4
    u = approval_utilities(a, costs)
    once = equal_shares(costs, u, 120)
    thrice = equal_shares(costs, np.repeat(u, 3, axis=0), 120)
    np.testing.assert_array_equal(once, thrice)


@st.composite
def _instances(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float]:
    m = draw(st.integers(1, 7))
    n = draw(st.integers(0, 12))
    costs = np.array(draw(st.lists(st.floats(0, 1e6), min_size=m, max_size=m)))
    cells = draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))
    approvals = np.array(cells, dtype=bool).reshape(n, m)
    budget = draw(st.floats(0, 3e6))
    return costs, approvals, budget


@settings(max_examples=200, deadline=None)
@given(_instances())
def test_budget_is_never_exceeded(inst: tuple[np.ndarray, np.ndarray, float]) -> None:
    costs, approvals, budget = inst
    votes = approvals.sum(axis=0)
    u = approval_utilities(approvals, costs)
    for chosen in (
        greedy_approval(costs, votes, budget),
        equal_shares(costs, u, budget, completion=False),
        equal_shares(costs, u, budget),
        best_feasible(costs, votes.astype(float), budget)[0],
    ):
        assert total_cost(costs, chosen) <= budget
    for chosen in (greedy_approval(costs, votes, budget), equal_shares(costs, u, budget)):
        assert np.all(votes[chosen] > 0), "a project nobody approved was funded"


def test_best_feasible_by_hand() -> None:
    # Budget 7: {5} is worth 10, {4, 3} is worth 13, {5, 4} costs 9 -> best is {4, 3}.
    mask, value = best_feasible([5.0, 4.0, 3.0], [10.0, 7.0, 6.0], 7.0)
    np.testing.assert_array_equal(mask, [0, 1, 1])
    assert value == 13.0


def _knapsack_dp(costs: list[int], values: list[float], budget: int) -> float:
    best = [0.0] * (budget + 1)
    for c, v in zip(costs, values, strict=True):
        for b in range(budget, c - 1, -1):
            best[b] = max(best[b], best[b - c] + v)
    return best[budget]


def test_best_feasible_integer_program_agrees_with_dynamic_programming() -> None:
    # 20 projects take the scipy.optimize.milp path; integer costs allow an exact DP check.
    rng = np.random.default_rng(3)
    costs = rng.integers(1, 40, 20)
    values = rng.integers(0, 100, 20).astype(float)
    mask, value = best_feasible(costs.astype(float), values, 150.0)
    assert total_cost(costs, mask) <= 150
    assert value == pytest.approx(_knapsack_dp(costs.tolist(), values.tolist(), 150))


def test_best_feasible_enumeration_agrees_with_dynamic_programming() -> None:
    rng = np.random.default_rng(4)
    for _ in range(20):
        costs = rng.integers(1, 30, 8)
        values = rng.integers(0, 50, 8).astype(float)
        _, value = best_feasible(costs.astype(float), values, 60.0)
        assert value == _knapsack_dp(costs.tolist(), values.tolist(), 60)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: greedy_approval([1.0, -2.0], [1, 1], 5), "costs must be finite and >= 0"),
        (lambda: greedy_approval([1.0, 2.0], [1], 5), "scores must have shape"),
        (lambda: greedy_approval([1.0], [1], -1), "budget must be finite and >= 0"),
        (lambda: equal_shares([1.0, 2.0], np.ones((3, 3)), 5), "utilities must have shape"),
        (lambda: equal_shares([1.0], -np.ones((3, 1)), 5), "utilities must be finite and >= 0"),
        (lambda: approval_utilities(np.ones((2, 3), bool), [1.0]), "approvals must have shape"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_no_voters_or_no_projects_fund_nothing() -> None:
    assert not equal_shares([10.0, 20.0], np.zeros((0, 2)), 100).any()
    assert equal_shares(np.zeros(0), np.zeros((4, 0)), 100).size == 0
    assert not greedy_approval([10.0], [0], 100).any()


def test_subsets_enumeration_covers_every_subset_once() -> None:
    # best_feasible's brute force must see all 2**m subsets: with values 2**j every subset has a
    # distinct value, so the best under an unlimited budget is "everything".
    m = 6
    mask, value = best_feasible(np.ones(m), 2.0 ** np.arange(m), float(m))
    assert mask.all() and value == sum(2**j for j in range(m))
