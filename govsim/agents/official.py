"""Officials (网格员, 社区工作者, 街道干部, department staff) in their units: everything a unit does.

A *unit* is a community office (社区), a street office (街道), a department copy (条) or a district
backstop (兜底); its officials share one day. :class:`OfficialUnits` holds every unit's state as
arrays, one row per unit, and its methods are the units' submodels, in the order of the day:

1. :meth:`OfficialUnits.plan_day` splits each unit's hours (below) and moves burnout;
2. :meth:`OfficialUnits.patrol` finds silent problems in the grids (主动发现), where the hotline
   has been busy lately (:meth:`OfficialUnits.note_hotline`, below);
3. the case engine serves the units' queues with the hours left for handling, and consults the
   units' *acting* propensities case by case (gaming below) and their capability in each
   category (:mod:`govsim.agents.capability`); :meth:`OfficialUnits.end_day` takes in its day
   report, and the units learn from the day's work (or forget under overload);
4. :meth:`OfficialUnits.assess` scores the units every assessment period and lets them learn their
   practices (:mod:`govsim.platform.assessment` holds the indicators and the learning rule).

Each community, street and department is also a Mesa agent (:class:`Office`, and
:class:`govsim.agents.department.Department`): a handle on its row.

**The day.**

Officials of a unit share one pool of platform working hours, ``officials * hours_per_day *
(1 - routine_share) * (1 - loss * burnout)`` (routine duties outside the platform take the rest). Each day the pool is split, in this order of precedence, among:

* **data work** on the platform (指尖上的形式主义): entry time per recorded transition, times the
  number of apps reported to; extra entries for offline-suited matters forced online; daily
  reporting per assessed indicator; check-ins and photos when traces are assessed or practised;
* **assisting** citizens offline (帮办代办): offline intakes and assisted filings;
* **pressure** work: pressed callbacks and persuading withdrawal;
* **deliberation** facilitation (communities);
* **patrol** (grid workers' share, 主动发现);
* **handling** cases: what is left (at least 10% of the pool).

When the fixed demands exceed 90% of the pool they are scaled down proportionally (the work is
done badly or late), so the parts always add up to the pool. Workload is the demanded hours plus
the queued case effort spread over ``backlog_horizon_days`` (the work due today if the backlog is to
be cleared within the horizon), over the pool; above 1 it accumulates burnout (``burnout_rate`` per unit of
overload per day), below it burnout recovers (``recovery_rate`` per day). The hours in use are the
fixed uses plus handling up to the work waiting or arriving that day (units work whenever they
have work).

**Patrols that follow the hotline** (主动发现 tasked by 12345). The platform reports each day's
hotline cases to the communities ``hotline_report_delay_days`` later (the daily digest); each
community keeps an exponentially smoothed memory of them per category (time constant
``hotline_memory_days``) and a slower one of what is usual (``hotline_usual_days``). Its patrol
hours move by ``patrol_follow_hotline * surge``, the surge being its street's recent over usual
activity less 1, clipped to +-``patrol_surge_max`` (the street tasks its grids; quiet spells free
patrol hours for other work), and its patrols look for a category's problems with weight
``1 + patrol_follow_hotline * (the category's share of the recent hotline cases) * categories``.
The lag of patrol discoveries behind the hotline is not set anywhere: it comes from the report
delay, the memory and the persistence of the waves of problems (incidents,
:mod:`govsim.agents.incidents`).

**Competing on the proxy** (Braganza 2022). Each period a unit's *utility* is its felt score
(ranked within its kind: the bottom share penalised, the top share rewarded, a ratchet's target
optionally) less its public-service motivation times the share of its cases it gamed; the
motivation is drawn per unit, so units differ in what gaming costs them. Each practice is a
propensity learned on its own from that utility (reinforcement, imitation of a better-off peer,
exploration), or, with ``learning.selection: false``, from shuffled utilities (the control).

**Gaming as a decision about a case** (Hood 2006). Units act on their practices only where a case
threatens a rate: nominal closure and persuaded withdrawal for cases they expect to finish late or
cannot solve (the engine), pressing at callbacks likely to be negative (the platform's
supervision), extra traces only where traces are scored (the day above). After an assessment in
which a unit's score lay within ``gaming.threshold_band`` of its kind's penalty cut-off, it acts
on ``1 + gaming.threshold_boost`` times its practices (the threshold effect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import numpy as np

from govsim.agents.capability import ServiceCapability
from govsim.cases import ASSISTED, OFFLINE, CaseStore
from govsim.city import BACKSTOP, COMMUNITY, DEPARTMENT, STREET, City
from govsim.metrics import Ledger
from govsim.platform.assessment import (
    AssessmentResult,
    LearningState,
    adapt_practices,
    indicator_validity,
    period_record,
    score_units,
    unit_indicators,
)
from govsim.platform.engine import DayReport
from govsim.schema import EXTRA_TRACES, INDICATORS, PRACTICES, AssessmentSpec, Scenario

MIN_HANDLING_SHARE = 0.1
"""Share of the pool always left for handling cases, however heavy the fixed demands."""
ASSIST_MINUTES = 20.0
"""Minutes of a community worker's time per assisted filing (帮办代办). Assumption."""
OFFLINE_INTAKE_MINUTES = 10.0
"""Minutes per offline intake at a community service centre. Assumption."""
BACKSTOP_STAFF = 2
"""Officials of a district's backstop (兜底) office. Assumption."""
TIME_USES = ("data", "assist", "pressure", "deliberation", "patrol", "handling")
"""The parts of an official's day, in order of precedence."""


