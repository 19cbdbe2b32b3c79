"""Problem categories (诉求类别) as arrays: one entry per category, in the scenario's order.

Citizens meet problems at the categories' rates, weigh their severity when deciding to voice them,
intake answers consultations and files the rest with their owners and deadlines, and units spend the
categories' effort on them. Every rule reads the same arrays, built once per run from the scenario's
``categories`` section.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from govsim.schema import Scenario


@dataclass(frozen=True)
class Categories:
    """The problem categories of a scenario, column by column.

    Attributes:
        names: Category names, in scenario order (the index is the ``category`` code of a case).
        rate: Problems per citizen-day.
        old_rate_multiplier: Multiplier of ``rate`` for citizens aged 60 and over.
        consultation: Whether the category is a consultation (answered at intake, 接诉即答).
        severity: How much a problem of the category matters to the citizen, in [0,1].
        effort_hours: Mean staff-hours per owner to solve one.
        offline_suited: Whether it is a matter best handled in person (disputes, elderly care).
        unsolvable_share: Share of its problems that cannot be truly solved at all.
        deadline_days: Feedback deadline of its urgency class, in days.
        worsening_per_day: How fast a waiting problem of the category worsens (per day).
        incidents_per_year: City-wide incidents per year that raise its rate for a while.
        incident_size: Extra rate an incident adds at its start (multiple of ``rate``).
        incident_days: Time constant of an incident's fading, in days.
        owners: Owner names of each category (``community``, ``street`` or a department).
    """

    names: list[str]
    rate: np.ndarray
    old_rate_multiplier: np.ndarray
    consultation: np.ndarray
    severity: np.ndarray
    effort_hours: np.ndarray
    offline_suited: np.ndarray
    unsolvable_share: np.ndarray
    deadline_days: np.ndarray
    owners: list[list[str]]
    worsening_per_day: np.ndarray
    incidents_per_year: np.ndarray
    incident_size: np.ndarray
    incident_days: np.ndarray

    @classmethod
    def from_scenario(cls, s: Scenario) -> Categories:
        """The categories of scenario ``s`` (deadlines from ``closed_loop.deadline_hours``)."""
        cats = list(s.categories.values())
        return cls(
            names=list(s.categories),
            rate=np.array([c.rate for c in cats]),
            old_rate_multiplier=np.array([c.old_rate_multiplier for c in cats]),
            consultation=np.array([c.consultation for c in cats]),
            severity=np.array([c.severity for c in cats]),
            effort_hours=np.array([c.effort_hours for c in cats]),
            offline_suited=np.array([c.offline_suited for c in cats]),
            unsolvable_share=np.array([c.unsolvable_share for c in cats]),
            deadline_days=np.array([s.closed_loop.deadline_hours[c.urgency] / 24.0 for c in cats]),
            owners=[list(c.owners) for c in cats],
            worsening_per_day=np.array([c.worsening_per_day for c in cats]),
            incidents_per_year=np.array([c.incidents_per_year for c in cats]),
            incident_size=np.array([c.incident_size for c in cats]),
            incident_days=np.array([c.incident_days for c in cats]),
        )

    def __len__(self) -> int:
        return len(self.names)
