"""The case engine: dispatch across 条块, service, and the closed loop 接-派-办-督-评.

Every case that is not a consultation is split into *parts*, one per owner. Parts move through
events in continuous time (days):

``DISPATCH``  the dispatcher sends a part on. Unified mode (一网统管/民意速办): a command centre sends
              it to its owner, misrouting with probability ``(1 - accuracy)(1 - data_sharing)``.
              Fragmented mode (属地管理): the part goes to the street of the citizen's territory first,
              which forwards it, each hand-off misrouting with probability
              ``misroute_probability (1 - data_sharing) + (1 - accuracy) / 2`` (at most 1). Hand-offs
              take ``Exp(handoff_days (1 - data_sharing))`` (a command centre is 10 times quicker).
``ARRIVE``    a part reaches a unit. The owner queues it (as a service task). A wrong department
              returns it (退单, probability ``return_probability``) or sits on it until escalation;
              under first-receiver responsibility (首接负责) it may not return it and convenes the
              owner instead (coordination delay). Unowned cases (misclassified with no owner) go to
              the district backstop (兜底) if it exists, else wait at the street until escalated.
``COMPLETE``  a part's service ended (see :mod:`govsim.platform.service`): really solved unless the
              problem is unsolvable, the unit closed it nominally, or an offline-suited matter was
              forced online; where units have a capability (:mod:`govsim.agents.capability`),
              solved with probability ``capability[unit, category] * exp(-worsening * days
              waited)`` (the problem worsens while it waits). A multi-department case is solved only when every owner did its part;
              in fragmented mode without first-receiver responsibility the parts go hand to hand
              (one after another), otherwise they are dispatched jointly, with coordination delays.
``AUDIT``     a random audit verifies a closed case: solved -> ``verified``; unsolved -> reopened
              (and ``caught`` if it was a nominal closure).
``ESCALATE``  an overdue part that sits with a wrong unit is pulled back and re-dispatched.
``WITHDRAW``  a citizen persuaded to withdraw (劝撤) withdraws the case.

Summoning (吹哨报到) is done each day by the street party committees (see
:mod:`govsim.agents.party`): a summoned case's pending parts go straight to their owners within the
response time and jump their queues.

**How a day is processed.** Events are kept as arrays (time, kind, case, part, unit, version), not
one Python object each. A day takes the events due before its end and handles them in *waves*: a
wave holds the earliest due event of every case that has one, and handles them kind by kind with
array operations. Events a wave creates that fall within the day join the next waves. So the
events of one case are handled in time order, exactly as in a one-event-at-a-time loop; events of
different cases touch different cases, and the shared tallies they update (transitions per unit,
state counts) are sums, which do not depend on the order. When no event of the day is left, every
unit serves its queue (:meth:`ServiceSystem.run_day`); service that ends within the day creates
completion events, and the waves go on until nothing is due before the day ends. The random draws
of a wave are made in blocks, in the order of the wave (kinds, then event time).

**Compiled.** Where the model runs the compiled kernels (:func:`govsim.compiled.use_kernels`),
the waves of a day run in one call of a numba kernel (:mod:`govsim.platform.waves`), a
transcription of the handlers below that makes the same draws in the same order: the results are
the same bit for bit (``tests/platform/test_waves.py``). The handlers here are its definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from govsim.cases import (
    CLOSED,
    DISPATCHED,
    IN_PROGRESS,
    IS_FINISHED,
    REOPENED,
    RETURNED,
    VERIFIED,
    WITHDRAWN,
    CaseStore,
)
from govsim.city import DEPARTMENT, City
from govsim.platform.service import ServiceSystem
from govsim.schema import NOMINAL_CLOSURE, PERSUADE_WITHDRAWAL, PRACTICES, Scenario

DISPATCH, ARRIVE, COMPLETE, AUDIT, ESCALATE, WITHDRAW = range(6)
"""Event kinds."""
UNIFIED_SPEEDUP = 10.0
"""A command centre hands a case on this many times faster than a street does."""
MAX_PARTS = 8
SUMMON_KEY = -1e12
"""Queue priority of a summoned case's tasks (ahead of any deadline)."""
WITHDRAW_DELAY = 0.05
"""Days between a persuaded citizen's consent and the withdrawal being recorded."""
AUDIT_DELAY_MEAN = 3.0
"""Mean days from a closure to its audit (exponential)."""
_VERSIONED = np.isin(np.arange(6), (DISPATCH, ARRIVE, ESCALATE))
"""Event kinds that a newer version of their part supersedes (dispatch, arrive, escalate)."""
_WAITING_STATES = np.array([True, True, True, False, False, True, False, False])
"""Recorded states from which starting work moves a case to ``in_progress``."""
_REDISPATCH_STATES = np.array([True, False, True, False, False, True, False, False])
"""Recorded states from which a dispatch moves a case to ``dispatched``."""


def _filled(k: int, value: float, dtype: type) -> np.ndarray:
    """``np.full(k, value, dtype)`` without its argument handling: the engine fills event columns
    many times a day, mostly a few elements long."""
    a = np.empty(k, dtype)
    a.fill(value)
    return a


