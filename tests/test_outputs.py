"""Tests of the run folder: contents, manifest, atomic writing, refusal to overwrite."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import govsim
import govsim.report
from govsim.config import load_scenario, scenario_sha256, scenario_to_dict
from govsim.outputs import (
    OutputError,
    atomic_write_text,
    git_commit,
    json_text,
    run_folder_name,
    write_run,
)
from govsim.schema import Scenario

START = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@dataclass
class FakeResult:
    """Stands in for govsim.runner.RunResult: write_run only reads these attributes."""

    scenario: Scenario = field(default_factory=lambda: load_scenario("baseline", ["days=5"]))
    seed: int = 42
    days: int = 5
    wall_seconds: float = 1.25
    timeseries: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            {
                "day": [1, 2, 3, 4, 5],
                "closure_rate": [0.5, 0.6, np.nan, 0.7, 0.8],
                "backlog": range(5),
            }
        )
    )
    summary: dict[str, float] = field(
        default_factory=lambda: {"closure_rate": 0.8, "backlog": np.int64(4), "dsi": float("nan")}
    )


def write(tmp_path: Path, **kwargs) -> Path:
    result = kwargs.pop("result", FakeResult())
    dest = kwargs.pop("dest", tmp_path / "out" / run_folder_name(result.scenario.name, result.seed))
    return write_run(
        result,
        dest,
        command=["govsim", "run", "baseline"],
        started_at=START,
        now=lambda: START + timedelta(seconds=3.5),
        **kwargs,
    )


def no_temporaries(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.startswith(".")]


def test_run_folder_contents(tmp_path: Path) -> None:
    dest = write(tmp_path)
    assert dest == tmp_path / "out" / "baseline-s42"
    assert sorted(p.name for p in dest.iterdir()) == [
        "dashboard.png",
        "manifest.json",
        "summary.json",
        "timeseries.parquet",
    ]
    ts = pd.read_parquet(dest / "timeseries.parquet")
    pd.testing.assert_frame_equal(ts, FakeResult().timeseries, check_dtype=False)
    summary = json.loads((dest / "summary.json").read_text())
    assert summary == {"closure_rate": 0.8, "backlog": 4, "dsi": None}  # NaN is written as null
    assert no_temporaries(tmp_path)


def test_manifest_records_provenance(tmp_path: Path) -> None:
    result = FakeResult()
    dest = write(tmp_path, result=result)
    m = json.loads((dest / "manifest.json").read_text())
    assert m["govsim_version"] == govsim.__version__
    assert m["python"].count(".") == 2
    assert m["packages"]["mesa"] and m["packages"]["numpy"]
    assert m["scenario"] == scenario_to_dict(result.scenario)
    assert m["scenario_sha256"] == scenario_sha256(result.scenario)
    assert (m["seed"], m["days"]) == (42, 5)
    assert m["command"] == ["govsim", "run", "baseline"]
    assert m["started_at"] == "2025-01-02T03:04:05+00:00"
    assert m["ended_at"] == "2025-01-02T03:04:08+00:00"
    assert m["wall_seconds"] == 3.5
    assert m["simulation_seconds"] == 1.25
    for name, entry in m["files"].items():
        data = (dest / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert set(m["files"]) == {"timeseries.parquet", "summary.json", "dashboard.png"}


def test_git_commit_is_recorded_when_running_from_a_checkout() -> None:
    checkout = Path(govsim.__file__).resolve().parent.parent
    info = git_commit()
    if shutil.which("git") and (checkout / ".git").exists():
        head = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        assert head.returncode == 0
        assert info is not None and info["commit"] == head.stdout.strip()
    else:
        assert info is None


def test_csv_format(tmp_path: Path) -> None:
    dest = write(tmp_path, fmt="csv")
    assert (dest / "timeseries.csv").exists() and not (dest / "timeseries.parquet").exists()
    ts = pd.read_csv(dest / "timeseries.csv")
    assert list(ts.columns) == ["day", "closure_rate", "backlog"]
    assert len(ts) == 5


def test_existing_folder_is_refused_without_force(tmp_path: Path) -> None:
    dest = write(tmp_path)
    before = (dest / "manifest.json").read_bytes()
    with pytest.raises(OutputError, match="already exists; pass --force"):
        write(tmp_path)
    assert (dest / "manifest.json").read_bytes() == before
    assert no_temporaries(tmp_path)


def test_force_replaces_the_folder(tmp_path: Path) -> None:
    dest = write(tmp_path)
    (dest / "stale.txt").write_text("from an older run")
    result = FakeResult()
    result.summary = {"closure_rate": 0.1}
    write(tmp_path, result=result, force=True)
    assert not (dest / "stale.txt").exists()
    assert json.loads((dest / "summary.json").read_text()) == {"closure_rate": 0.1}
    assert no_temporaries(tmp_path)


def test_a_failure_while_writing_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(govsim.report, "save_dashboard", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write(tmp_path)
    assert not (tmp_path / "out").exists()  # not even the output root it created


def test_a_failed_forced_rewrite_keeps_the_old_folder(tmp_path: Path, monkeypatch) -> None:
    dest = write(tmp_path)
    before = {p.name: p.read_bytes() for p in dest.iterdir()}

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(govsim.report, "save_dashboard", broken)
    with pytest.raises(RuntimeError):
        write(tmp_path, force=True)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert no_temporaries(tmp_path)


def test_a_file_in_the_way_is_refused_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "baseline-s42").write_text("not a folder")
    with pytest.raises(OutputError, match="is not a folder"):
        write(tmp_path, force=True)


def test_atomic_write_leaves_no_temporary_on_failure(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "x.json"
    atomic_write_text(target, "old")

    def fail_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr("govsim.outputs.os.replace", fail_replace)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_json_text_is_strict_and_deterministic() -> None:
    data = {"b": np.float64(0.1), "a": [np.int32(3), float("inf")], "c": {"d": np.bool_(True)}}
    text = json_text(data)
    assert text == json_text(data)
    assert json.loads(text) == {"b": 0.1, "a": [3, None], "c": {"d": True}}
    assert list(json.loads(text)) == ["b", "a", "c"]  # key order kept
