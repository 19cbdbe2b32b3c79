"""Every govsim indicator, defined once.

Two kinds of input feed the metrics:

* a :class:`~govsim.cases.CaseView`, a window of cases (those *created* in the window, evaluated as
  they stand at time ``now``); the daily time series uses the trailing ``WINDOW_DAYS`` days and the
  end-of-run summary the cases created up to ``SETTLE_DAYS`` before the end (so that recent cases
  have had time to close);
* a :class:`Ledger` of daily sums that never needs the case store (problems arisen and voiced by
  group, officials' hours, burnout, the hotline), summed over the same windows.

Shares are in [0,1]. A rate with an empty denominator is ``nan`` in the time series and ``null`` in
``summary.json``. Formulas are listed in :data:`METRICS` and in docs/metrics.md.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from govsim.cases import (
    APP,
    CHANNELS,
    CLOSED,
    CLOSED_STATES,
    HOTLINE,
    PATROL,
    VERIFIED,
    WITHDRAWN,
    CaseView,
)
from govsim.compiled import kernel
from govsim.platform.budgeting import PB_METRICS
from govsim.schema import AGE_GROUPS, PRACTICES, Scenario

WINDOW_DAYS = 30
"""Trailing window of the daily time series."""
XCORR_LAGS = 10
"""Largest lag (days) of the patrol-hotline cross-correlation."""
SETTLE_DAYS = 30
"""Cases created in the last SETTLE_DAYS of a run are left out of the summary's case rates."""

METRICS: dict[str, str] = {
    "cases_reported": "cases reaching the platform (all channels, consultations included): per day in the "
    "time series, in total in the summary",
    "consultation_share": "consultations / cases",
    **{f"channel_share_{c}": f"cases arriving by {c} / cases" for c in CHANNELS},
    "response_rate": "non-consultation cases acted on (service started or closed) within response_hours of "
    "reaching their owner / such cases old enough to tell (withdrawn excluded)",
    "on_time_closure_rate": "cases closed by their deadline / cases closed or past their deadline "
    "(withdrawn excluded)",
    "closure_rate": "cases recorded closed (closed or verified) / non-consultation cases not withdrawn",
    "real_resolution_rate": "cases whose problem is really solved / all non-consultation cases",
    "days_to_resolution_median": "median days from filing to real resolution, solved cases",
    "days_to_resolution_p90": "90th percentile of days from filing to real resolution, solved cases",
    "handoffs_per_case": "mean hand-offs between units per non-consultation case",
    "cross_dept_days_ratio": "median days to real resolution of multi-owner cases / of single-owner cases",
    "days_to_resolution_single_median": "median days from filing to real resolution, single-owner cases",
    "days_to_resolution_multi_median": "median days from filing to real resolution, multi-owner (cross-department) cases",
    "backlog": "non-consultation cases open at the end of the day (summary: at the end of the run)",
    "hotline_answer_within_15s": "share of hotline calls answered within the answer-time standard "
    "(Erlang A, per day)",
    "closure_gap": "closed (closed or verified) cases not really solved although their problem "
    "could be solved / closed cases (closing without solving; honest failures apart)",
    "honest_failure_rate": "closed cases whose problem cannot be solved at all (closed as such) / "
    "closed cases",
    "satisfaction_reported": "cases rated satisfied at callback / rated cases",
    "satisfaction_true": "cases whose citizen is truly satisfied / rated cases",
    "satisfaction_inflation": "max(0, satisfaction_reported - satisfaction_true)",
    "hidden_dissatisfaction": "satisfaction_inflation / (1 - satisfaction_true): the share of the "
    "truly dissatisfied whom the ratings report satisfied (the DSI's scale for inflation)",
    "formalism_burden": "grassroots officials' hours on data work / their platform working hours (routine duties excluded)",
    "voice_gap": "problems (not consultations) that never reached the platform, or were withdrawn "
    "under persuasion / problems (not consultations) arisen",
    "assist_burden": "grassroots officials' hours assisting citizens offline (帮办代办) / their platform working hours",
    "dsi": "digital suspension index: weighted mean of closure_gap, hidden_dissatisfaction (the "
    "weight of satisfaction_inflation), formalism_burden and voice_gap (metrics.dsi_weights); "
    "each a share of what it concerns (closed cases, the truly dissatisfied, officials' hours, "
    "problems)",
    "indicator_validity": "Campbell's validity: across units with at least 5 cases in an "
    "assessment period, the correlation of their score with their true performance (mean of "
    "real resolution and true satisfaction); daily: the last period's; summary: the mean over "
    "periods",
    "repeat_complaint_rate": "repeat complaints / non-consultation cases",
    "official_utilisation_mean": "grassroots officials' hours in use (data work, assisting, "
    "pressure, deliberation, patrol, and handling up to the case work waiting or arriving that "
    "day) / their platform working hours: the staff-weighted utilisation",
    "department_utilisation_mean": "department staff's hours in use / their platform working "
    "hours (as official_utilisation_mean)",
    "official_burnout_mean": "mean burnout of grassroots officials (weighted by officials)",
    "official_overload_share": "share of grassroots officials whose workload exceeds their hours",
    "trust_mean": "mean trust in government over citizens",
    "efficacy_mean": "mean political efficacy over citizens",
    **{
        f"voice_rate_q{q}": f"problems voiced / problems arisen, literacy quartile {q} (1 lowest)"
        for q in range(1, 5)
    },
    **{
        f"real_resolution_q{q}": f"problems really solved / problems arisen (non-consultation), literacy quartile {q}"
        for q in range(1, 5)
    },
    **{
        f"satisfaction_q{q}": f"truly satisfied / closed cases, literacy quartile {q}"
        for q in range(1, 5)
    },
    **{f"voice_rate_{g}": f"problems voiced / problems arisen, age group {g}" for g in AGE_GROUPS},
    **{
        f"real_resolution_{g}": f"problems really solved / problems arisen, age group {g}"
        for g in AGE_GROUPS
    },
    **{f"satisfaction_{g}": f"truly satisfied / closed cases, age group {g}" for g in AGE_GROUPS},
    "equity_gap_voice": "voice_rate_q4 - voice_rate_q1",
    "equity_gap_resolution": "real_resolution_q4 - real_resolution_q1",
    "equity_gap_satisfaction": "satisfaction_q4 - satisfaction_q1",
    "practice_nominal_closure": "mean propensity of units to close cases nominally",
    "practice_satisfaction_pressure": "mean propensity of units to press citizens for good ratings",
    "practice_persuade_withdrawal": "mean propensity of units to persuade citizens to withdraw",
    "practice_extra_traces": "mean propensity of units to produce extra activity traces",
    "nominal_closure_rate": "cases closed nominally (without real work) / closed cases",
    **{
        f"{kind}_{group}_q{q}": f"{what}, {group} quartile {q} (1 lowest)"
        for group in ("education", "income")
        for kind, what in (
            ("voice_rate", "problems voiced / problems arisen"),
            ("real_resolution", "problems really solved / problems arisen (non-consultation)"),
            ("satisfaction", "truly satisfied / closed cases"),
        )
        for q in range(1, 5)
    },
    "reporting_rate_community_p90_p10": "complaints per resident by community (non-consultation "
    "cases filed by the community's residents, repeats included, patrol finds excluded, over its "
    "residents): 90th over 10th percentile across communities",
    "reporting_rate_community_max_min": "the same complaints per resident by community: highest "
    "over lowest",
    "phone_share": "cases arriving by hotline / cases arriving by hotline or app (the phone's share "
    "of the 12345 contacts, as Beijing reports its channel mix)",
    "satisfaction_true_first": "truly satisfied / rated cases, first complaints",
    "satisfaction_true_repeat": "truly satisfied / rated cases, repeat complaints",
    "satisfaction_reported_first": "rated satisfied at callback / rated cases, first complaints",
    "satisfaction_reported_repeat": "rated satisfied at callback / rated cases, repeat complaints",
    **PB_METRICS,  # defined with their formulas in govsim.platform.budgeting
    **{
        # service capability, giving up, patrols that follow the hotline (issue 17)
        "capability_mean": "units' capability (chance that work on a solvable problem really "
        "solves it), mean over units and categories weighted by the cases each has worked on "
        "so far; over the window's days",
        "abandonment_rate": "cases whose citizen gave up waiting while they were open / "
        "non-consultation cases filed by citizens (patrol finds excluded)",
        **{
            f"patrol_hotline_xcorr_lag{k}": "Pearson correlation of daily patrol-discovered cases "
            f"with the daily hotline cases (non-consultation) {k} days earlier, over the window's "
            "days"
            for k in range(XCORR_LAGS + 1)
        },
        "patrol_hotline_peak_lag": "the lag (0-10 days) at which patrol_hotline_xcorr is largest",
    },
}
"""Every metric name with its definition (the summary and time series use exactly these names,
less :data:`SUMMARY_ONLY` in the time series)."""

