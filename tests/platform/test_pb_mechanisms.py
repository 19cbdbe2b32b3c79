"""Mechanism tests of participatory budgeting: Equal Shares counts every ballot, and completed
projects satiate their community's need. Each fails under a mutation listed in docs/testing.md."""

from __future__ import annotations

import numpy as np

from govsim.platform.aggregation import approval_utilities, equal_shares
from govsim.platform.budgeting import ParticipatoryBudgeting
from govsim.schema import BudgetingSpec

YEAR = 365


def test_equal_shares_counts_identical_ballots_separately() -> None:
    """Three voters approve A (cost 3), one approves B (cost 2); budget 4, so 1 each.

    Worked by hand: A's three supporters hold 3 and buy it (1 each); B's one supporter holds 1 and
    never can (after A only 1 is left, B costs 2), so MES funds {A}. Were the three identical ballots
    counted once, A's supporters would hold 1 and the rule would fund {B} instead.
    """
    costs = np.array([3.0, 2.0])
    ballots = np.array([[1, 0], [1, 0], [1, 0], [0, 1]], dtype=bool)
    u = approval_utilities(ballots, costs)
    np.testing.assert_array_equal(equal_shares(costs, u, 4.0, completion=False), [True, False])
    np.testing.assert_array_equal(equal_shares(costs, u, 4.0), [True, False])
    # the order of the ballots does not matter, only how many there are of each
    np.testing.assert_array_equal(equal_shares(costs, u[::-1], 4.0), [True, False])


class _Citizens:
    """The arrays the PB reads and writes (a stand-in for the model's citizens)."""

    def __init__(self, n: int, n_communities: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.literacy = rng.beta(3, 2, n)
        self.trust = rng.uniform(0.2, 0.8, n)
        self.efficacy = rng.uniform(0.2, 0.8, n)
        self.age_group = rng.integers(0, 3, n).astype(np.int8)
        self.community = rng.integers(0, n_communities, n)


def _two_cycles(stock_of: int | None) -> np.ndarray:
    """Completed projects per (community, type) after two yearly cycles; with ``stock_of`` set,
    every community starts with 5 completed projects of that type (and they are subtracted)."""
    spec = BudgetingSpec(
        enabled=True, implementation_days=20, implementation_cv=0.0, budget_per_community=400_000
    )
    pb = ParticipatoryBudgeting(spec, _Citizens(4000, 8, seed=3), 8, np.random.default_rng(9))
    if stock_of is not None:
        pb.stock[:, stock_of] = 5
    for d in range(2 * YEAR):
        pb.step(d)
    built = pb.stock.copy()
    if stock_of is not None:
        built[:, stock_of] -= 5
    return built


def test_completed_projects_satiate_the_need_for_their_type() -> None:
    """A community's need for a type falls as ``1 / (1 + completed projects of the type)``.

    Twins on common random numbers: one where every community already has five projects of the
    type most built in the other. With satiation that type's benefit is divided by six, so it is
    raised, approved and built less; without it the twins are identical, draw for draw.
    """
    fresh = _two_cycles(None)
    favourite = int(fresh.sum(axis=0).argmax())
    assert fresh[:, favourite].sum() >= 4, "the favourite type must be built for the check to bite"
    sated = _two_cycles(favourite)
    assert sated[:, favourite].sum() < fresh[:, favourite].sum() / 2
    assert sated.sum() > 0  # the budget went to other types instead
