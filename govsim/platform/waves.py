"""The case engine's waves of events as one compiled loop (numba): a day's 接-派-办-督-评 in machine code.

:meth:`govsim.platform.engine.CaseEngine.run_day` handles the events due within a day in *waves*
(the engine's module docstring): a wave takes the earliest due event of every case, handles them
kind by kind (dispatch, arrival, completion, audit, escalation, withdrawal) with array operations,
and the events it creates that fall within the day join the next waves. In Python each wave costs
some forty NumPy calls per kind whatever its size, which is most of the engine's time at every
population (about 0.2 s of a 10,000-citizen year and 2.6 s of a 1,000,000-citizen year).

:func:`run_waves` runs all the waves of one pass (until no event is due before the day's end) in
one call of a compiled kernel. It is a transcription of the engine's handlers, not a new model:
each handler is the same sequence of steps over the same events in the same order, and the random
draws are made in the same blocks in the same order (numba's :class:`numpy.random.Generator` methods
advance the model's own bit generator and return NumPy's numbers), so a run gives the same outputs
bit for bit with the kernel and without (``tests/test_compiled.py`` runs whole scenarios both
ways). One caveat, by construction rather than by test: where capability meets a worsening
problem, the kernel's ``exp`` is the C library's and NumPy's may differ from it in the last bit,
which changes an outcome only if a uniform draw falls between the two (about 1 in 10^16 per part).

Only the service queues stay outside (:class:`govsim.platform.service.ServiceSystem`): the kernel
returns the tasks to queue and the withdrawals, in order, and :func:`run_waves` hands them over
(queued tasks are served only after the waves, so handing them over afterwards changes nothing).

This module imports numba; the engine imports it only when the model runs the kernels
(:func:`govsim.compiled.use_kernels`).
"""

from __future__ import annotations

from collections import namedtuple

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
)
from govsim.city import DEPARTMENT
from govsim.compiled import kernel, njit_cached
from govsim.platform.engine import (  # imported by the engine on first use: no cycle
    _REDISPATCH_STATES,
    _VERSIONED,
    _WAITING_STATES,
    ARRIVE,
    AUDIT,
    AUDIT_DELAY_MEAN,
    COMPLETE,
    DISPATCH,
    ESCALATE,
    MAX_PARTS,
    SUMMON_KEY,
    WITHDRAW,
    WITHDRAW_DELAY,
    CaseEngine,
    _Events,
)
from govsim.schema import NOMINAL_CLOSURE, PERSUADE_WITHDRAWAL

Store = namedtuple(
    "Store",
    "state state_counts t_created deadline t_dispatched t_owner t_started t_closed t_solved "
    "t_audit owner_units parts_left unit summoned handoffs returns reopens nominal caught "
    "audited solved problem problem_solved category",
)
"""The case store's columns the handlers read and write (:class:`govsim.cases.CaseStore`)."""
Parts = namedtuple(
    "Parts",
    "owners part_solved part_done part_version part_at part_nominal solvable offline_suited "
    "case_street case_effort sequential next_part",
)
"""The engine's per-case and per-part arrays."""
Units = namedtuple(
    "Units",
    "hours backlog practices capability worsening district_depts n_communities street_district "
    "unit_kind",
)
"""What the handlers read of the units and the city."""
Rules = namedtuple(
    "Rules",
    "unified first_receiver escalation summoning force_online audits has_capability "
    "has_worsening handoff_mean misroute_probability coordination_mean return_probability "
    "withdrawal_success nominal_effort_share forced_online_penalty audit_rate",
)
"""The day's dispatch rules and figures (scenario values, computed once a day)."""
Tallies = namedtuple(
    "Tallies", "entries pressed_to_withdraw summoned_tasks summoned_on_time work_hours"
)
"""The day's per-unit tallies, added to in place."""
Out = namedtuple(
    "Out",
    "n new_t new_i later_t later_i closed reopened path queue_i queue_f withdrawn worked",
)
"""Buffers for what the handlers produce, in order, with their counts in ``n`` (indexed by the
``N_`` constants): the wave's new events (times; kind, case, part, unit, version), the events for
later days, closures, reopenings (case, time, closed at), paths (case, unit), tasks to queue
(unit, case, part; effort, ready, key), withdrawals from queues (unit, case) and the unit x
category keys of the parts worked on."""
N_NEW, N_LATER, N_CLOSED, N_REOPENED, N_PATH, N_QUEUE, N_WITHDRAWN, N_WORKED = range(8)
ROOM_PER_EVENT = np.array([MAX_PARTS, MAX_PARTS, 1, 1, 1, 1, 1, 1])
"""The most entries one handled event adds to each buffer (an audit reopens up to
:data:`MAX_PARTS` parts; every other event adds at most one of each). Before each wave the kernel
checks that every buffer has room for this many per due event, and returns early when one has
not (:func:`run_waves` enlarges the buffers and calls again)."""

