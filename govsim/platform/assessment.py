"""Assessment (考核, the baton 指挥棒) of units, and how units adapt their practices to it.

Every ``period_days`` each unit (community, street, department, backstop) is scored on the cases it
leads (its ``unit``) that were created in the period:

* ``response``: share responded to (service started or closed) within ``closed_loop.response_hours``
  of reaching the unit;
* ``on_time_closure``: share closed by the deadline, among cases due or closed;
* ``closure``: share recorded closed;
* ``satisfaction``: share rated satisfied at callback (as reported);
* ``verified_resolution``: share found truly resolved among audited cases;
* ``traces``: activity traces uploaded, ``(1 + extra_traces) / 2`` of the maximum;
* ``repeat_complaint``: one minus the share of repeat complaints.

Withdrawn cases leave every denominator (that is what persuading withdrawal buys). The score is the
weighted mean of the indicators that have data, minus ``audit_penalty`` times the share of cases
caught as nominal closures; with summoning on, departments also carry the streets' reverse
assessment (share of summoned tasks done on time, weight ``reverse_assessment_weight``). Units are
ranked within their kind; the bottom ``penalty_share`` feel ``penalty`` (the pressure-type system);
vertically managed departments feel only ``vertical_exposure`` of their own score.

**Learning rule** (proxy competition, after Braganza 2022): each unit compares its felt score with a
random peer of its kind and imitates it with probability ``1 / (1 + exp(-k (felt_peer - felt_own)))``,
moving ``imitation_step`` of the way toward the peer's practices; then every practice takes a
random step ``N(0, exploration)``; finally public-service motivation pulls every gaming practice
toward zero by a factor ``(1 - intrinsic_motivation)``. Practices stay in [0,1]. Nothing in the rule
says which practices pay: that comes from how indicators respond to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from govsim.cases import CLOSED, VERIFIED, WITHDRAWN, CaseView
from govsim.schema import INDICATORS, Scenario


@dataclass
class AssessmentResult:
    """One period's assessment."""

    indicators: np.ndarray
    """(n_units, n_indicators), NaN where a unit had no data for an indicator."""
    score: np.ndarray
    felt: np.ndarray
    penalised: np.ndarray
    caught_share: np.ndarray


def unit_indicators(
    v: CaseView, now: float, n_units: int, response_days: float, practices: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indicators per unit from a window of cases (see the module docstring).

    Returns:
        (indicators (n_units, 7) with NaN where undefined, cases per unit, caught share per unit).
    """
    unit = v.unit
    keep = (~v.consultation) & (unit >= 0) & (v.state != WITHDRAWN)
    u = unit[keep]
    st = v.state[keep]

    def share(num_mask: np.ndarray, den_mask: np.ndarray) -> np.ndarray:
        den = np.bincount(u[den_mask], minlength=n_units).astype(float)
        num = np.bincount(u[den_mask & num_mask], minlength=n_units).astype(float)
        return np.divide(num, den, out=np.full(n_units, np.nan), where=den > 0)

    closed = np.isin(st, (CLOSED, VERIFIED))
    t_owner = v.t_owner[keep]
    first_action = np.fmin(v.t_started[keep], v.t_closed[keep])
    reached = ~np.isnan(t_owner)
    responded = (first_action - t_owner) <= response_days
    due = reached & ((now - t_owner) > response_days)
    response = share(responded, due | (reached & ~np.isnan(first_action)))
    deadline = v.deadline[keep]
    on_time = closed & (v.t_closed[keep] <= deadline)
    on_time_rate = share(on_time, closed | (deadline <= now))
    closure = share(closed, np.ones_like(closed))
    rated = v.rated[keep]
    satisfaction = share(v.reported_satisfied[keep], rated)
    audited = v.audited[keep]
    verified = share(v.solved[keep], audited)
    traces = np.clip((1.0 + practices[:, 3]) / 2.0, 0, 1)
    repeat = 1.0 - share(v.repeat_of[keep] >= 0, np.ones_like(closed))
    ind = np.column_stack([response, on_time_rate, closure, satisfaction, verified, traces, repeat])
    n_cases = np.bincount(u, minlength=n_units)
    caught = np.bincount(u[v.caught[keep]], minlength=n_units).astype(float)
    caught_share = np.divide(caught, n_cases, out=np.zeros(n_units), where=n_cases > 0)
    ind[n_cases == 0, 5] = np.nan
    return ind, n_cases, caught_share


def score_units(
    ind: np.ndarray,
    caught_share: np.ndarray,
    kinds: np.ndarray,
    vertical: np.ndarray,
    reverse: np.ndarray | None,
    s: Scenario,
) -> AssessmentResult:
    """Weighted scores, rankings within each unit kind, penalties and vertical exposure."""
    a = s.assessment
    w = np.array([a.weights.get(k, 0.0) for k in INDICATORS])
    has = ~np.isnan(ind)
    wsum = (has * w).sum(axis=1)
    score = np.divide(np.nansum(ind * w, axis=1), wsum, out=np.full(len(ind), 0.5), where=wsum > 0)
    score = score - a.audit_penalty * caught_share
    if reverse is not None:
        ok = ~np.isnan(reverse)
        score[ok] = (score[ok] + a.reverse_assessment_weight * reverse[ok]) / (
            1 + a.reverse_assessment_weight
        )
    felt = score.copy()
    penalised = np.zeros(len(score), dtype=bool)
    for k in np.unique(kinds):
        m = np.flatnonzero(kinds == k)
        if len(m) < 2:
            continue
        n_pen = int(np.floor(a.penalty_share * len(m)))
        if n_pen > 0:
            order = m[np.argsort(score[m], kind="stable")]
            penalised[order[:n_pen]] = True
        mean_k = score[m].mean()
        vm = m[vertical[m]]
        felt[vm] = a.vertical_exposure * score[vm] + (1 - a.vertical_exposure) * mean_k
    felt = felt - a.penalty * penalised * np.where(vertical, a.vertical_exposure, 1.0)
    return AssessmentResult(ind, score, felt, penalised, caught_share)


def adapt_practices(
    practices: np.ndarray,
    felt: np.ndarray,
    kinds: np.ndarray,
    active: np.ndarray,
    s: Scenario,
    rng: np.random.Generator,
) -> np.ndarray:
    """One period of the learning rule (module docstring); returns the new practices."""
    L = s.assessment.learning
    new = practices.copy()
    idx = np.flatnonzero(active)
    for k in np.unique(kinds[idx]):
        m = idx[kinds[idx] == k]
        if len(m) < 2:
            continue
        peers = m[rng.integers(0, len(m), len(m))]
        p_imitate = 1.0 / (1.0 + np.exp(-L.imitation_strength * (felt[peers] - felt[m])))
        imitate = (rng.random(len(m)) < p_imitate) & (peers != m)
        mi, pi = m[imitate], peers[imitate]
        new[mi] += L.imitation_step * (practices[pi] - practices[mi])
    noise = (
        rng.normal(0.0, L.exploration, size=(len(idx), practices.shape[1]))
        if L.exploration > 0
        else 0.0
    )
    new[idx] += noise
    new[idx] *= 1.0 - L.intrinsic_motivation
    return np.clip(new, 0.0, 1.0)
