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
every heap comparison stays in C. That is the reference definition.

The compiled path (large cities, see :class:`ServiceSystem`) keeps the same heaps as rows of flat
arrays, each unit a segment of a pool (:class:`_ArrayQueues`), and runs the day's loop, the
hand-over of batches, rekeying, withdrawal and the sum of waiting work as numba kernels
(:mod:`govsim.compiled`). The kernels repeat :mod:`heapq`'s sift operations in its order, so every
heap has the reference's layout, position by position: the started tasks, their order and times,
the queue lengths and the waiting work (added in heap order, as Python's ``sum`` adds) are the same
bit for bit (``tests/platform/test_service.py`` compares the paths).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from govsim import compiled
from govsim.compiled import helper, kernel


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
        kernels: Keep the queues as arrays served by compiled kernels (:class:`_ArrayQueues`)
            rather than as the heaps of tuples below (the reference); the same results bit for
            bit. ``None``: as :data:`govsim.compiled.FORCE` says, else from :data:`MIN_UNITS`
            units on or when a kernel is loaded in the process already.
    """

    def __init__(self, servers: np.ndarray, kernels: bool | None = None) -> None:
        self.n_units = len(servers)
        self.servers = np.asarray(servers, dtype=np.int64)
        if kernels is None:
            kernels = (
                compiled.FORCE
                if compiled.FORCE is not None
                else self.n_units >= MIN_UNITS or any(k.loaded() for k in compiled.KERNELS.values())
            )
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
        self._arrays = (
            _ArrayQueues(self.servers, self.queue_length, self.busy_until) if kernels else None
        )
        """The compiled path's queues (then the lists above stay empty), or None."""

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
        if self._arrays is not None:
            self._arrays.update(batches, EDIT_NONE, 0, 0, 0.0)
            return
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

    def server_free_times(self) -> list[list[float]]:
        """When each server of each unit is next free (per unit, in no particular order): a
        server busy at time ``t`` is free after ``t``. For checks (Little's law), not the day."""
        if self._arrays is not None:
            return self._arrays.as_lists()[2]
        return [list(free) for free in self._free]

    def pending_work_hours(self) -> np.ndarray:
        """Staff-hours of effort waiting at each unit (not yet started)."""
        self._distribute()
        if self._arrays is not None:
            return self._arrays.pending_work_hours()
        out = np.zeros(self.n_units)
        for u in self._active:  # units with nothing waiting add 0
            ready, incoming = self._ready[u], self._incoming[u]
            if ready or incoming:
                out[u] = sum([x[4] for x in ready]) + sum([x[5] for x in incoming])
        return out

    def run_day(
        self,
        day_end: float,
        hours_per_day: np.ndarray,
        active_units: Iterable[int] | None = None,
    ) -> StartedTasks:
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
        if self._arrays is not None:
            units = (
                np.arange(self.n_units)  # those without work are skipped, as below
                if active_units is None
                else np.fromiter(active_units, dtype=np.int64)
            )
            return self._arrays.run_day(day_end, hours_per_day, units)
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
        if self._arrays is not None:
            batches, self._batches = self._batches, []
            self._arrays.update(batches, EDIT_REKEY, int(unit), int(case), float(key))
            return
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
        if self._arrays is not None:
            batches, self._batches = self._batches, []
            return int(self._arrays.update(batches, EDIT_WITHDRAW, int(unit), int(case), 0.0))
        self._distribute()
        n0 = len(self._ready[unit]) + len(self._incoming[unit])
        self._ready[unit] = [x for x in self._ready[unit] if x[2] != case]
        heapq.heapify(self._ready[unit])
        self._incoming[unit] = [x for x in self._incoming[unit] if x[3] != case]
        heapq.heapify(self._incoming[unit])
        n1 = len(self._ready[unit]) + len(self._incoming[unit])
        self.queue_length[unit] = n1
        return n0 - n1


# ------------------------------------------------------------------------ the compiled path
MIN_UNITS = 200
"""From this many units on (about 50,000 citizens in the scaled baseline) a service system keeps
its queues as arrays served by compiled kernels, unless told (``kernels=``) or
:data:`govsim.compiled.FORCE` says otherwise, or a kernel is loaded in the process already. The
results are the same bit for bit either way. In the scaled baseline's year the queues' calls
(serving, withdrawals, waiting work) take 0.19 s of 100,000 citizens' (422 units) and 2.3 s of
1,000,000 citizens' (3,602 units) with the heaps of tuples, 0.09 s and 0.5 s compiled."""


class _ArrayQueues:
    """The queues of :class:`ServiceSystem` as arrays, served by compiled kernels.

    Each unit ``u`` owns the rows ``off[u] : off[u] + cap[u]`` of two pools, one for its heap of
    ready tasks (``rf``, ``ri``; ``r_len[u]`` rows in use) and one for its heap of tasks not yet
    ready (``qf``, ``qi``; ``q_len[u]``). A task is a row of three floats and three ints:
    ``(key, ready, effort)`` and ``(seq, case, part)`` in the ready heap, ``(ready, key,
    effort)`` and ``(seq, case, part)`` in the other, ordered by the first float, then seq. The
    heaps are laid out exactly as :mod:`heapq` lays out the reference's lists (the same sift
    operations in the same order), so sums over them (:meth:`pending_work_hours`) add in the same
    order. A unit's two heaps never hold more than its waiting tasks, so the pools grow only when
    tasks are handed to the units (:meth:`_reserve`). The servers' free times are
    one heap per unit in ``free`` (rows ``f_off[u] : f_off[u] + servers[u]``).
    """

    def __init__(self, servers: np.ndarray, queue_length: np.ndarray, busy_until: np.ndarray):
        n = len(servers)
        self.servers = servers
        self.queue_length = queue_length
        self.busy_until = busy_until
        self.off = np.zeros(n, dtype=np.int64)
        self.cap = np.zeros(n, dtype=np.int64)
        self.end = 0
        """Rows of the pools given to segments so far."""
        self.r_len = np.zeros(n, dtype=np.int64)
        self.q_len = np.zeros(n, dtype=np.int64)
        self.rf, self.qf = np.zeros((0, 3)), np.zeros((0, 3))
        self.ri, self.qi = np.zeros((0, 3), dtype=np.int64), np.zeros((0, 3), dtype=np.int64)
        self.f_off = np.concatenate([[0], np.cumsum(servers)[:-1]]).astype(np.int64)
        self.free = np.zeros(int(servers.sum()))

    def update(
        self, batches: list[tuple[np.ndarray, ...]], op: int, unit: int, case: int, key: float
    ) -> int:
        """Hand the submitted ``batches`` to their units, then apply one edit (:func:`_update_kernel`).

        Returns:
            The number of tasks the edit removed.
        """
        if batches:
            unit_b, case_b, part_b, effort_b, ready_b, key_b, seq_b = (
                batches[0]
                if len(batches) == 1
                else (np.concatenate(c) for c in zip(*batches, strict=True))
            )
            order = np.lexsort((seq_b, ready_b, unit_b))
            unit_b = unit_b[order].astype(np.int64, copy=False)
            self._reserve(np.bincount(unit_b, minlength=len(self.off)))
            rows_f = np.empty((len(order), 3))
            rows_f[:, 0] = ready_b[order]
            rows_f[:, 1] = key_b[order]
            rows_f[:, 2] = effort_b[order]
            rows_i = np.empty((len(order), 3), dtype=np.int64)
            rows_i[:, 0] = seq_b[order]
            rows_i[:, 1] = case_b[order]
            rows_i[:, 2] = part_b[order]
        else:
            unit_b, rows_f, rows_i = _NO_ROWS
        return _update_kernel(
            unit_b, rows_f, rows_i, op, unit, case, key, *self._state(), self.queue_length
        )

    def _state(self) -> tuple[np.ndarray, ...]:
        return self.rf, self.ri, self.qf, self.qi, self.off, self.r_len, self.q_len

    def _reserve(self, new: np.ndarray) -> None:
        """Give every unit room for its waiting tasks and ``new`` more.

        A unit that needs more gets a new segment of twice what it needs at the end of the pools
        (its rows copied there; the old segment is left unused, at most as many rows as the unit
        has now); the pools, when full, are reallocated at twice their size. So the work is in
        proportion to the rows of the units that grow, not to the pools.
        """
        need = self.r_len + self.q_len + new
        grow = np.flatnonzero(need > self.cap)
        if not len(grow):
            return
        cap = np.maximum(2 * need[grow], 8)
        off = self.end + np.cumsum(cap) - cap
        self.end += int(cap.sum())
        if self.end > len(self.rf):
            rows = max(self.end, 2 * len(self.rf))
            for name in ("rf", "ri", "qf", "qi"):
                old = getattr(self, name)
                pool = np.zeros((rows, 3), dtype=old.dtype)
                pool[: len(old)] = old
                setattr(self, name, pool)
        for pools, length in (((self.rf, self.ri), self.r_len), ((self.qf, self.qi), self.q_len)):
            src, dst = _segments(self.off[grow], length[grow]), _segments(off, length[grow])
            for pool in pools:
                pool[dst] = pool[src]  # new rows lie past all old ones: no overlap
        self.off[grow] = off
        self.cap[grow] = cap

    def run_day(self, day_end: float, hours_per_day: np.ndarray, units: np.ndarray) -> StartedTasks:
        """:meth:`ServiceSystem.run_day` on the arrays (:func:`_serve_kernel`)."""
        k = int(self.r_len.sum() + self.q_len.sum())
        out_i = np.empty((3, k), dtype=np.int64)
        out_f = np.empty((2, k))
        n = _serve_kernel(
            units,
            float(day_end),
            np.asarray(hours_per_day, dtype=np.float64),
            *self._state(),
            self.free,
            self.f_off,
            self.servers,
            self.queue_length,
            self.busy_until,
            out_i,
            out_f,
        )
        return StartedTasks(out_i[0, :n], out_i[1, :n], out_i[2, :n], out_f[0, :n], out_f[1, :n])

    def pending_work_hours(self) -> np.ndarray:
        """:meth:`ServiceSystem.pending_work_hours` on the arrays (:func:`_pending_kernel`)."""
        out = np.zeros(len(self.off))
        _pending_kernel(*self._state(), out)
        return out

    def as_lists(self) -> tuple[list[list[tuple]], list[list[tuple]], list[list[float]]]:
        """The queues as the reference holds them (ready heaps, incoming heaps, free heaps), for
        tests: the same tuples in the same positions."""
        ready, incoming, free = [], [], []
        for u in range(len(self.off)):
            b = int(self.off[u])
            rf, ri = (
                self.rf[b : b + self.r_len[u]].tolist(),
                self.ri[b : b + self.r_len[u]].tolist(),
            )
            ready.append(
                [(f[0], i[0], i[1], i[2], f[2], f[1]) for f, i in zip(rf, ri, strict=True)]
            )
            qf, qi = (
                self.qf[b : b + self.q_len[u]].tolist(),
                self.qi[b : b + self.q_len[u]].tolist(),
            )
            incoming.append(
                [(f[0], i[0], f[1], i[1], i[2], f[2]) for f, i in zip(qf, qi, strict=True)]
            )
            fb = int(self.f_off[u])
            free.append(self.free[fb : fb + int(self.servers[u])].tolist())
        return ready, incoming, free


_NO_ROWS = (np.zeros(0, dtype=np.int64), np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
"""No tasks to hand out (units, float columns, int columns), for edits between submissions."""


def _segments(off: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Rows ``off[u] : off[u] + length[u]`` of every unit, in unit order."""
    total = int(length.sum())
    first = np.cumsum(length) - length  # where each unit's rows start in the result
    return np.repeat(off - first, length) + np.arange(total)


EDIT_NONE, EDIT_REKEY, EDIT_WITHDRAW = 0, 1, 2
"""Edits :func:`_update_kernel` applies after handing out the tasks."""


@helper
def _task_less(f: np.ndarray, i: np.ndarray, a: int, b: int) -> bool:
    """Whether task row ``a`` comes before row ``b``: as the tuples compare (first float, then
    seq; a NaN compares as in a tuple)."""
    return f[a, 0] < f[b, 0] or (f[a, 0] == f[b, 0] and i[a, 0] < i[b, 0])


@helper
def _swap_tasks(f: np.ndarray, i: np.ndarray, a: int, b: int) -> None:
    """Swap task rows ``a`` and ``b``."""
    for j in range(3):
        x = f[a, j]
        f[a, j] = f[b, j]
        f[b, j] = x
        y = i[a, j]
        i[a, j] = i[b, j]
        i[b, j] = y


@helper
def _task_sift_down(f: np.ndarray, i: np.ndarray, base: int, start: int, pos: int) -> None:
    """heapq's ``_siftdown`` on the heap at ``base``: move the task at ``pos`` up to its place."""
    while pos > start:
        parent = (pos - 1) >> 1
        if not _task_less(f, i, base + pos, base + parent):
            break
        _swap_tasks(f, i, base + pos, base + parent)
        pos = parent


@helper
def _task_sift_up(f: np.ndarray, i: np.ndarray, base: int, n: int, pos: int) -> None:
    """heapq's ``_siftup`` on the heap of ``n`` tasks at ``base``: the smaller child moves up
    to a leaf, then the task at ``pos`` sifts down from there."""
    start = pos
    limit = n >> 1
    while pos < limit:
        child = 2 * pos + 1
        if child + 1 < n and not _task_less(f, i, base + child, base + child + 1):
            child += 1
        _swap_tasks(f, i, base + pos, base + child)
        pos = child
    _task_sift_down(f, i, base, start, pos)


@helper
def _task_heapify(f: np.ndarray, i: np.ndarray, base: int, n: int) -> None:
    """heapq's ``heapify`` (its cache-friendly order for large heaps gives the same layout)."""
    for pos in range((n >> 1) - 1, -1, -1):
        _task_sift_up(f, i, base, n, pos)


@helper
def _task_pop_to(
    f: np.ndarray, i: np.ndarray, base: int, n: int, tf: np.ndarray, ti: np.ndarray
) -> None:
    """heapq's ``heappop`` of the heap of ``n`` tasks at ``base``: the first task into ``tf``,
    ``ti``; the last moves to the top and sifts up (the caller shortens the heap by one)."""
    for j in range(3):
        tf[j] = f[base, j]
        ti[j] = i[base, j]
    last = base + n - 1
    if n > 1:
        for j in range(3):
            f[base, j] = f[last, j]
            i[base, j] = i[last, j]
        _task_sift_up(f, i, base, n - 1, 0)


@helper
def _make_ready(
    rf: np.ndarray,
    ri: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    base: int,
    rl: int,
    ql: int,
    t: float,
    tf: np.ndarray,
    ti: np.ndarray,
) -> tuple[int, int]:
    """Move the tasks ready by ``t`` from the heap of tasks not yet ready (``ql`` tasks) to the
    ready heap (``rl``), one ``heappop`` and ``heappush`` each, in the first's order.

    Returns:
        The two heaps' new lengths (ready, not yet ready).
    """
    while ql > 0 and qf[base, 0] <= t:
        _task_pop_to(qf, qi, base, ql, tf, ti)
        ql -= 1
        row = base + rl
        rf[row, 0] = tf[1]  # key
        rf[row, 1] = tf[0]  # ready
        rf[row, 2] = tf[2]  # effort
        for j in range(3):
            ri[row, j] = ti[j]
        rl += 1
        _task_sift_down(rf, ri, base, 0, rl - 1)
    return rl, ql


@helper
def _free_sift_up(free: np.ndarray, base: int, n: int) -> None:
    """heapq's ``_siftup`` from the top of the heap of ``n`` free times at ``base`` (after
    ``heapreplace`` put a new time there)."""
    pos = 0
    limit = n >> 1
    while pos < limit:
        child = 2 * pos + 1
        if child + 1 < n and not free[base + child] < free[base + child + 1]:
            child += 1
        x = free[base + pos]
        free[base + pos] = free[base + child]
        free[base + child] = x
        pos = child
    while pos > 0:
        parent = (pos - 1) >> 1
        if not free[base + pos] < free[base + parent]:
            break
        x = free[base + pos]
        free[base + pos] = free[base + parent]
        free[base + parent] = x
        pos = parent


@helper
def _python_sum(x: np.ndarray, start: int, n: int) -> float:
    """``sum(list)`` of ``n`` floats from ``start``, as Python 3.12 adds them (from the int 0,
    with Neumaier's compensation)."""
    total = 0.0
    c = 0.0
    for k in range(start, start + n):
        v = x[k]
        t = total + v
        if abs(total) >= abs(v):
            c += (total - t) + v
        else:
            c += (v - t) + total
        total = t
    if c != 0.0 and math.isfinite(c):
        total += c
    return total


@helper
def _drop_case(f: np.ndarray, i: np.ndarray, base: int, n: int, case: int) -> int:
    """Remove ``case``'s tasks from the heap ``f, i[base:base + n]``, keeping the others in
    order, and re-make the heap (as the reference's filtered list and ``heapify``); returns its
    new length."""
    m = 0
    for r in range(base, base + n):
        if i[r, 1] != case:
            for j in range(3):
                f[base + m, j] = f[r, j]
                i[base + m, j] = i[r, j]
            m += 1
    _task_heapify(f, i, base, m)
    return m


@kernel
def _update_kernel(
    unit: np.ndarray,
    rows_f: np.ndarray,
    rows_i: np.ndarray,
    op: int,
    edit_unit: int,
    edit_case: int,
    edit_key: float,
    rf: np.ndarray,
    ri: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    off: np.ndarray,
    r_len: np.ndarray,
    q_len: np.ndarray,
    queue_length: np.ndarray,
) -> int:
    """Hand sorted task rows to their units' heaps of tasks not yet ready, then edit one unit.

    The rows are sorted by (unit, ready, seq); each unit's rows are appended to its heap and the
    heap re-made (``heapify``), or, if the heap was empty, become it (sorted: a heap already), as
    :meth:`ServiceSystem._distribute` does. Then ``op``: :data:`EDIT_REKEY` gives ``edit_case``'s
    tasks at ``edit_unit`` the key ``edit_key`` (re-making the ready heap if any was there);
    :data:`EDIT_WITHDRAW` removes them (both heaps filtered in order and re-made).

    Returns:
        The number of tasks the edit removed.
    """
    k = len(unit)
    a = 0
    while a < k:
        u = unit[a]
        b = a
        while b < k and unit[b] == u:
            b += 1
        base = off[u]
        n0 = q_len[u]
        for r in range(a, b):
            for j in range(3):
                qf[base + n0 + r - a, j] = rows_f[r, j]
                qi[base + n0 + r - a, j] = rows_i[r, j]
        q_len[u] = n0 + b - a
        if n0 > 0:
            _task_heapify(qf, qi, base, q_len[u])
        a = b
    if op == 0:
        return 0
    u = edit_unit
    base = off[u]
    if op == 1:
        hit = False
        for r in range(base, base + r_len[u]):
            if ri[r, 1] == edit_case:
                rf[r, 0] = edit_key
                hit = True
        if hit:
            _task_heapify(rf, ri, base, r_len[u])
        for r in range(base, base + q_len[u]):
            if qi[r, 1] == edit_case:
                qf[r, 1] = edit_key
        return 0
    n0 = r_len[u] + q_len[u]
    r_len[u] = _drop_case(rf, ri, base, r_len[u], edit_case)
    q_len[u] = _drop_case(qf, qi, base, q_len[u], edit_case)
    queue_length[u] = r_len[u] + q_len[u]
    return n0 - queue_length[u]


@kernel
def _serve_kernel(
    units: np.ndarray,
    day_end: float,
    hours: np.ndarray,
    rf: np.ndarray,
    ri: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    off: np.ndarray,
    r_len: np.ndarray,
    q_len: np.ndarray,
    free: np.ndarray,
    f_off: np.ndarray,
    servers: np.ndarray,
    queue_length: np.ndarray,
    busy_until: np.ndarray,
    out_i: np.ndarray,
    out_f: np.ndarray,
) -> int:
    """:meth:`ServiceSystem.run_day`'s loop over ``units``, step for step on the array heaps.

    Started tasks go to ``out_i`` (unit, case, part) and ``out_f`` (start, end), in order.

    Returns:
        The number of tasks started.
    """
    tf = np.empty(3)
    ti = np.empty(3, dtype=np.int64)
    n = 0
    for u in units:
        rl = r_len[u]
        ql = q_len[u]
        if rl == 0 and ql == 0:
            continue
        base = off[u]
        fb = f_off[u]
        c = servers[u]
        speed = hours[u]
        while True:
            t_free = free[fb]
            if t_free >= day_end:
                break
            rl, ql = _make_ready(rf, ri, qf, qi, base, rl, ql, t_free, tf, ti)
            if rl == 0:
                if ql == 0 or qf[base, 0] >= day_end:
                    break
                # idle until the next arrival
                rl, ql = _make_ready(rf, ri, qf, qi, base, rl, ql, qf[base, 0], tf, ti)
            _task_pop_to(rf, ri, base, rl, tf, ti)
            rl -= 1
            r = tf[1]
            start = t_free if t_free > r else r
            end = start + tf[2] / speed
            free[fb] = end
            _free_sift_up(free, fb, c)
            out_i[0, n] = u
            out_i[1, n] = ti[1]
            out_i[2, n] = ti[2]
            out_f[0, n] = start
            out_f[1, n] = end
            n += 1
        r_len[u] = rl
        q_len[u] = ql
        queue_length[u] = rl + ql
        top = free[fb]
        for s in range(fb + 1, fb + c):
            if free[s] > top:
                top = free[s]
        busy_until[u] = top
    return n


@kernel
def _pending_kernel(
    rf: np.ndarray,
    ri: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    off: np.ndarray,
    r_len: np.ndarray,
    q_len: np.ndarray,
    out: np.ndarray,
) -> None:
    """Each unit's waiting effort: the ready heap's efforts summed in heap order, plus the other
    heap's (as :meth:`ServiceSystem.pending_work_hours` sums its lists)."""
    for u in range(len(off)):
        if r_len[u] or q_len[u]:
            out[u] = _python_sum(rf[:, 2], off[u], r_len[u]) + _python_sum(
                qf[:, 2], off[u], q_len[u]
            )