_jit = njit_cached


# The small helpers below take plain arrays, not the named tuples: a call that passes a tuple of
# arrays pays a reference count on each of them, which made the kernel several times slower.


@_jit
def _set_state(state: np.ndarray, counts: np.ndarray, case: int, new_state: int) -> None:
    """:meth:`CaseStore.set_states` for one case (its counts move with it)."""
    old = state[case]
    counts[old] -= 1
    counts[new_state] += 1
    state[case] = new_state


@_jit
def _count(entries: np.ndarray, unit: int) -> None:
    """One recorded transition (data entry) at ``unit`` (-1: none)."""
    if unit >= 0:
        entries[unit] += 1


@_jit
def _push_event(
    new_t: np.ndarray,
    new_i: np.ndarray,
    n: np.ndarray,
    version: np.ndarray,
    t: float,
    kind: int,
    case: int,
    part: int,
    unit: int,
) -> None:
    """Schedule an event; a versioned kind carries its part's current version."""
    k = n[N_NEW]
    new_t[k] = t
    new_i[k, 0] = kind
    new_i[k, 1] = case
    new_i[k, 2] = part
    new_i[k, 3] = unit
    new_i[k, 4] = version[case, part] if _VERSIONED[kind] else 0
    n[N_NEW] = k + 1


@_jit
def _note_path(path: np.ndarray, n: np.ndarray, case: int, unit: int) -> None:
    k = n[N_PATH]
    path[k, 0] = case
    path[k, 1] = unit
    n[N_PATH] = k + 1


@_jit
def _deadline_days(deadline: np.ndarray, t_created: np.ndarray, case: int) -> float:
    return max(deadline[case] - t_created[case], 0.05)


@_jit
def _on_dispatch(
    st: Store,
    p: Parts,
    u: Units,
    r: Rules,
    tally: Tallies,
    out: Out,
    rng: np.random.Generator,
    t: np.ndarray,
    case: np.ndarray,
    part: np.ndarray,
    flag: np.ndarray,
) -> None:
    """``CaseEngine._on_dispatch``, step by step."""
    live = st.state[case] != WITHDRAWN
    t, case, part, flag = t[live], case[live], part[live], flag[live]
    n = len(case)
    if n == 0:
        return
    for i in range(n):
        c = case[i]
        if _REDISPATCH_STATES[st.state[c]]:
            _set_state(st.state, st.state_counts, c, DISPATCHED)
            if np.isnan(st.t_dispatched[c]):
                st.t_dispatched[c] = t[i]
    owner = np.empty(n, np.int64)
    street_unit = np.empty(n, np.int64)
    stuck = np.zeros(n, np.bool_)
    for i in range(n):
        owner[i] = p.owners[case[i], part[i]]
        street_unit[i] = u.n_communities + p.case_street[case[i]]
        stuck[i] = flag[i] == -2
    if stuck.any():
        # unclear ownership and no backstop: it lands on the street, which has to escalate it
        for i in range(n):
            if stuck[i]:
                c, su = case[i], street_unit[i]
                _count(tally.entries, su)
                p.part_at[c, part[i]] = su
                wait = _deadline_days(st.deadline, st.t_created, c)
                if not r.escalation:
                    wait = 2 * wait
                st.handoffs[c] += 1
                _note_path(out.path, out.n, c, su)
                _push_event(
                    out.new_t,
                    out.new_i,
                    out.n,
                    p.part_version,
                    t[i] + wait,
                    ARRIVE,
                    c,
                    part[i],
                    owner[i],
                )
        go = ~stuck
        t, case, part, owner, street_unit = t[go], case[go], part[go], owner[go], street_unit[go]
        n = len(case)
        if n == 0:
            return
    for i in range(n):
        _count(tally.entries, owner[i] if r.unified else street_unit[i])
    handoff = r.handoff_mean
    handoffs = np.zeros(n, np.int64)
    t = t.copy()
    if not r.unified:
        # territory first: the street receives it, then forwards it
        for i in range(n):
            if owner[i] != street_unit[i]:
                _note_path(out.path, out.n, case[i], street_unit[i])
        for i in range(n):
            if owner[i] != street_unit[i]:
                t[i] += rng.standard_exponential() * handoff if handoff > 0 else 0.0
                handoffs[i] = 1
    own = owner == street_unit
    if own.any():
        for i in range(n):
            if own[i]:
                st.handoffs[case[i]] += handoffs[i]
                _push_event(
                    out.new_t,
                    out.new_i,
                    out.n,
                    p.part_version,
                    t[i],
                    ARRIVE,
                    case[i],
                    part[i],
                    owner[i],
                )
        go = ~own
        t, case, part, owner, handoffs = t[go], case[go], part[go], owner[go], handoffs[go]
        n = len(case)
        if n == 0:
            return
    target = owner.copy()
    misrouted = np.empty(n, np.bool_)
    for i in range(n):
        misrouted[i] = rng.random() < r.misroute_probability
    if misrouted.any():
        depts = u.district_depts
        if depts.size > 0:
            for i in range(n):
                if not misrouted[i]:
                    continue
                x = rng.random()
                o = owner[i]
                d = u.street_district[p.case_street[case[i]]]
                k = 0  # the department copies serving the district, less the owner
                for v in depts[d]:
                    if v >= 0 and v != o:
                        k += 1
                if k == 0:
                    continue  # none: it stays with its owner
                pick = min(int(x * k), k - 1)
                for v in depts[d]:
                    if v >= 0 and v != o:
                        if pick == 0:
                            target[i] = v
                            break
                        pick -= 1
    for i in range(n):
        delay = rng.standard_exponential() * handoff if handoff > 0 else 0.0
        t_arr = t[i] + delay
        handoffs[i] += (target[i] != owner[i]) or (not r.unified)
        st.handoffs[case[i]] += handoffs[i]
        _push_event(
            out.new_t, out.new_i, out.n, p.part_version, t_arr, ARRIVE, case[i], part[i], target[i]
        )


