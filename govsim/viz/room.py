"""The class plays the city: one shared city whose street and community units students hold.

A participatory mode like NetLogo's HubNet. The lecturer opens a :class:`Room` (one city of a
packaged scenario); students join it with the room's short code, each taking one street (街道) or
community (社区) office. A *round* is one assessment period (考核周期): before it, every student
decides the practices their unit acts on for the period (:data:`govsim.schema.PRACTICES`:
nominal closure 名义办结, pressing citizens for good ratings, persuading withdrawal 劝撤, extra
data work 留痕), seeing only what a real unit sees (its scores, its rank in its kind, the penalty
cut-off, its own day). Units no student holds follow the model's own learning rule
(:func:`govsim.platform.assessment.adapt_practices`). The round is played when every student has
submitted, or when the lecturer forces it; the lecturer sees the whole city (the ranking, recorded
against real performance, who gamed) and may switch the indicator regime between rounds.

The model is not changed by a room beyond two hooks of
:class:`govsim.agents.official.OfficialUnits`: :meth:`~govsim.agents.official.OfficialUnits.take_decisions`
(held units act on their students' practices) and
:meth:`~govsim.agents.official.OfficialUnits.switch_assessment` (the regime). A room without
students is the plain model run with the same seed.

**Security** (every client is treated as hostile; this module holds no Solara code):

* room codes: :data:`CODE_LENGTH` characters from :data:`CODE_ALPHABET` (31 symbols, no 0/O, 1/I/L),
  drawn with :mod:`secrets`: 31^8 = 8.5e11 codes, 39.6 bits. Wrong codes (and wrong rejoin
  tokens) are limited server-wide to :attr:`RoomLimits.failed_joins_per_minute` (60): in a
  two-hour lesson at most 7,200 guesses, which find one of :attr:`RoomLimits.max_rooms` (4) open
  rooms with probability below 4 x 7,200 / 8.5e11 = 3.4e-8;
* a student's seat is held by a secret token (``secrets.token_urlsafe``, 128 bits): only its
  holder can act for the unit or rejoin it after a dropped connection;
* every value from a client is checked here (unit ownership, the round number, each practice in
  [0, 1] and finite, names, codes); a refusal is a :class:`RoomError` whose message is for the
  client and never carries a path or a traceback;
* rooms, students and the cities' size are bounded (:class:`RoomLimits`), and rooms idle for
  :attr:`RoomLimits.idle_hours` are closed.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from govsim.city import COMMUNITY, STREET
from govsim.config import load_scenario, packaged_scenarios
from govsim.model import GovernanceModel
from govsim.platform.assessment import period_record
from govsim.schema import INDICATORS, PRACTICES

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""Symbols of a room code: digits and capitals without the ones read alike (0/O, 1/I/L)."""
CODE_LENGTH = 8
"""Symbols in a room code."""
CODE_BITS = CODE_LENGTH * math.log2(len(CODE_ALPHABET))
"""Entropy of a room code (39.6 bits)."""
TOKEN_BYTES = 16
"""Random bytes of a student's seat token (128 bits)."""
NAME_MAX = 40
"""Characters of a student's display name."""
REGIME_FIELDS = ("weights", "penalty_share", "penalty", "reward_share", "reward", "audit_penalty")
"""What an indicator regime is: the parts of ``assessment`` switched between rounds (the period,
the ratchet and the learning rule stay the room's)."""
ROOM_CITIZENS = 10_000
"""Citizens of a room's city by default: at 3,000 half the baseline's communities have no case in
a month, so their students would see no score; at 10,000 nearly all have some (measured)."""
KIND_NAMES = {COMMUNITY: "community", STREET: "street"}
"""Unit kinds a student may hold."""


ROOM_KEY_ENV = "GOVSIM_ROOM_KEY"
"""Environment variable with the lecturer's key (set by ``govsim demo --room`` in its process)."""
ROOM_CITIZENS_ENV = "GOVSIM_ROOM_CITIZENS"
"""Environment variable with the citizens of each room's city."""


class RoomError(ValueError):
    """A request refused: its message is shown to the client (no paths, no traceback)."""


