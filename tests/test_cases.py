"""Tests of govsim.cases: the columnar case store and the conservation of recorded states."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from govsim.cases import (
    ACCEPTED,
    CHANNELS,
    CLOSED,
    CLOSED_STATES,
    DISPATCHED,
    IN_PROGRESS,
    REOPENED,
    STATE_NAMES,
    VERIFIED,
    WITHDRAWN,
    CaseStore,
    CaseView,
)


def _add(store: CaseStore, times: list[float], **kw) -> np.ndarray:
    k = len(times)
    t = np.asarray(times, dtype=float)
    return store.add(
        t_created=t,
        citizen=kw.get("citizen", np.arange(k)),
        category=np.zeros(k, np.int16),
        channel=kw.get("channel", np.zeros(k, np.int8)),
        consultation=kw.get("consultation", np.zeros(k, bool)),
        deadline=t + 7.0,
        owner_units=kw.get("owner_units", np.ones(k, np.int8)),
        quartile=np.zeros(k, np.int8),
        age_group=np.zeros(k, np.int8),
        repeat_of=kw.get("repeat_of"),
    )


def _recount(store: CaseStore) -> np.ndarray:
    return np.bincount(store.state[: store.n], minlength=len(STATE_NAMES))


def test_state_codes_and_names() -> None:
    assert len(STATE_NAMES) == 8 == len(set(STATE_NAMES))
    assert STATE_NAMES[ACCEPTED] == "accepted" and STATE_NAMES[WITHDRAWN] == "withdrawn"
    assert set(CLOSED_STATES) == {CLOSED, VERIFIED, WITHDRAWN}
    assert CHANNELS == ("app", "hotline", "offline", "assisted", "patrol")


def test_add_assigns_consecutive_ids_and_accepted_state() -> None:
    s = CaseStore(capacity=4)
    ids = _add(s, [0.1, 0.2, 0.3], owner_units=np.array([1, 3, 2], np.int8))
    assert ids.tolist() == [0, 1, 2]
    ids2 = _add(s, [0.5, 0.9])
    assert ids2.tolist() == [3, 4]
    assert s.n == 5
    assert s.state_counts[ACCEPTED] == 5 and s.state_counts.sum() == 5
    assert s.parts_left[:3].tolist() == [1, 3, 2] == s.owner_units[:3].tolist()
    assert np.isnan(s.t_closed[:5]).all() and not s.solved[:5].any()
    assert (s.repeat_of[:5] == -1).all()


def test_growth_keeps_every_column() -> None:
    s = CaseStore(capacity=16)
    rng = np.random.default_rng(1)
    all_t = []
    for _ in range(10):
        t = np.sort(rng.uniform(0, 1, 7)) + len(all_t)
        all_t.extend(t.tolist())
        ids = _add(s, t.tolist(), repeat_of=np.full(7, 3, np.int64))
        s.set_states(ids[:2], DISPATCHED)
        s.solved[ids[0]] = True
    assert s.n == 70 and s._cap >= 70
    np.testing.assert_array_equal(s.t_created[:70], np.array(all_t))
    assert (s.repeat_of[:70] == 3).all()
    assert s.solved[:70].sum() == 10
    assert (s.state_counts == _recount(s)).all()
    # beyond n the columns hold their fill values
    assert np.isnan(s.t_created[70:]).all() and (s.state[70:] == ACCEPTED).all()


def test_set_state_moves_counts_and_ignores_no_op() -> None:
    s = CaseStore()
    _add(s, [0.0, 1.0, 2.0])
    s.set_state(1, IN_PROGRESS)
    s.set_state(1, IN_PROGRESS)  # no-op
    s.set_state(2, CLOSED)
    assert s.state[:3].tolist() == [ACCEPTED, IN_PROGRESS, CLOSED]
    assert s.state_counts[ACCEPTED] == 1
    assert s.state_counts[IN_PROGRESS] == 1
    assert s.state_counts[CLOSED] == 1
    assert s.is_open().tolist() == [True, True, False]


def test_set_states_vectorised_from_mixed_states() -> None:
    s = CaseStore()
    _add(s, [0.0, 1.0, 2.0, 3.0])
    s.set_state(0, IN_PROGRESS)
    s.set_state(1, REOPENED)
    s.set_states(np.array([0, 1, 2]), CLOSED)
    s.set_states(np.array([], dtype=np.int64), VERIFIED)
    assert (s.state_counts == _recount(s)).all()
    assert s.state_counts[CLOSED] == 3 and s.state_counts[ACCEPTED] == 1


def test_view_slices_and_time_index() -> None:
    s = CaseStore()
    _add(s, [0.2, 0.7, 1.0, 1.5, 2.9])
    v = s.view(1, 4)
    assert isinstance(v, CaseView)
    np.testing.assert_array_equal(v.t_created, [0.7, 1.0, 1.5])
    assert len(s.view().t_created) == 5
    assert s.first_created_at_or_after(1.0) == 2
    assert s.first_created_at_or_after(0.0) == 0
    assert s.first_created_at_or_after(3.0) == 5
    # views are windows onto the store, not copies (metrics read current state)
    s.set_state(2, CLOSED)
    assert v.state[1] == CLOSED


def test_note_path_records_units_in_order() -> None:
    s = CaseStore()
    _add(s, [0.0])
    s.note_path(0, 12)
    s.note_path(0, 3)
    assert s.path == {0: [12, 3]}


def test_note_paths_in_batches_keeps_each_cases_order() -> None:
    s = CaseStore()
    _add(s, [0.0, 0.1, 0.2, 0.3])
    s.note_paths(np.array([2, 0]), np.array([7, 12]))
    s.note_paths(np.array([0]), np.array([3]))
    s.note_paths(np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    s.note_paths(np.array([2, 1]), np.array([9, 4]))
    assert s.path == {0: [12, 3], 1: [4], 2: [7, 9]}


def test_mark_solved_many_marks_each_cases_problem() -> None:
    s = CaseStore()
    first = _add(s, [0.0, 0.1, 0.2])
    again = _add(s, [1.0, 1.1], repeat_of=np.array([first[1], -1]))
    s.mark_solved_many(np.array([again[0], first[2]]))
    assert s.solved[: s.n].tolist() == [False, False, True, True, False]
    # the repeat complaint solved the problem of case 1, which counts where the problem arose
    assert s.problem_solved[: s.n].tolist() == [False, True, True, False, False]


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(1, 40)),
        st.tuples(st.just("one"), st.integers(0, 10_000), st.integers(0, 7)),
        st.tuples(
            st.just("many"), st.lists(st.integers(0, 10_000), max_size=30), st.integers(0, 7)
        ),
    ),
    min_size=1,
    max_size=60,
)


@given(OPS)
@settings(max_examples=150, deadline=None)
def test_conservation_property(ops) -> None:
    """Whatever the sequence of transitions, every case is in exactly one recorded state."""
    s = CaseStore(capacity=16)
    t = 0.0
    for op in ops:
        if op[0] == "add":
            k = op[1]
            _add(s, list(t + np.arange(k) * 0.01))
            t += 1
        elif s.n:
            if op[0] == "one":
                s.set_state(op[1] % s.n, op[2])
            else:
                ids = np.unique(np.array(op[1], dtype=np.int64) % s.n)
                s.set_states(ids, op[2])
        assert s.state_counts.sum() == s.n
        assert (s.state_counts == _recount(s)).all()
        assert (s.state_counts >= 0).all()
    assert s.is_open().sum() == s.n - sum(s.state_counts[k] for k in CLOSED_STATES)
