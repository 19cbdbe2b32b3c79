"""Planning: turn an experiment into a directory with its design table and a manifest.

``govsim plan EXP -o DIR`` writes, each file atomically and the manifest last:

- ``design.parquet``: one row per run: ``run_id``, ``point_id``, ``replicate``, ``seed`` and one
  column per parameter (runs are point-major: ``run_id = point_id * replicates + replicate``);
- ``unit.npy``: the design points in the unit hypercube (sampling designs; used by the analysis);
- ``experiment.yaml``: the experiment file as given; ``base_scenario.yaml``: the resolved base
  scenario with ``set`` applied (scenario targets), which is what every run starts from;
- ``manifest.json``: design hash, root seed, code version, library versions, counts and the spec.

The design hash covers everything that determines the runs (target, base scenario, parameters,
design, replicates, days, seeds and the design points themselves). Planning again into the same
directory is a no-op when nothing changed; a different plan is refused rather than mixed in.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from govsim.config import ScenarioError, scenario_from_dict, scenario_sha256
from govsim.experiment import results as store
from govsim.experiment.provenance import code_version, versions
from govsim.experiment.seeds import DESIGN_STREAM, run_seed, stream_seed
from govsim.experiment.spec import Experiment
from govsim.outputs import atomic_write, atomic_write_bytes, atomic_write_text

FORMAT = "govsim-experiment-plan/1"
MANIFEST = "manifest.json"
DESIGN = "design.parquet"
UNIT = "unit.npy"
EXPERIMENT_COPY = "experiment.yaml"
BASE_SCENARIO = "base_scenario.yaml"
PLAN_FILES = (MANIFEST, DESIGN, UNIT, EXPERIMENT_COPY, BASE_SCENARIO)
MANIFEST_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "design_hash": (str,),
    "code_version": (str,),
    "method": (str,),
    "design": (dict,),
    "parameters": (list,),
    "target": (dict,),
    "replicates": (int,),
    "n_points": (int,),
    "n_runs": (int,),
    "root_seed": (int,),
}
"""Keys every manifest holds, with their types (checked when a plan is opened)."""
FIXED_COLUMNS = ("run_id", "point_id", "replicate", "seed")
"""Columns of the design table besides the parameters."""


@dataclass
class Plan:
    """A planned experiment directory.

    Attributes:
        dir: The plan directory.
        manifest: The parsed ``manifest.json``.
    """

    dir: Path
    manifest: dict[str, Any]

    @property
    def results_dir(self) -> Path:
        """Where per-run result files go."""
        return self.dir / store.RESULTS_DIR

    @property
    def stamp(self) -> store.Stamp:
        """Design hash and code version every result of this plan must carry."""
        return store.Stamp(self.manifest["design_hash"], self.manifest["code_version"])

    @property
    def n_runs(self) -> int:
        """Number of runs in the plan."""
        return int(self.manifest["n_runs"])

    @property
    def parameter_names(self) -> list[str]:
        """Parameter names in order."""
        return [p["name"] for p in self.manifest["parameters"]]

    @cached_property
    def design(self) -> pd.DataFrame:
        """The design table (one row per run)."""
        return pd.read_parquet(self.dir / DESIGN)

    @cached_property
    def unit(self) -> np.ndarray | None:
        """The unit-hypercube design points, or None for a grid."""
        path = self.dir / UNIT
        return np.load(path, allow_pickle=False) if path.exists() else None

    @cached_property
    def base_scenario(self) -> dict[str, Any] | None:
        """The resolved base scenario as plain data (scenario targets), else None."""
        path = self.dir / BASE_SCENARIO
        if not path.exists():
            return None
        return yaml.safe_load(path.read_text(encoding="utf-8"))


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def _values_digest(values: pd.DataFrame, unit: np.ndarray | None) -> str:
    h = hashlib.sha256()
    if unit is not None:
        h.update(np.ascontiguousarray(unit, dtype="<f8").tobytes())
    for col in values.columns:
        h.update(col.encode())
        series = values[col]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            h.update(np.ascontiguousarray(series.to_numpy(), dtype="<f8").tobytes())
        else:
            h.update(_canonical([v.item() if hasattr(v, "item") else v for v in series]))
    return h.hexdigest()


def _target(exp: Experiment) -> dict[str, Any]:
    if exp.spec.function is not None:
        return {"kind": "function", "ref": exp.spec.function}
    assert exp.base_scenario is not None
    sha = scenario_sha256(scenario_from_dict(exp.base_scenario))
    return {"kind": "scenario", "ref": exp.spec.scenario, "base_scenario_sha256": sha}


def build_manifest(
    exp: Experiment, design_table: pd.DataFrame, unit: np.ndarray | None
) -> dict[str, Any]:
    """The manifest of a plan (its ``design_hash`` identifies everything that determines the runs)."""
    spec = exp.spec
    parameters = [
        {
            "name": p.name,
            "integer": p.integer,
            "spec": p.spec.model_dump(mode="json", exclude_none=True),
        }
        for p in exp.parameters
    ]
    target = _target(exp)
    identity = {
        "format": FORMAT,
        "target": target,
        "set": spec.set if spec.function is not None else {},
        "parameters": parameters,
        "design": spec.design.model_dump(mode="json"),
        "replicates": spec.replicates,
        "days": spec.days,
        "timeseries": spec.timeseries,
        "root_seed": spec.root_seed,
        "points": _values_digest(design_table[[p.name for p in exp.parameters]], unit),
    }
    design_hash = hashlib.sha256(_canonical(identity)).hexdigest()
    n_points = len(design_table) // spec.replicates
    return {
        "format": FORMAT,
        "name": spec.name,
        "description": spec.description,
        "design_hash": design_hash,
        "code_version": code_version(),
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "experiment_file": exp.source,
        "root_seed": spec.root_seed,
        "method": spec.design.method,
        "design": spec.design.model_dump(mode="json"),
        "parameters": parameters,
        "set": spec.set,
        "target": target,
        "replicates": spec.replicates,
        "n_points": n_points,
        "n_runs": len(design_table),
        "days": spec.days,
        "timeseries": spec.timeseries,
        "outputs": spec.outputs,
        "cluster": spec.cluster.model_dump(mode="json") if spec.cluster else None,
        "slurm": spec.slurm.model_dump(mode="json"),
        "versions": versions(),
    }


def design_table(exp: Experiment) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The per-run design table and the unit sample of an experiment (nothing written).

    Returns:
        ``(table, unit)``: the table has ``run_id, point_id, replicate, seed`` then one column per
        parameter; ``unit`` is None for grids.
    """
    from govsim.experiment.design import build_design  # scipy.stats: only when planning

    spec = exp.spec
    design = build_design(spec.design, exp.parameters, stream_seed(spec.root_seed, DESIGN_STREAM))
    reps = spec.replicates
    n_points = len(design.values)
    run_ids = np.arange(n_points * reps, dtype=np.int64)
    table = pd.DataFrame(
        {
            "run_id": run_ids,
            "point_id": run_ids // reps,
            "replicate": run_ids % reps,
            "seed": np.array([run_seed(spec.root_seed, int(i)) for i in run_ids], dtype=np.int64),
        }
    )
    values = design.values.loc[np.repeat(np.arange(n_points), reps)].reset_index(drop=True)
    return pd.concat([table, values], axis=1), design.unit


