"""A timeline of reforms (改革时间线): dated changes of a scenario's parameters during a run.

A scenario's ``timeline:`` lists changes, each ``{day: D, set: {dotted.key: value, ...}}`` with an
optional ``label:`` shown on figures::

    timeline:
      - {day: 365, label: 接诉即办, set: {dispatch.mode: unified, assessment.period_days: 30}}

**Checked like ``--set``** (:func:`resolve_timeline`, called by :func:`govsim.config.validate`).
The entries are applied in order of day (entries of the same day in file order), each onto the
scenario as the earlier ones left it, with ``--set``'s merge (a mapping value merges key by key);
every scenario so reached is validated by the schema, so a timeline can never produce a scenario
that ``--set`` would refuse. Every problem is located (``file:line: timeline[2].set.dispatch.mode:
...``): unknown keys (with the allowed ones and a did-you-mean), bad values, a day outside the
run (``0 <= day < days``; checked again when ``govsim run --days`` shortens the run, and when a
model is built), and keys that cannot change mid-run.

**What may change mid-run** is the whitelist :data:`CHANGEABLE`, each entry with the reason it is
safe: the component that reads the key reads it from the live scenario every time it acts, or has
a refresh hook that the change calls. Everything else is fixed, with the reason in
:data:`FIXED` (the city's structure, the drawn population, staff that size the service queues,
values drawn once at the start, the categories table, how the run is measured); a key in neither
(a key added to the schema later and not yet audited) is fixed too.

**Applied at the start of the day** (:meth:`Timeline.apply`, the first line of
:meth:`govsim.model.GovernanceModel.step`): the scenario in force becomes the one the day's
entries lead to and is pushed into the live components (:func:`_take_up`). Cases already under
way keep what was fixed when they were filed (their deadline, owners, mode of dispatch); new
ones follow the new rules. A change at day 0 gives exactly the run of the scenario with those
values from the start; a change at day ``k`` leaves days before ``k`` exactly as without it.

**Marked** in the time series as the column ``reform`` (the labels of the changes applied at the
start of that row's day, empty otherwise; present only when the scenario has a timeline) and drawn
by :func:`govsim.report.dashboard_figure` as labelled vertical lines.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from govsim.schema import Scenario, TimelineEntry

if TYPE_CHECKING:
    import pandas as pd

    from govsim.model import GovernanceModel

Path_ = tuple[str, ...]

REFORM_COLUMN = "reform"
"""Time-series column that marks the days a timeline's changes applied."""