def _earliest_per_case(case: np.ndarray, t: np.ndarray) -> np.ndarray | None:
    """Positions of each case's earliest entry (ties: the first), in case order; ``None`` when no
    case appears twice."""
    order = np.lexsort((t, case))
    in_order = case[order]
    repeated = in_order[1:] == in_order[:-1]
    if not repeated.any():
        return None
    first = np.ones(len(order), dtype=bool)
    first[1:] = ~repeated
    return order[first]


class _Events:
    """Pending events as parallel arrays (unordered; the engine selects by time)."""

    __slots__ = ("_chunks", "case", "kind", "part", "t", "unit", "ver")

    def __init__(self) -> None:
        self._chunks: list[tuple[np.ndarray, ...]] = []
        """Events added with :meth:`add`, not yet merged into the arrays."""
        self.clear()

    def __len__(self) -> int:
        return len(self.t)

    def clear(self) -> None:
        """Drop every event (the arrays, not added chunks)."""
        self.t = np.empty(0)
        self.kind = np.empty(0, dtype=np.int8)
        self.case = np.empty(0, dtype=np.int64)
        self.part = np.empty(0, dtype=np.int64)
        self.unit = np.empty(0, dtype=np.int64)
        self.ver = np.empty(0, dtype=np.int32)

    def take(self, mask: np.ndarray) -> tuple[np.ndarray, ...]:
        """Remove the events where ``mask`` holds; return them as (t, kind, case, part, unit, ver)."""
        cols = (self.t, self.kind, self.case, self.part, self.unit, self.ver)
        out = tuple(c[mask] for c in cols)
        keep = ~mask
        self.t, self.kind, self.case, self.part, self.unit, self.ver = (c[keep] for c in cols)
        return out

    def extend(self, cols: tuple[np.ndarray, ...]) -> None:
        """Append events given as (t, kind, case, part, unit, ver) arrays."""
        self.add(cols)
        self.merge()

    def add(self, cols: tuple[np.ndarray, ...]) -> None:
        """Append events later, at the next :meth:`merge` (cheap when added often, read rarely)."""
        if len(cols[0]):
            self._chunks.append(cols)

    def merge(self) -> None:
        """Merge the events added with :meth:`add` into the arrays."""
        if not self._chunks:
            return
        chunks, self._chunks = self._chunks, []
        if len(self.t):
            chunks.insert(0, (self.t, self.kind, self.case, self.part, self.unit, self.ver))
        cols = (
            chunks[0]
            if len(chunks) == 1
            else [np.concatenate(c) for c in zip(*chunks, strict=True)]
        )
        self.t, self.kind, self.case, self.part, self.unit, self.ver = cols


@dataclass(frozen=True)
class DayReport:
    """What happened in the case engine on one day (:meth:`CaseEngine.run_day`).

    Attributes:
        closed: Cases recorded closed or withdrawn today, in the order it happened (a case closed,
            reopened and closed again appears twice).
        entries: Recorded transitions (data entries) per unit.
        pressed_to_withdraw: Citizens each unit tried to persuade to withdraw (劝撤).
        summoned_tasks: Parts of summoned cases each department finished.
        summoned_on_time: Of those, finished by the case's deadline.
        reopened: Cases an audit found unsolved and reopened (重办), in the order it happened.
        reopened_at: When each was reopened.
        reopened_closed_at: When each had been closed (the closure the audit undid).
        worked: Parts each unit worked on (not nominally) in each category today, (units x
            categories); ``None`` without capability.
        work_hours: Staff-hours of case work that reached each unit today (the effort of the
            tasks it queued, and the token effort of its nominal closures).
    """

    closed: np.ndarray
    entries: np.ndarray
    pressed_to_withdraw: np.ndarray
    summoned_tasks: np.ndarray
    summoned_on_time: np.ndarray
    reopened: np.ndarray
    reopened_at: np.ndarray
    reopened_closed_at: np.ndarray
    work_hours: np.ndarray
    worked: np.ndarray | None = None


@dataclass
class _DayTallies:
    """What :class:`DayReport` reports, gathered while the day runs."""

    closed: list[int]
    pressed_to_withdraw: np.ndarray
    summoned_tasks: np.ndarray
    summoned_on_time: np.ndarray
    reopened: list[np.ndarray]
    """(case, reopened at, closed at) arrays of each wave's reopenings."""
    work_hours: np.ndarray


def _reopened_columns(waves: list[np.ndarray]) -> dict[str, np.ndarray]:
    rows = np.concatenate(waves, axis=1) if waves else np.zeros((3, 0))
    return {
        "reopened": rows[0].astype(np.int64),
        "reopened_at": rows[1],
        "reopened_closed_at": rows[2],
    }