@dataclass(frozen=True)
class RoomLimits:
    """The caps of a room server.

    Attributes:
        max_rooms: Rooms open at once.
        max_students: Students per room (also at most its street and community units).
        max_citizens: Citizens of a room's city.
        failed_joins_per_minute: Wrong room codes and rejoin tokens accepted per minute, all
            clients together (then every join waits for the minute to pass).
        idle_hours: A room nobody acted in for this long is closed when another is opened.
    """

    max_rooms: int = 4
    max_students: int = 60
    max_citizens: int = 20_000
    failed_joins_per_minute: int = 60
    idle_hours: float = 4.0


@dataclass
class Seat:
    """A student's hold on one unit.

    Attributes:
        token: The seat's secret (rejoin and act with it).
        name: The student's display name.
        unit: The unit held (index in the city's units).
        decided: The practices the unit acts on from the next round (one per practice).
        submitted_round: The last round the student submitted for (-1: none yet).
    """

    token: str
    name: str
    unit: int
    decided: np.ndarray
    submitted_round: int = -1


@dataclass
class RoundRecord:
    """What one played round (assessment period) left, for the lecturer's history."""

    round: int
    regime: str
    day: int
    score: np.ndarray
    rank: np.ndarray
    """Rank of each unit within its kind (1: best)."""
    kind_size: np.ndarray
    penalised: np.ndarray
    cutoff: np.ndarray
    indicators: np.ndarray
    caught_share: np.ndarray
    gamed_share: np.ndarray
    true_performance: np.ndarray
    held: dict[int, str] = field(default_factory=dict)
    """Units held by students in the round, with the student's name."""
    city: dict[str, float] = field(default_factory=dict)
    """City figures of the round's last day (recorded closure, real resolution, gaps)."""


CITY_FIGURES = (
    "closure_rate",
    "real_resolution_rate",
    "closure_gap",
    "satisfaction_reported",
    "satisfaction_true",
    "satisfaction_inflation",
    "dsi",
)
"""The city's daily metrics the lecturer's screen shows per round (docs/metrics.md)."""


def city_scenarios() -> list[str]:
    """Packaged scenarios with a city (the queue model has none), in name order."""
    return sorted(n for n in packaged_scenarios() if not load_scenario(n).queue.enabled)


def new_code() -> str:
    """A fresh random room code."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: Any) -> str:
    """A typed code in canonical form (capitals, no spaces or dashes).

    Raises:
        RoomError: if it is not a string of :data:`CODE_LENGTH` code symbols.
    """
    if not isinstance(text, str) or len(text) > 4 * CODE_LENGTH:
        raise RoomError(f"a room code has {CODE_LENGTH} letters and digits")
    code = re.sub(r"[\s-]", "", text).upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        raise RoomError(f"a room code has {CODE_LENGTH} letters and digits")
    return code


def checked_name(text: Any) -> str:
    """A display name: printable, 1 to :data:`NAME_MAX` characters after trimming.

    Raises:
        RoomError: otherwise.
    """
    if not isinstance(text, str):
        raise RoomError("your name: expected text")
    name = " ".join(text.split())
    if not 1 <= len(name) <= NAME_MAX or not name.isprintable():
        raise RoomError(f"your name: 1 to {NAME_MAX} printable characters")
    return name


def checked_practices(values: Any) -> np.ndarray:
    """A decision's practices as a row of :data:`PRACTICES`, each a finite number in [0, 1].

    Raises:
        RoomError: if a practice is missing or unknown, or a value is not a number in [0, 1].
    """
    if not isinstance(values, Mapping):
        raise RoomError(f"practices: expected a value for each of {', '.join(PRACTICES)}")
    unknown = sorted(str(k) for k in values if k not in PRACTICES)
    missing = [k for k in PRACTICES if k not in values]
    if unknown or missing:
        raise RoomError(
            f"practices: expected exactly {', '.join(PRACTICES)}"
            + (f"; unknown: {', '.join(unknown)[:200]}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    row = np.empty(len(PRACTICES))
    for i, k in enumerate(PRACTICES):
        v = values[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise RoomError(f"practices.{k}: expected a number from 0 to 1")
        v = float(v)
        if not (math.isfinite(v) and 0.0 <= v <= 1.0):
            raise RoomError(f"practices.{k}: expected a number from 0 to 1 (got {v:g})")
        row[i] = v
    return row


def checked_int(value: Any, what: str) -> int:
    """A whole number sent by a client.

    Raises:
        RoomError: if ``value`` is not an int (bools refused).
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise RoomError(f"{what}: expected a whole number")
    return int(value)