SUMMARY_ONLY: frozenset[str] = frozenset(
    [f"patrol_hotline_xcorr_lag{k}" for k in range(XCORR_LAGS + 1)] + ["patrol_hotline_peak_lag"]
)
"""Metrics of the summary only: a 30-day window is too short for them (nan every day), so the time
series does not carry them (nor pay for collecting them every day)."""


@dataclass
class Ledger:
    """Daily sums that metrics need besides the case store (one row per day)."""

    days: int
    problems_q: np.ndarray = field(init=False)
    voiced_q: np.ndarray = field(init=False)
    problems_nc_q: np.ndarray = field(init=False)
    problems_g: np.ndarray = field(init=False)
    voiced_g: np.ndarray = field(init=False)
    problems_nc_g: np.ndarray = field(init=False)
    reached: np.ndarray = field(init=False)
    reached_nc: np.ndarray = field(init=False)
    problems: np.ndarray = field(init=False)
    data_hours: np.ndarray = field(init=False)
    assist_hours: np.ndarray = field(init=False)
    pool_hours: np.ndarray = field(init=False)
    in_use_hours: np.ndarray = field(init=False)
    dept_in_use_hours: np.ndarray = field(init=False)
    dept_pool_hours: np.ndarray = field(init=False)
    burnout_mean: np.ndarray = field(init=False)
    overload_share: np.ndarray = field(init=False)
    hotline_within: np.ndarray = field(init=False)
    problems_ses: np.ndarray = field(init=False)
    patrol_found: np.ndarray = field(init=False)
    hotline_cases: np.ndarray = field(init=False)
    capability_mean: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        d = self.days
        self.problems_q = np.zeros((d, 4))
        self.voiced_q = np.zeros((d, 4))
        self.problems_nc_q = np.zeros((d, 4))
        self.problems_g = np.zeros((d, 3))
        self.voiced_g = np.zeros((d, 3))
        self.problems_nc_g = np.zeros((d, 3))
        self.reached = np.zeros(d)
        self.reached_nc = np.zeros(d)
        self.problems = np.zeros(d)
        self.data_hours = np.zeros(d)
        self.assist_hours = np.zeros(d)
        self.pool_hours = np.zeros(d)
        self.in_use_hours = np.zeros(d)
        self.dept_in_use_hours = np.zeros(d)
        self.dept_pool_hours = np.zeros(d)
        self.burnout_mean = np.zeros(d)
        self.overload_share = np.zeros(d)
        self.hotline_within = np.full(d, np.nan)
        self.problems_ses = np.zeros((d, 4, 4, 2, 2))
        self.patrol_found = np.zeros(d)
        self.hotline_cases = np.zeros(d)
        self.capability_mean = np.zeros(d)

    def record_problems(
        self,
        day: int,
        quartile: np.ndarray,
        age_group: np.ndarray,
        voiced: np.ndarray,
        not_consultation: np.ndarray,
        reached: np.ndarray,
    ) -> None:
        """Count the day's problems and voiced problems by literacy quartile and age group.

        Args:
            day: The day's row.
            quartile, age_group: The group of the citizen of each problem.
            voiced: Whether each was voiced.
            not_consultation: Whether each is a problem rather than a consultation.
            reached: Whether each reached the platform (voiced or found by patrols).
        """
        q, g = quartile, age_group
        self.problems_q[day] += np.bincount(q, minlength=4)  # counts, as np.add.at(row, q, 1)
        self.voiced_q[day] += np.bincount(q[voiced], minlength=4)
        self.problems_nc_q[day] += np.bincount(q[not_consultation], minlength=4)
        self.problems_g[day] += np.bincount(g, minlength=3)
        self.voiced_g[day] += np.bincount(g[voiced], minlength=3)
        self.problems_nc_g[day] += np.bincount(g[not_consultation], minlength=3)
        self.problems[day] = len(q)
        self.reached[day] = np.count_nonzero(reached)
        self.reached_nc[day] = np.count_nonzero(reached & not_consultation)

    def record_problem_groups(
        self,
        day: int,
        codes: np.ndarray,
        voiced: np.ndarray,
        not_consultation: np.ndarray,
    ) -> None:
        """Count the day's problems by schooling quartile, income quartile, consultation or not,
        and voiced or not (``problems_ses[day]``, axes in that order).

        Args:
            day: The day's row.
            codes: ``4 * schooling quartile + income quartile`` of each problem's citizen
                (:attr:`CitizenGroups.codes`).
            voiced: Whether each was voiced.
            not_consultation: Whether each is a problem rather than a consultation.
        """
        key = codes.astype(np.intp) * 4
        key += not_consultation * 2
        key += voiced
        self.problems_ses[day] += np.bincount(key, minlength=64).reshape(4, 4, 2, 2)

    def ensure(self, day: int) -> None:
        """Grow every array (doubling) so that row ``day`` exists; a model may run past its horizon."""
        if day < self.days:
            return
        new = max(2 * self.days, day + 1)
        for name in self.__dataclass_fields__:
            if name == "days":
                continue
            a = getattr(self, name)
            fill = np.nan if name == "hotline_within" else 0.0
            b = np.full((new, *a.shape[1:]), fill)
            b[: self.days] = a
            setattr(self, name, b)
        self.days = new


