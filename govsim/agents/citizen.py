"""Citizens (市民): problems, voice or silence, channel choice, learning, repeat complaints, word of mouth.

Citizen state lives in NumPy arrays, one element per citizen (:class:`Citizens`: the set is the
table, and its methods are the citizens' submodels, vectorised over everyone concerned that day).
A single citizen's view, :class:`Citizen`, is made on request (``model.citizen(i)``). In the order
of the day:

* **Problems** (:meth:`Citizens.meet_problems`): each age group meets ``Poisson(rate x members)``
  problems of each category (the old at ``old_rate_multiplier`` times the rate), spread uniformly
  over its members and over the day.
* **Channel costs**: app ``(1 - literacy)(1 - usability/2)``, open only above the literacy threshold;
  hotline ``base + wait_cost * expected_wait + abandon_cost * P(abandon)`` (yesterday's Erlang-A
  figures: with impatient callers the mean wait stays below their patience, so a congested line
  deters mostly through the calls that fail); offline a constant, only where offline channels exist;
  assisted a constant, only for citizens who cannot use the app (or are 60+) and have a helper
  within reach that day (grid workers and party volunteers: ``assisted_reach (1 - exp(-helpers/5))``).
* **Voice or silence** (Hirschman, :meth:`Citizens.voice`): ``P(voice) = logistic(b0 +
  b_e*efficacy + b_t*trust + b_s*severity - b_c*min_cost)``; no open channel means silence.
* **Channel choice**: multinomial logit over open channels with utility ``-sharpness * cost``.
* **Hanging up** (:meth:`Citizens.hang_up`): a caller gives up with the day's Erlang-A abandonment
  probability and falls silent.
* **Experience** (:meth:`Citizens.experience`): when a case closes, the citizen is truly satisfied
  with probability ``satisfied_if_solved`` (solved on time), ``satisfied_if_late`` or
  ``satisfied_if_unsolved``.
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
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from govsim.cases import HOTLINE, WITHDRAWN, CaseStore
from govsim.categories import Categories
from govsim.platform.intake import Contacts, HotlineDay
from govsim.schema import AGE_GROUPS, ChannelsSpec, CitizenBehaviourSpec, PopulationSpec, Scenario

N_CHOICE_CHANNELS = 4
"""Channels a citizen chooses among: app, hotline, offline, assisted (codes as in govsim.cases)."""


OLD = AGE_GROUPS.index("old")
"""Age-group code of citizens aged 60 and over."""
REFILE_DELAY_MEAN = 2.0
"""Mean days, beyond one, from an unsolved closure to the repeat complaint (exponential). Assumption."""
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
    _refiles: dict[int, list[tuple[float, int]]] = field(default_factory=dict, repr=False)

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
        costs = channel_costs(
            self.literacy[who],
            self.age_group[who],
            s.citizens,
            ch,
            hotline.expected_wait_minutes,
            helper,
            hotline.abandon_probability,
        )
        p = voice_probability(
            self.efficacy[who],
            self.trust[who],
            self.categories.severity[problems.category],
            costs.min(axis=1),
            s.citizens,
        )
        voiced = rng.random(n) < p
        if voiced.any():
            problems.channel[voiced] = choose_channels(
                costs[voiced], s.citizens.channel_choice_sharpness, rng
            )
        problems.voiced = voiced
        problems.reached = voiced.copy()

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
        satisfied = self.rng.random(len(closed)) < p_true
        cases.true_satisfied[closed] = satisfied & (cases.state[closed] != WITHDRAWN)
        outcome = np.where(solved, np.where(late, beh.late_solved_value, 1.0), 0.0)
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

    def train_literacy(self, day: int) -> None:
        """Digital literacy grows toward 1 at ``literacy_training_rate`` a year (quartiles monthly)."""
        rate = self.config.population.literacy_training_rate
        if rate > 0:
            self.literacy += rate / 365.0 * (1.0 - self.literacy)
            if day % 30 == 0:
                self.refresh_quartiles()


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
    return Citizens(lit, trust, eff, age, community, grid, nbrs, literacy_quartiles(lit))


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

    Returns:
        Array (n, 4) of costs.
    """
    n = len(literacy)
    costs = np.full((n, N_CHOICE_CHANNELS), np.inf)
    can_app = literacy >= beh.app_literacy_threshold
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
        needs_help = ~can_app | (age_group == OLD)
        ok = needs_help & helper_available
        costs[ok, 3] = beh.assisted_cost
    return costs


def voice_probability(
    efficacy: np.ndarray,
    trust: np.ndarray,
    severity: np.ndarray,
    min_cost: np.ndarray,
    beh: CitizenBehaviourSpec,
) -> np.ndarray:
    """Probability of voicing a problem rather than staying silent (0 where no channel is open)."""
    z = (
        beh.voice_base
        + beh.voice_efficacy_weight * efficacy
        + beh.voice_trust_weight * trust
        + beh.voice_severity_weight * severity
        - beh.voice_cost_weight * np.where(np.isfinite(min_cost), min_cost, 0.0)
    )
    p = 1.0 / (1.0 + np.exp(-z))
    return np.where(np.isfinite(min_cost), p, 0.0)


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


PARALLEL_MIN_CITIZENS = 50_000
"""From this many citizens on, word of mouth's two sparse products run on two cores if the process
may use two (a helper thread; SciPy releases the GIL). The results are the same either way."""


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _neighbour_means(a: sp.csr_matrix, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """``a @ x`` and ``a @ y``; for large populations the second on a helper thread."""
    if len(x) < PARALLEL_MIN_CITIZENS or _usable_cores() < 2:
        return a @ x, a @ y
    box: list = []

    def other() -> None:
        try:
            box.append(a @ y)
        except BaseException as e:  # re-raised below, in the caller's thread
            box.append(e)

    helper = threading.Thread(target=other, name="govsim-word-of-mouth", daemon=True)
    helper.start()
    mx = a @ x
    helper.join()
    if isinstance(box[0], BaseException):
        raise box[0]
    return mx, box[0]


def word_of_mouth(c: Citizens, rate: float) -> None:
    """Move trust and efficacy toward neighbours' means by ``rate`` (in place)."""
    if rate <= 0 or c.neighbours.nnz == 0:
        return
    # both means are of yesterday's values, so the two products are independent
    means = _neighbour_means(c.neighbours, c.trust, c.efficacy)
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
