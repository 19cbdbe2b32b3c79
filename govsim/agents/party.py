"""Party organisations (街道党工委, 社区党支部): summoning departments and mobilising volunteers.

**Summoning (吹哨报到).** When the scenario switches summoning on, each street party working
committee summons departments every day: up to ``Poisson(summons_per_street_day)`` of the open cases
of its territory that are multi-department or have been open longer than ``summon_after_days``
(oldest first). The owners must respond within ``summon_response_hours``: a summoned case's pending
parts go straight to their owners and jump their queues (:meth:`CaseEngine.summon`), and the
streets assess how the departments responded (the reverse assessment in
:mod:`govsim.platform.assessment`). Only cases created within the last :data:`LOOKBACK_DAYS` are
considered.

**Volunteers.** Community party branches supply the volunteers counted by
``channels.volunteers_per_community`` for assisted reporting (see :mod:`govsim.agents.citizen`).
"""

from __future__ import annotations

import mesa
import numpy as np

from govsim.cases import IS_FINISHED, CaseStore
from govsim.platform.engine import CaseEngine
from govsim.schema import DispatchSpec

LOOKBACK_DAYS = 60.0
"""How far back (days of creation) a committee looks for stalled cases."""


class StreetCommittee(mesa.Agent):
    """A street party working committee (街道党工委), one per street.

    Attributes:
        street: Index of the street it leads.
        summons: Cases it has summoned departments for so far.
    """

    def __init__(self, model: mesa.Model, street: int) -> None:
        """Create the committee of ``street``."""
        super().__init__(model)
        self.street = street
        self.summons = 0


def stalled_cases(
    cases: CaseStore,
    case_street: np.ndarray,
    dispatch: DispatchSpec,
    t: float,
    n_streets: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The cases every street's committee summons for at time ``t`` (module docstring).

    Args:
        cases: The case store.
        case_street: The street of each case's territory.
        dispatch: The dispatch section (summoning's thresholds and capacity).
        t: Now (days).
        n_streets: Number of streets.
        rng: The stream the committees' daily capacities are drawn from.

    Returns:
        (chosen case ids, their streets).
    """
    none = np.zeros(0, dtype=np.int64)
    lo = cases.first_created_at_or_after(t - LOOKBACK_DAYS)
    hi = cases.n
    if hi <= lo:
        return none, none
    state = cases.state[lo:hi]
    open_ = ~IS_FINISHED[state] & ~cases.consultation[lo:hi] & ~cases.summoned[lo:hi]
    age = t - cases.t_created[lo:hi]
    # only cases already filed by time t (today's later filings wait for tomorrow's summons)
    multi = cases.owner_units[lo:hi] > 1
    eligible = open_ & (age >= 0) & (multi | (age > dispatch.summon_after_days))
    candidates = np.arange(lo, hi)[eligible]
    if len(candidates) == 0:
        return none, none
    streets = case_street[candidates]
    capacity = rng.poisson(dispatch.summons_per_street_day, size=n_streets)
    order = np.lexsort((cases.t_created[candidates], streets))
    candidates, streets = candidates[order], streets[order]
    rank = np.arange(len(candidates)) - np.searchsorted(streets, streets, side="left")
    chosen = rank < capacity[streets]
    return candidates[chosen], streets[chosen]


def summon_departments(
    committees: list[StreetCommittee],
    cases: CaseStore,
    engine: CaseEngine,
    dispatch: DispatchSpec,
    t: float,
    rng: np.random.Generator,
) -> int:
    """吹哨报到 for every street at time ``t``; returns how many cases were summoned."""
    if dispatch.summons_per_street_day <= 0:
        return 0
    chosen, streets = stalled_cases(cases, engine.case_street, dispatch, t, len(committees), rng)
    response_days = dispatch.summon_response_hours / 24.0
    for case in chosen.tolist():
        engine.summon(t, case, response_days)
    for street, n in enumerate(np.bincount(streets, minlength=len(committees)).tolist()):
        committees[street].summons += n
    return len(chosen)
