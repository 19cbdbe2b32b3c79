"""Tests of the citizens' neighbourhoods, channel habit and memory (issue 17, items 3-5).

Each mechanism is checked in its documented direction and with its parameter at zero (off), so
that a test fails when the mechanism is switched off or its sign is flipped. Sampled frequencies
are compared with margins of at least 5 binomial standard errors (a false alarm below 1e-6 per
comparison) unless stated otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from govsim import metrics as M
from govsim.agents.citizen import (
    Problems,
    build_population,
    channel_costs,
    channel_preferences,
    choose_channels,
    satisfaction_with_history,
)
from govsim.cases import APP, CLOSED, HOTLINE, OFFLINE, PATROL, CaseStore
from govsim.model import GovernanceModel
from govsim.platform.intake import HotlineDay
from govsim.schema import AGE_GROUPS, ChannelsSpec, CitizenBehaviourSpec, PopulationSpec

BEH = CitizenBehaviourSpec()
QUIET_LINE = HotlineDay(0, 1.0, 0.0, 0.0)
GRID_COMMUNITY = np.repeat(np.arange(40), 3)


def _population(seed: int = 1, **pop):
    spec = PopulationSpec(citizens=20_000, **pop)
    return build_population(spec, len(GRID_COMMUNITY), GRID_COMMUNITY, np.random.default_rng(seed))


def _between_share(x: np.ndarray, community: np.ndarray) -> float:
    """Share of the variance of ``x`` between communities (eta squared)."""
    means = np.bincount(community, weights=x) / np.bincount(community)
    return float(np.var(means[community]) / np.var(x))


# ----------------------------------------------------------------------------- neighbourhoods
def test_spatial_sorting_makes_communities_differ_in_schooling_and_income() -> None:
    # 40 communities of ~500: pure sampling noise puts eta^2 near 39/20000 = 0.002; with rho = 0.5
    # and loading 0.7 the expected between share is 0.5 * 0.49 = 0.25
    random = _population(ses_sorting=0.0)
    sorted_ = _population(ses_sorting=0.5)
    for attr in ("education", "income"):
        low = _between_share(np.log(getattr(random, attr) + 1), random.community)
        high = _between_share(np.log(getattr(sorted_, attr) + 1), sorted_.community)
        assert low < 0.01
        assert high > 0.1
    # the loadings tie schooling and income to the community's SES: at 0 no sorting shows
    unloaded = _population(ses_sorting=0.5, ses_education_loading=0.0, ses_income_loading=0.0)
    assert _between_share(unloaded.education, unloaded.community) < 0.01


def test_schooling_falls_with_age_as_specified() -> None:
    c = _population()
    means = [c.education[c.age_group == g].mean() for g in range(3)]
    spec = PopulationSpec().education_years
    for g, name in enumerate(AGE_GROUPS):
        assert means[g] == pytest.approx(spec[name], abs=0.2)  # SE ~0.04 years


def test_literacy_correlates_with_ses_within_age_groups_and_keeps_its_distribution() -> None:
    off = _population(literacy_ses_correlation=0.0)
    on = _population(literacy_ses_correlation=0.6)
    for g in range(3):
        m = on.age_group == g
        # the same values by age group, only reassigned (the CNNIC calibration is untouched)
        np.testing.assert_array_equal(np.sort(on.literacy[m]), np.sort(off.literacy[m]))
        rho_on = spearmanr(on.literacy[m], on.education[m]).statistic
        rho_off = spearmanr(off.literacy[m], off.education[m]).statistic
        # 0.6 x loading 0.7 = 0.42 expected; |rho| of independent samples of ~5000: SE 0.014
        assert rho_on > 0.25
        assert abs(rho_off) < 0.07


@pytest.mark.parametrize("shift", [0.08, -0.08])
def test_efficacy_and_trust_shift_with_schooling_in_the_given_direction(shift: float) -> None:
    c = _population(efficacy_education_shift=shift, trust_education_shift=shift)
    zero = _population(efficacy_education_shift=0.0, trust_education_shift=0.0)
    for attr in ("efficacy", "trust"):
        r = np.corrcoef(getattr(c, attr), c.education)[0, 1]
        r0 = np.corrcoef(getattr(zero, attr), zero.education)[0, 1]
        assert abs(r0) < 0.05  # SE of r at n = 20000: 0.007
        assert np.sign(r) == np.sign(shift) and abs(r) > 0.2


def _voice_by(model: GovernanceModel, reps: int = 6) -> tuple[Problems, np.ndarray]:
    c = model.citizens
    who = np.tile(np.arange(c.n), reps)
    problems = Problems(who, np.zeros(len(who), np.int64), np.zeros(len(who)))
    c.voice(problems, QUIET_LINE)
    return problems, who


def _model(**over) -> GovernanceModel:
    return GovernanceModel(
        scenario="baseline", overrides={"population.citizens": 10_000, "days": 30, **over}
    )


# everything that ties voice to schooling other than the voice weights themselves, switched off
NO_INDIRECT = {
    "population.literacy_ses_correlation": 0.0,
    "population.efficacy_education_shift": 0.0,
    "population.app_nonadopter_share": 0.0,
}


def _voice_gaps(weight: float) -> list[float]:
    """Voice rate of the top minus the bottom quartile, of schooling and of income."""
    m = _model(
        **NO_INDIRECT,
        **{"citizens.voice_education_weight": weight, "citizens.voice_income_weight": weight},
    )
    problems, who = _voice_by(m)
    c = m.citizens
    gaps = []
    for q in (c.education_quartile, c.income_quartile):
        rate = [problems.voiced[q[who] == k].mean() for k in range(4)]
        gaps.append(rate[3] - rate[0])
    return gaps


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_voice_rises_with_schooling_and_income(sign: float) -> None:
    # the same population either way; without the weights schooling still goes with youth and
    # hence with cheaper channels, so the weights are judged by the change they make. 15,000
    # problems per quartile: SE of a rate <= 0.004, of a difference of gaps <= 0.012
    base = _voice_gaps(0.0)
    for gap, gap0 in zip(_voice_gaps(sign), base, strict=True):
        assert sign * (gap - gap0) > 0.1


def test_sorting_and_voice_make_reporting_differ_between_communities() -> None:
    """Expected complaints per resident by community spread more when SES is sorted."""

    def spread(rho: float) -> float:
        m = _model(**{"population.ses_sorting": rho, "population.citizens": 20_000})
        problems, who = _voice_by(m, reps=4)
        rates = np.bincount(
            m.citizens.community[who], weights=problems.voiced, minlength=m.city.n_communities
        ) / np.bincount(m.citizens.community[who], minlength=m.city.n_communities)
        return float(rates.max() / rates.min())

    # 24 communities of ~830 residents x 4 problems: sampling noise alone gives max/min ~1.1
    assert spread(0.8) > spread(0.0) + 0.1


def test_community_reporting_rates_and_their_spread() -> None:
    groups = M.CitizenGroups(
        community=np.array([0, 0, 1, 1, 1, 2]),
        residents=np.array([2, 3, 1, 0]),
        education_quartile=np.zeros(6, np.int8),
        income_quartile=np.zeros(6, np.int8),
    )
    st = CaseStore()
    n = 6
    st.add(
        t_created=np.arange(n, dtype=float),
        citizen=np.array([0, 1, 2, 5, 5, 3]),
        category=np.zeros(n, np.int16),
        channel=np.array([APP, HOTLINE, OFFLINE, APP, PATROL, APP], np.int8),
        consultation=np.array([False, False, False, False, False, True]),
        deadline=np.full(n, 10.0),
        owner_units=np.ones(n, np.int8),
        quartile=np.zeros(n, np.int8),
        age_group=np.zeros(n, np.int8),
    )
    rates = M.community_reporting_rates(st.view(), groups)
    # community 0: 2 complaints / 2; 1: 1 (offline; the consultation does not count) / 3;
    # 2: 1 (the patrol find does not count) / 1; 3: nobody lives there
    np.testing.assert_allclose(rates[:3], [1.0, 1 / 3, 1.0])
    assert np.isnan(rates[3])
    spread = M.reporting_spread(rates)
    assert spread["reporting_rate_community_max_min"] == pytest.approx(3.0)
    assert spread["reporting_rate_community_p90_p10"] == pytest.approx(1.0 / (1 / 3 + 0.2 * 2 / 3))


# ----------------------------------------------------------------------------- channel habit
def test_habit_keeps_a_satisfying_channel_and_dissatisfaction_switches() -> None:
    beh = CitizenBehaviourSpec(channel_habit_weight=0.3, channel_switch_weight=0.2)
    costs = np.array([[0.2, 0.4, 0.6, np.inf]] * 3)
    last = np.array([HOTLINE, HOTLINE, -1], np.int8)
    sat = np.array([True, False, False])
    out = channel_preferences(costs, last, sat, None, beh)
    np.testing.assert_allclose(out[0], [0.2, 0.1, 0.6, np.inf])
    np.testing.assert_allclose(out[1], [0.2, 0.6, 0.6, np.inf])
    np.testing.assert_array_equal(out[2], costs[2])
    np.testing.assert_array_equal(costs[0], [0.2, 0.4, 0.6, np.inf])  # input untouched
    shares = np.array([[0.0, 0.5, 0.0, 0.0]] * 3)
    wom = channel_preferences(costs, None, None, shares, CitizenBehaviourSpec())
    np.testing.assert_allclose(
        wom[:, 1], 0.4 - CitizenBehaviourSpec().channel_word_of_mouth_weight * 0.5
    )


def test_habit_moves_the_sampled_choice() -> None:
    rng = np.random.default_rng(5)
    n = 40_000
    costs = np.tile([0.2, 0.4, 0.6, np.inf], (n, 1))
    last = np.full(n, HOTLINE, np.int8)

    def hotline_share(beh: CitizenBehaviourSpec, satisfied: bool) -> float:
        c = channel_preferences(costs, last, np.full(n, satisfied), None, beh)
        return float(np.mean(choose_channels(c, beh.channel_choice_sharpness, rng) == HOTLINE))

    off = CitizenBehaviourSpec(channel_habit_weight=0.0, channel_switch_weight=0.0)
    on = CitizenBehaviourSpec(channel_habit_weight=0.3, channel_switch_weight=0.3)
    # n = 40,000: SE of a share <= 0.0025; the logit shifts are about 0.1 of share
    assert hotline_share(on, True) > hotline_share(off, True) + 0.05
    assert hotline_share(on, False) < hotline_share(off, False) - 0.05


def test_neighbour_channel_shares_count_satisfied_neighbours_only() -> None:
    m = _model(**{"population.citizens": 2000})
    c = m.citizens
    c.last_channel[:] = HOTLINE
    c.last_satisfied[:] = np.arange(c.n) % 2 == 0
    who = np.arange(50)
    shares = c.neighbour_channel_shares(who)
    want = c.neighbours[who] @ c.last_satisfied.astype(float)
    np.testing.assert_allclose(shares[:, 1], want)
    assert not shares[:, [0, 2, 3]].any()


def test_literate_app_holdouts_are_offered_no_app_and_call_instead() -> None:
    lit = np.array([0.9, 0.9, 0.1])
    age = np.array([0, 0, 0], np.int8)
    user = np.array([True, False, False])
    costs = channel_costs(lit, age, BEH, ChannelsSpec(), 0.0, np.ones(3, bool), app_user=user)
    assert np.isfinite(costs[0, APP]) and np.isinf(costs[1, APP])
    # a literate holdout is not someone who needs help: the hotline is the default
    assert np.isinf(costs[1, 3]) and np.isfinite(costs[2, 3])


@pytest.mark.parametrize("share", [0.0, 0.9])
def test_holdouts_raise_the_phone_share(share: float) -> None:
    # no habit or word of mouth: the holdouts alone; the voice() choice over every citizen
    m = _model(**{"population.app_nonadopter_share": share})
    problems, _ = _voice_by(m, reps=3)
    ch = problems.channel
    phone = np.mean(ch[(ch == HOTLINE) | (ch == APP)] == HOTLINE)
    if share == 0:
        assert phone < 0.45
    else:
        assert phone > 0.75  # the baseline's 0.5 holdouts give about 0.55 (5 SE ~ 0.01)


def _adoption_after_a_year(p: float, q: float, seed: int = 3) -> tuple[float, float]:
    m = _model(
        **{
            "population.app_nonadopter_share": 0.8,
            "citizens.app_adoption_innovation": p,
            "citizens.app_adoption_imitation": q,
        }
    )
    c = m.citizens
    start = c.app_holdout.mean()
    for day in range(365):
        c.adopt_app(day)
    return float(start), float(c.app_holdout.mean())


def test_app_adoption_spreads_by_innovation_and_imitation() -> None:
    start, none = _adoption_after_a_year(0.0, 0.0)
    assert none == start
    _, innovation = _adoption_after_a_year(0.05, 0.0)
    _, both = _adoption_after_a_year(0.05, 0.5)
    # literate holdouts ~ 0.8 x 0.8 of 10,000: p = 0.05 converts ~5% of them (~320), q = 0.5
    # with ~20% of neighbours using the app ~10% more (~640): far beyond the binomial noise (~25)
    assert innovation < start - 0.015
    assert both < innovation - 0.03
    # imitation alone needs users among one's neighbours: with none, nothing spreads
    m = _model(
        **{
            "population.app_nonadopter_share": 1.0,
            "citizens.app_adoption_innovation": 0.0,
            "citizens.app_adoption_imitation": 2.0,
        }
    )
    for day in range(0, 360, 30):
        m.citizens.adopt_app(day)
    assert m.citizens.app_holdout.all()


# ----------------------------------------------------------------------------- memory
def test_satisfaction_with_history_falls_with_rounds_and_weeks() -> None:
    beh = CitizenBehaviourSpec(repeat_satisfaction_penalty=0.5, repeat_wait_penalty=0.1)
    p = np.full(4, 0.8)
    got = satisfaction_with_history(p, np.array([1, 2, 3, 2]), np.array([0.0, 0.0, 0.0, 4.0]), beh)
    assert got[0] == pytest.approx(0.8)
    assert got[0] > got[1] > got[2]
    assert got[3] < got[1]
    logit = np.log(got / (1 - got))
    assert logit[0] - logit[2] == pytest.approx(1.0)
    off = CitizenBehaviourSpec(repeat_satisfaction_penalty=0.0, repeat_wait_penalty=0.0)
    np.testing.assert_allclose(
        satisfaction_with_history(p, np.array([1, 2, 3, 2]), np.array([0, 0, 0, 4.0]), off), p
    )
    ends = satisfaction_with_history(np.array([0.0, 1.0]), np.array([3, 3]), np.zeros(2), beh)
    np.testing.assert_array_equal(ends, [0.0, 1.0])


def _closed_chain(m: GovernanceModel, rounds: int, n: int) -> np.ndarray:
    """``n`` problems each filed ``rounds`` times (one week apart); the last filings closed
    solved on time. Returns the last filings."""
    st = m.cases
    kw = dict(
        category=np.zeros(n, np.int16),
        channel=np.full(n, HOTLINE, np.int8),
        consultation=np.zeros(n, bool),
        owner_units=np.ones(n, np.int8),
        quartile=np.zeros(n, np.int8),
        age_group=np.zeros(n, np.int8),
    )
    who = np.arange(n) % m.citizens.n
    ids = st.add(t_created=np.zeros(n), citizen=who, deadline=np.full(n, 99.0), **kw)
    for r in range(1, rounds):
        ids = st.add(
            t_created=np.full(n, 7.0 * r),
            citizen=who,
            deadline=np.full(n, 99.0 + 7 * r),
            repeat_of=ids,
            **kw,
        )
    st.solved[ids] = True
    st.t_closed[ids] = 7.0 * rounds
    st.set_states(ids, CLOSED)
    return ids


@pytest.mark.parametrize("on", [True, False])
def test_a_problem_filed_again_and_again_satisfies_less_and_teaches_less(on: bool) -> None:
    over = (
        {}
        if on
        else {
            "citizens.repeat_satisfaction_penalty": 0.0,
            "citizens.repeat_wait_penalty": 0.0,
            "citizens.repeat_trust_discount": 0.0,
        }
    )
    m = _model(**over)
    n = 20_000
    first = _closed_chain(m, 1, n)
    third = _closed_chain(m, 3, n)
    assert (m.cases.times_filed[third] == 3).all() and (m.cases.times_filed[first] == 1).all()
    sat1, out1 = m.citizens.experience(m.cases, first)
    sat3, out3 = m.citizens.experience(m.cases, third)
    np.testing.assert_array_equal(out1, 1.0)
    beh = m.config.citizens
    if on:
        # logit(0.95) - 2*0.5 - 2 weeks*0.1 = 1.74: p = 0.85; SE of each share at n = 20,000 < 0.003
        assert sat3.mean() < sat1.mean() - 0.05
        np.testing.assert_allclose(out3, (1 - beh.repeat_trust_discount) ** 2)
    else:
        assert abs(sat3.mean() - sat1.mean()) < 0.015
        np.testing.assert_array_equal(out3, 1.0)


def test_habit_state_records_the_last_case_and_how_it_went() -> None:
    m = _model()
    ids = _closed_chain(m, 1, 3)
    m.cases.channel[ids] = [APP, OFFLINE, PATROL]
    m.citizens.last_channel[:] = -1
    sat, _ = m.citizens.experience(m.cases, ids)
    assert m.citizens.last_channel[:3].tolist() == [APP, OFFLINE, -1]
    np.testing.assert_array_equal(m.citizens.last_satisfied[:2], sat[:2])


def test_first_and_repeat_satisfaction_metrics() -> None:
    st = CaseStore()
    n = 4
    ids = st.add(
        t_created=np.zeros(n),
        citizen=np.arange(n),
        category=np.zeros(n, np.int16),
        channel=np.array([HOTLINE, HOTLINE, APP, OFFLINE], np.int8),
        consultation=np.zeros(n, bool),
        deadline=np.ones(n),
        owner_units=np.ones(n, np.int8),
        quartile=np.zeros(n, np.int8),
        age_group=np.zeros(n, np.int8),
        repeat_of=np.array([-1, -1, 0, 1]),
    )
    st.rated[ids] = True
    st.true_satisfied[ids] = [True, True, False, True]
    st.reported_satisfied[ids] = [True, True, True, True]
    out = M.channel_memory_metrics(st.view())
    assert out["phone_share"] == pytest.approx(2 / 3)
    assert out["satisfaction_true_first"] == 1.0
    assert out["satisfaction_true_repeat"] == 0.5
    assert out["satisfaction_reported_first"] == 1.0
    assert out["satisfaction_reported_repeat"] == 1.0


def test_every_new_metric_is_reported_by_the_model() -> None:
    m = _model(**{"population.citizens": 3000, "days": 70})
    for _ in range(70):
        m.step()
    s = m.summary()
    new = [k for k in M.METRICS if "education" in k or "income" in k or "community" in k]
    new += ["phone_share", "satisfaction_true_first", "satisfaction_true_repeat"]
    for k in new:
        assert k in s and k in m.metrics
    assert 0 < s["phone_share"] < 1
    assert s["reporting_rate_community_max_min"] >= s["reporting_rate_community_p90_p10"] >= 1
    rates = m.community_reporting_rates()
    assert len(rates) == m.city.n_communities and (rates > 0).all()


def test_schooling_and_income_quartile_metrics_match_a_direct_count() -> None:
    m = _model(**{"population.citizens": 3000, "days": 90})
    for _ in range(90):
        m.step()
    st, c, L = m.cases, m.citizens, m.ledger
    v = st.view()
    out = M.ses_metrics(v, L, 0, 90, m.citizen_groups)
    nc = ~v.consultation
    closed = nc & np.isin(v.state, (CLOSED, 6, 7))  # closed, verified, withdrawn
    solved_problem = nc & (v.repeat_of < 0) & v.problem_solved
    ledger = L.problems_ses[:90].sum(0)  # (schooling q, income q, not consultation, voiced)
    for axis, (group, q_of) in enumerate(
        (("education", c.education_quartile), ("income", c.income_quartile))
    ):
        q = q_of[v.citizen]
        rows = ledger.sum(axis=1 - axis)
        for k in range(4):
            mine = q == k
            problems, voiced, problems_nc = rows[k].sum(), rows[k, :, 1].sum(), rows[k, 1].sum()
            assert out[f"voice_rate_{group}_q{k + 1}"] == voiced / problems
            assert out[f"real_resolution_{group}_q{k + 1}"] == pytest.approx(
                np.count_nonzero(solved_problem & mine) / problems_nc
            )
            assert out[f"satisfaction_{group}_q{k + 1}"] == pytest.approx(
                np.count_nonzero(closed & mine & v.true_satisfied) / np.count_nonzero(closed & mine)
            )
    # the ledger's problems add up to all problems; voiced and non-consultation ones by literacy
    # quartile too (the same problems, grouped otherwise)
    assert ledger.sum() == L.problems[:90].sum()
    assert ledger[..., 1].sum() == L.voiced_q[:90].sum()
    assert ledger[:, :, 1].sum() == L.problems_nc_q[:90].sum()


def test_the_ledger_counts_problems_by_schooling_and_income_quartile() -> None:
    rng = np.random.default_rng(4)
    n = 500
    edu, inc = rng.integers(0, 4, n), rng.integers(0, 4, n)
    voiced, nc = rng.random(n) < 0.6, rng.random(n) < 0.4
    L = M.Ledger(2)
    L.record_problem_groups(1, (4 * edu + inc).astype(np.int8), voiced, nc)
    for e in range(4):
        for i in range(4):
            mine = (edu == e) & (inc == i)
            for a in range(2):
                for b in range(2):
                    want = np.count_nonzero(mine & (nc == a) & (voiced == b))
                    assert L.problems_ses[1, e, i, a, b] == want
    assert not L.problems_ses[0].any()


def test_a_citizens_view_shows_schooling_income_and_app_use() -> None:
    m = _model(**{"population.citizens": 500})
    c, row = m.citizen(17), m.citizens
    assert c.education == row.education[17] and c.income == row.income[17]
    assert c.app_holdout == bool(row.app_holdout[17])
    assert 0.0 <= c.education <= 22.0 and c.income > 0


def test_reporting_spread_uses_numpys_percentiles() -> None:
    rng = np.random.default_rng(11)
    for n in (1, 2, 3, 7, 24, 101):
        rates = rng.gamma(2.0, 0.01, n)
        got = M.reporting_spread(rates)
        p90, p10 = np.percentile(rates, 90), np.percentile(rates, 10)
        assert got["reporting_rate_community_p90_p10"] == p90 / p10
        assert got["reporting_rate_community_max_min"] == rates.max() / rates.min()
