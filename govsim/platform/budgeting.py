"""Participatory budgeting (参与式预算) on the digital platform: the yearly cycle per community.

Source: seed paper 000, Zhang, Wang and Zhuang 2024 (docs/sources.md: City C, read as Chengdu; the
platform connects the stages of governance -- "process empowerment"; it draws in many kinds of
residents -- "subject empowerment"). The stages (need collection, deliberation, voting,
implementation, disclosure, evaluation) follow docs/DESIGN.md. Scale: docs/FACTS.md (Chengdu, more
than 4,300 communities).

Every community runs the same cycle once a year. With ``s = budgeting.start_day`` and the phase
lengths of the scenario, day-of-year ``doy = day mod 365``:

========================  ===================================================================
``doy == s``              **evaluation** of last year's cycle, then **need collection** opens:
                          a candidate project of every type is drawn for every community with
                          its cost, and every resident's true and perceived benefit from it.
``s + proposal_days``     **proposals** close: residents who take part raise their most-wanted
                          type, online or at an offline meeting; the most-raised types (at
                          least ``proposal_min_share`` of residents, at most
                          ``proposals_per_community``) are tabled.
``... + deliberation``    **deliberation** closes: forum and meeting participants revise their
                          perceived benefits toward the true ones.
``... + voting_days``     **voting** closes: approval ballots, online or offline; the rule
                          (greedy approval or Method of Equal Shares) picks the funded set
                          within ``budget_per_community``; funded projects join the
                          community's implementation queue. PB metrics are computed here.
every day                 **implementation**: at most ``implementation_capacity`` projects under
                          way per community, each taking a gamma-distributed time (mean
                          ``implementation_days``); with ``disclosure`` on, progress is posted at
                          start, halfway and completion, and each post raises the trust of the
                          last vote's voters who see it. A completed project delivers its benefit:
                          residents' evaluation next year counts it, and the community's need for
                          that type falls (satiation).
========================  ===================================================================

Model of benefits (the project catalogue :data:`PROJECT_CATALOGUE` is an illustrative assumption,
not data): resident ``i`` of community ``c`` would gain ``U_it = a_t[age_i] * g_ct / (1 + k_ct) *
x_it`` from a type-``t`` project, where ``a_t`` is the type's benefit profile by age group (lifts
help the old, playgrounds young families, ...), ``g_ct ~ Gamma(2, 1/2)`` the community's standing
need for the type (drawn once), ``k_ct`` the number of type-``t`` projects completed there so far,
and ``x_it ~ Gamma(2, 1/2)`` this year's individual need. Perceived benefit starts as ``P_it =
max(0, U_it + perception_noise * mean_c(U_t) * e_it)``, ``e ~ N(0, 1)``.

Taking part (need collection, deliberation and voting each draw afresh):
    willingness ``w_i = logistic(turnout_base + b_e * efficacy_i + b_t * trust_i + b_s * (1 -
    exp(-max_t P_it)) + b_h * voted_last_i)``; online access with probability ``literacy_i``
    (only when ``online``); offline access with probability ``offline_reach *
    offline_age_availability[age_i]`` (only when ``offline``). A resident takes part when willing
    and reached by at least one open channel. Proposers additionally need
    ``proposal_propensity``; one reached by both channels files at either with equal chance.
Deliberation:
    ``P <- P + lambda_i (U - P)`` with ``lambda_i = 1 - (1 - deliberation_online * on_i)(1 -
    deliberation_offline * off_i)``.
Ballots:
    a voter approves each tabled proposal with ``P_it > 0`` and ``P_it >= approval_threshold *
    max over tabled P_i``; see :mod:`govsim.platform.aggregation` for the rules.
Evaluation (at the next cycle's start; projects not finished by then count as not delivered):
    residents who took part (proposed or voted) update ``trust += evaluation_trust_weight * (r_i -
    trust)`` with ``r_i = min(1, delivered U_i / max_t U_it)``; voters update ``efficacy +=
    evaluation_efficacy_weight * (x_i - efficacy)`` with ``x_i`` the share of their approved
    projects delivered. Voting feeds next year's willingness through ``voted_last``.

Metrics (:meth:`ParticipatoryBudgeting.metrics`; values of the last closed vote, 0.0 before the
first vote closes; ``pb_projects_completed`` is cumulative over the run):

* ``pb_turnout``: voters / all residents (residents of communities with no tabled proposal count
  as not voting); ``pb_turnout_q1..q4``: the same within each literacy quartile (q1 lowest; ranks,
  ties by index); ``pb_turnout_gap``: q4 minus q1.
* ``pb_proposals_offline_share``: proposals raised at offline meetings / all proposals raised.
* ``pb_need_match``: mean over communities with a positive best value of (total true benefit of the
  funded set) / (largest total true benefit of any set of that year's candidate projects -- one
  per type, tabled or not -- within the budget).
* ``pb_representation_gap``: share of the funded projects' total true benefit that goes to
  residents of the bottom literacy quartile, minus that quartile's share of residents (0.0 if
  nothing was funded).
* ``pb_projects_completed``: projects completed since the run began.

Everything per citizen is a NumPy operation; Python loops run over communities and projects only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from govsim.agents.citizen import literacy_quartiles
from govsim.platform.aggregation import (
    approval_utilities,
    best_feasible,
    equal_shares,
    greedy_approval,
)
from govsim.schema import AGE_GROUPS, BudgetingSpec

__all__ = [
    "PB_METRICS",
    "PROJECT_CATALOGUE",
    "CitizenLike",
    "ParticipatoryBudgeting",
    "ProjectType",
    "need_match",
    "offline_share",
    "representation_gap",
    "turnout_metrics",
]

YEAR_DAYS = 365
"""Days in a simulated year: the cycle repeats with this period."""

PB_METRICS: dict[str, str] = {
    "pb_turnout": "participatory-budgeting voters / residents, last closed vote (0 before the first)",
    **{
        f"pb_turnout_q{q}": f"PB voters / residents of literacy quartile {q} (1 lowest), last vote"
        for q in range(1, 5)
    },
    "pb_turnout_gap": "pb_turnout_q4 - pb_turnout_q1",
    "pb_proposals_offline_share": "PB proposals raised at offline meetings / all proposals raised, "
    "last cycle",
    "pb_need_match": "mean over communities of the funded set's total true benefit / the largest "
    "total true benefit of any set of that year's candidate projects within the budget",
    "pb_representation_gap": "share of the funded projects' true benefit going to the bottom "
    "literacy quartile - that quartile's share of residents",
    "pb_projects_completed": "PB projects completed since the run began (cumulative)",
}
"""Every PB metric name with its definition; :meth:`ParticipatoryBudgeting.metrics` returns exactly
these keys (govsim.metrics registers them)."""

COST_SPREAD = 0.3
"""Log-normal sigma of a candidate project's cost around its type's mean cost."""

NEED_SHAPE = 2.0
"""Gamma shape of community and individual need (mean 1, coefficient of variation 0.71)."""


@dataclass(frozen=True)
class ProjectType:
    """A kind of public-good micro-project.

    Attributes:
        name: Short name.
        cost: Mean cost of one project, CNY.
        profile: Benefit weight for the young, middle and old age groups (0..1).
    """

    name: str
    cost: float
    profile: tuple[float, float, float]


PROJECT_CATALOGUE: tuple[ProjectType, ...] = (
    ProjectType("lift_and_barrier_free", 150_000.0, (0.2, 0.5, 1.0)),
    ProjectType("children_playground", 80_000.0, (0.9, 0.4, 0.5)),
    ProjectType("elderly_canteen_room", 100_000.0, (0.1, 0.3, 1.0)),
    ProjectType("greening_public_space", 60_000.0, (0.5, 0.5, 0.6)),
    ProjectType("lighting_and_safety", 40_000.0, (0.6, 0.6, 0.6)),
    ProjectType("fitness_and_sports", 70_000.0, (0.8, 0.6, 0.4)),
    ProjectType("parking_and_paths", 90_000.0, (0.6, 0.8, 0.3)),
    ProjectType("culture_and_learning", 30_000.0, (0.6, 0.5, 0.5)),
)
"""Project types used in order (the first ``project_types`` of them). Costs are typical of
community micro-projects funded by Chengdu's yearly community funds (a few 10,000 CNY); the age
profiles encode the brief's examples (lifts help the old, playgrounds families). Types beyond the
catalogue get a profile drawn uniformly from [0.1, 1] per age group and a mean cost of 70,000 CNY.
Illustrative assumptions: not calibrated."""


def turnout_metrics(voted: NDArray[np.bool_], quartile: NDArray[np.integer]) -> dict[str, float]:
    """``pb_turnout``, ``pb_turnout_q1..q4`` and ``pb_turnout_gap`` of one vote.

    Args:
        voted: Whether each resident voted.
        quartile: Each resident's literacy quartile, 0 (lowest) to 3.

    Returns:
        Share of residents who voted, overall and per quartile (0.0 for an empty group), and the
        gap q4 minus q1.
    """
    v = np.asarray(voted, dtype=bool)
    q = np.asarray(quartile)
    out = {"pb_turnout": float(v.mean()) if v.size else 0.0}
    for k in range(4):
        in_q = q == k
        out[f"pb_turnout_q{k + 1}"] = float(v[in_q].mean()) if in_q.any() else 0.0
    out["pb_turnout_gap"] = out["pb_turnout_q4"] - out["pb_turnout_q1"]
    return out


def need_match(
    costs: NDArray[np.floating],
    values: NDArray[np.floating],
    funded: NDArray[np.bool_],
    budget: float,
) -> float:
    """``pb_need_match``: mean over communities of funded value / best feasible value.

    Args:
        costs: Candidate project costs, shape ``(C, T)``.
        values: Their total true benefit to the community's residents, shape ``(C, T)``.
        funded: Which candidates were funded, shape ``(C, T)``.
        budget: Budget of each community.

    Returns:
        The mean ratio over communities whose best feasible set has positive value (0.0 if none).
    """
    ratios = []
    for c in range(np.shape(costs)[0]):
        _, best = best_feasible(costs[c], values[c], budget)
        if best > 0:
            ratios.append(math.fsum(np.asarray(values[c])[funded[c]].tolist()) / best)
    return float(np.mean(ratios)) if ratios else 0.0


def representation_gap(
    funded_benefit: NDArray[np.floating], quartile: NDArray[np.integer]
) -> float:
    """``pb_representation_gap``: bottom literacy quartile's share of funded benefit minus its
    share of residents.

    Args:
        funded_benefit: Each resident's true benefit from the funded projects.
        quartile: Each resident's literacy quartile, 0 (lowest) to 3.

    Returns:
        The difference, in [-1, 1]; 0.0 when nothing of value was funded.
    """
    b = np.asarray(funded_benefit, dtype=float)
    total = math.fsum(b.tolist())
    if b.size == 0 or total <= 0:
        return 0.0
    bottom = np.asarray(quartile) == 0
    return math.fsum(b[bottom].tolist()) / total - float(bottom.mean())


def offline_share(proposed: NDArray[np.bool_], at_offline: NDArray[np.bool_]) -> float:
    """``pb_proposals_offline_share``: proposals raised offline / all proposals (0.0 if none)."""
    p = np.asarray(proposed, dtype=bool)
    n = int(p.sum())
    return float((p & np.asarray(at_offline, dtype=bool)).sum()) / n if n else 0.0


class CitizenLike(Protocol):
    """What the PB needs from the model's citizens: NumPy arrays of equal length N."""

    literacy: NDArray[np.floating]
    trust: NDArray[np.floating]
    efficacy: NDArray[np.floating]
    age_group: NDArray[np.integer]
    community: NDArray[np.integer]