class Room:
    """One shared city that a class plays (see the module docstring).

    Args:
        code: The room's code.
        scenario: A packaged scenario with a city.
        citizens: Citizens of the city.
        seed: The run's seed (default: the scenario's).
        limits: The caps.
        clock: Seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        code: str,
        scenario: str,
        citizens: int,
        seed: int | None = None,
        limits: RoomLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits or RoomLimits()
        if scenario not in city_scenarios():
            raise RoomError(f"scenario: expected one of {', '.join(city_scenarios())}")
        citizens = checked_int(citizens, "citizens")
        if not 100 <= citizens <= self.limits.max_citizens:
            raise RoomError(f"citizens: expected 100 to {self.limits.max_citizens:,}")
        self.code = code
        self.scenario = scenario
        self.model = GovernanceModel(  # the room reads today's metrics, keeps no time series
            scenario=scenario,
            rng=seed,
            overrides={"population.citizens": citizens},
            keep_timeseries=False,
        )
        city = self.model.city
        self.units = np.flatnonzero(np.isin(city.unit_kind, list(KIND_NAMES)))
        """The units students may hold: street and community offices."""
        self.period_days = self.model.config.assessment.period_days
        self.rounds_total = self.model.config.days // self.period_days
        self.round = 0
        """Rounds played (assessment periods completed); students decide for the next."""
        self.regime = scenario
        self.seats: dict[str, Seat] = {}
        self.history: list[RoundRecord] = []
        self.version = 0
        """Grows at every change that a page shows (pages poll it)."""
        self.closed = False
        """Set when the lecturer (or the idle rule) closes the room: every request is refused."""
        self._held: dict[int, Seat] = {}
        self._lock = threading.RLock()
        self._clock = clock
        self.last_active = clock()

    # ------------------------------------------------------------------ joining
    @property
    def finished(self) -> bool:
        """Whether every round of the run has been played."""
        return self.round >= self.rounds_total

    def unit_name(self, unit: int) -> str:
        """The readable name of a unit."""
        return str(self.model.city.unit_name[unit])

    def unit_kind(self, unit: int) -> str:
        """``street`` or ``community``."""
        return KIND_NAMES[int(self.model.city.unit_kind[unit])]

    def free_units(self) -> list[int]:
        """Units no student holds."""
        with self._lock:
            return [int(u) for u in self.units if int(u) not in self._held]

    def join(self, name: Any, unit: Any) -> Seat:
        """A student takes a free street or community unit.

        Raises:
            RoomError: if the name or unit is not valid, the unit is held, or the room is full.
        """
        name = checked_name(name)
        unit = checked_int(unit, "unit")
        with self._lock:
            self._check_open()
            if unit not in set(self.units.tolist()):
                raise RoomError("unit: expected one of the room's street or community units")
            if unit in self._held:
                raise RoomError(
                    f"{self.unit_name(unit)} is held by another student; only they can rejoin "
                    "it (with their rejoin code). Choose a free unit."
                )
            if len(self.seats) >= min(self.limits.max_students, len(self.units)):
                raise RoomError("the room is full: every seat is taken")
            token = secrets.token_urlsafe(TOKEN_BYTES)
            seat = Seat(token, name, unit, self.model.officials.practices[unit].copy())
            self.seats[token] = seat
            self._held[unit] = seat
            self._touch()
            return seat

    def seat(self, token: Any) -> Seat:
        """The seat a token holds.

        Raises:
            RoomError: for an unknown token, or when the room is closed.
        """
        self._check_open()
        seat = self.seats.get(token) if isinstance(token, str) else None
        if seat is None:
            raise RoomError("unknown rejoin code for this room")
        return seat

    # ------------------------------------------------------------------ rounds
    def submit(self, token: Any, unit: Any, practices: Any, round_no: Any) -> bool:
        """A student's decision for the next round.

        Args:
            token: The seat's token.
            unit: The unit the decision is for (must be the seat's).
            practices: ``{practice: value in [0, 1]}`` for every practice.
            round_no: The round the student saw (must be the room's current round).

        Returns:
            Whether the round was played (every student has now submitted).

        Raises:
            RoomError: for a wrong token, another student's unit, a stale round or a bad value.
        """
        with self._lock:
            seat = self.seat(token)
            unit = checked_int(unit, "unit")
            if unit != seat.unit:
                raise RoomError("you can act only for your own unit")
            if checked_int(round_no, "round") != self.round:
                raise RoomError(f"round {round_no} is not open: the room is at round {self.round}")
            if self.finished:
                raise RoomError("the year is over: no more rounds")
            seat.decided = checked_practices(practices)
            seat.submitted_round = self.round
            self._touch()
            if all(s.submitted_round == self.round for s in self.seats.values()):
                self.advance()
                return True
            return False

    def waiting_for(self) -> list[str]:
        """Names of the students who have not submitted for the current round."""
        with self._lock:
            return [s.name for s in self.seats.values() if s.submitted_round != self.round]

    def advance(self) -> RoundRecord:
        """Play one round: held units act on their students' practices (the last submitted, or
        what the unit did when it was taken), the others on their own; the city runs to the end
        of the assessment period, where units are scored and the free ones learn.

        Raises:
            RoomError: if the year is over.
        """
        with self._lock:
            self._check_open()
            if self.finished:
                raise RoomError("the year is over: no more rounds")
            m = self.model
            m.officials.take_decisions({u: s.decided for u, s in self._held.items()})
            end = (self.round + 1) * self.period_days
            while m.day < end:
                m.step()
            record = self._record()
            self.history.append(record)
            self.round += 1
            self._touch()
            return record

    def _record(self) -> RoundRecord:
        m = self.model
        a = m.officials.last_assessment
        kinds = m.city.unit_kind
        rank = np.zeros(len(a.score), dtype=np.int64)
        size = np.zeros(len(a.score), dtype=np.int64)
        for k in np.unique(kinds):
            members = np.flatnonzero(kinds == k)
            order = members[np.argsort(-a.score[members], kind="stable")]
            rank[order] = np.arange(1, len(order) + 1)
            size[members] = len(members)
        cases = m.cases
        lo = cases.first_created_at_or_after(m.day - self.period_days)
        period = period_record(cases.view(lo), m.city.n_units)
        return RoundRecord(
            round=self.round + 1,
            regime=self.regime,
            day=m.day,
            score=a.score.copy(),
            rank=rank,
            kind_size=size,
            penalised=a.penalised.copy(),
            cutoff=a.cutoff.copy(),
            indicators=a.indicators.copy(),
            caught_share=a.caught_share.copy(),
            gamed_share=period.gamed_share,
            true_performance=period.true_performance,
            held={u: s.name for u, s in self._held.items()},
            city={k: float(m.metrics.get(k, float("nan"))) for k in CITY_FIGURES},
        )

    def regimes(self) -> list[str]:
        """Scenarios whose indicator regime the lecturer may switch to."""
        return city_scenarios()

    def switch_regime(self, scenario: Any) -> None:
        """Assess by the indicator regime of a packaged scenario from the next round on.

        Raises:
            RoomError: for a name that is not a packaged city scenario.
        """
        if not isinstance(scenario, str) or scenario not in city_scenarios():
            raise RoomError(f"regime: expected one of {', '.join(city_scenarios())}")
        regime = load_scenario(scenario).assessment
        with self._lock:
            self._check_open()
            officials = self.model.officials
            current = officials.config.assessment
            new = current.model_copy(update={k: getattr(regime, k) for k in REGIME_FIELDS})
            officials.switch_assessment(new)
            self.regime = scenario
            self._touch()

    def weights(self) -> dict[str, float]:
        """The indicators assessed now and their weights."""
        w = self.model.officials.config.assessment.weights
        return {k: float(w[k]) for k in INDICATORS if w.get(k, 0.0) > 0}

    # ------------------------------------------------------------------ what each screen shows
    def student_view(self, token: Any) -> dict[str, Any]:
        """What a student's unit sees: its own scores, rank and the penalty line, nothing of
        other units (no names, scores or real performance) and nothing of the real outcomes.

        Raises:
            RoomError: for an unknown token.
        """
        with self._lock:
            seat = self.seat(token)
            u = seat.unit
            officials = self.model.officials
            last = None
            if self.history:
                r = self.history[-1]
                last = {
                    "score": float(r.score[u]),
                    "rank": int(r.rank[u]),
                    "of": int(r.kind_size[u]),
                    "penalised": bool(r.penalised[u]),
                    "cutoff": float(r.cutoff[u]),
                    "caught_share": float(r.caught_share[u]),
                    "indicators": {
                        k: float(r.indicators[u, i])
                        for i, k in enumerate(INDICATORS)
                        if k in self.weights() and np.isfinite(r.indicators[u, i])
                    },
                }
            return {
                "unit": u,
                "unit_name": self.unit_name(u),
                "kind": self.unit_kind(u),
                "name": seat.name,
                "round": self.round,
                "rounds_total": self.rounds_total,
                "day": self.model.day,
                "finished": self.finished,
                "submitted": seat.submitted_round == self.round,
                "decided": dict(zip(PRACTICES, seat.decided.tolist(), strict=True)),
                "weights": self.weights(),
                "last": last,
                "scores": [float(r.score[u]) for r in self.history],
                "time_shares": officials.time_shares(u),
                "backlog_days": float(officials.backlog_days[u]),
                "staff": int(officials.staff[u]),
            }

    def lecturer_view(self) -> dict[str, Any]:
        """The whole city: every street and community unit ranked, recorded against real
        performance, who gamed and who holds it; the city's gaps round by round."""
        with self._lock:
            rows = []
            r = self.history[-1] if self.history else None
            practices = self.model.officials.practices
            for u in self.units.tolist():
                seat = self._held.get(u)
                row: dict[str, Any] = {
                    "unit": u,
                    "unit_name": self.unit_name(u),
                    "kind": self.unit_kind(u),
                    "holder": seat.name if seat else None,
                    "submitted": bool(seat and seat.submitted_round == self.round),
                    "practices": dict(
                        zip(
                            PRACTICES,
                            (seat.decided if seat else practices[u]).tolist(),
                            strict=True,
                        )
                    ),
                }
                if r is not None:
                    row.update(
                        score=float(r.score[u]),
                        rank=int(r.rank[u]),
                        penalised=bool(r.penalised[u]),
                        true_performance=float(r.true_performance[u]),
                        gap=float(r.score[u] - r.true_performance[u]),
                        gamed_share=float(r.gamed_share[u]),
                    )
                rows.append(row)
            rows.sort(key=lambda x: (x["kind"], x.get("rank", 0), x["unit"]))
            return {
                "code": self.code,
                "scenario": self.scenario,
                "regime": self.regime,
                "weights": self.weights(),
                "round": self.round,
                "rounds_total": self.rounds_total,
                "day": self.model.day,
                "finished": self.finished,
                "students": len(self.seats),
                "waiting_for": self.waiting_for(),
                "units": rows,
                "history": [
                    {"round": h.round, "regime": h.regime, "day": h.day, **h.city}
                    for h in self.history
                ],
            }

    def close(self) -> None:
        """End the room: its pages are told, and every later request is refused."""
        with self._lock:
            self.closed = True
            self._touch()

    def _check_open(self) -> None:
        if self.closed:
            raise RoomError("this room was closed by the lecturer")

    def _touch(self) -> None:
        self.version += 1
        self.last_active = self._clock()


class RoomServer:
    """Every room of one server, with the lecturer's key and the limit on wrong codes.

    Args:
        limits: The caps.
        lecturer_key: The secret in the lecturer's link (default: a fresh one).
        citizens: Citizens of each room's city.
        clock: Seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        limits: RoomLimits | None = None,
        lecturer_key: str | None = None,
        citizens: int = ROOM_CITIZENS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits or RoomLimits()
        self.lecturer_key = lecturer_key or secrets.token_urlsafe(TOKEN_BYTES)
        self.citizens = citizens
        self.start_scenario = "baseline"
        """The scenario the lecturer's page offers first."""
        self.start_lang = "en"
        """The pages' starting language."""
        self.rooms: dict[str, Room] = {}
        self._failures: list[float] = []
        self._lock = threading.Lock()
        self._clock = clock

    def is_lecturer(self, key: Any) -> bool:
        """Whether ``key`` is the lecturer's (compared in constant time)."""
        return isinstance(key, str) and secrets.compare_digest(
            key.encode("utf-8", "replace"), self.lecturer_key.encode()
        )

    def open(self, key: Any, scenario: Any, seed: int | None = None) -> Room:
        """The lecturer opens a room on a packaged scenario.

        Raises:
            RoomError: without the lecturer's key, for an unknown scenario, or when the server
                holds :attr:`RoomLimits.max_rooms` rooms that are in use.
        """
        if not self.is_lecturer(key):
            raise RoomError("only the lecturer's link can open a room")
        if not isinstance(scenario, str) or scenario not in city_scenarios():
            raise RoomError(f"scenario: expected one of {', '.join(city_scenarios())}")
        with self._lock:
            now = self._clock()
            idle = [
                c
                for c, r in self.rooms.items()
                if now - r.last_active > self.limits.idle_hours * 3600
            ]
            for c in idle:
                self.rooms.pop(c).close()
            if len(self.rooms) >= self.limits.max_rooms:
                raise RoomError(
                    f"{self.limits.max_rooms} rooms are open, the most this server holds; "
                    "close one first"
                )
            code = new_code()
            while code in self.rooms:  # pragma: no cover - 1 in 8.5e11
                code = new_code()
            room = Room(code, scenario, self.citizens, seed, self.limits, self._clock)
            self.rooms[code] = room
            return room

    def close(self, key: Any, code: Any) -> None:
        """The lecturer closes a room (its students' seats end with it).

        Raises:
            RoomError: without the lecturer's key.
        """
        if not self.is_lecturer(key):
            raise RoomError("only the lecturer's link can close a room")
        with self._lock:
            room = self.rooms.pop(code if isinstance(code, str) else "", None)
        if room is not None:
            room.close()

    def codes(self) -> list[str]:
        """The codes of the open rooms (the lecturer's list)."""
        with self._lock:
            return list(self.rooms)

    def room(self, code: Any) -> Room | None:
        """The open room with this exact code (the lecturer's pick; ``None`` if closed)."""
        with self._lock:
            return self.rooms.get(code) if isinstance(code, str) else None

    def find(self, code: Any) -> Room:
        """The room a typed code names (a wrong code counts against the limit).

        Raises:
            RoomError: for a malformed or wrong code, or while wrong codes are over the limit.
        """
        self._check_rate()
        try:
            key = normalise_code(code)
        except RoomError:
            self._fail()
            raise
        room = self.room(key)
        if room is None:
            self._fail()
            raise RoomError("no room has this code: check it with your lecturer")
        return room

    def join(self, code: Any, name: Any, unit: Any) -> tuple[Room, Seat]:
        """A student joins a room by its code and takes a unit (see :meth:`Room.join`)."""
        room = self.find(code)
        return room, room.join(name, unit)

    def rejoin(self, code: Any, token: Any) -> tuple[Room, Seat]:
        """A student who dropped takes their seat again with its token.

        Raises:
            RoomError: for a wrong code or token (both count against the limit).
        """
        room = self.find(code)
        try:
            return room, room.seat(token)
        except RoomError:
            self._fail()
            raise

    def _check_rate(self) -> None:
        with self._lock:
            now = self._clock()
            self._failures = [t for t in self._failures if now - t < 60.0]
            if len(self._failures) >= self.limits.failed_joins_per_minute:
                raise RoomError("too many wrong codes in the last minute: wait a minute")

    def _fail(self) -> None:
        with self._lock:
            self._failures.append(self._clock())


def configure_room_environment(citizens: int | None = None) -> str:
    """Set the room server's environment (before Solara starts); the lecturer's key.

    Args:
        citizens: Citizens of each room's city (default :data:`ROOM_CITIZENS`).
    """
    key = secrets.token_urlsafe(TOKEN_BYTES)
    os.environ[ROOM_KEY_ENV] = key
    os.environ[ROOM_CITIZENS_ENV] = str(citizens or ROOM_CITIZENS)
    return key


def room_server_from_environment() -> RoomServer:
    """The room server ``govsim demo --room`` configured (a fresh key where none was set)."""
    from govsim.viz.server import LANG_ENV, SCENARIO_ENV

    text = os.environ.get(ROOM_CITIZENS_ENV, "")
    citizens = (
        int(text)
        if text.isdigit() and 100 <= int(text) <= RoomLimits().max_citizens
        else ROOM_CITIZENS
    )
    server = RoomServer(lecturer_key=os.environ.get(ROOM_KEY_ENV) or None, citizens=citizens)
    server.start_scenario = os.environ.get(SCENARIO_ENV, "baseline")
    server.start_lang = "zh" if os.environ.get(LANG_ENV) == "zh" else "en"
    return server
