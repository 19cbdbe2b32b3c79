"""More tests of the citizens' pure rules, written against mutants that mutmut found alive
(docs/testing.md): the channel choice's numerical care and its last channel, the app's literacy
threshold itself, and literacy quartiles' tie-breaking."""

from __future__ import annotations

import math

import numpy as np

from govsim.agents.citizen import channel_costs, choose_channels, literacy_quartiles
from govsim.schema import ChannelsSpec, CitizenBehaviourSpec


def test_a_very_sharp_choice_still_picks_the_cheapest_open_channel() -> None:
    """Utilities are shifted by each row's own best before exponentiating: at sharpness 1,000 the
    weights would otherwise all underflow to 0 (and the choice fall on the first channel)."""
    costs = np.array([[2.0, 1.0, np.inf, 3.0], [200.0, 100.0, 300.0, np.inf]])
    for sharpness in (10.0, 1000.0):
        got = choose_channels(costs, sharpness, np.random.default_rng(0))
        assert got.tolist() == [1, 1]


def test_every_open_channel_is_chosen_at_its_logit_share() -> None:
    """Four open channels at equal cost: each is chosen a quarter of the time (40,000 choices;
    4 binomial SE = 0.0087), the last one included."""
    n = 40_000
    got = choose_channels(np.full((n, 4), 0.5), 3.0, np.random.default_rng(1))
    shares = np.bincount(got, minlength=4) / n
    np.testing.assert_allclose(shares, 0.25, atol=4 * math.sqrt(0.25 * 0.75 / n))


def test_literacy_at_the_threshold_opens_the_app() -> None:
    beh = CitizenBehaviourSpec()
    t = beh.app_literacy_threshold
    lit = np.array([np.nextafter(t, 0.0), t])
    c = channel_costs(lit, np.zeros(2, int), beh, ChannelsSpec(), 0.0, np.zeros(2, bool))
    assert np.isinf(c[0, 0]) and np.isfinite(c[1, 0])


def test_literacy_quartiles_break_ties_by_index() -> None:
    """Equal literacy is ranked by citizen index, so quartiles do not depend on the sort."""
    lit = np.random.default_rng(0).permutation(np.repeat([0.2, 0.5, 0.8], [12, 16, 12]))
    rank = np.empty(40, dtype=int)
    rank[sorted(range(40), key=lambda i: (lit[i], i))] = np.arange(40)
    np.testing.assert_array_equal(literacy_quartiles(lit), rank * 4 // 40)