SES_GROUPS = ("education", "income")
"""Socioeconomic groupings of the metrics, in the order of the axes of ``Ledger.problems_ses``."""
_SES_KEYS = tuple(
    f"{kind}_{g}_q{k}"
    for g in SES_GROUPS
    for kind in ("voice_rate", "real_resolution", "satisfaction")
    for k in range(1, 5)
)
"""The socioeconomic metrics in the order of ``ses_metrics``'s (group, kind, quartile) array."""


@dataclass
class CitizenGroups:
    """What the neighbourhood and socioeconomic metrics need of the citizens.

    Attributes:
        community: Home community of each citizen.
        residents: Citizens per community.
        education_quartile: Schooling quartile of each citizen (0 lowest).
        income_quartile: Income quartile of each citizen (0 lowest).
    """

    community: np.ndarray
    residents: np.ndarray
    education_quartile: np.ndarray
    income_quartile: np.ndarray

    @cached_property
    def everywhere_inhabited(self) -> bool:
        """Whether every community has residents."""
        return bool(len(self.residents) == 0 or self.residents.min() > 0)

    @cached_property
    def codes(self) -> np.ndarray:
        """``4 * schooling quartile + income quartile`` per citizen, then 16 (for citizen -1)."""
        return np.append(self.education_quartile * 4 + self.income_quartile, 16).astype(np.int8)


def patrol_hotline_xcorr(L: Ledger, lo: int, hi: int) -> dict[str, float]:
    """Cross-correlation of daily patrol discoveries with the hotline's daily cases ``k`` days
    earlier, ``k`` = 0..:data:`XCORR_LAGS`, over ledger rows ``lo:hi``; and the lag of its peak.

    Each lag correlates the days ``t`` in the window with the days ``t - k`` (those before ``lo``
    too, where the run has them); ``nan`` where either series is constant, and over windows of
    :data:`WINDOW_DAYS` days or less (the time series': too few days for a correlation of daily
    counts, and a daily cost for nothing)."""
    lags = XCORR_LAGS + 1
    r = np.full(lags, np.nan)
    if hi - lo <= WINDOW_DAYS:
        pass
    elif lo >= XCORR_LAGS:
        # every lag over the same days: one array operation (the daily series' case)
        x = L.patrol_found[lo:hi]
        y = np.lib.stride_tricks.sliding_window_view(L.hotline_cases[lo - XCORR_LAGS : hi], hi - lo)
        y = y[::-1]  # row k: the days t - k
        dx = x - x.mean()
        dy = y - y.mean(axis=1, keepdims=True)
        den = np.sqrt((dx * dx).sum() * (dy * dy).sum(axis=1))
        num = dy @ dx
        ok = den > 0
        r[ok] = num[ok] / den[ok]
    else:
        for k in range(lags):
            start = max(lo, k)
            x = L.patrol_found[start:hi]
            y = L.hotline_cases[start - k : hi - k]
            if len(x) > 2:
                dx, dy = x - x.mean(), y - y.mean()
                den = np.sqrt((dx * dx).sum() * (dy * dy).sum())
                if den > 0:
                    r[k] = (dx * dy).sum() / den
    out = {f"patrol_hotline_xcorr_lag{k}": float(r[k]) for k in range(lags)}
    known = ~np.isnan(r)
    out["patrol_hotline_peak_lag"] = (
        float(np.argmax(np.where(known, r, -np.inf))) if known.any() else float("nan")
    )
    return out


def service_metrics(
    v: CaseView, L: Ledger, lo: int, hi: int, t: CaseTallies | None = None
) -> dict[str, float]:
    """Capability, giving up and the patrols' following of the hotline (issue 17)."""
    t = tally_cases(v) if t is None else t
    out = {
        "capability_mean": mean_of(L.capability_mean[lo:hi]) if hi > lo else float("nan"),
        "abandonment_rate": float("nan"),
    }
    if t.abandoned_filed is not None and t.filed:
        out["abandonment_rate"] = _ratio(t.abandoned_filed, t.filed)
    out.update(patrol_hotline_xcorr(L, lo, hi))
    return out


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


def _median(a: np.ndarray) -> float:
    """``np.median`` of a non-empty 1-D float array, bit for bit, without its per-call overhead.

    (np.median partitions around the middle and averages the two middle values of an even
    count as ``(x + y) / 2``; NaN anywhere gives NaN.) Daily metrics take several medians of
    small arrays, where NumPy's generic machinery costs more than the work.
    """
    n = a.size
    h = n // 2
    kth = [h - 1, h] if n % 2 == 0 else [h]
    part = np.partition(a, kth)
    if np.isnan(a).any():
        return float("nan")
    if n % 2:
        return float(part[h])
    return float((part[h - 1] + part[h]) / 2)