@_jit
def _on_arrive(
    st: Store,
    p: Parts,
    u: Units,
    r: Rules,
    tally: Tallies,
    out: Out,
    rng: np.random.Generator,
    t: np.ndarray,
    case: np.ndarray,
    part: np.ndarray,
    unit: np.ndarray,
) -> None:
    """``CaseEngine._on_arrive``: the owner queues it, a wrong unit returns it or sits on it."""
    live = st.state[case] != WITHDRAWN
    t, case, part, unit = t[live], case[live], part[live], unit[live]
    n = len(case)
    if n == 0:
        return
    owner = np.empty(n, np.int64)
    for i in range(n):
        owner[i] = p.owners[case[i], part[i]]
        p.part_at[case[i], part[i]] = unit[i]
        _count(tally.entries, unit[i])
    wrong = unit != owner
    if wrong.any():
        _at_wrong_unit(
            st, p, u, r, tally, out, rng, t[wrong], case[wrong], part[wrong], unit[wrong],
            owner[wrong],
        )  # fmt: skip
        ok = ~wrong
        t, case, part, unit = t[ok], case[ok], part[ok], unit[ok]
        n = len(case)
        if n == 0:
            return
    for i in range(n):
        if np.isnan(st.t_owner[case[i]]):
            st.t_owner[case[i]] = t[i]
    _queue_at_owner(st, p, u, r, tally, out, rng, t, case, part, unit)


@_jit
def _at_wrong_unit(
    st: Store,
    p: Parts,
    u: Units,
    r: Rules,
    tally: Tallies,
    out: Out,
    rng: np.random.Generator,
    t: np.ndarray,
    case: np.ndarray,
    part: np.ndarray,
    unit: np.ndarray,
    owner: np.ndarray,
) -> None:
    """``CaseEngine._at_wrong_unit``: 首接负责, a return (退单) or a wait for escalation."""
    n = len(case)
    for i in range(n):
        _note_path(out.path, out.n, case[i], unit[i])
    if r.first_receiver:
        coordination = r.coordination_mean
        for i in range(n):
            st.handoffs[case[i]] += 1
        for i in range(n):
            d = rng.standard_exponential() * coordination if coordination > 0 else 0.0
            _push_event(
                out.new_t,
                out.new_i,
                out.n,
                p.part_version,
                t[i] + d,
                ARRIVE,
                case[i],
                part[i],
                owner[i],
            )
        return
    back = np.empty(n, np.bool_)
    for i in range(n):
        back[i] = rng.random() < r.return_probability
    if back.any():
        for i in range(n):
            if back[i]:
                st.returns[case[i]] += 1
                _set_state(st.state, st.state_counts, case[i], RETURNED)
        handoff = r.handoff_mean
        for i in range(n):
            if back[i]:
                d = rng.standard_exponential() * handoff if handoff > 0 else 0.0
                _push_event(
                    out.new_t,
                    out.new_i,
                    out.n,
                    p.part_version,
                    t[i] + d,
                    DISPATCH,
                    case[i],
                    part[i],
                    -1,
                )
    for i in range(n):
        if not back[i]:
            wait = _deadline_days(st.deadline, st.t_created, case[i])
            if not r.escalation:
                wait = 2 * wait
            _push_event(
                out.new_t,
                out.new_i,
                out.n,
                p.part_version,
                t[i] + wait,
                ESCALATE,
                case[i],
                part[i],
                unit[i],
            )


