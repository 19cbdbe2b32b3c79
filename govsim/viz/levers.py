"""The classroom levers: flat control names mapped to dotted scenario paths, and the presets.

Mesa's SolaraViz drives models through flat keyword parameters; a govsim scenario is nested. Each
:class:`Lever` names one control of the demo (``data_sharing``) and the scenario parameter it sets
(``dispatch.data_sharing``), with the kind of control and its range. Ranges cover every packaged
scenario's value and stay inside the schema's bounds (a test checks both).

The presets are the packaged scenarios a class can start from (:func:`classroom_presets`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from govsim.config import load_scenario, packaged_scenarios, scenario_to_dict
from govsim.schema import Scenario

LeverKind = Literal["select", "switch", "float", "int"]

PRESET_ORDER: tuple[str, ...] = (
    "baseline",
    "fragmented",
    "one_network",
    "whistle",
    "speed_kpi",
    "balanced_kpi",
    "trace_kpi",
    "online_only",
    "inclusive",
    "participatory_budgeting",
)
"""Presets in the order a lecture meets them; other packaged city scenarios follow, sorted."""

CLASSROOM_CITIZENS = 3000
"""Default number of citizens per city: large enough for stable rates, small enough to be smooth."""

CITIZENS_RANGE = (500, 20_000, 500)
"""Min, max and step of the classroom-size slider. The maximum is also the demo's maximum per city,
enforced on the server: at 20,000 citizens per city a session's two cities hold about 33 MiB after
a full year and a day of both takes about 15 ms (measured on a shared 2-core machine), so one tab
cannot take a large share of a laptop; the rates a class reads are already steady well below it,
and drawing, not simulating, sets the pace of the page."""

START_SCENARIO_ENV = "GOVSIM_DEMO_SCENARIO"
"""Environment variable naming the scenario the demo started from (set by ``govsim demo``)."""


@dataclass(frozen=True)
class Lever:
    """One control of the demo and the scenario parameter it sets.

    Attributes:
        name: Flat name (a keyword of :class:`govsim.viz.pair.CityPair`).
        path: Dotted scenario path, e.g. ``"dispatch.data_sharing"``.
        kind: ``select``, ``switch``, ``float`` or ``int``.
        group: Panel group (``dispatch``, ``assessment``, ``inclusion``, ``officials``).
        low: Lowest slider value (sliders only).
        high: Highest slider value (sliders only).
        step: Slider step (sliders only).
        choices: Allowed values (selects only).
    """

    name: str
    path: str
    kind: LeverKind
    group: str
    low: float = 0.0
    high: float = 1.0
    step: float = 0.05
    choices: tuple[str, ...] = ()


def _weight(indicator: str) -> Lever:
    return Lever(
        f"weight_{indicator}",
        f"assessment.weights.{indicator}",
        "float",
        "assessment",
        0.0,
        3.0,
        0.25,
    )


LEVERS: tuple[Lever, ...] = (
    Lever(
        "dispatch_mode", "dispatch.mode", "select", "dispatch", choices=("fragmented", "unified")
    ),
    Lever("data_sharing", "dispatch.data_sharing", "float", "dispatch", 0.0, 1.0, 0.05),
    Lever("summoning", "dispatch.summoning", "switch", "dispatch"),
    Lever("first_receiver", "dispatch.first_receiver_responsibility", "switch", "dispatch"),
    _weight("response"),
    _weight("on_time_closure"),
    _weight("closure"),
    _weight("satisfaction"),
    _weight("verified_resolution"),
    _weight("traces"),
    _weight("repeat_complaint"),
    Lever("audit_rate", "closed_loop.audit_rate", "float", "assessment", 0.0, 0.2, 0.005),
    Lever("penalty", "assessment.penalty", "float", "assessment", 0.0, 1.0, 0.05),
    Lever(
        "motivation", "assessment.learning.motivation_mean", "float", "assessment", 0.0, 2.0, 0.1
    ),
    Lever("selection", "assessment.learning.selection", "switch", "assessment"),
    Lever("offline_channels", "channels.offline", "switch", "inclusion"),
    Lever("assisted_reporting", "channels.assisted", "switch", "inclusion"),
    Lever("force_online", "boundary.force_online", "switch", "inclusion"),
    Lever("old_literacy", "population.literacy.old.mean", "float", "inclusion", 0.05, 0.95, 0.05),
    Lever("apps", "officials.apps", "int", "officials", 1, 6, 1),
)
"""Every lever of the demo, in panel order."""

LEVERS_BY_NAME: dict[str, Lever] = {lv.name: lv for lv in LEVERS}
LEVER_GROUPS: tuple[str, ...] = ("dispatch", "assessment", "inclusion", "officials")


def get_path(data: dict[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` in nested ``data``; ``None`` where a mapping lacks the key."""
    cur: Any = data
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def lever_values(scenario: Scenario) -> dict[str, Any]:
    """The value of every lever in ``scenario`` (an indicator weight left out counts as 0)."""
    data = scenario_to_dict(scenario)
    out: dict[str, Any] = {}
    for lv in LEVERS:
        value = get_path(data, lv.path)
        if value is None and lv.path.startswith("assessment.weights."):
            value = 0.0
        out[lv.name] = coerce(lv, value)
    return out


