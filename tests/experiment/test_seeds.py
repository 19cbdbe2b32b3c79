"""Per-run seeds: the documented SeedSequence derivation, independent of anything but (root, run id)."""

from __future__ import annotations

import numpy as np

from govsim.experiment.seeds import ANALYSIS_STREAM, DESIGN_STREAM, run_seed, stream_seed


def test_run_seed_is_the_documented_derivation() -> None:
    for root, i in [(0, 0), (12345, 7), (2**40, 99_999)]:
        ss = np.random.SeedSequence(root, spawn_key=(i,))
        assert run_seed(root, i) == int(ss.generate_state(1, dtype=np.uint64)[0] >> 1)


def test_run_seeds_are_distinct_non_negative_63_bit_and_order_free() -> None:
    forward = [run_seed(42, i) for i in range(2000)]
    backward = [run_seed(42, i) for i in reversed(range(2000))][::-1]
    assert forward == backward
    assert len(set(forward)) == len(forward)
    assert all(0 <= s < 2**63 for s in forward)
    assert run_seed(43, 0) != run_seed(42, 0)


def test_auxiliary_streams_differ_from_run_seeds() -> None:
    runs = {run_seed(7, i) for i in range(1000)}
    assert stream_seed(7, DESIGN_STREAM) not in runs
    assert stream_seed(7, ANALYSIS_STREAM) not in runs
    assert stream_seed(7, DESIGN_STREAM) != stream_seed(7, ANALYSIS_STREAM)