@_jit
def _queue_at_owner(
    st: Store,
    p: Parts,
    u: Units,
    r: Rules,
    tally: Tallies,
    out: Out,
    rng: np.random.Generator,
    t: np.ndarray,
    case: np.ndarray,
    part: np.ndarray,
    unit: np.ndarray,
) -> None:
    """``CaseEngine._queue_at_owner``: gaming decisions, then the owner's work queue."""
    n = len(case)
    at_risk = np.empty(n, np.bool_)
    for i in range(n):
        c, un = case[i], unit[i]
        late = t[i] + u.backlog[un] + p.case_effort[c] / u.hours[un] > st.deadline[c]
        at_risk[i] = late or not p.solvable[c]
    tries = np.zeros(n, np.bool_)
    for i in range(n):
        w = u.practices[unit[i], PERSUADE_WITHDRAWAL]
        tries[i] = w > 0 and st.owner_units[case[i]] == 1 and at_risk[i]
    if tries.any():
        pressed = np.zeros(n, np.bool_)
        for i in range(n):
            if tries[i]:
                pressed[i] = rng.random() < u.practices[unit[i], PERSUADE_WITHDRAWAL]
        if pressed.any():
            # persuading the citizen to withdraw (劝撤)
            for i in range(n):
                if pressed[i]:
                    tally.pressed_to_withdraw[unit[i]] += 1
            ok = np.zeros(n, np.bool_)
            for i in range(n):
                if pressed[i]:
                    ok[i] = rng.random() < r.withdrawal_success
            if ok.any():
                for i in range(n):
                    if ok[i]:
                        _push_event(
                            out.new_t,
                            out.new_i,
                            out.n,
                            p.part_version,
                            t[i] + WITHDRAW_DELAY,
                            WITHDRAW,
                            case[i],
                            part[i],
                            unit[i],
                        )
                keep = ~ok
                t, case, part, unit, at_risk = (
                    t[keep], case[keep], part[keep], unit[keep], at_risk[keep],
                )  # fmt: skip
                n = len(case)
    if n == 0:
        return
    effort = np.empty(n)
    for i in range(n):
        effort[i] = rng.standard_exponential() * p.case_effort[case[i]]
    nominal = np.zeros(n, np.bool_)
    for i in range(n):
        w = u.practices[unit[i], NOMINAL_CLOSURE]
        if w > 0 and at_risk[i]:
            nominal[i] = rng.random() < w
    n_units = len(u.hours)
    if nominal.any():
        # nominal closure (虚假办结): marked done after a token action, outside the work queue
        token_sums = np.zeros(n_units)
        for i in range(n):
            if nominal[i]:
                c, pt, un = case[i], part[i], unit[i]
                p.part_nominal[c, pt] = True
                st.nominal[c] = True
                _start(st.t_started, st.state, st.state_counts, tally.entries, c, un, t[i])
        for i in range(n):
            if nominal[i]:
                un = unit[i]
                token_hours = effort[i] * r.nominal_effort_share
                token = token_hours / max(u.hours[un], 1e-3)
                _push_event(
                    out.new_t,
                    out.new_i,
                    out.n,
                    p.part_version,
                    t[i] + token,
                    COMPLETE,
                    case[i],
                    part[i],
                    un,
                )
                token_sums[un] += token_hours
        for k in range(n_units):
            tally.work_hours[k] += token_sums[k]
        q = ~nominal
        t, case, part, unit, effort = t[q], case[q], part[q], unit[q], effort[q]
        n = len(case)
    sums = np.zeros(n_units)
    for i in range(n):
        sums[unit[i]] += effort[i]
    for k in range(n_units):
        tally.work_hours[k] += sums[k]
    k = out.n[N_QUEUE]
    for i in range(n):
        c = case[i]
        out.queue_i[k, 0] = unit[i]
        out.queue_i[k, 1] = c
        out.queue_i[k, 2] = part[i]
        out.queue_f[k, 0] = effort[i]
        out.queue_f[k, 1] = t[i]
        out.queue_f[k, 2] = SUMMON_KEY if st.summoned[c] else st.deadline[c]
        k += 1
    out.n[N_QUEUE] = k


