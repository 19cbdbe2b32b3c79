"""Assessment (考核, the baton 指挥棒) of units, and the rule by which units learn their practices.

**Indicators.** Every ``period_days`` each unit (community, street, department, backstop) is scored
on the cases it leads (its ``unit``) that were created in the period:

* ``response``: share responded to (service started or closed) within ``closed_loop.response_hours``
  of reaching the unit;
* ``on_time_closure``: share closed by the deadline, among cases due or closed;
* ``closure``: share recorded closed;
* ``satisfaction``: share rated satisfied at callback (as reported);
* ``verified_resolution``: share found truly resolved among audited cases;
* ``traces``: activity traces uploaded, ``(1 + extra_traces) / 2`` of the maximum;
* ``repeat_complaint``: one minus the share of repeat complaints.

Withdrawn cases leave every denominator (that is what persuading withdrawal buys).

**Score and felt payoff.** The score is the weighted mean of the indicators that have data, minus
``audit_penalty`` times the share of cases caught as nominal closures; with summoning on,
departments also carry the streets' reverse assessment (share of summoned tasks done on time,
weight ``reverse_assessment_weight``). Units are ranked within their kind: the bottom
``penalty_share`` feel ``penalty``, the top ``reward_share`` feel ``reward`` (the pressure-type
system 压力型体制); vertically managed departments feel only ``vertical_exposure`` of their own
score and of penalties. With the ratchet on, a unit below its target feels ``ratchet.penalty``.

**Utility** (Braganza 2022): ``U = felt - motivation * gamed``, where ``gamed`` is the share of
the unit's cases in the period that it closed nominally, pressed at callback or persuaded to
withdraw, and ``motivation`` the unit's public-service motivation, drawn once per unit
(``learning.motivation_mean``, ``motivation_sd``): units differ in how much gaming costs them.

**Learning rule**, each period, for every unit that had cases (:func:`adapt_practices`); each
practice is a separate propensity and is learned on its own:

1. *reinforcement* from the unit's own payoffs: the exploration step ``e`` it took last period is
   followed further if its utility beat its aspiration ``A`` and reversed if not,
   ``p += reinforcement_rate * (U - A) * e / exploration``; the aspiration follows the utility,
   ``A += aspiration_rate * (U - A)``;
2. *imitation* of a better-off peer: the unit meets a random peer of its kind and, with probability
   ``1 / (1 + exp(-imitation_strength * (U_peer - U)))``, moves one randomly chosen practice
   ``imitation_step`` of the way toward the peer's;
3. *exploration*: every practice takes a random step ``e ~ N(0, exploration)``;
4. practices are clipped to [0, 1].

With ``learning.selection: false`` (the no-selection control, a *neutral* model as in cultural
evolution) the same rule runs on utilities shuffled at random among the units of each kind: units
reinforce, imitate and explore exactly as much, but blind to what their practices earn, so
practices drift with the same spread and nothing is selected. Every random draw is made in both
cases, so a run and its control share their random numbers; any difference between them is what
the payoffs select. Nothing in the rule says which practices pay: that comes from how the
indicators respond to them.

**Indicator validity** (Campbell 1976): across the units with at least :data:`MIN_CASES_FOR_VALIDITY`
cases in the period, the correlation between the score and the units' true performance (the mean of
their real resolution rate and their citizens' true satisfaction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from govsim.cases import CLOSED, VERIFIED, WITHDRAWN, CaseView
from govsim.schema import EXTRA_TRACES, INDICATORS, AssessmentSpec, LearningSpec

MIN_CASES_FOR_VALIDITY = 5
"""Cases a unit needs in a period to enter the indicator-validity correlation."""


@dataclass
class AssessmentResult:
    """One period's assessment."""

    indicators: np.ndarray
    """(n_units, n_indicators), NaN where a unit had no data for an indicator."""
    score: np.ndarray
    felt: np.ndarray
    penalised: np.ndarray
    caught_share: np.ndarray
    cutoff: np.ndarray
    """The penalty cut-off score of each unit's kind (NaN where nobody is penalised)."""


@dataclass
class PeriodRecord:
    """What a period's cases say about each unit besides its indicators.

    Attributes:
        n_cases: Cases the unit led (withdrawn ones included).
        gamed_share: Share of them closed nominally, pressed at callback or persuaded to withdraw.
        true_performance: Mean of the real resolution rate and the true satisfaction rate of its
            cases (NaN without cases).
    """

    n_cases: np.ndarray
    gamed_share: np.ndarray
    true_performance: np.ndarray


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
    traces = np.clip((1.0 + practices[:, EXTRA_TRACES]) / 2.0, 0, 1)
    repeat = 1.0 - share(v.repeat_of[keep] >= 0, np.ones_like(closed))
    ind = np.column_stack([response, on_time_rate, closure, satisfaction, verified, traces, repeat])
    n_cases = np.bincount(u, minlength=n_units)
    caught = np.bincount(u[v.caught[keep]], minlength=n_units).astype(float)
    caught_share = np.divide(caught, n_cases, out=np.zeros(n_units), where=n_cases > 0)
    ind[n_cases == 0, 5] = np.nan
    return ind, n_cases, caught_share