@dataclass
class TimeBudget:
    """Hours per unit for one day, by use (each array has one entry per unit)."""

    pool: np.ndarray
    data: np.ndarray
    assist: np.ndarray
    pressure: np.ndarray
    deliberation: np.ndarray
    patrol: np.ndarray
    handling: np.ndarray
    workload: np.ndarray

    def total(self) -> np.ndarray:
        """Sum of all uses (equals ``pool``)."""
        return (
            self.data
            + self.assist
            + self.pressure
            + self.deliberation
            + self.patrol
            + self.handling
        )


def allocate_time(
    pool: np.ndarray,
    data: np.ndarray,
    assist: np.ndarray,
    pressure: np.ndarray,
    deliberation: np.ndarray,
    patrol: np.ndarray,
    queued_effort: np.ndarray,
) -> TimeBudget:
    """Split each unit's pool of hours among the day's uses (see the module docstring).

    Args:
        pool: Working hours available per unit.
        data, assist, pressure, deliberation, patrol: Hours demanded for each use.
        queued_effort: Staff-hours of case work waiting in the unit's queue.

    Returns:
        The day's budget; its parts add up to ``pool``.
    """
    fixed = data + assist + pressure + deliberation + patrol
    cap = (1.0 - MIN_HANDLING_SHARE) * pool
    scale = np.divide(cap, fixed, out=np.ones_like(pool), where=fixed > cap)
    scale = np.minimum(scale, 1.0)
    parts = [x * scale for x in (data, assist, pressure, deliberation, patrol)]
    handling = pool - sum(parts)
    demand = fixed + queued_effort
    workload = np.divide(demand, pool, out=np.zeros_like(pool), where=pool > 0)
    return TimeBudget(pool, *parts, handling=handling, workload=workload)


def update_burnout(
    burnout: np.ndarray, workload: np.ndarray, rate: float, recovery: float
) -> np.ndarray:
    """Burnout grows with overload (workload above 1) and recovers otherwise; stays in [0,1]."""
    over = np.clip(workload - 1.0, 0.0, 1.0)
    new = np.where(over > 0, burnout + rate * over, burnout - recovery)
    return np.clip(new, 0.0, 1.0)


