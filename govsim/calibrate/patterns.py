"""Target patterns as data: the pattern YAML file, its validation and the features it computes.

A pattern file names the observed patterns a calibration must reproduce (pattern-oriented
modelling, Grimm et al. 2005; docs/FACTS.md)::

    patterns:
      satisfaction_2024:
        metric: satisfaction_reported       # a govsim metric (docs/metrics.md)
        feature: summary                     # the run's end-of-run value (default)
        target: {interval: [0.969, 0.973]}   # acceptance interval ...
        source: "docs/FACTS.md:20"           # the line of docs/FACTS.md it cites
        grade: B
      response_first_quarter:
        metric: response_rate
        feature: level                       # mean of the daily values over window [lo, hi)
        window: [0, 90]
        target: {value: 0.95, uncertainty: 0.03}   # ... or an observed value with its uncertainty
        source: "..."
        grade: C

Features (a fixed set; no expression is evaluated as code):

- ``summary``: the metric's end-of-run summary value (the run's rate over all its cases);
- ``level``: the mean of the metric's daily values over ``window`` ``[day_lo, day_hi)``;
- ``trend``: the least-squares slope per day of the daily values over ``window``;
- ``ratio`` / ``share`` / ``difference``: ``metric / other``, ``metric / (metric + other)`` or
  ``metric - other``, both as summary values (or both as levels over ``window`` when a window is
  given);
- ``lag_correlation``: the correlation of ``metric`` on day t with ``other`` on day t + ``lag``
  over ``window``.

``per_resident: true`` divides the value by the scenario's ``population.citizens``, and a
``summary`` of a count (``cases_reported``) also by the simulated days: contacts per resident-day.

Every target has a centre and a scale: an interval ``[lo, hi]`` has centre ``(lo + hi) / 2`` and
scale ``(hi - lo) / 2``; ``value`` ± ``uncertainty`` has centre ``value`` and scale
``uncertainty``. The calibration's distance standardises each pattern by its scale; a pattern
*passes* when the simulated mean lies in ``[centre - scale, centre + scale]``.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator

from govsim.config import (
    ScenarioError,
    located_messages,
    parse_yaml,
    read_yaml_file,
)
from govsim.schema import PlainData

Feature = Literal["summary", "level", "trend", "ratio", "share", "difference", "lag_correlation"]
FEATURES: tuple[str, ...] = (
    "summary",
    "level",
    "trend",
    "ratio",
    "share",
    "difference",
    "lag_correlation",
)
WINDOWED: frozenset[str] = frozenset({"level", "trend", "lag_correlation"})
"""Features that need the daily time series (and a window)."""
TWO_METRICS: frozenset[str] = frozenset({"ratio", "share", "difference", "lag_correlation"})
"""Features of two metrics (``metric`` and ``other``)."""
GRADES: tuple[str, ...] = ("A", "B", "C", "B/C", "assumption")


class TargetSpec(PlainData):
    """The acceptance interval, or the observed value with its uncertainty."""

    interval: tuple[float, float] | None = Field(None, description="Acceptance interval [lo, hi].")
    value: float | None = Field(None, description="Observed value.")
    uncertainty: float | None = Field(
        None, gt=0, description="Half-width of the acceptance band around value."
    )

    @model_validator(mode="after")
    def _one_form(self) -> TargetSpec:
        if self.interval is not None:
            if self.value is not None or self.uncertainty is not None:
                raise ValueError("give either interval or value with uncertainty, not both")
            lo, hi = self.interval
            if not lo < hi:
                raise ValueError(f"interval must have low < high (got [{lo}, {hi}]: inverted)")
        elif self.value is None or self.uncertainty is None:
            raise ValueError("needs interval: [lo, hi], or value and uncertainty")
        return self

    @property
    def centre(self) -> float:
        """The target's centre."""
        if self.interval is not None:
            return (self.interval[0] + self.interval[1]) / 2
        assert self.value is not None
        return self.value

    @property
    def scale(self) -> float:
        """The target's half-width (the distance's unit for this pattern)."""
        if self.interval is not None:
            return (self.interval[1] - self.interval[0]) / 2
        assert self.uncertainty is not None
        return self.uncertainty

    @property
    def bounds(self) -> tuple[float, float]:
        """The acceptance interval."""
        return self.centre - self.scale, self.centre + self.scale


