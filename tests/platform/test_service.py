"""Tests of govsim.platform.service: exact continuous-time service by units within each day.

Hand-built task lists with known start and end times, then property tests against an independent
reference implementation of non-preemptive priority M/M/c service (linear scans instead of heaps)
and against the two defining properties of the discipline: work conservation (no server idles
while a task is ready) and priority (no ready task with a better key is passed over). Each runs on
both paths, the heaps of tuples and the compiled array heaps (``kernels``); then the two paths
against each other, bit for bit and heap position by heap position, over random sequences of
submissions, days, rekeying and withdrawals.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govsim.platform import service as S
from govsim.platform.service import ServiceSystem

BOTH = pytest.mark.parametrize("kernels", [False, True], ids=["heapq", "compiled"])
"""Run a test on the reference heaps and on the compiled array heaps."""


def _serve(
    servers: int,
    tasks: list[tuple[float, float, float]],
    day_ends=(10.0,),
    speed=1.0,
    kernels: bool = False,
):
    """Submit (ready, effort, key) tasks to one unit, serve up to each day end in turn.

    Returns {task index: (start, end)}.
    """
    s = ServiceSystem(np.array([servers]), kernels=kernels)
    for i, (ready, effort, key) in enumerate(tasks):
        s.submit(0, case=i, part=0, effort=effort, ready=ready, key=key)
    out = {}
    for de in day_ends:
        for x in s.run_day(de, np.array([speed])):
            assert x.unit == 0 and x.case not in out
            out[x.case] = (x.start, x.end)
    return out, s


@BOTH
def test_single_server_fifo_exact_times(kernels: bool) -> None:
    tasks = [(0.0, 0.3, 0.0), (0.1, 0.2, 0.1), (0.2, 0.4, 0.2), (1.5, 0.1, 1.5)]
    out, s = _serve(1, tasks, day_ends=(10.0,), kernels=kernels)
    assert out[0] == pytest.approx((0.0, 0.3))
    assert out[1] == pytest.approx((0.3, 0.5))
    assert out[2] == pytest.approx((0.5, 0.9))
    assert out[3] == pytest.approx((1.5, 1.6))  # the server idled until the task was ready
    assert s.queue_length[0] == 0


@BOTH
def test_priority_is_by_key_among_ready_tasks_and_non_preemptive(kernels: bool) -> None:
    # server busy with task 0 until 0.5; task 2 (key 1) arrives after task 1 (key 5) but goes first;
    # task 3 has the best key but arrives while task 2 is in service: no preemption.
    tasks = [(0.0, 0.5, 9.0), (0.1, 0.1, 5.0), (0.2, 0.1, 1.0), (0.55, 0.1, -1.0)]
    out, _ = _serve(1, tasks, kernels=kernels)
    assert out[0] == pytest.approx((0.0, 0.5))
    assert out[2] == pytest.approx((0.5, 0.6))
    assert out[3] == pytest.approx((0.6, 0.7))
    assert out[1] == pytest.approx((0.7, 0.8))


@BOTH
def test_earliest_free_server_takes_the_next_task(kernels: bool) -> None:
    tasks = [(0.0, 1.0, 0.0), (0.0, 0.3, 0.0), (0.1, 0.5, 0.1), (0.2, 0.1, 0.2)]
    out, _ = _serve(2, tasks, kernels=kernels)
    assert out[0] == pytest.approx((0.0, 1.0))
    assert out[1] == pytest.approx((0.0, 0.3))
    assert out[2] == pytest.approx((0.3, 0.8))
    assert out[3] == pytest.approx((0.8, 0.9))


@BOTH
def test_speed_converts_staff_hours_to_days(kernels: bool) -> None:
    out, _ = _serve(1, [(0.0, 4.0, 0.0), (0.0, 2.0, 1.0)], speed=8.0, kernels=kernels)
    assert out[0] == pytest.approx((0.0, 0.5))
    assert out[1] == pytest.approx((0.5, 0.75))


@BOTH
def test_day_end_stops_new_starts_but_not_running_service(kernels: bool) -> None:
    s = ServiceSystem(np.array([1]), kernels=kernels)
    s.submit(0, 0, 0, effort=0.8, ready=0.5, key=0.0)
    s.submit(0, 1, 0, effort=0.1, ready=0.6, key=1.0)
    s.submit(0, 2, 0, effort=0.1, ready=2.5, key=2.0)
    day1 = s.run_day(1.0, np.array([1.0]))
    assert [(x.case, x.start, x.end) for x in day1] == [(0, 0.5, pytest.approx(1.3))]
    assert s.queue_length[0] == 2
    assert s.pending_work_hours()[0] == pytest.approx(0.2)
    assert s.busy_until[0] == pytest.approx(1.3)
    day2 = s.run_day(2.0, np.array([1.0]))
    assert [(x.case, x.start) for x in day2] == [(1, pytest.approx(1.3))]
    assert s.queue_length[0] == 1  # task 2 is not ready until day 3
    day3 = s.run_day(3.0, np.array([1.0]))
    assert [(x.case, x.start) for x in day3] == [(2, 2.5)]
    assert s.queue_length[0] == 0 and s.pending_work_hours()[0] == 0


@BOTH
def test_withdraw_and_rekey(kernels: bool) -> None:
    s = ServiceSystem(np.array([1, 1]), kernels=kernels)
    s.submit(0, 0, 0, effort=1.0, ready=0.0, key=0.0)  # occupies unit 0 until 1.0
    s.submit(0, 1, 0, effort=0.1, ready=0.1, key=1.0)
    s.submit(0, 2, 0, effort=0.1, ready=0.2, key=2.0)
    s.submit(0, 3, 0, effort=0.1, ready=0.3, key=3.0)
    s.submit(1, 3, 1, effort=0.1, ready=0.3, key=3.0)
    assert s.queue_length.tolist() == [4, 1]
    first = s.run_day(0.5, np.array([1.0, 1.0]))
    assert {x.case for x in first} == {0, 3}
    assert s.withdraw(0, 1) == 1
    assert s.withdraw(0, 1) == 0
    assert s.queue_length[0] == 2
    s.rekey(0, 3, -5.0)  # case 3 jumps ahead of case 2
    rest = s.run_day(5.0, np.array([1.0, 1.0]))
    assert [x.case for x in rest] == [3, 2]
    assert rest[0].start == pytest.approx(1.0)


@BOTH
def test_batches_keep_submission_order_among_equal_keys(kernels: bool) -> None:
    s = ServiceSystem(np.array([1, 2]), kernels=kernels)
    s.submit_many(np.array([1, 0, 1]), np.array([5, 6, 7]), 0, np.full(3, 0.1), 0.0, 1.0)
    s.submit_many(np.array([0, 1]), np.array([8, 9]), np.array([1, 2]), np.full(2, 0.1), 0.0, 1.0)
    assert s.queue_length.tolist() == [2, 3]
    got = s.run_day(1.0, np.array([1.0, 1.0]))
    assert [(x.unit, x.case, x.part) for x in got] == [
        (0, 6, 0),
        (0, 8, 1),
        (1, 5, 0),
        (1, 7, 0),
        (1, 9, 2),
    ]
    assert got.start.tolist() == pytest.approx([0.0, 0.1, 0.0, 0.0, 0.1])
    assert len(got) == 5 and got[4] == (1, 9, 2, pytest.approx(0.1), pytest.approx(0.2))


# ----------------------------------------------------------------------------- properties
def _reference(servers: int, tasks: list[tuple[float, float, float]]) -> dict[int, float]:
    """Independent non-preemptive priority multi-server service: linear scans, no heaps."""
    free = [0.0] * servers
    waiting = list(range(len(tasks)))
    start = {}
    while waiting:
        k = min(range(servers), key=lambda j: free[j])
        t = free[k]
        ready = [i for i in waiting if tasks[i][0] <= t]
        if not ready:
            t = min(tasks[i][0] for i in waiting)
            ready = [i for i in waiting if tasks[i][0] <= t]
        i = min(ready, key=lambda j: (tasks[j][2], j))
        start[i] = t
        free[k] = t + tasks[i][1]
        waiting.remove(i)
    return start


TASKS = st.lists(
    st.tuples(
        st.floats(0, 3, allow_nan=False),
        st.floats(0.001, 1.0, allow_nan=False),
        st.integers(0, 5).map(float),
    ),
    min_size=1,
    max_size=40,
)


@BOTH
@given(servers=st.integers(1, 4), tasks=TASKS, split=st.booleans())
@settings(max_examples=200, deadline=None)
def test_matches_reference_and_is_work_conserving(
    kernels: bool, servers: int, tasks, split: bool
) -> None:
    day_ends = tuple(float(d) for d in range(1, 60)) if split else (60.0,)
    out, s = _serve(servers, tasks, day_ends=day_ends, kernels=kernels)
    assert len(out) == len(tasks) and s.queue_length[0] == 0
    ref = _reference(servers, tasks)
    for i, (ready, effort, _) in enumerate(tasks):
        start, end = out[i]
        assert start >= ready
        assert end == pytest.approx(start + effort)
        assert start == pytest.approx(ref[i], abs=1e-9)

    def busy(t: float) -> int:
        return sum(1 for a, b in out.values() if a <= t < b)

    for i, (ready, _, key) in enumerate(tasks):
        start = out[i][0]
        if start > ready + 1e-12:
            # work conservation: all servers busy at the moment it became ready and whenever one
            # frees before it starts
            checkpoints = [ready] + [b for a, b in out.values() if ready < b < start]
            for t in checkpoints:
                assert busy(t) == servers
        # priority: nothing with a better key that was ready when i started starts after i
        for j, (ready_j, _, key_j) in enumerate(tasks):
            if ready_j <= start and (key_j, j) < (key, i):
                assert out[j][0] <= start + 1e-12


# ------------------------------------------------------------ the compiled path, bit for bit
def _heaps(s: ServiceSystem) -> tuple[list, list, list]:
    """Every unit's ready, not-yet-ready and free-time heaps, as the reference holds them."""
    if s._arrays is not None:
        return s._arrays.as_lists()
    return s._ready, s._incoming, s._free


