"""Tests of govsim.agents.citizen: population, channel costs, voice, channel choice, learning and
word of mouth, each in the documented direction; equity metrics on hand-built populations.

Statistical checks state their tolerance where they are made; sampled frequencies are compared
with the exact logit probabilities within 5 binomial standard errors (false alarm below 1e-6 per
comparison).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from govsim import metrics as M
from govsim.agents.citizen import (
    Citizens,
    build_network,
    build_population,
    channel_costs,
    choose_channels,
    learn_from_outcomes,
    literacy_quartiles,
    voice_probability,
    word_of_mouth,
)
from govsim.cases import APP, HOTLINE
from govsim.model import GovernanceModel
from govsim.schema import AGE_GROUPS, ChannelsSpec, CitizenBehaviourSpec, PopulationSpec, Scenario

BEH = CitizenBehaviourSpec()
CH = ChannelsSpec()


def logit_probs(costs: np.ndarray, sharpness: float) -> np.ndarray:
    """Exact multinomial-logit probabilities of a row of costs (inf = closed)."""
    w = np.where(np.isfinite(costs), np.exp(-sharpness * (costs - np.min(costs))), 0.0)
    return w / w.sum()


# ----------------------------------------------------------------------------- population
@given(n=st.integers(1, 500), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=100, deadline=None)
def test_literacy_quartiles_are_equal_and_ordered(n: int, seed: int) -> None:
    lit = np.random.default_rng(seed).random(n)
    q = literacy_quartiles(lit)
    counts = np.bincount(q, minlength=4)
    assert counts.sum() == n and counts.max() - counts.min() <= 1
    order = np.argsort(lit, kind="stable")
    assert np.all(np.diff(q[order]) >= 0)  # higher literacy, never a lower quartile


def test_population_follows_the_age_and_literacy_specification() -> None:
    """20,000 citizens. Tolerance: 5 standard errors of each sample mean/share."""
    pop = PopulationSpec(citizens=20_000)
    n_grids = 60
    c = build_population(pop, n_grids, np.repeat(np.arange(20), 3), np.random.default_rng(3))
    n = c.n
    for g, name in enumerate(AGE_GROUPS):
        share = pop.age_shares[name]
        got = np.mean(c.age_group == g)
        assert abs(got - share) < 5 * np.sqrt(share * (1 - share) / n)
        spec = pop.literacy[name]
        lit = c.literacy[c.age_group == g]
        sd = np.sqrt(spec.mean * (1 - spec.mean) / (spec.concentration + 1))
        assert abs(lit.mean() - spec.mean) < 5 * sd / np.sqrt(len(lit))
    means = [c.literacy[c.age_group == g].mean() for g in range(3)]
    assert means[0] > means[1] > means[2]
    # schema note (CNNIC 2025): about 80% online overall, about half of the 60+; "online" =
    # literacy above the app threshold. Tolerance: 0.1 around those figures.
    thr = BEH.app_literacy_threshold
    assert abs(np.mean(c.literacy >= thr) - 0.8) < 0.1
    assert abs(np.mean(c.literacy[c.age_group == 2] >= thr) - 0.52) < 0.1
    for arr in (c.literacy, c.trust, c.efficacy):
        assert ((arr >= 0) & (arr <= 1)).all()
    assert abs(c.trust.mean() - pop.trust_mean) < 0.02
    assert np.all(np.diff(c.community) >= 0)  # numbered community by community
    np.testing.assert_array_equal(c.quartile, literacy_quartiles(c.literacy))


def test_network_is_symmetric_local_and_row_normalised() -> None:
    community = np.repeat(np.arange(50), 40)
    a = build_network(community, degree=6, long_share=0.05, rng=np.random.default_rng(4))
    n = len(community)
    assert a.shape == (n, n)
    pattern = (a != 0).astype(int)
    assert (pattern != pattern.T).nnz == 0  # ties are mutual
    assert a.diagonal().sum() == 0  # no self-ties
    rows = np.asarray(a.sum(axis=1)).ravel()
    np.testing.assert_allclose(rows[rows > 0], 1.0)
    deg = np.diff(pattern.tocsr().indptr)
    assert 4.5 < deg.mean() <= 6.0  # 3 drawn + about 3 received, minus duplicates
    r, cidx = pattern.nonzero()
    local = np.mean(community[r] == community[cidx])
    assert 0.9 < local < 0.99  # 5% of the drawn ties rewired citywide
    assert build_network(community, 0, 0.0, np.random.default_rng(0)).nnz == 0


def test_network_stores_what_the_row_normalising_product_gave() -> None:
    """The network is ``diags(1 / degree) @ ties`` stored exactly as SciPy's product stores it
    (each row's ties in descending order): word of mouth sums a row's ties in stored order, so
    the order is part of every run's bits, and a faster construction must keep it."""
    import scipy.sparse as sp

    community = np.repeat(np.arange(30), np.arange(30) + 2)  # communities of differing sizes
    a = build_network(community, degree=8, long_share=0.3, rng=np.random.default_rng(9))
    ties = (a.copy() != 0).astype(float).tocsr()  # (SciPy's comparison sorts its operand in place)
    ties.sort_indices()
    degree = np.diff(ties.indptr)
    product = sp.diags(1.0 / np.maximum(degree, 1)) @ ties
    for got, want in ((a.indptr, product.indptr), (a.indices, product.indices)):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(a.data, product.data)
    assert all((np.diff(a.indices[a.indptr[i] : a.indptr[i + 1]]) < 0).all() for i in range(10))


# ----------------------------------------------------------------------------- channels
def test_channel_costs_follow_the_documented_rules() -> None:
    lit = np.array([0.1, 0.29, 0.31, 0.6, 0.95])
    age = np.array([0, 2, 2, 0, 1])
    helper = np.array([True, False, True, True, True])
    c = channel_costs(lit, age, BEH, CH, 2.0, helper)
    # app: closed below the threshold, (1 - literacy)(1 - usability/2) above it
    assert np.isinf(c[:2, 0]).all()
    np.testing.assert_allclose(c[2:, 0], (1 - lit[2:]) * (1 - 0.5 * CH.app_usability))
    # hotline: base + per-minute cost of the expected wait
    np.testing.assert_allclose(
        c[:, 1], BEH.hotline_base_cost + 2.0 * BEH.hotline_wait_cost_per_minute
    )
    np.testing.assert_allclose(c[:, 2], BEH.offline_cost)
    # assisted: only those who cannot use the app or are 60+, and have a helper within reach
    assert c[0, 3] == BEH.assisted_cost  # cannot use the app, helper
    assert np.isinf(c[1, 3])  # 60+, no helper
    assert c[2, 3] == BEH.assisted_cost  # 60+ with a helper
    assert np.isinf(c[3:, 3]).all()  # can use the app, under 60
    closed = ChannelsSpec(offline=False, assisted=False, hotline=False)
    c2 = channel_costs(lit, age, BEH, closed, 0.0, helper)
    assert np.isinf(c2[:, 1:]).all()
    better_app = channel_costs(lit, age, BEH, ChannelsSpec(app_usability=1.0), 0.0, helper)
    assert (better_app[2:, 0] < c[2:, 0]).all()


def test_more_literacy_means_more_app_use() -> None:
    """App choice probability rises with literacy; sampled shares (20,000 per level) agree with
    the exact logit probabilities within 5 binomial SE."""
    levels = np.linspace(0.32, 0.98, 8)
    rng = np.random.default_rng(5)
    exact, sampled = [], []
    for lit in levels:
        n = 20_000
        c = channel_costs(np.full(n, lit), np.zeros(n, int), BEH, CH, 1.0, np.zeros(n, bool))
        p = logit_probs(c[0], BEH.channel_choice_sharpness)[APP]
        ch = choose_channels(c, BEH.channel_choice_sharpness, rng)
        f = np.mean(ch == APP)
        assert abs(f - p) < 5 * np.sqrt(p * (1 - p) / n)
        exact.append(p)
        sampled.append(f)
    assert np.all(np.diff(exact) > 0)
    assert sampled[-1] - sampled[0] > 0.2


def test_longer_hotline_waits_mean_fewer_hotline_calls() -> None:
    n = 20_000
    lit = np.random.default_rng(6).uniform(0, 1, n)
    age = np.random.default_rng(7).integers(0, 3, n)
    helper = np.ones(n, bool)
    shares, voice = [], []
    for wait in (0.0, 2.0, 5.0, 15.0, 60.0):
        c = channel_costs(lit, age, BEH, CH, wait, helper)
        probs = np.array(
            [logit_probs(row, BEH.channel_choice_sharpness)[HOTLINE] for row in c[:500]]
        )
        shares.append(probs.mean())
        voice.append(
            voice_probability(
                np.full(n, 0.5), np.full(n, 0.5), np.full(n, 0.5), c.min(axis=1), BEH
            ).mean()
        )
    assert np.all(np.diff(shares) < 0)
    assert np.all(np.diff(voice) <= 1e-15)  # a dearer hotline never makes voice more likely


def test_choice_never_picks_a_closed_channel_and_matches_logit() -> None:
    rng = np.random.default_rng(8)
    row = np.array([np.inf, 0.4, 0.55, np.inf])
    n = 40_000
    ch = choose_channels(np.tile(row, (n, 1)), 4.0, rng)
    assert set(np.unique(ch)) <= {1, 2}
    p = logit_probs(row, 4.0)[1]
    assert abs(np.mean(ch == 1) - p) < 5 * np.sqrt(p * (1 - p) / n)


def test_voice_probability_directions() -> None:
    x = np.linspace(0, 1, 11)
    half, zero = np.full(11, 0.5), np.full(11, 0.0)
    assert np.all(np.diff(voice_probability(x, half, half, zero, BEH)) > 0)  # efficacy
    assert np.all(np.diff(voice_probability(half, x, half, zero, BEH)) > 0)  # trust
    assert np.all(np.diff(voice_probability(half, half, x, zero, BEH)) > 0)  # severity
    assert np.all(np.diff(voice_probability(half, half, half, x, BEH)) < 0)  # channel cost
    assert voice_probability(half[:1], half[:1], half[:1], np.array([np.inf]), BEH)[0] == 0.0
    z = (
        BEH.voice_base
        + 0.5 * (BEH.voice_efficacy_weight + BEH.voice_trust_weight + BEH.voice_severity_weight)
        - 0.2 * BEH.voice_cost_weight
    )
    got = voice_probability(half[:1], half[:1], half[:1], np.array([0.2]), BEH)[0]
    assert got == pytest.approx(1 / (1 + np.exp(-z)))


# ----------------------------------------------------------------------------- learning
def _arrays(n: int, neighbours: sp.csr_matrix | None = None, seed: int = 0) -> Citizens:
    rng = np.random.default_rng(seed)
    lit = rng.random(n)
    return Citizens(
        literacy=lit,
        trust=rng.random(n),
        efficacy=rng.random(n),
        age_group=rng.integers(0, 3, n).astype(np.int8),
        community=np.zeros(n, int),
        grid=np.zeros(n, int),
        neighbours=neighbours if neighbours is not None else sp.csr_matrix((n, n)),
        quartile=literacy_quartiles(lit),
    )


def test_unsolved_closures_lower_trust_and_solved_ones_raise_it() -> None:
    c = _arrays(4)
    t0, e0 = c.trust.copy(), c.efficacy.copy()
    who = np.array([0, 1, 2])
    out = np.array([0.0, 1.0, BEH.late_solved_value])
    learn_from_outcomes(c, who, out, BEH)
    np.testing.assert_allclose(c.trust[who], t0[who] + BEH.trust_learning_rate * (out - t0[who]))
    np.testing.assert_allclose(
        c.efficacy[who], e0[who] + BEH.efficacy_learning_rate * (out - e0[who])
    )
    assert c.trust[0] < t0[0] and c.efficacy[0] < e0[0]  # closed unsolved
    assert c.trust[1] > t0[1] and c.efficacy[1] > e0[1]  # solved on time
    assert c.trust[3] == t0[3]  # no case, no change


def test_repeated_experiences_apply_one_after_another() -> None:
    c = _arrays(2)
    t0 = c.trust.copy()
    learn_from_outcomes(c, np.array([0, 0, 1]), np.array([0.0, 0.0, 1.0]), BEH)
    r = BEH.trust_learning_rate
    assert c.trust[0] == pytest.approx(t0[0] * (1 - r) ** 2)
    assert c.trust[1] == pytest.approx(t0[1] + r * (1 - t0[1]))


@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 60), n=st.integers(1, 12))
@settings(max_examples=200, deadline=None)
def test_learning_equals_a_one_by_one_loop_bit_for_bit(seed: int, k: int, n: int) -> None:
    """Repeated citizens (as at a million citizens, where a day's closures nearly always repeat
    someone) learn from each outcome in the order given, exactly as one update at a time."""
    c = _arrays(n, seed=seed)
    rng = np.random.default_rng(seed)
    who, out = rng.integers(0, n, k), rng.random(k)
    trust, eff = c.trust.copy(), c.efficacy.copy()
    for i, o in zip(who.tolist(), out.tolist(), strict=True):
        trust[i] += BEH.trust_learning_rate * (o - trust[i])
        eff[i] += BEH.efficacy_learning_rate * (o - eff[i])
    learn_from_outcomes(c, who, out, BEH)
    assert np.array_equal(c.trust, trust) and np.array_equal(c.efficacy, eff)


