"""Functional departments (条): units that own case categories and serve them with their staff."""

from __future__ import annotations

import mesa


class Department(mesa.Agent):
    """One copy of a functional department (city-level, or one per district).

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
    def queue_length(self) -> int:
        """Tasks waiting in the department's queue."""
        return int(self.model.engine.service.queue_length[self.unit])

    @property
    def practices(self) -> dict[str, float]:
        """The department's current gaming-practice propensities."""
        from govsim.schema import PRACTICES

        return dict(zip(PRACTICES, self.model.engine.practices[self.unit].tolist(), strict=True))
