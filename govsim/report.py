"""Figures of a run: ``dashboard.png``, the main metrics over time on one page.

The dashboard is a grid of panels. The first panels are fixed (responsiveness, digital suspension,
backlog, trust and efficacy, satisfaction, intake, officials); each plots whichever of its metrics
the time series has, and a panel none of whose metrics exist is left out. Every other numeric
column is then plotted too, grouped by name prefix, so the dashboard keeps up as metrics are added
to :mod:`govsim.metrics` without touching this module.

The figure says what it shows:

* each panel's title names the window of its values (:func:`metric_window`): most rates are over
  the cases created in the trailing :data:`~govsim.metrics.WINDOW_DAYS` days, as they stood that
  day (a right-censored cohort: the newest cases are still open), while ``summary.json`` rates are
  over the settled cohort (cases created before the last :data:`~govsim.metrics.SETTLE_DAYS`
  days); a footnote says so, with the day numbers, so the last day and the summary need not agree;
* the days a timeline's reforms took effect (the time series' ``reform`` column,
  :mod:`govsim.timeline`) are drawn in every panel as dashed vertical lines at the day's start,
  labelled with the reform's name in the panels of the top row;
* a metric with the same value on every day (e.g. officials' burnout, 0 at the baseline's load)
  is not drawn as a flat line but listed in the footnote as "constant at 0 in this run"; a panel
  whose metrics are all constant is left out.

Drawing uses Matplotlib's object API with the Agg canvas (no pyplot, no display, no global state),
and a grid with fixed margins in inches rather than a layout engine (see :func:`_grid_margins`).
"""

from __future__ import annotations

import fnmatch
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from govsim.metrics import METRICS, QUEUE_METRICS, SETTLE_DAYS, WINDOW_DAYS


@dataclass(frozen=True)
class Panel:
    """One dashboard panel: a title, the metric columns it shows (glob patterns) and a y label."""

    title: str
    patterns: tuple[str, ...]
    ylabel: str = ""
    share: bool = False
    """Values are shares in [0, 1]: fix the y axis to that range."""


MAIN_PANELS: tuple[Panel, ...] = (
    Panel(
        "Responsiveness",
        ("closure_rate", "real_resolution_rate", "on_time_closure_rate", "response_rate"),
        "share of cases",
        share=True,
    ),
    Panel(
        "Digital suspension",
        ("dsi", "closure_gap", "satisfaction_inflation", "formalism_burden", "voice_gap"),
        "index in [0, 1]",
        share=True,
    ),
    Panel("Backlog", ("backlog",), "open cases"),
    Panel("Trust and efficacy", ("trust_mean", "efficacy_mean"), "mean in [0, 1]", share=True),
    Panel(
        "Satisfaction at callback",
        ("satisfaction_reported", "satisfaction_true"),
        "share of rated cases",
        share=True,
    ),
    Panel("Cases reported", ("cases_reported",), "cases per day"),
    Panel(
        "Intake by channel", ("channel_share_*", "consultation_share"), "share of cases", share=True
    ),
    Panel("Time to real resolution", ("days_to_resolution_*",), "days"),
    Panel("Hand-offs", ("handoffs_per_case", "cross_dept_days_ratio"), "per case / ratio"),
    Panel(
        "Gaming and repeats",
        ("nominal_closure_rate", "repeat_complaint_rate"),
        "share of cases",
        share=True,
    ),
    Panel("Units' practices", ("practice_*",), "mean propensity", share=True),
    Panel(
        "Grassroots officials",
        ("official_burnout_mean", "official_overload_share", "official_*", "assist_burden"),
        "share",
        share=True,
    ),
    Panel("Hotline", ("hotline_*",), "share of calls", share=True),
    Panel("Voice by literacy quartile", ("voice_rate_q?",), "share of problems", share=True),
    Panel("Voice by age group", ("voice_rate_*",), "share of problems", share=True),
    Panel("Real resolution by literacy quartile", ("real_resolution_q?",), "share", share=True),
    Panel("Real resolution by age group", ("real_resolution_*",), "share", share=True),
    Panel("Satisfaction by literacy quartile", ("satisfaction_q?",), "share", share=True),
    Panel("Satisfaction by age group", ("satisfaction_*",), "share", share=True),
    Panel("Equity gaps (top - bottom quartile)", ("equity_gap_*",), "difference of shares"),
)
"""The fixed panels, in order. Patterns use shell-style wildcards (``fnmatch``)."""

MAX_LINES = 8
"""Most lines drawn in one panel; further columns of a group go to another panel."""