class PatternSpec(PlainData):
    """One observed pattern."""

    metric: str = Field(description="The govsim metric (docs/metrics.md).")
    feature: Feature = Field("summary", description="What is computed from the metric.")
    other: str | None = Field(
        None, description="Second metric (ratio, difference, lag_correlation)."
    )
    window: tuple[int, int] | None = Field(None, description="Days [day_lo, day_hi).")
    lag: int | None = Field(None, ge=0, le=365, description="Lag in days (lag_correlation).")
    per_resident: bool = Field(
        False, description="Divide by the citizens (and, for a summary, by the days)."
    )
    target: TargetSpec
    source: str = Field(
        min_length=1, description="Where the figure comes from (a docs/FACTS.md line)."
    )
    grade: str = Field("assumption", description="Grade of the source (A, B, C, assumption).")
    note: str = Field("", description="How the figure maps onto the model output.")

    @model_validator(mode="after")
    def _consistent(self) -> PatternSpec:
        f = self.feature
        if f in TWO_METRICS and self.other is None:
            raise ValueError(f"other: feature {f} needs a second metric (other)")
        if f not in TWO_METRICS and self.other is not None:
            raise ValueError(f"other: feature {f} takes one metric")
        if f in WINDOWED and self.window is None:
            raise ValueError(f"window: feature {f} needs a window [day_lo, day_hi)")
        if f == "summary" and self.window is not None:
            raise ValueError("window: a summary feature is over the whole run; use level")
        if self.window is not None:
            lo, hi = self.window
            if lo < 0 or hi <= lo:
                raise ValueError(
                    f"window: must be [day_lo, day_hi) with 0 <= day_lo < day_hi (got [{lo}, {hi}]: empty)"
                )
            if f == "trend" and hi - lo < 2:
                raise ValueError("window: a trend needs at least 2 days")
        if (self.lag is not None) != (f == "lag_correlation"):
            raise ValueError("lag: given for (and only for) feature lag_correlation")
        if self.per_resident and f not in ("summary", "level"):
            raise ValueError("per_resident: applies to summary and level features only")
        if self.grade not in GRADES:
            raise ValueError(f"grade: expected one of {', '.join(GRADES)} (got {self.grade!r})")
        return self

    @property
    def needs_timeseries(self) -> bool:
        """Whether the feature reads the daily series."""
        return self.window is not None

    def describe(self) -> str:
        """A short formula for reports."""
        w = f" over days [{self.window[0]}, {self.window[1]})" if self.window else ""
        per = " per resident-day" if self.per_resident else ""
        if self.feature == "summary":
            return f"{self.metric}{per}"
        if self.feature == "level":
            return f"mean {self.metric}{per}{w}"
        if self.feature == "trend":
            return f"slope/day of {self.metric}{w}"
        if self.feature == "ratio":
            return f"{self.metric} / {self.other}{w}"
        if self.feature == "share":
            return f"{self.metric} / ({self.metric} + {self.other}){w}"
        if self.feature == "difference":
            return f"{self.metric} - {self.other}{w}"
        return f"corr({self.metric}[t], {self.other}[t+{self.lag}]){w}"


class PatternFile(PlainData):
    """A pattern file: named patterns."""

    patterns: dict[str, PatternSpec] = Field(min_length=1)
    description: str = ""


@dataclass
class PatternSet:
    """Validated patterns in file order."""

    patterns: dict[str, PatternSpec]
    source: str
    text: str
    where: dict[tuple[str, ...], str]

    @property
    def needs_timeseries(self) -> bool:
        """Whether any pattern reads the daily series."""
        return any(p.needs_timeseries for p in self.patterns.values())

    @property
    def max_day(self) -> int:
        """The last window end (0 if no pattern has a window)."""
        return max((p.window[1] for p in self.patterns.values() if p.window), default=0)


def known_metrics() -> dict[str, str]:
    """The metric names a pattern may use (the model's summary and daily metrics)."""
    from govsim.metrics import METRICS, QUEUE_METRICS

    return {**METRICS, **QUEUE_METRICS}


