"""Citizens (市民): problems, voice or silence, channel choice, learning, repeat complaints, word of mouth.

Citizen state lives in NumPy arrays, one element per citizen (:class:`Citizens`: the set is the
table, and its methods are the citizens' submodels, vectorised over everyone concerned that day).
A single citizen's view, :class:`Citizen`, is made on request (``model.citizen(i)``). In the order
of the day:

* **Problems** (:meth:`Citizens.meet_problems`): each age group meets ``Poisson(rate x members)``
  problems of each category (the old at ``old_rate_multiplier`` times the rate), spread uniformly
  over its members and over the day.
* **Neighbourhoods** (:func:`build_population`): schooling and income load on a latent
  socioeconomic status (SES) shared in part by the community (``ses_sorting``, the share of its
  variance between communities), and digital literacy is rank-correlated with it within each
  age group; efficacy (and optionally trust) shift with schooling.
* **Channel costs**: app ``(1 - literacy)(1 - usability/2)``, open only above the literacy threshold
  and to app users (the literate who have not adopted the app default to the hotline);
  hotline ``base + wait_cost * expected_wait + abandon_cost * P(abandon)`` (yesterday's Erlang-A
  figures: with impatient callers the mean wait stays below their patience, so a congested line
  deters mostly through the calls that fail); offline a constant, only where offline channels exist;
  assisted a constant, only for citizens who cannot use the app (or are 60+) and have a helper
  within reach that day (grid workers and party volunteers: ``assisted_reach (1 - exp(-helpers/5))``).
* **Voice or silence** (Hirschman, :meth:`Citizens.voice`): ``P(voice) = logistic(b0 +
  b_e*efficacy + b_t*trust + b_s*severity - b_c*min_cost + b_edu*schooling + b_inc*income)``
  (schooling and log income standardised); no open channel means silence.
* **Channel choice**: multinomial logit over open channels with utility ``-sharpness * cost``,
  the cost lowered for the channel of one's last case if it satisfied (habit), raised if it did not
  (switching), and lowered by the share of network neighbours whose last case by that channel
  satisfied them (word of mouth about channels; :func:`channel_preferences`).
* **Hanging up** (:meth:`Citizens.hang_up`): a caller gives up with the day's Erlang-A abandonment
  probability and falls silent.
* **Experience** (:meth:`Citizens.experience`): when a case closes, the citizen is truly satisfied
  with probability ``satisfied_if_solved`` (solved on time), ``satisfied_if_late`` or
  ``satisfied_if_unsolved``; for a repeat complaint its log-odds fall with the earlier failed
  rounds and the weeks since the problem was first filed (memory, :func:`satisfaction_with_history`),
  and its outcome value for learning is discounted per earlier round.
* **Learning** (:meth:`Citizens.learn`): ``trust += lr_t (o - trust)`` and ``efficacy += lr_e (o -
  efficacy)`` with outcome ``o`` = 1 solved on time, ``late_solved_value`` if solved late, 0 if the
  case was closed unsolved or withdrawn; being pressed for a rating or to withdraw costs
  ``pressure_trust_cost`` of trust besides.
* **Repeat complaints** (:meth:`Citizens.decide_to_refile`): a problem closed unsolved is filed again
  with probability ``refile_propensity * efficacy``, ``1 + Exp(2)`` days after the closure.
* **Word of mouth** (:meth:`Citizens.spread_word`): each day trust and efficacy move a share
  ``word_of_mouth`` toward the mean of the citizen's network neighbours (a seeded sparse graph:
  neighbours in the same community plus a share of long ties across the city).
* **Digital literacy training** (:meth:`Citizens.train_literacy`): literacy grows toward 1 at
  ``literacy_training_rate`` a year.
* **App adoption** (:meth:`Citizens.adopt_app`): every 30 days, literate non-users of the app adopt it
  with the Bass hazard ``p + q * (share of network neighbours who use it)`` a year.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from govsim.cases import HOTLINE, PATROL, WITHDRAWN, CaseStore
from govsim.categories import Categories
from govsim.compiled import kernel, use_kernels
from govsim.platform.intake import Contacts, HotlineDay
from govsim.schema import AGE_GROUPS, ChannelsSpec, CitizenBehaviourSpec, PopulationSpec, Scenario

N_CHOICE_CHANNELS = 4
"""Channels a citizen chooses among: app, hotline, offline, assisted (codes as in govsim.cases)."""


OLD = AGE_GROUPS.index("old")
"""Age-group code of citizens aged 60 and over."""
REFILE_DELAY_MEAN = 2.0
"""Mean days, beyond one, from an unsolved closure to the repeat complaint (exponential). Assumption."""
INCOME_LOG_SD = 0.85
"""Standard deviation of log income (income relative to the city's median). Only the scale of the
stored attribute: behaviour reads income standardised. Assumption: a lognormal with China's
income Gini of about 0.47 (NBS) has sigma 0.85."""
ADOPTION_STEP_DAYS = 30
"""App adoption is updated every 30 days (the Bass hazard over the 30 days): diffusion takes
years, and a daily sparse product over all citizens would cost more than the rest of their day."""
HELPERS_HALF_REACH = 5.0
"""Helpers per community (grid workers and volunteers) at which assisted reporting reaches
``1 - 1/e`` of its maximum. Assumption."""


@dataclass
class Problems:
    """Today's problems: one entry per problem, with the citizens' decisions once made.

    Attributes:
        citizen: Who has it.
        category: Its category code.
        t: When it arose (days).
        voiced: Whether the citizen voiced it (set by :meth:`Citizens.voice`).
        channel: The chosen channel's code, -1 while silent (:data:`govsim.cases.CHANNELS`).
        reached: Whether it reached the platform (voiced, or found by a patrol).
    """

    citizen: np.ndarray
    category: np.ndarray
    t: np.ndarray
    voiced: np.ndarray = field(init=False)
    channel: np.ndarray = field(init=False)
    reached: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.citizen)
        self.voiced = np.zeros(n, dtype=bool)
        self.channel = np.full(n, -1, dtype=np.int8)
        self.reached = np.zeros(n, dtype=bool)

    def __len__(self) -> int:
        return len(self.citizen)

    def contacts(self) -> Contacts:
        """The problems that reached the platform, as first complaints."""
        keep = self.reached
        return Contacts(
            self.citizen[keep],
            self.category[keep],
            self.t[keep],
            self.channel[keep],
            np.full(int(keep.sum()), -1, np.int64),
        )


NO_CONTACTS = Contacts(
    np.zeros(0, np.int64),
    np.zeros(0, np.int64),
    np.zeros(0),
    np.zeros(0, np.int8),
    np.zeros(0, np.int64),
)


@dataclass(eq=False)
class Citizens:
    """Every citizen, one array element each: their state, and their behaviour as methods.

    Attributes:
        literacy: Digital literacy in [0,1].
        trust: Trust in government in [0,1].
        efficacy: Political efficacy in [0,1].
        age_group: 0 young (18-39), 1 middle (40-59), 2 old (60+).
        community: Index of the home community.
        grid: Index of the home grid.
        neighbours: Row-normalised sparse adjacency of the word-of-mouth network.
        quartile: Literacy quartile (0 lowest .. 3 highest), refreshed when literacy changes.
        education: Years of schooling (fixed).
        income: Income relative to the city's median (fixed).
        app_holdout: Does not use the app (yet), whatever the literacy; adopts it over time.
        last_channel: Channel (code 0-3) of the citizen's last closed case, -1 before any.
        last_satisfied: Whether that case left the citizen truly satisfied.
        education_z, income_z: Schooling and log income standardised over the population.
        education_quartile, income_quartile: Quartiles (0 lowest .. 3) of schooling and income.
        config: The scenario whose behavioural parameters the methods use (``None`` for a bare
            population: the state alone, as :func:`build_population` makes it).
        categories: The problem categories.
        rng: The citizens' random stream.
    """

    literacy: np.ndarray
    trust: np.ndarray
    efficacy: np.ndarray
    age_group: np.ndarray
    community: np.ndarray
    grid: np.ndarray
    neighbours: sp.csr_matrix
    quartile: np.ndarray
    config: Scenario | None = None
    categories: Categories | None = None
    rng: np.random.Generator | None = None
    education: np.ndarray | None = None
    income: np.ndarray | None = None
    app_holdout: np.ndarray | None = None
    last_channel: np.ndarray = field(init=False, repr=False)
    last_satisfied: np.ndarray = field(init=False, repr=False)
    education_z: np.ndarray = field(init=False, repr=False)
    income_z: np.ndarray = field(init=False, repr=False)
    education_quartile: np.ndarray = field(init=False, repr=False)
    income_quartile: np.ndarray = field(init=False, repr=False)
    _refiles: dict[int, list[tuple[float, int]]] = field(default_factory=dict, repr=False)
    _ses_term: tuple[tuple[float, float], np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n = len(self.literacy)
        if self.education is None:
            self.education = np.zeros(n)
        if self.income is None:
            self.income = np.ones(n)
        if self.app_holdout is None:
            self.app_holdout = np.zeros(n, dtype=bool)
        self.last_channel = np.full(n, -1, dtype=np.int8)
        self.last_satisfied = np.zeros(n, dtype=bool)
        self.education_z = standardised(self.education)
        self.income_z = standardised(np.log(self.income))
        self.education_quartile = literacy_quartiles(self.education)
        self.income_quartile = literacy_quartiles(self.income)

    @classmethod
    def populate(
        cls,
        scenario: Scenario,
        categories: Categories,
        grid_community: np.ndarray,
        rng_population: np.random.Generator,
        rng: np.random.Generator,
    ) -> Citizens:
        """Draw the city's citizens (:func:`build_population`) and give them their behaviour.

        Args:
            scenario: The validated scenario.
            categories: The problem categories.
            grid_community: Community of each grid.
            rng_population: The stream the population is drawn from.
            rng: The citizens' stream for their daily decisions.
        """
        c = build_population(
            scenario.population, len(grid_community), grid_community, rng_population
        )
        c.config, c.categories, c.rng = scenario, categories, rng
        return c

    @property
    def n(self) -> int:
        """Number of citizens."""
        return len(self.literacy)

    def refresh_quartiles(self) -> None:
        """Recompute literacy quartiles from current literacy (ties broken by index)."""
        self.quartile = literacy_quartiles(self.literacy)

    @cached_property
    def everyone_has_neighbours(self) -> bool:
        """Whether every citizen has at least one network neighbour (the network never changes)."""
        return bool(self.n == 0 or np.diff(self.neighbours.indptr).min() > 0)

    @cached_property
    def ses_code(self) -> np.ndarray:
        """``4 * schooling quartile + income quartile`` of each citizen (fixed; recorded with
        each case for the socioeconomic metrics)."""
        return (self.education_quartile * 4 + self.income_quartile).astype(np.int8)

    @cached_property
    def network_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The network for the kernels: CSR rows and columns (unsigned) and each row's weight.

        Unsigned indices spare compiled code the check for negative (from-the-end) indices, and
        one weight per row (the network is row-normalised: every tie of a citizen weighs
        1/degree) spares it a read per tie; together the product runs about twice as fast. The
        network never changes.

        Raises:
            ValueError: if a row's ties weigh differently (not a row-normalised network).
        """
        a = self.neighbours
        index = np.uint32 if max(a.nnz, self.n) < 2**32 else np.uint64
        counts = np.diff(a.indptr)
        row_weight = np.zeros(self.n)
        has = counts > 0
        row_weight[has] = a.data[a.indptr[:-1][has]]
        if not np.array_equal(a.data, np.repeat(row_weight, counts)):
            raise ValueError("word of mouth needs a row-normalised network (ties of a row equal)")
        return a.indptr.astype(index), a.indices.astype(index), row_weight

    @cached_property
    def _age_members(self) -> list[np.ndarray]:
        return [np.flatnonzero(self.age_group == g) for g in range(len(AGE_GROUPS))]

    # ------------------------------------------------------------------ the day
    def meet_problems(self, day: int, rate_multiplier: np.ndarray | None = None) -> Problems:
        """Today's new problems: who meets one, of which category, when (module docstring).

        ``rate_multiplier``: today's multiplier of each category's rate (incidents,
        :mod:`govsim.agents.incidents`); none: 1."""
        rng, cats = self.rng, self.categories
        codes = np.arange(len(cats))
        who, cat = [], []
        for g, members in enumerate(self._age_members):
            if len(members) == 0:
                continue
            rate = cats.rate * np.where(g == OLD, cats.old_rate_multiplier, 1.0)
            if rate_multiplier is not None:
                rate = rate * rate_multiplier
            counts = rng.poisson(rate * len(members))
            total = int(counts.sum())
            if total:
                who.append(members[rng.integers(0, len(members), total)])
                cat.append(np.repeat(codes, counts))
        if not who:
            return Problems(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        who, cat = np.concatenate(who), np.concatenate(cat)
        return Problems(who, cat, day + rng.random(len(who)))

    def voice(self, problems: Problems, hotline: HotlineDay) -> None:
        """Voice or silence, and the channel, for each problem (sets ``voiced`` and ``channel``).

        Args:
            problems: Today's problems.
            hotline: Yesterday's hotline, as citizens perceive it (expected wait, failed calls).
        """
        s, rng, who = self.config, self.rng, problems.citizen
        n = len(problems)
        ch = s.channels
        helper = np.zeros(n, dtype=bool)
        if ch.assisted:
            volunteers = ch.volunteers_per_community if s.party.branch_volunteers_active else 0.0
            helpers = s.city.grids_per_community + volunteers
            reach = ch.assisted_reach * (1.0 - np.exp(-helpers / HELPERS_HALF_REACH))
            helper = rng.random(n) < reach
        beh = s.citizens
        costs = channel_costs(
            self.literacy[who],
            self.age_group[who],
            beh,
            ch,
            hotline.expected_wait_minutes,
            helper,
            hotline.abandon_probability,
            app_user=~self.app_holdout[who],
        )
        ses = 0.0
        if beh.voice_education_weight or beh.voice_income_weight:
            ses = self._voice_ses(beh.voice_education_weight, beh.voice_income_weight)[who]
        p = voice_probability(
            self.efficacy[who],
            self.trust[who],
            self.categories.severity[problems.category],
            costs.min(axis=1),
            beh,
            ses,
        )
        voiced = rng.random(n) < p
        if voiced.any():
            c, speaker = costs[voiced], who[voiced]
            habit = bool(beh.channel_habit_weight or beh.channel_switch_weight)
            if habit or beh.channel_word_of_mouth_weight:
                c = channel_preferences(
                    c,
                    self.last_channel[speaker] if habit else None,
                    self.last_satisfied[speaker] if habit else None,
                    self.neighbour_channel_shares(speaker)
                    if beh.channel_word_of_mouth_weight
                    else None,
                    beh,
                )
            problems.channel[voiced] = choose_channels(c, beh.channel_choice_sharpness, rng)
        problems.voiced = voiced
        problems.reached = voiced.copy()

    def _voice_ses(self, education_weight: float, income_weight: float) -> np.ndarray:
        """Every citizen's socioeconomic voice term (schooling and income are fixed: it is
        computed again only when a weight changes, e.g. on a timeline)."""
        key = (education_weight, income_weight)
        if self._ses_term is None or self._ses_term[0] != key:
            term = education_weight * self.education_z + income_weight * self.income_z
            self._ses_term = (key, term)
        return self._ses_term[1]

    def neighbour_channel_shares(self, who: np.ndarray) -> np.ndarray:
        """Per citizen of ``who``: the share of their network neighbours whose last case by each
        channel (app, hotline, offline, assisted) left them satisfied; array (len(who), 4)."""
        a = self.neighbours
        start, stop = a.indptr[who], a.indptr[who + 1]
        count = stop - start
        rows = np.repeat(np.arange(len(who)), count)
        # the rows' entries gathered by hand: CSR row indexing costs ten times more at this size
        at = np.arange(int(count.sum())) + np.repeat(start - np.cumsum(count) + count, count)
        friend = a.indices[at]
        ch = self.last_channel[friend].astype(np.intp)
        ok = (ch >= 0) & self.last_satisfied[friend]
        key = rows[ok] * N_CHOICE_CHANNELS + ch[ok]
        shares = np.bincount(key, weights=a.data[at[ok]], minlength=len(who) * N_CHOICE_CHANNELS)
        return shares.reshape(len(who), N_CHOICE_CHANNELS)

    def hang_up(self, problems: Problems, abandon_probability: float) -> None:
        """Callers who give up before an operator answers fall silent."""
        abandon = (problems.channel == HOTLINE) & (
            self.rng.random(len(problems)) < abandon_probability
        )
        problems.voiced &= ~abandon
        problems.reached &= ~abandon
        problems.channel[abandon] = -1

    def silent(self, problems: Problems) -> np.ndarray:
        """Positions of today's silent problems that are not consultations (a patrol could find)."""
        return np.flatnonzero(~problems.voiced & ~self.categories.consultation[problems.category])

    def experience(self, cases: CaseStore, closed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How the citizens of closed cases fare: true satisfaction (recorded) and outcome value.

        Returns:
            (truly satisfied, outcome in [0,1]: 1 solved on time, ``late_solved_value`` if late,
            0 unsolved), one entry per closed case.
        """
        beh = self.config.citizens
        solved = cases.solved[closed]
        late = cases.t_closed[closed] > cases.deadline[closed]
        p_true = np.where(
            solved,
            np.where(late, beh.satisfied_if_late, beh.satisfied_if_solved),
            beh.satisfied_if_unsolved,
        )
        rounds = cases.times_filed[closed]
        repeat = rounds > 1
        has_repeat = bool(repeat.any())
        if has_repeat and (beh.repeat_satisfaction_penalty or beh.repeat_wait_penalty):
            again = closed[repeat]
            weeks = (cases.t_created[again] - cases.t_created[cases.problem[again]]) / 7.0
            p_true[repeat] = satisfaction_with_history(p_true[repeat], rounds[repeat], weeks, beh)
        satisfied = self.rng.random(len(closed)) < p_true
        truly = satisfied & (cases.state[closed] != WITHDRAWN)
        cases.true_satisfied[closed] = truly
        outcome = np.where(solved, np.where(late, beh.late_solved_value, 1.0), 0.0)
        if has_repeat and beh.repeat_trust_discount:
            outcome[repeat] *= (1.0 - beh.repeat_trust_discount) ** (rounds[repeat] - 1)
        # habit: the channel of this case and how it went (the last closure of a citizen wins)
        who, ch = cases.citizen[closed], cases.channel[closed]
        chosen = (who >= 0) & (ch >= 0) & (ch < PATROL)
        self.last_channel[who[chosen]] = ch[chosen]
        self.last_satisfied[who[chosen]] = truly[chosen]
        return satisfied, outcome

    def learn(self, who: np.ndarray, outcome: np.ndarray, hurt: np.ndarray) -> None:
        """Trust and efficacy learn from outcomes; pressure (``hurt``) costs trust besides.

        Args:
            who: The citizen of each closed case.
            outcome: Its outcome value (:meth:`experience`).
            hurt: Whether the citizen was pressed for a rating or persuaded to withdraw.
        """
        beh = self.config.citizens
        learn_from_outcomes(self, who, outcome, beh)
        hurt = who[hurt]
        if len(hurt):
            np.subtract.at(self.trust, hurt, beh.pressure_trust_cost)
            # the cost can push only the hurt below 0 (every other update is a convex step toward
            # a value in [0,1]), so clip them alone rather than the whole population every day
            self.trust[hurt] = np.clip(self.trust[hurt], 0.0, 1.0)

    def decide_to_refile(self, cases: CaseStore, closed: np.ndarray) -> None:
        """Citizens whose problem was closed unsolved may complain again (module docstring)."""
        rng = self.rng
        unsolved = ~cases.solved[closed] & ~cases.consultation[closed]
        p_refile = self.config.citizens.refile_propensity * self.efficacy[cases.citizen[closed]]
        again = closed[unsolved & (rng.random(len(closed)) < p_refile)]
        # one draw per repeat complaint, in the same order and stream as a scalar draw each
        when = cases.t_closed[again] + 1.0 + rng.exponential(REFILE_DELAY_MEAN, len(again))
        for case, t in zip(again.tolist(), when.tolist(), strict=True):
            self._refiles.setdefault(int(t), []).append((t, case))

    def due_complaints(self, day: int, cases: CaseStore) -> Contacts:
        """Repeat complaints due today, as contacts (the channel of the case they repeat)."""
        due = self._refiles.pop(day, [])
        if not due:
            return NO_CONTACTS
        t = np.array([x[0] for x in due])
        old = np.array([x[1] for x in due], dtype=np.int64)
        return Contacts(
            cases.citizen[old], cases.category[old].astype(np.int64), t, cases.channel[old], old
        )

    def spread_word(self) -> None:
        """Word of mouth: trust and efficacy move toward the network neighbours' means."""
        word_of_mouth(self, self.config.citizens.word_of_mouth)

    def adopt_app(self, day: int) -> None:
        """App adoption spreads (Bass 1969 on the network): every ``ADOPTION_STEP_DAYS`` days each
        literate non-user adopts with probability ``1 - exp(-(p + q f) * ADOPTION_STEP_DAYS/365)``,
        ``f`` the share of their network neighbours who use the app (module docstring)."""
        if day % ADOPTION_STEP_DAYS:
            return
        beh = self.config.citizens
        p, q = beh.app_adoption_innovation, beh.app_adoption_imitation
        if (p <= 0 and q <= 0) or not self.app_holdout.any():
            return
        online = self.literacy >= beh.app_literacy_threshold
        candidates = np.flatnonzero(self.app_holdout & online)
        if len(candidates) == 0:
            return
        hazard = np.full(len(candidates), p)
        if q > 0:
            users = (online & ~self.app_holdout).astype(float)
            hazard += q * (self.neighbours @ users)[candidates]
        adopt = self.rng.random(len(candidates)) < -np.expm1(-hazard * ADOPTION_STEP_DAYS / 365.0)
        self.app_holdout[candidates[adopt]] = False

    def train_literacy(self, day: int) -> None:
        """Digital literacy grows toward 1 at ``literacy_training_rate`` a year (quartiles monthly)."""
        rate = self.config.population.literacy_training_rate
        if rate > 0:
            self.literacy += rate / 365.0 * (1.0 - self.literacy)
            if day % 30 == 0:
                self.refresh_quartiles()


def standardised(x: np.ndarray) -> np.ndarray:
    """``(x - mean) / sd`` over the population; zeros where there is no spread."""
    sd = float(x.std()) if len(x) else 0.0
    return (x - x.mean()) / sd if sd > 0 else np.zeros(len(x))


def literacy_quartiles(literacy: np.ndarray) -> np.ndarray:
    """Quartile (0..3) of each value by rank; equal-sized groups up to rounding."""
    n = len(literacy)
    order = np.argsort(literacy, kind="stable")
    q = np.empty(n, dtype=np.int8)
    q[order] = (np.arange(n) * 4 // max(n, 1)).astype(np.int8)
    return q


def build_population(
    pop: PopulationSpec, n_grids: int, grid_community: np.ndarray, rng: np.random.Generator
) -> Citizens:
    """Draw the citizens: ages, literacy by age (Beta), attitudes, homes and the social network."""
    n = pop.citizens
    shares = np.array([pop.age_shares[g] for g in AGE_GROUPS])
    age = rng.choice(3, size=n, p=shares / shares.sum()).astype(np.int8)
    lit = np.empty(n)
    for g, name in enumerate(AGE_GROUPS):
        m = age == g
        spec = pop.literacy[name]
        a = spec.mean * spec.concentration
        b = (1 - spec.mean) * spec.concentration
        lit[m] = rng.beta(a, b, size=int(m.sum()))
    trust = np.clip(rng.normal(pop.trust_mean, pop.attitude_spread, n), 0, 1)
    eff = np.clip(rng.normal(pop.efficacy_mean, pop.attitude_spread, n), 0, 1)
    grid = np.sort(rng.integers(0, n_grids, n))
    community = grid_community[grid]
    nbrs = build_network(community, pop.network_degree, pop.long_tie_share, rng)
    # drawn after everything above, so that the draws above stay as they were before SES existed
    edu, income = draw_socioeconomic_status(pop, age, community, lit, rng)
    ez = standardised(edu)
    if pop.efficacy_education_shift:
        eff = np.clip(eff + pop.efficacy_education_shift * ez, 0, 1)
    if pop.trust_education_shift:
        trust = np.clip(trust + pop.trust_education_shift * ez, 0, 1)
    holdout = rng.random(n) < pop.app_nonadopter_share
    return Citizens(
        lit,
        trust,
        eff,
        age,
        community,
        grid,
        nbrs,
        literacy_quartiles(lit),
        education=edu,
        income=income,
        app_holdout=holdout,
    )


def draw_socioeconomic_status(
    pop: PopulationSpec,
    age: np.ndarray,
    community: np.ndarray,
    literacy: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Schooling and income from a latent SES partly shared by the community (ODD 7.2).

    ``z = sqrt(rho) u_community + sqrt(1 - rho) e_citizen`` (both standard normal, ``rho =
    ses_sorting``); schooling ``= mean_age + sd (l_e z + sqrt(1 - l_e^2) e1)`` clipped to [0, 22]
    years; income ``= exp(INCOME_LOG_SD (l_i z + sqrt(1 - l_i^2) e2))``. Where
    ``literacy_ses_correlation`` ``r > 0`` literacy is reassigned within each age group (its
    values, hence its distribution by age, unchanged) in the rank order of ``r z + sqrt(1 - r^2)
    e3`` (a Gaussian-copula rank correlation). ``literacy`` is changed in place.

    Returns:
        (years of schooling, income relative to the median), one entry per citizen.
    """
    n = len(age)
    n_comm = int(community.max()) + 1 if n else 0
    rho = pop.ses_sorting
    z = np.sqrt(rho) * rng.standard_normal(n_comm)[community] + np.sqrt(
        1 - rho
    ) * rng.standard_normal(n)
    le, li = pop.ses_education_loading, pop.ses_income_loading
    mean = np.array([pop.education_years[g] for g in AGE_GROUPS])[age]
    edu = mean + pop.education_years_sd * (le * z + np.sqrt(1 - le * le) * rng.standard_normal(n))
    edu = np.clip(edu, 0.0, 22.0)
    income = np.exp(INCOME_LOG_SD * (li * z + np.sqrt(1 - li * li) * rng.standard_normal(n)))
    r = pop.literacy_ses_correlation
    if r > 0:
        score = r * z + np.sqrt(1 - r * r) * rng.standard_normal(n)
        for g in range(len(AGE_GROUPS)):
            members = np.flatnonzero(age == g)
            if len(members) < 2:
                continue
            values = np.sort(literacy[members])
            ranks = np.argsort(np.argsort(score[members], kind="stable"), kind="stable")
            literacy[members] = values[ranks]
    return edu, income


def build_network(
    community: np.ndarray, degree: int, long_share: float, rng: np.random.Generator
) -> sp.csr_matrix:
    """A seeded word-of-mouth network: ``degree/2`` ties drawn per citizen within the community,
    a ``long_share`` of them rewired to random citizens; symmetrised and row-normalised.

    ``community`` must be sorted (citizens are numbered community by community).
    """
    n = len(community)
    half = max(degree // 2, 0)
    if n < 2 or half == 0:
        return sp.csr_matrix((n, n))
    starts = np.searchsorted(community, community, side="left")
    ends = np.searchsorted(community, community, side="right")
    size = ends - starts
    src = np.repeat(np.arange(n), half)
    s_start = np.repeat(starts, half)
    s_size = np.repeat(size, half)
    pos = src - s_start
    offset = rng.integers(1, np.maximum(s_size, 2), size=len(src))
    dst = s_start + (pos + offset) % np.maximum(s_size, 1)
    long = rng.random(len(src)) < long_share
    dst[long] = rng.integers(0, n, int(long.sum()))
    keep = dst != src
    src, dst = src[keep], dst[keep]
    rows = np.concatenate([src, dst])
    cols = np.concatenate([dst, src])
    a = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    a.data[:] = 1.0
    deg = np.asarray(a.sum(axis=1)).ravel()
    inv = np.divide(1.0, deg, out=np.zeros(n), where=deg > 0)
    return sp.diags(inv) @ a


def channel_costs(
    literacy: np.ndarray,
    age_group: np.ndarray,
    beh: CitizenBehaviourSpec,
    ch: ChannelsSpec,
    hotline_wait_minutes: float,
    helper_available: np.ndarray,
    hotline_abandon_probability: float = 0.0,
    app_user: np.ndarray | None = None,
) -> np.ndarray:
    """Cost of each channel (app, hotline, offline, assisted) per citizen; ``inf`` where closed.

    Args:
        literacy: Literacy of the citizens deciding.
        age_group: Their age groups.
        beh: Citizens' behavioural parameters.
        ch: Which channels are open and their properties.
        hotline_wait_minutes: Expected hotline wait (yesterday's, as citizens perceive it).
        helper_available: Whether a grid worker or volunteer is within reach of each citizen today.
        hotline_abandon_probability: Yesterday's chance that a call was given up before an
            operator answered (a failed call costs ``hotline_abandon_cost``).
        app_user: Whether each citizen uses the app at all (default: all do); the literate
            who do not are not offered the app (they call), nor counted as needing help.

    Returns:
        Array (n, 4) of costs.
    """
    n = len(literacy)
    costs = np.full((n, N_CHOICE_CHANNELS), np.inf)
    literate = literacy >= beh.app_literacy_threshold
    can_app = literate if app_user is None else literate & app_user
    if ch.app:
        costs[can_app, 0] = (1.0 - literacy[can_app]) * (1.0 - 0.5 * ch.app_usability)
    if ch.hotline:
        costs[:, 1] = (
            beh.hotline_base_cost
            + beh.hotline_wait_cost_per_minute * hotline_wait_minutes
            + beh.hotline_abandon_cost * hotline_abandon_probability
        )
    if ch.offline:
        costs[:, 2] = beh.offline_cost
    if ch.assisted:
        needs_help = ~literate | (age_group == OLD)
        ok = needs_help & helper_available
        costs[ok, 3] = beh.assisted_cost
    return costs


def voice_probability(
    efficacy: np.ndarray,
    trust: np.ndarray,
    severity: np.ndarray,
    min_cost: np.ndarray,
    beh: CitizenBehaviourSpec,
    ses: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Probability of voicing a problem rather than staying silent (0 where no channel is open).

    ``ses`` is the socioeconomic term ``voice_education_weight * schooling_z +
    voice_income_weight * income_z`` (NYC 311: reporting rises with income and education).
    """
    z = (
        beh.voice_base
        + beh.voice_efficacy_weight * efficacy
        + beh.voice_trust_weight * trust
        + beh.voice_severity_weight * severity
        - beh.voice_cost_weight * np.where(np.isfinite(min_cost), min_cost, 0.0)
    )
    if not np.isscalar(ses) or ses:
        z = z + ses
    p = 1.0 / (1.0 + np.exp(-z))
    return np.where(np.isfinite(min_cost), p, 0.0)


def channel_preferences(
    costs: np.ndarray,
    last_channel: np.ndarray | None,
    last_satisfied: np.ndarray | None,
    neighbour_shares: np.ndarray | None,
    beh: CitizenBehaviourSpec,
) -> np.ndarray:
    """Costs as the choice weighs them: habit, switching and word of mouth about channels.

    The channel of one's last case costs ``channel_habit_weight`` less if it satisfied, and
    ``channel_switch_weight`` more if it did not (win-stay, lose-shift); each channel costs
    ``channel_word_of_mouth_weight`` times the share of network neighbours it satisfied less.
    Closed channels stay closed (``inf``). Either part is skipped when its inputs are ``None``.

    Returns:
        A new (n, 4) array.
    """
    out = costs.copy()
    if last_channel is not None:
        rows = np.flatnonzero((last_channel >= 0) & (last_channel < N_CHOICE_CHANNELS))
        if len(rows):
            ch = last_channel[rows].astype(np.intp)
            shift = np.where(
                last_satisfied[rows], -beh.channel_habit_weight, beh.channel_switch_weight
            )
            out[rows, ch] += shift
    if neighbour_shares is not None:
        out -= beh.channel_word_of_mouth_weight * neighbour_shares
    return out


def satisfaction_with_history(
    p: np.ndarray, rounds: np.ndarray, weeks: np.ndarray, beh: CitizenBehaviourSpec
) -> np.ndarray:
    """True-satisfaction probability of a repeat complaint given its problem's history.

    Expectation disconfirmation (Oliver 1980; Van Ryzin 2004 for public services): each earlier
    failed round and each week since the problem was first filed lower the log-odds,
    ``logit p' = logit p - repeat_satisfaction_penalty (rounds - 1) - repeat_wait_penalty weeks``.

    Args:
        p: Probability without history (by outcome, ODD 7.15).
        rounds: Times the problem has been filed, this case included (>= 1).
        weeks: Weeks from the problem's first filing to this case's.
        beh: Citizens' behavioural parameters.
    """
    shift = beh.repeat_satisfaction_penalty * (rounds - 1) + beh.repeat_wait_penalty * weeks
    with np.errstate(divide="ignore"):
        logit = np.log(p) - np.log1p(-p)
    return 1.0 / (1.0 + np.exp(shift - logit))


def choose_channels(costs: np.ndarray, sharpness: float, rng: np.random.Generator) -> np.ndarray:
    """Multinomial-logit choice among open channels; rows must have at least one finite cost."""
    u = -sharpness * costs
    u -= np.max(np.where(np.isfinite(u), u, -np.inf), axis=1, keepdims=True)
    w = np.where(np.isfinite(costs), np.exp(u), 0.0)
    cum = np.cumsum(w, axis=1)
    r = rng.random(len(costs)) * cum[:, -1]
    return (cum < r[:, None]).sum(axis=1).astype(np.int8)


def learn_from_outcomes(
    c: Citizens, who: np.ndarray, outcome: np.ndarray, beh: CitizenBehaviourSpec
) -> None:
    """Update trust and efficacy of citizens ``who`` toward their outcomes (in place).

    A citizen listed more than once learns from each outcome in turn, in the order given: the
    updates run in rounds, the first occurrence of every citizen, then the second, and so on, so
    each citizen's steps are exactly those of a one-by-one loop. (At a million citizens two of a
    day's few thousand closures nearly always share a citizen.)
    """
    if len(who) == 0:
        return
    # a set of a few dozen ids is far cheaper than np.unique (a sort and several arrays)
    if len(set(who.tolist())) == len(who):
        rounds = [slice(None)]
    else:
        by_id = np.argsort(who, kind="stable")
        ids = who[by_id]
        first = np.searchsorted(ids, ids, side="left")
        occurrence = np.empty(len(who), dtype=np.int64)
        occurrence[by_id] = np.arange(len(who)) - first
        rounds = [occurrence == r for r in range(int(occurrence.max()) + 1)]
    for sel in rounds:
        w, o = who[sel], outcome[sel]
        c.trust[w] += beh.trust_learning_rate * (o - c.trust[w])
        c.efficacy[w] += beh.efficacy_learning_rate * (o - c.efficacy[w])


TWO_THREADS_MIN_CITIZENS = 200_000
"""From this many citizens on, the compiled word of mouth reads the network on two threads
where the process may use two cores (each thread half of the ties; the kernel releases the GIL).
The pass is bound by memory latency (a long tie is a cache miss), which two cores overlap."""


def word_of_mouth(c: Citizens, rate: float) -> None:
    """Move trust and efficacy toward neighbours' means by ``rate`` (in place).

    Both means are of yesterday's values. At a large population one compiled pass over the
    network computes them (:func:`govsim.compiled.use_kernels`; split over two threads from
    :data:`TWO_THREADS_MIN_CITIZENS`), then moves everyone with neighbours.
    """
    if rate <= 0 or c.neighbours.nnz == 0:
        return
    if not use_kernels(c.n):
        word_of_mouth_reference(c, rate)
        return
    indptr, indices, row_weight = c.network_arrays
    means = np.empty(c.n), np.empty(c.n)
    args = (indptr, indices, row_weight, c.trust, c.efficacy, *means)
    if c.n >= TWO_THREADS_MIN_CITIZENS and _usable_cores() >= 2:
        _neighbour_means_kernel(*args, 0, 0)  # compiled (or loaded) before two threads call it
        split = int(np.searchsorted(indptr, indptr[-1] // 2))  # half of the ties each
        helper = threading.Thread(target=_neighbour_means_kernel, args=(*args, split, c.n))
        helper.start()
        _neighbour_means_kernel(*args, 0, split)
        helper.join()
    else:
        _neighbour_means_kernel(*args, 0, c.n)
    _move_toward_kernel(indptr, c.trust, c.efficacy, *means, float(rate))


def _usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@kernel
def _neighbour_means_kernel(
    indptr: np.ndarray,
    indices: np.ndarray,
    row_weight: np.ndarray,
    trust: np.ndarray,
    efficacy: np.ndarray,
    mean_trust: np.ndarray,
    mean_efficacy: np.ndarray,
    lo: int,
    hi: int,
) -> None:
    """Neighbours' mean trust and efficacy of citizens ``lo:hi``, both in one pass.

    The arithmetic is SciPy's ``csr @ x`` (each row's sum of weight x value in stored order,
    from zero): bit-identical to the sparse products it replaces (:func:`word_of_mouth_reference`),
    reading the network once instead of twice and each row's weight once
    (:attr:`Citizens.network_arrays`).
    """
    for i in range(lo, hi):
        st = 0.0
        se = 0.0
        w = row_weight[i]
        for jj in range(indptr[i], indptr[i + 1]):
            j = indices[jj]
            st += w * trust[j]
            se += w * efficacy[j]
        mean_trust[i] = st
        mean_efficacy[i] = se


@kernel
def _move_toward_kernel(
    indptr: np.ndarray,
    trust: np.ndarray,
    efficacy: np.ndarray,
    mean_trust: np.ndarray,
    mean_efficacy: np.ndarray,
    rate: float,
) -> None:
    """``x += rate * (mean - x)`` for trust and efficacy of every citizen with neighbours."""
    for i in range(len(trust)):
        if indptr[i + 1] > indptr[i]:
            trust[i] += rate * (mean_trust[i] - trust[i])
            efficacy[i] += rate * (mean_efficacy[i] - efficacy[i])


def word_of_mouth_reference(c: Citizens, rate: float) -> None:
    """Word of mouth by SciPy's sparse products: the definition the kernel must reproduce."""
    if rate <= 0 or c.neighbours.nnz == 0:
        return
    means = (c.neighbours @ c.trust, c.neighbours @ c.efficacy)
    if c.everyone_has_neighbours:
        # everyone has neighbours: the same arithmetic in place, without masked copies
        for arr, m in zip((c.trust, c.efficacy), means, strict=True):
            np.subtract(m, arr, out=m)
            m *= rate
            arr += m
        return
    has = np.diff(c.neighbours.indptr) > 0
    for arr, m in zip((c.trust, c.efficacy), means, strict=True):
        arr[has] += rate * (m[has] - arr[has])


class Citizen:
    """One resident: a view onto row ``index`` of the citizens' arrays (``model.citizen(i)``).

    Attributes:
        index: The citizen's row.
    """

    def __init__(self, citizens: Citizens, index: int) -> None:
        """The view of citizen ``index`` of ``citizens``."""
        if not 0 <= index < citizens.n:
            raise IndexError(f"citizen {index} out of range 0..{citizens.n - 1}")
        self._citizens = citizens
        self.index = index

    @property
    def literacy(self) -> float:
        """Digital literacy in [0,1]."""
        return float(self._citizens.literacy[self.index])

    @property
    def trust(self) -> float:
        """Trust in government in [0,1]."""
        return float(self._citizens.trust[self.index])

    @property
    def efficacy(self) -> float:
        """Political efficacy in [0,1]."""
        return float(self._citizens.efficacy[self.index])

    @property
    def age_group(self) -> str:
        """Age group name."""
        return AGE_GROUPS[int(self._citizens.age_group[self.index])]

    @property
    def community(self) -> int:
        """Home community index."""
        return int(self._citizens.community[self.index])

    @property
    def education(self) -> float:
        """Years of schooling."""
        return float(self._citizens.education[self.index])

    @property
    def income(self) -> float:
        """Income relative to the city's median."""
        return float(self._citizens.income[self.index])

    @property
    def app_holdout(self) -> bool:
        """Does not use the app (yet), whatever the literacy."""
        return bool(self._citizens.app_holdout[self.index])