def _percentile(a: np.ndarray, pct: float) -> float:
    """``np.percentile(a, pct)`` (method 'linear') of a non-empty 1-D float array, bit for bit.

    Same arithmetic as NumPy: virtual index ``(n - 1) * (pct / 100)``, the two neighbouring
    order statistics, and NumPy's two-sided linear interpolation; NaN anywhere gives NaN.
    Checked against NumPy on 60,000 random arrays (ties, NaN, inf, sizes 1-5000) when written;
    tests/test_metrics_quantiles.py keeps checking 6,000.
    """
    n = a.size
    q = pct / 100
    vi = (n - 1) * q
    if np.isnan(a).any():
        return float("nan")
    if vi >= n - 1:
        prev = -1
        lo = hi = a.max()
    elif vi < 0:
        prev = 0
        lo = hi = a.min()
    else:
        prev = math.floor(vi)
        part = np.partition(a, [prev, prev + 1])
        lo, hi = part[prev], part[prev + 1]
    gamma = vi - prev
    diff = hi - lo
    out = lo + diff * gamma
    if gamma >= 0.5:
        out = hi - diff * (1 - gamma)
    return float(out)


def mean_of(a: np.ndarray) -> float:
    """``float(a.mean())`` (float64 sum over the count, as ndarray.mean), without its overhead."""
    return float(np.add.reduce(a, dtype=np.float64) / len(a))


def _share(mask: np.ndarray, den: np.ndarray | None = None) -> float:
    # np.count_nonzero: the same integer counts as bool .sum(), without a conversion to ints
    if den is None:
        return _ratio(np.count_nonzero(mask), mask.size)
    return _ratio(np.count_nonzero(mask & den), np.count_nonzero(den))


@dataclass
class CaseTallies:
    """What the case metrics count over a window of cases (``nc``: not a consultation).

    :func:`tally_cases` counts with NumPy (the definition); :func:`tally_cases_compiled` in one
    compiled pass (the same numbers; used at large populations, see :mod:`govsim.compiled`).
    The metric functions below compute their shares from these counts.
    """

    n: int
    consultations: int
    channels: np.ndarray
    """Cases per channel code (cases without a channel left out)."""
    nc: int
    nc_live: int
    """Non-consultation cases not withdrawn."""
    withdrawn_nc: int
    responded_due: int
    due: int
    on_time_due: int
    due_close: int
    closed_nc: int
    solved_nc: int
    repeat_nc: int
    nominal_closed_nc: int
    handoffs_nc: float
    """Hand-offs summed over non-consultation cases."""
    days: np.ndarray
    """Days from filing to real resolution of solved non-consultation cases (any order)."""
    days_multi: np.ndarray
    days_single: np.ndarray
    rated_nc: int
    reported_rated_nc: int
    true_rated_nc: int
    gap_closed_nc: int
    honest_closed_nc: int
    equity: np.ndarray
    """Counts over (literacy quartile + 1, age group + 1, flags), shape (5, 4, 8); flags =
    problem solved + 2 finished (closed, verified or withdrawn) + 4 finished and truly satisfied."""
    memory: np.ndarray
    """Counts over (repeat, rated, truly satisfied, reported satisfied), shape (2, 2, 2, 2)."""
    filed: int
    """Non-consultation cases filed by citizens (patrol finds excluded)."""
    abandoned_filed: int | None
    ses: np.ndarray | None = None
    """Counts over (schooling quartile, income quartile, flags), shape (4, 4, 8) (with groups)."""
    communities: np.ndarray | None = None
    """Cases filed by each community's residents (with groups)."""


def _flags(v: CaseView, nc: np.ndarray) -> np.ndarray:
    """Per case: problem solved + 2 finished + 4 finished and truly satisfied (equity counts)."""
    finished = nc & ((v.state == CLOSED) | (v.state == VERIFIED) | (v.state == WITHDRAWN))
    # problems, not cases: an original case whose problem was solved (by it or by a repeat
    # complaint), so the count matches the problems arisen in the same window
    if v.problem_solved is not None:
        solved_problem = nc & (v.repeat_of < 0) & v.problem_solved
    else:
        solved_problem = nc & v.solved
    flags = solved_problem.astype(np.intp)
    flags += finished * 2
    flags += (finished & v.true_satisfied) * 4
    return flags


def tally_cases(
    v: CaseView,
    now: float = math.nan,
    response_days: float = math.nan,
    groups: CitizenGroups | None = None,
) -> CaseTallies:
    """Count what the case metrics need over the window ``v`` at ``now`` (NumPy)."""
    nc = ~v.consultation
    st = v.state
    withdrawn = st == WITHDRAWN
    closed = (st == CLOSED) | (st == VERIFIED)
    t_owner = v.t_owner
    first_action = np.fmin(v.t_started, v.t_closed)
    reached = nc & ~np.isnan(t_owner) & ~withdrawn
    with np.errstate(invalid="ignore"):
        responded = (first_action - t_owner) <= response_days
        due = reached & (((now - t_owner) > response_days) | ~np.isnan(first_action))
        on_time = closed & (v.t_closed <= v.deadline)
        due_close = nc & ~withdrawn & (closed | (v.deadline <= now))
    solved = nc & v.solved
    dur = v.t_solved - v.t_created
    multi = v.owner_units > 1
    closed_nc = nc & closed
    rated = v.rated & nc
    solvable = v.solvable if v.solvable is not None else np.ones(len(closed), dtype=bool)
    flags = _flags(v, nc)
    key = (v.quartile.astype(np.intp) + 1) * 4 + (v.age_group + 1)
    key *= 8
    key += flags
    memory = (v.repeat_of >= 0).astype(np.intp) * 8
    memory += rated * 4
    memory += v.true_satisfied * 2
    memory += v.reported_satisfied
    filed = nc & (v.channel != PATROL)
    count = np.count_nonzero
    t = CaseTallies(
        n=len(v.t_created),
        consultations=count(v.consultation),
        channels=np.bincount(v.channel[v.channel >= 0], minlength=len(CHANNELS)),
        nc=count(nc),
        nc_live=count(nc & ~withdrawn),
        withdrawn_nc=count(withdrawn & nc),
        responded_due=count(responded & due),
        due=count(due),
        on_time_due=count(on_time & due_close),
        due_close=count(due_close),
        closed_nc=count(closed_nc),
        solved_nc=count(solved),
        repeat_nc=count((v.repeat_of >= 0) & nc),
        nominal_closed_nc=count(v.nominal & closed_nc),
        handoffs_nc=float(np.add.reduce(v.handoffs[nc], dtype=np.float64)),
        days=dur[solved],
        days_multi=dur[solved & multi],
        days_single=dur[solved & ~multi],
        rated_nc=count(rated),
        reported_rated_nc=count(v.reported_satisfied & rated),
        true_rated_nc=count(v.true_satisfied & rated),
        gap_closed_nc=count(~v.solved & solvable & closed_nc),
        honest_closed_nc=count(~v.solved & ~solvable & closed_nc),
        equity=np.bincount(key, minlength=5 * 4 * 8).reshape(5, 4, 8),
        memory=np.bincount(memory, minlength=16).reshape(2, 2, 2, 2),
        filed=count(filed),
        abandoned_filed=count(v.abandoned & filed) if v.abandoned is not None else None,
    )
    if groups is not None and v.citizen is not None:
        # the codes and communities recorded with the cases, or the citizens' (a view built by
        # hand); a case without a citizen (citizen -1) has code 16, the code table's last entry
        codes = v.ses_code if v.ses_code is not None else groups.codes[v.citizen]
        ses = codes.astype(np.intp) * 8
        ses += flags
        t.ses = np.bincount(ses, minlength=17 * 8)[: 16 * 8].reshape(4, 4, 8)
        from_residents = filed & (v.citizen >= 0)
        home = v.community if v.community is not None else groups.community[v.citizen]
        t.communities = np.bincount(home[from_residents], minlength=len(groups.residents))
    return t