def load_plan(directory: str | Path) -> Plan:
    """Open a planned directory.

    Raises:
        ScenarioError: when the directory holds no complete plan.
    """
    d = Path(directory)
    path = d / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(
            [f"{d}: no plan here (no {MANIFEST}); run `govsim plan EXP -o {d}` first"]
        ) from None
    except (OSError, ValueError) as exc:
        raise ScenarioError([f"{path}: unreadable manifest: {exc}"]) from None
    if not isinstance(manifest, dict):
        raise ScenarioError(
            [f"{path}: not a govsim experiment plan (a {type(manifest).__name__}, not a mapping)"]
        )
    if manifest.get("format") != FORMAT:
        raise ScenarioError(
            [f"{path}: not a govsim experiment plan (format {manifest.get('format')!r})"]
        )
    problems = [
        f"{path}: {key}: expected {kinds[0].__name__} (got {manifest.get(key)!r:.60})"
        for key, kinds in MANIFEST_KEYS.items()
        if not isinstance(manifest.get(key), kinds) or isinstance(manifest.get(key), bool)
    ]
    if problems:
        raise ScenarioError(
            [*problems, f"{path}: a damaged manifest; plan again into a new directory"]
        )
    return Plan(dir=d, manifest=manifest)


def _has_results(d: Path) -> int:
    return sum(1 for _ in store.iter_result_files(d / store.RESULTS_DIR))


