"""ECharts options for the demo's views, built from a :class:`~govsim.viz.pair.CityPair`.

ECharts (bundled by ``solara-assets``, so the page needs no network) updates a chart in place when
its option changes, which keeps the views smooth while the cities play. Options are plain dicts
(JSON-safe: missing values are ``None``); animation is off so that a chart redraws at once.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from govsim.viz.i18n import (
    COLOURINGS_TEXT,
    STATES_TEXT,
    Lang,
    metric_label,
    preset_label,
    ui,
)
from govsim.viz.pair import CHART_GROUPS, CITIES, CityPair, consistent

FONT_FAMILY = "Roboto, 'Noto Sans SC', 'Noto Sans CJK SC', sans-serif"
"""Text of every chart: the page's font, then the bundled CJK font (govsim/public/noto-sans-sc)."""
PROJECTOR_FONT_SIZE = 16

PALETTE: tuple[str, ...] = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#7f3c8d", "#8c564b")
CITY_COLOURS: dict[str, str] = {"A": "#607d8b", "B": "#e65100"}
FIXED_RANGES: dict[str, tuple[float, float]] = {
    "responsiveness": (0.0, 1.0),
    "suspension": (0.0, 1.0),
    "trust": (0.0, 1.0),
}
"""Y ranges of charts whose metrics are shares (the equity gaps get a shared symmetric range)."""
PIPELINE_STATES: tuple[str, ...] = ("accepted", "dispatched", "returned", "in_progress", "reopened")
FINISHED_STATES: tuple[str, ...] = ("closed", "verified", "withdrawn")
_COLOUR_SCALES: dict[str, list[str]] = {
    "open_cases": ["#fff5eb", "#fd8d3c", "#7f2704"],
    "trust": ["#b2182b", "#f7f7f7", "#2166ac"],
    "literacy": ["#f7fcf5", "#74c476", "#00441b"],
}


def _city_titles(lang: Lang, pair: CityPair | None = None) -> list[dict]:
    """The two cities' titles above their side-by-side panels."""
    return [
        {
            "text": city_label(city, lang, pair),
            "left": TITLE_AT[k],
            "textAlign": "center",
            "textStyle": {"fontSize": 13, "color": CITY_COLOURS[city]},
        }
        for k, city in enumerate(("A", "B"))
    ]


def city_label(city: str, lang: Lang, pair: CityPair | None = None) -> str:
    """Title of a city's panel: "City A: preset" and "City B: your changes", or, where city B
    runs another scenario (a lesson's), each city's scenario."""
    if pair is not None and pair.preset_b is not None:
        name = pair.preset if city == "A" else pair.preset_b
        return f"{city}: {preset_label(name, lang)}"
    return ui("city_a" if city == "A" else "city_b", lang)


def styled(option: dict[str, Any], projector: bool = False) -> dict[str, Any]:
    """``option`` with the page's fonts (Chinese included) and, for a projector, larger text."""
    text: dict[str, Any] = {"fontFamily": FONT_FAMILY}
    if projector:
        text["fontSize"] = PROJECTOR_FONT_SIZE
        legend = option.get("legend")
        if isinstance(legend, dict):
            option = {
                **option,
                "legend": {**legend, "textStyle": {"fontSize": PROJECTOR_FONT_SIZE}},
            }
    return {**option, "textStyle": text}