def load_patterns_text(text: str, source: str) -> PatternSet:
    """Parse and validate a pattern document.

    Raises:
        ScenarioError: listing every problem located as ``file:line: patterns.NAME.key: what``.
    """
    doc = parse_yaml(text, source)
    if not isinstance(doc.data, dict):
        raise ScenarioError([f"{source}:1: a pattern file must be a mapping with a patterns: key"])
    try:
        spec = PatternFile.model_validate(doc.data)
    except ValidationError as exc:
        raise ScenarioError(located_messages(exc, doc.where, source, PatternFile)) from None
    from govsim.metrics import SUMMARY_ONLY

    known = known_metrics()
    problems = []
    for name, p in spec.patterns.items():
        for key in ("metric", "other"):
            metric = getattr(p, key)
            at = doc.where.get(("patterns", name, key), doc.where.get(("patterns", name), source))
            if metric in SUMMARY_ONLY and p.needs_timeseries:
                problems.append(
                    f"{at}: patterns.{name}.{key}: '{metric}' is a summary-only metric (no daily "
                    "series): use it without a window (feature summary, difference, ratio or share)"
                )
                continue
            if metric is None or metric in known:
                continue
            hint = difflib.get_close_matches(metric, list(known), n=1)
            dym = f"; did you mean '{hint[0]}'?" if hint else ""
            problems.append(
                f"{at}: patterns.{name}.{key}: '{metric}' is not a govsim metric{dym} "
                "(see docs/metrics.md)"
            )
    if problems:
        raise ScenarioError(problems)
    return PatternSet(dict(spec.patterns), source, text, doc.where)


def load_patterns(path: str | Path) -> PatternSet:
    """Load a pattern file (a path, or the name of a packaged pattern set).

    Raises:
        ScenarioError: if it cannot be read or is invalid (every problem, located).
    """
    p = resolve_patterns_ref(str(path))
    text = read_yaml_file(p, "cannot read pattern file")
    return load_patterns_text(text, str(p))


def packaged_dir() -> Path:
    """The folder of packaged pattern and parameter files."""
    return Path(__file__).parent / "data"


def resolve_patterns_ref(ref: str) -> Path:
    """A path, or a packaged file's name (``beijing_patterns`` -> the packaged YAML)."""
    p = Path(ref)
    if p.is_file():
        return p
    packaged = packaged_dir() / f"{ref}.yaml"
    if packaged.is_file():
        return packaged
    return p  # read_yaml_file reports it missing


def check_windows(patterns: PatternSet, days: int) -> list[str]:
    """Problems of windows that end after the simulated horizon."""
    out = []
    for name, p in patterns.patterns.items():
        end = (p.window[1] + (p.lag or 0)) if p.window is not None else 0
        if end > days:
            at = patterns.where.get(("patterns", name, "window"), patterns.source)
            out.append(
                f"{at}: patterns.{name}.window: reads day {end - 1} (window end plus lag) but "
                f"the calibration simulates {days} days"
            )
    return out


def _series(ts: Any, metric: str, window: tuple[int, int]) -> np.ndarray:
    lo, hi = window
    values = np.asarray(ts[metric], dtype=float)
    return values[lo:hi]


def _nanmean(a: np.ndarray) -> float:
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else math.nan


def _combine(f: str, a: float, b: float) -> float:
    if f == "difference":
        return a - b
    den = b if f == "ratio" else a + b
    return a / den if den != 0 and math.isfinite(den) else math.nan


def feature_value(
    p: PatternSpec,
    summary: dict[str, float],
    ts: Any | None,
    citizens: int | None = None,
    days: int | None = None,
) -> float:
    """The pattern's feature for one run (NaN when undefined, e.g. no cases in the window).

    Args:
        p: The pattern.
        summary: The run's summary metrics.
        ts: The run's daily table (needed when the pattern has a window).
        citizens: The run's population (``per_resident`` patterns).
        days: The run's simulated days (``per_resident`` summary patterns).
    """
    f = p.feature
    per = 1.0
    if p.per_resident:
        if not citizens:
            return math.nan
        per = float(citizens) * (float(days or 1) if p.window is None else 1.0)
    if p.window is None:
        a = float(summary.get(p.metric, math.nan))
        if f == "summary":
            return a / per
        return _combine(f, a, float(summary.get(p.other or "", math.nan)))
    assert ts is not None
    x = _series(ts, p.metric, p.window)
    if f == "level":
        return _nanmean(x) / per
    if f == "trend":
        days_ = np.arange(len(x), dtype=float)
        ok = np.isfinite(x)
        if ok.sum() < 2:
            return math.nan
        return float(np.polyfit(days_[ok], x[ok], 1)[0])
    assert p.other is not None
    if f in ("ratio", "share", "difference"):
        return _combine(f, _nanmean(x), _nanmean(_series(ts, p.other, p.window)))
    lag = int(p.lag or 0)
    lo, hi = p.window
    y = np.asarray(ts[p.other], dtype=float)[lo + lag : hi + lag]
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return math.nan
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def features(
    patterns: dict[str, PatternSpec],
    summary: dict[str, float],
    ts: Any | None,
    citizens: int | None = None,
    days: int | None = None,
) -> dict[str, float]:
    """Every pattern's feature for one run."""
    return {name: feature_value(p, summary, ts, citizens, days) for name, p in patterns.items()}
