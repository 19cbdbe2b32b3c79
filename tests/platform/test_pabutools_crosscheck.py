"""govsim's participatory-budgeting rules against pabutools, the kept library of the field.

On generated Pabulib-style votes (integer costs, a budget of 20-60% of the total cost, approval
ballots drawn from a few voter types, so that many voters cast identical ballots), govsim's greedy
approval rule and Method of Equal Shares, with and without completion, select exactly the
projects pabutools selects, with the same tie-breaking (:func:`pabutools_election`). Where the two
differ on purpose (pabutools' greedy funds unapproved projects; the completion's stopping rule),
the tests say how. Speed (benchmarks/pb_rules.py) decided that govsim keeps its own
implementation at run time; see the note in govsim.platform.aggregation.
"""

from __future__ import annotations

import numpy as np
import pytest
from pabutools.election import ApprovalBallot, ApprovalProfile, Cost_Sat
from pabutools.fractions import frac
from pabutools.rules import (
    completion_by_rule_combination,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)
from pabutools.tiebreaking import lexico_tie_breaking

from govsim.platform.aggregation import (
    approval_utilities,
    equal_shares,
    greedy_approval,
    pabutools_election,
)


def vote(
    rng: np.random.Generator, *, every_project_approved: bool, cost_levels: int = 50
) -> tuple[np.ndarray, int, np.ndarray]:
    """A generated community vote: integer costs, budget, ballots (voters x projects)."""
    m = int(rng.integers(3, 13))
    n = int(rng.integers(5, 160))
    costs = rng.integers(1, cost_levels + 1, m) * 1000
    budget = int(costs.sum() * rng.uniform(0.2, 0.6))
    kinds = int(rng.integers(1, 10))
    types = rng.random((kinds, m)) < rng.uniform(0.1, 0.5, (kinds, 1))
    ballots = types[rng.integers(0, kinds, n)]  # voters of one type: identical ballots
    if every_project_approved:
        ballots[rng.integers(0, n, m), np.arange(m)] = True
    return costs, budget, ballots


def funded(allocation) -> set[int]:
    return {int(p.name) for p in allocation}


def ours(mask: np.ndarray) -> set[int]:
    return set(np.flatnonzero(mask).tolist())


def mes_with_completion(instance, profile, tie, budget: int, voters: int):
    """pabutools' MES with govsim's completion: +1% of the equal share per step, then greedy."""
    return completion_by_rule_combination(
        instance,
        profile,
        [method_of_equal_shares, greedy_utilitarian_welfare],
        [
            {
                "sat_class": Cost_Sat,
                "tie_breaking": tie,
                "voter_budget_increment": frac(budget, voters * 100),
            },
            {"sat_class": Cost_Sat, "tie_breaking": tie},
        ],
    )


@pytest.mark.parametrize("cost_levels", [50, 3])  # 3: few distinct costs, many exact ties
def test_greedy_and_plain_mes_select_what_pabutools_selects(cost_levels: int) -> None:
    rng = np.random.default_rng(20260601 + cost_levels)
    identical_ballots = ties_that_matter = 0
    for _ in range(60):
        costs, budget, ballots = vote(rng, every_project_approved=False, cost_levels=cost_levels)
        identical_ballots += len(ballots) - len(np.unique(ballots, axis=0))
        votes = ballots.sum(axis=0)
        instance, profile, tie = pabutools_election(costs, ballots, budget)
        assert profile.num_ballots() == len(ballots)  # multiplicities kept

        greedy = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat, tie_breaking=tie)
        approved = {j for j in funded(greedy) if votes[j] > 0}
        assert ours(greedy_approval(costs, votes, budget)) == approved
        by_name = greedy_utilitarian_welfare(
            instance, profile, sat_class=Cost_Sat, tie_breaking=lexico_tie_breaking
        )
        ties_that_matter += {j for j in funded(by_name) if votes[j] > 0} != approved

        mes = method_of_equal_shares(instance, profile, sat_class=Cost_Sat, tie_breaking=tie)
        u = approval_utilities(ballots, costs)
        assert ours(equal_shares(costs, u, budget, completion=False)) == funded(mes)
    assert identical_ballots > 1000  # the instances do exercise ballots with multiplicity
    assert ties_that_matter > 0  # and ties: pabutools' default tie-breaking would differ


def test_mes_with_completion_selects_what_pabutools_selects() -> None:
    rng = np.random.default_rng(20260602)
    for _ in range(40):
        costs, budget, ballots = vote(rng, every_project_approved=True)
        instance, profile, tie = pabutools_election(costs, ballots, budget)
        theirs = mes_with_completion(instance, profile, tie, budget, len(ballots))
        u = approval_utilities(ballots, costs)
        # pabutools has no limit on the endowment steps; give govsim's search room enough
        assert ours(equal_shares(costs, u, budget, max_steps=100_000)) == funded(theirs)


def test_a_profile_of_single_ballots_gives_the_same_outcome_as_the_multiprofile() -> None:
    # pabutools' MES on one ballot per voter (no merging of identical ballots), against govsim
    rng = np.random.default_rng(20260603)
    for _ in range(10):
        costs, budget, ballots = vote(rng, every_project_approved=False)
        instance, multi, tie = pabutools_election(costs, ballots, budget)
        projects = sorted(instance, key=lambda p: int(p.name))
        single = ApprovalProfile(
            [ApprovalBallot([projects[j] for j in np.flatnonzero(b)]) for b in ballots],
            instance=instance,
        )
        expected = ours(
            equal_shares(costs, approval_utilities(ballots, costs), budget, completion=False)
        )
        for profile in (single, multi):
            mes = method_of_equal_shares(instance, profile, sat_class=Cost_Sat, tie_breaking=tie)
            assert funded(mes) == expected


def test_the_documented_differences_are_real() -> None:
    # pabutools' greedy funds a project nobody approved when it fits; govsim's never does
    costs = np.array([3000, 1000])
    ballots = np.array([[True, False]] * 4)
    instance, profile, tie = pabutools_election(costs, ballots, 5000)
    theirs = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat, tie_breaking=tie)
    assert funded(theirs) == {0, 1}
    assert ours(greedy_approval(costs, ballots.sum(axis=0), 5000)) == {0}
    # the tie-breaking is govsim's, not pabutools' default (project names): an exact MES tie
    # between two projects of equal cost and support goes to the lower index, and with more
    # approvals winning a tie first
    costs = np.array([2000, 2000])
    ballots = np.array([[True, False], [False, True]])
    instance, profile, tie = pabutools_election(costs, ballots, 2000)
    theirs = method_of_equal_shares(instance, profile, sat_class=Cost_Sat, tie_breaking=tie)
    mask = equal_shares(costs, approval_utilities(ballots, costs), 2000, completion=False)
    assert funded(theirs) == ours(mask) == set()  # neither half of the voters can afford one
    mask = equal_shares(costs, approval_utilities(ballots, costs), 2000)
    theirs = mes_with_completion(instance, profile, tie, 2000, 2)
    assert funded(theirs) == ours(mask) == {0}  # completion: the exact tie to the lower index
