"""Planning: design table, seeds, manifest, design hash, and refusing to mix plans."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from govsim.config import ScenarioError
from govsim.experiment.execute import execute
from govsim.experiment.plan import load_plan, plan
from govsim.experiment.provenance import CODE_VERSION_ENV
from govsim.experiment.seeds import run_seed
from govsim.experiment.spec import load_experiment

from .helpers import uniform_x

GRID = """
name: grid_demo
function: govsim.experiment.testfunctions:paired_noise
parameters:
  x: {levels: [0, 1, 2]}
  slope: {range: [1, 3], steps: 2}
design: {method: grid}
replicates: 3
root_seed: 99
"""


def test_plan_writes_design_with_point_major_runs_and_documented_seeds(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p, written = plan(load_experiment(write_experiment(GRID)), tmp_path / "plan")
    assert written
    table = p.design
    assert len(table) == 3 * 2 * 3 == p.n_runs
    assert table["run_id"].tolist() == list(range(18))
    assert (table["point_id"] == table["run_id"] // 3).all()
    assert (table["replicate"] == table["run_id"] % 3).all()
    assert table["seed"].tolist() == [run_seed(99, i) for i in range(18)]
    # replicates of one point share its parameter values
    assert (table.groupby("point_id")[["x", "slope"]].nunique() == 1).all().all()
    m = p.manifest
    assert m["n_points"] == 6 and m["replicates"] == 3 and m["root_seed"] == 99
    assert m["code_version"] == "govsim-test-pinned"
    assert {"numpy", "SALib", "python"} <= set(m["versions"])
    assert p.unit is None
    for name in ("manifest.json", "design.parquet", "experiment.yaml"):
        assert (tmp_path / "plan" / name).is_file()


def test_design_hash_is_stable_and_tracks_what_determines_runs(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    exp = load_experiment(write_experiment(GRID))
    a, _ = plan(exp, tmp_path / "a")
    b, _ = plan(exp, tmp_path / "b")
    assert a.manifest["design_hash"] == b.manifest["design_hash"]
    for old, new in [
        ("root_seed: 99", "root_seed: 100"),
        ("replicates: 3", "replicates: 2"),
        ("steps: 2", "steps: 3"),
    ]:
        other = load_experiment(write_experiment(GRID.replace(old, new), name="other.yaml"))
        c, _ = plan(other, tmp_path / f"c-{new.replace(' ', '')}")
        assert c.manifest["design_hash"] != a.manifest["design_hash"], new


def test_sampling_plan_stores_unit_sample(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p, _ = plan(load_experiment(write_experiment(uniform_x(n=12, replicates=2))), tmp_path / "p")
    assert p.unit is not None and p.unit.shape == (12, 1)
    np.testing.assert_allclose(p.design["x"].to_numpy()[::2], p.unit[:, 0])


def test_replanning_same_directory_is_a_no_op(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    exp = load_experiment(write_experiment(GRID))
    plan(exp, tmp_path / "p")
    before = (tmp_path / "p" / "manifest.json").read_bytes()
    again, written = plan(exp, tmp_path / "p")
    assert not written
    assert (tmp_path / "p" / "manifest.json").read_bytes() == before
    assert again.manifest["design_hash"] == json.loads(before)["design_hash"]


def test_a_different_plan_is_refused_not_mixed(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    plan(load_experiment(write_experiment(GRID)), tmp_path / "p")
    other = load_experiment(
        write_experiment(GRID.replace("root_seed: 99", "root_seed: 1"), name="o.yaml")
    )
    with pytest.raises(ScenarioError, match="holds a different plan"):
        plan(other, tmp_path / "p")


def test_unrelated_directory_is_refused(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ScenarioError, match="not a plan directory"):
        plan(load_experiment(write_experiment(GRID)), tmp_path / "busy")
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["notes.txt"]


def test_replanning_under_new_code_with_results_is_refused(
    write_experiment: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = load_experiment(write_experiment(GRID))
    plan(exp, tmp_path / "p")
    execute(tmp_path / "p", progress=False)
    monkeypatch.setenv(CODE_VERSION_ENV, "govsim-other-code")
    with pytest.raises(ScenarioError, match="planned with code version govsim-test-pinned"):
        plan(exp, tmp_path / "p")


def test_load_plan_of_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no plan here"):
        load_plan(tmp_path)