class CaseEngine:
    """Routes, serves and closes cases.

    Args:
        scenario: The validated scenario.
        city: The city structure.
        store: The case store (shared with the model).
        servers: Servers per unit.
        rng: The engine's random stream.
        practices: The units' gaming-practice propensities (one row per unit, columns as
            :data:`govsim.schema.PRACTICES`), read as units change them; none by default.
        capability: The units' capability per category (units x categories), read as units
            learn; ``None``: work always solves a solvable problem.
        worsening: How fast a waiting problem of each category worsens (per day); with
            ``capability`` only.
        audits: Whether closed cases are audited (off for the M/M/c validation queue).
    """

    def __init__(
        self,
        scenario: Scenario,
        city: City,
        store: CaseStore,
        servers: np.ndarray,
        rng: np.random.Generator,
        *,
        practices: np.ndarray | None = None,
        capability: np.ndarray | None = None,
        worsening: np.ndarray | None = None,
        audits: bool = True,
    ) -> None:
        self.s = scenario
        self.city = city
        self.store = store
        self.rng = rng
        self.service = ServiceSystem(servers)
        self.events = _Events()
        """Events not yet handled (all days)."""
        self._new: list[tuple[np.ndarray, ...]] = []
        cap = store._cap
        self.owners = np.full((cap, MAX_PARTS), -1, dtype=np.int64)
        self.part_solved = np.zeros((cap, MAX_PARTS), dtype=bool)
        self.part_done = np.zeros((cap, MAX_PARTS), dtype=bool)
        self.part_version = np.zeros((cap, MAX_PARTS), dtype=np.int32)
        self.part_at = np.full((cap, MAX_PARTS), -1, dtype=np.int64)
        self.solvable = np.ones(cap, dtype=bool)
        self.offline_suited = np.zeros(cap, dtype=bool)
        self.case_street = np.full(cap, -1, dtype=np.int64)
        self.case_effort = np.zeros(cap)
        self.sequential = np.zeros(cap, dtype=bool)
        self.next_part = np.zeros(cap, dtype=np.int8)
        self.part_nominal = np.zeros((cap, MAX_PARTS), dtype=bool)
        self._hours = np.ones(city.n_units)
        self._backlog = np.zeros(city.n_units)
        self.practices = (
            np.zeros((city.n_units, len(PRACTICES))) if practices is None else practices
        )
        self.audits = audits
        self.capability = capability
        self.worsening = (
            None
            if capability is None or worsening is None or not (worsening > 0).any()
            else worsening
        )
        self._worked_keys: list[np.ndarray] | None = None if capability is None else []
        """Unit x category keys of the parts worked on today (counted once, at the day's end)."""
        d = scenario.dispatch
        self.ds = d.data_sharing
        self.unified = d.mode == "unified"
        self._counted: list[np.ndarray] = []
        self._entries = np.zeros(city.n_units, dtype=np.int64)
        """Data entries counted today by the compiled waves (:mod:`govsim.platform.waves`)."""
        self._wave_buffers = None
        """The compiled waves' output buffers, kept from day to day (:mod:`govsim.platform.waves`)."""
        self.compiled = False
        """Whether :meth:`run_day` runs the waves compiled (the model sets it by
        :func:`govsim.compiled.use_kernels`); the results are the same bit for bit either way."""
        self._day = self._new_day_tallies()
        # the department copies serving each district (where a misrouted part may land)
        self._district_depts = np.ascontiguousarray(city.dept_unit.T)
        self._wrong_cache: dict[tuple[int, int], list[int]] = {}
        self._refresh_day_constants()

    def reconfigure(self, scenario: Scenario) -> None:
        """Take up a scenario changed mid-run (a timeline's reform, :mod:`govsim.timeline`).

        Dispatches from now on use its mode, data sharing and delays; cases already registered
        keep how they travel (hand to hand or jointly). Every other section is read at each use.

        Args:
            scenario: The scenario in force from now on.
        """
        self.s = scenario
        self.ds = scenario.dispatch.data_sharing
        self.unified = scenario.dispatch.mode == "unified"
        self._refresh_day_constants()

    # ----------------------------------------------------------------- bookkeeping
    def _ensure_capacity(self) -> None:
        cap = self.store._cap
        if self.owners.shape[0] >= cap:
            return

        def grow(a: np.ndarray, fill) -> np.ndarray:
            new = np.full((cap, *a.shape[1:]), fill, dtype=a.dtype)
            new[: a.shape[0]] = a
            return new

        self.owners = grow(self.owners, -1)
        self.part_solved = grow(self.part_solved, False)
        self.part_done = grow(self.part_done, False)
        self.part_version = grow(self.part_version, 0)
        self.part_at = grow(self.part_at, -1)
        self.solvable = grow(self.solvable, True)
        self.offline_suited = grow(self.offline_suited, False)
        self.case_street = grow(self.case_street, -1)
        self.case_effort = grow(self.case_effort, 0.0)
        self.sequential = grow(self.sequential, False)
        self.next_part = grow(self.next_part, 0)
        self.part_nominal = grow(self.part_nominal, False)

    def _push(
        self,
        t: np.ndarray,
        kind: int,
        case: np.ndarray,
        part: np.ndarray | int = 0,
        unit: np.ndarray | int = -1,
    ) -> None:
        """Schedule events of one ``kind`` (arrays, or scalars broadcast over ``case``)."""
        k = len(case)
        if k == 0:
            return
        if not isinstance(part, np.ndarray):
            part = _filled(k, part, np.int64)
        if not isinstance(unit, np.ndarray):
            unit = _filled(k, unit, np.int64)
        ver = self.part_version[case, part] if _VERSIONED[kind] else np.zeros(k, dtype=np.int32)
        self._new.append((t, _filled(k, kind, np.int8), case, part, unit, ver))

    def _flush(self) -> tuple[np.ndarray, ...] | None:
        """The events scheduled since the last flush, as one set of arrays (or ``None``)."""
        new, self._new = self._new, []
        if not new:
            return None
        if len(new) == 1:
            return new[0]
        return tuple(np.concatenate(cols) for cols in zip(*new, strict=True))

    def _count(self, units: np.ndarray) -> None:
        """Count one recorded transition (data entry) at each of ``units`` (-1 = none)."""
        self._counted.append(units)  # tallied once, at the end of the day (run_day)

    def _new_day_tallies(self) -> _DayTallies:
        n = self.city.n_units
        return _DayTallies([], *(np.zeros(n, dtype=np.int64) for _ in range(3)), [], np.zeros(n))

    def _tally_entries(self) -> np.ndarray:
        entries, self._entries = self._entries, np.zeros(self.city.n_units, dtype=np.int64)
        if self._counted:
            units = np.concatenate(self._counted)
            self._counted = []
            units = units[units >= 0]
            entries += np.bincount(units, minlength=len(entries))
        return entries

    def _delays(self, mean: float | np.ndarray, k: int) -> np.ndarray:
        """``k`` exponential delays with the given mean(s) (0 where the mean is 0)."""
        if k == 0:
            return np.zeros(0)
        if isinstance(mean, np.ndarray):  # = rng.exponential(mean), without its per-call checks
            return self.rng.standard_exponential(k) * mean
        return self.rng.standard_exponential(k) * mean if mean > 0 else np.zeros(k)

    def _handoff_mean(self) -> float:
        m = self.s.dispatch.handoff_days * (1.0 - self.ds)
        return m / UNIFIED_SPEEDUP if self.unified else m

    def _coordination_mean(self) -> float:
        return self.s.dispatch.coordination_days * (1.0 - self.ds)

    # ----------------------------------------------------------------- intake of new cases
    def register(
        self,
        ids: np.ndarray,
        owner_lists: list[list[int]] | np.ndarray,
        solvable: np.ndarray,
        offline_suited: np.ndarray,
        street: np.ndarray,
        effort: np.ndarray,
        unowned: np.ndarray,
    ) -> None:
        """Take new non-consultation cases into dispatch.

        Args:
            ids: Case ids (already in the store, state ``accepted``).
            owner_lists: Owner unit ids of each case: a list of lists, or an int array
                ``(len(ids), k)`` padded with -1 after each case's owners.
            solvable: Whether each problem can be truly solved at all.
            offline_suited: Whether each is an offline-suited matter.
            street: The street of each case's territory.
            effort: Mean effort (staff-hours) per owner of each case's category.
            unowned: Misclassified with no clear owner.
        """
        self._ensure_capacity()
        st = self.store
        ids = np.asarray(ids, dtype=np.int64)
        k = len(ids)
        if k == 0:
            return
        if isinstance(owner_lists, np.ndarray):
            owners = np.full((k, MAX_PARTS), -1, dtype=np.int64)
            owners[:, : owner_lists.shape[1]] = owner_lists
        else:
            owners = np.full((k, MAX_PARTS), -1, dtype=np.int64)
            for i, ol in enumerate(owner_lists):
                owners[i, : len(ol)] = ol
        unowned = np.asarray(unowned, dtype=bool)
        backstop = self.s.dispatch.district_backstop
        if backstop and unowned.any():
            owners[unowned] = -1
            owners[unowned, 0] = self.city.backstop_unit[self.city.street_district[street[unowned]]]
        n_own = (owners >= 0).sum(axis=1)
        st.owner_units[ids[unowned]] = n_own[unowned]
        st.parts_left[ids[unowned]] = n_own[unowned]
        self.owners[ids] = owners
        st.unit[ids] = owners[:, 0]
        self.solvable[ids] = solvable
        st.solvable[ids] = solvable
        self.offline_suited[ids] = offline_suited
        self.case_street[ids] = street
        self.case_effort[ids] = effort
        sequential_mode = not self.unified and not self.s.dispatch.first_receiver_responsibility
        sequential = (n_own > 1) & sequential_mode
        self.sequential[ids] = sequential
        self.next_part[ids] = np.where(sequential, 1, n_own)
        flags = np.where(unowned & (not backstop), -2, -1)
        t0 = st.t_created[ids]
        has = n_own > 0
        self._push(t0[has], DISPATCH, ids[has], 0, flags[has])
        # jointly dispatched parts follow the first after a coordination delay each
        joint = np.flatnonzero(~sequential & (n_own > 1))
        if len(joint):
            reps = n_own[joint] - 1
            rows = np.repeat(joint, reps)
            parts = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps) + 1
            t = t0[rows] + self._delays(self._coordination_mean(), len(rows))
            self._push(t, DISPATCH, ids[rows], parts, flags[rows])

    def enqueue_direct(self, ids: np.ndarray, efforts: np.ndarray) -> None:
        """M/M/c validation mode: cases go straight to unit 0, FIFO, with the given service times."""
        self._ensure_capacity()
        st = self.store
        ids = np.asarray(ids, dtype=np.int64)
        t = st.t_created[ids]
        self.owners[ids, 0] = 0
        st.unit[ids] = 0
        st.t_owner[ids] = t
        self.store.set_states(ids, DISPATCHED)
        self.service.submit_many(np.zeros(len(ids), dtype=np.int64), ids, 0, efforts, t, t)

    # ----------------------------------------------------------------- the day
    def run_day(
        self, day: int, hours_per_day: np.ndarray, backlog_days: np.ndarray | None = None
    ) -> DayReport:
        """Handle all events of day ``day`` (case by case in time order), serving every unit's queue.

        Args:
            day: The day.
            hours_per_day: Handling hours per server of each unit today.
            backlog_days: Days the work waiting at each unit at the day's start would take it (what
                a unit weighs when it judges whether a new case will be late); none by default.

        Returns:
            What happened: closures, data entries, pressing and summoned work per unit.
        """
        day_end = day + 1.0
        self._day = tally = self._new_day_tallies()
        self._hours = hours_per_day
        self._backlog = np.zeros(len(hours_per_day)) if backlog_days is None else backlog_days
        self._refresh_day_constants()
        pool = self.events
        new = self._flush()
        if new is not None:
            pool.add(new)
        pool.merge()
        due = _Events()
        due.extend(pool.take(pool.t < day_end))
        while True:
            if self.compiled and len(due):
                from govsim.platform.waves import run_waves  # imports numba

                run_waves(self, due, day_end)
            while len(due):
                self._wave(due, day_end)
            started = self.service.run_day(day_end, hours_per_day)
            if not started:
                break
            self._start(started.case, started.unit, started.start)
            self._push(started.end, COMPLETE, started.case, started.part, started.unit)
            self._route(due, day_end)
            if not len(due):
                break
        return DayReport(
            closed=np.array(tally.closed, dtype=np.int64),
            entries=self._tally_entries(),
            pressed_to_withdraw=tally.pressed_to_withdraw,
            summoned_tasks=tally.summoned_tasks,
            summoned_on_time=tally.summoned_on_time,
            **_reopened_columns(tally.reopened),
            work_hours=tally.work_hours,
            worked=self._tally_worked(),
        )

    def _route(self, due: _Events, day_end: float) -> None:
        """Move newly scheduled events into today's ``due`` set or the pool of later days."""
        new = self._flush()
        if new is None:
            return
        today = new[0] < day_end
        if today.all():
            due.extend(new)
            return
        due.extend(tuple(c[today] for c in new))
        later = ~today
        self.events.add(tuple(c[later] for c in new))

    def _wave(self, due: _Events, day_end: float) -> None:
        """Handle the earliest due event of every case that has one (see the module docstring)."""
        # superseded events (e.g. by summoning or a reopening) are dropped
        versioned = _VERSIONED[due.kind]
        if versioned.any():
            stale = versioned & (due.ver != self.part_version[due.case, due.part])
            if stale.any():
                due.take(stale)
                if not len(due):
                    return
        earliest = _earliest_per_case(due.case, due.t)
        if earliest is not None:
            pick = np.zeros(len(due), dtype=bool)
            pick[earliest] = True
            t, kind, case, part, unit, _ = due.take(pick)
        else:  # every case has one due event: the wave takes them all
            t, kind, case, part, unit = due.t, due.kind, due.case, due.part, due.unit
            due.clear()
        by_time = np.argsort(t, kind="stable")
        t, kind, case, part, unit = (
            t[by_time],
            kind[by_time],
            case[by_time],
            part[by_time],
            unit[by_time],
        )
        handlers = (
            self._on_dispatch,
            self._on_arrive,
            self._on_complete,
            self._on_audit,
            self._on_escalate,
            self._on_withdraw,
        )
        present = np.bincount(kind, minlength=len(handlers))
        for k, handler in enumerate(handlers):
            if present[k] == 0:
                continue
            m = kind == k if present[k] < len(kind) else slice(None)
            handler(t[m], case[m], part[m], unit[m])
        self._route(due, day_end)

    # ----------------------------------------------------------------- handlers
    def _refresh_day_constants(self) -> None:
        """Dispatch figures every dispatch of the day uses, computed once a day."""
        self._day_handoff_mean = self._handoff_mean()
        self._day_misroute_probability = self._misroute_probability()

    def _misroute_probability(self) -> float:
        d = self.s.dispatch
        if self.unified:
            return (1.0 - d.classification_accuracy) * (1.0 - self.ds)
        return min(
            1.0, d.misroute_probability * (1.0 - self.ds) + (1.0 - d.classification_accuracy) * 0.5
        )

    def _wrong_units(self, case: np.ndarray, part: np.ndarray) -> np.ndarray:
        """For each part, a department copy that does not own it, drawn uniformly (-1 if none)."""
        owner = self.owners[case, part]
        if self._district_depts.size == 0:
            return np.full(len(case), -1, dtype=np.int64)
        district = self.city.street_district[self.case_street[case]]
        u = self.rng.random(len(case))
        # a few parts a wave: a lookup per part beats (parts x departments) array work
        cache, out = self._wrong_cache, []
        for o, d, x in zip(owner.tolist(), district.tolist(), u.tolist(), strict=True):
            cands = cache.get((o, d))
            if cands is None:  # the department copies serving the district, less the owner
                cands = [int(v) for v in self._district_depts[d] if v >= 0 and v != o]
                cache[(o, d)] = cands
            n = len(cands)
            out.append(cands[min(int(x * n), n - 1)] if n else -1)
        return np.array(out, dtype=np.int64)

    def _on_dispatch(self, t: np.ndarray, case: np.ndarray, part: np.ndarray, flag: np.ndarray):
        st = self.store
        state = st.state[case]
        live = state != WITHDRAWN
        if not live.all():
            t, case, part, flag, state = t[live], case[live], part[live], flag[live], state[live]
        if not len(case):
            return
        fresh = _REDISPATCH_STATES[state]
        if fresh.any():
            c = case[fresh]
            self.store.set_states(c, DISPATCHED)
            td = st.t_dispatched[c]
            st.t_dispatched[c] = np.where(np.isnan(td), t[fresh], td)
        owner = self.owners[case, part]
        street_unit = self.city.street_unit(self.case_street[case])
        stuck = flag == -2
        if stuck.any():
            # unclear ownership and no backstop: it lands on the street, which has to escalate it
            c, su = case[stuck], street_unit[stuck]
            self._count(su)
            self.part_at[c, part[stuck]] = su
            wait = self._deadline_days(c)
            if not self.s.closed_loop.escalation:
                wait = 2 * wait
            st.handoffs[c] += 1
            st.note_paths(c, su)
            self._push(t[stuck] + wait, ARRIVE, c, part[stuck], owner[stuck])
            go = ~stuck
            t, case, part, owner, street_unit = (
                t[go],
                case[go],
                part[go],
                owner[go],
                street_unit[go],
            )
            if not len(case):
                return
        unified = self.unified
        self._count(owner if unified else street_unit)
        handoff = self._day_handoff_mean
        handoffs = np.zeros(len(case), dtype=np.int64)
        t = t.copy()
        if not unified:
            # territory first: the street receives it, then forwards it
            fwd = owner != street_unit
            st.note_paths(case[fwd], street_unit[fwd])
            t[fwd] += self._delays(handoff, int(fwd.sum()))
            handoffs[fwd] = 1
        own = owner == street_unit
        if own.any():
            # the street owns it: it is there already
            st.handoffs[case[own]] += handoffs[own]
            self._push(t[own], ARRIVE, case[own], part[own], owner[own])
            go = ~own
            t, case, part, owner, handoffs = t[go], case[go], part[go], owner[go], handoffs[go]
            if not len(case):
                return
        target = owner.copy()
        misrouted = self.rng.random(len(case)) < self._day_misroute_probability
        if misrouted.any():
            wrong = self._wrong_units(case[misrouted], part[misrouted])
            target[misrouted] = np.where(wrong >= 0, wrong, owner[misrouted])
        t_arr = t + self._delays(handoff, len(case))
        handoffs += (target != owner) | (not unified)
        st.handoffs[case] += handoffs
        self._push(t_arr, ARRIVE, case, part, target)

    def _deadline_days(self, case: np.ndarray) -> np.ndarray:
        st = self.store
        return np.maximum(st.deadline[case] - st.t_created[case], 0.05)

    def _on_arrive(self, t: np.ndarray, case: np.ndarray, part: np.ndarray, unit: np.ndarray):
        st = self.store
        live = st.state[case] != WITHDRAWN
        if not live.all():
            t, case, part, unit = t[live], case[live], part[live], unit[live]
        if not len(case):
            return
        owner = self.owners[case, part]
        self.part_at[case, part] = unit
        self._count(unit)
        wrong = unit != owner
        if wrong.any():
            self._at_wrong_unit(t[wrong], case[wrong], part[wrong], unit[wrong], owner[wrong])
            ok = ~wrong
            t, case, part, unit = t[ok], case[ok], part[ok], unit[ok]
            if not len(case):
                return
        # the owner has it
        to = st.t_owner[case]
        st.t_owner[case] = np.where(np.isnan(to), t, to)
        self._queue_at_owner(t, case, part, unit)

    def _at_wrong_unit(self, t, case, part, unit, owner) -> None:
        """A part reached a unit that does not own it."""
        st = self.store
        st.note_paths(case, unit)
        d = self.s.dispatch
        if d.first_receiver_responsibility:
            # 首接负责: the receiver keeps the lead and convenes the owner
            st.handoffs[case] += 1
            self._push(
                t + self._delays(self._coordination_mean(), len(case)), ARRIVE, case, part, owner
            )
            return
        back = self.rng.random(len(case)) < d.return_probability
        if back.any():
            c = case[back]
            st.returns[c] += 1
            self.store.set_states(c, RETURNED)
            self._push(
                t[back] + self._delays(self._handoff_mean(), len(c)), DISPATCH, c, part[back], -1
            )
        sit = ~back
        if sit.any():
            c = case[sit]
            wait = self._deadline_days(c)
            if not self.s.closed_loop.escalation:
                wait = 2 * wait
            self._push(t[sit] + wait, ESCALATE, c, part[sit], unit[sit])

    def _queue_at_owner(self, t: np.ndarray, case: np.ndarray, part: np.ndarray, unit: np.ndarray):
        st = self.store
        practices = self.practices
        # gaming is a decision about a case that threatens a rate: one the unit expects to finish
        # late (its backlog plus the case's work runs past the deadline) or cannot solve at all
        at_risk = (
            t + self._backlog[unit] + self.case_effort[case] / self._hours[unit] > st.deadline[case]
        ) | ~self.solvable[case]
        withdraw_p = practices[unit, PERSUADE_WITHDRAWAL]
        tries = (withdraw_p > 0) & (st.owner_units[case] == 1) & at_risk
        if tries.any():
            idx = np.flatnonzero(tries)
            pressed = idx[self.rng.random(len(idx)) < withdraw_p[idx]]
            if len(pressed):
                # persuading the citizen to withdraw (劝撤)
                tally = self._day.pressed_to_withdraw
                tally += np.bincount(unit[pressed], minlength=len(tally))
                ok = pressed[self.rng.random(len(pressed)) < self.s.gaming.withdrawal_success]
                if len(ok):
                    self._push(t[ok] + WITHDRAW_DELAY, WITHDRAW, case[ok], part[ok], unit[ok])
                    keep = np.ones(len(case), dtype=bool)
                    keep[ok] = False
                    t, case, part, unit = t[keep], case[keep], part[keep], unit[keep]
                    at_risk = at_risk[keep]
        if not len(case):
            return
        effort = self._delays(self.case_effort[case], len(case))
        nominal_p = practices[unit, NOMINAL_CLOSURE]
        tries = (nominal_p > 0) & at_risk
        nominal = np.zeros(len(case), dtype=bool)
        if tries.any():
            idx = np.flatnonzero(tries)
            nominal[idx[self.rng.random(len(idx)) < nominal_p[idx]]] = True
        if nominal.any():
            # nominal closure (虚假办结): marked done after a token action, outside the work queue
            c, p, u = case[nominal], part[nominal], unit[nominal]
            self.part_nominal[c, p] = True
            st.nominal[c] = True
            self._start(c, u, t[nominal])
            token_hours = effort[nominal] * self.s.gaming.nominal_effort_share
            token = token_hours / np.maximum(self._hours[u], 1e-3)
            self._push(t[nominal] + token, COMPLETE, c, p, u)
            self._day.work_hours += np.bincount(u, weights=token_hours, minlength=len(self._hours))
            q = ~nominal
            t, case, part, unit, effort = t[q], case[q], part[q], unit[q], effort[q]
        self._day.work_hours += np.bincount(unit, weights=effort, minlength=len(self._hours))
        key = np.where(st.summoned[case], SUMMON_KEY, st.deadline[case])
        self.service.submit_many(unit, case, part, effort, t, key)

    def _start(self, case: np.ndarray, unit: np.ndarray, t: np.ndarray) -> None:
        """Work on parts of ``case`` started at ``t`` (a case may appear more than once)."""
        st = self.store
        # only multi-owner cases can start two parts at once: one start per case, its earliest
        keep = (
            _earliest_per_case(case, t)
            if len(case) > 1 and (st.owner_units[case] > 1).any()
            else None
        )
        if keep is not None:
            case, unit, t = case[keep], unit[keep], t[keep]
        ts = st.t_started[case]
        st.t_started[case] = np.where(np.isnan(ts), t, ts)
        waiting = _WAITING_STATES[st.state[case]]
        if waiting.any():
            self.store.set_states(case[waiting], IN_PROGRESS)
            self._count(unit[waiting])

    def _on_complete(self, t: np.ndarray, case: np.ndarray, part: np.ndarray, unit: np.ndarray):
        st = self.store
        live = st.state[case] != WITHDRAWN
        if not live.all():
            t, case, part, unit = t[live], case[live], part[live], unit[live]
        if not len(case):
            return
        nominal = self.part_nominal[case, part]
        solved = self.solvable[case] & ~nominal
        if self.capability is not None:
            solved &= self._work_solves(t, case, unit, nominal)
        if self.s.boundary.force_online:
            hit = np.flatnonzero(solved & self.offline_suited[case])
            if len(hit):
                penalty = self.s.boundary.forced_online_resolution_penalty
                solved[hit] = self.rng.random(len(hit)) >= penalty
        self.part_done[case, part] = True
        self.part_solved[case, part] = solved
        self._count(unit)
        if self.s.dispatch.summoning:  # only summoning marks cases summoned
            summoned = st.summoned[case] & (self.city.unit_kind[unit] == DEPARTMENT)
            if summoned.any():
                u = unit[summoned]
                n = self.city.n_units
                self._day.summoned_tasks += np.bincount(u, minlength=n)
                on_time = t[summoned] <= st.deadline[case[summoned]]
                self._day.summoned_on_time += np.bincount(u[on_time], minlength=n)
        st.parts_left[case] -= 1
        done = st.parts_left[case] <= 0
        n_parts = st.owner_units[case]
        multi = n_parts > 1
        if multi.any():
            nxt = self.next_part[case]
            hand_on = multi & self.sequential[case] & (nxt < n_parts)
            if hand_on.any():
                # hand to hand: the next owner gets the case after a coordination delay
                c = case[hand_on]
                p = nxt[hand_on].astype(np.int64)
                self.next_part[c] = p + 1
                delay = self._delays(self._coordination_mean(), len(c))
                self._push(t[hand_on] + delay, DISPATCH, c, p, -1)
                done &= ~hand_on
        if done.all():
            self._close(t, case)
        elif done.any():
            self._close(t[done], case[done])

    def _work_solves(
        self, t: np.ndarray, case: np.ndarray, unit: np.ndarray, nominal: np.ndarray
    ) -> np.ndarray:
        """Whether each completed part's work really solves it, by the unit's capability in the
        category and the days the problem waited (it worsens); counts the parts worked on."""
        cat = self.store.category[case]
        p = self.capability[unit, cat]
        if self.worsening is not None:
            p = p * np.exp(-self.worsening[cat] * (t - self.store.t_created[case]))
        key = unit * self.capability.shape[1] + cat
        self._worked_keys.append(key[~nominal] if nominal.any() else key)
        return self.rng.random(len(case)) < p

    def _tally_worked(self) -> np.ndarray | None:
        """Parts worked on today per unit and category (``None`` without capability)."""
        if self._worked_keys is None:
            return None
        shape = self.capability.shape
        keys, self._worked_keys = self._worked_keys, []
        if not keys:
            return np.zeros(shape)
        counts = np.bincount(np.concatenate(keys), minlength=shape[0] * shape[1])
        return counts.reshape(shape).astype(float)

    def _close(self, t: np.ndarray, case: np.ndarray) -> None:
        st = self.store
        n_parts = st.owner_units[case]
        solved = self.part_solved[case, 0]
        multi = n_parts > 1
        if multi.any():  # solved only if every owner's part was
            beyond = np.arange(MAX_PARTS)[None, :] >= n_parts[multi, None]
            solved[multi] = (self.part_solved[case[multi]] | beyond).all(axis=1)
        st.t_closed[case] = t
        c = case[solved]
        if len(c):
            st.mark_solved_many(c)
            ts = st.t_solved[c]
            st.t_solved[c] = np.where(np.isnan(ts), t[solved], ts)
        st.set_states(case, CLOSED)
        self._day.closed.extend(case.tolist())
        if self.audits:
            audited = self.rng.random(len(case)) < self.s.closed_loop.audit_rate
            if audited.any():
                c = case[audited]
                self._push(t[audited] + self._delays(AUDIT_DELAY_MEAN, len(c)), AUDIT, c)

    def _on_withdraw(self, t: np.ndarray, case: np.ndarray, part: np.ndarray, unit: np.ndarray):
        st = self.store
        live = ~IS_FINISHED[st.state[case]]
        t, case, unit = t[live], case[live], unit[live]
        if not len(case):
            return
        for u, c in zip(unit.tolist(), case.tolist(), strict=True):
            self.service.withdraw(u, c)
        st.t_closed[case] = t
        st.set_states(case, WITHDRAWN)
        self._count(unit)
        self._day.closed.extend(case.tolist())

    def _on_audit(self, t: np.ndarray, case: np.ndarray, part: np.ndarray, unit: np.ndarray):
        st = self.store
        live = st.state[case] == CLOSED
        t, case = t[live], case[live]
        if not len(case):
            return
        st.audited[case] = True
        st.t_audit[case] = t
        self._count(st.unit[case].astype(np.int64))
        ok = st.solved[case]
        self.store.set_states(case[ok], VERIFIED)
        bad = ~ok
        if not bad.any():
            return
        t, case = t[bad], case[bad]
        self._day.reopened.append(np.stack([case, t, st.t_closed[case]]))
        st.caught[case[st.nominal[case]]] = True
        # reopen: every unsolved part goes back to its owner, to the front of the queue
        self.store.set_states(case, REOPENED)
        st.reopens[case] += 1
        n_parts = st.owner_units[case]
        redo = ~self.part_solved[case] & (np.arange(MAX_PARTS)[None, :] < n_parts[:, None])
        rows, parts = np.nonzero(redo)
        c = case[rows]
        self.part_done[c, parts] = False
        self.part_nominal[c, parts] = False
        st.parts_left[case] += redo.sum(axis=1).astype(st.parts_left.dtype)
        self.part_version[c, parts] += 1
        self._push(t[rows], ARRIVE, c, parts, self.owners[c, parts])

    def _on_escalate(self, t: np.ndarray, case: np.ndarray, part: np.ndarray, unit: np.ndarray):
        # an overdue part sitting with a wrong unit is pulled back and re-dispatched
        self.store.set_states(case, RETURNED)
        self.store.returns[case] += 1
        self._push(t, DISPATCH, case, part, -1)

    def summon(self, t: float, case: int, response_days: float) -> None:
        """吹哨报到: send a case's pending parts straight to their owners within the response time."""
        st = self.store
        st.summoned[case] = True
        n_parts = int(st.owner_units[case])
        for p in range(n_parts):
            if self.part_done[case, p]:
                continue
            owner = int(self.owners[case, p])
            if self.part_at[case, p] == owner:
                self.service.rekey(owner, case, SUMMON_KEY)  # jumps the owner's queue
                continue
            if self.sequential[case] and p >= self.next_part[case]:
                self.next_part[case] = p + 1
            self.part_version[case, p] += 1
            self._push(np.array([t + response_days]), ARRIVE, np.array([case]), p, owner)
