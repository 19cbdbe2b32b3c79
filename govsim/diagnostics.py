"""Diagnostics that probe the model's incentives directly, with learning frozen.

They answer "what would the learning rule see?" without waiting for it to act: give a chosen set of
units a practice, run assessment periods, and compare scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from govsim.config import resolve_scenario
from govsim.model import GovernanceModel
from govsim.schema import NOMINAL_CLOSURE
from govsim.sizing import built_for


def scores_with_frozen_gaming(
    scenario: str,
    *,
    citizens: int,
    seed: int,
    days: int = 120,
    propensity: float = 0.6,
    audit_rate: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Last assessment scores when half the units close nominally and learning is frozen.

    Half the units (drawn with ``seed``) get a nominal-closure propensity of ``propensity``, the
    rest 0, and no other gaming; exploration, imitation, reinforcement and the threshold effect are
    switched off so
    practices stay put. After ``days`` the last assessment's scores are returned.

    Args:
        scenario: A packaged scenario name or path.
        citizens: Population size (workload on the same staff).
        seed: Seed of the run and of the choice of gaming units.
        days: Days to simulate (several assessment periods).
        propensity: Nominal-closure propensity of the gaming units.
        audit_rate: Override of ``closed_loop.audit_rate`` (default: the scenario's).

    Returns:
        (score per unit, gaming mask per unit, unit kind per unit).
    """
    own = resolve_scenario(scenario)
    overrides = {
        "population.citizens": citizens,
        # the scenario's own city and staff, whatever the population (a density grows them)
        "density.max_citizens": built_for(own),
        "assessment.learning.exploration": 0.0,
        "assessment.learning.imitation_step": 0.0,
        "assessment.learning.reinforcement_rate": 0.0,
        "gaming.threshold_boost": 0.0,
    }
    if audit_rate is not None:
        overrides["closed_loop.audit_rate"] = audit_rate
    m = GovernanceModel(scenario=scenario, rng=seed, overrides=overrides)
    gaming = np.random.default_rng(seed).random(m.city.n_units) < 0.5
    m.officials.practices[:] = 0.0
    m.officials.practices[gaming, NOMINAL_CLOSURE] = propensity
    m.officials.acting[:] = m.officials.practices
    for _ in range(days):
        m.step()
    return m.officials.last_assessment.score.copy(), gaming, m.city.unit_kind.copy()


def gaming_score_gain(
    scenario: str,
    *,
    citizens: int,
    seed: int,
    audit_rate: float | None = None,
    kinds: Sequence[int] | None = None,
    **kwargs,
) -> float:
    """Mean score of gaming units minus honest units (see :func:`scores_with_frozen_gaming`).

    Args:
        scenario, citizens, seed, audit_rate: As for :func:`scores_with_frozen_gaming`.
        kinds: Unit kinds to compare (govsim.city constants); default all.
        **kwargs: ``days`` and ``propensity``.

    Returns:
        The score gain of gaming (negative: gaming is punished).
    """
    score, gaming, kind = scores_with_frozen_gaming(
        scenario, citizens=citizens, seed=seed, audit_rate=audit_rate, **kwargs
    )
    sel = np.ones(len(score), bool) if kinds is None else np.isin(kind, kinds)
    return float(score[sel & gaming].mean() - score[sel & ~gaming].mean())