MAX_PANELS = 24
"""Most panels on one dashboard; metrics beyond that are named in a footnote."""

NCOLS = 4

PANEL_WIDTH = 5.2
"""Inches of figure width per dashboard column (axes and the gap to the next)."""
PANEL_HEIGHT = 3.3
"""Inches of figure height per dashboard row."""
MARGINS = {"left": 0.7, "right": 0.2, "top": 0.35, "title": 0.7, "bottom": 0.55, "footnote": 0.14}
"""Inches around the grid of panels: room for tick labels and a y label on the left, the panel
titles above (more under a figure title), tick labels and the x label below (more under a
footnote: ``footnote`` inches per line)."""
FOOTNOTE_SIZE = 7
"""Font size of the footnote, in points."""
FOOTNOTE_CHARS_PER_INCH = 15
"""Characters of footnote text per inch of figure width when wrapping it (7-point DejaVu Sans
averages under 4.5 points, i.e. 16 characters, per character; one less leaves room)."""
GAPS = {"between_columns": 0.75, "between_rows": 0.65}
"""Inches between panels: the y label and tick labels of the panel to the right; the title of
the panel below, and the x tick labels and label a panel has when nothing is drawn below it."""


WINDOW = f"{WINDOW_DAYS}-day window"
"""The window of most rates in the time series (see :mod:`govsim.metrics`)."""
END_OF_DAY = {"backlog", "trust_mean", "efficacy_mean", "official_burnout_mean"}
"""Metrics that are a state at the end of each day rather than a rate over a window."""


def metric_window(column: str) -> str:
    """What one time-series value of a metric covers, in a few words for a panel title.

    Args:
        column: A metric name.

    Returns:
        ``"30-day window"`` (cases created in the trailing :data:`~govsim.metrics.WINDOW_DAYS`
        days, as they stood that day), ``"per day"``, ``"end of day"``, ``"last PB vote"``,
        ``"last assessment period"``,
        ``"cumulative"``, ``"since day 0"`` (the M/M/c validation mode), or ``""`` for a metric
        this module does not know.
    """
    if column == "cases_reported":
        return "per day"
    if column in END_OF_DAY or column.startswith("practice_"):
        return "end of day"
    if column == "pb_projects_completed":
        return "cumulative"
    if column == "indicator_validity":
        return "last assessment period"
    if column.startswith("pb_"):
        return "last PB vote"
    if column in QUEUE_METRICS:
        return "since day 0"
    if column in METRICS:
        return WINDOW
    return ""


def constant_columns(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, float]:
    """Metrics with one value on every day that has one (at least two such days).

    Args:
        frame: The time series.
        columns: The metric columns to look at.

    Returns:
        ``{column: its value}`` for each constant column, in ``columns`` order.
    """
    out = {}
    for col in columns:
        s = frame[col].dropna()
        if len(s) >= 2:
            lo, hi = s.min(), s.max()
            if lo == hi:
                out[col] = float(lo)
    return out


def footnote_lines(
    timeseries: pd.DataFrame,
    drawn: Sequence[str],
    constant: dict[str, float],
    left_out: Sequence[str],
    width: float,
) -> list[str]:
    """The footnote, wrapped to the figure's width: windows, constant metrics, metrics left out.

    Args:
        timeseries: The time series (its last ``day`` is the run's length).
        drawn: The metrics drawn.
        constant: Constant metrics and their values (not drawn).
        left_out: Metrics not drawn for lack of room.
        width: The figure's width in inches.

    Returns:
        The footnote's lines (none if there is nothing to say).
    """
    parts = []
    if any(metric_window(c) == WINDOW for c in drawn):
        last = int(timeseries["day"].iloc[-1]) if "day" in timeseries.columns else len(timeseries)
        if last > 2 * SETTLE_DAYS:
            cohort = (
                f"summary.json: the settled cohort, cases created before day {last - SETTLE_DAYS}, "
                f"as they stood on day {last}"
            )
        else:
            cohort = f"summary.json: all cases, as they stood on day {last} (too short a run to leave {SETTLE_DAYS} days to settle)"
        parts.append(
            f"{WINDOW}: the cases created in the {WINDOW_DAYS} days up to that day, as they stood "
            "that day (the newest are still open, so closure and resolution read low at the end); "
            + cohort
            + ", so the last day and the summary differ."
        )
    by_value: dict[str, list[str]] = {}
    for col, value in constant.items():
        by_value.setdefault(f"{value:.4g}", []).append(col)
    parts += [
        f"Constant at {value} in this run (not drawn): {', '.join(cols)}."
        for value, cols in by_value.items()
    ]
    marks = reform_marks(timeseries)
    if marks:
        parts.append(
            "Dashed lines: the timeline's reforms, from the start of day "
            + "; ".join(f"{x:g} ({label})" for x, label in marks)
            + "."
        )
    if left_out:
        parts.append(
            f"{len(left_out)} more metrics not drawn for lack of room (see the time series): "
            + ", ".join(left_out[:12])
            + (" ..." if len(left_out) > 12 else "")
        )
    chars = max(int(width * FOOTNOTE_CHARS_PER_INCH), 20)
    return [line for part in parts for line in textwrap.wrap(part, chars)]