@_jit
def _start(
    t_started: np.ndarray,
    state: np.ndarray,
    counts: np.ndarray,
    entries: np.ndarray,
    case: int,
    unit: int,
    t: float,
) -> None:
    """``CaseEngine._start`` for one case (a wave holds one event per case)."""
    if np.isnan(t_started[case]):
        t_started[case] = t
    if _WAITING_STATES[state[case]]:
        _set_state(state, counts, case, IN_PROGRESS)
        _count(entries, unit)


@_jit
def _on_complete(
    st: Store,
    p: Parts,
    u: Units,
    r: Rules,
    tally: Tallies,
    out: Out,
    rng: np.random.Generator,
    t: np.ndarray,
    case: np.ndarray,
    part: np.ndarray,
    unit: np.ndarray,
) -> None:
    """``CaseEngine._on_complete``: solved or not, hand to hand, closed when every part is done."""
    live = st.state[case] != WITHDRAWN
    t, case, part, unit = t[live], case[live], part[live], unit[live]
    n = len(case)
    if n == 0:
        return
    nominal = np.empty(n, np.bool_)
    solved = np.empty(n, np.bool_)
    for i in range(n):
        nominal[i] = p.part_nominal[case[i], part[i]]
        solved[i] = p.solvable[case[i]] and not nominal[i]
    if r.has_capability:
        n_cat = u.capability.shape[1]
        prob = np.empty(n)
        for i in range(n):
            c, un = case[i], unit[i]
            cat = np.int64(st.category[c])
            prob[i] = u.capability[un, cat]
            if r.has_worsening:
                prob[i] = prob[i] * np.exp(-u.worsening[cat] * (t[i] - st.t_created[c]))
            if not nominal[i]:
                out.worked[out.n[N_WORKED]] = un * n_cat + cat
                out.n[N_WORKED] += 1
        for i in range(n):
            x = rng.random()  # drawn for every part, as the engine draws them
            solved[i] = solved[i] and x < prob[i]
    if r.force_online:
        for i in range(n):
            if solved[i] and p.offline_suited[case[i]]:
                solved[i] = rng.random() >= r.forced_online_penalty
    for i in range(n):
        p.part_done[case[i], part[i]] = True
        p.part_solved[case[i], part[i]] = solved[i]
        _count(tally.entries, unit[i])
    if r.summoning:
        for i in range(n):
            un = unit[i]
            if st.summoned[case[i]] and u.unit_kind[un] == DEPARTMENT:
                tally.summoned_tasks[un] += 1
                if t[i] <= st.deadline[case[i]]:
                    tally.summoned_on_time[un] += 1
    done = np.empty(n, np.bool_)
    for i in range(n):
        st.parts_left[case[i]] -= 1
        done[i] = st.parts_left[case[i]] <= 0
    hand_on = np.zeros(n, np.bool_)
    nxt = np.zeros(n, np.int64)
    for i in range(n):
        c = case[i]
        n_parts = st.owner_units[c]
        if n_parts > 1 and p.sequential[c] and p.next_part[c] < n_parts:
            hand_on[i] = True
            nxt[i] = p.next_part[c]
    if hand_on.any():
        # hand to hand: the next owner gets the case after a coordination delay
        for i in range(n):
            if hand_on[i]:
                p.next_part[case[i]] = nxt[i] + 1
        coordination = r.coordination_mean
        for i in range(n):
            if hand_on[i]:
                d = rng.standard_exponential() * coordination if coordination > 0 else 0.0
                _push_event(
                    out.new_t,
                    out.new_i,
                    out.n,
                    p.part_version,
                    t[i] + d,
                    DISPATCH,
                    case[i],
                    nxt[i],
                    -1,
                )
                done[i] = False
    _close(st, p, r, out, rng, t[done], case[done])


@_jit
def _close(
    st: Store,
    p: Parts,
    r: Rules,
    out: Out,
    rng: np.random.Generator,
    t: np.ndarray,
    case: np.ndarray,
) -> None:
    """``CaseEngine._close``: closed (solved only if every owner's part was), maybe audited."""
    n = len(case)
    for i in range(n):
        c = case[i]
        n_parts = st.owner_units[c]
        solved = p.part_solved[c, 0]
        if n_parts > 1:
            solved = True
            for j in range(min(n_parts, MAX_PARTS)):
                solved = solved and p.part_solved[c, j]
        st.t_closed[c] = t[i]
        if solved:
            st.solved[c] = True
            st.problem_solved[st.problem[c]] = True
            if np.isnan(st.t_solved[c]):
                st.t_solved[c] = t[i]
        _set_state(st.state, st.state_counts, c, CLOSED)
        out.closed[out.n[N_CLOSED]] = c
        out.n[N_CLOSED] += 1
    if r.audits:
        audited = np.empty(n, np.bool_)
        for i in range(n):
            audited[i] = rng.random() < r.audit_rate
        for i in range(n):
            if audited[i]:
                d = rng.standard_exponential() * AUDIT_DELAY_MEAN
                _push_event(
                    out.new_t, out.new_i, out.n, p.part_version, t[i] + d, AUDIT, case[i], 0, -1
                )


