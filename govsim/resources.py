"""Memory bounds: estimate what a run or an experiment design needs, before allocating any of it.

A scenario, or an experiment's design, whose estimated memory is above the bound is refused when it
is validated, with the estimate, the bound and how to raise the bound. The bound is 80% of this
machine's memory (the smaller of the physical memory and a cgroup limit, as in a container or a
SLURM job), or, set deliberately, the environment variable ``GOVSIM_MEMORY_LIMIT_GB`` (in GB of
10^9 bytes), e.g. ``GOVSIM_MEMORY_LIMIT_GB=200 govsim run megacity.yaml`` on a node with more
memory than the machine that checks the file.

The estimates are upper estimates built on measured figures (see README, "Performance"):

- a 1,000,000-citizen year peaks at 1.07 GiB (about 1.1 kB per citizen, cases included), of which
  about 0.2 GB is the interpreter and its libraries;
- the case store holds about 118 bytes a case in columns that double when full (so up to three
  times that while growing); the number of cases is at most the problems that arise, citizens x
  days x the categories' rates (1.6 M for that year, of which 1.07 M were reported; patrols
  discover problems among those, repeat complaints stay within the difference);
- each official is a Mesa agent (one grid worker per grid, plus the community workers and street
  officials), measured at about 0.3 kB each with its unit's arrays; a community or street adds
  about 1 kB of per-unit arrays.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

from govsim.schema import Scenario

MEMORY_LIMIT_ENV = "GOVSIM_MEMORY_LIMIT_GB"
"""Environment variable that sets the memory bound in GB (10^9 bytes), replacing the default."""

MEMORY_SHARE = 0.8
"""Share of the machine's memory a single run or plan may be estimated to use, by default."""

GB = 1e9
BYTES_FIXED = 200e6
"""The interpreter, NumPy, pandas, Mesa and Matplotlib (a 10,000-citizen year peaks at 183 MB)."""
BYTES_PER_CITIZEN = 750
"""A citizen's arrays, network ties and Mesa view, cases excluded (1M citizens: 1.07 GiB in all)."""
BYTES_PER_CASE = 360
"""118 bytes of columns per case, times three for the doubling store while it grows."""
BYTES_PER_OFFICIAL = 400
"""A grid worker, community worker or street official: a Mesa agent (measured about 0.3 kB)."""
BYTES_PER_UNIT = 1000
"""Per-community and per-street arrays (measured about 1 kB per community with its officials)."""
BYTES_PER_GRID_ARRAY = 16
"""Per-grid index arrays (also built in the M/M/c validation mode)."""
BYTES_PER_RUN_ROW = 8
"""One value of the design table; :func:`design_bytes` counts the copies made while planning."""


@dataclass(frozen=True)
class MemoryEstimate:
    """An estimate of peak memory, in bytes, with its parts (for the message).

    Attributes:
        total: The estimated peak in bytes.
        parts: ``(what, bytes)`` pairs that make up ``total`` beyond the fixed cost.
        key: The scenario or experiment key most responsible (where a refusal is located).
    """

    total: float
    parts: tuple[tuple[str, float], ...]
    key: str


def _gb(n: float) -> str:
    return f"{n / GB:,.1f} GB" if n >= 0.05 * GB else f"{n / 1e6:,.0f} MB"


def _machine_memory() -> tuple[float, str]:
    """The memory of this machine in bytes and a description (physical, or a cgroup's limit)."""
    physical = 0.0
    with contextlib.suppress(AttributeError, ValueError, OSError):  # no sysconf on Windows
        physical = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    memory, what = physical, "physical memory"
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < (memory or math.inf):
            memory, what = float(text), "the memory limit of this container"
        break
    if memory <= 0:
        return 8 * GB, "memory (unknown here; 8 GB assumed)"
    return memory, what


