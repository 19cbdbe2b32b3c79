"""GovernanceModel: a megacity slice where citizens, officials, departments and party organisations
interact through a digital platform. One step is one day.

The day, in order (docs/ODD.md, "Process overview and scheduling"):

1. officials split their day (data work, assisting, pressure, deliberation, patrol, handling) from
   yesterday's workload, and burnout moves;
2. problems arise to citizens (Poisson, by category and age group); each citizen voices or stays
   silent and picks a channel; the hotline's day is evaluated and abandoned callers fall silent;
   grid workers' patrols discover some silent problems; due repeat complaints are filed;
3. consultations are answered at intake; other cases enter dispatch (:mod:`govsim.platform.engine`);
4. street party committees summon departments for stalled cases (吹哨报到), if switched on;
5. the case engine processes the day's routing events and serves every unit's queue;
6. closed cases are called back and rated (pressed where units practise it), citizens learn from
   their outcomes and decide whether to re-file; word of mouth spreads; literacy may grow;
7. participatory budgeting advances its yearly cycle, if switched on;
8. every assessment period units are scored and adapt their practices;
9. metrics are computed and collected.

Citizen state lives in arrays (:class:`govsim.agents.citizen.CitizenArrays`); every citizen,
official, department and party organisation is also a Mesa agent (a view onto that state).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import mesa
import numpy as np

from govsim import metrics as M
from govsim.agents.citizen import (
    Citizen,
    CitizenArrays,
    build_population,
    channel_costs,
    choose_channels,
    learn_from_outcomes,
    voice_probability,
    word_of_mouth,
)
from govsim.agents.department import Department
from govsim.agents.official import (
    ASSIST_MINUTES,
    OFFLINE_INTAKE_MINUTES,
    Official,
    TimeBudget,
    allocate_time,
    update_burnout,
)
from govsim.agents.party import PartyOrganisation, summon_stalled_cases
from govsim.cases import ASSISTED, CLOSED, HOTLINE, OFFLINE, PATROL, WITHDRAWN, CaseStore
from govsim.city import BACKSTOP, COMMUNITY, DEPARTMENT, STREET, City
from govsim.platform.assessment import adapt_practices, score_units, unit_indicators
from govsim.platform.budgeting import ParticipatoryBudgeting
from govsim.platform.engine import CaseEngine
from govsim.platform.intake import HotlineDay, hotline_day
from govsim.schema import INDICATORS, Scenario

BACKSTOP_STAFF = 2
UNOWNED_SHARE_OF_MISCLASSIFIED = 0.2
"""Of misclassified cases, the share that end up with no clear owner at all."""


def read_metric(model: GovernanceModel, name: str) -> float:
    """DataCollector reporter: today's value of metric ``name`` (bound with functools.partial)."""
    return model.metrics.get(name, float("nan"))


def _as_scenario(
    scenario: Scenario | str | dict | None, overrides: dict[str, Any] | None
) -> Scenario:
    from govsim.config import load_scenario, scenario_from_dict, scenario_to_dict, set_path

    if scenario is None:
        scenario = "baseline"
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    elif isinstance(scenario, dict):
        scenario = scenario_from_dict(scenario)
    if overrides:
        data = scenario_to_dict(scenario)
        for k, v in overrides.items():
            data = set_path(data, k, v)
        scenario = scenario_from_dict(data)
    return scenario