@_jit
def _on_withdraw(
    st: Store,
    p: Parts,
    u: Units,
    r: Rules,
    tally: Tallies,
    out: Out,
    rng: np.random.Generator,
    t: np.ndarray,
    case: np.ndarray,
    part: np.ndarray,
    unit: np.ndarray,
) -> None:
    """``CaseEngine._on_withdraw``: the citizen withdraws (劝撤 succeeded)."""
    for i in range(len(case)):
        c = case[i]
        if IS_FINISHED[st.state[c]]:
            continue
        k = out.n[N_WITHDRAWN]
        out.withdrawn[k, 0] = unit[i]
        out.withdrawn[k, 1] = c
        out.n[N_WITHDRAWN] = k + 1
        st.t_closed[c] = t[i]
        _set_state(st.state, st.state_counts, c, WITHDRAWN)
        _count(tally.entries, unit[i])
        out.closed[out.n[N_CLOSED]] = c
        out.n[N_CLOSED] += 1


@_jit
def _on_audit(
    st: Store,
    p: Parts,
    u: Units,
    r: Rules,
    tally: Tallies,
    out: Out,
    rng: np.random.Generator,
    t: np.ndarray,
    case: np.ndarray,
    part: np.ndarray,
    unit: np.ndarray,
) -> None:
    """``CaseEngine._on_audit``: verified, or reopened (重办) with every unsolved part redone."""
    for i in range(len(case)):
        c = case[i]
        if st.state[c] != CLOSED:
            continue
        st.audited[c] = True
        st.t_audit[c] = t[i]
        _count(tally.entries, np.int64(st.unit[c]))
        if st.solved[c]:
            _set_state(st.state, st.state_counts, c, VERIFIED)
            continue
        k = out.n[N_REOPENED]
        out.reopened[k, 0] = c
        out.reopened[k, 1] = t[i]
        out.reopened[k, 2] = st.t_closed[c]
        out.n[N_REOPENED] = k + 1
        if st.nominal[c]:
            st.caught[c] = True
        _set_state(st.state, st.state_counts, c, REOPENED)
        st.reopens[c] += 1
        n_parts = st.owner_units[c]
        for j in range(MAX_PARTS):
            if j < n_parts and not p.part_solved[c, j]:
                p.part_done[c, j] = False
                p.part_nominal[c, j] = False
                st.parts_left[c] += 1
                p.part_version[c, j] += 1
                _push_event(
                    out.new_t, out.new_i, out.n, p.part_version, t[i], ARRIVE, c, j, p.owners[c, j]
                )


@_jit
def _on_escalate(
    st: Store,
    p: Parts,
    u: Units,
    r: Rules,
    tally: Tallies,
    out: Out,
    rng: np.random.Generator,
    t: np.ndarray,
    case: np.ndarray,
    part: np.ndarray,
    unit: np.ndarray,
) -> None:
    """``CaseEngine._on_escalate``: an overdue part with a wrong unit is pulled back."""
    for i in range(len(case)):
        _set_state(st.state, st.state_counts, case[i], RETURNED)
        st.returns[case[i]] += 1
        _push_event(
            out.new_t, out.new_i, out.n, p.part_version, t[i], DISPATCH, case[i], part[i], -1
        )


@_jit
def _has_room(out: Out, due: int) -> bool:
    """Whether every buffer has room for a wave of up to ``due`` events."""
    for b in range(len(ROOM_PER_EVENT)):
        cap = len(out.new_t) if b == N_NEW else len(out.later_t) if b == N_LATER else 0
        if b == N_CLOSED:
            cap = len(out.closed)
        elif b == N_REOPENED:
            cap = len(out.reopened)
        elif b == N_PATH:
            cap = len(out.path)
        elif b == N_QUEUE:
            cap = len(out.queue_i)
        elif b == N_WITHDRAWN:
            cap = len(out.withdrawn)
        elif b == N_WORKED:
            cap = len(out.worked)
        if cap - out.n[b] < ROOM_PER_EVENT[b] * due:
            return False
    return True