def period_record(v: CaseView, n_units: int) -> PeriodRecord:
    """Gaming and true performance per unit from a window of cases (module docstring)."""
    led = ~v.consultation & (v.unit >= 0)
    u = v.unit[led]

    def per_unit(mask: np.ndarray) -> np.ndarray:
        return np.bincount(u[mask], minlength=n_units).astype(float)

    n = per_unit(np.ones(len(u), dtype=bool))
    pressed = v.pressed[led] if v.pressed is not None else np.zeros(len(u), dtype=bool)
    gamed = v.nominal[led] | pressed | (v.state[led] == WITHDRAWN)
    rated = v.rated[led]
    with np.errstate(invalid="ignore", divide="ignore"):
        gamed_share = np.where(n > 0, per_unit(gamed) / n, 0.0)
        resolution = np.where(n > 0, per_unit(v.solved[led]) / n, np.nan)
        n_rated = per_unit(rated)
        satisfied = np.where(n_rated > 0, per_unit(rated & v.true_satisfied[led]) / n_rated, np.nan)
    both = np.column_stack([resolution, satisfied])
    has = ~np.isnan(both)
    count = has.sum(axis=1)
    total = np.where(has, both, 0.0).sum(axis=1)
    performance = np.divide(total, count, out=np.full(n_units, np.nan), where=count > 0)
    return PeriodRecord(n.astype(np.int64), gamed_share, performance)


def indicator_validity(score: np.ndarray, record: PeriodRecord) -> float:
    """Campbell's validity: the correlation across units of score and true performance (NaN when
    fewer than three units qualify or either has no spread)."""
    ok = (record.n_cases >= MIN_CASES_FOR_VALIDITY) & np.isfinite(record.true_performance)
    ok &= np.isfinite(score)
    if ok.sum() < 3:
        return float("nan")
    x, y = score[ok], record.true_performance[ok]
    if x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def score_units(
    ind: np.ndarray,
    caught_share: np.ndarray,
    kinds: np.ndarray,
    vertical: np.ndarray,
    reverse: np.ndarray | None,
    a: AssessmentSpec,
) -> AssessmentResult:
    """Weighted scores, rankings within each unit kind, penalties, rewards and vertical exposure."""
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
    rewarded = np.zeros(len(score), dtype=bool)
    cutoff = np.full(len(score), np.nan)
    for k in np.unique(kinds):
        m = np.flatnonzero(kinds == k)
        if len(m) < 2:
            continue
        order = m[np.argsort(score[m], kind="stable")]
        n_pen = int(np.floor(a.penalty_share * len(m)))
        if n_pen > 0:
            penalised[order[:n_pen]] = True
            # the line between the last penalised unit and the first safe one
            cutoff[m] = score[order[n_pen - 1 : n_pen + 1]].mean()
        n_rew = int(np.floor(a.reward_share * len(m)))
        if n_rew > 0:
            rewarded[order[-n_rew:]] = True
        mean_k = score[m].mean()
        vm = m[vertical[m]]
        felt[vm] = a.vertical_exposure * score[vm] + (1 - a.vertical_exposure) * mean_k
    exposure = np.where(vertical, a.vertical_exposure, 1.0)
    felt = felt - a.penalty * penalised * exposure + a.reward * rewarded * exposure
    return AssessmentResult(ind, score, felt, penalised, caught_share, cutoff)


@dataclass
class LearningState:
    """What a unit remembers between periods for reinforcement: its aspiration and last step."""

    aspiration: np.ndarray
    """Expected utility per unit (NaN until its first period)."""
    last_step: np.ndarray
    """Last period's exploration step per unit and practice."""

    @classmethod
    def fresh(cls, n_units: int, n_practices: int) -> LearningState:
        """No aspiration yet, no step taken."""
        return cls(np.full(n_units, np.nan), np.zeros((n_units, n_practices)))


def adapt_practices(
    practices: np.ndarray,
    utility: np.ndarray,
    state: LearningState,
    kinds: np.ndarray,
    active: np.ndarray,
    learning: LearningSpec,
    rng: np.random.Generator,
) -> np.ndarray:
    """One period of the learning rule (module docstring); returns the new practices.

    Args:
        practices: Propensities (n_units, n_practices) in [0,1].
        utility: This period's utility per unit.
        state: Aspirations and last steps (updated in place for the active units).
        kinds: Unit kind of each unit (peers are of the same kind).
        active: Units that had cases this period (the others neither learn nor explore).
        learning: The learning parameters.
        rng: The random stream.
    """
    L = learning
    new = practices.copy()
    idx = np.flatnonzero(active)
    n_practices = practices.shape[1]
    # every draw is made whether selection acts or not (common random numbers with the control)
    meetings = []
    shuffled = utility.copy()
    for k in np.unique(kinds[idx]):
        m = idx[kinds[idx] == k]
        if len(m) < 2:
            continue
        shuffled[m] = utility[m][rng.permutation(len(m))]
        peers = m[rng.integers(0, len(m), len(m))]
        chance = rng.random(len(m))
        which = rng.integers(0, n_practices, len(m))
        meetings.append((m, peers, chance, which))
    if not L.selection:
        utility = shuffled
    step = (
        rng.normal(0.0, L.exploration, size=(len(idx), n_practices))
        if L.exploration > 0
        else np.zeros((len(idx), n_practices))
    )
    u = utility[idx]
    aspiration = state.aspiration[idx]
    first = np.isnan(aspiration)
    aspiration = np.where(first, u, aspiration)
    if L.exploration > 0:
        advantage = np.where(first, 0.0, u - aspiration)
        new[idx] += L.reinforcement_rate * advantage[:, None] * state.last_step[idx] / L.exploration
    for m, peers, chance, which in meetings:
        gain = utility[peers] - utility[m]
        p_imitate = expit(L.imitation_strength * gain)  # the Fermi rule, without overflow
        imitate = (chance < p_imitate) & (peers != m)
        mi, pi, wi = m[imitate], peers[imitate], which[imitate]
        new[mi, wi] += L.imitation_step * (practices[pi, wi] - practices[mi, wi])
    new[idx] += step
    state.last_step[idx] = step
    state.aspiration[idx] = aspiration + L.aspiration_rate * (u - aspiration)
    return np.clip(new, 0.0, 1.0)