def _same(a: ServiceSystem, b: ServiceSystem) -> None:
    assert _heaps(a) == _heaps(b)  # position by position: the same heap layout
    assert np.array_equal(a.queue_length, b.queue_length)
    assert np.array_equal(a.busy_until, b.busy_until)


def _same_started(x: S.StartedTasks, y: S.StartedTasks) -> None:
    for name in ("unit", "case", "part", "start", "end"):
        got, want = getattr(y, name), getattr(x, name)
        assert got.dtype == want.dtype and np.array_equal(got, want), name


# coarse grids, so that ready times, keys and free times tie (ties are broken by submission)
_TIMES = st.sampled_from([-1.0, -0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0])
_KEYS = st.sampled_from([-1e12, 0.0, 1.0, 2.0, 2.5, 7.0])
_TASK = st.tuples(
    st.integers(0, 3),  # unit (modulo the units there are)
    st.integers(0, 7),  # case
    st.integers(0, 2),  # part
    st.sampled_from([0.05, 0.25, 0.5, 1.0, 2.0, 8.0]),  # effort
    _TIMES,  # ready, from the current day's start
    _KEYS,
)
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.lists(_TASK, max_size=12)),
        st.tuples(st.just("rekey"), st.integers(0, 3), st.integers(0, 7), _KEYS),
        st.tuples(st.just("withdraw"), st.integers(0, 3), st.integers(0, 7)),
        st.tuples(st.just("day"), st.lists(st.sampled_from([0.5, 1.0, 3.0, 8.0]), min_size=4)),
        st.tuples(st.just("pending")),
    ),
    max_size=40,
)


