"""The case engine: dispatch across 条块, service, and the closed loop 接-派-办-督-评.

Every case that is not a consultation is split into *parts*, one per owner. Parts move through
events in continuous time (days), kept in one heap and processed in time order each day:

``DISPATCH``  the dispatcher sends a part on. Unified mode (一网统管/民意速办): a command centre sends
              it to its owner, misrouting with probability ``(1 - accuracy)(1 - data_sharing)``.
              Fragmented mode (属地管理): the part goes to the street of the citizen's territory first,
              which forwards it, each hand-off misrouting with probability
              ``misroute_probability (1 - data_sharing) + (1 - accuracy) / 2`` (at most 1). Hand-offs take ``Exp(handoff_days (1 -
              data_sharing))`` (a command centre is 10 times quicker).
``ARRIVE``    a part reaches a unit. The owner queues it (as a service task). A wrong department
              returns it (退单, probability ``return_probability``) or sits on it until escalation;
              under first-receiver responsibility (首接负责) it may not return it and convenes the
              owner instead (coordination delay). Unowned cases (misclassified with no owner) go to
              the district backstop (兜底) if it exists, else wait at the street until escalated.
``COMPLETE``  a part's service ended (see :mod:`govsim.platform.service`): really solved unless the
              problem is unsolvable, the unit closed it nominally, or an offline-suited matter was
              forced online. A multi-department case is solved only when every owner did its part;
              in fragmented mode without first-receiver responsibility the parts go hand to hand
              (one after another), otherwise they are dispatched jointly, with coordination delays.
``AUDIT``     a random audit verifies a closed case: solved -> ``verified``; unsolved -> reopened
              (and ``caught`` if it was a nominal closure).
``ESCALATE``  an overdue part that sits with a wrong unit is pulled back and re-dispatched.

Summoning (吹哨报到) is done each day by the street party committees (see
:mod:`govsim.agents.party`): a summoned case's pending parts go straight to their owners within the
response time and jump their queues.
"""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

from govsim.cases import (
    CLOSED,
    DISPATCHED,
    IN_PROGRESS,
    REOPENED,
    RETURNED,
    VERIFIED,
    WITHDRAWN,
    CaseStore,
)
from govsim.city import City
from govsim.platform.service import ServiceSystem
from govsim.schema import Scenario

DISPATCH, ARRIVE, COMPLETE, AUDIT, ESCALATE, WITHDRAW = range(6)
EVENT_NAMES = ("dispatch", "arrive", "complete", "audit", "escalate", "withdraw")
UNIFIED_SPEEDUP = 10.0
"""A command centre hands a case on this many times faster than a street does."""
MAX_PARTS = 8
SUMMON_KEY = -1e12
"""Queue priority of a summoned case's tasks (ahead of any deadline)."""


