"""Two cities stepping together: the preset (city A) and the class's changes to it (city B).

:class:`CityPair` is a Mesa model whose constructor takes flat keyword parameters (a preset, the
classroom size, a seed and one keyword per lever of :mod:`govsim.viz.levers`), as Mesa's
SolaraViz controls expect. City A is the preset as it is; city B is the preset with the levers
applied. Both use the same seed, so with no lever changed they are identical day by day, and any
difference between them comes from the changed levers.

Besides stepping, the pair keeps the few daily series the charts draw (so drawing never rebuilds
a DataFrame) and computes the small aggregates of the city and case-flow views.

The demo's play loop steps the pair in a thread of its own while the page may be drawing in
another (a click on play draws the page as the loop starts). A day is stepped, and every reading
is taken, under the pair's :attr:`CityPair.lock`, so a reader never sees half a day: without it a
chart could read city B at day *n* and city A at day *n* + 1 (arrays of different lengths).
Functions that read the pair several times for one picture hold the lock for all of their reads
(:func:`consistent`).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, Concatenate

import mesa
import numpy as np

from govsim import compiled
from govsim.cases import STATE_NAMES
from govsim.config import resolve_scenario
from govsim.model import GovernanceModel
from govsim.viz.lessons import LESSON_METRICS
from govsim.viz.levers import (
    CITIZENS_RANGE,
    CLASSROOM_CITIZENS,
    LEVERS_BY_NAME,
    lever_overrides,
    lever_values,
    load_preset,
    resolve_preset,
)

CHART_GROUPS: dict[str, tuple[str, ...]] = {
    "responsiveness": ("closure_rate", "real_resolution_rate"),
    "suspension": ("closure_gap", "satisfaction_inflation", "formalism_burden", "voice_gap", "dsi"),
    "equity": ("equity_gap_voice", "equity_gap_resolution", "equity_gap_satisfaction"),
    "trust": ("trust_mean", "efficacy_mean"),
}
"""The charts of the comparison view and the metrics (names in govsim.metrics.METRICS) each draws."""

HEADLINE: tuple[str, ...] = (
    "real_resolution_rate",
    "closure_rate",
    "dsi",
    "voice_gap",
    "equity_gap_resolution",
    "trust_mean",
    "backlog",
)
"""Metrics of the headline table (today's value in A and B and the difference)."""

RECORDED: tuple[str, ...] = tuple(
    dict.fromkeys(
        [m for ms in CHART_GROUPS.values() for m in ms] + list(HEADLINE) + list(LESSON_METRICS)
    )
)
"""Every metric the pair records each day (the charts', the headline's and the lessons')."""

BAND_DAYS = 30
"""Days over which a band's spread is measured (the time series' own window, docs/metrics.md)."""

CITY_COLOURINGS: tuple[str, ...] = ("open_cases", "trust", "literacy")
"""What the city view can colour communities by."""

CITIES: tuple[str, ...] = ("A", "B")

MAX_SEED = 2**63 - 1
"""Largest seed a scenario accepts."""


def checked_citizens(value: Any) -> int:
    """Citizens per city as a whole number within the demo's range (:data:`CITIZENS_RANGE`).

    Raises:
        ValueError: if it is not a whole number in that range.
    """
    low, high, _ = CITIZENS_RANGE
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError(f"citizens: got {value!r:.40}, expected a whole number {low}-{high}")
    if not low <= value <= high:
        raise ValueError(
            f"citizens: got {int(value)}, expected {low}-{high} per city (the demo's maximum)"
        )
    return int(value)


def checked_seed(value: Any) -> int:
    """A seed as a whole number from 0 to :data:`MAX_SEED`.

    Raises:
        ValueError: if it is not one.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise ValueError(f"seed: got {value!r:.40}, expected a whole number 0-{MAX_SEED}")
    return value


def consistent[**P, R](
    reader: Callable[Concatenate[CityPair, P], R],
) -> Callable[Concatenate[CityPair, P], R]:
    """``reader`` (its first argument a :class:`CityPair`) run holding the pair's lock.

    For the pair's own methods, and for a function that reads the pair more than once for one
    result (a chart, an export): its reads all see the same day, and no day is stepped midway.
    """

    @functools.wraps(reader)
    def wrapper(pair: CityPair, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with pair.lock:
            return reader(pair, *args, **kwargs)

    return wrapper


class CityPair(mesa.Model):
    """City A (the preset) and city B (the preset, or ``preset_b``, with the levers applied).

    Args:
        preset: A preset name (:func:`govsim.viz.levers.preset_catalogue`: the file name stands
            for the scenario file ``govsim demo`` started from), a packaged scenario or a file.
        citizens: Citizens per city (overrides ``population.citizens``), within the demo's
            range (:data:`govsim.viz.levers.CITIZENS_RANGE`).
        seed: Root seed of both cities (default: the preset's seed).
        preset_b: City B's preset when it is another whole scenario (a lesson's); ``None``:
            the same preset as city A.
        overrides_a: Dotted-path overrides of city A's scenario (a lesson's), or ``None``.
        overrides_b: Dotted-path overrides of city B's scenario before the levers, or ``None``.
        dispatch_mode, data_sharing, ...: One keyword per lever of :data:`govsim.viz.levers.LEVERS`;
            ``None`` keeps the preset's value.

    Raises:
        govsim.config.ScenarioError: if the preset is missing or a lever value is invalid.
        ValueError: if a lever value does not fit its lever or lies outside its control's range,
            or citizens or the seed lie outside the demo's range.
    """

    def __init__(
        self,
        *,
        preset: str = "baseline",
        citizens: int = CLASSROOM_CITIZENS,
        seed: int | None = None,
        preset_b: str | None = None,
        overrides_a: dict[str, Any] | None = None,
        overrides_b: dict[str, Any] | None = None,
        dispatch_mode: str | None = None,
        data_sharing: float | None = None,
        summoning: bool | None = None,
        first_receiver: bool | None = None,
        weight_response: float | None = None,
        weight_on_time_closure: float | None = None,
        weight_closure: float | None = None,
        weight_satisfaction: float | None = None,
        weight_verified_resolution: float | None = None,
        weight_traces: float | None = None,
        weight_repeat_complaint: float | None = None,
        audit_rate: float | None = None,
        penalty: float | None = None,
        motivation: float | None = None,
        selection: bool | None = None,
        offline_channels: bool | None = None,
        assisted_reporting: bool | None = None,
        force_online: bool | None = None,
        old_literacy: float | None = None,
        apps: int | None = None,
    ) -> None:
        levers = {k: v for k, v in locals().items() if k in LEVERS_BY_NAME and v is not None}
        self.lock = threading.RLock()
        """Held while a day is stepped and while the pair is read (see the module docstring)."""
        citizens = checked_citizens(citizens)
        base = _city_preset(preset)
        seed = base.seed if seed is None else checked_seed(seed)
        super().__init__(rng=seed)
        self.preset = preset
        self.preset_b = preset_b
        self.citizens = int(citizens)
        self.seed = seed
        common = {"population.citizens": self.citizens}
        overrides_a = dict(overrides_a or {})
        overrides_b = dict(overrides_b or {})
        base_a = resolve_scenario(base, overrides_a) if overrides_a else base
        base_b = _city_preset(preset_b) if preset_b is not None else base
        base_b = resolve_scenario(base_b, overrides_b) if overrides_b else base_b
        self.changes: dict[str, Any] = lever_overrides(base_b, levers)
        """Dotted paths where the levers change city B's scenario, with B's values."""
        compiled.preload()  # the server builds a pair on every reset: kernels, if cached
        # the pair records the series it charts (step): the cities keep no time series of their own
        self.a = GovernanceModel(scenario=base_a, rng=seed, overrides=common, keep_timeseries=False)
        self.b = GovernanceModel(
            scenario=base_b,
            rng=seed,
            overrides={**common, **self.changes},
            keep_timeseries=False,
        )
        self.preset_levers: dict[str, Any] = lever_values(self.a.config)
        """Every lever's value in city A (the preset)."""
        self.base_levers: dict[str, Any] = lever_values(base_b)
        """Every lever's value in city B's scenario before the levers (what "back" returns to)."""
        self.levers: dict[str, Any] = lever_values(self.b.config)
        """Every lever's value in city B."""
        self.params: dict[str, Any] = {
            "preset": preset,
            "citizens": self.citizens,
            "seed": seed,
            "preset_b": preset_b,
            "overrides_a": overrides_a,
            "overrides_b": overrides_b,
            **self.levers,
        }
        """The flat parameters that rebuild this pair (``CityPair(**pair.params)``)."""
        self.horizon = min(self.a.horizon, self.b.horizon)
        self.day = 0
        self._rows = {m: i for i, m in enumerate(RECORDED)}
        self._history = {c: np.full((len(RECORDED), self.horizon), np.nan) for c in CITIES}
        self.running = self.day < self.horizon

    @property
    def cities(self) -> dict[str, GovernanceModel]:
        """The two models by label."""
        return {"A": self.a, "B": self.b}

    @consistent
    def step(self) -> None:
        """Advance both cities by one day and record the charted metrics.

        After the last day (:attr:`horizon`) it does nothing: a play loop that asks for more days
        than are left ends at the end of the run, not past the recorded series.
        """
        if self.day >= self.horizon:
            self.running = False
            return
        for label, model in self.cities.items():
            model.step()
            self._history[label][:, self.day] = [model.metrics.get(m, np.nan) for m in RECORDED]
        self.day += 1
        self.running = self.day < self.horizon

    @consistent
    def values(self, city: str, metric: str) -> np.ndarray:
        """A recorded metric's daily values so far (day 1 first; ``nan`` where undefined)."""
        return self._history[city][self._rows[metric], : self.day]

    @consistent
    def columns(
        self, city: str, metrics: tuple[str, ...], max_points: int = 240
    ) -> dict[str, list[float | None]]:
        """Columns ``day`` and one per metric, thinned to about ``max_points`` days, today last.

        Flat lists (an ECharts dataset) cost far less to send than ``[day, value]`` pairs.
        Missing values are ``None``, which JSON and ECharts read as a gap.
        """
        n = self.day
        stride = max(1, -(-n // max_points))
        days = np.arange(stride - 1, n, stride)
        if n and days[-1] != n - 1:
            days = np.append(days, n - 1)
        out: dict[str, list[float | None]] = {"day": (days + 1).tolist()}
        block = self._history[city][[self._rows[m] for m in metrics]][:, days]
        for m, row in zip(metrics, block, strict=True):
            out[m] = row.tolist() if np.isfinite(row).all() else [_finite(x) for x in row]
        return out

    @consistent
    def band(
        self, city: str, metric: str, max_points: int = 240
    ) -> tuple[list[int], list[float | None], list[float | None]]:
        """A metric's days with its line and the spread around it, for a shaded band.

        For each day: the mean of the last :data:`BAND_DAYS` days' values and their standard
        deviation (``city="B-A"``: of the daily difference B - A). The line is the smoothed value;
        the band, mean ± one standard deviation, shows how far the line wanders by itself, so
        that a gap between two cities narrower than their bands is not read as an effect. Thinned
        to about ``max_points`` days like :meth:`columns`; ``None`` where undefined.

        Returns:
            ``(days, mean, sd)``, days counted from 1.
        """
        n = self.day
        if city == "B-A":
            series = self.values("B", metric) - self.values("A", metric)
        else:
            series = self.values(city, metric)
        stride = max(1, -(-n // max_points))
        days = np.arange(stride - 1, n, stride)
        if n and days[-1] != n - 1:
            days = np.append(days, n - 1)
        mean, sd = _rolling_mean_sd(series, BAND_DAYS)
        return (
            (days + 1).tolist(),
            [_finite(x) for x in mean[days]],
            [_finite(x) for x in sd[days]],
        )

    @consistent
    def table(self) -> list[dict[str, Any]]:
        """Every recorded metric of both cities by day (rows for a CSV): day, city, metrics."""
        rows = []
        for t in range(self.day):
            for city in CITIES:
                values = self._history[city][:, t]
                rows.append(
                    {"day": t + 1, "city": city}
                    | {m: _finite(values[i]) for m, i in self._rows.items()}
                )
        return rows

    @consistent
    def latest(self, city: str, metric: str) -> float | None:
        """Today's value of a recorded metric (``None`` before the first step or if undefined)."""
        return _finite(self._history[city][self._rows[metric], self.day - 1]) if self.day else None

    @consistent
    def state_counts(self, city: str) -> dict[str, int]:
        """How many cases sit in each recorded platform state (govsim.cases.STATE_NAMES)."""
        counts = self.cities[city].cases.state_counts
        return {name: int(counts[i]) for i, name in enumerate(STATE_NAMES)}

    @consistent
    def community_values(self, city: str, colouring: str) -> np.ndarray:
        """One value per community for the city view.

        ``open_cases``: open cases of residents (``GovernanceModel.community_open_cases``);
        ``trust``: mean trust of residents; ``literacy``: mean digital literacy of residents.
        """
        model = self.cities[city]
        comm = model.citizens.community
        residents = np.bincount(comm, minlength=model.city.n_communities).astype(float)
        residents[residents == 0] = np.nan
        if colouring == "open_cases":
            return model.community_open_cases().astype(float)
        if colouring == "trust":
            return np.bincount(
                comm, weights=model.citizens.trust, minlength=model.city.n_communities
            ) / (residents)
        if colouring == "literacy":
            lit = model.citizens.literacy
            return np.bincount(comm, weights=lit, minlength=model.city.n_communities) / residents
        raise ValueError(
            f"colouring: got {colouring!r}, expected one of {', '.join(CITY_COLOURINGS)}"
        )


def _city_preset(name: str) -> Any:
    """A preset's scenario, refused if it is the M/M/c validation queue (no city to show)."""
    base = load_preset(resolve_preset(name))
    if base.queue.enabled:
        raise ValueError(
            f"preset {name!r} is the M/M/c validation queue, which has no city to show; "
            "choose a city scenario (govsim scenarios lists them)"
        )
    return base


def _rolling_mean_sd(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Trailing mean and standard deviation over up to ``window`` finite values (nan-aware)."""
    finite = np.isfinite(series)
    x = np.where(finite, series, 0.0)
    n = np.cumsum(finite.astype(float))
    s1, s2 = np.cumsum(x), np.cumsum(x * x)

    def lagged(a: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros(window), a])[: len(a)]

    count = n - lagged(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (s1 - lagged(s1)) / count
        var = (s2 - lagged(s2)) / count - mean**2
    mean[count == 0] = np.nan
    sd = np.sqrt(np.maximum(var, 0.0))
    sd[count == 0] = np.nan
    return mean, sd


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
