"""Service capability (业务能力) per unit and category: a learning curve with forgetting.

Whether work on a solvable problem really solves it depends on how capable the unit doing it is in
that category. Capability is a function of the unit's *effective experience* ``E`` in the category
(a learning curve, Argote and Epple 1990):

    capability = floor + (1 - floor) * E / (E + half_experience)

Own experience ``X`` (cases) moves once a day (:meth:`ServiceCapability.update`):

    X <- X * (1 - forgetting - overload_forgetting * max(workload - 1, 0) - turnover / 365)
         + practice * cases worked on today

(learning by doing; organisational forgetting, Argote, Beckman and Epple 1990; faster when the
unit is overloaded; staff who leave take their share of it). A unit also draws on the experience
of its peers, the units that handle the same category elsewhere (the same department in the other
districts, the other communities, the other streets) as far as data are shared and work is
coordinated (knowledge transfer across units, Darr, Argote and Epple 1995):

    E = X + (transfer * data_sharing + coordination_transfer * mechanisms) * mean peer X

where ``mechanisms`` counts the coordination mechanisms in force (unified dispatch 一网统管,
summoning 吹哨报到). Everything is an array over (unit, category); nothing loops over cases.
"""

from __future__ import annotations

import numpy as np

from govsim.city import DEPARTMENT, City
from govsim.schema import Scenario


class ServiceCapability:
    """Every unit's capability in every category (see the module docstring).

    Args:
        scenario: The validated scenario (``capability`` and ``dispatch`` sections).
        city: The city's units.
        n_categories: Number of problem categories.

    Attributes:
        level: Capability in [0,1], shape (units, categories); the case engine reads it in place.
        experience: Own experience ``X`` in cases, same shape.
        worked: Cases each unit has worked on in each category so far (the weights of the mean).
    """

    def __init__(self, scenario: Scenario, city: City, n_categories: int) -> None:
        c = scenario.capability
        self.enabled = c.enabled
        shape = (city.n_units, n_categories)
        self._take_rates(scenario)
        # peers: the copies of one department, the communities, the streets, the backstops
        kind = city.unit_kind
        group = np.where(kind == DEPARTMENT, 4 + city.unit_dept, kind)
        _, self._group = np.unique(group, return_inverse=True)
        self._by_group = np.argsort(self._group, kind="stable")
        """Units ordered by peer group (a group's units in a row, each group in unit order)."""
        sizes = np.bincount(self._group)
        self._group_starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self._group_size = sizes.astype(float)[:, None]
        # start every unit at `initial`: the effective experience that gives it, shared out
        k0 = c.initial
        e0 = c.half_experience * (k0 - c.floor) / (1.0 - k0) if k0 > c.floor else 0.0
        self.experience = np.full(shape, e0 / (1.0 + self.share))
        self.worked = np.zeros(shape)
        self._worked_total = 0.0
        self.level = np.ones(shape)
        if self.enabled:
            self.level[:] = self._curve(self.experience)

    def _take_rates(self, scenario: Scenario) -> None:
        """Read the learning rates and the sharing mechanisms (data sharing, unified dispatch,
        summoning) of the scenario in force."""
        c, d = scenario.capability, scenario.dispatch
        self.spec = c
        self.learning = self.enabled and c.learning
        mechanisms = int(d.mode == "unified") + int(d.summoning)
        self.share = c.transfer * d.data_sharing + c.coordination_transfer * mechanisms
        """Weight of the peers' mean experience in a unit's effective experience."""
        self._keep = 1.0 - c.forgetting_per_day - c.turnover_per_year / 365.0
        """Share of experience kept per day without overload."""

    def reconfigure(self, scenario: Scenario) -> None:
        """Take up a scenario changed mid-run (:mod:`govsim.timeline`): a reform that shares data
        or coordinates units (dispatch.data_sharing, dispatch.mode, dispatch.summoning) changes
        the effective experience, and so the capability, from that day on; new learning rates
        apply to the days that follow. The units' own experience stays what it is."""
        self._take_rates(scenario)
        if self.enabled:
            self.level[:] = self._curve(self.experience)

    def peer_mean(self, own: np.ndarray) -> np.ndarray:
        """Each unit's peers' mean of ``own`` (units x categories; the unit among its peers).

        Summed group by group in unit order (no BLAS: a dense peers x units product cost
        units² memory and time, ran on BLAS threads, and its rounding depended on the BLAS build).
        """
        sums = np.add.reduceat(own[self._by_group], self._group_starts, axis=0)
        return (sums / self._group_size)[self._group]

    def _curve(self, own: np.ndarray) -> np.ndarray:
        c = self.spec
        effective = own + self.share * self.peer_mean(own) if self.share > 0 else own
        return c.floor + (1.0 - c.floor) * effective / (effective + c.half_experience)

    def update(self, worked: np.ndarray, workload: np.ndarray) -> None:
        """A day's learning, forgetting and turnover (module docstring).

        Args:
            worked: Cases each unit worked on today in each category (units x categories).
            workload: Each unit's workload today (demanded over available hours).
        """
        self.worked += worked
        self._worked_total += worked.sum()
        if not self.learning:
            return
        c = self.spec
        keep = self._keep - c.overload_forgetting * np.maximum(workload - 1.0, 0.0)
        x = self.experience
        x *= np.maximum(keep, 0.0)[:, None]
        x += c.practice * worked
        self.level[:] = self._curve(x)

    def mean(self) -> float:
        """Capability a case meets on average: the mean weighted by the cases worked on so far
        (the plain mean before any)."""
        if self._worked_total <= 0:
            return float(self.level.mean())
        # a plain sum, not np.dot: from a few thousand units on OpenBLAS runs a dot product on
        # threads that then spin on the other cores (a 1M run used twice its wall time in CPU)
        return float((self.level * self.worked).sum() / self._worked_total)
