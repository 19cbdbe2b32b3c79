"""The calibration's parameter file: what to fit (priors), at what scale, and how hard to search.

::

    parameters:                          # dotted scenario paths, as in experiments
      officials.routine_share: {range: [0.70, 0.92]}
      gaming.pressure_effect: {range: [0.05, 0.95]}
      closed_loop.audit_rate: {range: [0.002, 0.2], scale: log}
    set: {population.citizens: 3000}     # fixed for every calibration run (the scale)
    days: 365
    replicates: 3                        # runs per particle, averaged before the distance
    root_seed: 2024
    holdout: [channel_mix_hotline]       # patterns kept for validation (the CLI adds more)
    screening: {trajectories: 6, levels: 4, replicates: 2}   # Morris; enabled: false skips it
    abc: {population: 40, generations: 5}

Priors are uniform over ``range`` in the parameter's own units, or in log10 units with
``scale: log`` (for rates spanning orders of magnitude). Each path and each range end is checked
against the scenario schema exactly as an experiment's parameters are
(:func:`govsim.experiment.spec._check_scenario_target`): an unknown path, a whole section or a
prior outside the schema's range is a located error (exit 2) before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from govsim.calibrate.patterns import PatternSet, check_windows
from govsim.config import (
    ScenarioError,
    located_messages,
    name_from_file,
    parse_yaml,
    read_yaml_file,
    resolve_scenario_ref,
)
from govsim.experiment.spec import (
    Experiment,
    ExperimentSpec,
    Parameter,
    ParameterSpec,
    _check_scenario_target,
)
from govsim.schema import PlainData


class PriorSpec(PlainData):
    """A uniform prior over a range, in linear or log10 units."""

    range: tuple[float, float] = Field(description="Lower and upper bound (parameter units).")
    scale: Literal["linear", "log"] = Field("linear", description="Uniform in value or in log10.")


class ScreeningSpec(PlainData):
    """The Morris screening before the fit."""

    enabled: bool = True
    trajectories: int = Field(6, ge=2, le=10_000, description="Morris trajectories (r).")
    levels: int = Field(4, ge=2, le=100, description="Morris grid levels (p).")
    replicates: int = Field(2, ge=1, le=1000, description="Runs per design point.")
    threshold: float = Field(
        0.5,
        gt=0,
        description="A parameter matters for a pattern when mu* exceeds the replicate noise "
        "bar (two standard errors above the noise floor) and this fraction of the pattern's target scale.",
    )


class AbcSpec(PlainData):
    """The ABC-SMC run (pyabc)."""

    population: int = Field(40, ge=4, le=1_000_000, description="Particles per generation.")
    generations: int = Field(5, ge=1, le=1000, description="Generations (including the first).")
    min_epsilon: float = Field(0.0, ge=0, description="Stop when epsilon falls below this.")
    min_acceptance_rate: float = Field(
        0.0, ge=0, le=1, description="Stop when a generation accepts fewer than this share."
    )


class CalibrationSpec(PlainData):
    """A whole parameter file."""

    name: str | None = Field(None, min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    parameters: dict[str, PriorSpec] = Field(min_length=1)
    set: dict[str, Any] = Field(default_factory=dict, description="Fixed values (dotted paths).")
    days: int | None = Field(None, ge=1, le=36_500)
    replicates: int = Field(3, ge=1, le=1000, description="Runs per particle (averaged).")
    root_seed: int = Field(20240601, ge=0, le=2**63 - 1)
    holdout: list[str] = Field(default_factory=list, description="Patterns held out.")
    screening: ScreeningSpec = Field(default_factory=ScreeningSpec)
    abc: AbcSpec = Field(default_factory=AbcSpec)


@dataclass
class Prior:
    """One fitted parameter: its scenario path, bounds (parameter units) and scale."""

    name: str
    low: float
    high: float
    log: bool
    integer: bool = False

    def to_value(self, x: float) -> float | int:
        """A sampled coordinate (log10 units for a log prior) as the scenario value."""
        v = 10.0**x if self.log else float(x)
        return round(v) if self.integer else v

    @property
    def coordinate_bounds(self) -> tuple[float, float]:
        """The prior's bounds in sampling coordinates."""
        import math

        if self.log:
            return math.log10(self.low), math.log10(self.high)
        return self.low, self.high


