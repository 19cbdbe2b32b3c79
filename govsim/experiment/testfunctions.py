"""Test functions with known answers, usable as ``function:`` targets (``params, seed -> outputs``).

- :func:`ishigami`: Ishigami & Homma (1990), with analytic Sobol indices (:func:`ishigami_indices`);
- :func:`sobol_g`: Sobol's G function (Saltelli & Sobol 1995), analytic indices in
  :func:`sobol_g_indices`, optionally with additive seeded noise to exercise replicate averaging;
- :func:`linear`: exact Morris elementary effects;
- :func:`paired_noise`: a linear response plus seed-driven noise, where paired seeds cancel the
  noise exactly in a difference (common random numbers);
- :func:`sleepy`, :func:`fails_above`, :func:`nan_above`, :func:`fails_when_marked`: timing and
  fault injection.

Every random draw comes from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

ISHIGAMI_A = 7.0
ISHIGAMI_B = 0.1
G_A: tuple[float, ...] = (0.0, 1.0, 4.5, 9.0, 99.0, 99.0)
"""The classic coefficients of the G function (x0 most important, x4 and x5 nearly inert)."""


def ishigami(params: dict[str, Any], seed: int) -> dict[str, float]:
    """Ishigami function of ``x1, x2, x3`` in [-pi, pi]; ``a``, ``b`` default to 7 and 0.1."""
    a = float(params.get("a", ISHIGAMI_A))
    b = float(params.get("b", ISHIGAMI_B))
    x1, x2, x3 = (float(params[k]) for k in ("x1", "x2", "x3"))
    y = math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)
    return {"y": y}


def ishigami_indices(a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> dict[str, np.ndarray]:
    """Analytic first-order (S1) and total (ST) Sobol indices of the Ishigami function (x uniform on
    [-pi, pi]): V1 = (1 + b pi^4/5)^2 / 2, V2 = a^2/8, V13 = 8 b^2 pi^8 / 225."""
    pi = math.pi
    v = a * a / 8 + b * pi**4 / 5 + b * b * pi**8 / 18 + 0.5
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a * a / 8
    v13 = 8 * b * b * pi**8 / 225
    return {"S1": np.array([v1, v2, 0.0]) / v, "ST": np.array([v1 + v13, v2, v13]) / v}


def sobol_g(params: dict[str, Any], seed: int) -> dict[str, float]:
    """Sobol's G function of ``x0..x{d-1}`` in [0, 1] (as many as given, up to 6) with coefficients
    ``G_A[:d]``.

    ``noise`` (a constant under ``set:``) adds a seeded normal error with that standard deviation.
    """
    d = sum(1 for i in range(len(G_A)) if f"x{i}" in params)
    x = np.array([float(params[f"x{i}"]) for i in range(d)])
    a = np.asarray(G_A[:d])
    y = float(np.prod((np.abs(4 * x - 2) + a) / (1 + a)))
    noise = float(params.get("noise", 0.0))
    if noise:
        y += float(np.random.default_rng(seed).normal(0.0, noise))
    return {"y": y}


def sobol_g_indices(a: tuple[float, ...] = G_A) -> dict[str, np.ndarray]:
    """Analytic S1 and ST of the G function: V_i = 1 / (3 (1 + a_i)^2), V = prod(1 + V_i) - 1."""
    vi = 1.0 / (3.0 * (1.0 + np.asarray(a)) ** 2)
    total = np.prod(1 + vi)
    v = total - 1
    return {"S1": vi / v, "ST": vi * total / (1 + vi) / v}


def linear(params: dict[str, Any], seed: int) -> dict[str, float]:
    """``y = x1 + 2 x2 + 3 x3``: Morris elementary effects are exactly the coefficients times the
    range widths, with zero spread."""
    return {"y": float(params["x1"]) + 2.0 * float(params["x2"]) + 3.0 * float(params["x3"])}


def paired_noise(params: dict[str, Any], seed: int) -> dict[str, float]:
    """``y = slope * x + noise(seed)`` and ``z = x * noise(seed)``: the noise depends on the seed only."""
    eps = float(np.random.default_rng(seed).normal(0.0, float(params.get("sd", 1.0))))
    x = float(params.get("x", 0.0))
    return {"y": float(params.get("slope", 2.0)) * x + eps, "z": x * eps}


def sleepy(params: dict[str, Any], seed: int) -> dict[str, float]:
    """Sleep ``sleep`` seconds, then return ``y = x`` and a seeded uniform draw ``u``."""
    time.sleep(float(params.get("sleep", 0.0)))
    return {"y": float(params.get("x", 0.0)), "u": float(np.random.default_rng(seed).random())}


def fails_above(params: dict[str, Any], seed: int) -> dict[str, float]:
    """Raise for ``x > threshold`` (default 0.8); else return ``y = x**2``."""
    x = float(params["x"])
    if x > float(params.get("threshold", 0.8)):
        raise ValueError(f"x={x:.3f} is above the threshold")
    return {"y": x * x}


def nan_above(params: dict[str, Any], seed: int) -> dict[str, float]:
    """``y = x`` but NaN for ``x > threshold`` (default 0.8): an output a model could not compute."""
    x = float(params["x"])
    return {"y": math.nan if x > float(params.get("threshold", 0.8)) else x}


FAIL_MARKER_ENV = "GOVSIM_TEST_FAIL_MARKER"


def fails_when_marked(params: dict[str, Any], seed: int) -> dict[str, float]:
    """Raise for ``x > 0.5`` while the file named by ``$GOVSIM_TEST_FAIL_MARKER`` exists (a fault
    that goes away, to test ``--retry-failed``); else return ``y = x + u`` with ``u`` seeded."""
    marker = os.environ.get(FAIL_MARKER_ENV)
    x = float(params["x"])
    if marker and Path(marker).exists() and x > 0.5:
        raise RuntimeError("transient failure (marker file present)")
    return {"y": x + float(np.random.default_rng(seed).random())}
