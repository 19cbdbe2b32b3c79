"""Design points: full grids, Latin hypercubes (scipy.stats.qmc), Sobol and Morris samples (SALib).

Sampling designs are drawn in the unit hypercube and mapped to parameter values through each
parameter's inverse CDF (levels take the ``floor(u * k)``-th value). Sobol and Morris indices are
invariant under such one-to-one marginal maps, so the analysis can work on the unit sample, which
is stored with the plan. A grid has no unit sample; it is not analysed for sensitivity.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import qmc

from govsim.experiment.spec import DesignSpec, Parameter, ParameterSpec

EPS = 1e-12
"""Unit coordinates are clipped to [EPS, 1-EPS] before unbounded inverse CDFs."""


@dataclass(frozen=True)
class Design:
    """The design points of an experiment.

    Attributes:
        values: One row per design point, one column per parameter (in parameter order).
        unit: The points in the unit hypercube (n_points x n_parameters), None for grids.
    """

    values: pd.DataFrame
    unit: np.ndarray | None


def salib_problem(parameters: list[Parameter]) -> dict[str, Any]:
    """The SALib problem over the unit hypercube for these parameters."""
    return {
        "num_vars": len(parameters),
        "names": [p.name for p in parameters],
        "bounds": [[0.0, 1.0]] * len(parameters),
    }


def unit_sample(design: DesignSpec, parameters: list[Parameter], seed: int) -> np.ndarray:
    """Draw a sampling design in the unit hypercube.

    Args:
        design: The design spec (method lhs, sobol or morris).
        parameters: The parameters (only their number and names matter here).
        seed: Seed of the design stream (see :data:`govsim.experiment.seeds.DESIGN_STREAM`).

    Returns:
        An array of shape (n_points, n_parameters) with values in [0, 1].
    """
    d = len(parameters)
    assert design.n is not None
    if design.method == "lhs":
        sampler = qmc.LatinHypercube(
            d,
            scramble=design.scramble,
            optimization=design.optimization,
            rng=np.random.default_rng(seed),
        )
        return sampler.random(design.n)
    problem = salib_problem(parameters)
    if design.method == "sobol":
        from SALib.sample import sobol

        with warnings.catch_warnings():
            # SALib warns when N is not a power of two and when N is small relative to skip values;
            # the spec already refuses the former.
            warnings.simplefilter("ignore", UserWarning)
            return sobol.sample(
                problem,
                design.n,
                calc_second_order=design.second_order,
                scramble=design.scramble,
                seed=seed,
            )
    if design.method == "morris":
        from SALib.sample import morris

        return morris.sample(
            problem,
            design.n,
            num_levels=design.levels,
            optimal_trajectories=design.optimal_trajectories,
            local_optimization=True,
            seed=seed,
        )
    raise ValueError(f"no unit sample for a {design.method} design")


def _ppf(p: ParameterSpec, u: np.ndarray) -> np.ndarray:
    d = p.distribution
    if d in ("normal", "lognormal"):
        u = np.clip(u, EPS, 1 - EPS)
    if d == "uniform":
        lo, hi = p.range  # type: ignore[misc]
        return lo + u * (hi - lo)
    if d == "loguniform":
        lo, hi = p.range  # type: ignore[misc]
        return stats.loguniform(lo, hi).ppf(u)
    if d == "triangular":
        lo, hi = p.range  # type: ignore[misc]
        return stats.triang((p.mode - lo) / (hi - lo), loc=lo, scale=hi - lo).ppf(u)
    if d == "truncnormal":
        lo, hi = p.range  # type: ignore[misc]
        a, b = (lo - p.mean) / p.sd, (hi - p.mean) / p.sd
        return stats.truncnorm(a, b, loc=p.mean, scale=p.sd).ppf(u)
    if d == "normal":
        return stats.norm(p.mean, p.sd).ppf(u)
    if d == "lognormal":
        return stats.lognorm(s=p.sd, scale=np.exp(p.mean)).ppf(u)
    raise ValueError(d)


def _column(p: Parameter, u: np.ndarray) -> pd.Series:
    if p.spec.levels is not None:
        k = len(p.spec.levels)
        idx = np.minimum((u * k).astype(np.int64), k - 1)
        return pd.Series([p.spec.levels[i] for i in idx], name=p.name)
    x = _ppf(p.spec, u)
    if p.integer:
        return pd.Series(np.rint(x).astype(np.int64), name=p.name)
    return pd.Series(x.astype(np.float64), name=p.name)


def map_unit(parameters: list[Parameter], unit: np.ndarray) -> pd.DataFrame:
    """Map unit-hypercube points to parameter values, one column per parameter."""
    return pd.concat([_column(p, unit[:, j]) for j, p in enumerate(parameters)], axis=1)


def grid_levels(p: Parameter) -> list[Any]:
    """The values a parameter takes in a grid: its levels, or ``steps`` points spanning its range."""
    if p.spec.levels is not None:
        return list(p.spec.levels)
    lo, hi = p.spec.range  # type: ignore[misc]
    xs = np.linspace(lo, hi, p.spec.steps)  # type: ignore[arg-type]
    return [int(v) for v in np.rint(xs)] if p.integer else [float(v) for v in xs]


def grid(parameters: list[Parameter]) -> pd.DataFrame:
    """The full factorial design: every combination, the first parameter varying slowest."""
    levels = [grid_levels(p) for p in parameters]
    rows = list(itertools.product(*levels))
    return pd.DataFrame(rows, columns=[p.name for p in parameters])


def build_design(design: DesignSpec, parameters: list[Parameter], seed: int) -> Design:
    """Build the design points for an experiment.

    Args:
        design: The design spec.
        parameters: The parameters, in file order.
        seed: Seed of the design stream.

    Returns:
        The design (values and, for sampling designs, the unit sample).
    """
    if design.method == "grid":
        return Design(values=grid(parameters), unit=None)
    unit = unit_sample(design, parameters, seed)
    return Design(values=map_unit(parameters, unit), unit=unit)
