"""Citizens (市民): digital literacy, voice or silence, channel choice, learning and word of mouth.

Citizen state lives in NumPy arrays owned by the model (:class:`CitizenArrays`); each Mesa
:class:`Citizen` agent is a view onto its row. The rules below are vectorised over all citizens with
a problem on a given day:

* **Channel costs**: app ``(1 - literacy)(1 - usability/2)``, open only above the literacy threshold;
  hotline ``base + wait_cost * expected_wait + abandon_cost * P(abandon)`` (yesterday's Erlang-A
  figures: with impatient callers the mean wait stays below their patience, so a congested line
  deters mostly through the calls that fail); offline a constant, only where offline channels exist;
  assisted a constant, only for citizens who cannot use the app (or are 60+) and have a helper
  within reach that day.
* **Voice or silence** (Hirschman): ``P(voice) = logistic(b0 + b_e*efficacy + b_t*trust +
  b_s*severity - b_c*min_cost)``; no open channel means silence.
* **Channel choice**: multinomial logit over open channels with utility ``-sharpness * cost``.
* **Learning**: after a case closes, ``trust += lr_t (o - trust)`` and ``efficacy += lr_e (o -
  efficacy)`` with outcome ``o`` = 1 solved on time, ``late_solved_value`` if solved late, 0 if the
  case was closed unsolved or withdrawn.
* **Word of mouth**: each day trust and efficacy move a share ``word_of_mouth`` toward the mean of
  the citizen's network neighbours (a seeded sparse graph: neighbours in the same community plus a
  share of long ties across the city).
"""

from __future__ import annotations

import gc
import os
import threading
import weakref
from dataclasses import dataclass

import mesa
import numpy as np
import scipy.sparse as sp
from mesa.experimental.mesa_signals import ModelSignals

from govsim.schema import AGE_GROUPS, ChannelsSpec, CitizenBehaviourSpec, PopulationSpec

N_CHOICE_CHANNELS = 4
"""Channels a citizen chooses among: app, hotline, offline, assisted (codes as in govsim.cases)."""


@dataclass
class CitizenArrays:
    """Every citizen's state, one array element per citizen.

    Attributes:
        literacy: Digital literacy in [0,1].
        trust: Trust in government in [0,1].
        efficacy: Political efficacy in [0,1].
        age_group: 0 young (18-39), 1 middle (40-59), 2 old (60+).
        community: Index of the home community.
        grid: Index of the home grid.
        neighbours: Row-normalised sparse adjacency of the word-of-mouth network.
        quartile: Literacy quartile (0 lowest .. 3 highest), refreshed when literacy changes.
    """

    literacy: np.ndarray
    trust: np.ndarray
    efficacy: np.ndarray
    age_group: np.ndarray
    community: np.ndarray
    grid: np.ndarray
    neighbours: sp.csr_matrix
    quartile: np.ndarray

    @property
    def n(self) -> int:
        """Number of citizens."""
        return len(self.literacy)

    def refresh_quartiles(self) -> None:
        """Recompute literacy quartiles from current literacy (ties broken by index)."""
        self.quartile = literacy_quartiles(self.literacy)


