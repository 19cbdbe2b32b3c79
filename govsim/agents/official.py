"""Grassroots officials (网格员, 社区工作者, 街道干部) and department staff: their day and burnout.

Officials of a unit share one pool of platform working hours, ``officials * hours_per_day *
(1 - routine_share) * (1 - loss * burnout)`` (routine duties outside the platform take the rest). Each day the pool is split, in this order of precedence, among:

* **data work** on the platform (指尖上的形式主义): entry time per recorded transition, times the
  number of apps reported to; extra entries for offline-suited matters forced online; daily
  reporting per assessed indicator; check-ins and photos when traces are assessed or practised;
* **assisting** citizens offline (帮办代办): offline intakes and assisted filings;
* **pressure** work: pressed callbacks and persuading withdrawal;
* **deliberation** facilitation (communities);
* **patrol** (grid workers' share, 主动发现);
* **handling** cases: what is left (at least 10% of the pool).

When the fixed demands exceed 90% of the pool they are scaled down proportionally (the work is
done badly or late), so the parts always add up to the pool. Workload is the demanded hours plus
the queued case effort, over the pool; above 1 it accumulates burnout (``burnout_rate`` per unit of
overload per day), below it burnout recovers (``recovery_rate`` per day).
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

MIN_HANDLING_SHARE = 0.1
ASSIST_MINUTES = 20.0
OFFLINE_INTAKE_MINUTES = 10.0
TIME_USES = ("data", "assist", "pressure", "deliberation", "patrol", "handling")
"""The parts of an official's day, in order of precedence."""


@dataclass
class TimeBudget:
    """Hours per unit for one day, by use (each array has one entry per unit)."""

    pool: np.ndarray
    data: np.ndarray
    assist: np.ndarray
    pressure: np.ndarray
    deliberation: np.ndarray
    patrol: np.ndarray
    handling: np.ndarray
    workload: np.ndarray

    def total(self) -> np.ndarray:
        """Sum of all uses (equals ``pool``)."""
        return (
            self.data
            + self.assist
            + self.pressure
            + self.deliberation
            + self.patrol
            + self.handling
        )


def allocate_time(
    pool: np.ndarray,
    data: np.ndarray,
    assist: np.ndarray,
    pressure: np.ndarray,
    deliberation: np.ndarray,
    patrol: np.ndarray,
    queued_effort: np.ndarray,
) -> TimeBudget:
    """Split each unit's pool of hours among the day's uses (see the module docstring).

    Args:
        pool: Working hours available per unit.
        data, assist, pressure, deliberation, patrol: Hours demanded for each use.
        queued_effort: Staff-hours of case work waiting in the unit's queue.

    Returns:
        The day's budget; its parts add up to ``pool``.
    """
    fixed = data + assist + pressure + deliberation + patrol
    cap = (1.0 - MIN_HANDLING_SHARE) * pool
    scale = np.divide(cap, fixed, out=np.ones_like(pool), where=fixed > cap)
    scale = np.minimum(scale, 1.0)
    parts = [x * scale for x in (data, assist, pressure, deliberation, patrol)]
    handling = pool - sum(parts)
    demand = fixed + queued_effort
    workload = np.divide(demand, pool, out=np.zeros_like(pool), where=pool > 0)
    return TimeBudget(pool, *parts, handling=handling, workload=workload)


def update_burnout(
    burnout: np.ndarray, workload: np.ndarray, rate: float, recovery: float
) -> np.ndarray:
    """Burnout grows with overload (workload above 1) and recovers otherwise; stays in [0,1]."""
    over = np.clip(workload - 1.0, 0.0, 1.0)
    new = np.where(over > 0, burnout + rate * over, burnout - recovery)
    return np.clip(new, 0.0, 1.0)


class Official(mesa.Agent):
    """A grassroots official or department staff member: a view onto their unit's day.

    Attributes:
        unit: Index of the unit (community, street or department) they work in.
        role: ``grid_worker``, ``community_worker`` or ``street_official`` (department staff are
            counted in their department's pool, not as agents).
    """

    def __init__(self, model: mesa.Model, unit: int, role: str) -> None:
        """Create an official of ``unit`` with ``role``."""
        super().__init__(model)
        self.unit = unit
        self.role = role

    @property
    def burnout(self) -> float:
        """Burnout in [0,1] (shared by the unit's officials)."""
        return float(self.model.unit_burnout[self.unit])

    @property
    def time_shares(self) -> dict[str, float]:
        """Share of yesterday's working time spent on each use."""
        b = self.model.time_budget
        if b is None or b.pool[self.unit] <= 0:
            return dict.fromkeys(TIME_USES, 0.0)
        return {k: float(getattr(b, k)[self.unit] / b.pool[self.unit]) for k in TIME_USES}
