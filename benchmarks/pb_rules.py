"""Participatory-budgeting rules: govsim's own against pabutools, on a city's communities.

    python -m benchmarks.pb_rules                         # 24 communities x 30 projects x 3,000 voters
    python -m benchmarks.pb_rules --communities 240 --measure 3

A city holds one vote per community each year. This times both implementations of the greedy
approval rule and of the Method of Equal Shares (with and without completion) on generated
Pabulib-style communities: integer costs, a budget of 20-60% of the total cost, approval ballots
drawn from a few voter types (so identical ballots occur, as in real votes) plus independent noise.
It times ``--measure`` communities per rule and scales to ``--communities`` (every community is an
independent vote of the same size, so a city's time is the sum), and checks on each measured
community that both implementations select the same projects (the full cross-check is in
tests/platform/test_pabutools_crosscheck.py).

No file is written; the report goes to standard output.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from govsim.platform.aggregation import (
    approval_utilities,
    equal_shares,
    greedy_approval,
    pabutools_election,
)


def community(
    rng: np.random.Generator, projects: int, voters: int
) -> tuple[NDArray[np.int64], int, NDArray[np.bool_]]:
    """One generated community: costs, budget and approval ballots (voters x projects)."""
    costs = rng.integers(5, 200, projects) * 1000
    budget = int(costs.sum() * rng.uniform(0.2, 0.6))
    types = rng.random((8, projects)) < rng.uniform(0.1, 0.4, (8, 1))
    ballots = types[rng.integers(0, 8, voters)] ^ (rng.random((voters, projects)) < 0.05)
    ballots[rng.integers(0, voters, projects), np.arange(projects)] = True  # every project has one
    return costs, budget, ballots


def _timed(fn: Callable[[], set[int]]) -> tuple[float, set[int]]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def time_community(
    costs: NDArray[np.int64], budget: int, ballots: NDArray[np.bool_]
) -> dict[str, tuple[float, set[int]]]:
    """Seconds and funded projects of each rule and implementation on one community's vote."""
    from pabutools.election import Cost_Sat
    from pabutools.fractions import frac
    from pabutools.rules import (
        completion_by_rule_combination,
        greedy_utilitarian_welfare,
        method_of_equal_shares,
    )

    votes = ballots.sum(axis=0)
    u = approval_utilities(ballots, costs)
    t_build = time.perf_counter()
    instance, profile, tie = pabutools_election(costs, ballots, budget)
    t_build = time.perf_counter() - t_build

    def ours(mask: NDArray[np.bool_]) -> set[int]:
        return set(np.flatnonzero(mask).tolist())

    def theirs(allocation: Iterable[Any]) -> set[int]:
        return {int(p.name) for p in allocation}

    mes = {"sat_class": Cost_Sat, "tie_breaking": tie}
    completion = [
        {**mes, "voter_budget_increment": frac(int(budget), len(ballots) * 100)},
        {"sat_class": Cost_Sat, "tie_breaking": tie},
    ]
    runs: dict[str, Callable[[], set[int]]] = {
        "greedy, govsim": lambda: ours(greedy_approval(costs, votes, budget)),
        "greedy, pabutools": lambda: theirs(greedy_utilitarian_welfare(instance, profile, **mes)),
        "MES, govsim": lambda: ours(equal_shares(costs, u, budget, completion=False)),
        "MES, pabutools": lambda: theirs(method_of_equal_shares(instance, profile, **mes)),
        "MES + completion, govsim": lambda: ours(equal_shares(costs, u, budget)),
        "MES + completion, pabutools": lambda: theirs(
            completion_by_rule_combination(
                instance,
                profile,
                [method_of_equal_shares, greedy_utilitarian_welfare],
                completion,
            )
        ),
    }
    out = {"pabutools: building the election": (t_build, set())}
    out.update({name: _timed(fn) for name, fn in runs.items()})
    return out


def main(argv: list[str] | None = None) -> None:
    """Time both implementations and print seconds per community and per city."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.pb_rules", description=__doc__)
    p.add_argument("--communities", type=int, default=24, help="communities in the city")
    p.add_argument("--projects", type=int, default=30, help="projects on each ballot")
    p.add_argument("--voters", type=int, default=3000, help="voters per community")
    p.add_argument("--measure", type=int, default=3, help="communities actually timed")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    if min(a.communities, a.projects, a.voters, a.measure) < 1:
        p.error("--communities, --projects, --voters and --measure must be at least 1")
    rng = np.random.default_rng(a.seed)
    times: dict[str, list[float]] = {}
    agree = True
    for _ in range(a.measure):
        result = time_community(*community(rng, a.projects, a.voters))
        for name, (t, _chosen) in result.items():
            times.setdefault(name, []).append(t)
        for rule in ("greedy", "MES", "MES + completion"):
            agree &= result[f"{rule}, govsim"][1] == result[f"{rule}, pabutools"][1]
    print(
        f"{a.projects} projects x {a.voters} voters per community; median of {a.measure} "
        f"communities; a city of {a.communities} communities is {a.communities} such votes"
    )
    print(f"{'':34}{'s / community':>15}{'s / city':>12}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:34}{med:>15.4f}{med * a.communities:>12.2f}")
    print("same selected projects on every measured community:", "yes" if agree else "NO")


if __name__ == "__main__":
    main()
