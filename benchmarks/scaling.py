"""The baseline scenario at a given population, with the city grown to match.

Raising ``population.citizens`` on a city stated in absolute sizes keeps its communities and its
staff, so at 100k citizens every unit gets ten times the cases it can serve and the backlog grows
without bound (a different model regime, not a bigger city). A benchmark of cost against
population must keep the load per unit constant instead, the way a real megacity is a larger
number of similar districts. The packaged baseline states its city by density (``density:``,
ODD §5), so :func:`scaled_baseline` only sets the population, and ``density.min_citizens=1`` so
that cities smaller than the baseline's 10,000 citizens shrink too:

* citizens per community, per street and per grid stay those of the baseline (more districts, and
  more streets per district once the schema's district limit is reached);
* district-level departments get staff in proportion to the citizens per district, city-level
  departments, community workers, street officials and hotline operators in proportion to the
  citizens (staff rounded up).

Every behaviour switch of the baseline is left as it is. (Before the density mechanism this file
scaled the city by hand with the same rule, except that the hotline kept its one operator.)
"""

from __future__ import annotations

import argparse

from govsim.cli import StrictParser
from govsim.config import load_scenario, scenario_from_dict, scenario_to_dict
from govsim.schema import Scenario


def scaled_baseline(citizens: int, *, days: int = 365, seed: int = 1) -> Scenario:
    """The packaged ``baseline`` with ``citizens`` residents and a city scaled to them.

    Args:
        citizens: Population to simulate.
        days: Simulated days.
        seed: The scenario's seed.

    Returns:
        A validated scenario whose load per unit matches the baseline's.
    """
    return load_scenario(
        "baseline",
        [
            f"population.citizens={int(citizens)}",
            "density.min_citizens=1",
            f"days={int(days)}",
            f"seed={int(seed)}",
        ],
    )


def parse_city_args(prog: str, description: str, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``CITIZENS [--days D] [--seed S]`` for the scripts that run a scaled city
    (exit 2 with a message if citizens or days is below 1)."""
    p = StrictParser(prog=prog, description=description)
    p.add_argument("citizens", type=int, help="population, e.g. 1000000")
    p.add_argument("--days", type=int, default=365, help="simulated days (default 365)")
    p.add_argument("--seed", type=int, default=1, help="the scenario's seed (default 1)")
    a = p.parse_args(argv)
    if a.citizens < 1 or a.days < 1:
        p.error("citizens and days must be at least 1")
    return a


def scaled_baseline_file(citizens: int, *, days: int = 365, seed: int = 1) -> str:
    """:func:`scaled_baseline` as an annotated scenario file that ``govsim run`` (or an experiment
    file's ``scenario:``) takes, named ``baseline_<citizens>``."""
    from govsim.describe import annotated_yaml

    data = scenario_to_dict(scaled_baseline(citizens, days=days, seed=seed))
    data["name"] = f"baseline_{citizens}"
    data["description"] = (
        f"The baseline scaled to {citizens:,} citizens with its city (benchmarks/scaling.py)"
    )
    return annotated_yaml(scenario_from_dict(data, source="benchmarks.scaling"))


def main(argv: list[str] | None = None) -> int:
    """Print the scaled baseline as an annotated scenario file (``python -m benchmarks.scaling``)."""
    a = parse_city_args(
        "python -m benchmarks.scaling",
        "Print the baseline scenario with CITIZENS residents and a city scaled to them "
        "(load per unit as in the baseline), as a scenario file for `govsim run`.",
        argv,
    )
    print(scaled_baseline_file(a.citizens, days=a.days, seed=a.seed), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
