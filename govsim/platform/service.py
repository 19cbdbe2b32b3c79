"""Service by units: each unit serves its queue with its own servers, in continuous time within a day.

A *unit* is anything that handles case work: a community (社区), a street (街道), a department (条), or
the district backstop (兜底). Each has ``c`` servers (staff). Work arrives as *tasks* (one owner's
part of a case) with a ready time and a priority key (the case's deadline). Each day a unit runs a
small exact event loop: whenever a server is free, it takes the highest-priority task that is ready
by then (non-preemptive priority M/M/c; ties by submission order); if none is ready it idles until
the next arrival. Service times are the task's effort (staff-hours) divided by the unit's effective
hours per day, so a day of server time is one working day. With one unit, FIFO keys and exponential
effort this is exactly an M/M/c queue (checked against Erlang C in the tests).

Tasks are submitted in batches of arrays (:meth:`ServiceSystem.submit_many`) and handed to their
units' queues when the units next serve, sorted once per batch; a queue holds plain tuples, so that
every heap comparison stays in C.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class Started(NamedTuple):
    """A task that a server started: its times, for the case store."""

    unit: int
    case: int
    part: int
    start: float
    end: float


@dataclass(frozen=True)
class StartedTasks:
    """The tasks started by one :meth:`ServiceSystem.run_day`, as arrays (in unit order, then in
    the order each unit started them). Iterating gives one :class:`Started` per task."""

    unit: np.ndarray
    case: np.ndarray
    part: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @classmethod
    def from_rows(cls, rows: list[tuple[int, int, int, float, float]]) -> StartedTasks:
        """Build from ``(unit, case, part, start, end)`` rows."""
        if not rows:
            e = np.zeros(0, dtype=np.int64)
            return cls(e, e, e, np.zeros(0), np.zeros(0))
        a = np.array(rows, dtype=np.float64)
        ints = a[:, :3].astype(np.int64)
        return cls(ints[:, 0], ints[:, 1], ints[:, 2], a[:, 3], a[:, 4])

    def __len__(self) -> int:
        return len(self.case)

    def __getitem__(self, i: int) -> Started:
        return Started(
            int(self.unit[i]),
            int(self.case[i]),
            int(self.part[i]),
            float(self.start[i]),
            float(self.end[i]),
        )

    def __iter__(self) -> Iterator[Started]:
        return map(Started._make, zip(*self._columns(), strict=True))

    def _columns(self) -> tuple[list, ...]:
        return (
            self.unit.tolist(),
            self.case.tolist(),
            self.part.tolist(),
            self.start.tolist(),
            self.end.tolist(),
        )


class ServiceSystem:
    """All units' queues and servers.

    Args:
        servers: Number of servers per unit (array of ints >= 1).
    """

    def __init__(self, servers: np.ndarray) -> None:
        self.n_units = len(servers)
        self.servers = np.asarray(servers, dtype=np.int64)
        self._free: list[list[float]] = [[0.0] * int(c) for c in self.servers]
        """Per unit, a heap of its servers' free times."""
        self._ready: list[list[tuple]] = [[] for _ in range(self.n_units)]
        """Per unit, a heap of ``(key, seq, case, part, effort, ready)`` of tasks ready to start."""
        self._incoming: list[list[tuple]] = [[] for _ in range(self.n_units)]
        """Per unit, a heap of ``(ready, seq, key, case, part, effort)`` not yet ready."""
        self._batches: list[tuple[np.ndarray, ...]] = []
        """Submitted tasks not yet handed to their units: (unit, case, part, effort, ready, key, seq)."""
        self._next_seq = 0
        self.queue_length = np.zeros(self.n_units, dtype=np.int64)
        """Tasks waiting (not yet started) at each unit."""
        self.busy_until = np.zeros(self.n_units)
        self._active: set[int] = set()
        """Units that may have tasks waiting (every unit that has some is in it)."""

    def submit(
        self, unit: int, case: int, part: int, effort: float, ready: float, key: float
    ) -> None:
        """Put a task into ``unit``'s queue; it becomes available at time ``ready``."""
        self.submit_many(
            np.array([unit]), np.array([case]), part, np.array([effort]), np.array([ready]), key
        )

    def submit_many(
        self,
        unit: np.ndarray,
        case: np.ndarray,
        part: np.ndarray | int,
        effort: np.ndarray,
        ready: np.ndarray,
        key: np.ndarray | float,
    ) -> None:
        """:meth:`submit` for each element of the arrays, in their order (scalars broadcast)."""
        k = len(case)
        if k == 0:
            return

        def column(x, dtype) -> np.ndarray:  # an array of k (a scalar filled; arrays as given)
            return x if isinstance(x, np.ndarray) and x.shape == (k,) else np.full(k, x, dtype)

        unit = column(unit, np.int64)
        seq = np.arange(self._next_seq, self._next_seq + k)
        self._next_seq += k
        cols = (
            unit,
            column(case, np.int64),
            column(part, np.int64),
            column(effort, np.float64),
            column(ready, np.float64),
            column(key, np.float64),
            seq,
        )
        self._batches.append(cols)
        self.queue_length += np.bincount(unit, minlength=self.n_units)

    def _distribute(self) -> None:
        """Hand every submitted task to its unit's queue of tasks not yet ready."""
        if not self._batches:
            return
        batches, self._batches = self._batches, []
        unit, case, part, effort, ready, key, seq = (
            batches[0]
            if len(batches) == 1
            else (np.concatenate(c) for c in zip(*batches, strict=True))
        )
        order = np.lexsort((seq, ready, unit))
        unit = unit[order]
        rows = list(
            zip(
                ready[order].tolist(),
                seq[order].tolist(),
                key[order].tolist(),
                case[order].tolist(),
                part[order].tolist(),
                effort[order].tolist(),
                strict=True,
            )
        )
        cut = np.flatnonzero(unit[1:] != unit[:-1]) + 1
        starts = [0, *cut.tolist()]
        ends = [*cut.tolist(), len(unit)]
        incoming = self._incoming
        for u, a, b in zip(unit[starts].tolist(), starts, ends, strict=True):
            queue = incoming[u]
            if queue:
                queue.extend(rows[a:b])
                heapq.heapify(queue)
            else:
                incoming[u] = rows[a:b]  # sorted by (ready, seq): already a heap
            self._active.add(u)

    def pending_work_hours(self) -> np.ndarray:
        """Staff-hours of effort waiting at each unit (not yet started)."""
        self._distribute()
        out = np.zeros(self.n_units)
        for u in self._active:  # units with nothing waiting add 0
            ready, incoming = self._ready[u], self._incoming[u]
            if ready or incoming:
                out[u] = sum([x[4] for x in ready]) + sum([x[5] for x in incoming])
        return out

    def run_day(self, day_end: float, hours_per_day: np.ndarray, active_units=None) -> StartedTasks:
        """Serve every unit up to ``day_end``.

        Args:
            day_end: End of the day (time in days).
            hours_per_day: Effective working hours of one server of each unit today; a task of
                ``effort`` staff-hours takes ``effort / hours_per_day`` days.
            active_units: Optional iterable of units to serve (default: all with work).

        Returns:
            The tasks started today with their start and end times (end may fall on a later day).
        """
        self._distribute()
        started: list[tuple[int, int, int, float, float]] = []
        record = started.append
        # in unit order, as over range(n_units), skipping the units known to have nothing
        units = sorted(self._active) if active_units is None else active_units
        push, pop, replace = heapq.heappush, heapq.heappop, heapq.heapreplace
        hours = hours_per_day.tolist()
        for u in units:
            incoming, ready = self._incoming[u], self._ready[u]
            if not incoming and not ready:
                self._active.discard(u)
                continue
            free = self._free[u]
            speed = hours[u]
            while True:
                t_free = free[0]
                if t_free >= day_end:
                    break
                while incoming and incoming[0][0] <= t_free:
                    r, s, key, case, part, effort = pop(incoming)
                    push(ready, (key, s, case, part, effort, r))
                if not ready:
                    if not incoming or incoming[0][0] >= day_end:
                        break
                    t_next = incoming[0][0]
                    while incoming and incoming[0][0] <= t_next:
                        r, s, key, case, part, effort = pop(incoming)
                        push(ready, (key, s, case, part, effort, r))
                _, _, case, part, effort, r = pop(ready)
                start = t_free if t_free > r else r
                end = start + effort / speed
                replace(free, end)
                record((u, case, part, start, end))
            self.queue_length[u] = len(incoming) + len(ready)
            self.busy_until[u] = max(free)
        return StartedTasks.from_rows(started)

    def rekey(self, unit: int, case: int, key: float) -> None:
        """Give every waiting task of ``case`` at ``unit`` the priority ``key``."""
        self._distribute()
        ready = self._ready[unit]
        if any(x[2] == case for x in ready):
            self._ready[unit] = [(key, *x[1:]) if x[2] == case else x for x in ready]
            heapq.heapify(self._ready[unit])
        incoming = self._incoming[unit]
        if any(x[3] == case for x in incoming):  # ordered by ready time: the order stays
            self._incoming[unit] = [(*x[:2], key, *x[3:]) if x[3] == case else x for x in incoming]

    def withdraw(self, unit: int, case: int) -> int:
        """Remove all waiting tasks of ``case`` at ``unit`` (e.g. the citizen withdrew); returns count."""
        self._distribute()
        n0 = len(self._ready[unit]) + len(self._incoming[unit])
        self._ready[unit] = [x for x in self._ready[unit] if x[2] != case]
        heapq.heapify(self._ready[unit])
        self._incoming[unit] = [x for x in self._incoming[unit] if x[3] != case]
        heapq.heapify(self._incoming[unit])
        n1 = len(self._ready[unit]) + len(self._incoming[unit])
        self.queue_length[unit] = n1
        return n0 - n1
