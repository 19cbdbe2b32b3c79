"""The case store: every case's real state kept apart from what the platform records.

A *case* is a problem that reached the platform (by any channel, or by patrol discovery). The store is
columnar: one NumPy array per attribute, grown by doubling, cases appended in creation order (so the
cases created in a time window are a contiguous slice). Each case is in exactly one *recorded* state
at any time (:data:`STATE_NAMES`); its *real* state (``solved``, ``t_solved``) is what actually
happened to the problem. The gap between the two is what "digital suspension" (数字悬浮) measures.

Transition times are kept per case (``t_created``, ``t_dispatched``, ``t_owner``, ``t_started``,
``t_closed``, ``t_solved``), as are its channel, whether its citizen gave up waiting (``abandoned``), its owners and every unit it passed through
(``path``; a dict of lists, only for cases that were handed off).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACCEPTED, DISPATCHED, RETURNED, IN_PROGRESS, CLOSED, REOPENED, VERIFIED, WITHDRAWN = range(8)
STATE_NAMES: tuple[str, ...] = (
    "accepted",
    "dispatched",
    "returned",
    "in_progress",
    "closed",
    "reopened",
    "verified",
    "withdrawn",
)
"""Recorded platform states (受理, 派单, 退单, 办理中, 办结, 重办, 核实, 撤单)."""

CLOSED_STATES = (CLOSED, VERIFIED, WITHDRAWN)
"""States in which the platform counts a case as finished."""
IS_FINISHED = np.isin(np.arange(len(STATE_NAMES)), CLOSED_STATES)
"""``IS_FINISHED[state]``: whether ``state`` is one of :data:`CLOSED_STATES` (a lookup table: no sort
or set operation for the handful of states a wave holds)."""

CHANNELS: tuple[str, ...] = ("app", "hotline", "offline", "assisted", "patrol")
"""Intake channels, in the order of the ``channel`` codes."""
APP, HOTLINE, OFFLINE, ASSISTED, PATROL = range(5)

NAN = np.nan

_FLOAT_COLS = (
    "t_created",
    "t_dispatched",
    "t_owner",
    "t_started",
    "t_closed",
    "t_solved",
    "deadline",
    "t_audit",
)
_INT_COLS = (
    ("citizen", np.int64, -1),
    ("category", np.int16, -1),
    ("channel", np.int8, -1),
    ("state", np.int8, ACCEPTED),
    ("unit", np.int32, -1),
    ("owner_units", np.int8, 0),
    ("parts_left", np.int8, 0),
    ("handoffs", np.int16, 0),
    ("returns", np.int16, 0),
    ("reopens", np.int16, 0),
    ("quartile", np.int8, -1),
    ("age_group", np.int8, -1),
    ("community", np.int32, -1),
    ("ses_code", np.int8, 16),
    ("repeat_of", np.int64, -1),
    ("problem", np.int64, -1),
    ("times_filed", np.int16, 1),
)
_BOOL_COLS = (
    "consultation",
    "solved",
    "nominal",
    "rated",
    "reported_satisfied",
    "true_satisfied",
    "audited",
    "caught",
    "summoned",
    "pressed",
    "forced_online",
    "problem_solved",
    "solvable",
    "abandoned",
)


@dataclass
class CaseView:
    """Read-only slices of the store's columns (a window of cases), for metric functions."""

    t_created: np.ndarray
    t_owner: np.ndarray
    t_started: np.ndarray
    t_closed: np.ndarray
    t_solved: np.ndarray
    deadline: np.ndarray
    state: np.ndarray
    channel: np.ndarray
    consultation: np.ndarray
    solved: np.ndarray
    owner_units: np.ndarray
    handoffs: np.ndarray
    rated: np.ndarray
    reported_satisfied: np.ndarray
    true_satisfied: np.ndarray
    repeat_of: np.ndarray
    quartile: np.ndarray
    age_group: np.ndarray
    unit: np.ndarray
    audited: np.ndarray
    caught: np.ndarray
    nominal: np.ndarray
    pressed: np.ndarray | None = None
    solvable: np.ndarray | None = None
    problem_solved: np.ndarray | None = None
    """For an original case (not a repeat complaint): its problem was solved by it or by one of its
    repeat complaints. Counts solutions once per problem, in the window the problem arose."""
    citizen: np.ndarray | None = None
    """Who filed each case (-1 for none)."""
    abandoned: np.ndarray | None = None
    """The citizen gave up on the case while it was still open (:mod:`govsim.agents.patience`)."""
    community: np.ndarray | None = None
    """The filer's home community (-1 for none)."""
    ses_code: np.ndarray | None = None
    """The filer's ``4 * schooling quartile + income quartile`` (16 for none)."""