def _numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Metric columns worth plotting: numeric (not bool), not the day, not all missing."""
    out = []
    for col in frame.columns:
        if col == "day":
            continue
        s = frame[col]
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            continue
        if s.isna().all():
            continue
        out.append(str(col))
    return out


def _chunks(cols: Sequence[str], size: int) -> list[list[str]]:
    return [list(cols[i : i + size]) for i in range(0, len(cols), size)]


def plan_panels(columns: Sequence[str]) -> tuple[list[tuple[Panel, list[str]]], list[str]]:
    """Decide which columns go in which panel.

    Args:
        columns: The plottable metric columns, in time-series order.

    Returns:
        The panels with their columns, and the columns left out for lack of room.
    """
    remaining = list(columns)
    planned: list[tuple[Panel, list[str]]] = []
    for panel in MAIN_PANELS:
        cols: list[str] = []
        for pattern in panel.patterns:
            cols += [c for c in remaining if fnmatch.fnmatchcase(c, pattern) and c not in cols]
        if not cols:
            continue
        remaining = [c for c in remaining if c not in cols]
        for i, chunk in enumerate(_chunks(cols, MAX_LINES)):
            title = panel.title if i == 0 else f"{panel.title} (cont.)"
            planned.append((Panel(title, panel.patterns, panel.ylabel, panel.share), chunk))
    groups: dict[str, list[str]] = {}
    for c in remaining:
        groups.setdefault(c.split("_", 1)[0], []).append(c)
    for prefix, cols in groups.items():
        for chunk in _chunks(cols, MAX_LINES):
            title = chunk[0] if len(chunk) == 1 else f"{prefix}_*"
            planned.append((Panel(title, ()), chunk))
    left_out = [c for _, cols in planned[MAX_PANELS:] for c in cols]
    return planned[:MAX_PANELS], left_out


def _grid_margins(
    width: float, height: float, nrows: int, ncols: int, *, title: bool, footnote: int
) -> dict[str, float]:
    """The grid's margins and gaps (:data:`MARGINS`, :data:`GAPS`, in inches) as the fractions
    Matplotlib's ``GridSpec`` takes.

    Fixed margins instead of ``layout="constrained"``: the panels are alike and their labels
    short, so the room they need is known in advance, and the layout engine, which draws every
    label of every panel several times to measure it, made a 365-day baseline's dashboard take
    about 4.2 s instead of 2.5 s. ``footnote`` is its number of lines.
    """
    top = MARGINS["title"] if title else MARGINS["top"]
    bottom = MARGINS["bottom"] + MARGINS["footnote"] * footnote
    gap_x, gap_y = GAPS["between_columns"], GAPS["between_rows"]
    axes_width = (width - MARGINS["left"] - MARGINS["right"] - (ncols - 1) * gap_x) / ncols
    axes_height = (height - top - bottom - (nrows - 1) * gap_y) / nrows
    return {
        "left": MARGINS["left"] / width,
        "right": 1.0 - MARGINS["right"] / width,
        "top": 1.0 - top / height,
        "bottom": bottom / height,
        "wspace": gap_x / axes_width,
        "hspace": gap_y / axes_height,
    }


def panel_title(panel: Panel, cols: Sequence[str]) -> tuple[str, dict[str, str]]:
    """A panel's title with the window of its values, and legend labels for the columns.

    The title names the window most of the panel's metrics share (:func:`metric_window`; a tie
    goes to the trailing window of the rates); a metric with another window says so in its
    legend label.

    Args:
        panel: The panel.
        cols: The metrics it draws.

    Returns:
        The title, and ``{column: legend label}``.
    """
    windows = [metric_window(c) for c in cols]
    common = max(windows, key=lambda w: (windows.count(w), w == WINDOW))
    title = f"{panel.title} · {common}" if common else panel.title
    labels = {
        c: f"{c} ({w})" if w and w != common else c for c, w in zip(cols, windows, strict=True)
    }
    return title, labels


def reform_marks(timeseries: pd.DataFrame) -> list[tuple[float, str]]:
    """Where a timeline's changes took effect: ``(day, label)`` for each marked row.

    The ``reform`` column marks the first day run under a change (row ``day = d + 1`` for a
    change applied at the start of day ``d``); the line goes at ``d``, where the change began.
    """
    if "reform" not in timeseries.columns or "day" not in timeseries.columns:
        return []
    marked = timeseries[timeseries["reform"].fillna("").astype(str) != ""]
    return [
        (float(day) - 1.0, str(label))
        for day, label in zip(marked["day"], marked["reform"], strict=True)
    ]


def _draw_reforms(ax: Axes, marks: Sequence[tuple[float, str]], *, labelled: bool) -> None:
    """Dashed vertical lines at the reforms' days, with their labels when ``labelled``."""
    for x, label in marks:
        ax.axvline(x, color="0.35", linestyle="--", linewidth=0.8, zorder=0)
        if labelled:
            ax.annotate(
                textwrap.shorten(label, 40, placeholder="..."),
                xy=(x, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, -2),
                textcoords="offset points",
                rotation=90,
                va="top",
                ha="left",
                fontsize=6,
                color="0.25",
            )