def memory_limit() -> tuple[float, str]:
    """The memory bound in bytes, with where it comes from (for messages).

    Raises:
        ValueError: when ``GOVSIM_MEMORY_LIMIT_GB`` is set but is not a positive finite number.
    """
    text = os.environ.get(MEMORY_LIMIT_ENV)
    if text is not None and text.strip():
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{MEMORY_LIMIT_ENV}={text!r}: expected a positive number of GB")
        return value * GB, f"set by {MEMORY_LIMIT_ENV}={text.strip()}"
    memory, what = _machine_memory()
    return MEMORY_SHARE * memory, f"{MEMORY_SHARE:.0%} of this machine's {_gb(memory)} of {what}"


def scenario_memory(s: Scenario) -> MemoryEstimate:
    """Estimate the peak memory of one run of a (validated) scenario, before building anything."""
    c = s.city
    communities = c.districts * c.streets_per_district * c.communities_per_street
    streets = c.districts * c.streets_per_district
    grids = communities * c.grids_per_community
    days = s.days
    if s.queue.enabled:
        cases = s.queue.arrival_rate * days
        parts = (
            ("cases", cases * BYTES_PER_CASE),
            ("city index arrays", grids * BYTES_PER_GRID_ARRAY),
        )
        key = "queue.arrival_rate" if parts[0][1] >= parts[1][1] else "city"
        return MemoryEstimate(BYTES_FIXED + sum(b for _, b in parts), parts, key)
    n = s.population.citizens
    old = s.population.age_shares.get("old", 0.0)
    rate = sum(
        cat.rate * (1.0 + (cat.old_rate_multiplier - 1.0) * old) for cat in s.categories.values()
    )
    o = s.officials
    cases = n * rate * days  # patrols find problems that arose among citizens: no extra cases
    officials = grids + communities * o.community_workers + streets * o.street_officials
    city = officials * BYTES_PER_OFFICIAL + (communities + streets) * BYTES_PER_UNIT
    citizens = n * BYTES_PER_CITIZEN + cases * BYTES_PER_CASE
    parts = (
        (f"{n:,} citizens", n * BYTES_PER_CITIZEN),
        (f"about {cases:,.0f} cases over {days:,} days", cases * BYTES_PER_CASE),
        (f"{communities:,} communities with {officials:,} officials", city),
    )
    key = "population.citizens" if citizens >= city else "city"
    return MemoryEstimate(BYTES_FIXED + citizens + city, parts, key)


def design_bytes(n_points: int, n_runs: int, n_parameters: int, grid: bool) -> MemoryEstimate:
    """Estimate the peak memory of planning a design (before drawing any point).

    Planning holds the unit sample (sampling designs) or the product of the levels as Python tuples
    (grids), the per-point values, the per-run table (four fixed columns and the parameters, copied
    about three times by repeat and concat, then written to Parquet) and each run's seed as a
    Python integer.
    """
    per_point = (100 + 40 * n_parameters) if grid else 3 * 8 * n_parameters
    points = n_points * per_point
    runs = n_runs * ((4 + n_parameters) * BYTES_PER_RUN_ROW * 4 + 40)
    parts = (
        (f"{n_points:,} design points", float(points)),
        (f"{n_runs:,} runs", float(runs)),
    )
    key = "replicates" if runs > points and n_runs > n_points else "design"
    return MemoryEstimate(BYTES_FIXED + points + runs, parts, key)


def over_limit(estimate: MemoryEstimate, what: str) -> str | None:
    """A refusal message when ``estimate`` is above the bound, else None.

    Args:
        estimate: The estimate.
        what: What is estimated, for the message (``a run of this scenario``).

    Returns:
        The message (without location), or None when it fits.

    Raises:
        ValueError: when ``GOVSIM_MEMORY_LIMIT_GB`` is malformed.
    """
    limit, source = memory_limit()
    if estimate.total <= limit:
        return None
    parts = ", ".join(
        f"{label} {_gb(b)}" for label, b in estimate.parts if b >= 0.01 * estimate.total
    )
    need = math.ceil(estimate.total / GB * 1.1)
    return (
        f"{what} needs an estimated {_gb(estimate.total)} of memory ({parts}), more than the bound "
        f"of {_gb(limit)} ({source}); make it smaller, or, on a machine with the memory, raise the "
        f"bound deliberately with the environment variable {MEMORY_LIMIT_ENV}={need}"
    )