CHANGEABLE: dict[str, str] = {
    # citizens: Citizens reads its rules from the live scenario (self.config) at every decision
    "citizens": "citizens read their rules from the scenario in force at every decision",
    "population.literacy_training_rate": "literacy training reads it every day",
    # channels: voice and channel costs (Citizens) and the hotline's day (model) read it daily
    "channels": "voice, channel costs and the hotline's day read the channels every day",
    # officials: OfficialUnits.plan_day reads these daily; reconfigure() refreshes the routine
    # shares; the model reads the patrols' discovery rate daily
    "officials.hours_per_day": "the day's plan reads it",
    "officials.routine_share": "OfficialUnits.reconfigure refreshes it",
    "officials.department_routine_share": "OfficialUnits.reconfigure refreshes it",
    "officials.patrol_share": "the day's plan reads it",
    "officials.patrol_discovery_per_hour": "the patrols read it daily",
    "officials.entry_minutes_per_transition": "the day's plan reads it",
    "officials.reporting_minutes_per_indicator": "the day's plan reads it",
    "officials.trace_minutes": "the day's plan reads it",
    "officials.apps": "the day's plan reads it",
    "officials.burnout_rate": "the day's plan reads it",
    "officials.recovery_rate": "the day's plan reads it",
    "officials.burnout_capacity_loss": "the day's plan reads it",
    "officials.backlog_horizon_days": "the day's plan reads it",
    # dispatch: CaseEngine.reconfigure refreshes data sharing, the mode and the day's constants;
    # intake (classification), the party committees (summoning) and the assessment read it live.
    # A case keeps the mode it was registered under (hand to hand or joint).
    "dispatch": "CaseEngine.reconfigure takes it up; new dispatches follow it; the units' "
    "capability takes up the sharing it brings (ServiceCapability.reconfigure)",
    # capability: ServiceCapability.reconfigure re-reads the rates; experience carries over
    "capability": "ServiceCapability.reconfigure takes up the rates; the units' experience "
    "carries over",
    # waiting: Patience draws each new case's giving-up time with the rate in force
    "waiting": "new cases' patience is drawn with the rate in force",
    "officials.patrol_follow_hotline": "the patrols read it daily",
    "officials.hotline_memory_days": "the patrols' memory reads it daily",
    "officials.hotline_usual_days": "the patrols' memory reads it daily",
    "officials.patrol_surge_max": "the patrols read it daily",
    # closed loop: deadlines are rebuilt into the categories' arrays (new cases get them); the
    # engine, callbacks and the assessment read the rest at each use
    "closed_loop": "deadlines apply to cases filed from then on; the rest is read at each use",
    # assessment: OfficialUnits.reconfigure refreshes what the weights imply for officials' time;
    # the scoring, ranking, ratchet and learning rule read the section at each period
    "assessment.weights": "OfficialUnits.reconfigure and the next assessment take it up",
    "assessment.period_days": "the schedule reads it each day (the next period ends on its grid)",
    "assessment.penalty_share": "read at each assessment",
    "assessment.penalty": "read at each assessment",
    "assessment.reward_share": "read at each assessment",
    "assessment.reward": "read at each assessment",
    "assessment.ratchet": "read at each assessment",
    "assessment.audit_penalty": "read at each assessment",
    "assessment.vertical_exposure": "read at each assessment",
    "assessment.reverse_assessment_weight": "read at each assessment",
    "assessment.learning.selection": "read at each assessment",
    "assessment.learning.imitation_strength": "read at each assessment",
    "assessment.learning.imitation_step": "read at each assessment",
    "assessment.learning.reinforcement_rate": "read at each assessment",
    "assessment.learning.aspiration_rate": "read at each assessment",
    "assessment.learning.exploration": "read at each assessment",
    # gaming, boundary: the engine, callbacks and the officials' plan read them at each use
    "gaming": "read at each use by the engine, callbacks and the day's plan",
    "boundary": "read at each use by intake, the engine and the day's plan",
    # party: Citizens reads the volunteers' switch daily; OfficialUnits.reconfigure refreshes the
    # deliberation hours
    "party": "read daily; OfficialUnits.reconfigure refreshes the deliberation hours",
}
"""Dotted key paths (a section or a single key) that a timeline may change, with the reason it is
safe (who reads them and when). The longest matching path of :data:`CHANGEABLE` and :data:`FIXED`
decides."""

FIXED: dict[str, str] = {
    "name": "it names the run and its output folder",
    "description": "it describes the scenario, not a state of the city",
    "seed": "it seeds every random stream at the start",
    "days": "it is the run's horizon",
    "city": "the city's size and structure (districts, streets, communities, grids) are built once",
    "density": "the city's sizes are resolved from it once, when the scenario is built",
    "population": "the citizens are drawn once at the start; only literacy_training_rate may change",
    "categories": "the categories table sizes the case store and the owner tables at the start",
    "departments": "departments are units of the city built at the start; their staff size the "
    "service queues",
    "capability.enabled": "the units' capability is built (or not) at the start",
    "capability.initial": "the units' initial capability is set once at the start",
    "officials.hotline_report_delay_days": "it sizes the patrols' queue of hotline reports",
    "officials.community_workers": "staff counts size the units' service queues at the start",
    "officials.street_officials": "staff counts size the units' service queues at the start",
    "assessment.learning.initial_gaming": "the units' initial practices are drawn once at the start",
    "assessment.learning.motivation_mean": "the units' motivation is drawn once at the start",
    "assessment.learning.motivation_sd": "the units' motivation is drawn once at the start",
    "budgeting": "the participatory-budgeting cycle (its phases, project types and reach) is built "
    "at the start",
    "queue": "the M/M/c validation queue is a model of its own",
    "metrics": "it defines how the run is measured; a change would make one series measure two things",
    "timeline": "a timeline cannot change itself",
}
"""Dotted key paths that cannot change mid-run, with the reason."""

CHANGEABLE_SUMMARY = (
    "a timeline may change citizens, channels, dispatch, closed_loop, gaming, boundary, party, "
    "population.literacy_training_rate, officials except staff counts and the hotline report "
    "delay, assessment except the drawn initial practices and motivation, capability except "
    "enabled and initial, waiting; see govsim.timeline.CHANGEABLE"
)
"""The changeable keys in a sentence, for messages (a test checks it against :data:`CHANGEABLE`)."""

NOT_AUDITED = "it has not been audited as safe to change mid-run (govsim.timeline.CHANGEABLE)"
"""The reason given for a key in neither :data:`CHANGEABLE` nor :data:`FIXED`."""