@consistent
def lesson_option(pair: CityPair, metric: str, lang: Lang) -> dict[str, Any]:
    """One lesson metric: A and B (lines with bands) left, B - A (line with band) right.

    The bands are :meth:`CityPair.band`: each line is the 30-day mean of the metric's daily
    values, the band ± one standard deviation of those days.
    """
    x_axis = {
        "type": "value",
        "min": 0,
        "max": max(30, pair.day),
        "name": ui("day", lang),
        "nameLocation": "middle",
        "nameGap": 22,
    }
    series: list[dict[str, Any]] = []
    panels = (("A", 0), ("B", 0), ("B-A", 1))
    for city, k in panels:
        days, mean, sd = pair.band(city, metric)
        colour = CITY_COLOURS.get(city, "#37474f")
        name = city if city != "B-A" else "B − A"
        lower = [None if m is None or s is None else m - s for m, s in zip(mean, sd, strict=True)]
        width = [None if s is None else 2 * s for s in sd]
        stack = f"band-{city}"
        common = {
            "xAxisIndex": k,
            "yAxisIndex": k,
            "showSymbol": False,
            "stack": stack,
            "stackStrategy": "all",  # a band may cross 0 (B - A)
        }
        series.append(
            {
                **common,
                "type": "line",
                "name": f"{name} band",
                "data": [[d, v] for d, v in zip(days, lower, strict=True)],
                "lineStyle": {"opacity": 0},
                "silent": True,
                "tooltip": {"show": False},
            }
        )
        series.append(
            {
                **common,
                "type": "line",
                "name": f"{name} band",
                "data": [[d, v] for d, v in zip(days, width, strict=True)],
                "lineStyle": {"opacity": 0},
                "areaStyle": {"color": colour, "opacity": 0.18},
                "silent": True,
                "tooltip": {"show": False},
            }
        )
        series.append(
            {
                "type": "line",
                "name": name,
                "xAxisIndex": k,
                "yAxisIndex": k,
                "showSymbol": pair.day <= 1,
                "data": [[d, v] for d, v in zip(days, mean, strict=True)],
                "color": colour,
                "lineStyle": {"width": 2.2},
                "connectNulls": False,
                **(
                    {"markLine": {"silent": True, "symbol": "none", "data": [{"yAxis": 0}]}}
                    if city == "B-A"
                    else {}
                ),
            }
        )
    titles = [
        {"text": metric_label(metric, lang), "left": TITLE_AT[0], "textAlign": "center"},
        {"text": ui("b_minus_a", lang), "left": TITLE_AT[1], "textAlign": "center"},
    ]
    for t in titles:
        t["textStyle"] = {"fontSize": 13}
    return {
        "animation": False,
        "title": titles,
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0, "data": ["A", "B", "B − A"], "textStyle": {"fontSize": 11}},
        "grid": [{**at, "top": 30, "bottom": 58} for at in SIDE_BY_SIDE],
        "xAxis": [{**x_axis, "gridIndex": k} for k in (0, 1)],
        "yAxis": [{"type": "value", "scale": True, "gridIndex": k} for k in (0, 1)],
        "series": series,
    }


@consistent
def y_range(pair: CityPair, group: str) -> tuple[float, float]:
    """One y range for both cities' charts of a group, so the two panels compare at a glance."""
    if group in FIXED_RANGES:
        return FIXED_RANGES[group]
    values = np.abs(
        np.concatenate([pair.values(c, m) for c in CITIES for m in CHART_GROUPS[group]])
    )
    values = values[np.isfinite(values)]
    top = float(values.max()) if len(values) else 0.0
    top = max(0.1, math.ceil(top * 10 + 1e-9) / 10)
    return (-top, top)


SIDE_BY_SIDE: tuple[dict[str, str], ...] = (
    {"left": "6%", "right": "53%"},
    {"left": "55%", "right": "2%"},
)
"""Where city A's and city B's panels sit in a side-by-side chart."""
TITLE_AT: tuple[str, ...] = ("27%", "76%")


@consistent
def line_option(pair: CityPair, group: str, lang: Lang) -> dict[str, Any]:
    """Daily lines of a chart group's metrics: city A's panel left, city B's right.

    One chart with two panels rather than two charts: half the browser work per update, and one
    legend that shows or hides a metric in both cities at once.
    """
    lo, hi = y_range(pair, group)
    metrics = CHART_GROUPS[group]
    series = []
    for k in (0, 1):
        for i, m in enumerate(metrics):
            series.append(
                {
                    "type": "line",
                    "name": metric_label(m, lang),
                    "datasetIndex": k,
                    "encode": {"x": "day", "y": m},
                    "xAxisIndex": k,
                    "yAxisIndex": k,
                    "showSymbol": pair.day <= 1,
                    "connectNulls": False,
                    "lineStyle": {"width": 2.5 if m == "dsi" else 1.8},
                    "color": PALETTE[i % len(PALETTE)],
                }
            )
    x_axis = {
        "type": "value",
        "min": 0,
        "max": max(30, pair.day),
        "name": ui("day", lang),
        "nameLocation": "middle",
        "nameGap": 22,
    }
    return {
        "animation": False,
        "title": _city_titles(lang, pair),
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0, "type": "scroll", "textStyle": {"fontSize": 11}},
        "grid": [{**at, "top": 30, "bottom": 58} for at in SIDE_BY_SIDE],
        "xAxis": [{**x_axis, "gridIndex": k} for k in (0, 1)],
        "yAxis": [{"type": "value", "min": lo, "max": hi, "gridIndex": k} for k in (0, 1)],
        "dataset": [{"source": pair.columns(city, metrics)} for city in ("A", "B")],
        "series": series,
    }