def dashboard_figure(timeseries: pd.DataFrame, *, title: str = "") -> Figure:
    """Draw the dashboard of a run's time series.

    Args:
        timeseries: One row per day: a ``day`` column (else the row number is used) and one
            column per metric.
        title: The figure title (e.g. scenario, seed and days).

    Returns:
        A Matplotlib figure attached to an Agg canvas.
    """
    x = timeseries["day"] if "day" in timeseries.columns else pd.Series(range(len(timeseries)))
    columns = _numeric_columns(timeseries)
    constant = constant_columns(timeseries, columns)
    panels, left_out = plan_panels([c for c in columns if c not in constant])
    n = max(len(panels), 1)
    ncols = min(NCOLS, n)
    nrows = math.ceil(n / ncols)
    width = PANEL_WIDTH * ncols
    drawn = [c for _, cols in panels for c in cols]
    marks = reform_marks(timeseries)  # a timeline's reforms (govsim.timeline)
    footnote = footnote_lines(timeseries, drawn, constant, left_out, width)
    height = PANEL_HEIGHT * nrows + 0.8 + MARGINS["footnote"] * len(footnote)
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    if title:
        fig.suptitle(title, fontsize=13, y=1.0 - 0.12 / height, va="top")
    if footnote:
        fig.text(
            0.01,
            0.04 / height,
            "\n".join(footnote),
            fontsize=FOOTNOTE_SIZE,
            va="bottom",
            linespacing=1.25,
        )
    if not panels:
        ax = fig.add_subplot(1, 1, 1)
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no varying metrics to plot", ha="center", va="center")
        return fig
    axes = fig.subplots(
        nrows,
        ncols,
        squeeze=False,
        sharex=True,
        gridspec_kw=_grid_margins(
            width, height, nrows, ncols, title=bool(title), footnote=len(footnote)
        ),
    )
    for i, ax in enumerate(axes.flat):
        if i >= len(panels):
            ax.set_axis_off()
            continue
        panel, cols = panels[i]
        heading, labels = panel_title(panel, cols)
        for col in cols:
            ax.plot(x, timeseries[col], linewidth=1.2, label=labels[col])
        _draw_reforms(ax, marks, labelled=i < ncols)
        ax.set_title(heading, fontsize=10)
        if panel.ylabel:
            ax.set_ylabel(panel.ylabel, fontsize=8)
        if panel.share:
            ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        if len(cols) > 1 or panel.title != cols[0]:
            ax.legend(fontsize=7, loc="best", frameon=False)
        if i // ncols == nrows - 1 or i + ncols >= len(panels):
            ax.set_xlabel("day", fontsize=8)
            ax.tick_params(labelbottom=True)
    return fig


def save_dashboard(
    timeseries: pd.DataFrame, path: Path, *, title: str = "", dpi: int = 110
) -> None:
    """Draw the dashboard and write it as PNG to ``path`` (the caller makes it atomic).

    Args:
        timeseries: The run's time series.
        path: Where to write the PNG.
        title: The figure title.
        dpi: Resolution.
    """
    fig = dashboard_figure(timeseries, title=title)
    fig.savefig(path, dpi=dpi, format="png", metadata={"Software": None})