@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 40))
@settings(max_examples=100, deadline=None)
def test_learning_keeps_attitudes_in_unit_interval(seed: int, k: int) -> None:
    c = _arrays(10, seed=seed)
    rng = np.random.default_rng(seed)
    learn_from_outcomes(c, rng.integers(0, 10, k), rng.random(k), BEH)
    assert ((c.trust >= 0) & (c.trust <= 1) & (c.efficacy >= 0) & (c.efficacy <= 1)).all()


def _normalised(adj: np.ndarray) -> sp.csr_matrix:
    deg = adj.sum(axis=1)
    return sp.csr_matrix(
        np.divide(adj, deg[:, None], out=np.zeros_like(adj), where=deg[:, None] > 0)
    )


def test_word_of_mouth_moves_toward_neighbours() -> None:
    # path 0-1-2-3, citizen 4 isolated
    adj = np.zeros((5, 5))
    for i in range(3):
        adj[i, i + 1] = adj[i + 1, i] = 1
    c = _arrays(5, _normalised(adj))
    c.trust[:] = [0.0, 0.2, 0.9, 1.0, 0.3]
    nbr_mean = np.array([0.2, 0.45, 0.6, 0.9])
    before = c.trust.copy()
    word_of_mouth(c, 0.1)
    np.testing.assert_allclose(c.trust[:4], before[:4] + 0.1 * (nbr_mean - before[:4]))
    assert c.trust[4] == before[4]  # no neighbours, no word of mouth
    assert np.all(np.abs(c.trust[:4] - nbr_mean) < np.abs(before[:4] - nbr_mean))


