"""The metrics' fast median and percentile give NumPy's results bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from govsim.metrics import _median, _percentile


def _arrays(seed: int, count: int):
    rng = np.random.default_rng(seed)
    for trial in range(count):
        n = int(rng.integers(1, 5000)) if trial % 10 == 0 else int(rng.integers(1, 400))
        kind = trial % 5
        if kind == 0:
            a = rng.random(n) * 30
        elif kind == 1:
            a = np.round(rng.exponential(3, n), 2)  # ties
        elif kind == 2:
            a = rng.integers(0, 5, n).astype(float) + rng.random()  # many ties
        elif kind == 3:
            a = rng.lognormal(0, 2, n)
        else:
            a = np.full(n, rng.random())
        if trial % 37 == 0:
            a[rng.integers(0, n)] = np.nan
        if trial % 41 == 0:
            a[rng.integers(0, n)] = np.inf
        yield a


def _same(x: float, y: float) -> bool:
    return x == y or (np.isnan(x) and np.isnan(y))


@pytest.mark.parametrize("seed", [0, 1])
def test_median_and_p90_equal_numpy_exactly(seed: int) -> None:
    for a in _arrays(seed, 3000):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # inf - inf inside NumPy
            want_m, want_p = float(np.median(a)), float(np.percentile(a, 90))
            got_m, got_p = _median(a.copy()), _percentile(a.copy(), 90)
        assert _same(got_m, want_m), (a.size, want_m, got_m)
        assert _same(got_p, want_p), (a.size, want_p, got_p)


@pytest.mark.parametrize("pct", [0, 10, 50, 75, 99.5, 100])
def test_other_percentiles_and_tiny_arrays(pct: float) -> None:
    for a in (np.array([3.0]), np.array([2.0, 1.0]), np.array([5.0, -1.0, 2.5]), np.arange(7.0)):
        assert _percentile(a, pct) == float(np.percentile(a, pct))
        assert _median(a) == float(np.median(a))


def test_inputs_are_left_unchanged() -> None:
    a = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    _median(a)
    _percentile(a, 90)
    assert a.tolist() == [5.0, 1.0, 4.0, 2.0, 3.0]
