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
def test_line_options_draw_each_metric_on_one_scale_for_both_cities(pair, group) -> None:
    options = {c: line_option(pair, group, c, "en") for c in "AB"}
    for option in options.values():
        strict_json(option)
        assert len(option["series"]) == len(CHART_GROUPS[group])
        assert all(len(s["data"]) == 40 for s in option["series"])
        assert option["xAxis"]["max"] == 40
    lo, hi = y_range(pair, group)
    assert options["A"]["yAxis"] == options["B"]["yAxis"] == {"type": "value", "min": lo, "max": hi}
    for city in "AB":
        for m in CHART_GROUPS[group]:
            for v in pair.history[city][m]:
                assert v != v or lo <= v <= hi, (group, m, v)  # every value inside the scale


@pytest.mark.parametrize("colouring", CITY_COLOURINGS)
def test_city_maps_put_every_community_on_its_own_tile(pair, colouring) -> None:
    vrange = colour_range(pair, colouring)
    n = pair.a.city.n_communities
    for city in "AB":
        option = city_map_option(pair, city, colouring, "zh", vrange)
        strict_json(option)
        data = option["series"][0]["data"]
        assert len(data) == n
        assert len({(x, y) for x, y, _ in data}) == n
        assert len(option["xAxis"]["data"]) == pair.a.city.n_streets
        values = [v for _, _, v in data if v is not None]
        assert all(vrange[0] <= v <= vrange[1] for v in values)
        assert option["visualMap"]["min"] == vrange[0] and option["visualMap"]["max"] == vrange[1]


def test_state_bars_show_the_recorded_counts(pair) -> None:
    for states in (PIPELINE_STATES, FINISHED_STATES):
        option = state_bars_option(pair, states, "t", "en")
        strict_json(option)
        for series, city in zip(option["series"], "AB", strict=True):
            counts = pair.state_counts(city)
            assert series["data"] == [counts[s] for s in states]
    assert set(PIPELINE_STATES) | set(FINISHED_STATES) == set(pair.state_counts("A"))