def tally_cases_compiled(
    v: CaseView,
    now: float = math.nan,
    response_days: float = math.nan,
    groups: CitizenGroups | None = None,
) -> CaseTallies:
    """:func:`tally_cases` in one compiled pass over the window (the same numbers).

    Falls back to :func:`tally_cases` for a view without the optional columns (built by hand).
    """
    optional = (v.solvable, v.problem_solved, v.abandoned, v.citizen, v.community, v.ses_code)
    if any(column is None for column in optional):
        return tally_cases(v, now, response_days, groups)
    with_groups = groups is not None
    n_communities = len(groups.residents) if with_groups else 0
    counts, channels, equity, memory, ses, communities, days = _tally_kernel(
        v.consultation, v.state, v.channel, v.t_owner, v.t_started, v.t_closed, v.t_solved,
        v.t_created, v.deadline, v.solved, v.owner_units, v.handoffs, v.rated,
        v.reported_satisfied, v.true_satisfied, v.repeat_of, v.quartile, v.age_group, v.nominal,
        v.solvable, v.problem_solved, v.abandoned, v.citizen, v.ses_code, v.community,
        n_communities, with_groups, float(now), float(response_days), len(CHANNELS),
    )  # fmt: skip
    c = counts.tolist()
    n_days, n_multi = int(c[_K_DAYS]), int(c[_K_MULTI])
    return CaseTallies(
        n=len(v.t_created),
        consultations=c[_K_CONSULTATIONS],
        channels=channels,
        nc=c[_K_NC],
        nc_live=c[_K_NC_LIVE],
        withdrawn_nc=c[_K_WITHDRAWN_NC],
        responded_due=c[_K_RESPONDED_DUE],
        due=c[_K_DUE],
        on_time_due=c[_K_ON_TIME_DUE],
        due_close=c[_K_DUE_CLOSE],
        closed_nc=c[_K_CLOSED_NC],
        solved_nc=c[_K_SOLVED_NC],
        repeat_nc=c[_K_REPEAT_NC],
        nominal_closed_nc=c[_K_NOMINAL_CLOSED_NC],
        handoffs_nc=float(c[_K_HANDOFFS_NC]),
        days=days[:n_days],
        days_multi=days[n_days : n_days + n_multi],
        days_single=days[n_days + n_multi : 2 * n_days],
        rated_nc=c[_K_RATED_NC],
        reported_rated_nc=c[_K_REPORTED_RATED_NC],
        true_rated_nc=c[_K_TRUE_RATED_NC],
        gap_closed_nc=c[_K_GAP_CLOSED_NC],
        honest_closed_nc=c[_K_HONEST_CLOSED_NC],
        equity=equity.reshape(5, 4, 8),
        memory=memory.reshape(2, 2, 2, 2),
        filed=c[_K_FILED],
        abandoned_filed=c[_K_ABANDONED_FILED],
        ses=ses[: 16 * 8].reshape(4, 4, 8) if with_groups else None,
        communities=communities if with_groups else None,
    )


(
    _K_CONSULTATIONS, _K_NC, _K_NC_LIVE, _K_WITHDRAWN_NC, _K_RESPONDED_DUE, _K_DUE,
    _K_ON_TIME_DUE, _K_DUE_CLOSE, _K_CLOSED_NC, _K_SOLVED_NC, _K_REPEAT_NC,
    _K_NOMINAL_CLOSED_NC, _K_HANDOFFS_NC, _K_RATED_NC, _K_REPORTED_RATED_NC, _K_TRUE_RATED_NC,
    _K_GAP_CLOSED_NC, _K_HONEST_CLOSED_NC, _K_FILED, _K_ABANDONED_FILED, _K_DAYS, _K_MULTI,
    _N_K,
) = range(23)  # fmt: skip
"""Positions in :func:`_tally_kernel`'s vector of counts."""