@dataclass
class Calibration:
    """A validated calibration request."""

    spec: CalibrationSpec
    scenario_ref: str
    base_scenario: dict[str, Any]
    priors: list[Prior]
    patterns: PatternSet
    holdout: list[str]
    days: int
    source: str
    text: str
    where: dict[tuple[str, ...], str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The calibration's name."""
        return self.spec.name or "calibration"

    @property
    def fitted(self) -> list[str]:
        """The patterns used in the distance (all but the held-out)."""
        return [n for n in self.patterns.patterns if n not in self.holdout]

    def screening_experiment(self) -> Experiment:
        """The Morris screening as an ordinary govsim experiment (the sweep engine runs it)."""
        s = self.spec.screening
        params = [
            Parameter(
                p.name,
                ParameterSpec(
                    range=(p.low, p.high), distribution="loguniform" if p.log else "uniform"
                ),
                integer=p.integer,
            )
            for p in self.priors
        ]
        outputs = sorted(
            {p.metric for p in self.patterns.patterns.values()}
            | {p.other for p in self.patterns.patterns.values() if p.other}
        )
        spec = ExperimentSpec.model_validate(
            {
                "name": f"{self.name}-screening",
                "scenario": self.scenario_ref,
                "parameters": {
                    p.name: {
                        "range": [p.low, p.high],
                        "distribution": "loguniform" if p.log else "uniform",
                    }
                    for p in self.priors
                },
                "design": {"method": "morris", "n": s.trajectories, "levels": s.levels},
                "replicates": s.replicates,
                "days": self.days,
                "outputs": outputs,
                "root_seed": self.spec.root_seed,
                "timeseries": self.patterns.needs_timeseries,
            }
        )
        text = (
            f"# screening of calibration {self.name} (generated by govsim calibrate)\n"
            f"# parameter file: {self.source}\n{spec.model_dump_json(indent=2)}\n"
        )
        return Experiment(
            spec=spec,
            source=self.source,
            parameters=params,
            base_scenario=self.base_scenario,
            text=text,
        )


def load_calibration_text(
    text: str,
    source: str,
    scenario_ref: str,
    patterns: PatternSet,
    holdout: list[str] | None = None,
    base_dir: Path | None = None,
) -> Calibration:
    """Validate a parameter file against the scenario's schema and the patterns.

    Args:
        text: The parameter file's YAML.
        source: A name for messages (the file path).
        scenario_ref: The scenario to calibrate (path or packaged name).
        patterns: The validated patterns.
        holdout: Patterns held out from the command line (added to the file's).
        base_dir: Directory against which a relative scenario path is resolved.

    Raises:
        ScenarioError: every problem, located (``file:line: parameters.PATH: what``).
    """
    doc = parse_yaml(text, source)
    if not isinstance(doc.data, dict):
        raise ScenarioError([f"{source}:1: a parameter file must be a mapping with parameters:"])
    data = dict(doc.data)
    if "name" not in data and source not in ("<dict>", "<text>"):
        data["name"] = name_from_file(Path(source))
    try:
        spec = CalibrationSpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(located_messages(exc, doc.where, source, CalibrationSpec)) from None
    problems: list[str] = []
    for name, prior in spec.parameters.items():
        lo, hi = prior.range
        at = doc.where.get(
            ("parameters", name, "range"), doc.where.get(("parameters", name), source)
        )
        if not lo < hi:
            problems.append(
                f"{at}: parameters.{name}.range: must have low < high (got [{lo}, {hi}])"
            )
        elif prior.scale == "log" and lo <= 0:
            problems.append(f"{at}: parameters.{name}.range: a log prior must be positive")
    try:
        resolve_scenario_ref(scenario_ref, relative_to=base_dir)
    except ScenarioError as exc:
        raise ScenarioError([f"SCENARIO {scenario_ref}: {m}" for m in exc.messages]) from None
    holdout_all = list(dict.fromkeys([*spec.holdout, *(holdout or [])]))
    for h in holdout_all:
        if h not in patterns.patterns:
            at = doc.where.get(("holdout",), "--holdout") if h in spec.holdout else "--holdout"
            problems.append(
                f"{at}: holdout: '{h}' is not a pattern of {patterns.source} "
                f"(patterns: {', '.join(patterns.patterns)})"
            )
    if not [n for n in patterns.patterns if n not in holdout_all]:
        problems.append(f"{source}: holdout: every pattern is held out; none is left to fit")
    if problems:
        raise ScenarioError(problems)
    exp_spec = ExperimentSpec.model_validate(
        {
            "name": spec.name or "calibration",
            "scenario": scenario_ref,
            "set": spec.set,
            "parameters": {
                n: {
                    "range": list(p.range),
                    "distribution": "loguniform" if p.scale == "log" else "uniform",
                }
                for n, p in spec.parameters.items()
            },
            "design": {"method": "morris", "n": 2},
            "days": spec.days,
            "root_seed": spec.root_seed,
        }
    )
    where = dict(doc.where)
    base, integer, found = _check_scenario_target(exp_spec, where, source, base_dir)
    problems.extend(m.replace(": parameters.", ": parameters.", 1) for m in found)
    if problems or base is None:
        raise ScenarioError(problems or [f"{source}: cannot build the base scenario"])
    days = spec.days or int(base["days"])
    problems.extend(check_windows(patterns, days))
    if problems:
        raise ScenarioError(problems)
    if spec.days is not None:
        base["days"] = spec.days
    priors = [
        Prior(n, p.range[0], p.range[1], p.scale == "log", integer.get(n, False))
        for n, p in spec.parameters.items()
    ]
    return Calibration(
        spec=spec,
        scenario_ref=str(resolve_scenario_ref(scenario_ref, relative_to=base_dir)),
        base_scenario=base,
        priors=priors,
        patterns=patterns,
        holdout=holdout_all,
        days=days,
        source=source,
        text=text,
        where=where,
    )


def load_calibration(
    path: str | Path, scenario_ref: str, patterns: PatternSet, holdout: list[str] | None = None
) -> Calibration:
    """Load and validate a parameter file (a path or a packaged name).

    Raises:
        ScenarioError: if it cannot be read or is invalid (every problem, located).
    """
    from govsim.calibrate.patterns import packaged_dir

    p = Path(path)
    if not p.is_file() and (packaged_dir() / f"{path}.yaml").is_file():
        p = packaged_dir() / f"{path}.yaml"
    text = read_yaml_file(p, "cannot read parameter file")
    return load_calibration_text(text, str(p), scenario_ref, patterns, holdout)
