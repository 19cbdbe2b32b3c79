"""Incidents (突发事件): city-wide events that raise a category's problem rate for a while.

Without them every problem arrives at a constant rate, so the hotline's daily volume is Poisson
noise around a flat mean and nothing can follow it. Real demand comes in waves: a rainstorm floods
streets and breaks facilities, a burst main cuts water to a district, the heating season starts
(供暖季) and heating complaints flood the hotline. Each category ``k`` has incidents arriving as a
Poisson process (``incidents_per_year``); each adds ``incident_size`` times the category's rate,
fading exponentially with time constant ``incident_days``:

    excess_k(t+1) = excess_k(t) * exp(-1 / incident_days) + incident_size * new incidents

The day's rate multiplier is ``(1 + excess_k) / (1 + mean excess_k)``, so the category's ``rate``
stays its long-run mean (the incidents move problems in time, they do not add to them). Which
categories have incidents, how often and how large are assumptions (docs/ODD.md 7.4).
"""

from __future__ import annotations

import numpy as np

from govsim.categories import Categories


class Incidents:
    """The incident process of every category (module docstring).

    Args:
        categories: The problem categories (their incident parameters).

    Attributes:
        excess: Each category's current extra rate, as a multiple of its rate.
        active: Whether any category has incidents (none: :meth:`multiplier` draws nothing).
    """

    def __init__(self, categories: Categories) -> None:
        self.per_day = categories.incidents_per_year / 365.0
        self.size = categories.incident_size
        self.fade = np.exp(-1.0 / categories.incident_days)
        self.mean_excess = self.per_day * self.size / (1.0 - self.fade)
        self.excess = self.mean_excess.copy()  # start from the long-run mean
        self.active = bool((self.per_day * self.size > 0).any())

    def multiplier(self, rng: np.random.Generator) -> np.ndarray | None:
        """Today's rate multiplier per category (``None`` when no category has incidents).

        Args:
            rng: The citizens' stream (incidents are part of the day's problem draws).
        """
        if not self.active:
            return None
        self.excess = self.excess * self.fade + self.size * rng.poisson(self.per_day)
        return (1.0 + self.excess) / (1.0 + self.mean_excess)