@kernel
def _tally_kernel(
    consultation, state, channel, t_owner, t_started, t_closed, t_solved, t_created, deadline,
    solved, owner_units, handoffs, rated, reported, true_sat, repeat_of, quartile, age_group,
    nominal, solvable, problem_solved, abandoned, citizen, ses_code, community, n_communities,
    with_groups, now, response_days, n_channels,
):  # fmt: skip
    """The counts of :func:`tally_cases`, case by case (see there for each one's meaning).

    Returns the vector of counts (positions ``_K_*``), the channel, equity, memory, schooling x
    income and community counts, and the days to resolution: the solved cases' first, then the
    multi-owner ones', then the single-owner ones' (each group in case order).
    """
    n = len(state)
    k = np.zeros(_N_K, np.int64)
    channels = np.zeros(n_channels, np.int64)
    equity = np.zeros(5 * 4 * 8, np.int64)
    memory = np.zeros(16, np.int64)
    ses = np.zeros(17 * 8, np.int64)
    communities = np.zeros(n_communities, np.int64)
    solved_days = np.empty(n)
    multi_days = np.empty(n)
    single_days = np.empty(n)
    n_solved = 0
    n_multi = 0
    n_single = 0
    for i in range(n):
        ch = channel[i]
        if ch >= 0:
            channels[ch] += 1
        is_nc = not consultation[i]
        if not is_nc:
            k[_K_CONSULTATIONS] += 1
        st = state[i]
        withdrawn = st == WITHDRAWN
        closed = st in (CLOSED, VERIFIED)
        rated_nc = rated[i] and is_nc
        # (repeat, rated, truly satisfied, reported satisfied)
        memory[(repeat_of[i] >= 0) * 8 + rated_nc * 4 + true_sat[i] * 2 + reported[i]] += 1
        finished = is_nc and (closed or withdrawn)
        solved_problem = is_nc and repeat_of[i] < 0 and problem_solved[i]
        flags = solved_problem + finished * 2 + (finished and true_sat[i]) * 4
        equity[((quartile[i] + 1) * 4 + (age_group[i] + 1)) * 8 + flags] += 1
        filed = is_nc and ch != PATROL
        if with_groups:
            ses[ses_code[i] * 8 + flags] += 1
            if filed and citizen[i] >= 0:
                communities[community[i]] += 1
        if not is_nc:
            continue
        k[_K_NC] += 1
        if withdrawn:
            k[_K_WITHDRAWN_NC] += 1
        else:
            k[_K_NC_LIVE] += 1
        if filed:
            k[_K_FILED] += 1
            if abandoned[i]:
                k[_K_ABANDONED_FILED] += 1
        # np.fmin: the one that is not NaN, else the smaller
        a, b = t_started[i], t_closed[i]
        first_action = b if a != a else (a if b != b else (a if a <= b else b))
        owner = t_owner[i]
        reached = owner == owner and not withdrawn
        if reached and ((now - owner) > response_days or first_action == first_action):
            k[_K_DUE] += 1
            if (first_action - owner) <= response_days:
                k[_K_RESPONDED_DUE] += 1
        if not withdrawn and (closed or deadline[i] <= now):
            k[_K_DUE_CLOSE] += 1
            if closed and t_closed[i] <= deadline[i]:
                k[_K_ON_TIME_DUE] += 1
        if closed:
            k[_K_CLOSED_NC] += 1
            if nominal[i]:
                k[_K_NOMINAL_CLOSED_NC] += 1
            if not solved[i]:
                if solvable[i]:
                    k[_K_GAP_CLOSED_NC] += 1
                else:
                    k[_K_HONEST_CLOSED_NC] += 1
        if repeat_of[i] >= 0:
            k[_K_REPEAT_NC] += 1
        k[_K_HANDOFFS_NC] += handoffs[i]
        if rated_nc:
            k[_K_RATED_NC] += 1
            if reported[i]:
                k[_K_REPORTED_RATED_NC] += 1
            if true_sat[i]:
                k[_K_TRUE_RATED_NC] += 1
        if solved[i]:
            k[_K_SOLVED_NC] += 1
            d = t_solved[i] - t_created[i]
            solved_days[n_solved] = d
            n_solved += 1
            if owner_units[i] > 1:
                multi_days[n_multi] = d
                n_multi += 1
            else:
                single_days[n_single] = d
                n_single += 1
    k[_K_DAYS] = n_solved
    k[_K_MULTI] = n_multi
    days = np.empty(2 * n_solved)
    days[:n_solved] = solved_days[:n_solved]
    days[n_solved : n_solved + n_multi] = multi_days[:n_multi]
    days[n_solved + n_multi :] = single_days[:n_single]
    return k, channels, equity, memory, ses, communities, days


def intake_metrics(v: CaseView, t: CaseTallies | None = None) -> dict[str, float]:
    """Volume, consultation share and channel shares of a window of cases (``t``: its tallies,
    where the caller has them)."""
    t = tally_cases(v) if t is None else t
    out = {"consultation_share": _ratio(t.consultations, t.n)}
    for i, c in enumerate(CHANNELS):
        out[f"channel_share_{c}"] = _ratio(t.channels[i], t.n)
    return out


def responsiveness_metrics(
    v: CaseView, now: float, response_days: float, t: CaseTallies | None = None
) -> dict[str, float]:
    """Response, closure, real resolution, speed and hand-offs of a window of cases at ``now``."""
    t = tally_cases(v, now, response_days) if t is None else t
    days, dm, dsgl = t.days, t.days_multi, t.days_single
    med_m = _median(dm) if len(dm) else float("nan")
    med_s = _median(dsgl) if len(dsgl) else float("nan")
    ratio = float(med_m / med_s) if len(dm) and len(dsgl) and med_s > 0 else float("nan")
    return {
        "response_rate": _ratio(t.responded_due, t.due),
        "on_time_closure_rate": _ratio(t.on_time_due, t.due_close),
        "closure_rate": _ratio(t.closed_nc, t.nc_live),
        "real_resolution_rate": _ratio(t.solved_nc, t.nc),
        "days_to_resolution_median": _median(days) if len(days) else float("nan"),
        "days_to_resolution_p90": _percentile(days, 90) if len(days) else float("nan"),
        "handoffs_per_case": float(t.handoffs_nc / t.nc) if t.nc else float("nan"),
        "cross_dept_days_ratio": ratio,
        "days_to_resolution_single_median": float(med_s),
        "days_to_resolution_multi_median": float(med_m),
        "repeat_complaint_rate": _ratio(t.repeat_nc, t.nc),
        "nominal_closure_rate": _ratio(t.nominal_closed_nc, t.closed_nc),
    }


def satisfaction_metrics(v: CaseView, t: CaseTallies | None = None) -> dict[str, float]:
    """Reported vs true satisfaction and the closure gap of a window of cases."""
    t = tally_cases(v) if t is None else t
    rep = _ratio(t.reported_rated_nc, t.rated_nc)
    true = _ratio(t.true_rated_nc, t.rated_nc)
    infl = max(0.0, rep - true) if t.rated_nc else 0.0
    return {
        "closure_gap": _ratio(t.gap_closed_nc, t.closed_nc),
        "honest_failure_rate": _ratio(t.honest_closed_nc, t.closed_nc),
        "satisfaction_reported": rep,
        "satisfaction_true": true,
        "satisfaction_inflation": infl,
        "hidden_dissatisfaction": min(1.0, infl / (1.0 - true)) if t.rated_nc and true < 1 else 0.0,
    }


DSI_SCALES = {"satisfaction_inflation": "hidden_dissatisfaction"}
"""Components the DSI reads on another scale: inflation as a share of the truly dissatisfied."""


def dsi(components: dict[str, float], weights: dict[str, float]) -> float:
    """The digital suspension index: weighted mean of its components (nan components count as 0).

    Each component is a share of what it concerns, so that they are comparable: closed cases
    (``closure_gap``), the truly dissatisfied (``hidden_dissatisfaction``, for the weight of
    ``satisfaction_inflation``, whose raw difference of two shares is bounded by their level),
    officials' hours (``formalism_burden``) and problems (``voice_gap``).
    """
    tot = sum(weights.values())
    acc = 0.0  # plain left-to-right sum, as np.nan_to_num's float64s added one by one
    for k, w in weights.items():
        x = float(components.get(DSI_SCALES.get(k, k), 0.0))
        if not math.isfinite(x):  # np.nan_to_num on a scalar, without its overhead
            x = 0.0 if math.isnan(x) else math.copysign(sys.float_info.max, x)
        acc = acc + w * x
    return float(acc / tot)