def plan(exp: Experiment, directory: str | Path) -> tuple[Plan, bool]:
    """Write the plan of an experiment into a directory.

    Args:
        exp: The validated experiment.
        directory: The plan directory (created if needed).

    Returns:
        ``(plan, written)``: ``written`` is False when the same plan was already there.

    Raises:
        ScenarioError: when the directory holds a different plan, or other files.
    """
    d = Path(directory)
    try:
        (d / MANIFEST).exists()  # a name the system cannot hold fails here, before planning
    except OSError as exc:
        raise ScenarioError(
            [f"{d}: cannot create the plan directory ({exc.strerror or exc})"]
        ) from None
    table, unit = design_table(exp)
    manifest = build_manifest(exp, table, unit)
    if (d / MANIFEST).exists():
        old = load_plan(d)
        n_results = _has_results(d)
        if old.manifest["design_hash"] == manifest["design_hash"]:
            if old.manifest["code_version"] == manifest["code_version"] or n_results == 0:
                if old.manifest["code_version"] != manifest["code_version"]:
                    old.manifest["code_version"] = manifest["code_version"]
                    atomic_write_text(d / MANIFEST, json.dumps(old.manifest, indent=2) + "\n")
                    return old, True
                return old, False
            raise ScenarioError(
                [
                    f"{d}: planned with code version {old.manifest['code_version']} and holds {n_results} "
                    f"results; this is {manifest['code_version']}. Plan into a new directory so that "
                    "results of different code are not mixed"
                ]
            )
        raise ScenarioError(
            [
                f"{d}: holds a different plan (design hash {old.manifest['design_hash'][:12]}, "
                f"{n_results} results; this one is {manifest['design_hash'][:12]}). Plan into a new "
                "directory, or delete this one"
            ]
        )
    if d.exists() and not d.is_dir():
        raise ScenarioError(
            [f"{d}: exists and is not a directory; choose a directory for the plan"]
        )
    if d.exists():
        others = [
            p.name for p in d.iterdir() if p.name not in PLAN_FILES and not p.name.startswith(".")
        ]
        if others:
            raise ScenarioError(
                [
                    f"{d}: exists and is not a plan directory (holds {', '.join(sorted(others)[:5])}); choose a new one"
                ]
            )
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScenarioError(
            [f"{d}: cannot create the plan directory ({exc.strerror or exc})"]
        ) from None

    def write_parquet(tmp: Path) -> None:
        table.to_parquet(tmp, index=False, engine="pyarrow")

    atomic_write(d / DESIGN, write_parquet)
    if unit is not None:
        buf = io.BytesIO()
        np.save(buf, unit, allow_pickle=False)
        atomic_write_bytes(d / UNIT, buf.getvalue())
    atomic_write_text(d / EXPERIMENT_COPY, exp.text)
    if exp.base_scenario is not None:
        atomic_write_text(
            d / BASE_SCENARIO,
            yaml.safe_dump(exp.base_scenario, sort_keys=False, allow_unicode=True),
        )
    atomic_write_text(d / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return Plan(dir=d, manifest=manifest), True
