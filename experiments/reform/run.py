"""Yearly levels of the packaged ``beijing_reform`` city (2017-2022), two seeds.

Prints, per simulated year, the mean of the 30-day windows of real resolution, on-time closure,
reported and true satisfaction, median days to resolution, the units' capability and the closure
gap, as in experiments/reform/README.md::

    python -m experiments.reform.run
"""

from __future__ import annotations

from govsim.config import load_scenario
from govsim.runner import simulate

COLUMNS = [
    "real_resolution_rate",
    "on_time_closure_rate",
    "satisfaction_reported",
    "satisfaction_true",
    "days_to_resolution_median",
    "capability_mean",
    "closure_gap",
]
"""The metrics tabulated, in order."""


def yearly(seed: int) -> str:
    """The table of one seed: each year's mean over its non-overlapping 30-day windows."""
    ts = simulate(load_scenario("beijing_reform"), seed=seed).timeseries
    ts = ts[ts["day"] % 30 == 0]
    ts = ts.assign(year=2017 + (ts["day"] - 1) // 365)
    return ts.groupby("year")[COLUMNS].mean().round(3).to_string()


def main() -> None:
    """Print both seeds' tables."""
    for seed in (1, 2):
        print(f"\nseed {seed}\n\n{yearly(seed)}")


if __name__ == "__main__":
    main()