def test_word_of_mouth_converges_to_consensus_on_a_connected_network() -> None:
    community = np.repeat(np.arange(5), 40)
    nb = build_network(community, 6, 0.2, np.random.default_rng(9))
    c = _arrays(200, nb, seed=9)
    n_comp, _ = sp.csgraph.connected_components(nb)
    assert n_comp == 1
    s0 = c.trust.std()
    for _ in range(300):
        word_of_mouth(c, 0.2)
    assert c.trust.std() < 0.01 * s0
    assert ((c.trust >= 0) & (c.trust <= 1)).all()


# ----------------------------------------------------------------------------- equity
def _voice_ledger(c: Citizens, ch: ChannelsSpec, seed: int) -> M.Ledger:
    """One day in which every citizen of a hand-built population has one problem."""
    rng = np.random.default_rng(seed)
    n = c.n
    costs = channel_costs(c.literacy, c.age_group, BEH, ch, 1.0, rng.random(n) < 0.5)
    p = voice_probability(c.efficacy, c.trust, np.full(n, 0.5), costs.min(axis=1), BEH)
    voiced = rng.random(n) < p
    L = M.Ledger(1)
    np.add.at(L.problems_q[0], c.quartile, 1)
    np.add.at(L.voiced_q[0], c.quartile[voiced], 1)
    np.add.at(L.problems_g[0], c.age_group, 1)
    np.add.at(L.voiced_g[0], c.age_group[voiced], 1)
    L.problems[0], L.reached[0] = n, voiced.sum()
    return L


