"""Aggregation rules of participatory budgeting: pure functions on plain arrays.

A participatory-budgeting vote gives, for ``m`` proposed projects with costs ``costs`` and a budget
``budget``, one ballot per voter. These functions turn ballots into a funded set (a boolean mask of
length ``m``) and never spend more than the budget. They know nothing about citizens or the model.

Rules:

* :func:`greedy_approval` -- the rule most cities use: go down the projects in order of approval
  votes and fund each one that still fits in the remaining budget (projects that do not fit are
  skipped, the walk goes on). Projects with no votes are never funded.
* :func:`equal_shares` -- the Method of Equal Shares (MES; Peters and Skowron 2020, Peters,
  Pierczyński and Skowron 2021) for additive utilities, with a documented completion rule.
  For approval ballots use :func:`approval_utilities` ("cost utilities": a voter's utility from an
  approved project is its cost), which is the variant used on equalshares.net and in real
  elections: MES then picks, each round, the project with the highest *effective vote count*.
* :func:`best_feasible` -- the benchmark: the set of projects with the largest total value within
  the budget (0/1 knapsack, exact), used for the need-match metric.

Method of Equal Shares (one run, "virtual" per-voter endowment ``e``):
    Every voter ``i`` starts with budget ``b_i = e``. A project ``j`` is *affordable* when its
    supporters (``u_ij > 0``) together hold at least ``cost_j``. For an affordable project let
    ``rho_j`` be the smallest number with ``sum_i min(b_i, rho_j * u_ij) = cost_j`` (supporters pay
    in proportion to utility, capped at what they have left: the cost split "as equally as
    possible"). Fund the project with the smallest ``rho`` (ties: more approving voters, then the
    cheaper project, then the lower index), charge each supporter ``min(b_i, rho * u_ij)``, and
    repeat until no project is affordable. With ``e = budget / n`` it never overspends.

Completion rule (``completion=True``, the default): plain MES often leaves money unspent. Following
the completion recommended on equalshares.net ("add one currency unit per voter until the outcome
is exhaustive or the next one would exceed the budget"), the endowment is raised in steps of
``step`` times the equal share (``e_k = (budget / n) * (1 + k * step)``, ``k = 0, 1, ...,
max_steps``); the last outcome within the real budget is kept, and the search stops early once that
outcome is *exhaustive* (no unfunded project fits in the money left). Whatever money is still left
is then filled greedily, in the order of :func:`greedy_approval`, among projects with at least one
supporter. A relative step (1% of the share by default) replaces the one-unit step so that the
number of MES runs does not depend on the currency.

Voters with identical ballots are interchangeable in MES (they start equal and always pay equal
amounts), so ballots are compressed to unique rows with counts before running it: the cost depends
on the number of distinct ballots (at most ``2**m`` for approval ballots), not on the number of
voters.

Checked against pabutools (the field's kept library, a development dependency): on generated
Pabulib-style votes both select the same projects for greedy approval and MES with and without
the completion, with the tie-breaking above (tests/platform/test_pabutools_crosscheck.py;
:func:`pabutools_election` builds the pabutools election and lists what differs on purpose).
govsim keeps its own implementation at run time because it is faster where it matters
(``python -m benchmarks.pb_rules``, 2-core machine under load, medians of 3 communities; seconds
per community, x24 or x240 for a city, pabutools' time without building its election):

==============================  ==========  ===============
30 projects x 3,000 voters       govsim      pabutools 1.2.3
==============================  ==========  ===============
greedy approval                  0.0002      0.41
MES, no completion               0.094       0.39
MES with completion              1.6         6.8
the same, 24 communities         39 s        162 s
the same, 240 communities        385 s       1,625 s
==============================  ==========  ===============

At the model's own size (6 proposals, about 400 voters per community) the two are alike
(MES with completion 18 ms against 15 ms, plus 1.2 ms to build pabutools' election), so there
is nothing to gain at run time either, and no run-time dependency on pabutools and PuLP.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "approval_utilities",
    "best_feasible",
    "equal_shares",
    "greedy_approval",
    "pabutools_election",
    "total_cost",
]

BRUTE_FORCE_MAX_PROJECTS = 16
"""Up to this many projects :func:`best_feasible` enumerates all subsets; above it, it uses MILP."""

_RHO_RTOL = 1e-9
"""Relative tolerance under which two MES prices ``rho`` count as a tie."""


def total_cost(costs: ArrayLike, selected: ArrayLike) -> float:
    """The correctly rounded total cost of a funded set (``math.fsum``, no accumulation error).

    Args:
        costs: Project costs, shape ``(m,)``.
        selected: Boolean mask of funded projects, shape ``(m,)``.

    Returns:
        The sum of the funded projects' costs.
    """
    c = np.asarray(costs, dtype=float)
    s = np.asarray(selected, dtype=bool)
    return math.fsum(c[s].tolist())


def _check_costs_budget(costs: ArrayLike, budget: float, where: str) -> NDArray[np.float64]:
    c = np.asarray(costs, dtype=float)
    if c.ndim != 1:
        raise ValueError(
            f"{where}: costs must be a 1-D array of project costs (got shape {c.shape})"
        )
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError(f"{where}: costs must be finite and >= 0 (got {c.tolist()})")
    if not math.isfinite(budget) or budget < 0:
        raise ValueError(f"{where}: budget must be finite and >= 0 (got {budget!r})")
    return c


def _greedy_order(costs: NDArray[np.float64], scores: NDArray[np.float64]) -> NDArray[np.intp]:
    """Projects by score descending, then cost ascending, then index ascending."""
    idx = np.arange(costs.size)
    return np.lexsort((idx, costs, -scores))


def _greedy_fill(
    costs: NDArray[np.float64],
    scores: NDArray[np.float64],
    budget: float,
    selected: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """Add projects with a positive score in greedy order while they fit (in place, returned)."""
    chosen = costs[selected].tolist()
    for j in _greedy_order(costs, scores):
        if selected[j] or scores[j] <= 0:
            continue
        if math.fsum([*chosen, costs[j]]) <= budget:
            selected[j] = True
            chosen.append(float(costs[j]))
    return selected


def greedy_approval(costs: ArrayLike, scores: ArrayLike, budget: float) -> NDArray[np.bool_]:
    """Greedy approval: fund projects in order of votes while they fit in the budget.

    Projects are taken in order of ``scores`` (approval counts, or any vote total) from high to
    low; ties go to the cheaper project, then to the lower index. A project that no longer fits in
    the remaining budget is skipped and the walk continues with the next one. Projects with a
    score of zero or less are never funded.

    Args:
        costs: Project costs, shape ``(m,)``, finite and non-negative.
        scores: Vote totals per project, shape ``(m,)``.
        budget: The money available.

    Returns:
        Boolean mask of funded projects; their total cost never exceeds ``budget``.

    Raises:
        ValueError: on shapes that do not match, negative or non-finite costs or budget.
    """
    c = _check_costs_budget(costs, budget, "greedy_approval")
    s = np.asarray(scores, dtype=float)
    if s.shape != c.shape:
        raise ValueError(
            f"greedy_approval: scores must have shape {c.shape} like costs (got {s.shape})"
        )
    if not np.all(np.isfinite(s)):
        raise ValueError("greedy_approval: scores must be finite")
    return _greedy_fill(c, s, float(budget), np.zeros(c.size, dtype=bool))


def approval_utilities(approvals: ArrayLike, costs: ArrayLike) -> NDArray[np.float64]:
    """Cost utilities of approval ballots: ``u_ij = cost_j`` if voter ``i`` approves ``j``, else 0.

    With these utilities MES picks, each round, the project with the highest effective vote count
    (``cost_j / max payment``), the approval variant used on equalshares.net.

    Args:
        approvals: Boolean matrix, shape ``(n_voters, m)``.
        costs: Project costs, shape ``(m,)``.

    Returns:
        Float matrix of utilities, shape ``(n_voters, m)``.
    """
    a = np.asarray(approvals, dtype=bool)
    c = np.asarray(costs, dtype=float)
    if a.ndim != 2 or a.shape[1] != c.size:
        raise ValueError(
            f"approval_utilities: approvals must have shape (n_voters, {c.size}) (got {a.shape})"
        )
    return a * c[None, :]


def _mes_price(
    cost: float, b: NDArray[np.float64], u: NDArray[np.float64], w: NDArray[np.float64]
) -> float:
    """Smallest ``rho`` with ``sum_i w_i * min(b_i, rho * u_i) = cost`` (supporters only, u > 0).

    The caller guarantees affordability (``sum w * b >= cost``).
    """
    if cost <= 0:
        return 0.0
    with np.errstate(over="ignore", divide="ignore"):  # only with subnormal inputs; inf is right
        ratio = b / u
        order = np.argsort(ratio, kind="stable")
        r = ratio[order]
        wb = (w * b)[order]
        wu = (w * u)[order]
        paid_before = np.concatenate(([0.0], np.cumsum(wb)[:-1]))
        util_from = np.cumsum(wu[::-1])[::-1]
        rho = (cost - paid_before) / util_from
    ok = rho <= r * (1 + 1e-12)
    k = int(np.argmax(ok)) if ok.any() else r.size - 1
    return float(max(rho[k], 0.0))


def _better(key: tuple[float, float, float, int], best: tuple[float, float, float, int]) -> bool:
    """MES order: smaller rho; within a relative tie, more votes, then cheaper, then lower index."""
    if abs(key[0] - best[0]) > _RHO_RTOL * max(key[0], best[0]):
        return key[0] < best[0]
    return key[1:] < best[1:]


def _mes_run(
    costs: NDArray[np.float64],
    u: NDArray[np.float64],
    w: NDArray[np.float64],
    endowment: float,
    votes: NDArray[np.float64],
) -> NDArray[np.bool_]:
    """One run of MES with every voter (row of ``u``, weight ``w``) starting at ``endowment``."""
    m = costs.size
    b = np.full(w.size, endowment, dtype=float)
    supp = u > 0
    selected = np.zeros(m, dtype=bool)
    live = supp.any(axis=0)
    no_key = (math.inf, 0.0, 0.0, -1)
    while True:
        best_key = no_key
        for j in np.flatnonzero(live & ~selected):
            s = supp[:, j]
            held = math.fsum((w[s] * b[s]).tolist())
            if held < costs[j]:
                live[j] = False  # budgets only shrink: never affordable again in this run
                continue
            rho = _mes_price(float(costs[j]), b[s], u[s, j], w[s])
            key = (rho, -float(votes[j]), float(costs[j]), int(j))
            if best_key is no_key or _better(key, best_key):
                best_key = key
        rho_best, best_j = best_key[0], best_key[3]
        if best_j < 0:
            return selected
        s = supp[:, best_j]
        pay = np.minimum(b[s], rho_best * u[s, best_j])
        b[s] = np.maximum(b[s] - pay, 0.0)
        selected[best_j] = True


def _is_exhaustive(costs: NDArray[np.float64], selected: NDArray[np.bool_], budget: float) -> bool:
    left = budget - total_cost(costs, selected)
    return not bool(np.any(~selected & (costs <= left)))


def equal_shares(
    costs: ArrayLike,
    utilities: ArrayLike,
    budget: float,
    *,
    completion: bool = True,
    step: float = 0.01,
    max_steps: int = 300,
) -> NDArray[np.bool_]:
    """The Method of Equal Shares with the module's completion rule.

    Args:
        costs: Project costs, shape ``(m,)``, finite and non-negative.
        utilities: Voters' utilities, shape ``(n_voters, m)``, finite and non-negative (0 means
            "does not support"). For approval ballots pass :func:`approval_utilities`.
        budget: The real budget.
        completion: Apply the completion rule (raise the endowment step by step, then fill
            greedily); with ``False`` the plain MES outcome at endowment ``budget / n``.
        step: Endowment increment as a share of the equal share ``budget / n``.
        max_steps: Most increments tried.

    Returns:
        Boolean mask of funded projects; their total cost never exceeds ``budget``.

    Raises:
        ValueError: on shapes that do not match or invalid numbers.
    """
    c = _check_costs_budget(costs, budget, "equal_shares")
    u_full = np.asarray(utilities, dtype=float)
    if u_full.ndim != 2 or u_full.shape[1] != c.size:
        raise ValueError(
            f"equal_shares: utilities must have shape (n_voters, {c.size}) (got {u_full.shape})"
        )
    if not np.all(np.isfinite(u_full)) or np.any(u_full < 0):
        raise ValueError("equal_shares: utilities must be finite and >= 0")
    if not step > 0 or max_steps < 0:
        raise ValueError(
            f"equal_shares: need step > 0 and max_steps >= 0 (got {step}, {max_steps})"
        )
    budget = float(budget)
    n = u_full.shape[0]
    if n == 0 or c.size == 0:
        return np.zeros(c.size, dtype=bool)
    rows, counts = np.unique(u_full, axis=0, return_counts=True)
    w = counts.astype(float)
    votes = (w[:, None] * (rows > 0)).sum(axis=0)
    share = budget / n
    outcome = _mes_run(c, rows, w, share, votes)
    # Guard against rounding: in exact arithmetic MES at the equal share never overspends.
    while total_cost(c, outcome) > budget:
        outcome[np.flatnonzero(outcome)[-1]] = False
    if not completion:
        return outcome
    k = 1
    while k <= max_steps and not _is_exhaustive(c, outcome, budget):
        nxt = _mes_run(c, rows, w, share * (1.0 + k * step), votes)
        if total_cost(c, nxt) > budget:
            break
        outcome = nxt
        k += 1
    return _greedy_fill(c, votes, budget, outcome)


@functools.lru_cache(maxsize=BRUTE_FORCE_MAX_PROJECTS + 1)
def _all_subsets(m: int) -> NDArray[np.bool_]:
    """Every subset of ``m`` projects as rows of a read-only boolean matrix, shape ``(2**m, m)``."""
    masks = np.array(list(itertools.product((False, True), repeat=m)), dtype=bool)
    masks.flags.writeable = False
    return masks


def best_feasible(
    costs: ArrayLike, values: ArrayLike, budget: float
) -> tuple[NDArray[np.bool_], float]:
    """The funded set with the largest total value within the budget (exact 0/1 knapsack).

    Enumerates all subsets for up to :data:`BRUTE_FORCE_MAX_PROJECTS` projects, otherwise solves
    the knapsack as an integer program with :func:`scipy.optimize.milp`.

    Args:
        costs: Project costs, shape ``(m,)``.
        values: Project values (total true benefit), shape ``(m,)``, non-negative.
        budget: The money available.

    Returns:
        The best mask and its total value (0.0 and the empty set if nothing fits).
    """
    c = _check_costs_budget(costs, budget, "best_feasible")
    v = np.asarray(values, dtype=float)
    if v.shape != c.shape or not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"best_feasible: values must be finite, >= 0, shape {c.shape}")
    m = c.size
    if m == 0:
        return np.zeros(0, dtype=bool), 0.0
    if m <= BRUTE_FORCE_MAX_PROJECTS:
        masks = _all_subsets(m)
        cost_tot = masks @ c
        val_tot = masks @ v
        val_tot[cost_tot > budget * (1 + 1e-12)] = -1.0
        best = int(np.argmax(val_tot))
        mask = masks[best].copy()
        while total_cost(c, mask) > budget:  # the 1e-12 slack above can only matter at rounding
            mask[np.flatnonzero(mask)[np.argmin(v[mask])]] = False
        return mask, float(v[mask].sum())
    from scipy.optimize import Bounds, LinearConstraint, milp

    res = milp(
        -v,
        constraints=LinearConstraint(c[None, :], -np.inf, budget),
        integrality=np.ones(m),
        bounds=Bounds(0, 1),
    )
    if res.x is None:
        return np.zeros(m, dtype=bool), 0.0
    mask = np.round(res.x).astype(bool)
    return mask, float(v[mask].sum())


def pabutools_election(
    costs: ArrayLike, approvals: ArrayLike, budget: float
) -> tuple[Any, Any, Any]:
    """The same vote as a `pabutools <https://comsoc-community.github.io/pabutools/>`_ election,
    for checking these rules against it (pabutools is a development dependency, imported here).

    Projects are named by their index (``"0"``, ``"1"``, ...); identical ballots are merged into
    one ballot with a multiplicity (an ``ApprovalMultiProfile``, which pabutools' MES handles
    voter group by voter group, as :func:`equal_shares` does). The tie-breaking rule is this
    module's: more approvals, then the cheaper project, then the lower index.

    With it, pabutools gives the same funded set as this module (tests/platform/
    test_pabutools_crosscheck.py) for ``greedy_utilitarian_welfare(..., sat_class=Cost_Sat)``
    against :func:`greedy_approval` on approval counts (funding projects in order of approvals
    per cost unit times cost, i.e. approvals), and ``method_of_equal_shares(...,
    sat_class=Cost_Sat)`` against ``equal_shares(..., completion=False)`` on
    :func:`approval_utilities`. Differences, on purpose:

    * pabutools' greedy funds projects nobody approved when money is left; :func:`greedy_approval`
      never does (compare on approved projects only);
    * pabutools computes in exact fractions, this module in floats: a tie in MES prices within a
      relative 1e-9 counts as a tie here (never seen to matter on integer costs);
    * the completion: :func:`equal_shares` raises every voter's endowment by 1% of the equal
      share per step (at most ``max_steps`` steps), keeps the last outcome within the budget, and
      fills the rest greedily; pabutools does the same with ``voter_budget_increment`` set to
      that 1% and ``completion_by_rule_combination`` with its greedy rule, except that it stops
      raising once no *approved* project fits in the money left, where this module stops once
      no project at all fits (the two agree when every project has a supporter) and has no step
      limit.

    Args:
        costs: Project costs, shape ``(m,)`` (pabutools wants them exact: integers or floats
            with exact values).
        approvals: Boolean matrix, shape ``(n_voters, m)``.
        budget: The budget.

    Returns:
        ``(instance, profile, tie_breaking)`` for pabutools' rules.
    """
    from pabutools.election import (
        ApprovalMultiProfile,
        FrozenApprovalBallot,
        Instance,
        Project,
    )
    from pabutools.tiebreaking import TieBreakingRule

    c = _check_costs_budget(costs, budget, "pabutools_election")
    a = np.asarray(approvals, dtype=bool)
    if a.ndim != 2 or a.shape[1] != c.size:
        raise ValueError(
            f"pabutools_election: approvals must have shape (n_voters, {c.size}) (got {a.shape})"
        )

    def exact(x: float) -> int | float:
        return int(x) if float(x).is_integer() else float(x)

    projects = [Project(str(j), exact(cost)) for j, cost in enumerate(c.tolist())]
    instance = Instance(projects, budget_limit=exact(budget))
    profile = ApprovalMultiProfile(instance=instance)
    rows, counts = np.unique(a, axis=0, return_counts=True)
    for row, count in zip(rows, counts.tolist(), strict=True):
        ballot = FrozenApprovalBallot([projects[j] for j in np.flatnonzero(row)])
        profile[ballot] = profile.get(ballot, 0) + count
    votes = a.sum(axis=0)
    tie = TieBreakingRule(
        lambda _instance, _profile, p: (-int(votes[int(p.name)]), p.cost, int(p.name))
    )
    return instance, profile, tie