class CaseStore:
    """Columnar store of cases with conserved recorded states.

    Attributes:
        n: Number of cases created so far.
        state_counts: Number of cases in each recorded state (always sums to ``n``).
        path: Units each handed-off case passed through, ``{case_id: [unit, ...]}``.
    """

    def __init__(self, capacity: int = 1024) -> None:
        """Create an empty store with room for ``capacity`` cases (it grows as needed)."""
        self.n = 0
        self._cap = max(16, int(capacity))
        for name in _FLOAT_COLS:
            setattr(self, name, np.full(self._cap, NAN))
        for name, dtype, fill in _INT_COLS:
            setattr(self, name, np.full(self._cap, fill, dtype=dtype))
        for name in _BOOL_COLS:
            setattr(self, name, np.zeros(self._cap, dtype=bool))
        self.state_counts = np.zeros(len(STATE_NAMES), dtype=np.int64)
        self._path_log: list[tuple[np.ndarray, np.ndarray]] = []
        self._filers_recorded = True
        """Whether every case was added with its filer's community and socioeconomic code (a
        store filled by hand may not be: then views leave those columns out)."""

    @classmethod
    def for_year(cls, cases_per_day: float, days: int) -> CaseStore:
        """A store with room for a year's cases at ``cases_per_day`` (or the run's, if shorter).

        It doubles when a run needs more; preallocating far more costs memory and time (at 1M
        citizens 0.01 per citizen-day took 2 s and about 1 GB).
        """
        return cls(capacity=max(1024, int(1.1 * cases_per_day * min(days, 365))))

    def _grow(self, need: int) -> None:
        new_cap = self._cap
        while new_cap < need:
            new_cap *= 2
        if new_cap == self._cap:
            return
        for name in _FLOAT_COLS:
            old = getattr(self, name)
            arr = np.full(new_cap, NAN)
            arr[: self.n] = old[: self.n]
            setattr(self, name, arr)
        for name, dtype, fill in _INT_COLS:
            old = getattr(self, name)
            arr = np.full(new_cap, fill, dtype=dtype)
            arr[: self.n] = old[: self.n]
            setattr(self, name, arr)
        for name in _BOOL_COLS:
            old = getattr(self, name)
            arr = np.zeros(new_cap, dtype=bool)
            arr[: self.n] = old[: self.n]
            setattr(self, name, arr)
        self._cap = new_cap

    def add(
        self,
        *,
        t_created: np.ndarray,
        citizen: np.ndarray,
        category: np.ndarray,
        channel: np.ndarray,
        consultation: np.ndarray,
        deadline: np.ndarray,
        owner_units: np.ndarray,
        quartile: np.ndarray,
        age_group: np.ndarray,
        repeat_of: np.ndarray | None = None,
        community: np.ndarray | None = None,
        ses_code: np.ndarray | None = None,
    ) -> np.ndarray:
        """Append a batch of new cases in state ``accepted``; returns their ids.

        The filer's literacy quartile, age group, home community and socioeconomic code are
        recorded with the case (the metrics count cases by them without looking up citizens).
        """
        k = len(t_created)
        self._grow(self.n + k)
        ids = np.arange(self.n, self.n + k)
        sl = slice(self.n, self.n + k)
        self.t_created[sl] = t_created
        self.citizen[sl] = citizen
        self.category[sl] = category
        self.channel[sl] = channel
        self.consultation[sl] = consultation
        self.deadline[sl] = deadline
        self.owner_units[sl] = owner_units
        self.parts_left[sl] = owner_units
        self.quartile[sl] = quartile
        self.age_group[sl] = age_group
        if community is None or ses_code is None:
            self._filers_recorded = False
        else:
            self.community[sl] = community
            self.ses_code[sl] = ses_code
        self.state[sl] = ACCEPTED
        self.solvable[sl] = True  # until intake draws otherwise (consultations always are)
        self.problem[sl] = ids
        if repeat_of is not None:
            self.repeat_of[sl] = repeat_of
            rep = repeat_of >= 0
            self.problem[sl][rep] = self.problem[repeat_of[rep]]
            self.times_filed[sl][rep] = self.times_filed[repeat_of[rep]] + 1
        self.n += k
        self.state_counts[ACCEPTED] += k
        return ids

    def mark_solved_many(self, cases: np.ndarray) -> None:
        """Record that each of ``cases`` really solved its problem (once per problem, see
        ``problem``)."""
        self.solved[cases] = True
        self.problem_solved[self.problem[cases]] = True

    def set_state(self, case: int, new_state: int) -> None:
        """Move one case to ``new_state`` (conservation: counts move with it)."""
        old = self.state[case]
        if old == new_state:
            return
        self.state_counts[old] -= 1
        self.state_counts[new_state] += 1
        self.state[case] = new_state

    def set_states(self, cases: np.ndarray, new_state: int) -> None:
        """Vectorised :meth:`set_state` for distinct case ids."""
        if len(cases) == 0:
            return
        old = self.state[cases]
        self.state_counts -= np.bincount(old, minlength=len(self.state_counts))
        self.state_counts[new_state] += len(cases)
        self.state[cases] = new_state

    def note_path(self, case: int, unit: int) -> None:
        """Record that ``case`` passed through ``unit`` (a hand-off)."""
        self.note_paths(np.array([case]), np.array([unit]))

    def note_paths(self, cases: np.ndarray, units: np.ndarray) -> None:
        """Record that each of ``cases`` passed through the matching unit of ``units``."""
        if len(cases):
            self._path_log.append((np.asarray(cases, np.int64), np.asarray(units, np.int64)))

    @property
    def path(self) -> dict[int, list[int]]:
        """Units each handed-off case passed through, in order: ``{case_id: [unit, ...]}``."""
        if not self._path_log:
            return {}
        cases = np.concatenate([c for c, _ in self._path_log])
        units = np.concatenate([u for _, u in self._path_log])
        out: dict[int, list[int]] = {}
        for c, u in zip(cases.tolist(), units.tolist(), strict=True):
            out.setdefault(c, []).append(u)
        return out

    def view(self, start: int = 0, stop: int | None = None) -> CaseView:
        """Slices of the columns for cases ``start:stop`` (creation order)."""
        stop = self.n if stop is None else stop
        sl = slice(start, stop)
        columns = {f: getattr(self, f)[sl] for f in CaseView.__dataclass_fields__}
        if not self._filers_recorded:
            columns["community"] = columns["ses_code"] = None
        return CaseView(**columns)

    def first_created_at_or_after(self, t: float) -> int:
        """Index of the first case created at or after time ``t`` (cases are in creation order)."""
        return int(np.searchsorted(self.t_created[: self.n], t, side="left"))

    def is_open(self) -> np.ndarray:
        """Boolean mask over all cases: recorded as not finished."""
        return ~IS_FINISHED[self.state[: self.n]]