def coerce(lever: Lever, value: Any) -> Any:
    """``value`` as the lever's type (what a widget may send: an int for a float, a str for a bool).

    Raises:
        ValueError: if the value does not fit the lever (where, what, what was expected).
    """
    where = f"lever {lever.name} ({lever.path})"
    if lever.kind == "select":
        if value not in lever.choices:
            raise ValueError(f"{where}: got {value!r}, expected one of {', '.join(lever.choices)}")
        return str(value)
    if lever.kind == "switch":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(f"{where}: got {value!r}, expected true or false")
    if isinstance(value, bool):
        raise ValueError(f"{where}: got {value!r}, expected a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{where}: got {_short(value)}, expected a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{where}: got {value!r}, expected a finite number")
    if lever.kind == "int":
        if number != int(number):
            raise ValueError(f"{where}: got {value!r}, expected a whole number")
        return int(number)
    return number


def _short(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters (a message may quote what a client sent)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def in_range(lever: Lever, value: Any) -> Any:
    """``value`` as the lever's type, and within the control's range (a client's value).

    The page's controls cannot produce anything else, but a client can send any value over the
    websocket: this is the server's check, with the same bounds as the control.

    Raises:
        ValueError: if the value does not fit the lever or lies outside its control's range.
    """
    value = coerce(lever, value)
    if lever.kind in ("float", "int") and not lever.low <= value <= lever.high:
        raise ValueError(
            f"lever {lever.name} ({lever.path}): got {value!r}, "
            f"expected a value from {lever.low:g} to {lever.high:g}"
        )
    return value


def lever_overrides(base: Scenario, values: dict[str, Any]) -> dict[str, Any]:
    """Dotted-path overrides that turn ``base`` into the scenario the levers describe.

    Only levers whose value differs from ``base`` are listed, so the result reads as "what was
    changed" and an unchanged lever never re-validates a value the preset already holds (a
    scenario file may hold a value outside a control's range). A changed value must lie within
    its control's range (:func:`in_range`).

    Raises:
        ValueError: for an unknown lever name or a value that does not fit its lever.
    """
    current = lever_values(base)
    out: dict[str, Any] = {}
    for name, value in values.items():
        lever = LEVERS_BY_NAME.get(name)
        if lever is None:
            raise ValueError(f"unknown lever {name!r}; levers are: {', '.join(LEVERS_BY_NAME)}")
        value = coerce(lever, value)
        if value != current[name]:
            out[lever.path] = in_range(lever, value)
    return out


@lru_cache(maxsize=64)
def load_preset(ref: str) -> Scenario:
    """Load a preset (a packaged scenario name or a scenario file), cached per process.

    Raises:
        govsim.config.ScenarioError: if the scenario is missing or invalid.
    """
    return load_scenario(ref)


def classroom_presets() -> list[str]:
    """Packaged scenarios that describe a city (not the M/M/c validation queue), lecture order."""
    names = packaged_scenarios()
    ordered = [n for n in PRESET_ORDER if n in names]
    ordered += sorted(n for n in names if n not in PRESET_ORDER)
    return [n for n in ordered if not load_preset(n).queue.enabled]


def start_scenario() -> str:
    """The scenario the demo started from: ``$GOVSIM_DEMO_SCENARIO`` or ``baseline``."""
    return os.environ.get(START_SCENARIO_ENV) or "baseline"


def preset_catalogue() -> dict[str, str]:
    """Every preset a client may choose: its name on the page and the scenario it loads.

    The packaged city scenarios by name, and the scenario ``govsim demo`` started from: a file
    appears under its file name only, so that no path of the server reaches a page.
    """
    refs = {name: name for name in classroom_presets()}
    start = start_scenario()
    if start not in refs:
        refs = {Path(start).name: start, **refs}
    return refs


def resolve_preset(name: str) -> str:
    """The scenario a preset name loads (:func:`preset_catalogue`); any other ``name`` as it is."""
    return preset_catalogue().get(name, name)
