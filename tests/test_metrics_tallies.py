"""The metrics' case tallies: the compiled pass counts what the NumPy definition counts.

Random windows of cases with every awkward value the store can hold (unset times, times equal
to the deadline or to the response limit, consultations, withdrawn and verified cases, cases
without a citizen or without a channel), with and without the citizens' groups; every field must
be equal (the days to resolution as multisets: the medians and percentiles read only their order
statistics).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from govsim import metrics as M
from govsim.cases import CHANNELS, CaseView

RESPONSE_DAYS = 1.0
NOW = 20.0


def random_view(n: int, seed: int) -> tuple[CaseView, M.CitizenGroups]:
    rng = np.random.default_rng(seed)

    def times(base: np.ndarray, unset: float) -> np.ndarray:
        t = base + rng.choice([0.0, 0.5, 1.0, 2.0, 7.0], n) * rng.random(n).round(1)
        t[rng.random(n) < unset] = math.nan
        return t

    created = np.sort(rng.random(n) * NOW).round(1)
    owner = times(created, 0.2)
    started = times(owner, 0.4)
    closed = times(started, 0.3)
    solved = times(closed, 0.5)
    deadline = created + rng.choice([1.0, 3.0, 7.0], n)
    deadline[: n // 10] = closed[: n // 10]  # closed exactly at the deadline
    citizens = 300
    citizen = rng.integers(-1, citizens, n)
    view = CaseView(
        t_created=created,
        t_owner=owner,
        t_started=started,
        t_closed=closed,
        t_solved=solved,
        deadline=deadline,
        state=rng.integers(0, 8, n).astype(np.int8),
        channel=rng.integers(-1, len(CHANNELS), n).astype(np.int8),
        consultation=rng.random(n) < 0.2,
        solved=rng.random(n) < 0.6,
        owner_units=rng.integers(0, 4, n).astype(np.int8),
        handoffs=rng.integers(0, 5, n).astype(np.int16),
        rated=rng.random(n) < 0.5,
        reported_satisfied=rng.random(n) < 0.7,
        true_satisfied=rng.random(n) < 0.6,
        repeat_of=np.where(rng.random(n) < 0.2, rng.integers(0, max(n, 1), n), -1),
        quartile=rng.integers(-1, 4, n).astype(np.int8),
        age_group=rng.integers(-1, 3, n).astype(np.int8),
        unit=rng.integers(0, 10, n).astype(np.int32),
        audited=rng.random(n) < 0.1,
        caught=rng.random(n) < 0.05,
        nominal=rng.random(n) < 0.1,
        pressed=rng.random(n) < 0.1,
        solvable=rng.random(n) < 0.9,
        problem_solved=rng.random(n) < 0.5,
        citizen=citizen,
        abandoned=rng.random(n) < 0.05,
    )
    community = np.sort(rng.integers(0, 12, citizens))
    groups = M.CitizenGroups(
        community=community,
        residents=np.bincount(community, minlength=13),  # community 12 has no residents
        education_quartile=rng.integers(0, 4, citizens),
        income_quartile=rng.integers(0, 4, citizens),
    )
    # recorded with each case at filing, as intake does (-1 and 16 where there is no citizen)
    view = dataclasses.replace(
        view,
        community=np.where(citizen >= 0, community[citizen], -1).astype(np.int32),
        ses_code=groups.codes[citizen],
    )
    return view, groups


def assert_same_tallies(a: M.CaseTallies, b: M.CaseTallies) -> None:
    for f in dataclasses.fields(M.CaseTallies):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name.startswith("days"):
            assert np.array_equal(np.sort(x), np.sort(y), equal_nan=True), f.name
        elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert np.array_equal(x, y), f.name
        else:
            assert x == y, f.name


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("n", [0, 1, 57, 3000])
@pytest.mark.parametrize("with_groups", [True, False])
def test_the_compiled_tallies_count_what_numpy_counts(n: int, seed: int, with_groups: bool) -> None:
    view, groups = random_view(n, seed)
    g = groups if with_groups else None
    for now in (NOW, 5.0):
        numpy = M.tally_cases(view, now, RESPONSE_DAYS, g)
        compiled = M.tally_cases_compiled(view, now, RESPONSE_DAYS, g)
        assert_same_tallies(numpy, compiled)
        assert (compiled.ses is not None) == with_groups


def test_the_windows_metrics_are_the_same_either_way() -> None:
    """The metrics built on either tallies, medians and percentiles included."""
    view, groups = random_view(3000, 11)
    a = M.tally_cases(view, NOW, RESPONSE_DAYS, groups)
    b = M.tally_cases_compiled(view, NOW, RESPONSE_DAYS, groups)
    assert len(a.days) > 100
    for metric in (M.responsiveness_metrics, M.satisfaction_metrics, M.channel_memory_metrics):
        args = (view, NOW, RESPONSE_DAYS) if metric is M.responsiveness_metrics else (view,)
        x, y = metric(*args, t=a), metric(*args, t=b)
        assert x.keys() == y.keys()
        for k in x:
            assert x[k] == y[k] or (math.isnan(x[k]) and math.isnan(y[k])), k
    np.testing.assert_array_equal(
        M.community_reporting_rates(view, groups, a), M.community_reporting_rates(view, groups, b)
    )


def test_a_view_without_the_optional_columns_is_counted_by_numpy() -> None:
    view, groups = random_view(100, 2)
    bare = dataclasses.replace(view, solvable=None, problem_solved=None, abandoned=None)
    assert_same_tallies(M.tally_cases(bare, NOW, 1.0), M.tally_cases_compiled(bare, NOW, 1.0))
    # without the recorded codes and communities, the citizens' are looked up: the same counts
    unrecorded = dataclasses.replace(view, community=None, ses_code=None)
    assert_same_tallies(
        M.tally_cases(view, NOW, 1.0, groups), M.tally_cases(unrecorded, NOW, 1.0, groups)
    )
