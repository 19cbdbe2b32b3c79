"""Intake (接): the hotline's call centre, and filing of what reaches the platform.

The hotline is evaluated each day as an Erlang-A queue (M/M/c+M) in steady state for that day's
offered load: ``c`` operators on duty, each answering ``calls_per_operator`` calls a day, a 24-hour
service day, and callers who hang up when their patience (exponential, mean
``hotline_patience_minutes``) runs out before an operator answers. The birth-death chain of calls in
the centre is solved numerically (truncated far in the tail); from it come the probability of
waiting, the abandonment probability ``gamma E[queue] / lambda``, the mean wait ``E[queue] / lambda``
(Little's law), and the share answered within the standard (15 s in Beijing), approximating the
conditional wait by an exponential with the same mean. Without impatience this is exactly Erlang C.
The expected wait is what citizens weigh when choosing a channel the next day.

**Filing** (:class:`CaseIntake`): the day's contacts (new problems that reached the platform, and
repeat complaints) become cases in time order. Consultations are answered at intake (接诉即答) and
closed as solved. Every other case is classified to its owners (the community, the street, or the
department copy serving the citizen's district); with probability
``(1 - classification_accuracy) * UNOWNED_SHARE_OF_MISCLASSIFIED`` it is misclassified with no clear
owner. Whether the problem can be truly solved at all is drawn here (``unsolvable_share``), and
offline-suited matters forced online add data entries at their first owner.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from govsim.cases import CLOSED, CaseStore
from govsim.categories import Categories
from govsim.city import City
from govsim.schema import Scenario

if TYPE_CHECKING:
    from govsim.agents.citizen import Citizens
    from govsim.platform.engine import CaseEngine

MINUTES_PER_DAY = 24 * 60.0
UNOWNED_SHARE_OF_MISCLASSIFIED = 0.2
"""Of misclassified cases, the share that end up with no clear owner at all. Assumption."""


@dataclass(frozen=True)
class HotlineDay:
    """The call centre's performance on one day."""

    calls: int
    answered_within_standard: float
    abandon_probability: float
    expected_wait_minutes: float


def erlang_a(
    arrival_rate: float, service_rate: float, servers: int, abandon_rate: float
) -> tuple[float, float, float]:
    """Steady state of an M/M/c+M queue.

    Args:
        arrival_rate: lambda (calls per time unit).
        service_rate: mu per server.
        servers: c.
        abandon_rate: gamma = 1 / mean patience (0 for Erlang C; then lambda < c mu is required).

    Returns:
        (P(wait > 0), P(abandon), mean wait in queue over all arrivals), in the rates' time unit.
    """
    lam, mu, c, gam = float(arrival_rate), float(service_rate), int(servers), float(abandon_rate)
    tail = 60 + int(20 * lam / gam) if gam > 0 else 60 + int(40 * c * mu / max(c * mu - lam, 1e-9))
    n_max = c + min(tail, 2_000_000)
    n = np.arange(1, n_max + 1, dtype=float)
    death = np.minimum(n, c) * mu + np.maximum(n - c, 0.0) * gam
    logp = np.concatenate([[0.0], np.cumsum(math.log(lam) - np.log(death))])
    p = np.exp(logp - logp.max())
    p /= p.sum()
    q = np.maximum(np.arange(n_max + 1) - c, 0)
    p_wait = float(p[c:].sum())
    mean_q = float((q * p).sum())
    return p_wait, (gam * mean_q / lam if gam > 0 else 0.0), mean_q / lam


@functools.lru_cache(maxsize=4096)
def hotline_day(
    calls: int,
    operators: int,
    calls_per_operator: float,
    standard_s: float,
    patience_minutes: float,
) -> HotlineDay:
    """Evaluate one day of the hotline for ``calls`` offered calls (see the module docstring).

    Args:
        calls: Calls offered today.
        operators: Operators on duty (servers c).
        calls_per_operator: Calls one operator can answer per day (service rate mu per day).
        standard_s: Answer-time standard in seconds.
        patience_minutes: Mean patience of a waiting caller.

    Returns:
        The day's answered-within-standard share, abandonment probability and expected wait.
        Remembered per arguments (a pure function of them; a run meets the same day's call count
        again and again, and solving the chain is about a tenth of a small run's intake).
    """
    if calls <= 0 or operators <= 0:
        return HotlineDay(
            int(calls), 1.0 if operators > 0 else 0.0, 0.0 if operators > 0 else 1.0, 0.0
        )
    gamma = MINUTES_PER_DAY / patience_minutes  # per day
    p_wait, abandon, mean_wait = erlang_a(
        float(calls), float(calls_per_operator), int(operators), gamma
    )
    t_std = standard_s / 86400.0
    within = 1.0 - p_wait * math.exp(-t_std * p_wait / mean_wait) if mean_wait > 0 else 1.0
    return HotlineDay(int(calls), within, abandon, mean_wait * MINUTES_PER_DAY)