def changeable(path: Path_) -> tuple[bool, str]:
    """Whether the key at ``path`` may change mid-run, and why (the longest listed path decides).

    Args:
        path: A key path, e.g. ``("dispatch", "mode")``.

    Returns:
        ``(True, reason)`` or ``(False, reason)``.
    """
    for n in range(len(path), 0, -1):
        dotted = ".".join(path[:n])
        if dotted in CHANGEABLE:
            return True, CHANGEABLE[dotted]
        if dotted in FIXED:
            return False, FIXED[dotted]
    return False, NOT_AUDITED


def _leaves(path: Path_, value: Any) -> list[Path_]:
    """The key paths a set value writes (a mapping value writes each of its keys)."""
    if isinstance(value, dict) and value:
        return [leaf for k, v in value.items() for leaf in _leaves((*path, str(k)), v)]
    return [path]


def _exists(data: Any, path: Path_) -> bool:
    for p in path:
        if not isinstance(data, dict) or p not in data:
            return False
        data = data[p]
    return True


def _get(data: Any, path: Path_) -> Any:
    for p in path:
        data = data[p]
    return data


def _order(entries: list[TimelineEntry]) -> list[int]:
    """Indices of the entries in the order they apply: by day, same-day entries in file order."""
    return sorted(range(len(entries)), key=lambda i: (entries[i].day, i))


def _nested(key: str, value: Any) -> Any:
    nested: Any = copy.deepcopy(value)
    for p in reversed(key.split(".")):
        nested = {p: nested}
    return nested


def resolve_timeline(
    scenario: Scenario,
    where: dict[Path_, str] | None = None,
    default_source: str = "scenario",
) -> Scenario:
    """Check a scenario's timeline like ``--set`` and return the scenario with it resolved.

    Resolved: each change's value is the one the schema made of it (``1`` for a float is
    ``1.0``; a mapping value is the whole mapping after the merge), as the manifest records it.

    Args:
        scenario: A scenario validated by the schema (its timeline not yet checked).
        where: ``file:line`` of every key path of the document (for located messages).
        default_source: Where to point when a key path has no location.

    Returns:
        The scenario with its timeline resolved.

    Raises:
        govsim.config.ScenarioError: listing every problem, each located as
            ``file:line: timeline[i]...: what``.
    """
    if not scenario.timeline:
        return scenario
    entries, _ = _walk(scenario, where or {}, default_source)
    return scenario.model_copy(update={"timeline": entries})


def _walk(
    scenario: Scenario, where: dict[Path_, str], default_source: str
) -> tuple[list[TimelineEntry], dict[int, Scenario]]:
    """Apply the timeline's entries in order, validating each scenario reached.

    Returns:
        The entries resolved (file order), and for each day with a change the scenario in force
        from its start (its ``timeline`` the resolved one).

    Raises:
        govsim.config.ScenarioError: listing every problem (see :func:`resolve_timeline`).
    """
    from govsim.config import (
        Located,
        ScenarioError,
        _by_location,
        _merge,
        located_messages,
        scenario_to_dict,
    )

    entries = scenario.timeline

    def at(*path: str) -> str:
        full = ("timeline", *path)
        return next(
            (where[full[:n]] for n in range(len(full), 0, -1) if full[:n] in where),
            default_source,
        )

    if scenario.queue.enabled:
        raise ScenarioError(
            [
                f"{at()}: timeline: the M/M/c validation queue (queue.enabled) has no timeline; "
                "remove it or switch the queue off"
            ]
        )
    problems: list[str] = []
    days_from = where.get(("days",))
    days_note = f" (days set at {days_from})" if days_from else ""
    state = scenario_to_dict(scenario)
    state.pop("timeline")
    resolved: dict[int, dict[str, Any]] = {}
    after: dict[int, Scenario] = {}
    for i in _order(entries):
        e = entries[i]
        name = f"timeline[{i}]"
        if not 0 <= e.day < scenario.days:
            problems.append(
                f"{at(str(i), 'day')}: {name}.day: {e.day} is outside the run: a change applies "
                f"at the start of a day 0..{scenario.days - 1} of a run of {scenario.days} "
                f"days{days_note}"
            )
        doc_where: dict[Path_, str] = {}
        fixed: list[str] = []  # keys the scenario has, which may not change
        new_keys: list[str] = []  # keys it does not have and may not add (if the schema allows)
        bad_key = False
        for key, value in e.set.items():
            line = at(str(i), "set", key)
            parts = tuple(key.split("."))
            if not key or any(not p for p in parts):
                problems.append(f"{line}: {name}.set.{key}: expected a non-empty dotted key path")
                bad_key = True
                continue
            for n in range(1, len(parts) + 1):
                doc_where[parts[:n]] = line
            for leaf in _leaves(parts, value):
                ok, why = changeable(leaf)
                if not ok:
                    text = (
                        f"{line}: {name}.set.{'.'.join(leaf)}: cannot change mid-run: {why} "
                        f"({CHANGEABLE_SUMMARY})"
                    )
                    (fixed if _exists(state, leaf) else new_keys).append(text)
        if fixed or bad_key:
            problems.extend(fixed)
            continue
        changed = Located(state, {})
        for key, value in e.set.items():  # merged exactly as --set merges onto a scenario
            changed = _merge(changed, Located(_nested(key, value), {}))
        try:
            new = Scenario.model_validate(changed.data)
        except ValidationError as exc:  # unknown keys (with a did-you-mean), bad values
            problems.extend(
                located_messages(exc, doc_where, at(str(i), "set"), Scenario, f"{name}.set.")
            )
            continue
        if new_keys:  # valid, but adds to what is fixed (a new category, a new department)
            problems.extend(new_keys)
            continue
        state = scenario_to_dict(new)
        state.pop("timeline")
        resolved[i] = {k: _get(state, tuple(k.split("."))) for k in e.set}
        after[e.day] = new  # the last entry of the day leaves the scenario in force
    if problems:
        raise ScenarioError(sorted(problems, key=_by_location))
    timeline = [e.model_copy(update={"set": resolved[i]}) for i, e in enumerate(entries)]
    return timeline, {d: s.model_copy(update={"timeline": timeline}) for d, s in after.items()}


