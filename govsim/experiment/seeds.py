"""Per-run seeds derived from the experiment's root seed, independent of how runs are executed."""

from __future__ import annotations

import numpy as np

DESIGN_STREAM: tuple[int, int] = (0x64657369676E, 0)
"""Spawn key of the stream that draws the design itself (LHS and Sobol scrambling, Morris
trajectories). It has two words, so it never equals a run's one-word key ``(i,)``."""

ANALYSIS_STREAM: tuple[int, int] = (0x616E616C7973, 0)
"""Spawn key of the stream used for bootstrap confidence intervals in the analysis."""


def run_seed(root_seed: int, run_id: int) -> int:
    """The seed of run ``run_id``: the first 63 bits drawn from ``SeedSequence(root, spawn_key=(i,))``.

    It depends only on the root seed and the run id, never on the executor, worker, order, retry or
    resume, so any subset of runs can be executed anywhere and give the same results.

    Args:
        root_seed: The experiment's root seed (a non-negative integer).
        run_id: The run's index in the design table (0-based).

    Returns:
        A non-negative integer below 2**63.
    """
    ss = np.random.SeedSequence(root_seed, spawn_key=(run_id,))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def stream_seed(root_seed: int, spawn_key: tuple[int, ...]) -> int:
    """A 63-bit seed for an auxiliary stream (design sampling, bootstrap), see the constants above."""
    ss = np.random.SeedSequence(root_seed, spawn_key=spawn_key)
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
