"""Functional departments (条): units that own case categories and serve them with their staff.

A department's day is that of every unit (:class:`govsim.agents.official.OfficialUnits`): its staff
report the assessed indicators and enter every recorded transition, then serve their queue with the
hours left; a wrong department returns a case (退单) or sits on it (:mod:`govsim.platform.engine`);
a vertically managed one (垂直管理) feels local assessment only in part.
"""

from __future__ import annotations

import mesa

from govsim.schema import PRACTICES


class Department(mesa.Agent):
    """One copy of a functional department (city-level, or one per district): a handle on its unit.

    Attributes:
        unit: Index of the department's unit in the city's unit space.
        name: Department name (e.g. ``urban_management``).
        vertical: Vertically managed (垂直管理): local assessment reaches it only partly.
    """

    def __init__(self, model: mesa.Model, unit: int, name: str, vertical: bool) -> None:
        """Create the department agent for ``unit``."""
        super().__init__(model)
        self.unit = unit
        self.name = name
        self.vertical = vertical

    @property
    def staff(self) -> int:
        """Staff serving the department's queue."""
        return int(self.model.officials.staff[self.unit])

    @property
    def queue_length(self) -> int:
        """Tasks waiting in the department's queue."""
        return int(self.model.engine.service.queue_length[self.unit])

    @property
    def practices(self) -> dict[str, float]:
        """The department's current gaming-practice propensities."""
        row = self.model.officials.practices[self.unit]
        return dict(zip(PRACTICES, row.tolist(), strict=True))
