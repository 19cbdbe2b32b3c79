"""GovernanceModel: a megacity slice where citizens, officials, departments and party organisations
interact through a digital platform. One step is one day.

:meth:`GovernanceModel.step` is the schedule (docs/ODD.md, "Process overview and scheduling", points
here): each line calls the submodel of the actor that does it, and each actor's module says what it
does and why:

* citizens: :mod:`govsim.agents.citizen` (:class:`~govsim.agents.citizen.Citizens`);
* officials in their units: :mod:`govsim.agents.official`; departments:
  :mod:`govsim.agents.department`; party committees: :mod:`govsim.agents.party`;
* the platform: intake and filing :mod:`govsim.platform.intake`, dispatch and service
  :mod:`govsim.platform.engine`, callbacks :mod:`govsim.platform.supervision`, assessment
  :mod:`govsim.platform.assessment`, participatory budgeting :mod:`govsim.platform.budgeting`.

The M/M/c validation queue (``queue.enabled``) is a model of its own,
:class:`govsim.queue_model.QueueModel`.
"""

from __future__ import annotations

from functools import cached_property, partial
from typing import Any

import mesa
import numpy as np

from govsim import metrics as M
from govsim.agents.citizen import Citizen, Citizens, Problems
from govsim.agents.department import Department
from govsim.agents.incidents import Incidents
from govsim.agents.official import Office, OfficialUnits
from govsim.agents.party import StreetCommittee, summon_departments
from govsim.agents.patience import Patience
from govsim.cases import HOTLINE, PATROL, WITHDRAWN, CaseStore
from govsim.categories import Categories
from govsim.city import COMMUNITY, DEPARTMENT, STREET, City
from govsim.compiled import use_kernels
from govsim.config import resolve_scenario
from govsim.platform.budgeting import ParticipatoryBudgeting
from govsim.platform.engine import CaseEngine, DayReport
from govsim.platform.intake import CaseIntake, HotlineDay, hotline_day
from govsim.platform.supervision import call_back
from govsim.schema import Scenario
from govsim.sizing import warn_if_overloaded
from govsim.timeline import Timeline


def read_metric(model: mesa.Model, name: str) -> float:
    """DataCollector reporter: today's value of metric ``name`` (bound with functools.partial)."""
    return model.metrics.get(name, float("nan"))


