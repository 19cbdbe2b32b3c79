"""A resolved scenario as YAML annotated with every parameter's unit and meaning (``govsim show``).

The text is plain YAML whose comments come from :mod:`govsim.schema`::

    population:  # Citizens.
      citizens: 10000  # [citizens] Number of citizens (residents) simulated.

so a user can save it, edit it and run it: loading the text back gives the same scenario. Every key
of every mapping is written, zero weights included, and a mapping whose keys are a fixed set (the
assessment indicators, the age groups, ...) lists them in its comment.
"""

from __future__ import annotations

import typing
from typing import Any, Literal

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from govsim.config import scenario_to_dict
from govsim.schema import Scenario

INDENT = "  "


def _flow(value: Any) -> str:
    """One YAML value on one line (quoted as YAML needs it)."""
    text = yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=1 << 30)
    return text.strip()[1:-1]


def _comment(info: FieldInfo | None) -> str:
    if info is None:
        return ""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    unit = extra.get("unit")
    meaning = " ".join((info.description or "").split())
    keys = _allowed_keys(info.annotation)
    if keys:
        meaning = f"{meaning} Keys: {', '.join(keys)}."
    text = " ".join(p for p in (f"[{unit}]" if unit else "", meaning) if p)
    return f"  # {text}" if text else ""


def _allowed_keys(annotation: Any) -> tuple[str, ...]:
    """The keys a mapping parameter allows when they are a fixed set (``dict[Literal[...], ...]``)."""
    if typing.get_origin(annotation) is not dict:
        return ()
    key_type = typing.get_args(annotation)[0]
    return tuple(typing.get_args(key_type)) if typing.get_origin(key_type) is Literal else ()


def _submodel(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The section model a field holds, and whether it is a dict of such models."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    members = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(members) == 1 and isinstance(members[0], type) and issubclass(members[0], BaseModel):
        return members[0], False  # an optional section (``density: DensitySpec | None``)
    if typing.get_origin(annotation) is dict:
        args = typing.get_args(annotation)
        if len(args) == 2 and isinstance(args[1], type) and issubclass(args[1], BaseModel):
            return args[1], True
    return None, False


def _emit(data: Any, model: type[BaseModel] | None, depth: int, lines: list[str]) -> None:
    pad = INDENT * depth
    for key, value in data.items():
        info = model.model_fields.get(key) if model is not None else None
        comment = _comment(info)
        sub, is_dict = _submodel(info.annotation) if info is not None else (None, False)
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{_flow(key)}:{comment}")
            if is_dict:
                for name, item in value.items():
                    lines.append(f"{pad}{INDENT}{_flow(name)}:")
                    _emit(item, sub, depth + 2, lines)
            else:
                _emit(value, sub, depth + 1, lines)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{pad}{_flow(key)}:{comment}")  # the timeline: one entry a line
            lines.extend(f"{pad}{INDENT}- {_flow(item)}" for item in value)
        else:
            lines.append(f"{pad}{_flow(key)}: {_flow(value)}{comment}")


def annotated_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML, each parameter commented with its unit and meaning.

    Args:
        scenario: A validated scenario.

    Returns:
        YAML text that loads back to the same scenario.
    """
    lines = [
        f"# govsim scenario '{scenario.name}', fully resolved: every parameter explicit.",
        "# Comments give each parameter's [unit] and meaning; [1] is a dimensionless share.",
    ]
    _emit(scenario_to_dict(scenario), Scenario, 0, lines)
    return "\n".join(lines) + "\n"