@dataclass
class Timeline:
    """A run's timeline: the scenario in force from each day a change applies.

    Attributes:
        entries: The scenario's timeline entries, in file order.
        states: For each day with a change, the scenario in force from that day's start.
        marks: For each day with a change, the labels of its changes (for the time series).
    """

    entries: list[TimelineEntry]
    states: dict[int, Scenario] = field(default_factory=dict)
    marks: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, scenario: Scenario) -> Timeline:
        """The timeline of a scenario, checked against its days and resolved.

        Raises:
            govsim.config.ScenarioError: when the timeline is invalid for this scenario (e.g. a
                change on or after its last day, when ``days`` was shortened after loading).
        """
        if not scenario.timeline:
            return cls([])
        entries, states = _walk(scenario, {}, "scenario")
        marks = {
            day: "; ".join(label_of(entries[i]) for i in _order(entries) if entries[i].day == day)
            for day in states
        }
        return cls(entries, states, marks)

    def apply(self, model: GovernanceModel, day: int) -> None:
        """Apply the changes due at the start of ``day`` to a live model (none: nothing happens).

        Args:
            model: The model, before its day ``day`` runs.
            day: The day about to run (0-based).
        """
        new = self.states.get(day)
        if new is not None:
            _take_up(model, new)

    def mark(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The time series with the column :data:`REFORM_COLUMN` (only when there is a timeline).

        Row ``day = d + 1`` (the first day run under the change) carries the labels of the
        changes applied at the start of day ``d``; other rows are empty.
        """
        if not self.entries:
            return frame
        frame = frame.copy()
        frame[REFORM_COLUMN] = [self.marks.get(int(d) - 1, "") for d in frame["day"]]
        return frame


def label_of(entry: TimelineEntry) -> str:
    """An entry's label, or its changes written out (``dispatch.mode=unified``) without one."""
    if entry.label:
        return entry.label
    return ", ".join(k if isinstance(v, dict) else f"{k}={v}" for k, v in entry.set.items())


def _take_up(model: GovernanceModel, new: Scenario) -> None:
    """Push a changed scenario into every live component that reads or caches it.

    The model, the citizens and intake read their scenario's sections at every use, so they get
    the new one; the officials and the case engine refresh what they cached from it
    (``reconfigure``); deadlines live in the categories' arrays, rebuilt when they change.
    """
    from govsim.categories import Categories

    old = model.config
    model.config = new
    model.citizens.config = new
    model.intake.config = new
    model.officials.reconfigure(new)
    model.engine.reconfigure(new)
    model.officials.capability.reconfigure(new)
    model.patience.rate = new.waiting.give_up_per_day
    if new.closed_loop.deadline_hours != old.closed_loop.deadline_hours:
        cats = Categories.from_scenario(new)
        model.categories = model.citizens.categories = model.intake.categories = cats