@given(servers=st.lists(st.integers(1, 3), min_size=1, max_size=4), ops=_OPS)
@settings(max_examples=300, deadline=None)
def test_the_compiled_queues_equal_the_heaps_bit_for_bit(servers: list[int], ops) -> None:
    """Random submissions, days, rekeying and withdrawals on several units: the compiled path
    starts the same tasks at the same times in the same order and leaves the same heaps.

    The ready times reach back before the day (a task that arrives late in the queue but was
    ready early stays among those not yet ready while tasks are ready) and tie, so that an idle
    server moves several tasks at once, some ready later than the next free server."""
    n = len(servers)
    ref = ServiceSystem(np.array(servers), kernels=False)
    fast = ServiceSystem(np.array(servers), kernels=True)
    day = 0.0
    for op in ops:
        if op[0] == "submit" and op[1]:
            u, c, p, e, r, k = (np.array(col) for col in zip(*op[1], strict=True))
            for s in (ref, fast):
                s.submit_many(u % n, c, p, e, day + r, k)
        elif op[0] == "rekey":
            for s in (ref, fast):
                s.rekey(op[1] % n, op[2], op[3])
        elif op[0] == "withdraw":
            assert ref.withdraw(op[1] % n, op[2]) == fast.withdraw(op[1] % n, op[2])
        elif op[0] == "day":
            day += 1.0
            hours = np.array(op[1][:n] + [1.0] * (n - len(op[1])))
            _same_started(ref.run_day(day, hours), fast.run_day(day, hours))
        elif op[0] == "pending":
            assert np.array_equal(ref.pending_work_hours(), fast.pending_work_hours())
        _same(ref, fast)
    assert np.array_equal(ref.pending_work_hours(), fast.pending_work_hours())


