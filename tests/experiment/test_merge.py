"""Merging: completeness checks, the tidy runs table, the plain runs CSV, stale tables, damage."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from govsim.config import ScenarioError
from govsim.experiment import results as store
from govsim.experiment.cli import main
from govsim.experiment.execute import execute
from govsim.experiment.merge import merge, read_runs
from govsim.experiment.plan import load_plan, plan
from govsim.experiment.provenance import CODE_VERSION_ENV
from govsim.experiment.spec import load_experiment

from .helpers import uniform_x


def test_merge_refuses_an_incomplete_set_naming_the_missing_runs(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p, _ = plan(load_experiment(write_experiment(uniform_x(n=10))), tmp_path / "p")
    execute(p.dir, shard=(0, 3), progress=False)  # runs 0, 3, 6, 9
    with pytest.raises(ScenarioError) as info:
        merge(p.dir)
    (msg,) = info.value.messages
    assert "6 of 10 runs have no result: 1-2, 4-5, 7-8" in msg
    assert not (p.dir / "runs.parquet").exists() and not (p.dir / "runs.csv").exists()


def test_runs_table_layout_and_provenance(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    text = uniform_x(n=5, replicates=2).replace(
        "x: {range: [0, 1]}", "x: {range: [0, 1]}\n  sleep: {levels: [0.0]}"
    )
    p, _ = plan(load_experiment(write_experiment(text)), tmp_path / "p")
    execute(p.dir, progress=False)
    runs, written = merge(p.dir)
    assert [w.name for w in written] == ["runs.parquet", "runs.csv"]
    assert list(runs.columns) == [
        "run_id",
        "point_id",
        "replicate",
        "seed",
        "x",
        "sleep",
        "status",
        "error",
        "wall_s",
        "host",
        "y",
        "u",
    ]
    assert runs["run_id"].tolist() == list(range(10))
    assert (runs["wall_s"] >= 0).all() and runs["host"].str.len().gt(0).all()
    meta = json.loads(pq.read_schema(p.dir / "runs.parquet").metadata[b"govsim"])
    assert meta == {"design_hash": p.manifest["design_hash"], "code_version": "govsim-test-pinned"}
    assert read_runs(load_plan(p.dir)).equals(runs)


def test_runs_csv_is_a_plain_table(write_experiment: Callable[..., Path], tmp_path: Path) -> None:
    p, _ = plan(load_experiment(write_experiment(uniform_x(n=4))), tmp_path / "p")
    execute(p.dir, progress=False)
    runs, _ = merge(p.dir)
    table = pd.read_csv(p.dir / "runs.csv")  # no comment or metadata lines to skip
    stable = [c for c in runs.columns if c not in ("wall_s", "host")]
    assert list(table.columns) == stable
    assert table["run_id"].tolist() == [0, 1, 2, 3]
    assert table["y"].tolist() == runs["y"].tolist()
    # what the experiment was lives in the plan's manifest beside it
    manifest = json.loads((p.dir / "manifest.json").read_text())
    assert {"design_hash", "code_version", "root_seed", "replicates"} <= set(manifest)


def test_stale_runs_table_is_detected(
    write_experiment: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p, _ = plan(load_experiment(write_experiment(uniform_x(n=4))), tmp_path / "p")
    execute(p.dir, progress=False)
    merge(p.dir)
    manifest = json.loads((p.dir / "manifest.json").read_text())
    manifest["code_version"] = "govsim-elsewhere"
    (p.dir / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv(CODE_VERSION_ENV, "govsim-elsewhere")
    with pytest.raises(ScenarioError, match="merged from another plan or code version"):
        read_runs(load_plan(p.dir))
    with pytest.raises(ScenarioError, match="do not belong to this plan"):
        merge(p.dir)  # the results carry the old code version


def test_timeseries_needs_a_plan_that_kept_them(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p, _ = plan(load_experiment(write_experiment(uniform_x(n=3))), tmp_path / "p")
    execute(p.dir, progress=False)
    with pytest.raises(ScenarioError, match="did not keep daily tables"):
        merge(p.dir, timeseries=True)
    assert not (p.dir / "runs.parquet").exists()


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            lambda t: t.replace('"run_id":2', '"run_id":null'),
            "run_id: Input should be a valid integer (got null)",
        ),
        (
            lambda t: t.replace('"wall_s":', '"wall_s":"abc","x":'),
            'wall_s: Input should be a valid number (got "abc")',
        ),
        (lambda t: t[: len(t) // 2], "not a JSON record"),
        (lambda t: "[1, 2]", "expected a JSON object (got list)"),
    ],
    ids=["run_id-null", "wall_s-text", "truncated", "not-an-object"],
)
def test_a_malformed_record_is_named_not_a_traceback(
    write_experiment: Callable[..., Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[str], str],
    expected: str,
) -> None:
    p, _ = plan(load_experiment(write_experiment(uniform_x(n=4))), tmp_path / "p")
    execute(p.dir, progress=False)
    path = store.result_path(p.results_dir, 2)
    path.write_text(damage(path.read_text()))
    assert main(["merge", str(p.dir)]) == 2
    err = capsys.readouterr().err
    assert f"error: {path}: {expected}" in err and "Traceback" not in err
    assert f"run `govsim execute {p.dir}` to run them again" in err
    assert not (p.dir / "runs.parquet").exists()
    assert execute(p.dir, progress=False).executed == 1  # execute counts it as not run
    assert main(["merge", str(p.dir)]) == 0


@pytest.mark.slow
def test_a_truncated_or_corrupt_daily_table_is_named_and_run_again(
    write_experiment: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_experiment(
        """
        scenario: baseline
        set: {population.citizens: 200}
        parameters:
          dispatch.data_sharing: {levels: [0.1, 0.9]}
        design: {method: grid}
        days: 2
        timeseries: true
        root_seed: 3
        """
    )
    p, _ = plan(load_experiment(path), tmp_path / "p")
    assert execute(p.dir, progress=False).ok == 2
    table = store.timeseries_path(p.results_dir, 1)
    whole = table.read_bytes()
    table.write_bytes(whole[: len(whole) // 2])  # a disk that filled up, a copy cut short
    assert main(["merge", str(p.dir), "--timeseries"]) == 2
    err = capsys.readouterr().err
    assert f"error: {table}: truncated" in err and "Traceback" not in err
    assert not (p.dir / "runs.parquet").exists()
    assert execute(p.dir, progress=False).executed == 1  # before: "all done", stuck for ever
    assert table.read_bytes() == whole

    table.write_bytes(b"PAR1" + b"\0" * (len(whole) - 8) + b"PAR1")  # same size, garbage inside
    assert main(["merge", str(p.dir), "--timeseries"]) == 2
    err = capsys.readouterr().err
    assert f"error: {table}: unreadable" in err and "delete the unreadable files" in err
    table.unlink()
    assert execute(p.dir, progress=False).executed == 1
    assert main(["merge", str(p.dir), "--timeseries"]) == 0