def test_equity_voice_gap_on_a_hand_built_population() -> None:
    """4,000 citizens with literacy evenly spread over [0,1), equal attitudes. App only: the
    bottom quartile (literacy < 0.25, below the app threshold) has no channel and is silent; with
    offline intake open it gets a voice and the gap narrows. Tolerance: 0.05 on shares of 1,000."""
    n = 4000
    c = _arrays(n)
    c.literacy = np.arange(n) / n
    c.quartile = literacy_quartiles(c.literacy)
    c.trust[:] = 0.5
    c.efficacy[:] = 0.5
    c.age_group[:] = 0
    app_only = ChannelsSpec(hotline=False, offline=False, assisted=False)
    m1 = M.ledger_metrics(_voice_ledger(c, app_only, 1), 0, 1)
    assert m1["voice_rate_q1"] == 0.0
    assert m1["voice_rate_q4"] > m1["voice_rate_q3"] > m1["voice_rate_q2"] > 0.0
    with_offline = ChannelsSpec(hotline=False, offline=True, assisted=False)
    m2 = M.ledger_metrics(_voice_ledger(c, with_offline, 1), 0, 1)
    assert m2["voice_rate_q1"] > 0.2
    gap1 = m1["voice_rate_q4"] - m1["voice_rate_q1"]
    gap2 = m2["voice_rate_q4"] - m2["voice_rate_q1"]
    assert gap2 < gap1 - 0.05
    # the gap metric is top minus bottom quartile
    full = {
        **m1,
        "real_resolution_q1": 0.0,
        "real_resolution_q4": 0.0,
        "satisfaction_q1": 0.0,
        "satisfaction_q4": 0.0,
    }
    assert M.equity_gaps(full)["equity_gap_voice"] == pytest.approx(gap1)


