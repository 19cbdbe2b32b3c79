"""One run of a design row: build the target's input, call it, and capture outputs or the error.

A target is either a scenario (the plan's base scenario with the row's dotted-path parameters set,
simulated by :func:`govsim.runner.simulate`, whose ``summary`` gives the outputs) or a Python
function ``module:function(params: dict, seed: int) -> dict`` (the ``set`` constants and the row's
parameters, by name). A run never raises: an exception becomes a ``failed`` record with its error
and traceback, and the sweep goes on.
"""

from __future__ import annotations

import difflib
import importlib
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govsim.experiment import results as store
from govsim.experiment.provenance import hostname

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RunContext:
    """What every run of a plan shares (small and picklable, sent to workers with each task).

    Attributes:
        kind: ``"scenario"`` or ``"function"``.
        ref: The function reference (function targets).
        base_scenario: The resolved base scenario as plain data (scenario targets).
        constants: ``set`` constants passed to a function target.
        days: Simulated days (scenario targets; None keeps the scenario's own).
        timeseries: Whether to keep each run's daily table.
        design_hash: The plan's design hash (stamped on every result).
        code_version: The code version (stamped on every result).
        results_dir: Where result files go (a path string; shared by all workers).
    """

    kind: str
    ref: str | None
    base_scenario: dict[str, Any] | None
    constants: dict[str, Any]
    days: int | None
    timeseries: bool
    design_hash: str
    code_version: str
    results_dir: str


@dataclass(frozen=True)
class RunTask:
    """One row of the design table."""

    run_id: int
    point_id: int
    replicate: int
    seed: int
    params: dict[str, Any]


def resolve_function(ref: str) -> Callable[[dict[str, Any], int], dict[str, Any]]:
    """Import a ``module:function`` target.

    Raises:
        govsim.config.ScenarioError: if the reference is malformed, the module cannot be imported or the
            attribute is not callable.
    """
    from govsim.config import ScenarioError

    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise ScenarioError([f"function: expected 'module:function' (got {ref!r})"])
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ScenarioError([f"function: cannot import module {module_name!r}: {exc}"]) from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            hint = difflib.get_close_matches(part, names, n=1)
            dym = f"; did you mean '{hint[0]}'?" if hint else ""
            raise ScenarioError([f"function: {module_name!r} has no attribute {attr!r}{dym}"])
        obj = getattr(obj, part)
    if not callable(obj):
        raise ScenarioError([f"function: {ref!r} is not callable"])
    return obj


@cache
def _function(ref: str) -> Callable[[dict[str, Any], int], Any]:
    return resolve_function(ref)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and getattr(value, "ndim", None) == 0 else value


def _clean_outputs(outputs: Any) -> dict[str, Any]:
    if not isinstance(outputs, Mapping):
        raise TypeError(
            f"the target returned {type(outputs).__name__}; expected a dict of named outputs"
        )
    out: dict[str, Any] = {}
    for k, v in outputs.items():
        v = _plain(v)
        if isinstance(v, bool):
            v = float(v)
        if isinstance(v, int):
            v = float(v)
        if not isinstance(v, float | str) and v is not None:
            raise TypeError(f"output {k!r} is {type(v).__name__}; expected a number or text")
        out[str(k)] = v
    return out


def _simulate(ctx: RunContext, task: RunTask) -> tuple[dict[str, Any], pd.DataFrame | None]:
    from govsim.config import scenario_from_dict, set_path
    from govsim.runner import simulate

    assert ctx.base_scenario is not None
    data = ctx.base_scenario
    for name, value in task.params.items():
        data = set_path(data, name, value)
    scenario = scenario_from_dict(data, f"run {task.run_id}")
    result = simulate(scenario, seed=task.seed, days=ctx.days, timeseries=ctx.timeseries)
    return dict(result.summary), (result.timeseries if ctx.timeseries else None)


def run_one(ctx: RunContext, task: RunTask) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Run one design row and return its record and daily table (never raises for the run's own errors).

    Args:
        ctx: The plan's shared context.
        task: The design row.

    Returns:
        ``(record, timeseries)``; the record has ``status`` ``ok`` or ``failed``.
    """
    params = {k: _plain(v) for k, v in task.params.items()}
    started = time.perf_counter()
    error = tb = None
    outputs: dict[str, Any] = {}
    timeseries = None
    try:
        if ctx.kind == "function":
            assert ctx.ref is not None
            outputs = _clean_outputs(_function(ctx.ref)({**ctx.constants, **params}, task.seed))
        else:
            summary, timeseries = _simulate(
                ctx, RunTask(task.run_id, task.point_id, task.replicate, task.seed, params)
            )
            outputs = _clean_outputs(summary)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        tb = traceback.format_exc(limit=-8)
        outputs, timeseries = {}, None
    wall = time.perf_counter() - started
    record = {
        "run_id": task.run_id,
        "point_id": task.point_id,
        "replicate": task.replicate,
        "seed": task.seed,
        "status": "failed" if error else "ok",
        "error": error,
        "traceback": tb,
        "wall_s": wall,
        "host": hostname(),
        "design_hash": ctx.design_hash,
        "code_version": ctx.code_version,
        "outputs": outputs,
    }
    return record, timeseries


def run_chunk(
    ctx: RunContext,
    tasks: list[RunTask],
    retry_failed: bool = False,
    done: Callable[[int, str], None] | None = None,
) -> list[tuple[int, str]]:
    """Run a chunk of tasks in this process, writing each result file; return ``(run_id, status)``.

    A run whose result is already finished (:func:`govsim.experiment.results.finished`: written by
    an earlier attempt of this chunk on a worker that died, or by an overlapping execute) is not run
    again. ``done(run_id, status)`` is called after each run (in-process progress).
    """
    writer = store.ResultWriter(ctx.results_dir)
    stamp = store.Stamp(ctx.design_hash, ctx.code_version)
    results_dir = Path(ctx.results_dir)
    out: list[tuple[int, str]] = []
    for task in tasks:
        existing = writer.read(task.run_id)
        if existing is not None and store.finished(results_dir, existing, stamp, retry_failed):
            status = existing["status"]
        else:
            record, timeseries = run_one(ctx, task)
            writer.write(record, timeseries)
            status = record["status"]
        out.append((task.run_id, status))
        if done is not None:
            done(task.run_id, status)
    return out
