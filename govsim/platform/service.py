"""Service by units: each unit serves its queue with its own servers, in continuous time within a day.

A *unit* is anything that handles case work: a community (社区), a street (街道), a department (条), or
the district backstop (兜底). Each has ``c`` servers (staff). Work arrives as *tasks* (one owner's
part of a case) with a ready time and a priority key (the case's deadline). Each day a unit runs a
small exact event loop: whenever a server is free, it takes the highest-priority task that is ready
by then (non-preemptive priority M/M/c); if none is ready it idles until the next arrival. Service
times are the task's effort (staff-hours) divided by the unit's effective hours per day, so a day of
server time is one working day. With one unit, FIFO keys and exponential effort this is exactly an
M/M/c queue (checked against Erlang C in the tests).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


@dataclass(order=True, slots=True)
class Task:
    """One owner's part of a case, waiting at a unit.

    Queues hold it inside tuples, ``(key, seq, task)`` when ready and ``(ready, seq, task)``
    before, so that heap comparisons stay in C; the order is the same as comparing tasks.
    """

    key: float
    seq: int
    case: int = field(compare=False)
    part: int = field(compare=False)
    effort: float = field(compare=False)
    ready: float = field(compare=False)
    nominal: bool = field(compare=False, default=False)


class Started(NamedTuple):
    """A task that a server started: its times, for the case store."""

    unit: int
    case: int
    part: int
    start: float
    end: float
    nominal: bool


class ServiceSystem:
    """All units' queues and servers.

    Args:
        servers: Number of servers per unit (array of ints >= 1).
    """

    def __init__(self, servers: np.ndarray) -> None:
        self.n_units = len(servers)
        self.servers = np.asarray(servers, dtype=np.int64)
        self._free: list[list[float]] = [[0.0] * int(c) for c in self.servers]
        self._ready: list[list[tuple[float, int, Task]]] = [[] for _ in range(self.n_units)]
        self._incoming: list[list[tuple[float, int, Task]]] = [[] for _ in range(self.n_units)]
        self._seq = itertools.count()
        self.queue_length = np.zeros(self.n_units, dtype=np.int64)
        """Tasks waiting (not yet started) at each unit."""
        self.busy_until = np.zeros(self.n_units)
        self._active: set[int] = set()
        """Units that may have tasks waiting (every unit that has some is in it)."""

    def submit(
        self,
        unit: int,
        case: int,
        part: int,
        effort: float,
        ready: float,
        key: float,
        nominal: bool = False,
    ) -> None:
        """Put a task into ``unit``'s queue; it becomes available at time ``ready``."""
        t = Task(key, next(self._seq), case, part, effort, ready, nominal)
        heapq.heappush(self._incoming[unit], (ready, t.seq, t))
        self.queue_length[unit] += 1
        self._active.add(unit)

    def submit_many(
        self,
        unit: np.ndarray,
        case: np.ndarray,
        part: np.ndarray | int,
        effort: np.ndarray,
        ready: np.ndarray,
        key: np.ndarray,
    ) -> None:
        """:meth:`submit` for each element of the arrays, in their order."""
        k = len(case)
        part = np.broadcast_to(np.asarray(part), (k,))
        submit = self.submit
        for args in zip(
            unit.tolist(),
            case.tolist(),
            part.tolist(),
            np.asarray(effort).tolist(),
            np.asarray(ready).tolist(),
            np.asarray(key).tolist(),
            strict=True,
        ):
            submit(*args)

    def pending_work_hours(self) -> np.ndarray:
        """Staff-hours of effort waiting at each unit (not yet started)."""
        out = np.zeros(self.n_units)
        for u in self._active:  # units with nothing waiting add 0; same sums, same order
            ready, incoming = self._ready[u], self._incoming[u]
            if ready or incoming:
                out[u] = sum([x[2].effort for x in ready]) + sum([x[2].effort for x in incoming])
        return out

    def run_day(
        self, day_end: float, hours_per_day: np.ndarray, active_units=None
    ) -> list[Started]:
        """Serve every unit up to ``day_end``.

        Args:
            day_end: End of the day (time in days).
            hours_per_day: Effective working hours of one server of each unit today; a task of
                ``effort`` staff-hours takes ``effort / hours_per_day`` days.
            active_units: Optional iterable of units to serve (default: all with work).

        Returns:
            The tasks started today with their start and end times (end may fall on a later day).
        """
        started: list[Started] = []
        # in unit order, as over range(n_units), skipping the units known to have nothing
        units = sorted(self._active) if active_units is None else active_units
        push, pop = heapq.heappush, heapq.heappop
        for u in units:
            incoming, ready = self._incoming[u], self._ready[u]
            if not incoming and not ready:
                self._active.discard(u)
                continue
            free = self._free[u]
            speed = float(hours_per_day[u])
            while True:
                t_free = free[0]
                if t_free >= day_end:
                    break
                while incoming and incoming[0][0] <= t_free:
                    task = pop(incoming)[2]
                    push(ready, (task.key, task.seq, task))
                if not ready:
                    if not incoming or incoming[0][0] >= day_end:
                        break
                    t_next = incoming[0][0]
                    while incoming and incoming[0][0] <= t_next:
                        task = pop(incoming)[2]
                        push(ready, (task.key, task.seq, task))
                task = pop(ready)[2]
                start = t_free if t_free > task.ready else task.ready
                end = start + task.effort / speed
                heapq.heapreplace(free, end)
                started.append(Started(u, task.case, task.part, start, end, task.nominal))
            self.queue_length[u] = len(incoming) + len(ready)
            self.busy_until[u] = max(free)
        return started

    def rekey(self, unit: int, case: int, key: float) -> None:
        """Give every waiting task of ``case`` at ``unit`` the priority ``key``."""
        changed = False
        ready = self._ready[unit]
        for i, (_, seq, t) in enumerate(ready):
            if t.case == case:
                t.key = key
                ready[i] = (key, seq, t)
                changed = True
        if changed:
            heapq.heapify(ready)
        for _, _, t in self._incoming[unit]:
            if t.case == case:
                t.key = key

    def withdraw(self, unit: int, case: int) -> int:
        """Remove all waiting tasks of ``case`` at ``unit`` (e.g. the citizen withdrew); returns count."""
        n0 = len(self._ready[unit]) + len(self._incoming[unit])
        self._ready[unit] = [x for x in self._ready[unit] if x[2].case != case]
        heapq.heapify(self._ready[unit])
        self._incoming[unit] = [x for x in self._incoming[unit] if x[2].case != case]
        heapq.heapify(self._incoming[unit])
        n1 = len(self._ready[unit]) + len(self._incoming[unit])
        self.queue_length[unit] = n1
        return n0 - n1