# ----------------------------------------------------------------------------- in the model
def _model(seed: int, **over) -> GovernanceModel:
    m = GovernanceModel(
        scenario="baseline", rng=seed, overrides={"population.citizens": 3000, "days": 90, **over}
    )
    for _ in range(90):
        m.step()
    return m


def test_in_the_model_app_use_rises_with_literacy_quartile() -> None:
    # every literate citizen an app user: the literacy gradient alone (app holdouts, who call
    # whatever their literacy, flatten it by design; tests/agents/test_citizen_society.py)
    m = _model(10, **{"population.app_nonadopter_share": 0.0})
    st = m.cases
    v = st.view()
    own = np.isin(v.channel, (0, 1, 2, 3)) & (v.repeat_of < 0)
    app = [np.mean(v.channel[own & (v.quartile == q)] == APP) for q in range(4)]
    assert app[0] < app[1] < app[3]
    assert app[3] - app[0] > 0.3


def test_in_the_model_a_slow_hotline_gets_fewer_calls() -> None:
    """One operator answering 4 calls a day against the default call centre (6 x 90), same seed:
    the hotline's share of cases falls by more than a quarter.
    (Most of the fall is callers hanging up: the expected wait citizens weigh is the Erlang-A
    mean wait, which never exceeds the mean patience, 3 min, so the hotline never looks dear.)"""
    calls = {}
    shares = {}
    for name, over in (
        ("fast", {}),
        ("slow", {"channels.hotline_operators": 1, "channels.hotline_calls_per_operator": 4.0}),
    ):
        m = GovernanceModel(
            scenario="baseline", rng=11, overrides={"population.citizens": 3000, "days": 90, **over}
        )
        offered = 0
        for _ in range(90):
            m.step()
            offered += m.hotline.calls
        calls[name], shares[name] = offered, m.summary()["channel_share_hotline"]
    print("hotline calls offered over 90 days:", calls, "case shares:", shares)
    assert shares["slow"] < 0.75 * shares["fast"]


def test_in_the_model_unsolvable_problems_erode_trust() -> None:
    cats = list(Scenario().categories)
    never = {f"categories.{k}.unsolvable_share": 1.0 for k in cats}
    always = {f"categories.{k}.unsolvable_share": 0.0 for k in cats}
    bad, good = _model(12, **never), _model(12, **always)
    assert bad.summary()["trust_mean"] < good.summary()["trust_mean"] - 0.01
    assert bad.summary()["real_resolution_rate"] < 0.65 < good.summary()["real_resolution_rate"]