class CaseEngine:
    """Routes, serves and closes cases.

    Args:
        scenario: The validated scenario.
        city: The city structure.
        store: The case store (shared with the model).
        servers: Servers per unit.
        rng: The model's random generator.
    """

    def __init__(
        self,
        scenario: Scenario,
        city: City,
        store: CaseStore,
        servers: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        self.s = scenario
        self.city = city
        self.store = store
        self.rng = rng
        self.service = ServiceSystem(servers)
        self.events: list[tuple[float, int, int, int, int, int, int]] = []
        self._seq = itertools.count()
        self.owners = np.full((store._cap, MAX_PARTS), -1, dtype=np.int64)
        self.part_solved = np.zeros((store._cap, MAX_PARTS), dtype=bool)
        self.part_done = np.zeros((store._cap, MAX_PARTS), dtype=bool)
        self.part_version = np.zeros((store._cap, MAX_PARTS), dtype=np.int32)
        self.part_at = np.full((store._cap, MAX_PARTS), -1, dtype=np.int64)
        self.solvable = np.ones(store._cap, dtype=bool)
        self.offline_suited = np.zeros(store._cap, dtype=bool)
        self.case_street = np.full(store._cap, -1, dtype=np.int64)
        self.case_effort = np.zeros(store._cap)
        self.sequential = np.zeros(store._cap, dtype=bool)
        self.next_part = np.zeros(store._cap, dtype=np.int8)
        self.part_nominal = np.zeros((store._cap, MAX_PARTS), dtype=bool)
        self._hours = np.ones(city.n_units)
        self.practices = np.zeros((city.n_units, 4))
        """Gaming practice propensities per unit (nominal closure, pressure, withdrawal, traces)."""
        d = scenario.dispatch
        self.ds = d.data_sharing
        self.unified = d.mode == "unified"
        self.transitions = np.zeros(city.n_units, dtype=np.int64)
        self.pressed_today = np.zeros(city.n_units, dtype=np.int64)
        self.forced_entries_today = np.zeros(city.n_units)
        self.summoned_tasks = np.zeros(city.n_units, dtype=np.int64)
        self.summoned_on_time = np.zeros(city.n_units, dtype=np.int64)
        self.closed_today: list[int] = []
        self.day_start = 0.0
        self.quiet_queue_mode = scenario.queue.enabled
        self._wrong_cache: dict[tuple[int, int], list[int]] = {}
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

    def _push(self, t: float, kind: int, case: int, part: int = 0, unit: int = -1) -> None:
        ver = int(self.part_version[case, part]) if kind in (ARRIVE, DISPATCH, ESCALATE) else 0
        heapq.heappush(self.events, (t, next(self._seq), kind, case, part, unit, ver))

    def _touch(self, unit: int) -> None:
        """Count one recorded transition (data entry) at ``unit``."""
        if unit >= 0:
            self.transitions[unit] += 1

    def _delay(self, mean: float) -> float:
        return float(self.rng.exponential(mean)) if mean > 0 else 0.0

    def _handoff_mean(self) -> float:
        m = self.s.dispatch.handoff_days * (1.0 - self.ds)
        return m / UNIFIED_SPEEDUP if self.unified else m

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
        self.offline_suited[ids] = offline_suited
        self.case_street[ids] = street
        self.case_effort[ids] = effort
        sequential_mode = not self.unified and not self.s.dispatch.first_receiver_responsibility
        sequential = (n_own > 1) & sequential_mode
        self.sequential[ids] = sequential
        self.next_part[ids] = np.where(sequential, 1, n_own)
        flags = np.where(unowned & (not backstop), -2, -1)
        coord = self.s.dispatch.coordination_days * (1 - self.ds)
        push, delay = self._push, self._delay
        for case, t0, n, seq, flag in zip(
            ids.tolist(),
            st.t_created[ids].tolist(),
            n_own.tolist(),
            sequential.tolist(),
            flags.tolist(),
            strict=True,
        ):
            push(t0, DISPATCH, case, 0, flag)
            if not seq:
                for p in range(1, n):
                    push(t0 + delay(coord), DISPATCH, case, p, flag)

    def enqueue_direct(self, ids: np.ndarray, efforts: np.ndarray) -> None:
        """M/M/c validation mode: cases go straight to unit 0, FIFO, with the given service times."""
        self._ensure_capacity()
        st = self.store
        for case, e in zip(ids.tolist(), efforts.tolist(), strict=True):
            t = float(st.t_created[case])
            self.owners[case, 0] = 0
            st.unit[case] = 0
            st.t_owner[case] = t
            st.set_state(case, DISPATCHED)
            self.service.submit(0, case, 0, e, t, t)

    # ----------------------------------------------------------------- the day
    def run_day(self, day: int, hours_per_day: np.ndarray) -> None:
        """Process all events of day ``day`` in time order, then serve every unit's queue."""
        self.day_start = float(day)
        day_end = day + 1.0
        self.transitions[:] = 0
        self.pressed_today[:] = 0
        self.closed_today = []
        self._hours = hours_per_day
        self._refresh_day_constants()
        ev = self.events
        handlers = (
            self._on_dispatch,
            self._on_arrive,
            self._on_complete,
            self._on_audit,
            self._on_escalate,
            self._on_withdraw,
        )
        pop, push, seq = heapq.heappop, heapq.heappush, self._seq
        version = self.part_version
        while True:
            while ev and ev[0][0] < day_end:
                t, _, kind, case, part, unit, ver = pop(ev)
                if kind in (ARRIVE, DISPATCH, ESCALATE) and ver != version[case, part]:
                    continue  # superseded (e.g. by summoning)
                handlers[kind](t, case, part, unit)
            started = self.service.run_day(day_end, hours_per_day)
            if not started:
                break
            on_start = self._on_start
            for unit, case, part, start, end, _nominal in started:
                on_start(case, part, unit, start)
                push(ev, (end, next(seq), COMPLETE, case, part, unit, 0))  # as _push does
            if not (ev and ev[0][0] < day_end):
                break

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

    def _wrong_unit(self, case: int, part: int) -> int:
        """A department copy that does not own the part (where a misrouted part lands)."""
        owner = int(self.owners[case, part])
        depts = self.city.dept_unit
        if depts.size == 0:
            return -1
        district = int(self.city.street_district[self.case_street[case]])
        key = (owner, district)
        cands = self._wrong_cache.get(key)
        if cands is None:  # the department copies serving the district, less the owner
            cands = [int(u) for u in depts[:, district] if u != owner and u >= 0]
            self._wrong_cache[key] = cands
        if not cands:
            return -1
        return cands[int(self.rng.integers(len(cands)))]

    def _on_dispatch(self, t: float, case: int, part: int, flag: int) -> None:
        st = self.store
        state = int(st.state[case])
        if state == WITHDRAWN:
            return
        if state in (0, RETURNED, REOPENED):
            st.set_state(case, DISPATCHED)
            if math.isnan(st.t_dispatched[case]):
                st.t_dispatched[case] = t
        owner = int(self.owners[case, part])
        street_unit = int(self.city.street_unit(int(self.case_street[case])))
        if flag == -2:
            # unclear ownership and no backstop: it lands on the street, which has to escalate it
            self._touch(street_unit)
            self.part_at[case, part] = street_unit
            wait = (
                self._deadline_days(case)
                if self.s.closed_loop.escalation
                else 2 * self._deadline_days(case)
            )
            st.handoffs[case] += 1
            st.note_path(case, street_unit)
            self._push(t + wait, ARRIVE, case, part, owner)
            return
        unified = self.unified
        touched = owner if unified else street_unit
        if touched >= 0:
            self.transitions[touched] += 1
        handoff = self._day_handoff_mean
        handoffs = 0
        if not unified and owner != street_unit:
            # territory first: the street receives it, then forwards it
            st.note_path(case, street_unit)
            t = t + self._delay(handoff)
            handoffs = 1
        if owner == street_unit:
            if handoffs:
                st.handoffs[case] += 1
            self._push(t, ARRIVE, case, part, owner)
            return
        target = owner
        if self.rng.random() < self._day_misroute_probability:
            wrong = self._wrong_unit(case, part)
            if wrong >= 0:
                target = wrong
        t_arr = t + self._delay(handoff)
        if target != owner or not unified:
            handoffs += 1
        if handoffs:
            st.handoffs[case] += handoffs
        self._push(t_arr, ARRIVE, case, part, target)

    def _deadline_days(self, case: int) -> float:
        return max(float(self.store.deadline[case] - self.store.t_created[case]), 0.05)

    def _on_arrive(self, t: float, case: int, part: int, unit: int) -> None:
        st = self.store
        if int(st.state[case]) == WITHDRAWN:
            return
        owner = int(self.owners[case, part])
        self.part_at[case, part] = unit
        if unit >= 0:
            self.transitions[unit] += 1
        if unit != owner:
            st.note_path(case, unit)
            d = self.s.dispatch
            if d.first_receiver_responsibility:
                # 首接负责: the receiver keeps the lead and convenes the owner
                delay = self._delay(d.coordination_days * (1 - self.ds))
                st.handoffs[case] += 1
                self._push(t + delay, ARRIVE, case, part, owner)
            elif self.rng.random() < d.return_probability:
                st.returns[case] += 1
                st.set_state(case, RETURNED)
                self._push(t + self._delay(self._handoff_mean()), DISPATCH, case, part, -1)
            else:
                wait = self._deadline_days(case)
                self._push(
                    t + (wait if self.s.closed_loop.escalation else 2 * wait),
                    ESCALATE,
                    case,
                    part,
                    unit,
                )
            return
        # the owner has it
        if math.isnan(st.t_owner[case]):
            st.t_owner[case] = t
        self._queue_at_owner(t, case, part, unit)

    def _queue_at_owner(self, t: float, case: int, part: int, unit: int) -> None:
        st = self.store
        practices = self.practices
        withdraw_p = float(practices[unit, 2])
        if withdraw_p > 0 and int(st.owner_units[case]) == 1 and self.rng.random() < withdraw_p:
            # persuading the citizen to withdraw (劝撤)
            self.pressed_today[unit] += 1
            if self.rng.random() < self.s.gaming.withdrawal_success:
                self._push(t + 0.05, WITHDRAW, case, part, unit)
                return
        nominal_p = float(practices[unit, 0])
        effort = self._delay(float(self.case_effort[case]))
        if nominal_p > 0 and self.rng.random() < nominal_p:
            # nominal closure (虚假办结): marked done after a token action, outside the work queue
            self.part_nominal[case, part] = True
            st.nominal[case] = True
            self._on_start(case, part, unit, t)
            token = (
                effort * self.s.gaming.nominal_effort_share / max(float(self._hours[unit]), 1e-3)
            )
            self._push(t + token, COMPLETE, case, part, unit)
            return
        key = SUMMON_KEY if st.summoned[case] else float(st.deadline[case])
        self.service.submit(unit, case, part, effort, t, key)

    def _on_start(self, case: int, part: int, unit: int, t: float) -> None:
        st = self.store
        if math.isnan(st.t_started[case]):
            st.t_started[case] = t
        if int(st.state[case]) in (0, DISPATCHED, RETURNED, REOPENED):
            st.set_state(case, IN_PROGRESS)
            if unit >= 0:
                self.transitions[unit] += 1

    def _on_complete(self, t: float, case: int, part: int, unit: int) -> None:
        st = self.store
        if int(st.state[case]) == WITHDRAWN:
            return
        nominal = bool(self.part_nominal[case, part])
        solved = bool(self.solvable[case]) and not nominal
        if solved and self.offline_suited[case] and self.s.boundary.force_online:
            solved = self.rng.random() >= self.s.boundary.forced_online_resolution_penalty
        self.part_done[case, part] = True
        self.part_solved[case, part] = solved
        if unit >= 0:
            self.transitions[unit] += 1
        if st.summoned[case] and self.city.unit_kind[unit] == 2:
            self.summoned_tasks[unit] += 1
            self.summoned_on_time[unit] += int(t <= st.deadline[case])
        st.parts_left[case] -= 1
        n_parts = int(st.owner_units[case])
        if n_parts > 1 and self.sequential[case] and self.next_part[case] < n_parts:
            p = int(self.next_part[case])
            self.next_part[case] = p + 1
            delay = self._delay(self.s.dispatch.coordination_days * (1 - self.ds))
            self._push(t + delay, DISPATCH, case, p, -1)
            return
        if st.parts_left[case] > 0:
            return
        self._close(t, case)

    def _close(self, t: float, case: int) -> None:
        st = self.store
        n_parts = int(st.owner_units[case])
        if n_parts == 1:
            solved = bool(self.part_solved[case, 0])
        else:
            solved = bool(self.part_solved[case, :n_parts].all())
        st.t_closed[case] = t
        if solved:
            st.mark_solved(case)
            if math.isnan(st.t_solved[case]):
                st.t_solved[case] = t
        st.set_state(case, CLOSED)
        self.closed_today.append(case)
        if not self.quiet_queue_mode and self.rng.random() < self.s.closed_loop.audit_rate:
            self._push(t + self._delay(3.0), AUDIT, case)

    def _on_withdraw(self, t: float, case: int, part: int, unit: int) -> None:
        st = self.store
        if st.state[case] in (CLOSED, VERIFIED, WITHDRAWN):
            return
        self.service.withdraw(unit, case)
        st.t_closed[case] = t
        st.set_state(case, WITHDRAWN)
        self._touch(unit)
        self.closed_today.append(case)

    def _on_audit(self, t: float, case: int, part: int, unit: int) -> None:
        st = self.store
        if st.state[case] != CLOSED:
            return
        st.audited[case] = True
        st.t_audit[case] = t
        self._touch(int(st.unit[case]))
        if st.solved[case]:
            st.set_state(case, VERIFIED)
            return
        if st.nominal[case]:
            st.caught[case] = True
        # reopen: every unsolved part goes back to its owner, to the front of the queue
        st.set_state(case, REOPENED)
        st.reopens[case] += 1
        n_parts = int(st.owner_units[case])
        for p in range(n_parts):
            if not self.part_solved[case, p]:
                self.part_done[case, p] = False
                self.part_nominal[case, p] = False
                st.parts_left[case] += 1
                self.part_version[case, p] += 1
                self._push(t, ARRIVE, case, p, int(self.owners[case, p]))

    def _on_escalate(self, t: float, case: int, part: int, unit: int) -> None:
        # an overdue part sitting with a wrong unit is pulled back and re-dispatched
        self.store.set_state(case, RETURNED)
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
            self._push(t + response_days, ARRIVE, case, p, owner)