class GovernanceModel(mesa.Model):
    """The govsim city (see the module docstring for where each actor's behaviour lives).

    Args:
        scenario: A validated :class:`~govsim.schema.Scenario`, a packaged scenario name or path,
            or a plain dict (default: the packaged ``baseline``).
        rng: Seed or generator; defaults to the scenario's ``seed``.
        overrides: Dotted-path overrides applied to the scenario (e.g. ``{"dispatch.mode": "unified"}``).
        daily_metrics: Compute the metrics and collect them every day (``metrics``, the time
            series). Without them nothing else changes (metrics only read the model) and
            :meth:`summary` is the same; a run that keeps only its summary, like a sweep's,
            is about a fifth faster at 10,000 citizens.
        keep_timeseries: With ``daily_metrics``, also collect every day's metrics in the
            model's Mesa ``DataCollector`` (:meth:`timeseries`). A caller that reads only
            ``metrics`` day by day, like the classroom demo, which records the few series it
            charts, does without (the collector copies about a hundred values a day: an eighth
            of the demo's day at 3,000 citizens); :meth:`timeseries` is then empty.
    """

    def __init__(
        self,
        *,
        scenario: Scenario | str | dict | None = None,
        rng: int | np.random.Generator | None = None,
        overrides: dict[str, Any] | None = None,
        daily_metrics: bool = True,
        keep_timeseries: bool = True,
    ) -> None:
        s = resolve_scenario(scenario, overrides)
        if s.queue.enabled:
            raise ValueError(
                "queue.enabled: the M/M/c validation queue is its own model; use "
                "govsim.queue_model.QueueModel (govsim.runner.build_model picks the right one)"
            )
        warn_if_overloaded(s)  # a city overloaded by construction (ODD §5): stderr, run goes on
        super().__init__(rng=s.seed if rng is None else rng)
        self.config = s  # (Mesa 3.5 reserves `scenario` for its own Scenario class)
        self.timeline = Timeline.of(s)  # dated reforms; checked against the horizon here
        self.horizon = s.days
        self.day = 0
        self.daily_metrics = daily_metrics
        self.keep_timeseries = keep_timeseries
        self.metrics: dict[str, float] = {}
        rng_population, rng_engine, rng_citizens, rng_budgeting = self.rng.spawn(4)
        self.city = city = City.build(s)
        self.categories = categories = Categories.from_scenario(s)
        self.citizens = Citizens.populate(
            s, categories, city.grid_community, rng_population, rng_citizens
        )
        per_citizen_day = sum(
            (categories.rate * np.maximum(1.0, categories.old_rate_multiplier)).tolist()
        )
        self.cases = CaseStore.for_year(s.population.citizens * per_citizen_day, s.days)
        self.ledger = M.Ledger(s.days + 1)
        self.officials = OfficialUnits(s, city, rng_engine)
        self.engine = CaseEngine(
            s,
            city,
            self.cases,
            self.officials.staff,
            rng_engine,
            practices=self.officials.acting,
            capability=self.officials.capability.level if s.capability.enabled else None,
            worsening=categories.worsening_per_day,
        )
        self.engine.compiled = use_kernels(s.population.citizens)
        self.incidents = Incidents(categories)
        self.patience = Patience(s.waiting.give_up_per_day)
        self.intake = CaseIntake(s, city, categories, self.cases, rng_engine)
        self.hotline = HotlineDay(0, 1.0, 0.0, 0.0)
        self.day_report: DayReport | None = None
        """What the case engine reported of the last day (closures, entries, reopenings...)."""
        self.pb = (
            ParticipatoryBudgeting(s.budgeting, self.citizens, city.n_communities, rng_budgeting)
            if s.budgeting.enabled
            else None
        )
        self._create_agents()
        self.datacollector = mesa.DataCollector(
            model_reporters={k: partial(read_metric, name=k) for k in self.metric_names()}
        )

    def _create_agents(self) -> None:
        """Mesa agents where they carry behaviour: offices, departments, street committees."""
        city = self.city
        for u in np.flatnonzero(city.unit_kind == COMMUNITY).tolist():
            Office(self, u, "community")
        for u in np.flatnonzero(city.unit_kind == STREET).tolist():
            Office(self, u, "street")
        for u in np.flatnonzero(city.unit_kind == DEPARTMENT).tolist():
            name = city.dept_names[city.unit_dept[u]]
            Department(self, u, name, bool(city.unit_vertical[u]))
        self.street_committees = [StreetCommittee(self, k) for k in range(city.n_streets)]

    # ------------------------------------------------------------------ the day
    def step(self) -> None:
        """Advance one day: the schedule of docs/ODD.md section 3."""
        self.timeline.apply(self, self.day)  # 0. the timeline's reforms due today take effect
        s, d = self.config, self.day
        citizens, officials, cases = self.citizens, self.officials, self.cases
        self.ledger.ensure(d)
        # 1. officials split their day from yesterday's demands; burnout moves
        officials.plan_day(d, self.engine.service.pending_work_hours(), self.ledger)
        # 2. problems arise; citizens voice them or stay silent; patrols find some silent ones
        problems = citizens.meet_problems(d, self.incidents.multiplier(citizens.rng))
        if len(problems):
            self._reach_platform(problems)
        # 3. intake files the day's contacts and repeat complaints; consultations answered (接诉即答)
        contacts = problems.contacts() + citizens.due_complaints(d, cases)
        forced = self.intake.file(contacts, citizens, self.engine)
        self.patience.note_filed(cases, citizens.rng)
        officials.note_forced_entries(forced, s.boundary.forced_online_extra_entries)
        # 4. street party committees summon departments for stalled cases (吹哨报到)
        if s.dispatch.summoning:
            summon_departments(
                self.street_committees, cases, self.engine, s.dispatch, float(d), self.rng
            )
        # 5. dispatch and service: every unit serves its queue with its handling hours
        self.day_report = report = self.engine.run_day(
            d, officials.hours_per_server, officials.backlog_days
        )
        officials.end_day(report, d, self.ledger)
        # 6. closures are experienced, called back and rated; citizens learn, may complain again
        if len(report.closed):
            self._after_closures(report.closed)
        gave_up = self.patience.give_up(d + 1.0, cases)
        if len(gave_up):  # citizens who waited too long give up: a failure they learn from
            citizens.learn(
                cases.citizen[gave_up], np.zeros(len(gave_up)), np.zeros(len(gave_up), bool)
            )
        citizens.spread_word()
        # 7. participatory budgeting's yearly cycle; literacy training
        if self.pb is not None:
            self.pb.step(d)
        citizens.train_literacy(d)
        citizens.adopt_app(d)
        # 8. every assessment period units are scored, ranked and adapt their practices
        if (d + 1) % s.assessment.period_days == 0:
            officials.assess(d + 1.0, cases, self.engine.rng)
        # 9. metrics
        self.day += 1
        if self.daily_metrics:
            self._compute_metrics()
            if self.keep_timeseries:
                self.datacollector.collect(self)

    def _reach_platform(self, problems: Problems) -> None:
        """Voice and channels, the hotline's day and its hang-ups, patrol discovery, the ledger."""
        s, citizens, d = self.config, self.citizens, self.day
        citizens.voice(problems, self.hotline)
        ch = s.channels
        calls = int(np.count_nonzero(problems.channel == HOTLINE))
        self.hotline = hotline_day(
            calls,
            ch.hotline_operators if ch.hotline else 0,
            ch.hotline_calls_per_operator,
            ch.hotline_answer_standard_s,
            ch.hotline_patience_minutes,
        )
        if calls:
            self.ledger.hotline_within[d] = self.hotline.answered_within_standard
            citizens.hang_up(problems, self.hotline.abandon_probability)
        silent = citizens.silent(problems)
        community = citizens.community[problems.citizen]
        hot = (problems.channel == HOTLINE) & problems.reached
        hot &= ~self.categories.consultation[problems.category]
        self.officials.note_hotline(community[hot], problems.category[hot])
        found = silent[
            self.officials.patrol(
                community[silent],
                s.officials.patrol_discovery_per_hour,
                citizens.rng,
                problems.category[silent],
            )
        ]
        problems.reached[found] = True
        problems.channel[found] = PATROL
        self.ledger.hotline_cases[d] = np.count_nonzero(hot)
        self.ledger.patrol_found[d] = len(found)
        who = problems.citizen
        self.ledger.record_problems(
            d,
            citizens.quartile[who],
            citizens.age_group[who],
            problems.voiced,
            ~self.categories.consultation[problems.category],
            problems.reached,
        )
        self.ledger.record_problem_groups(
            d,
            self.citizen_groups.codes[who],
            problems.voiced,
            ~self.categories.consultation[problems.category],
        )
        self.officials.note_counter_intakes(community, problems.channel)

    def _after_closures(self, closed: np.ndarray) -> None:
        """Step 6 for today's closed cases (experience, callback, learning, repeat complaints)."""
        s, cases, citizens = self.config, self.cases, self.citizens
        satisfied, outcome = citizens.experience(cases, closed)
        pressed = np.zeros(len(closed), dtype=bool)
        if s.closed_loop.callback:
            pressed = call_back(
                cases,
                closed,
                satisfied,
                self.officials.acting,
                s.gaming.pressure_effect,
                citizens.rng,
            )
            self.officials.note_pressed(cases.unit[closed][pressed])
        withdrawn = cases.state[closed] == WITHDRAWN
        citizens.learn(cases.citizen[closed], outcome, pressed | withdrawn)
        citizens.decide_to_refile(cases, closed)

    # ------------------------------------------------------------------ metrics
    def metric_names(self) -> list[str]:
        """Names of the metrics this model reports every day (see govsim.metrics.METRICS; the
        summary has besides those of govsim.metrics.SUMMARY_ONLY)."""
        return [
            k
            for k in M.METRICS
            if (self.pb is not None or k not in M.PB_METRICS) and k not in M.SUMMARY_ONLY
        ]

    def _window(self, v, lo_day: int, hi_day: int, validity: float) -> dict[str, float]:
        c = self.citizens
        return M.window_metrics(
            v,
            self.ledger,
            float(self.day),
            lo_day,
            hi_day,
            self.config,
            c.trust,
            c.efficacy,
            self.officials.practices,
            validity,
            self.pb.metrics() if self.pb is not None else None,
            self.citizen_groups,
            compiled=use_kernels(c.n),
        )

    @cached_property
    def citizen_groups(self) -> M.CitizenGroups:
        """The citizens' communities and socioeconomic quartiles, for the metrics (all fixed)."""
        c = self.citizens
        return M.CitizenGroups(
            c.community,
            np.bincount(c.community, minlength=self.city.n_communities),
            c.education_quartile,
            c.income_quartile,
        )

    def community_reporting_rates(self) -> np.ndarray:
        """Complaints per resident by community over the summary's settled cohort (see
        ``reporting_rate_community_p90_p10`` in docs/metrics.md), one entry per community."""
        st = self.cases
        settle_end = self.day - M.SETTLE_DAYS if self.day > 2 * M.SETTLE_DAYS else self.day
        v = st.view(0, st.first_created_at_or_after(float(settle_end)))
        return M.community_reporting_rates(v, self.citizen_groups)

    def _compute_metrics(self) -> None:
        st = self.cases
        today = st.first_created_at_or_after(self.day - 1.0)
        lo_day = max(0, self.day - M.WINDOW_DAYS)
        self.metrics = {
            "cases_reported": float(st.n - today),
            "backlog": float(M.open_backlog(st.state_counts)),
            **self._window(
                st.view(st.first_created_at_or_after(float(lo_day))),
                lo_day,
                self.day,
                self.officials.validity[-1] if self.officials.validity else float("nan"),
            ),
        }

    def summary(self) -> dict[str, float]:
        """End-of-run metrics: case rates over the settled cohort, counts over the whole run."""
        st = self.cases
        settle_end = self.day - M.SETTLE_DAYS if self.day > 2 * M.SETTLE_DAYS else self.day
        v = st.view(0, st.first_created_at_or_after(float(settle_end)))
        out = {"cases_reported": float(st.n), "backlog": float(M.open_backlog(st.state_counts))}
        # ledger rows over the same settled window as the cases, so group rates match their cohort
        finite = [x for x in self.officials.validity if np.isfinite(x)]
        validity = float(np.mean(finite)) if finite else float("nan")
        out.update(self._window(v, 0, max(settle_end, 1), validity))
        if not self.daily_metrics and self.day > 0:
            self._compute_metrics()  # the last day's, as a daily run would have them now
        out["official_burnout_mean"] = self.metrics.get("official_burnout_mean", float("nan"))
        return out

    def timeseries(self):
        """The daily metrics as a DataFrame (column ``day`` first)."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df.insert(0, "day", np.arange(1, len(df) + 1))
        return self.timeline.mark(df)

    # ------------------------------------------------------------------ views
    def citizen(self, index: int) -> Citizen:
        """A view of citizen ``index`` (made on request; citizens are rows of arrays)."""
        return Citizen(self.citizens, index)

    def community_open_cases(self) -> np.ndarray:
        """Open non-consultation cases per community (by the citizen's home), for city views."""
        st = self.cases
        open_ = st.is_open() & ~st.consultation[: st.n] & (st.citizen[: st.n] >= 0)
        return np.bincount(
            self.citizens.community[st.citizen[: st.n][open_]], minlength=self.city.n_communities
        )
