"""Supervision (督-评): the callback to the citizen after a closure, where ratings can be pressed.

When ``closed_loop.callback`` is on, every closed case that was not withdrawn is rated at a
callback (回访). Pressing is conditional (Hood 2006: gaming where it pays): the unit that led the
case presses the citizen for a good rating, with its ``satisfaction_pressure`` propensity, only on
callbacks it expects to be negative, those of cases it knows were not solved or were late; a
pressed citizen who is not truly satisfied reports satisfaction anyway with probability
``gaming.pressure_effect``. Audits, escalation and reopening,
the other parts of the closed loop, run inside the case engine (:mod:`govsim.platform.engine`).
"""

from __future__ import annotations

import numpy as np

from govsim.cases import WITHDRAWN, CaseStore
from govsim.schema import SATISFACTION_PRESSURE


def call_back(
    cases: CaseStore,
    closed: np.ndarray,
    truly_satisfied: np.ndarray,
    practices: np.ndarray,
    pressure_effect: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Rate today's closed cases at callback; records ``rated``, ``reported_satisfied``, ``pressed``.

    Args:
        cases: The case store.
        closed: Today's closed cases.
        truly_satisfied: Whether each closed case's citizen is truly satisfied.
        practices: The units' practice propensities (one row per unit).
        pressure_effect: Chance that pressing turns a dissatisfied citizen's rating.
        rng: The citizens' stream (the rating is the citizen's answer).

    Returns:
        Whether each closed case's citizen was pressed.
    """
    rated = cases.state[closed] != WITHDRAWN
    likely_negative = ~cases.solved[closed] | (cases.t_closed[closed] > cases.deadline[closed])
    pressing = np.where(likely_negative, practices[cases.unit[closed], SATISFACTION_PRESSURE], 0.0)
    pressed = rated & (rng.random(len(closed)) < pressing)
    turned = pressed & ~truly_satisfied & (rng.random(len(closed)) < pressure_effect)
    cases.rated[closed] = rated
    cases.reported_satisfied[closed] = rated & (truly_satisfied | turned)
    cases.pressed[closed] = pressed
    return pressed