class ParticipatoryBudgeting:
    """The yearly participatory-budgeting cycle of every community (see the module docstring).

    Args:
        spec: The scenario's ``budgeting`` section.
        citizens: The citizens' arrays; ``trust`` and ``efficacy`` are updated in place.
        n_communities: Number of communities; ``citizens.community`` indexes them.
        rng: The generator every draw comes from.

    Raises:
        ValueError: if the arrays do not match, a community index is out of range, or the phases
            do not fit in a year.
    """

    def __init__(
        self,
        spec: BudgetingSpec,
        citizens: CitizenLike,
        n_communities: int,
        rng: np.random.Generator,
    ) -> None:
        self.spec = spec
        self.citizens = citizens
        self.n_communities = int(n_communities)
        self.rng = rng
        self._check_inputs()
        n = len(citizens.literacy)
        community = np.asarray(citizens.community).astype(np.intp)
        # Residents sorted by community: community c is rows bounds[c]:bounds[c+1] of every
        # per-cycle array, and self._order maps those rows to citizen indices.
        self._order = np.argsort(community, kind="stable")
        self._comm = community[self._order]
        self._bounds = np.searchsorted(self._comm, np.arange(self.n_communities + 1))
        self._size = np.diff(self._bounds)
        self.n = n

        t = spec.project_types
        profiles = np.empty((t, 3))
        cost = np.empty(t)
        for k in range(t):
            if k < len(PROJECT_CATALOGUE):
                profiles[k] = PROJECT_CATALOGUE[k].profile
                cost[k] = PROJECT_CATALOGUE[k].cost
            else:
                profiles[k] = rng.uniform(0.1, 1.0, 3)
                cost[k] = 70_000.0
        self.type_profiles = profiles
        self.type_cost = cost
        self.n_types = t
        self.community_need = rng.gamma(NEED_SHAPE, 1.0 / NEED_SHAPE, (self.n_communities, t))
        self.stock = np.zeros((self.n_communities, t), dtype=np.int64)
        self._avail = np.array([spec.offline_age_availability[g] for g in AGE_GROUPS])

        self.voted_last = np.zeros(n, dtype=bool)  # in sorted order
        self._cycle: int | None = None  # year of the cycle whose data is held
        self._U = np.zeros((0, t), dtype=np.float32)
        self._P = np.zeros((0, t), dtype=np.float32)
        self._cand_cost = np.zeros((self.n_communities, t))
        self._tabled = np.zeros((self.n_communities, t), dtype=bool)
        self._funded = np.zeros((self.n_communities, t), dtype=bool)
        self._proposed = np.zeros(n, dtype=bool)
        self._offline_share = 0.0
        self._voted = np.zeros(n, dtype=bool)
        self._approved = np.zeros((0, t), dtype=bool)

        # Project registry (one entry per funded project, all cycles).
        self._p_comm = np.zeros(0, dtype=np.intp)
        self._p_type = np.zeros(0, dtype=np.intp)
        self._p_cycle = np.zeros(0, dtype=np.int64)
        self._p_status = np.zeros(0, dtype=np.int8)  # 0 queued, 1 under way, 2 completed
        self._p_start = np.zeros(0, dtype=np.int64)
        self._p_mid = np.zeros(0, dtype=np.int64)
        self._p_end = np.zeros(0, dtype=np.int64)

        self.projects_completed = 0
        self.disclosures = 0
        self._metrics: dict[str, float] = dict.fromkeys(PB_METRICS, 0.0)

    # ------------------------------------------------------------------ checks and helpers

    def _check_inputs(self) -> None:
        spec, c = self.spec, self.citizens
        if self.n_communities < 1:
            raise ValueError(
                f"ParticipatoryBudgeting: n_communities must be >= 1 (got {self.n_communities})"
            )
        n = len(c.literacy)
        for name in ("trust", "efficacy", "age_group", "community"):
            if len(getattr(c, name)) != n:
                raise ValueError(
                    f"ParticipatoryBudgeting: citizens.{name} has length {len(getattr(c, name))}, "
                    f"expected {n} like citizens.literacy"
                )
        comm = np.asarray(c.community)
        if n and (comm.min() < 0 or comm.max() >= self.n_communities):
            raise ValueError(
                f"ParticipatoryBudgeting: citizens.community must lie in [0, {self.n_communities}) "
                f"(got {comm.min()}..{comm.max()})"
            )
        age = np.asarray(c.age_group)
        if n and (age.min() < 0 or age.max() > 2):
            raise ValueError("ParticipatoryBudgeting: citizens.age_group must be 0, 1 or 2")
        last = spec.start_day + spec.proposal_days + spec.deliberation_days + spec.voting_days
        if last >= YEAR_DAYS:
            raise ValueError(
                "budgeting: start_day + proposal_days + deliberation_days + voting_days must be "
                f"below {YEAR_DAYS} so that a cycle's vote closes within its year (got {last})"
            )
        missing = [g for g in AGE_GROUPS if g not in spec.offline_age_availability]
        if missing:
            raise ValueError(f"budgeting.offline_age_availability: missing age groups {missing}")

    def _sorted(self, arr: NDArray) -> NDArray:
        """A citizen array in community-sorted order (a copy)."""
        return np.asarray(arr)[self._order]

    def _willingness(self, stake_benefit: NDArray[np.floating]) -> NDArray[np.float64]:
        """Probability of taking part if reached, per resident in sorted order."""
        s = self.spec
        eff = self._sorted(self.citizens.efficacy)
        trust = self._sorted(self.citizens.trust)
        stake = -np.expm1(-np.asarray(stake_benefit, dtype=float))
        z = (
            s.turnout_base
            + s.turnout_efficacy_weight * eff
            + s.turnout_trust_weight * trust
            + s.turnout_stake_weight * stake
            + s.turnout_habit_weight * self.voted_last
        )
        return expit(z)

    def online_access(self, rows: NDArray[np.intp] | None = None) -> NDArray[np.float64]:
        """Chance residents are reached online: their literacy, or 0 where PB is offline-only.

        Args:
            rows: Rows in community-sorted order (all residents if ``None``).
        """
        idx = self._order if rows is None else self._order[rows]
        if not self.spec.online:
            return np.zeros(idx.size)
        return np.clip(np.asarray(self.citizens.literacy, dtype=float)[idx], 0.0, 1.0)

    def offline_access(self, rows: NDArray[np.intp] | None = None) -> NDArray[np.float64]:
        """Chance residents are reached offline: ``offline_reach`` times age availability.

        Args:
            rows: Rows in community-sorted order (all residents if ``None``).
        """
        idx = self._order if rows is None else self._order[rows]
        if not self.spec.offline:
            return np.zeros(idx.size)
        age = np.asarray(self.citizens.age_group)[idx].astype(np.intp)
        return self.spec.offline_reach * self._avail[age]

    def _reach(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """Draw who is reached online and who offline in this phase."""
        on = self.rng.random(self.n) < self.online_access()
        off = self.rng.random(self.n) < self.offline_access()
        return on, off

    def _community_sum(self, values: NDArray[np.floating]) -> NDArray[np.float64]:
        """Sum over residents of each community, column by column: (n, k) -> (C, k)."""
        out = np.zeros((self.n_communities, values.shape[1]))
        for k in range(values.shape[1]):
            out[:, k] = np.bincount(self._comm, weights=values[:, k], minlength=self.n_communities)
        return out

    def _tabled_rows(self) -> NDArray[np.bool_]:
        """Per resident (sorted order), which types are tabled in their community."""
        return self._tabled[self._comm]

    # ------------------------------------------------------------------ the daily step

    def phase_days(self) -> tuple[int, int, int, int]:
        """Day of year of: need collection opens, proposals close, deliberation closes, vote closes."""
        s = self.spec
        a = s.start_day
        b = a + s.proposal_days
        c = b + s.deliberation_days
        return a, b, c, c + s.voting_days

    def step(self, day: int) -> None:
        """Advance the PB by one day; call once per simulated day with consecutive ``day``.

        Args:
            day: Days since the start of the run (0 is the first day); day of year is ``day % 365``.
        """
        if not self.spec.enabled:
            return
        doy = day % YEAR_DAYS
        year = day // YEAR_DAYS
        open_day, prop_close, delib_close, vote_close = self.phase_days()
        if doy == open_day:
            self._evaluate()
            self._collect_needs(year)
        elif self._cycle == year:
            if doy == prop_close:
                self._close_proposals()
            elif doy == delib_close:
                self._deliberate()
            elif doy == vote_close:
                self._vote(day)
        self._implement(day)

    # ------------------------------------------------------------------ phases

    def _collect_needs(self, year: int) -> None:
        """Open a cycle: draw candidate projects, true and perceived benefits."""
        rng, s, t = self.rng, self.spec, self.n_types
        age = self._sorted(self.citizens.age_group).astype(np.intp)
        need_ct = self.community_need / (1.0 + self.stock)
        indiv = rng.gamma(NEED_SHAPE, 1.0 / NEED_SHAPE, (self.n, t))
        u = self.type_profiles[:, age].T * need_ct[self._comm] * indiv
        mean_u = self._community_sum(u) / np.maximum(self._size, 1)[:, None]
        noise = rng.standard_normal((self.n, t))
        p = np.maximum(0.0, u + s.perception_noise * mean_u[self._comm] * noise)
        self._U = u.astype(np.float32)
        self._P = p.astype(np.float32)
        self._cand_cost = self.type_cost[None, :] * rng.lognormal(
            -0.5 * COST_SPREAD**2, COST_SPREAD, (self.n_communities, t)
        )
        self._tabled[:] = False
        self._funded[:] = False
        self._proposed[:] = False
        self._offline_share = 0.0
        self._voted[:] = False
        self._approved = np.zeros((self.n, t), dtype=bool)
        self._cycle = year

    def _close_proposals(self) -> None:
        """Residents who take part raise their most-wanted type; the most-raised are tabled."""
        s, rng, t = self.spec, self.rng, self.n_types
        p = self._P
        top_p = p.max(axis=1) if t else np.zeros(self.n)
        w = self._willingness(top_p)
        on, off = self._reach()
        reached = on | off
        propose = reached & (rng.random(self.n) < s.proposal_propensity * w) & (top_p > 0)
        # Reached by both: file at either with equal chance.
        at_offline = off & (~on | (rng.random(self.n) < 0.5))
        top = np.argmax(p, axis=1)
        counts = np.bincount(
            self._comm[propose] * t + top[propose], minlength=self.n_communities * t
        ).reshape(self.n_communities, t)
        need = np.maximum(1, np.ceil(s.proposal_min_share * self._size))
        order_key = np.arange(t)
        for c in range(self.n_communities):
            ok = np.flatnonzero(counts[c] >= need[c])
            if ok.size == 0:
                continue
            # most raised first; ties by cheaper candidate, then type index
            rank = np.lexsort((order_key[ok], self._cand_cost[c, ok], -counts[c, ok]))
            self._tabled[c, ok[rank[: s.proposals_per_community]]] = True
        self._proposed = propose
        self._offline_share = offline_share(propose, at_offline)  # published with the vote

    def _deliberate(self) -> None:
        """Forum and meeting participants revise perceived benefits toward the true ones."""
        s = self.spec
        tab = self._tabled_rows()
        stake = np.where(tab, self._P, 0.0).max(axis=1) if self.n_types else np.zeros(self.n)
        w = self._willingness(stake)
        on, off = self._reach()
        willing = self.rng.random(self.n) < w
        has_agenda = tab.any(axis=1)
        on &= willing & has_agenda
        off &= willing & has_agenda
        lam = 1.0 - (1.0 - s.deliberation_online * on) * (1.0 - s.deliberation_offline * off)
        self._P += (lam[:, None] * (self._U - self._P)).astype(np.float32)

    def _vote(self, day: int) -> None:
        """Ballots, aggregation, metrics, and funded projects into the implementation queue."""
        s, rng = self.spec, self.rng
        tab = self._tabled_rows()
        pt = np.where(tab, self._P, 0.0)
        best = pt.max(axis=1) if self.n_types else np.zeros(self.n)
        w = self._willingness(best)
        on, off = self._reach()
        vote = (on | off) & (rng.random(self.n) < w) & tab.any(axis=1)
        approve = vote[:, None] & tab & (pt > 0) & (pt >= s.approval_threshold * best[:, None])
        self._voted = vote
        self._approved = approve
        scores = self._community_sum(approve.astype(float))
        budget = float(s.budget_per_community)
        for c in range(self.n_communities):
            cols = np.flatnonzero(self._tabled[c])
            if cols.size == 0:
                continue
            costs = self._cand_cost[c, cols]
            if s.rule == "greedy":
                chosen = greedy_approval(costs, scores[c, cols], budget)
            else:
                lo, hi = self._bounds[c], self._bounds[c + 1]
                ballots = approve[lo:hi][vote[lo:hi]][:, cols]
                chosen = equal_shares(costs, approval_utilities(ballots, costs), budget)
            self._funded[c, cols[chosen]] = True
        self._record_vote_metrics()
        self._enqueue(day)
        self.voted_last = vote.copy()

    def _record_vote_metrics(self) -> None:
        """Turnout by literacy quartile, need-match and representation gap of this vote."""
        q = literacy_quartiles(np.asarray(self.citizens.literacy))[self._order]
        self._metrics.update(turnout_metrics(self._voted, q))
        self._metrics["pb_proposals_offline_share"] = self._offline_share
        value = self._community_sum(self._U.astype(float))  # true total benefit (C, T)
        has_people = self._size > 0
        self._metrics["pb_need_match"] = need_match(
            self._cand_cost[has_people],
            value[has_people],
            self._funded[has_people],
            float(self.spec.budget_per_community),
        )
        funded_benefit = (self._U * self._funded[self._comm]).sum(axis=1, dtype=float)
        self._metrics["pb_representation_gap"] = representation_gap(funded_benefit, q)

    def perception_gap(self) -> float:
        """Mean absolute gap between perceived and true benefit over the held cycle's residents
        and tabled proposals (0.0 when nothing is tabled or no cycle is held)."""
        if self._U.shape[0] != self.n or self.n == 0:
            return 0.0
        tab = self._tabled_rows()
        if not tab.any():
            return 0.0
        return float(np.abs(self._P - self._U)[tab].mean())

    def _enqueue(self, day: int) -> None:
        """Append this cycle's funded projects to the registry (queued) and start what fits."""
        comm, typ = np.nonzero(self._funded)
        k = comm.size
        if k == 0:
            return
        self._p_comm = np.concatenate([self._p_comm, comm.astype(np.intp)])
        self._p_type = np.concatenate([self._p_type, typ.astype(np.intp)])
        self._p_cycle = np.concatenate([self._p_cycle, np.full(k, self._cycle, dtype=np.int64)])
        self._p_status = np.concatenate([self._p_status, np.zeros(k, dtype=np.int8)])
        pad = np.full(k, -1, dtype=np.int64)
        self._p_start = np.concatenate([self._p_start, pad])
        self._p_mid = np.concatenate([self._p_mid, pad])
        self._p_end = np.concatenate([self._p_end, pad])
        self._start_queued(day, np.unique(comm))

    # ------------------------------------------------------------------ implementation

    def _duration(self, k: int) -> NDArray[np.int64]:
        """Implementation times in whole days (at least 1): gamma, mean and CV from the spec."""
        mean, cv = self.spec.implementation_days, self.spec.implementation_cv
        if cv <= 0:
            d = np.full(k, mean)
        else:
            shape = 1.0 / cv**2
            d = self.rng.gamma(shape, mean / shape, k)
        return np.maximum(1, np.rint(d)).astype(np.int64)

    def _start_queued(self, day: int, communities: NDArray[np.integer]) -> None:
        """Start queued projects (first funded, first started) where capacity is free."""
        cap = self.spec.implementation_capacity
        for c in communities:
            here = self._p_comm == c
            running = int(np.count_nonzero(here & (self._p_status == 1)))
            queued = np.flatnonzero(here & (self._p_status == 0))[: max(cap - running, 0)]
            if queued.size == 0:
                continue
            d = self._duration(queued.size)
            self._p_status[queued] = 1
            self._p_start[queued] = day
            self._p_end[queued] = day + d
            self._p_mid[queued] = day + d // 2
            for _ in range(queued.size):
                self._disclose(int(c))

    def _implement(self, day: int) -> None:
        """Complete projects due today, start queued ones, post halfway progress."""
        if self._p_status.size == 0:
            return
        running = self._p_status == 1
        done = np.flatnonzero(running & (self._p_end <= day))
        for j in done:
            self._p_status[j] = 2
            self.stock[self._p_comm[j], self._p_type[j]] += 1
            self.projects_completed += 1
            self._disclose(int(self._p_comm[j]))
        self._metrics["pb_projects_completed"] = float(self.projects_completed)
        if done.size:
            self._start_queued(day, np.unique(self._p_comm[done]))
        for j in np.flatnonzero(
            (self._p_status == 1) & (self._p_mid == day) & (self._p_start < day)
        ):
            self._disclose(int(self._p_comm[j]))

    def disclosure_visibility(self, rows: NDArray[np.intp] | None = None) -> NDArray[np.float64]:
        """Chance residents see a progress post, online or on offline notice boards.

        Args:
            rows: Rows in community-sorted order (all residents if ``None``).
        """
        on, off = self.online_access(rows), self.offline_access(rows)
        return 1.0 - (1.0 - on) * (1.0 - off)

    def _disclose(self, c: int) -> None:
        """One progress post in community ``c``: last vote's voters gain trust as they see it."""
        if not self.spec.disclosure:
            return
        self.disclosures += 1
        lo, hi = self._bounds[c], self._bounds[c + 1]
        voters = self.voted_last[lo:hi]
        if not voters.any():
            return
        rows = np.arange(lo, hi)[voters]
        vis = self.disclosure_visibility(rows)
        idx = self._order[rows]
        trust = self.citizens.trust
        trust[idx] += self.spec.disclosure_trust_gain * vis * (1.0 - trust[idx])

    # ------------------------------------------------------------------ evaluation

    def _evaluate(self) -> None:
        """Evaluate the held cycle: participants' trust, voters' efficacy (in place)."""
        if self._cycle is None or self._U.shape[0] != self.n:
            return
        s = self.spec
        mine = self._p_cycle == self._cycle
        delivered = np.zeros((self.n_communities, self.n_types), dtype=bool)
        done = mine & (self._p_status == 2)
        delivered[self._p_comm[done], self._p_type[done]] = True
        rows_delivered = delivered[self._comm]
        u = self._U.astype(float)
        got = (u * rows_delivered).sum(axis=1)
        top = u.max(axis=1) if self.n_types else np.zeros(self.n)
        part = (self._proposed | self._voted) & (top > 0)
        r = np.minimum(1.0, np.divide(got, top, out=np.zeros(self.n), where=top > 0))
        idx = self._order[part]
        trust = self.citizens.trust
        trust[idx] += s.evaluation_trust_weight * (r[part] - trust[idx])
        n_appr = self._approved.sum(axis=1)
        voters = self._voted & (n_appr > 0)
        x = (self._approved & rows_delivered).sum(axis=1) / np.maximum(n_appr, 1)
        idx = self._order[voters]
        eff = self.citizens.efficacy
        eff[idx] += s.evaluation_efficacy_weight * (x[voters] - eff[idx])

    # ------------------------------------------------------------------ observation

    def metrics(self) -> dict[str, float]:
        """The PB metrics (see the module docstring); never NaN.

        Returns:
            ``{name: value}`` for every name in :data:`PB_METRICS`: values of the last closed
            vote (0.0 before the first), ``pb_projects_completed`` cumulative.
        """
        return dict(self._metrics)