@pytest.mark.parametrize("n", [100, 2600, 9000])
def test_large_heaps_keep_heapqs_layout(n: int) -> None:
    """Above 2,500 tasks heapq heapifies in another (cache-friendly) order; the layout is the same.

    Efforts spread over many magnitudes make the order of adding them matter to the sum
    (Python's compensated ``sum``, which the compiled pending work reproduces)."""
    rng = np.random.default_rng(n)
    ref, fast = (ServiceSystem(np.array([3, 1]), kernels=k) for k in (False, True))
    for day in range(3):
        unit = rng.integers(0, 2, n)
        effort = rng.random(n) * 10.0 ** rng.integers(-9, 6, n)
        ready = day + rng.random(n) * 4.0
        key = rng.integers(0, 50, n).astype(float)
        case = rng.integers(0, 40, n)
        for s in (ref, fast):
            s.submit_many(unit, case, 0, effort, ready, key)
        _same(ref, fast)
        assert np.array_equal(ref.pending_work_hours(), fast.pending_work_hours())
        hours = np.array([200.0, 50.0])
        _same_started(ref.run_day(day + 1.0, hours), fast.run_day(day + 1.0, hours))
        for s in (ref, fast):
            s.withdraw(0, 3)
            s.rekey(1, 5, -1e12)
        _same(ref, fast)
    assert np.array_equal(ref.pending_work_hours(), fast.pending_work_hours())


def test_the_python_sum_is_pythons() -> None:
    """The compiled pending work adds like Python 3.12's ``sum`` (Neumaier's compensation)."""
    rng = np.random.default_rng(3)
    add = getattr(S._python_sum, "py_func", S._python_sum)  # the plain function
    for _ in range(2000):
        x = rng.standard_normal(int(rng.integers(1, 30))) * 10.0 ** rng.integers(-15, 15)
        x *= 10.0 ** rng.integers(-8, 8, len(x))
        assert add(x, 0, len(x)) == sum(x.tolist())
    assert add(np.zeros(0), 0, 0) == 0.0