def literacy_quartiles(literacy: np.ndarray) -> np.ndarray:
    """Quartile (0..3) of each value by rank; equal-sized groups up to rounding."""
    n = len(literacy)
    order = np.argsort(literacy, kind="stable")
    q = np.empty(n, dtype=np.int8)
    q[order] = (np.arange(n) * 4 // max(n, 1)).astype(np.int8)
    return q


def build_population(
    pop: PopulationSpec, n_grids: int, grid_community: np.ndarray, rng: np.random.Generator
) -> CitizenArrays:
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
    return CitizenArrays(lit, trust, eff, age, community, grid, nbrs, literacy_quartiles(lit))


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
        needs_help = ~can_app | (age_group == 2)
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
    c: CitizenArrays, who: np.ndarray, outcome: np.ndarray, beh: CitizenBehaviourSpec
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


_NO_EMPTY_ROWS: dict[int, tuple[weakref.ref, bool]] = {}


def _everyone_has_neighbours(a: sp.csr_matrix) -> bool:
    """Whether no row of ``a`` is empty (remembered per matrix: it is checked every day)."""
    indptr = a.indptr
    known = _NO_EMPTY_ROWS.get(id(indptr))
    if known is not None and known[0]() is indptr:
        return known[1]
    answer = bool(a.shape[0] == 0 or np.diff(indptr).min() > 0)
    key = id(indptr)
    _NO_EMPTY_ROWS[key] = (
        weakref.ref(indptr, lambda _, k=key: _NO_EMPTY_ROWS.pop(k, None)),
        answer,
    )
    return answer


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


def word_of_mouth(c: CitizenArrays, rate: float) -> None:
    """Move trust and efficacy toward neighbours' means by ``rate`` (in place)."""
    if rate <= 0 or c.neighbours.nnz == 0:
        return
    # both means are of yesterday's values, so the two products are independent
    means = _neighbour_means(c.neighbours, c.trust, c.efficacy)
    if _everyone_has_neighbours(c.neighbours):
        # everyone has neighbours: the same arithmetic in place, without masked copies
        for arr, m in zip((c.trust, c.efficacy), means, strict=True):
            np.subtract(m, arr, out=m)
            m *= rate
            arr += m
        return
    has = np.diff(c.neighbours.indptr) > 0
    for arr, m in zip((c.trust, c.efficacy), means, strict=True):
        arr[has] += rate * (m[has] - arr[has])


class Citizen(mesa.Agent):
    """A resident: a Mesa agent that is a view onto its row of the model's citizen arrays."""

    def __init__(self, model: mesa.Model, index: int) -> None:
        """Create the view for citizen ``index``."""
        super().__init__(model)
        self.index = index

    @classmethod
    def create_views(cls, model: mesa.Model, n: int) -> None:
        """Create the views of citizens ``0..n-1`` in bulk, registered with ``model`` as Mesa agents.

        The result is exactly that of ``for i in range(n): Citizen(model, i)`` (same objects,
        attributes, ``unique_id``s and registration order in ``model.agents`` and
        ``model.agents_by_type[Citizen]``), about five times faster: Mesa's per-agent
        registration (a signal emission and a debug log line per agent) is done once for the
        whole batch, and the cyclic garbage collector is paused while a million small objects
        are made. The plain loop is used whenever the shortcut could differ: a subclass with its
        own ``__init__``, agent datasets, listeners of Mesa's agent signals, or a Mesa whose
        registries are not the ones this was written against (3.5).
        """
        if n <= 0:
            return
        cls(model, 0)  # the ordinary path: creates the type's AgentSet and checks the model
        by_type = getattr(model, "_agents_by_type", {}).get(cls)
        everyone = getattr(model, "_all_agents", None)
        bulk_ok = (
            cls.__init__ is Citizen.__init__
            and not cls._datasets
            and isinstance(getattr(by_type, "_agents", None), dict)
            and isinstance(getattr(everyone, "_agents", None), dict)
            and getattr(model, "_batch_context", None) is None
            and not model._has_subscribers("agents", ModelSignals.AGENT_ADDED)
        )
        if not bulk_ok:
            for i in range(1, n):
                cls(model, i)
            return
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            new = object.__new__
            first = model.agent_id_counter
            views = [new(cls) for _ in range(n - 1)]
            for i, a in enumerate(views, start=1):
                a.model = model
                a.unique_id = first + i - 1
                a.pos = None
                a.index = i
            model.agent_id_counter = first + n - 1
            everyone._agents.update(dict.fromkeys(views))
            by_type._agents.update(dict.fromkeys(views))
        finally:
            if was_enabled:
                gc.enable()

    @property
    def literacy(self) -> float:
        """Digital literacy in [0,1]."""
        return float(self.model.citizens.literacy[self.index])

    @property
    def trust(self) -> float:
        """Trust in government in [0,1]."""
        return float(self.model.citizens.trust[self.index])

    @property
    def efficacy(self) -> float:
        """Political efficacy in [0,1]."""
        return float(self.model.citizens.efficacy[self.index])

    @property
    def age_group(self) -> str:
        """Age group name."""
        return AGE_GROUPS[int(self.model.citizens.age_group[self.index])]

    @property
    def community(self) -> int:
        """Home community index."""
        return int(self.model.citizens.community[self.index])
