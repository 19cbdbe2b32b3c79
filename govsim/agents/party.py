"""Party organisations (街道党工委, 社区党支部): summoning departments and mobilising volunteers.

A street party working committee may summon departments (吹哨报到) when the scenario switches
summoning on: each day it picks, up to its coordination capacity ``summons_per_street_day``, the
open cases of its territory that are multi-department or have been open longer than
``summon_after_days`` (oldest first), and summons their owners, who must respond within
``summon_response_hours``. Community party branches supply the volunteers counted by
``channels.volunteers_per_community`` for assisted reporting.
"""

from __future__ import annotations

import mesa
import numpy as np

from govsim.cases import IS_FINISHED


class PartyOrganisation(mesa.Agent):
    """A street party working committee or a community party branch.

    Attributes:
        level: ``street`` or ``community``.
        area: Index of the street or community it leads.
    """

    def __init__(self, model: mesa.Model, level: str, area: int) -> None:
        """Create the organisation for street or community ``area``."""
        super().__init__(model)
        self.level = level
        self.area = area
        self.summons = 0


def summon_stalled_cases(model, t: float) -> int:
    """吹哨报到 for every street at time ``t``: returns how many cases were summoned."""
    d = model.config.dispatch
    if not d.summoning or d.summons_per_street_day <= 0:
        return 0
    store, eng = model.cases, model.engine
    lo = store.first_created_at_or_after(t - 60.0)
    hi = store.n
    if hi <= lo:
        return 0
    idx = np.arange(lo, hi)
    st = store.state[lo:hi]
    open_ = ~IS_FINISHED[st] & ~store.consultation[lo:hi] & ~store.summoned[lo:hi]
    age = t - store.t_created[lo:hi]
    # only cases already filed by time t (today's later filings wait for tomorrow's summons)
    eligible = open_ & (age >= 0) & ((store.owner_units[lo:hi] > 1) | (age > d.summon_after_days))
    cand = idx[eligible]
    if len(cand) == 0:
        return 0
    streets = eng.case_street[cand]
    cap = model.rng.poisson(d.summons_per_street_day, size=model.city.n_streets)
    order = np.lexsort((store.t_created[cand], streets))
    cand, streets = cand[order], streets[order]
    first = np.searchsorted(streets, streets, side="left")
    rank = np.arange(len(cand)) - first
    chosen = cand[rank < cap[streets]]
    response = d.summon_response_hours / 24.0
    for c in chosen.tolist():
        eng.summon(t, c, response)
    for org in model.street_party:
        org.summons += int(np.sum(streets[rank < cap[streets]] == org.area))
    return len(chosen)