@dataclass(frozen=True)
class Contacts:
    """Contacts that reached the platform today: one entry each, in any order.

    Attributes:
        citizen: Who filed it.
        category: Its problem category.
        t: When (days).
        channel: Intake channel code (:data:`govsim.cases.CHANNELS`).
        repeat_of: The earlier case it repeats, or -1 for a first complaint.
    """

    citizen: np.ndarray
    category: np.ndarray
    t: np.ndarray
    channel: np.ndarray
    repeat_of: np.ndarray

    def __len__(self) -> int:
        return len(self.citizen)

    def __add__(self, other: Contacts) -> Contacts:
        """These contacts followed by ``other``'s."""
        if len(other) == 0:
            return self
        return Contacts(
            *(
                np.concatenate([getattr(self, f), getattr(other, f)])
                for f in ("citizen", "category", "t", "channel", "repeat_of")
            )
        )


class CaseIntake:
    """Files contacts as cases and hands them to dispatch (see the module docstring).

    Args:
        scenario: The validated scenario.
        city: The city's structure.
        categories: The problem categories.
        cases: The case store.
        rng: The engine's stream (solvability and misclassification are drawn from it).
    """

    def __init__(
        self,
        scenario: Scenario,
        city: City,
        categories: Categories,
        cases: CaseStore,
        rng: np.random.Generator,
    ) -> None:
        self.config = scenario
        self.city = city
        self.categories = categories
        self.cases = cases
        self.rng = rng
        self.owner_table, self.owners_per_category = self._owner_table()

    def _owner_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Owner units of every (category, community), -1 padded, and owners per category."""
        city, owners_of = self.city, self.categories.owners
        n_own = np.array([len(o) for o in owners_of], dtype=np.int8)
        table = np.full((len(owners_of), city.n_communities, max(1, n_own.max())), -1)
        for k, owners in enumerate(owners_of):
            for community in range(city.n_communities):
                street = int(city.community_street[community])
                district = int(city.street_district[street])
                for j, owner in enumerate(owners):
                    if owner == "community":
                        table[k, community, j] = community
                    elif owner == "street":
                        table[k, community, j] = city.street_unit(street)
                    else:
                        dept = city.dept_names.index(owner)
                        table[k, community, j] = city.dept_unit[dept, district]
        return table, n_own

    def file(self, contacts: Contacts, citizens: Citizens, engine: CaseEngine) -> np.ndarray:
        """Add today's contacts as cases in time order, answer consultations, dispatch the rest.

        Args:
            contacts: Today's contacts.
            citizens: Every citizen's home community, literacy quartile and age group (recorded
                with each case).
            engine: The case engine that dispatches.

        Returns:
            The first owner unit of each offline-suited case forced online (one entry per case).
        """
        none = np.zeros(0, dtype=np.int64)
        if len(contacts) == 0:
            return none
        s, st, cats = self.config, self.cases, self.categories
        order = np.argsort(contacts.t, kind="stable")
        who, cat, t = contacts.citizen[order], contacts.category[order], contacts.t[order]
        consult = cats.consultation[cat]
        ids = st.add(
            t_created=t,
            citizen=who,
            category=cat.astype(np.int16),
            channel=contacts.channel[order].astype(np.int8),
            consultation=consult,
            deadline=t + cats.deadline_days[cat],
            owner_units=self.owners_per_category[cat],
            quartile=citizens.quartile[who],
            age_group=citizens.age_group[who],
            repeat_of=contacts.repeat_of[order],
            community=citizens.community[who],
            ses_code=citizens.ses_code[who],
        )
        # consultations are answered at intake (接诉即答)
        answered = ids[consult]
        st.t_closed[answered] = t[consult]
        st.t_solved[answered] = t[consult]
        st.solved[answered] = True
        st.set_states(answered, CLOSED)
        # the rest enter dispatch
        rest = ~consult
        if not rest.any():
            return none
        ids, who, cat = ids[rest], who[rest], cat[rest]
        community = citizens.community[who]
        owners = self.owner_table[cat, community]  # (cases, owners), -1 padded
        solvable = self.rng.random(len(ids)) >= cats.unsolvable_share[cat]
        misclassified = 1 - s.dispatch.classification_accuracy
        unowned = self.rng.random(len(ids)) < misclassified * UNOWNED_SHARE_OF_MISCLASSIFIED
        forced = cats.offline_suited[cat] & s.boundary.force_online
        st.forced_online[ids] = forced
        engine.register(
            ids,
            owners,
            solvable,
            cats.offline_suited[cat],
            self.city.community_street[community],
            cats.effort_hours[cat],
            unowned,
        )
        return owners[forced, 0] if forced.any() else none
