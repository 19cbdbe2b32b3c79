"""Tests of the lever registry: names, scenario paths, ranges, presets, overrides."""

from __future__ import annotations

import inspect

import pytest

from govsim.config import (
    ScenarioError,
    packaged_scenarios,
    scenario_from_dict,
    scenario_to_dict,
    set_path,
)
from govsim.viz.levers import (
    LEVER_GROUPS,
    LEVERS,
    LEVERS_BY_NAME,
    PRESET_ORDER,
    classroom_presets,
    coerce,
    get_path,
    lever_overrides,
    lever_values,
    load_preset,
)
from govsim.viz.pair import CityPair

BASE = scenario_to_dict(load_preset("baseline"))


def with_value(path: str, value: object):
    return scenario_from_dict(set_path(BASE, path, value))


def test_names_are_unique_and_match_the_pair_keywords() -> None:
    assert len(LEVERS_BY_NAME) == len(LEVERS)
    keywords = [
        p.name
        for p in inspect.signature(CityPair.__init__).parameters.values()
        if p.kind is p.KEYWORD_ONLY
    ]
    cities = ["preset", "citizens", "seed", "preset_b", "overrides_a", "overrides_b"]
    assert keywords == [*cities, *(lv.name for lv in LEVERS)]
    assert {lv.group for lv in LEVERS} == set(LEVER_GROUPS)


@pytest.mark.parametrize("lever", LEVERS, ids=lambda lv: lv.name)
def test_each_lever_sets_a_real_parameter_within_the_schema(lever) -> None:
    """Both ends of a slider (every choice of a select, both states of a switch) validate and
    land at the lever's path; a value outside the schema's range does not validate."""
    if lever.kind == "select":
        values = list(lever.choices)
    elif lever.kind == "switch":
        values = [True, False]
    else:
        values = [coerce(lever, lever.low), coerce(lever, lever.high)]
    for value in values:
        scenario = with_value(lever.path, value)
        assert get_path(scenario_to_dict(scenario), lever.path) == value
        assert lever_values(scenario)[lever.name] == value
    if lever.kind == "select":
        with pytest.raises(ScenarioError):
            with_value(lever.path, "no-such-mode")
    if lever.kind in ("float", "int"):
        assert lever.low < lever.high and 0 < lever.step <= lever.high - lever.low


@pytest.mark.parametrize("preset", sorted(packaged_scenarios()))
def test_every_preset_value_fits_its_lever(preset: str) -> None:
    """A preset's value must be reachable on the slider (in range and on the step grid)."""
    for name, value in lever_values(load_preset(preset)).items():
        lever = LEVERS_BY_NAME[name]
        if lever.kind in ("float", "int"):
            assert lever.low <= value <= lever.high, (preset, name, value)
            steps = (value - lever.low) / lever.step
            assert abs(steps - round(steps)) < 1e-9, (preset, name, value)


def test_classroom_presets_are_the_city_scenarios_in_lecture_order() -> None:
    presets = classroom_presets()
    packaged = set(packaged_scenarios())
    assert "queue_mmc" in packaged and "queue_mmc" not in presets
    assert set(presets) == {p for p in packaged if not load_preset(p).queue.enabled}
    ordered = [p for p in PRESET_ORDER if p in packaged]
    assert presets[: len(ordered)] == ordered


def test_overrides_list_only_changed_levers() -> None:
    base = load_preset("baseline")
    values = lever_values(base)
    assert lever_overrides(base, values) == {}
    values.update(data_sharing=0.9, dispatch_mode="unified", weight_traces=2, apps=3.0)
    assert lever_overrides(base, values) == {
        "dispatch.data_sharing": 0.9,
        "dispatch.mode": "unified",
        "assessment.weights.traces": 2.0,
        "officials.apps": 3,
    }


def test_unknown_lever_and_bad_values_are_refused_with_what_was_expected() -> None:
    base = load_preset("baseline")
    with pytest.raises(ValueError, match="unknown lever 'data_shar'; levers are: dispatch_mode"):
        lever_overrides(base, {"data_shar": 0.5})
    with pytest.raises(
        ValueError, match=r"lever apps \(officials.apps\): got 2.5, expected a whole"
    ):
        coerce(LEVERS_BY_NAME["apps"], 2.5)
    with pytest.raises(ValueError, match="expected one of fragmented, unified"):
        coerce(LEVERS_BY_NAME["dispatch_mode"], "central")
    with pytest.raises(ValueError, match="expected true or false"):
        coerce(LEVERS_BY_NAME["summoning"], 1)
    with pytest.raises(ValueError, match="expected a number"):
        coerce(LEVERS_BY_NAME["audit_rate"], "lots")
    assert coerce(LEVERS_BY_NAME["summoning"], "True") is True
    assert coerce(LEVERS_BY_NAME["apps"], 3.0) == 3