def ledger_metrics(L: Ledger, lo: int, hi: int) -> dict[str, float]:
    """Voice, formalism, official and hotline metrics from ledger rows ``lo:hi``."""
    sl = slice(lo, hi)
    out = {
        "formalism_burden": _ratio(L.data_hours[sl].sum(), L.pool_hours[sl].sum()),
        "assist_burden": _ratio(L.assist_hours[sl].sum(), L.pool_hours[sl].sum()),
        "official_utilisation_mean": _ratio(L.in_use_hours[sl].sum(), L.pool_hours[sl].sum()),
        "department_utilisation_mean": _ratio(
            L.dept_in_use_hours[sl].sum(), L.dept_pool_hours[sl].sum()
        ),
        "official_burnout_mean": float(L.burnout_mean[hi - 1]) if hi > lo else float("nan"),
        "official_overload_share": mean_of(L.overload_share[sl]) if hi > lo else float("nan"),
    }
    hw = L.hotline_within[sl]
    known = ~np.isnan(hw)
    n_known = int(known.sum())
    # np.nanmean's own arithmetic (NaN as 0, sum, divide by the count), without its overhead
    out["hotline_answer_within_15s"] = (
        float(np.where(known, hw, 0.0).sum() / n_known) if n_known else float("nan")
    )
    pq, vq = L.problems_q[sl].sum(0), L.voiced_q[sl].sum(0)
    for q in range(4):
        out[f"voice_rate_q{q + 1}"] = _ratio(vq[q], pq[q])
    pg, vg = L.problems_g[sl].sum(0), L.voiced_g[sl].sum(0)
    for g, name in enumerate(AGE_GROUPS):
        out[f"voice_rate_{name}"] = _ratio(vg[g], pg[g])
    return out


_FLAG_BITS = np.array([[f & 1, (f >> 1) & 1, (f >> 2) & 1] for f in range(8)])
"""Which of the three equity flags (solved, closed, truly satisfied) each flag code carries."""


def equity_metrics(
    v: CaseView, L: Ledger, lo: int, hi: int, t: CaseTallies | None = None
) -> dict[str, float]:
    """Real resolution and satisfaction by literacy quartile and age group, and the gaps."""
    sl = slice(lo, hi)
    out: dict[str, float] = {}
    # one count over (quartile + 1, age group + 1, flags); a case without a citizen has quartile
    # and age group -1, which land in row and column 0; flags = solved + 2 closed + 4 satisfied
    counts = (tally_cases(v) if t is None else t).equity
    solved_q, cq, sq = (counts[1:].sum(axis=1) @ _FLAG_BITS).T
    solved_g, cg, sg = (counts[:, 1:].sum(axis=0) @ _FLAG_BITS).T
    pq = L.problems_nc_q[sl].sum(0)
    for q in range(4):
        out[f"real_resolution_q{q + 1}"] = _ratio(solved_q[q], pq[q])
        out[f"satisfaction_q{q + 1}"] = _ratio(sq[q], cq[q])
    pg = L.problems_nc_g[sl].sum(0)
    for g, name in enumerate(AGE_GROUPS):
        out[f"real_resolution_{name}"] = _ratio(solved_g[g], pg[g])
        out[f"satisfaction_{name}"] = _ratio(sg[g], cg[g])
    return out


def equity_gaps(m: dict[str, float]) -> dict[str, float]:
    """Top minus bottom literacy quartile for voice, resolution and satisfaction."""
    return {
        "equity_gap_voice": m["voice_rate_q4"] - m["voice_rate_q1"],
        "equity_gap_resolution": m["real_resolution_q4"] - m["real_resolution_q1"],
        "equity_gap_satisfaction": m["satisfaction_q4"] - m["satisfaction_q1"],
    }


def ses_metrics(
    v: CaseView,
    L: Ledger,
    lo: int,
    hi: int,
    groups: CitizenGroups,
    t: CaseTallies | None = None,
) -> dict[str, float]:
    """Voice, real resolution and satisfaction by schooling and income quartile (as
    :func:`equity_metrics` by literacy quartile: problems from the ledger, cases from ``v``)."""
    # one count over (schooling quartile, income quartile, flags)
    counts = (tally_cases(v, groups=groups) if t is None or t.ses is None else t).ses
    ledger = L.problems_ses[lo:hi].sum(0)  # (schooling q, income q, not consultation, voiced)
    num, den = np.empty((2, 3, 4)), np.empty((2, 3, 4))
    for axis in range(2):
        solved, n_closed, n_sat = (counts.sum(axis=1 - axis) @ _FLAG_BITS).T
        rows = ledger.sum(axis=1 - axis)  # (quartile, not consultation, voiced)
        num[axis] = rows[:, :, 1].sum(axis=1), solved, n_sat
        den[axis] = rows.sum(axis=(1, 2)), rows[:, 1, :].sum(axis=1), n_closed
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(den > 0, num / den, np.nan)  # the same division as _ratio's
    return dict(zip(_SES_KEYS, rate.ravel().tolist(), strict=True))


def community_reporting_rates(
    v: CaseView, groups: CitizenGroups, t: CaseTallies | None = None
) -> np.ndarray:
    """Complaints per resident by community: non-consultation cases filed by its residents
    (repeats included, patrol finds excluded) over its residents (nan where none live)."""
    t = tally_cases(v, groups=groups) if t is None or t.communities is None else t
    counts = t.communities.astype(float)
    if groups.everywhere_inhabited:
        return counts / groups.residents
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(groups.residents > 0, counts / groups.residents, np.nan)


def _percentile_of_sorted(x: list[float], pct: float) -> float:
    """NumPy's linear percentile of an ascending list without NaN (virtual index ``(n-1) q``,
    with NumPy's two-sided interpolation; as :func:`_percentile`)."""
    vi = (len(x) - 1) * (pct / 100)
    prev = math.floor(vi)
    if prev >= len(x) - 1:
        return float(x[-1])
    lo, hi = x[prev], x[prev + 1]
    gamma = vi - prev
    diff = hi - lo
    return float(hi - diff * (1 - gamma) if gamma >= 0.5 else lo + diff * gamma)