@kernel
def _waves_kernel(
    st: Store,
    p: Parts,
    u: Units,
    r: Rules,
    tally: Tallies,
    out: Out,
    rng: np.random.Generator,
    t: np.ndarray,
    kind: np.ndarray,
    case: np.ndarray,
    part: np.ndarray,
    unit: np.ndarray,
    ver: np.ndarray,
    day_end: float,
) -> tuple[np.ndarray, ...]:
    """Every wave of events due before ``day_end`` (the engine's ``_wave`` in a loop).

    Products are added to ``out``'s buffers. Returns the due events not yet handled: none when
    every wave is done, else those left when a buffer ran short of room before a wave.
    """
    while len(t):
        # superseded events (e.g. by summoning or a reopening) are dropped
        fresh = np.ones(len(t), np.bool_)
        for i in range(len(t)):
            if _VERSIONED[kind[i]] and ver[i] != p.part_version[case[i], part[i]]:
                fresh[i] = False
        if not fresh.all():
            t, kind, case, part, unit, ver = (
                t[fresh], kind[fresh], case[fresh], part[fresh], unit[fresh], ver[fresh],
            )  # fmt: skip
            if len(t) == 0:
                break
        if not _has_room(out, len(t)):
            break
        # each case's earliest due event (ties: the first); the wave takes them
        by_time = np.argsort(t, kind="mergesort")
        order = by_time[np.argsort(case[by_time], kind="mergesort")]
        pick = np.zeros(len(t), np.bool_)
        previous = -1
        for j in order:
            if case[j] != previous:
                pick[j] = True
                previous = case[j]
        wt, wk, wc, wp, wu = t[pick], kind[pick], case[pick], part[pick], unit[pick]
        rest = ~pick
        t, kind, case, part, unit, ver = (
            t[rest], kind[rest], case[rest], part[rest], unit[rest], ver[rest],
        )  # fmt: skip
        s = np.argsort(wt, kind="mergesort")
        wt, wk, wc, wp, wu = wt[s], wk[s], wc[s], wp[s], wu[s]
        out.n[N_NEW] = 0
        for k in range(6):
            m = wk == k
            if not m.any():
                continue
            args = (st, p, u, r, tally, out, rng, wt[m], wc[m], wp[m], wu[m])
            if k == DISPATCH:
                _on_dispatch(*args)
            elif k == ARRIVE:
                _on_arrive(*args)
            elif k == COMPLETE:
                _on_complete(*args)
            elif k == AUDIT:
                _on_audit(*args)
            elif k == ESCALATE:
                _on_escalate(*args)
            else:
                _on_withdraw(*args)
        # the wave's new events: today's join the next waves, the rest wait for their day
        n_new = out.n[N_NEW]
        today = 0
        for i in range(n_new):
            if out.new_t[i] < day_end:
                today += 1
        if today:
            t = np.concatenate((t, np.empty(today)))
            kind = np.concatenate((kind, np.empty(today, np.int8)))
            case = np.concatenate((case, np.empty(today, np.int64)))
            part = np.concatenate((part, np.empty(today, np.int64)))
            unit = np.concatenate((unit, np.empty(today, np.int64)))
            ver = np.concatenate((ver, np.empty(today, np.int32)))
        j = len(t) - today
        k = out.n[N_LATER]
        for i in range(n_new):
            row = out.new_i[i]
            if out.new_t[i] < day_end:
                t[j] = out.new_t[i]
                kind[j] = row[0]
                case[j] = row[1]
                part[j] = row[2]
                unit[j] = row[3]
                ver[j] = row[4]
                j += 1
            else:
                out.later_t[k] = out.new_t[i]
                out.later_i[k] = row
                k += 1
        out.n[N_LATER] = k
    return t, kind, case, part, unit, ver


def _contiguous(a: np.ndarray) -> np.ndarray:
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def new_buffers(events: int = 1024) -> Out:
    """Empty output buffers with room for ``events`` handled events (they grow as needed)."""
    room = ROOM_PER_EVENT * events
    return Out(
        np.zeros(len(ROOM_PER_EVENT), np.int64),
        np.empty(room[N_NEW]),
        np.empty((room[N_NEW], 5), np.int64),
        np.empty(room[N_LATER]),
        np.empty((room[N_LATER], 5), np.int64),
        np.empty(room[N_CLOSED], np.int64),
        np.empty((room[N_REOPENED], 3)),
        np.empty((room[N_PATH], 2), np.int64),
        np.empty((room[N_QUEUE], 3), np.int64),
        np.empty((room[N_QUEUE], 3)),
        np.empty((room[N_WITHDRAWN], 2), np.int64),
        np.empty(room[N_WORKED], np.int64),
    )


