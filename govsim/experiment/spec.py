"""The experiment YAML: schema, loading and validation with ``file:line: key.path: what`` errors.

An experiment names what to run and how to vary it::

    name: dispatch_sensitivity
    scenario: baseline                 # or  function: package.module:function
    set:                               # fixed overrides of the base (or constants for a function)
      population.citizens: 2000
    parameters:                        # dotted paths into the scenario schema
      dispatch.data_sharing: {range: [0, 1]}
      closed_loop.audit_rate: {range: [0.0, 0.2], distribution: triangular, mode: 0.02}
      assessment.period_days: {levels: [7, 30, 90]}
    design: {method: sobol, n: 256, second_order: false}
    replicates: 4                      # runs per design point (averaged in the analysis)
    days: 180
    outputs: [closure_rate, real_resolution_rate]
    root_seed: 20240601

Parameters take either ``levels`` (a list of values) or a distribution: ``uniform`` (default) or
``loguniform`` over ``range``, ``triangular`` over ``range`` with ``mode``, ``truncnormal`` over
``range`` with ``mean`` and ``sd``, and unbounded ``normal`` / ``lognormal`` with ``mean`` and
``sd`` (of the underlying normal for lognormal). A grid uses ``levels`` or ``range`` with ``steps``.
Integer scenario fields are rounded automatically; ``integer: true`` does the same for functions.

Designs: ``grid`` (full factorial), ``lhs`` (``n`` points, scipy.stats.qmc), ``sobol`` (Saltelli
sampling through SALib; ``n`` a power of two; ``second_order`` optional) and ``morris`` (``n``
trajectories, ``levels`` grid levels). Every problem is reported at once, each located at its line.
Scenario parameter paths are checked against the schema, and the ends of each range (or each level)
are validated as scenario values, before anything runs.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from govsim.config import (
    Located,
    ScenarioError,
    check_parameter_path,
    load_scenario,
    located_messages,
    name_from_file,
    parse_yaml,
    read_yaml_file,
    resolve_scenario_ref,
    scenario_from_dict,
    scenario_to_dict,
    set_path,
)
from govsim.experiment.run import resolve_function
from govsim.metrics import METRICS, QUEUE_METRICS
from govsim.schema import PlainData, Scenario

Scalar = bool | int | float | str
Distribution = Literal["uniform", "loguniform", "triangular", "truncnormal", "normal", "lognormal"]
BOUNDED: frozenset[str] = frozenset({"uniform", "loguniform", "triangular", "truncnormal"})
"""Distributions with finite support (over ``range``)."""


class _Strict(PlainData):
    """Unknown keys are errors; floats finite, booleans not numbers (the scenario's one rule)."""


class ParameterSpec(_Strict):
    """How one parameter varies: a list of levels, or a distribution (uniform over a range by default)."""

    range: tuple[float, float] | None = Field(None, description="Lower and upper bound.")
    levels: list[Scalar] | None = Field(None, min_length=1, description="Explicit values.")
    steps: int | None = Field(None, ge=2, description="Grid only: evenly spaced values over range.")
    distribution: Distribution = Field(
        "uniform", description="Marginal distribution of the parameter."
    )
    mean: float | None = Field(None, description="Mean (normal, truncnormal; lognormal: of log).")
    sd: float | None = Field(None, gt=0, description="Standard deviation (normal family).")
    mode: float | None = Field(None, description="Mode of a triangular distribution.")
    integer: bool | None = Field(
        None, description="Round values to integers (auto for int fields)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ParameterSpec:
        d = self.distribution
        if self.levels is not None:
            extra = [
                k for k in ("range", "steps", "mean", "sd", "mode") if getattr(self, k) is not None
            ]
            if d != "uniform":
                extra.append("distribution")
            if extra:
                raise ValueError(f"levels cannot be combined with {', '.join(extra)}")
            if len({repr(v) for v in self.levels}) != len(self.levels):
                raise ValueError("levels must be distinct")
            kinds = {
                "bool" if isinstance(v, bool) else "text" if isinstance(v, str) else "number"
                for v in self.levels
            }
            if len(kinds) > 1:
                raise ValueError(f"levels must all be of one kind (got {', '.join(sorted(kinds))})")
            if kinds == {"number"} and any(isinstance(v, float) for v in self.levels):
                self.levels = [float(v) for v in self.levels]
            return self
        if d in BOUNDED:
            if self.range is None:
                raise ValueError(
                    f"needs levels or a range (distribution {d} is over range: [low, high])"
                )
            lo, hi = self.range
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(
                    f"range must be two finite numbers with low < high (got [{lo}, {hi}])"
                )
            if d == "loguniform" and lo <= 0:
                raise ValueError("a loguniform range must be positive")
            if d == "triangular" and (self.mode is None or not lo <= self.mode <= hi):
                raise ValueError("a triangular distribution needs a mode inside range")
            if d == "truncnormal" and (self.mean is None or self.sd is None):
                raise ValueError(
                    "a truncnormal distribution needs mean and sd (and range as bounds)"
                )
        else:
            if self.range is not None:
                raise ValueError(f"a {d} distribution is unbounded; use truncnormal for a range")
            if self.mean is None or self.sd is None:
                raise ValueError(f"a {d} distribution needs mean and sd")
        if self.steps is not None and d != "uniform":
            raise ValueError("steps only apply to a uniform range (grid designs)")
        unused = {
            "mode": d != "triangular",
            "mean": d not in ("truncnormal", "normal", "lognormal"),
            "sd": d not in ("truncnormal", "normal", "lognormal"),
        }
        bad = [k for k, is_unused in unused.items() if is_unused and getattr(self, k) is not None]
        if bad:
            raise ValueError(f"{', '.join(bad)} do not apply to a {d} distribution")
        return self


class DesignSpec(_Strict):
    """How design points are drawn."""

    method: Literal["grid", "lhs", "sobol", "morris"] = Field(description="Design family.")
    n: int | None = Field(
        None,
        ge=1,
        le=2**24,
        description="lhs: points; sobol: base sample N (power of 2); morris: trajectories.",
    )
    second_order: bool = Field(False, description="sobol: also estimate second-order indices.")
    levels: int = Field(4, ge=2, le=1000, description="morris: number of grid levels (p).")
    optimal_trajectories: int | None = Field(
        None, ge=2, description="morris: choose this many trajectories out of n (Campolongo)."
    )
    scramble: bool = Field(True, description="lhs, sobol: randomise the points (seeded).")
    optimization: Literal["random-cd", "lloyd"] | None = Field(
        None, description="lhs: optimise space filling."
    )

    @model_validator(mode="after")
    def _consistent(self) -> DesignSpec:
        m = self.method
        if m == "grid":
            if self.n is not None:
                raise ValueError(
                    "a grid has no n: its size is the product of the parameters' levels"
                )
        elif self.n is None:
            raise ValueError(f"a {m} design needs n")
        if m == "sobol" and self.n is not None and self.n & (self.n - 1):
            lower = 1 << (self.n.bit_length() - 1)
            raise ValueError(
                f"sobol needs n a power of two (got {self.n}; try {lower} or {lower * 2})"
            )
        if self.second_order and m != "sobol":
            raise ValueError("second_order applies to sobol designs only")
        too_many = (
            self.optimal_trajectories is not None
            and self.n is not None
            and self.optimal_trajectories >= self.n
        )
        if m == "morris" and too_many:
            raise ValueError("optimal_trajectories must be below n")
        if m != "morris" and ("levels" in self.model_fields_set or self.optimal_trajectories):
            raise ValueError("levels and optimal_trajectories apply to morris designs only")
        if m != "lhs" and self.optimization is not None:
            raise ValueError("optimization applies to lhs designs only")
        return self


CLUSTER_OPTIONS: tuple[str, ...] = (
    "queue",
    "account",
    "cores",
    "memory",
    "processes",
    "walltime",
    "job_extra_directives",
    "job_script_prologue",
    "job_directives_skip",
    "local_directory",
    "log_directory",
    "interface",
    "python",
    "death_timeout",
    "worker_extra_args",
)
"""dask_jobqueue.SLURMCluster arguments accepted under ``cluster.options``."""


class ClusterSpec(_Strict):
    """A Dask cluster for ``--executor dask``: local processes or SLURM jobs via dask-jobqueue."""

    kind: Literal["local", "slurm"] = Field(
        "local", description="local: LocalCluster; slurm: SLURMCluster."
    )
    workers: int | None = Field(None, ge=1, le=100_000, description="local: worker processes.")
    jobs: int = Field(1, ge=1, le=100_000, description="slurm: number of SLURM jobs to start.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="slurm: SLURMCluster arguments."
    )
    start_timeout: float = Field(
        3600.0, gt=0, description="slurm: seconds to wait for the first worker before giving up."
    )

    @model_validator(mode="after")
    def _known_options(self) -> ClusterSpec:
        unknown = [k for k in self.options if k not in CLUSTER_OPTIONS]
        if unknown:
            hints = [difflib.get_close_matches(k, CLUSTER_OPTIONS, n=1) for k in unknown]
            said = ", ".join(
                f"{k!r}" + (f" (did you mean '{h[0]}'?)" if h else "")
                for k, h in zip(unknown, hints, strict=True)
            )
            raise ValueError(
                f"unknown SLURMCluster options {said}; allowed: {', '.join(CLUSTER_OPTIONS)}"
            )
        if self.kind == "local" and self.options:
            raise ValueError("options apply to kind: slurm only")
        return self


class SlurmSpec(_Strict):
    """Defaults of the sbatch array script written by ``govsim slurm`` (flags override them)."""

    runs_per_task: int = Field(50, ge=1, description="Runs batched into one array task.")
    max_parallel: int | None = Field(
        None, ge=1, description="At most this many tasks at once (%N)."
    )
    partition: str | None = Field(None, description="--partition.")
    account: str | None = Field(None, description="--account.")
    time: str | None = Field(
        None, pattern=r"^(\d+-)?\d{1,2}(:\d{2}){0,2}$", description="--time, e.g. 02:00:00."
    )
    mem: str | None = Field(None, pattern=r"^\d+[KMGT]?$", description="--mem, e.g. 4G.")
    cpus_per_task: int = Field(
        1, ge=1, le=1024, description="CPUs per task; >1 runs a process pool."
    )
    extra_directives: list[str] = Field(default_factory=list, description="More #SBATCH lines.")
    setup: list[str] = Field(
        default_factory=list, description="Shell lines run first (module load ...)."
    )


class ExperimentSpec(_Strict):
    """A whole experiment file."""

    name: str = Field("experiment", min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    scenario: str | None = Field(None, description="Base scenario: a path or a packaged name.")
    function: str | None = Field(
        None, description="Or a target 'module:function(params, seed) -> dict'."
    )
    set: dict[str, Any] = Field(default_factory=dict, description="Fixed values (dotted paths).")
    parameters: Annotated[dict[str, ParameterSpec], Field(min_length=1)]
    design: DesignSpec
    replicates: int = Field(1, ge=1, le=100_000, description="Runs per design point.")
    days: int | None = Field(
        None, ge=1, le=36_500, description="Simulated days (scenario targets)."
    )
    outputs: list[str] = Field(
        default_factory=list, description="Outputs to analyse (default: all)."
    )
    root_seed: int = Field(ge=0, le=2**63 - 1, description="Root of every run's seed.")
    timeseries: bool = Field(False, description="Keep each run's daily table (scenario targets).")
    cluster: ClusterSpec | None = None
    slurm: SlurmSpec = Field(default_factory=SlurmSpec)

    @model_validator(mode="after")
    def _one_target(self) -> ExperimentSpec:
        if (self.scenario is None) == (self.function is None):
            raise ValueError(
                "give exactly one target: scenario (a scenario file or name) or function (module:function)"
            )
        if self.function is not None:
            if self.days is not None:
                raise ValueError("days applies to scenario targets only")
            if self.timeseries:
                raise ValueError("timeseries applies to scenario targets only")
        if len(set(self.outputs)) != len(self.outputs):
            raise ValueError("outputs must be distinct")
        return self


@dataclass
class Parameter:
    """A validated parameter: its dotted name, its spec and whether values are integers."""

    name: str
    spec: ParameterSpec
    integer: bool = False


@dataclass
class Experiment:
    """A loaded, validated experiment.

    Attributes:
        spec: The validated schema object.
        source: Where it came from (a path or ``<dict>``).
        parameters: The parameters in file order.
        base_scenario: The resolved base scenario with ``set`` applied, as plain data (scenario
            targets), else None.
        text: The experiment file's text (kept in the plan for provenance).
    """

    spec: ExperimentSpec
    source: str
    parameters: list[Parameter]
    base_scenario: dict[str, Any] | None = None
    text: str = ""
    where: dict[tuple[str, ...], str] = field(default_factory=dict)


def _locate(where: dict[tuple[str, ...], str], loc: tuple[str, ...], default: str) -> str:
    for i in range(len(loc), -1, -1):
        if loc[:i] in where:
            return where[loc[:i]]
    return default


def _default_at(dotted: str) -> Any:
    cur: Any = scenario_to_dict(Scenario())
    for p in dotted.split("."):
        cur = cur[p]
    return cur


def _probe_values(p: ParameterSpec) -> list[Any]:
    """Values that must be valid scenario values: the levels, or the range ends (or the mean)."""
    if p.levels is not None:
        return list(p.levels)
    if p.range is not None:
        return [p.range[0], p.range[1]]
    return [p.mean]


def _check_scenario_target(
    spec: ExperimentSpec, where: dict[tuple[str, ...], str], source: str, base_dir: Path | None
) -> tuple[dict[str, Any] | None, dict[str, bool], list[str]]:
    problems: list[str] = []
    integer: dict[str, bool] = {}
    at = where.get(("scenario",), source)
    try:
        ref_path = resolve_scenario_ref(str(spec.scenario), relative_to=base_dir)
        base = load_scenario(ref_path)
    except ScenarioError as exc:
        return None, integer, [f"{at}: scenario: {m}" for m in exc.messages]
    data = scenario_to_dict(base)
    for key, value in spec.set.items():
        loc = where.get(("set", key), where.get(("set",), source))
        try:
            check_parameter_path(key)
        except ScenarioError as exc:
            problems.extend(f"{loc}: set.{m}" for m in exc.messages)
            continue
        data = set_path(data, key, value)
    for name in spec.parameters:
        loc = where.get(("parameters", name), source)
        try:
            check_parameter_path(name)
        except ScenarioError as exc:
            problems.extend(f"{loc}: parameters.{m}" for m in exc.messages)
            continue
        if name in spec.set:
            problems.append(f"{loc}: parameters.{name}: also fixed under set; give it in one place")
        if name == "seed":
            problems.append(
                f"{loc}: parameters.seed: each run's seed comes from root_seed; vary replicates instead"
            )
            continue
        if name == "days" and spec.days is not None:
            problems.append(
                f"{loc}: parameters.days: also fixed by days: {spec.days}; give it in one place"
            )
        default = _default_at(name)
        if isinstance(default, dict | list):
            problems.append(f"{loc}: parameters.{name}: names a whole section, not a single value")
            continue
        integer[name] = isinstance(default, int) and not isinstance(default, bool)
    if problems:
        return None, integer, problems
    try:
        data = scenario_to_dict(scenario_from_dict(data, where.get(("set",), at)))
    except ScenarioError as exc:
        return None, integer, [f"{m}" for m in exc.messages]
    if spec.days is not None and data.get("timeline"):  # every reform must fall within the runs
        days_at = where.get(("days",), source)
        try:
            scenario_from_dict(set_path(data, "days", spec.days), days_at)
        except ScenarioError as exc:
            problems.extend(f"{days_at}: days: {m.split(': ', 1)[-1]}" for m in exc.messages)
    for name, p in spec.parameters.items():
        loc = where.get(("parameters", name), source)
        for value in _probe_values(p):
            if integer[name] and p.integer is not False and isinstance(value, float):
                value = round(value)
            try:
                scenario_from_dict(set_path(data, name, value), loc)
            except ScenarioError as exc:
                detail = "; ".join(m.split(": ", 1)[-1] for m in exc.messages)
                problems.append(
                    f"{loc}: parameters.{name}: value {value!r} is not a valid scenario value: {detail}"
                )
                break
    return data, integer, problems


def design_size(spec: ExperimentSpec) -> tuple[int, int]:
    """The number of design points and of runs a spec asks for, computed without drawing any.

    Returns:
        ``(points, runs)``: exact Python integers (a grid's product of levels, ``n`` for lhs,
        Saltelli's ``n (d + 2)`` or ``n (2d + 2)`` for sobol, ``n (d + 1)`` for morris, whose
        trajectories are all drawn before ``optimal_trajectories`` picks some), and points times
        replicates.
    """
    d = len(spec.parameters)
    m = spec.design
    n = m.n or 0
    if m.method == "grid":
        points = math.prod(
            len(p.levels) if p.levels is not None else (p.steps or 1)
            for p in spec.parameters.values()
        )
    elif m.method == "lhs":
        points = n
    elif m.method == "sobol":
        points = n * (2 * d + 2 if m.second_order else d + 2)
    else:
        points = n * (d + 1)
    return points, points * spec.replicates


def _design_size_problems(
    spec: ExperimentSpec, where: dict[tuple[str, ...], str], source: str
) -> list[str]:
    """Refuse a design whose planning would not fit the memory bound (before drawing it)."""
    from govsim.resources import design_bytes, over_limit

    points, runs = design_size(spec)
    estimate = design_bytes(points, runs, len(spec.parameters), spec.design.method == "grid")
    try:
        problem = over_limit(
            estimate,
            f"planning the {spec.design.method} design's {points:,} points x "
            f"{spec.replicates:,} replicates",
        )
    except ValueError as exc:
        return [str(exc)]
    if problem is None:
        return []
    return [f"{_locate(where, (estimate.key,), source)}: {estimate.key}: {problem}"]


def load_experiment_text(text: str, source: str, base_dir: Path | None = None) -> Experiment:
    """Parse and validate an experiment document.

    Args:
        text: The YAML text.
        source: A name for messages (usually the file path).
        base_dir: Directory against which a relative ``scenario:`` path is resolved.

    Returns:
        The validated experiment.

    Raises:
        ScenarioError: listing every problem, each as ``file:line: key.path: what``.
    """
    doc: Located = parse_yaml(text, source)
    if not isinstance(doc.data, dict):
        raise ScenarioError([f"{source}:1: an experiment must be a mapping of keys to values"])
    data = dict(doc.data)
    if "name" not in data and source not in ("<dict>", "<text>"):
        data["name"] = name_from_file(Path(source))
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(located_messages(exc, doc.where, source, ExperimentSpec)) from None
    problems: list[str] = _design_size_problems(spec, doc.where, source)
    base: dict[str, Any] | None = None
    integer: dict[str, bool] = {}
    if spec.function is not None:
        try:
            resolve_function(spec.function)
        except ScenarioError as exc:
            at = doc.where.get(("function",), source)
            problems.extend(f"{at}: {m}" for m in exc.messages)
    else:
        base, integer, found = _check_scenario_target(spec, doc.where, source, base_dir)
        problems.extend(found)
    for name, p in spec.parameters.items():
        loc = doc.where.get(("parameters", name), source)
        if spec.design.method == "grid" and p.levels is None and p.steps is None:
            problems.append(f"{loc}: parameters.{name}: a grid needs levels, or range with steps")
        if spec.design.method != "grid" and p.steps is not None:
            problems.append(f"{loc}: parameters.{name}: steps apply to grid designs only")
        if spec.design.method == "morris" and p.levels is None and p.distribution not in BOUNDED:
            problems.append(
                f"{loc}: parameters.{name}: morris needs bounded parameters (levels or a range), "
                f"not {p.distribution}"
            )
    if spec.function is None:
        known = {**METRICS, **QUEUE_METRICS}
        for name in spec.outputs:
            if name not in known:
                hint = difflib.get_close_matches(name, list(known), n=1)
                dym = f"; did you mean '{hint[0]}'?" if hint else ""
                problems.append(
                    f"{doc.where.get(('outputs',), source)}: outputs: '{name}' is not a govsim "
                    f"metric{dym} (see docs/metrics.md)"
                )
    clash = sorted(set(spec.outputs) & set(spec.parameters))
    if clash:
        problems.append(
            f"{doc.where.get(('outputs',), source)}: outputs: {clash} are also parameters"
        )
    if problems:
        raise ScenarioError(problems)
    params = [
        Parameter(
            name, p, integer=bool(p.integer) if p.integer is not None else integer.get(name, False)
        )
        for name, p in spec.parameters.items()
    ]
    return Experiment(
        spec=spec, source=source, parameters=params, base_scenario=base, text=text, where=doc.where
    )


def load_experiment(path: str | Path) -> Experiment:
    """Load and validate an experiment YAML file.

    Raises:
        ScenarioError: if the file cannot be read or is invalid (every problem, located).
    """
    p = Path(path)
    text = read_yaml_file(p, "cannot read experiment")
    return load_experiment_text(text, str(p), base_dir=p.parent)