def reporting_spread(rates: np.ndarray) -> dict[str, float]:
    """``reporting_rate_community_p90_p10`` and ``_max_min`` of communities' reporting rates
    (communities without residents left out; nan when the lower value is 0)."""
    nan = np.isnan(rates)
    r = np.sort(rates[~nan] if nan.any() else rates).tolist()
    if not r:
        return {
            "reporting_rate_community_p90_p10": math.nan,
            "reporting_rate_community_max_min": math.nan,
        }
    return {
        "reporting_rate_community_p90_p10": _ratio(
            _percentile_of_sorted(r, 90), _percentile_of_sorted(r, 10)
        ),
        "reporting_rate_community_max_min": _ratio(r[-1], r[0]),
    }


def channel_memory_metrics(v: CaseView, t: CaseTallies | None = None) -> dict[str, float]:
    """The phone's share of hotline and app cases, and satisfaction of first vs repeat complaints.

    Args:
        v: The window's cases.
        t: Their tallies, where the caller has them.
    """
    t = tally_cases(v) if t is None else t
    counts = t.channels
    out = {"phone_share": _ratio(counts[HOTLINE], counts[HOTLINE] + counts[APP])}
    # counts over (repeat, rated, truly satisfied, reported satisfied)
    n = t.memory[:, 1]  # rated: (repeat, true, reported)
    for r, name in enumerate(("first", "repeat")):
        rated = n[r].sum()
        out[f"satisfaction_true_{name}"] = _ratio(n[r, 1].sum(), rated)
        out[f"satisfaction_reported_{name}"] = _ratio(n[r, :, 1].sum(), rated)
    return out


def open_backlog(state_counts: np.ndarray, open_consultations: int = 0) -> int:
    """Cases not in a finished recorded state."""
    finished = sum(int(state_counts[s]) for s in CLOSED_STATES)
    return int(state_counts.sum()) - finished - open_consultations


QUEUE_METRICS: dict[str, str] = {
    "mean_wait_days": "queue_mmc mode: mean days from arrival to start of service, after warm-up",
    "mean_days_in_system": "queue_mmc mode: mean days from arrival to end of service, after warm-up",
    "prob_wait": "queue_mmc mode: share of arrivals that waited at all, after warm-up",
    "queue_cases_measured": "queue_mmc mode: cases the three figures above are measured on",
}
"""Outputs of the M/M/c validation mode (scenario ``queue_mmc``), besides cases_reported and backlog."""


def queue_metrics(v: CaseView, warmup: float) -> dict[str, float]:
    """M/M/c validation outputs: mean wait, mean time in system, probability of waiting.

    Over cases that arrived after ``warmup`` and have finished service.
    """
    done = (v.t_created >= warmup) & ~np.isnan(v.t_closed)
    wait = (v.t_started - v.t_owner)[done]
    sysd = (v.t_closed - v.t_owner)[done]
    return {
        "mean_wait_days": float(wait.mean()) if len(wait) else float("nan"),
        "mean_days_in_system": float(sysd.mean()) if len(sysd) else float("nan"),
        "prob_wait": float((wait > 1e-12).mean()) if len(wait) else float("nan"),
        "queue_cases_measured": float(len(wait)),
    }


def voice_gap(v: CaseView, L: Ledger, lo: int, hi: int, t: CaseTallies | None = None) -> float:
    """Problems (not consultations) arisen on ledger days ``lo:hi`` that never reached the
    platform, plus the window's cases withdrawn under persuasion, over those problems."""
    problems = L.problems_nc_q[lo:hi].sum()
    if problems <= 0:
        return 0.0
    withdrawn = (tally_cases(v) if t is None else t).withdrawn_nc
    unheard = problems - L.reached_nc[lo:hi].sum() + withdrawn
    return float(min(1.0, max(0.0, unheard / problems)))


def window_metrics(
    v: CaseView,
    ledger: Ledger,
    now: float,
    lo_day: int,
    hi_day: int,
    scenario: Scenario,
    trust: np.ndarray,
    efficacy: np.ndarray,
    practices: np.ndarray,
    indicator_validity: float,
    budgeting: dict[str, float] | None = None,
    groups: CitizenGroups | None = None,
    compiled: bool = False,
) -> dict[str, float]:
    """Every city metric over a window: the cases ``v`` and the ledger's days ``lo_day..hi_day``.

    Args:
        v: The window's cases, as they stand at ``now``.
        ledger: The daily sums.
        now: Now (days).
        lo_day, hi_day: The window's ledger rows.
        scenario: The scenario (response time, DSI weights).
        trust, efficacy: Every citizen's trust and efficacy now.
        practices: Every unit's practice propensities now.
        indicator_validity: Campbell's validity of the indicators (module docstring of
            :mod:`govsim.platform.assessment`) for the window.
        budgeting: Participatory budgeting's metrics, where it runs.
        groups: The citizens' communities and socioeconomic quartiles (their metrics are left
            out without them).
        compiled: Count the cases in one compiled pass (:func:`tally_cases_compiled`; the same
            numbers as :func:`tally_cases`, faster on large windows).
    """
    response_days = scenario.closed_loop.response_hours / 24.0
    count = tally_cases_compiled if compiled else tally_cases
    t = count(v, now, response_days, groups)
    out: dict[str, float] = {}
    out.update(intake_metrics(v, t))
    out.update(responsiveness_metrics(v, now, response_days, t))
    out.update(satisfaction_metrics(v, t))
    out.update(ledger_metrics(ledger, lo_day, hi_day))
    out.update(equity_metrics(v, ledger, lo_day, hi_day, t))
    out.update(equity_gaps(out))
    if t.ses is not None:
        out.update(ses_metrics(v, ledger, lo_day, hi_day, groups, t))
        out.update(reporting_spread(community_reporting_rates(v, groups, t)))
    out.update(channel_memory_metrics(v, t))
    out["voice_gap"] = voice_gap(v, ledger, lo_day, hi_day, t)
    out["dsi"] = dsi(out, scenario.metrics.dsi_weights)
    out["indicator_validity"] = indicator_validity
    out.update(service_metrics(v, ledger, lo_day, hi_day, t))
    out["trust_mean"] = float(trust.mean())
    out["efficacy_mean"] = float(efficacy.mean())
    out.update(budgeting or {})
    for i, name in enumerate(PRACTICES):
        out[f"practice_{name}"] = mean_of(practices[:, i])
    return out