def _enlarged(out: Out, events: int) -> Out:
    """``out`` with room for at least ``events`` more handled events in every buffer (kept)."""
    bigger = new_buffers(max(events, 1024))
    grown = []
    for name in Out._fields:
        old, new = getattr(out, name), getattr(bigger, name)
        if name == "n":
            grown.append(old)
            continue
        need = old.shape[0] + new.shape[0]
        a = np.empty((need, *old.shape[1:]), old.dtype)
        a[: old.shape[0]] = old
        grown.append(a)
    return Out(*grown)


def run_waves(engine: CaseEngine, due: _Events, day_end: float) -> None:
    """Handle every wave of ``due`` (events due before ``day_end``) in the compiled kernel.

    Does what ``while len(due): engine._wave(due, day_end)`` does, with the same results bit
    for bit: the kernel changes the store and the engine's arrays in place, and this hands its
    products to the engine (events for later days, the day's tallies), the store (paths) and the
    service queues (tasks to queue, withdrawals).

    Args:
        engine: The case engine.
        due: The events due today (emptied).
        day_end: The end of the day.
    """
    s, st, city, day = engine.s, engine.store, engine.city, engine._day
    capability = engine.capability
    worsening = engine.worsening
    store = Store(*(getattr(st, f) for f in Store._fields))
    parts = Parts(*(getattr(engine, f) for f in Parts._fields))
    units = Units(
        _contiguous(np.asarray(engine._hours, dtype=np.float64)),
        _contiguous(np.asarray(engine._backlog, dtype=np.float64)),
        _contiguous(engine.practices),
        np.zeros((1, 1)) if capability is None else _contiguous(capability),
        np.zeros(1) if worsening is None else _contiguous(np.asarray(worsening, np.float64)),
        engine._district_depts.astype(np.int64, copy=False),
        int(city.n_communities),
        city.street_district.astype(np.int64, copy=False),
        city.unit_kind,
    )
    d, g, cl = s.dispatch, s.gaming, s.closed_loop
    rules = Rules(
        engine.unified,
        d.first_receiver_responsibility,
        cl.escalation,
        d.summoning,
        s.boundary.force_online,
        engine.audits,
        capability is not None,
        worsening is not None,
        float(engine._day_handoff_mean),
        float(engine._day_misroute_probability),
        float(engine._coordination_mean()),
        float(d.return_probability),
        float(g.withdrawal_success),
        float(g.nominal_effort_share),
        float(s.boundary.forced_online_resolution_penalty),
        float(cl.audit_rate),
    )
    tallies = Tallies(
        engine._entries,
        day.pressed_to_withdraw,
        day.summoned_tasks,
        day.summoned_on_time,
        day.work_hours,
    )
    out = engine._wave_buffers
    if out is None:
        out = new_buffers()
    out.n[:] = 0
    events = (due.t, due.kind, due.case, due.part, due.unit, due.ver)
    due.clear()
    while True:
        events = _waves_kernel(
            store, parts, units, rules, tallies, out, engine.rng, *events, day_end
        )
        if not len(events[0]):
            break
        out = _enlarged(out, len(events[0]))  # a buffer ran short: more room, then go on
    engine._wave_buffers = out
    n = out.n
    engine.events.add(
        (out.later_t[: n[N_LATER]].copy(), *_event_columns(out.later_i[: n[N_LATER]]))
    )
    day.closed.extend(out.closed[: n[N_CLOSED]].tolist())
    if n[N_REOPENED]:
        day.reopened.append(out.reopened[: n[N_REOPENED]].T.copy())
    path = out.path[: n[N_PATH]]
    st.note_paths(path[:, 0].copy(), path[:, 1].copy())
    qi, qf = out.queue_i[: n[N_QUEUE]], out.queue_f[: n[N_QUEUE]]
    engine.service.submit_many(
        qi[:, 0].copy(), qi[:, 1].copy(), qi[:, 2].copy(), qf[:, 0].copy(), qf[:, 1].copy(),
        qf[:, 2].copy(),
    )  # fmt: skip
    for un, c in out.withdrawn[: n[N_WITHDRAWN]].tolist():
        engine.service.withdraw(un, c)
    if engine._worked_keys is not None and n[N_WORKED]:
        engine._worked_keys.append(out.worked[: n[N_WORKED]].copy())


def _event_columns(rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """(kind, case, part, unit, version) columns of event rows, in the engine's dtypes."""
    return (
        rows[:, 0].astype(np.int8),
        rows[:, 1].copy(),
        rows[:, 2].copy(),
        rows[:, 3].copy(),
        rows[:, 4].astype(np.int32),
    )