def _community_grid(
    pair: CityPair, lang: Lang
) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Axis labels and the (x, y) tile of every community: a column per street, by district."""
    city = pair.a.city
    street = city.community_street
    first_of_street = np.searchsorted(street, np.arange(city.n_streets))
    row = np.arange(city.n_communities) - first_of_street[street]
    d_word, s_word = ("区", "街道") if lang == "zh" else ("D", "S")
    xlabels = [
        f"{d_word}{city.street_district[s] + 1}·{s_word}{s + 1}" for s in range(city.n_streets)
    ]
    n_rows = int(row.max()) + 1 if len(row) else 0
    ylabels = [f"{'社区' if lang == 'zh' else 'C'}{r + 1}" for r in range(n_rows)]
    return xlabels, ylabels, street, row


@consistent
def colour_range(pair: CityPair, colouring: str) -> tuple[float, float]:
    """A colour scale shared by both maps."""
    values = np.concatenate([pair.community_values(c, colouring) for c in ("A", "B")])
    values = values[np.isfinite(values)]
    if colouring == "open_cases":
        return (0.0, max(1.0, float(values.max()) if len(values) else 1.0))
    if not len(values):
        return (0.0, 1.0)
    lo, hi = float(values.min()), float(values.max())
    pad = max(0.01, 0.05 * (hi - lo))
    return (max(0.0, lo - pad), min(1.0, hi + pad))


@consistent
def city_map_option(pair: CityPair, colouring: str, lang: Lang) -> dict[str, Any]:
    """Communities of both cities as tiles coloured on one scale: city A left, city B right."""
    xlabels, ylabels, x, y = _community_grid(pair, lang)
    vrange = colour_range(pair, colouring)
    digits = 0 if colouring == "open_cases" else 2
    series = []
    for k, city in enumerate(("A", "B")):
        values = pair.community_values(city, colouring)
        data = [
            [int(xi), int(yi), round(float(v), digits) if math.isfinite(v) else None]
            for xi, yi, v in zip(x, y, values, strict=True)
        ]
        series.append(
            {
                "type": "heatmap",
                "name": city_label(city, lang),
                "data": data,
                "xAxisIndex": k,
                "yAxisIndex": k,
                "label": {"show": True, "fontSize": 9},
                "itemStyle": {"borderColor": "#ffffff", "borderWidth": 2},
            }
        )
    return {
        "animation": False,
        "title": _city_titles(lang, pair),
        "tooltip": {"position": "top"},
        "grid": [{**at, "top": 30, "bottom": 80, "containLabel": True} for at in SIDE_BY_SIDE],
        "xAxis": [
            {
                "type": "category",
                "data": xlabels,
                "gridIndex": k,
                "axisLabel": {"fontSize": 10, "rotate": 30},
            }
            for k in (0, 1)
        ],
        "yAxis": [
            {"type": "category", "data": ylabels, "inverse": True, "gridIndex": k} for k in (0, 1)
        ],
        "visualMap": {
            "min": vrange[0],
            "max": vrange[1],
            "calculable": False,
            "orient": "horizontal",
            "left": "center",
            "bottom": 0,
            "itemHeight": 160,
            "precision": digits,
            "text": [
                f"{vrange[1]:.{digits}f}",
                f"{COLOURINGS_TEXT[colouring][lang]}   {vrange[0]:.{digits}f}",
            ],
            "inRange": {"color": _COLOUR_SCALES[colouring]},
        },
        "series": series,
    }


@consistent
def state_bars_option(
    pair: CityPair, states: tuple[str, ...], title: str, lang: Lang
) -> dict[str, Any]:
    """Cases per recorded platform state, city A and city B side by side."""
    counts = {c: pair.state_counts(c) for c in ("A", "B")}
    return {
        "animation": False,
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 50, "right": 10, "top": 30, "bottom": 50},
        "xAxis": {"type": "category", "data": [STATES_TEXT[s][lang] for s in states]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "name": city_label(c, lang),
                "data": [counts[c][s] for s in states],
                "color": CITY_COLOURS[c],
                "label": {"show": True, "position": "top", "fontSize": 10},
            }
            for c in ("A", "B")
        ],
    }