class GovernanceModel(mesa.Model):
    """The govsim model (see the module docstring for the daily schedule).

    Args:
        scenario: A validated :class:`~govsim.schema.Scenario`, a packaged scenario name or path,
            or a plain dict (default: the packaged ``baseline``).
        rng: Seed or generator; defaults to the scenario's ``seed``.
        overrides: Dotted-path overrides applied to the scenario (e.g. ``{"dispatch.mode": "unified"}``).
        daily_metrics: Compute the metrics and collect them every day (``metrics``, the time
            series). Without them nothing else changes (metrics only read the model) and
            :meth:`summary` is the same; a run that keeps only its summary, like a sweep's,
            is about a fifth faster at 10,000 citizens.
    """

    def __init__(
        self,
        *,
        scenario: Scenario | str | dict | None = None,
        rng: int | np.random.Generator | None = None,
        overrides: dict[str, Any] | None = None,
        daily_metrics: bool = True,
    ) -> None:
        s = _as_scenario(scenario, overrides)
        super().__init__(rng=s.seed if rng is None else rng)
        self.config = s  # (Mesa 3.5 reserves `scenario` for its own Scenario class)
        self.horizon = s.days
        streams = self.rng.spawn(4)
        self._rng_pop, self._rng_engine, self._rng_citizens, self._rng_pb = streams
        self.day = 0
        self.daily_metrics = daily_metrics
        self.metrics: dict[str, float] = {}
        # room for a year's problems at the categories' rates (cases are fewer: some problems
        # stay silent); the store doubles if a run needs more. Preallocating far more costs
        # memory and time: at 1M citizens the old 0.01/citizen-day took 2 s and ~1 GB.
        per_citizen_day = sum(
            c.rate * max(1.0, c.old_rate_multiplier) for c in s.categories.values()
        )
        expected = s.population.citizens * per_citizen_day * min(s.days, 365)
        if s.queue.enabled:
            expected = s.queue.arrival_rate * min(s.days, 365)
        self.cases = CaseStore(capacity=max(1024, int(1.1 * expected)))
        self.ledger = M.Ledger(s.days + 1)
        self.time_budget: TimeBudget | None = None
        self.hotline = HotlineDay(0, 1.0, 0.0, 0.0)
        self._refiles: dict[int, list[tuple[float, int]]] = {}
        self.last_assessment = None
        self.pb: ParticipatoryBudgeting | None = None
        if s.queue.enabled:
            self._init_queue_mode()
        else:
            self._init_city()
        self.datacollector = mesa.DataCollector(
            model_reporters={k: partial(read_metric, name=k) for k in self.metric_names()}
        )

    # ------------------------------------------------------------------ construction
    def _init_queue_mode(self) -> None:
        s = self.config
        self.city = None
        self.citizens = None
        self.engine = CaseEngine(
            s, _queue_city(s), self.cases, np.array([s.queue.servers]), self._rng_engine
        )
        self.hours_per_server = np.array([1.0])

    def _init_city(self) -> None:
        s = self.config
        self.city = city = City.build(s)
        self.citizens: CitizenArrays = build_population(
            s.population, city.n_grids, city.grid_community, self._rng_pop
        )
        self.n_communities = city.n_communities
        o = s.officials
        kinds = city.unit_kind
        staff = np.zeros(city.n_units, dtype=np.int64)
        grids_per = s.city.grids_per_community
        staff[kinds == COMMUNITY] = o.community_workers + grids_per
        staff[kinds == STREET] = o.street_officials
        for u in np.flatnonzero(kinds == DEPARTMENT):
            staff[u] = list(s.departments.values())[city.unit_dept[u]].staff
        staff[kinds == BACKSTOP] = BACKSTOP_STAFF
        self.staff = staff
        self.engine = CaseEngine(s, city, self.cases, staff, self._rng_engine)
        self.engine.practices[:] = np.clip(
            self._rng_engine.normal(
                s.assessment.learning.initial_gaming,
                s.assessment.learning.initial_gaming / 2,
                size=self.engine.practices.shape,
            ),
            0,
            1,
        )
        self.unit_burnout = np.zeros(city.n_units)
        self.hours_per_server = np.full(city.n_units, o.hours_per_day)
        self.offline_intakes = np.zeros(city.n_communities)
        self.assisted_intakes = np.zeros(city.n_communities)
        self.grassroots = (kinds == COMMUNITY) | (kinds == STREET)
        # figures of the officials' day that stay the same all run
        weights = s.assessment.weights
        self._n_indicators = sum(1 for k in INDICATORS if weights.get(k, 0.0) > 0)
        self._traces_assessed = weights.get("traces", 0.0) > 0
        self._deliberation_hours = np.where(
            kinds == COMMUNITY, s.party.deliberation_hours_per_month / 30.0, 0.0
        )
        # categories as arrays
        cats = list(s.categories.values())
        self.cat_names = list(s.categories)
        self.cat_rate = np.array([c.rate for c in cats])
        self.cat_old_mult = np.array([c.old_rate_multiplier for c in cats])
        self.cat_consult = np.array([c.consultation for c in cats])
        self.cat_severity = np.array([c.severity for c in cats])
        self.cat_effort = np.array([c.effort_hours for c in cats])
        self.cat_offline = np.array([c.offline_suited for c in cats])
        self.cat_unsolvable = np.array([c.unsolvable_share for c in cats])
        self.cat_deadline = np.array([s.closed_loop.deadline_hours[c.urgency] / 24.0 for c in cats])
        self.cat_owners = [c.owners for c in cats]
        self._age_index = [np.flatnonzero(self.citizens.age_group == g) for g in range(3)]
        # each age group's multiplier of the category rates (the old have their own)
        self._age_rate_mult = [np.where(g == 2, self.cat_old_mult, 1.0) for g in range(3)]
        self._cat_codes = np.arange(len(cats))
        self._community_units = np.flatnonzero(kinds == COMMUNITY)
        # Mesa agents: views onto the arrays
        Citizen.create_views(self, self.citizens.n)
        for u in self._community_units:
            for _ in range(grids_per):
                Official(self, int(u), "grid_worker")
            for _ in range(o.community_workers):
                Official(self, int(u), "community_worker")
        for u in np.flatnonzero(kinds == STREET):
            for _ in range(o.street_officials):
                Official(self, int(u), "street_official")
        for u in np.flatnonzero(kinds == DEPARTMENT):
            Department(
                self, int(u), city.dept_names[city.unit_dept[u]], bool(city.unit_vertical[u])
            )
        self.street_party = [PartyOrganisation(self, "street", k) for k in range(city.n_streets)]
        self.community_party = [
            PartyOrganisation(self, "community", k) for k in range(city.n_communities)
        ]
        if s.budgeting.enabled:
            self.pb = ParticipatoryBudgeting(
                s.budgeting, self.citizens, city.n_communities, self._rng_pb
            )

    # ------------------------------------------------------------------ the day
    def step(self) -> None:
        """Advance one day (see the module docstring)."""
        if self.config.queue.enabled:
            self._step_queue()
        else:
            self._step_city()
        self.day += 1
        if self.daily_metrics:
            self._compute_metrics()
            self.datacollector.collect(self)

    def _step_queue(self) -> None:
        q = self.config.queue
        rng = self._rng_engine
        d = self.day
        self.ledger.ensure(d)
        n = int(rng.poisson(q.arrival_rate))
        t = np.sort(rng.uniform(d, d + 1, n))
        ids = self.cases.add(
            t_created=t,
            citizen=np.full(n, -1),
            category=np.zeros(n, np.int16),
            channel=np.full(n, HOTLINE, np.int8),
            consultation=np.zeros(n, bool),
            deadline=t + 1e9,
            owner_units=np.ones(n, np.int8),
            quartile=np.full(n, -1, np.int8),
            age_group=np.full(n, -1, np.int8),
        )
        self.engine.enqueue_direct(ids, rng.exponential(1.0 / q.service_rate, n))
        self.engine.run_day(d, self.hours_per_server)
        self.ledger.problems[d] = n
        self.ledger.reached[d] = n

    def _step_city(self) -> None:
        s = self.config
        d = self.day
        self.ledger.ensure(d)
        self._plan_officials_day()
        new = self._new_problems(d)
        self._file_cases(d, new)
        if s.dispatch.summoning:
            summon_stalled_cases(self, float(d))
        self.engine.run_day(d, self.hours_per_server)
        self._after_closures(d)
        word_of_mouth(self.citizens, s.citizens.word_of_mouth)
        if self.pb is not None:
            self.pb.step(d)
        if s.population.literacy_training_rate > 0:
            c = self.citizens
            c.literacy += s.population.literacy_training_rate / 365.0 * (1.0 - c.literacy)
            if d % 30 == 0:
                c.refresh_quartiles()
        if (d + 1) % s.assessment.period_days == 0:
            self._assess(d + 1.0)

    def _plan_officials_day(self) -> None:
        s, o, city, eng = self.config, self.config.officials, self.city, self.engine
        kinds = city.unit_kind
        H = o.hours_per_day
        cap_factor = 1.0 - o.burnout_capacity_loss * self.unit_burnout
        pool = self.staff * H * (1.0 - o.routine_share) * cap_factor
        n_ind, traces_assessed = self._n_indicators, self._traces_assessed
        trace_level = (1.0 if traces_assessed else 0.0) + eng.practices[:, 3]
        per_official = (
            o.reporting_minutes_per_indicator * n_ind + o.trace_minutes * trace_level
        ) / 60.0
        entries = (
            (eng.transitions + eng.forced_entries_today)
            * o.entry_minutes_per_transition
            * o.apps
            / 60.0
        )
        eng.forced_entries_today[:] = 0  # counted; today's forced-online cases add tomorrow's
        data = entries + np.where(
            self.grassroots,
            self.staff * per_official,
            self.staff * o.reporting_minutes_per_indicator * n_ind / 60.0,
        )
        assist = np.zeros(city.n_units)
        comm = kinds == COMMUNITY
        assist[comm] = (
            self.offline_intakes * OFFLINE_INTAKE_MINUTES + self.assisted_intakes * ASSIST_MINUTES
        ) / 60.0
        pressure = eng.pressed_today * s.gaming.pressure_minutes / 60.0
        delib = self._deliberation_hours
        patrol = np.where(
            comm,
            o.patrol_share * s.city.grids_per_community * H * (1.0 - o.routine_share) * cap_factor,
            0.0,
        )
        queued = eng.service.pending_work_hours()
        b = allocate_time(pool, data, assist, pressure, delib, patrol, queued)
        self.time_budget = b
        self.unit_burnout = update_burnout(
            self.unit_burnout, b.workload, o.burnout_rate, o.recovery_rate
        )
        self.hours_per_server = np.maximum(b.handling / np.maximum(self.staff, 1), 1e-3)
        g = self.grassroots
        L, d = self.ledger, self.day
        L.data_hours[d] = b.data[g].sum()
        L.assist_hours[d] = b.assist[g].sum()
        L.pool_hours[d] = b.pool[g].sum()
        w = self.staff[g]
        # np.average's arithmetic, without its overhead (~100 us a call)
        L.burnout_mean[d] = float(np.multiply(self.unit_burnout[g], w).sum() / w.sum())
        L.overload_share[d] = float(w[b.workload[g] > 1.0].sum() / w.sum())

    def _new_problems(self, d: int) -> dict[str, np.ndarray]:
        """Draw today's problems, voice decisions, channels, patrol discoveries (vectorised)."""
        s, c, rng = self.config, self.citizens, self._rng_citizens
        who, cat = [], []
        for g in range(3):
            idx = self._age_index[g]
            if len(idx) == 0:
                continue
            counts = rng.poisson(self.cat_rate * self._age_rate_mult[g] * len(idx))
            tot = int(counts.sum())
            if tot:
                who.append(idx[rng.integers(0, len(idx), tot)])
                cat.append(np.repeat(self._cat_codes, counts))
        if not who:  # no new problem today (repeat complaints may still be due: same keys)
            none = np.zeros(0, np.int64)
            return {
                "citizen": none,
                "category": none,
                "t": np.zeros(0),
                "channel": np.zeros(0, np.int8),
                "repeat_of": none,
            }
        who = np.concatenate(who)
        cat = np.concatenate(cat)
        n = len(who)
        t = d + rng.random(n)
        ch = s.channels
        helper = np.zeros(n, dtype=bool)
        if ch.assisted:
            vols = ch.volunteers_per_community if s.party.branch_volunteers_active else 0.0
            # helpers (grid workers + volunteers) per community saturate: 1 - exp(-helpers / 5)
            reach = ch.assisted_reach * (1.0 - np.exp(-(s.city.grids_per_community + vols) / 5.0))
            helper = rng.random(n) < reach
        costs = channel_costs(
            c.literacy[who],
            c.age_group[who],
            s.citizens,
            ch,
            self.hotline.expected_wait_minutes,
            helper,
            self.hotline.abandon_probability,
        )
        min_cost = costs.min(axis=1)
        p = voice_probability(
            c.efficacy[who], c.trust[who], self.cat_severity[cat], min_cost, s.citizens
        )
        voiced = rng.random(n) < p
        channel = np.full(n, -1, dtype=np.int8)
        if voiced.any():
            channel[voiced] = choose_channels(
                costs[voiced], s.citizens.channel_choice_sharpness, rng
            )
        calls = int((channel == HOTLINE).sum())
        self.hotline = hotline_day(
            calls,
            ch.hotline_operators if ch.hotline else 0,
            ch.hotline_calls_per_operator,
            ch.hotline_answer_standard_s,
            ch.hotline_patience_minutes,
        )
        if calls:
            L = self.ledger
            L.hotline_within[d] = self.hotline.answered_within_standard
            abandon = (channel == HOTLINE) & (rng.random(n) < self.hotline.abandon_probability)
            voiced &= ~abandon
            channel[abandon] = -1
        reached = voiced.copy()
        # patrol discovery of silent, non-consultation problems (主动发现)
        silent = np.flatnonzero(~voiced & ~self.cat_consult[cat])
        if len(silent) and self.time_budget is not None:
            patrol_h = self.time_budget.patrol[self._community_units]
            lam = patrol_h * s.officials.patrol_discovery_per_hour
            comm = c.community[who[silent]]
            order = rng.permutation(len(silent))
            silent, comm = silent[order], comm[order]
            srt = np.argsort(comm, kind="stable")
            silent, comm = silent[srt], comm[srt]
            first = np.searchsorted(comm, comm, side="left")
            rank = np.arange(len(silent)) - first
            found = rank < rng.poisson(lam)[comm]
            disc = silent[found]
            reached[disc] = True
            channel[disc] = PATROL
        # ledger of problems and voice
        L, q, g = self.ledger, c.quartile[who], c.age_group[who]
        nc = ~self.cat_consult[cat]
        L.problems_q[d] += np.bincount(q, minlength=4)  # counts, as np.add.at(row, q, 1)
        L.voiced_q[d] += np.bincount(q[voiced], minlength=4)
        L.problems_nc_q[d] += np.bincount(q[nc], minlength=4)
        L.problems_g[d] += np.bincount(g, minlength=3)
        L.voiced_g[d] += np.bincount(g[voiced], minlength=3)
        L.problems_nc_g[d] += np.bincount(g[nc], minlength=3)
        L.problems[d] = n
        L.reached[d] = reached.sum()
        # offline and assisted intake load on communities (for tomorrow's time budget)
        comm_of = c.community[who]
        self.offline_intakes = np.bincount(
            comm_of[channel == OFFLINE], minlength=self.city.n_communities
        )
        self.assisted_intakes = np.bincount(
            comm_of[channel == ASSISTED], minlength=self.city.n_communities
        )
        keep = reached
        return {
            "citizen": who[keep],
            "category": cat[keep],
            "t": t[keep],
            "channel": channel[keep],
            "repeat_of": np.full(int(keep.sum()), -1, np.int64),
        }

    def _file_cases(self, d: int, new: dict[str, np.ndarray]) -> None:
        """Add today's cases (new problems plus due repeat complaints) and dispatch them."""
        s, c, st = self.config, self.citizens, self.cases
        due = self._refiles.pop(d, [])
        if due:
            t_r = np.array([x[0] for x in due])
            old = np.array([x[1] for x in due], dtype=np.int64)
            new = {
                "citizen": np.concatenate([new["citizen"], st.citizen[old]]),
                "category": np.concatenate([new["category"], st.category[old].astype(np.int64)]),
                "t": np.concatenate([new["t"], t_r]),
                "channel": np.concatenate([new["channel"], st.channel[old]]),
                "repeat_of": np.concatenate([new["repeat_of"], old]),
            }
        if len(new["citizen"]) == 0:
            return
        order = np.argsort(new["t"], kind="stable")
        who, cat, t = new["citizen"][order], new["category"][order], new["t"][order]
        chan, rep = new["channel"][order], new["repeat_of"][order]
        consult = self.cat_consult[cat]
        ids = st.add(
            t_created=t,
            citizen=who,
            category=cat.astype(np.int16),
            channel=chan.astype(np.int8),
            consultation=consult,
            deadline=t + self.cat_deadline[cat],
            owner_units=self._owner_table()[1][cat],
            quartile=c.quartile[who],
            age_group=c.age_group[who],
            repeat_of=rep,
        )
        # consultations are answered at intake (接诉即答)
        cid = ids[consult]
        st.t_closed[cid] = t[consult]
        st.t_solved[cid] = t[consult]
        st.solved[cid] = True
        st.set_states(cid, CLOSED)
        # the rest enter dispatch
        m = ~consult
        if not m.any():
            return
        rng = self._rng_engine
        ids_nc, who_nc, cat_nc = ids[m], who[m], cat[m]
        comm = c.community[who_nc]
        street = self.city.community_street[comm]
        owner_lists = self._owner_table()[0][cat_nc, comm]  # (cases, owners), -1 padded
        solvable = rng.random(len(ids_nc)) >= self.cat_unsolvable[cat_nc]
        unowned = (
            rng.random(len(ids_nc))
            < (1 - s.dispatch.classification_accuracy) * UNOWNED_SHARE_OF_MISCLASSIFIED
        )
        forced = self.cat_offline[cat_nc] & s.boundary.force_online
        st.forced_online[ids_nc] = forced
        if forced.any():
            units = owner_lists[:, 0]
            np.add.at(
                self.engine.forced_entries_today,
                units[forced],
                s.boundary.forced_online_extra_entries,
            )
        self.engine.register(
            ids_nc,
            owner_lists,
            solvable,
            self.cat_offline[cat_nc],
            street,
            self.cat_effort[cat_nc],
            unowned,
        )

    def _owner_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Owner units of every (category, community), -1 padded, and owners per category.

        Built once from :meth:`_owner_units`, so that filing a day's cases is a lookup.
        """
        if getattr(self, "_owner_tab", None) is None:
            city = self.city
            n_own = np.array([len(o) for o in self.cat_owners], dtype=np.int8)
            tab = np.full((len(self.cat_owners), city.n_communities, max(1, n_own.max())), -1)
            for k, owners in enumerate(self.cat_owners):
                for cm in range(city.n_communities):
                    sr = int(city.community_street[cm])
                    di = int(city.street_district[sr])
                    units = self._owner_units(owners, cm, sr, di)
                    tab[k, cm, : len(units)] = units
            self._owner_tab = (tab, n_own)
        return self._owner_tab

    def _owner_units(self, owners: list[str], comm: int, street: int, district: int) -> list[int]:
        city = self.city
        out = []
        for o in owners:
            if o == "community":
                out.append(comm)
            elif o == "street":
                out.append(city.n_communities + street)
            else:
                out.append(int(city.dept_unit[city.dept_names.index(o), district]))
        return out

    def _after_closures(self, d: int) -> None:
        """Callbacks, ratings, citizens' learning and repeat complaints for today's closures."""
        s, st, eng, rng = self.config, self.cases, self.engine, self._rng_citizens
        closed = np.array(eng.closed_today, dtype=np.int64)
        if len(closed) == 0:
            return
        beh = s.citizens
        solved = st.solved[closed]
        late = st.t_closed[closed] > st.deadline[closed]
        withdrawn = st.state[closed] == WITHDRAWN
        p_true = np.where(
            solved,
            np.where(late, beh.satisfied_if_late, beh.satisfied_if_solved),
            beh.satisfied_if_unsolved,
        )
        true_sat = rng.random(len(closed)) < p_true
        st.true_satisfied[closed] = true_sat & ~withdrawn
        outcome = np.where(solved, np.where(late, beh.late_solved_value, 1.0), 0.0)
        pressed = np.zeros(len(closed), dtype=bool)
        if s.closed_loop.callback:
            rated = ~withdrawn
            unit = st.unit[closed]
            sp = eng.practices[unit, 1]
            pressed = rated & (rng.random(len(closed)) < sp)
            flip = pressed & ~true_sat & (rng.random(len(closed)) < s.gaming.pressure_effect)
            st.rated[closed] = rated
            st.reported_satisfied[closed] = rated & (true_sat | flip)
            st.pressed[closed] = pressed
            eng.pressed_today += np.bincount(unit[pressed], minlength=len(eng.pressed_today))
        who = st.citizen[closed]
        learn_from_outcomes(self.citizens, who, outcome, beh)
        # being pressed for a rating or to withdraw costs trust on top of the outcome itself
        hurt = who[pressed | withdrawn]
        if len(hurt):
            trust = self.citizens.trust
            np.subtract.at(trust, hurt, beh.pressure_trust_cost)
            # the cost can push only the hurt below 0 (every other update is a convex step toward
            # a value in [0,1]), so clip them alone rather than the whole population every day
            trust[hurt] = np.clip(trust[hurt], 0.0, 1.0)
        # repeat complaints: closed unsolved (or withdrawn) and not a consultation
        unsolved = ~solved & ~st.consultation[closed]
        p_refile = beh.refile_propensity * self.citizens.efficacy[who]
        refile = unsolved & (rng.random(len(closed)) < p_refile)
        again = closed[refile]
        # one draw per repeat complaint, in the same order and stream as a scalar draw each
        t_new = (st.t_closed[again] + 1.0 + rng.exponential(2.0, len(again))).tolist()
        for case, t in zip(again.tolist(), t_new, strict=True):
            self._refiles.setdefault(int(t), []).append((t, case))

    def _assess(self, now: float) -> None:
        s, st, eng, city = self.config, self.cases, self.engine, self.city
        lo = st.first_created_at_or_after(now - s.assessment.period_days)
        v = st.view(lo)
        ind, n_cases, caught = unit_indicators(
            v, now, city.n_units, s.closed_loop.response_hours / 24.0, eng.practices
        )
        reverse = None
        if s.dispatch.summoning:
            reverse = np.divide(
                eng.summoned_on_time,
                eng.summoned_tasks,
                out=np.full(city.n_units, np.nan),
                where=eng.summoned_tasks > 0,
            )
            eng.summoned_on_time[:] = 0
            eng.summoned_tasks[:] = 0
        res = score_units(ind, caught, city.unit_kind, city.unit_vertical, reverse, s)
        eng.practices = adapt_practices(
            eng.practices, res.felt, city.unit_kind, n_cases > 0, s, self._rng_engine
        )
        self.last_assessment = res

    # ------------------------------------------------------------------ metrics
    def metric_names(self) -> list[str]:
        """Names of the metrics this model reports (see govsim.metrics.METRICS)."""
        if self.config.queue.enabled:
            return ["cases_reported", "backlog", *M.QUEUE_METRICS]
        return [k for k in M.METRICS if self.pb is not None or k not in M.PB_METRICS]

    def _compute_metrics(self) -> None:
        now = float(self.day)
        st = self.cases
        today = st.first_created_at_or_after(now - 1.0)
        out: dict[str, float] = {
            "cases_reported": float(st.n - today),
            "backlog": float(M.open_backlog(st.state_counts)),
        }
        if self.config.queue.enabled:
            out.update(M.queue_metrics(st.view(), warmup=0.0))
            self.metrics = {k: out[k] for k in self.metric_names()}
            return
        lo_day = max(0, self.day - M.WINDOW_DAYS)
        v = st.view(st.first_created_at_or_after(float(lo_day)))
        out.update(self._window_metrics(v, now, lo_day, self.day))
        self.metrics = out

    def _window_metrics(self, v, now: float, lo_day: int, hi_day: int) -> dict[str, float]:
        s = self.config
        out: dict[str, float] = {}
        out.update(M.intake_metrics(v))
        out.update(M.responsiveness_metrics(v, now, s.closed_loop.response_hours / 24.0))
        out.update(M.satisfaction_metrics(v))
        out.update(M.ledger_metrics(self.ledger, lo_day, hi_day))
        out.update(M.equity_metrics(v, self.ledger, lo_day, hi_day))
        out.update(M.equity_gaps(out))
        out["dsi"] = M.dsi(out, s.metrics.dsi_weights)
        out["trust_mean"] = float(self.citizens.trust.mean())
        out["efficacy_mean"] = float(self.citizens.efficacy.mean())
        if self.pb is not None:
            out.update(self.pb.metrics())
        pr = self.engine.practices
        for i, name in enumerate(
            ("nominal_closure", "satisfaction_pressure", "persuade_withdrawal", "extra_traces")
        ):
            out[f"practice_{name}"] = M.mean_of(pr[:, i])
        return out

    def summary(self) -> dict[str, float]:
        """End-of-run metrics: case rates over the settled cohort, counts over the whole run."""
        st = self.cases
        now = float(self.day)
        if self.config.queue.enabled:
            warm = 0.1 * self.day
            out = {"cases_reported": float(st.n), "backlog": float(M.open_backlog(st.state_counts))}
            out.update(M.queue_metrics(st.view(), warmup=warm))
            return out
        settle_end = self.day - M.SETTLE_DAYS if self.day > 2 * M.SETTLE_DAYS else self.day
        v = st.view(0, st.first_created_at_or_after(float(settle_end)))
        out = {"cases_reported": float(st.n), "backlog": float(M.open_backlog(st.state_counts))}
        # ledger rows over the same settled window as the cases, so group rates match their cohort
        out.update(self._window_metrics(v, now, 0, max(settle_end, 1)))
        if not self.daily_metrics and self.day > 0:
            self._compute_metrics()  # the last day's, as a daily run would have them now
        out["official_burnout_mean"] = self.metrics.get("official_burnout_mean", float("nan"))
        return out

    def timeseries(self):
        """The daily metrics as a DataFrame (column ``day`` first)."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df.insert(0, "day", np.arange(1, len(df) + 1))
        return df

    def community_open_cases(self) -> np.ndarray:
        """Open non-consultation cases per community (by the citizen's home), for city views."""
        st = self.cases
        open_ = st.is_open() & ~st.consultation[: st.n] & (st.citizen[: st.n] >= 0)
        return np.bincount(
            self.citizens.community[st.citizen[: st.n][open_]], minlength=self.city.n_communities
        )


def _queue_city(s: Scenario):
    """A one-unit 'city' for the M/M/c validation mode."""
    import dataclasses

    c = City.build(s.model_copy(update={"departments": {}}))
    return dataclasses.replace(
        c,
        unit_kind=np.array([DEPARTMENT], dtype=np.int8),
        unit_district=np.array([0]),
        unit_name=["queue"],
        unit_dept=np.array([-1]),
        unit_vertical=np.array([False]),
    )
