"""The classroom levers: flat control names mapped to dotted scenario paths, and the presets.

Mesa's SolaraViz drives models through flat keyword parameters; a govsim scenario is nested. Each
:class:`Lever` names one control of the demo (``data_sharing``) and the scenario parameter it sets
(``dispatch.data_sharing``), with the kind of control and its range. Ranges cover every packaged
scenario's value and stay inside the schema's bounds (a test checks both).

The presets are the packaged scenarios a class can start from (:func:`classroom_presets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
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
"""Min, max and step of the classroom-size slider."""


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
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: got {value!r}, expected a number") from None
    if lever.kind == "int":
        if number != int(number):
            raise ValueError(f"{where}: got {value!r}, expected a whole number")
        return int(number)
    return number


def lever_overrides(base: Scenario, values: dict[str, Any]) -> dict[str, Any]:
    """Dotted-path overrides that turn ``base`` into the scenario the levers describe.

    Only levers whose value differs from ``base`` are listed, so the result reads as "what was
    changed" and an unchanged lever never re-validates a value the preset already holds.

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
            out[lever.path] = value
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
