"""Tests of the ECharts options: JSON-safe, shared scales, every community and state drawn."""

from __future__ import annotations

import json

import pytest

from govsim.viz.charts import (
    FINISHED_STATES,
    PIPELINE_STATES,
    city_map_option,
    colour_range,
    line_option,
    state_bars_option,
    y_range,
)
from govsim.viz.pair import CHART_GROUPS, CITY_COLOURINGS, CityPair

from .conftest import SMALL


@pytest.fixture(scope="module")
def pair() -> CityPair:
    pair = CityPair(citizens=SMALL, dispatch_mode="unified", data_sharing=0.9)
    for _ in range(40):
        pair.step()
    return pair


def strict_json(option: dict) -> str:
    """JSON as the browser must parse it: NaN or infinity would break the page."""
    return json.dumps(option, allow_nan=False)


@pytest.mark.parametrize("group", list(CHART_GROUPS))
def test_line_options_draw_each_metric_for_both_cities_on_one_scale(pair, group) -> None:
    option = line_option(pair, group, "en")
    strict_json(option)
    metrics = CHART_GROUPS[group]
    assert len(option["series"]) == 2 * len(metrics)
    lo, hi = y_range(pair, group)
    assert [(a["min"], a["max"], a["gridIndex"]) for a in option["yAxis"]] == [
        (lo, hi, 0),
        (lo, hi, 1),
    ]
    assert [a["max"] for a in option["xAxis"]] == [40, 40]
    for k, city in enumerate("AB"):
        assert option["dataset"][k]["source"] == pair.columns(city, metrics)
        panel = [s for s in option["series"] if s["xAxisIndex"] == k]
        assert [(s["yAxisIndex"], s["datasetIndex"]) for s in panel] == [(k, k)] * len(metrics)
        assert [s["encode"] for s in panel] == [{"x": "day", "y": m} for m in metrics]
        for m in metrics:
            column = option["dataset"][k]["source"][m]
            values = [v for v in column if v is not None]
            assert len(column) == 40 and all(lo <= v <= hi for v in values), (city, m)


@pytest.mark.parametrize("colouring", CITY_COLOURINGS)
def test_city_maps_put_every_community_on_its_own_tile(pair, colouring) -> None:
    option = city_map_option(pair, colouring, "zh")
    strict_json(option)
    lo, hi = colour_range(pair, colouring)
    assert (option["visualMap"]["min"], option["visualMap"]["max"]) == (lo, hi)
    n = pair.a.city.n_communities
    assert len(option["series"]) == 2
    for k, (series, city) in enumerate(zip(option["series"], "AB", strict=True)):
        assert (series["xAxisIndex"], series["yAxisIndex"]) == (k, k)
        data = series["data"]
        assert len(data) == n and len({(x, y) for x, y, _ in data}) == n
        assert len(option["xAxis"][k]["data"]) == pair.a.city.n_streets
        values = [v for _, _, v in data if v is not None]
        assert all(lo <= v <= hi for v in values)
        if colouring == "open_cases":
            assert sum(values) == pair.cities[city].community_open_cases().sum()


def test_state_bars_show_the_recorded_counts(pair) -> None:
    for states in (PIPELINE_STATES, FINISHED_STATES):
        option = state_bars_option(pair, states, "t", "en")
        strict_json(option)
        for series, city in zip(option["series"], "AB", strict=True):
            counts = pair.state_counts(city)
            assert series["data"] == [counts[s] for s in states]
    assert set(PIPELINE_STATES) | set(FINISHED_STATES) == set(pair.state_counts("A"))