class OfficialUnits:
    """Every unit's officials, one row per unit (the units of :class:`govsim.city.City`).

    Args:
        scenario: The validated scenario.
        city: The city's structure (its units).
        rng: The engine's stream: initial practices and each period's learning draw from it.

    Attributes:
        staff: Officials (servers) per unit.
        grassroots: Whether each unit is a community or street office.
        burnout: Burnout in [0,1] per unit (shared by its officials).
        practices: Gaming-practice propensities per unit, one column per practice
            (:data:`govsim.schema.PRACTICES`); the case engine reads them.
        budget: Today's time budget (``None`` before the first day).
        hours_per_server: Today's handling hours per official (what the case engine serves with).
        last_assessment: The latest period's scores (``None`` before the first).
    """

    def __init__(self, scenario: Scenario, city: City, rng: np.random.Generator) -> None:
        s = scenario
        o = s.officials
        kinds = city.unit_kind
        self.config = s
        self.city = city
        self.staff = np.zeros(city.n_units, dtype=np.int64)
        self.staff[kinds == COMMUNITY] = o.community_workers + s.city.grids_per_community
        self.staff[kinds == STREET] = o.street_officials
        dept_staff = [d.staff for d in s.departments.values()]
        for u in np.flatnonzero(kinds == DEPARTMENT):
            self.staff[u] = dept_staff[city.unit_dept[u]]
        self.staff[kinds == BACKSTOP] = BACKSTOP_STAFF
        learning = s.assessment.learning
        self.practices = np.clip(
            rng.normal(
                learning.initial_gaming,
                learning.initial_gaming / 2,
                size=(city.n_units, len(PRACTICES)),
            ),
            0,
            1,
        )
        self.motivation = np.maximum(
            rng.normal(learning.motivation_mean, learning.motivation_sd, city.n_units), 0.0
        )
        """Public-service motivation per unit: utility lost per unit share of its cases gamed."""
        self.acting = self.practices.copy()
        """The propensities units act on this period: their practices, harder near the penalty
        cut-off (the threshold effect); the case engine and callbacks read them."""
        self.learning_state = LearningState.fresh(city.n_units, len(PRACTICES))
        self.target = np.zeros(city.n_units)
        """Each unit's score target (the ratchet); 0 until first raised."""
        self._recent_scores: list[np.ndarray] = []
        self.validity: list[float] = []
        """Indicator validity (Campbell) of every period so far."""
        self.burnout = np.zeros(city.n_units)
        self.hours_per_server = np.full(city.n_units, o.hours_per_day)
        self.budget: TimeBudget | None = None
        self.in_use = np.zeros(city.n_units)
        """Hours each unit had in use yesterday (see :meth:`end_day`)."""
        self._queued_hours = np.zeros(city.n_units)
        self.backlog_days = np.zeros(city.n_units)
        """Days the work waiting at the day's start would take each unit (units see their queue)."""
        self.last_assessment: AssessmentResult | None = None
        self.grassroots = (kinds == COMMUNITY) | (kinds == STREET)
        self.community_units = np.flatnonzero(kinds == COMMUNITY)
        # what yesterday left for today's plan: intakes at the communities' counters, data entries
        # of recorded transitions, citizens pressed, entries of matters forced online
        self.offline_intakes = np.zeros(city.n_communities)
        self.assisted_intakes = np.zeros(city.n_communities)
        self.entries = np.zeros(city.n_units, dtype=np.int64)
        self.pressed = np.zeros(city.n_units, dtype=np.int64)
        self.forced_entries = np.zeros(city.n_units)
        # summoned tasks done (on time) this assessment period: the streets' reverse assessment
        self.summoned_tasks = np.zeros(city.n_units, dtype=np.int64)
        self.summoned_on_time = np.zeros(city.n_units, dtype=np.int64)
        n_categories = len(s.categories)
        self.capability = ServiceCapability(s, city, n_categories)
        """Capability per unit and category (the case engine reads ``capability.level``)."""
        # the communities' memory of the hotline (patrols that follow it)
        shape = (city.n_communities, n_categories)
        self._hotline_reports = np.zeros((o.hotline_report_delay_days + 1, *shape))
        self.hotline_recent = np.zeros(shape)
        """Smoothed hotline cases per day, per community and category (as reported)."""
        self.hotline_usual = np.zeros(city.n_communities)
        """Smoothed hotline cases per day per community over the longer memory."""
        self._memory_days = 0
        self._reports_seen = 0
        self.patrol_focus = np.ones(shape)
        """Weight with which each community's patrols look for each category's problems."""
        self.patrol_effort = np.ones(city.n_communities)
        """Today's multiplier of each community's patrol hours (1: no surge)."""
        self.reconfigure(s)  # figures of the day that stay the same until the scenario changes

    def reconfigure(self, scenario: Scenario) -> None:
        """Take up the scenario in force (at the start, and when a timeline changes it).

        Refreshes what the day's plan caches from it: the number of assessed indicators and
        whether traces are scored (``assessment.weights``), the routine shares and the monthly
        deliberation hours. Staff and the units' drawn practices and motivation stay as built.

        Args:
            scenario: The scenario in force from now on (:mod:`govsim.timeline`).
        """
        s = self.config = scenario
        o, kinds = s.officials, self.city.unit_kind
        weights = s.assessment.weights
        self._n_indicators = sum(1 for k in INDICATORS if weights.get(k, 0.0) > 0)
        self._traces_assessed = weights.get("traces", 0.0) > 0
        self._routine_share = np.where(
            (kinds == DEPARTMENT) | (kinds == BACKSTOP), o.department_routine_share, o.routine_share
        )
        self._deliberation_hours = np.where(
            kinds == COMMUNITY, s.party.deliberation_hours_per_month / 30.0, 0.0
        )

    # ------------------------------------------------------------------ the day
    def plan_day(self, day: int, queued_work_hours: np.ndarray, ledger: Ledger) -> None:
        """Split every unit's hours among the day's uses from yesterday's demands; move burnout.

        Args:
            day: Today.
            queued_work_hours: Staff-hours of case work waiting in each unit's queue.
            ledger: Where the grassroots' hours, burnout and overload of the day are recorded.
        """
        o = self.config.officials
        kinds = self.city.unit_kind
        hours = o.hours_per_day
        capacity = 1.0 - o.burnout_capacity_loss * self.burnout
        pool = self.staff * hours * (1.0 - self._routine_share) * capacity
        # check-ins and photos only where traces are scored, extra ones as the unit practises
        trace_level = (
            1.0 + self.acting[:, EXTRA_TRACES]
            if self._traces_assessed
            else np.zeros(len(self.staff))
        )
        reporting = o.reporting_minutes_per_indicator * self._n_indicators
        per_official = (reporting + o.trace_minutes * trace_level) / 60.0
        entries = (self.entries + self.forced_entries) * o.entry_minutes_per_transition * o.apps
        self.forced_entries[:] = 0  # counted; today's forced-online cases add tomorrow's
        # only grassroots officials check in and upload traces; everyone reports the indicators
        data = entries / 60.0 + np.where(
            self.grassroots,
            self.staff * per_official,
            self.staff * o.reporting_minutes_per_indicator * self._n_indicators / 60.0,
        )
        community = kinds == COMMUNITY
        assist = np.zeros(self.city.n_units)
        assist[community] = (
            self.offline_intakes * OFFLINE_INTAKE_MINUTES + self.assisted_intakes * ASSIST_MINUTES
        ) / 60.0
        pressure = self.pressed * self.config.gaming.pressure_minutes / 60.0
        grids = self.config.city.grids_per_community
        patrol = np.where(
            community, o.patrol_share * grids * hours * (1.0 - o.routine_share) * capacity, 0.0
        )
        if o.patrol_follow_hotline > 0:
            patrol[self.community_units] *= self.patrol_effort
        backlog_due = queued_work_hours / o.backlog_horizon_days
        budget = allocate_time(
            pool, data, assist, pressure, self._deliberation_hours, patrol, backlog_due
        )
        self.budget = budget
        self._queued_hours = queued_work_hours
        self.burnout = update_burnout(
            self.burnout, budget.workload, o.burnout_rate, o.recovery_rate
        )
        self.hours_per_server = np.maximum(budget.handling / np.maximum(self.staff, 1), 1e-3)
        # days the waiting work would take the unit's servers at today's hours
        self.backlog_days = queued_work_hours / (self.staff * self.hours_per_server)
        self._record_day(day, ledger)

    def _record_day(self, day: int, ledger: Ledger) -> None:
        g = self.grassroots
        b = self.budget
        ledger.data_hours[day] = b.data[g].sum()
        ledger.assist_hours[day] = b.assist[g].sum()
        ledger.pool_hours[day] = b.pool[g].sum()
        w = self.staff[g]
        ledger.burnout_mean[day] = float(np.multiply(self.burnout[g], w).sum() / w.sum())
        ledger.overload_share[day] = float(w[b.workload[g] > 1.0].sum() / w.sum())

    def patrol(
        self,
        community: np.ndarray,
        rate_per_hour: float,
        rng: np.random.Generator,
        category: np.ndarray | None = None,
    ) -> np.ndarray:
        """主动发现: which of today's silent problems the grid workers' patrols find.

        Each community's patrol finds ``Poisson(patrol hours x rate_per_hour)`` of the silent
        problems in its territory, taken in random order, or, when patrols follow the hotline,
        in an order weighted by the community's focus on each category (module docstring).

        Args:
            community: Home community of each silent problem.
            rate_per_hour: Problems found per patrol hour (``officials.patrol_discovery_per_hour``).
            rng: The citizens' stream (discovery is part of the day's problem draws).
            category: Category of each silent problem (needed for the focus).

        Returns:
            A mask over ``community``: found.
        """
        found = np.zeros(len(community), dtype=bool)
        if len(community) == 0 or self.budget is None:
            return found
        expected = self.budget.patrol[self.community_units] * rate_per_hour
        if category is not None and self.config.officials.patrol_follow_hotline > 0:
            # weighted sampling without replacement: exponential keys, rate = the focus weight
            weight = self.patrol_focus[community, category]
            order = np.argsort(rng.standard_exponential(len(community)) / weight, kind="stable")
        else:
            order = rng.permutation(len(community))
        by_community = order[np.argsort(community[order], kind="stable")]
        sorted_comm = community[by_community]
        first = np.searchsorted(sorted_comm, sorted_comm, side="left")
        rank = np.arange(len(community)) - first
        found[by_community[rank < rng.poisson(expected)[sorted_comm]]] = True
        return found

    def note_hotline(self, community: np.ndarray, category: np.ndarray) -> None:
        """Take in today's hotline cases (one entry each): their report reaches the communities
        ``hotline_report_delay_days`` later and moves their memories and patrols (module
        docstring)."""
        o = self.config.officials
        if o.patrol_follow_hotline <= 0:
            return
        reports = self._hotline_reports
        reports[1:] = reports[:-1]
        n_comm, n_cat = self.hotline_recent.shape
        reports[0] = np.bincount(community * n_cat + category, minlength=n_comm * n_cat).reshape(
            n_comm, n_cat
        )
        arrived = reports[-1]
        self._reports_seen += 1
        if self._reports_seen <= o.hotline_report_delay_days:
            return  # no report has reached the communities yet
        self._memory_days += 1
        # exponential smoothing, bias-corrected while the memory is younger than its horizon
        a = 1.0 - math.exp(-1.0 / o.hotline_memory_days)
        b = 1.0 - math.exp(-1.0 / o.hotline_usual_days)
        self.hotline_recent += a * (arrived - self.hotline_recent)
        self.hotline_usual += b * (arrived.sum(axis=1) - self.hotline_usual)
        recent = self.hotline_recent / (1.0 - (1.0 - a) ** self._memory_days)
        total = recent.sum(axis=1)
        # the street tasks its grids (街道 command centre): surges are judged street-wide
        street, n_streets = self.city.community_street, self.city.n_streets
        street_recent = np.bincount(street, weights=total, minlength=n_streets)
        street_usual = np.bincount(street, weights=self.hotline_usual, minlength=n_streets) / (
            1.0 - (1.0 - b) ** self._memory_days
        )
        surge = street_recent / np.maximum(street_usual, 1e-12) - 1.0
        surge[street_usual <= 0] = 0.0
        f, cap = o.patrol_follow_hotline, o.patrol_surge_max
        self.patrol_effort = np.maximum(1.0 + f * np.clip(surge, -cap, cap)[street], 0.0)
        share = recent / np.maximum(total, 1e-12)[:, None]  # 0 where the community had none
        self.patrol_focus = 1.0 + (f * n_cat) * share

    def note_counter_intakes(self, community: np.ndarray, channel: np.ndarray) -> None:
        """Remember today's offline and assisted filings per community (tomorrow's assisting)."""
        n = self.city.n_communities
        self.offline_intakes = np.bincount(community[channel == OFFLINE], minlength=n)
        self.assisted_intakes = np.bincount(community[channel == ASSISTED], minlength=n)

    def note_forced_entries(self, units: np.ndarray, extra_entries: float) -> None:
        """Matters forced online (一网通办 of what belongs offline) add entries at their owners."""
        np.add.at(self.forced_entries, units, extra_entries)

    def note_pressed(self, units: np.ndarray) -> None:
        """Citizens pressed for a good rating by ``units`` (one entry per pressed callback)."""
        self.pressed += np.bincount(units, minlength=len(self.pressed))

    def end_day(self, report: DayReport, day: int, ledger: Ledger) -> None:
        """Take in what the case engine reports of the day's work at the units; record the hours
        in use.

        A unit works on cases whenever it has some (work-conserving), so of its handling hours it
        uses at most the work that waited at the day's start plus the work that reached it during
        the day; its other uses (data work, assisting, pressure, deliberation, patrol) are in use
        by definition.
        """
        b = self.budget
        handling_used = np.minimum(b.handling, self._queued_hours + report.work_hours)
        self.in_use = b.pool - b.handling + handling_used
        g, dept = self.grassroots, self.city.unit_kind == DEPARTMENT
        ledger.in_use_hours[day] = self.in_use[g].sum()
        ledger.dept_in_use_hours[day] = self.in_use[dept].sum()
        ledger.dept_pool_hours[day] = b.pool[dept].sum()
        self.entries = report.entries
        self.pressed = report.pressed_to_withdraw.copy()
        self.summoned_tasks += report.summoned_tasks
        self.summoned_on_time += report.summoned_on_time
        if report.worked is not None:
            self.capability.update(report.worked, b.workload)
        ledger.capability_mean[day] = self.capability.mean()

    # ------------------------------------------------------------------ the assessment period
    def assess(self, now: float, cases: CaseStore, rng: np.random.Generator) -> AssessmentResult:
        """考核: score the period's cases, rank the units, and let them adapt their practices.

        Args:
            now: The end of the period (days).
            cases: The case store; the period's cases are those created in its last
                ``assessment.period_days``.
            rng: The engine's stream (imitation partners, exploration).

        Returns:
            The period's assessment (also kept as :attr:`last_assessment`).
        """
        s, city = self.config, self.city
        lo = cases.first_created_at_or_after(now - s.assessment.period_days)
        period = cases.view(lo)
        indicators, n_cases, caught = unit_indicators(
            period,
            now,
            city.n_units,
            s.closed_loop.response_hours / 24.0,
            self.acting,
        )
        reverse = None
        if s.dispatch.summoning:
            reverse = np.divide(
                self.summoned_on_time,
                self.summoned_tasks,
                out=np.full(city.n_units, np.nan),
                where=self.summoned_tasks > 0,
            )
            self.summoned_on_time[:] = 0
            self.summoned_tasks[:] = 0
        a = s.assessment
        result = score_units(indicators, caught, city.unit_kind, city.unit_vertical, reverse, a)
        felt = result.felt - self._ratchet(result.score)
        record = period_record(period, city.n_units)
        self.validity.append(indicator_validity(result.score, record))
        utility = felt - self.motivation * record.gamed_share
        self.practices[:] = adapt_practices(
            self.practices,
            utility,
            self.learning_state,
            city.unit_kind,
            n_cases > 0,
            a.learning,
            rng,
        )
        self._act_on(result)
        self.last_assessment = result
        return result

    def _ratchet(self, score: np.ndarray) -> np.ndarray:
        """The ratchet's felt penalty this period; raises targets every ``every_periods``."""
        r = self.config.assessment.ratchet
        if not r.enabled:
            return np.zeros(len(score))
        below = score < self.target
        self._recent_scores.append(score)
        if len(self._recent_scores) >= r.every_periods:
            recent = np.mean(self._recent_scores, axis=0)
            self.target += r.step * np.maximum(recent - self.target, 0.0)
            self._recent_scores = []
        return r.penalty * below

    def _act_on(self, result: AssessmentResult) -> None:
        """Next period's acting propensities: the practices, harder near the penalty cut-off."""
        g = self.config.gaming
        near = np.abs(result.score - result.cutoff) <= g.threshold_band  # NaN cut-off: False
        intensity = np.where(near, 1.0 + g.threshold_boost, 1.0)
        self.acting[:] = np.clip(self.practices * intensity[:, None], 0.0, 1.0)

    def time_shares(self, unit: int) -> dict[str, float]:
        """Share of today's working time unit ``unit`` spends on each use."""
        b = self.budget
        if b is None or b.pool[unit] <= 0:
            return dict.fromkeys(TIME_USES, 0.0)
        return {k: float(getattr(b, k)[unit] / b.pool[unit]) for k in TIME_USES}

    # ------------------------------------------------------------------ units held from outside
    def take_decisions(self, decided: dict[int, np.ndarray]) -> None:
        """Units held by players (the classroom room, :mod:`govsim.viz.room`) act this period on
        the practices their players decided, instead of their learned ones (no threshold boost:
        the player decides with the cut-off in view). Other units are left alone; an empty
        mapping changes nothing.

        Args:
            decided: Practices (one value per practice) by held unit index.
        """
        for unit, row in decided.items():
            self.practices[unit] = self.acting[unit] = np.clip(row, 0.0, 1.0)

    def switch_assessment(self, assessment: AssessmentSpec) -> None:
        """Assess by another indicator regime from the next period on (the room's lecturer).

        Args:
            assessment: The new assessment section (keep ``period_days``: the model's schedule
                reads it from the scenario).
        """
        self.config = self.config.model_copy(update={"assessment": assessment})
        self._n_indicators = sum(1 for k in INDICATORS if assessment.weights.get(k, 0.0) > 0)
        self._traces_assessed = assessment.weights.get("traces", 0.0) > 0


class Office(mesa.Agent):
    """A community office (社区) or street office (街道办): a handle on its row of the units.

    Attributes:
        unit: Index of the unit in the city's unit space.
        kind: ``community`` or ``street``.
    """

    def __init__(self, model: mesa.Model, unit: int, kind: str) -> None:
        """Create the office of ``unit``."""
        super().__init__(model)
        self.unit = unit
        self.kind = kind

    @property
    def staff(self) -> int:
        """Officials working in the office (grid workers included in a community)."""
        return int(self.model.officials.staff[self.unit])

    @property
    def burnout(self) -> float:
        """Burnout in [0,1] (shared by the office's officials)."""
        return float(self.model.officials.burnout[self.unit])

    @property
    def practices(self) -> dict[str, float]:
        """The office's current gaming-practice propensities."""
        row = self.model.officials.practices[self.unit]
        return dict(zip(PRACTICES, row.tolist(), strict=True))

    @property
    def time_shares(self) -> dict[str, float]:
        """Share of today's working time spent on each use."""
        return self.model.officials.time_shares(self.unit)
