"""Design points: grid, LHS, Sobol and Morris shapes and properties, and the marginal maps."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from govsim.experiment.design import build_design, grid, map_unit
from govsim.experiment.spec import DesignSpec, Parameter, ParameterSpec


def uniform(name: str, lo: float = 0.0, hi: float = 1.0, **kw: object) -> Parameter:
    return Parameter(name, ParameterSpec(range=(lo, hi), **kw))


def test_grid_is_full_factorial_first_parameter_slowest() -> None:
    params = [
        Parameter("a", ParameterSpec(levels=[1, 2, 3])),
        Parameter("b", ParameterSpec(range=(0.0, 1.0), steps=2)),
        Parameter("c", ParameterSpec(levels=["x", "y"])),
    ]
    table = grid(params)
    assert len(table) == 3 * 2 * 2
    assert len(table.drop_duplicates()) == len(table)
    assert table["a"].tolist()[:4] == [1, 1, 1, 1]
    assert sorted(set(table["b"])) == [0.0, 1.0]


def test_lhs_puts_exactly_one_point_in_each_stratum() -> None:
    params = [uniform(f"p{i}") for i in range(4)]
    design = build_design(DesignSpec(method="lhs", n=50), params, seed=1)
    assert design.unit is not None and design.unit.shape == (50, 4)
    for j in range(4):
        strata = np.floor(design.unit[:, j] * 50).astype(int)
        assert sorted(strata) == list(range(50))


@pytest.mark.parametrize(("second", "rows"), [(False, 32 * (3 + 2)), (True, 32 * (2 * 3 + 2))])
def test_sobol_sample_sizes(second: bool, rows: int) -> None:
    params = [uniform(f"p{i}") for i in range(3)]
    design = build_design(DesignSpec(method="sobol", n=32, second_order=second), params, seed=1)
    assert design.values.shape == (rows, 3)


def test_morris_trajectories_move_one_parameter_per_step() -> None:
    params = [uniform(f"p{i}") for i in range(5)]
    design = build_design(DesignSpec(method="morris", n=6, levels=4), params, seed=3)
    unit = design.unit
    assert unit is not None and unit.shape == ((5 + 1) * 6, 5)
    for t in range(6):
        traj = unit[t * 6 : (t + 1) * 6]
        changed = (np.abs(np.diff(traj, axis=0)) > 1e-12).sum(axis=1)
        assert changed.tolist() == [1] * 5
        assert np.all(np.isin(np.round(traj * 3, 9), [0, 1, 2, 3]))  # on the 4-level grid


def test_designs_are_reproducible_and_seed_dependent() -> None:
    params = [uniform(f"p{i}") for i in range(3)]
    spec = DesignSpec(method="sobol", n=16)
    a = build_design(spec, params, seed=5).unit
    b = build_design(spec, params, seed=5).unit
    c = build_design(spec, params, seed=6).unit
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_marginal_maps() -> None:
    u = np.array([0.0, 0.25, 0.5, 0.999])[:, None]
    assert map_unit([uniform("a", 2.0, 6.0)], u)["a"].tolist() == pytest.approx(
        [2.0, 3.0, 4.0, 5.996]
    )
    levels = map_unit([Parameter("l", ParameterSpec(levels=[10, 20, 30, 40]))], u)["l"].tolist()
    assert levels == [10, 20, 30, 40]
    rounded = map_unit([Parameter("i", ParameterSpec(range=(1.0, 9.0)), integer=True)], u)["i"]
    assert rounded.dtype.kind == "i" and rounded.tolist() == [1, 3, 5, 9]
    normal = ParameterSpec(distribution="normal", mean=1.0, sd=2.0)
    assert map_unit([Parameter("n", normal)], np.array([[0.5], [stats.norm.cdf(1.0)]]))[
        "n"
    ].tolist() == pytest.approx([1.0, 3.0])
    tn = ParameterSpec(range=(0.0, 1.0), distribution="truncnormal", mean=0.9, sd=1.0)
    vals = map_unit([Parameter("t", tn)], np.linspace(0.001, 0.999, 50)[:, None])["t"]
    assert vals.between(0, 1).all() and vals.is_monotonic_increasing


def test_lhs_of_a_lognormal_matches_its_distribution() -> None:
    # 2000 stratified points: the sample median is within 1% of exp(mean) (stratification makes the
    # empirical quantiles exact to within one stratum, i.e. 1/2000 in probability).
    p = Parameter("ln", ParameterSpec(distribution="lognormal", mean=0.5, sd=0.3))
    values = build_design(DesignSpec(method="lhs", n=2000), [p], seed=2).values["ln"]
    assert (values > 0).all()
    assert np.median(values) == pytest.approx(np.exp(0.5), rel=0.01)
