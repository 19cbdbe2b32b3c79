"""Tests of govsim.platform.service: exact continuous-time service by units within each day.

Hand-built task lists with known start and end times, then property tests against an independent
reference implementation of non-preemptive priority M/M/c service (linear scans instead of heaps)
and against the two defining properties of the discipline: work conservation (no server idles
while a task is ready) and priority (no ready task with a better key is passed over).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govsim.platform.service import ServiceSystem


def _serve(servers: int, tasks: list[tuple[float, float, float]], day_ends=(10.0,), speed=1.0):
    """Submit (ready, effort, key) tasks to one unit, serve up to each day end in turn.

    Returns {task index: (start, end)}.
    """
    s = ServiceSystem(np.array([servers]))
    for i, (ready, effort, key) in enumerate(tasks):
        s.submit(0, case=i, part=0, effort=effort, ready=ready, key=key)
    out = {}
    for de in day_ends:
        for x in s.run_day(de, np.array([speed])):
            assert x.unit == 0 and x.case not in out
            out[x.case] = (x.start, x.end)
    return out, s


def test_single_server_fifo_exact_times() -> None:
    tasks = [(0.0, 0.3, 0.0), (0.1, 0.2, 0.1), (0.2, 0.4, 0.2), (1.5, 0.1, 1.5)]
    out, s = _serve(1, tasks, day_ends=(10.0,))
    assert out[0] == pytest.approx((0.0, 0.3))
    assert out[1] == pytest.approx((0.3, 0.5))
    assert out[2] == pytest.approx((0.5, 0.9))
    assert out[3] == pytest.approx((1.5, 1.6))  # the server idled until the task was ready
    assert s.queue_length[0] == 0


def test_priority_is_by_key_among_ready_tasks_and_non_preemptive() -> None:
    # server busy with task 0 until 0.5; task 2 (key 1) arrives after task 1 (key 5) but goes first;
    # task 3 has the best key but arrives while task 2 is in service: no preemption.
    tasks = [(0.0, 0.5, 9.0), (0.1, 0.1, 5.0), (0.2, 0.1, 1.0), (0.55, 0.1, -1.0)]
    out, _ = _serve(1, tasks)
    assert out[0] == pytest.approx((0.0, 0.5))
    assert out[2] == pytest.approx((0.5, 0.6))
    assert out[3] == pytest.approx((0.6, 0.7))
    assert out[1] == pytest.approx((0.7, 0.8))


def test_earliest_free_server_takes_the_next_task() -> None:
    tasks = [(0.0, 1.0, 0.0), (0.0, 0.3, 0.0), (0.1, 0.5, 0.1), (0.2, 0.1, 0.2)]
    out, _ = _serve(2, tasks)
    assert out[0] == pytest.approx((0.0, 1.0))
    assert out[1] == pytest.approx((0.0, 0.3))
    assert out[2] == pytest.approx((0.3, 0.8))
    assert out[3] == pytest.approx((0.8, 0.9))


def test_speed_converts_staff_hours_to_days() -> None:
    out, _ = _serve(1, [(0.0, 4.0, 0.0), (0.0, 2.0, 1.0)], speed=8.0)
    assert out[0] == pytest.approx((0.0, 0.5))
    assert out[1] == pytest.approx((0.5, 0.75))


def test_day_end_stops_new_starts_but_not_running_service() -> None:
    s = ServiceSystem(np.array([1]))
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


def test_withdraw_and_rekey() -> None:
    s = ServiceSystem(np.array([1, 1]))
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


def test_batches_keep_submission_order_among_equal_keys() -> None:
    s = ServiceSystem(np.array([1, 2]))
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


@given(servers=st.integers(1, 4), tasks=TASKS, split=st.booleans())
@settings(max_examples=200, deadline=None)
def test_matches_reference_and_is_work_conserving(servers: int, tasks, split: bool) -> None:
    day_ends = tuple(float(d) for d in range(1, 60)) if split else (60.0,)
    out, s = _serve(servers, tasks, day_ends=day_ends)
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
