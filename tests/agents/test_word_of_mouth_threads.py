"""Word of mouth gives the same numbers whether its two products run on one core or two."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from govsim.agents import citizen as C


def _citizens(n: int, seed: int, isolated: int = 0) -> C.Citizens:
    rng = np.random.default_rng(seed)
    community = np.sort(rng.integers(0, max(1, n // 50), n))
    nbrs = C.build_network(community, 6, 0.1, rng)
    if isolated:  # cut every tie of the first citizens
        keep = np.ones(n)
        keep[:isolated] = 0
        nbrs = sp.csr_matrix(sp.diags(keep) @ nbrs @ sp.diags(keep))
    lit = rng.random(n)
    return C.Citizens(
        literacy=lit,
        trust=rng.random(n),
        efficacy=rng.random(n),
        age_group=rng.integers(0, 3, n).astype(np.int8),
        community=community,
        grid=community,
        neighbours=nbrs,
        quartile=C.literacy_quartiles(lit),
    )


@pytest.mark.parametrize("isolated", [0, 7])
def test_two_threads_equal_one(monkeypatch: pytest.MonkeyPatch, isolated: int) -> None:
    one, two = _citizens(3000, 1, isolated), _citizens(3000, 1, isolated)
    monkeypatch.setattr(C, "_usable_cores", lambda: 2)
    for _ in range(5):
        monkeypatch.setattr(C, "PARALLEL_MIN_CITIZENS", 10**9)
        C.word_of_mouth(one, 0.1)
        monkeypatch.setattr(C, "PARALLEL_MIN_CITIZENS", 1)
        C.word_of_mouth(two, 0.1)
    assert np.array_equal(one.trust, two.trust)
    assert np.array_equal(one.efficacy, two.efficacy)
    # and it did something: trust moved toward the neighbours' mean
    assert not np.array_equal(one.trust, _citizens(3000, 1, isolated).trust)


def test_isolated_citizens_keep_their_attitudes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(C, "PARALLEL_MIN_CITIZENS", 1)
    monkeypatch.setattr(C, "_usable_cores", lambda: 2)
    c = _citizens(500, 2, isolated=5)
    before = c.trust[:5].copy()
    C.word_of_mouth(c, 0.3)
    assert np.array_equal(c.trust[:5], before)


def test_an_error_in_the_helper_thread_reaches_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(C, "PARALLEL_MIN_CITIZENS", 1)
    monkeypatch.setattr(C, "_usable_cores", lambda: 2)
    a = sp.csr_matrix(np.eye(3))
    with pytest.raises(ValueError):
        C._neighbour_means(a, np.ones(3), np.ones(4))  # wrong length on the helper's side
