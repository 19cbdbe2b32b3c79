"""Tests of the run folder: contents, manifest, atomic writing, refusal to overwrite, crashes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import govsim
import govsim.outputs as outputs
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


# --- crash consistency: leftovers of killed runs, --force without a gap, the destination lock ---


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def leftover(root: Path, name: str, kind: str, pid: int, host: str | None = None) -> Path:
    """A hidden folder as a killed run leaves it, holding a partial file."""
    path = root / f".{name}.{kind}-0123abcd-{pid}@{host or outputs.this_host()}"
    path.mkdir(parents=True)
    (path / "timeseries.parquet").write_bytes(b"PAR1 partial")
    return path


def test_the_next_run_removes_leftovers_of_killed_runs(tmp_path: Path, capsys) -> None:
    root = tmp_path / "out"
    stale = leftover(root, "baseline-s42", "tmp", dead_pid())
    other_name = leftover(root, "other-s1", "tmp", dead_pid())
    live = leftover(root, "baseline-s42", "tmp", os.getpid())  # a run writing right now
    remote = leftover(root, "baseline-s42", "tmp", dead_pid(), host="node-elsewhere")
    write(tmp_path)
    assert not stale.exists() and not other_name.exists()
    assert live.exists() and remote.exists()  # not provably stale: left alone
    err = capsys.readouterr().err
    assert f"note: {stale}: removed, left by process" in err
    assert f"{remote}: left by process" in err and "on host node-elsewhere" in err
    assert str(live) not in err


def test_a_folder_set_aside_by_a_killed_force_run_is_restored(tmp_path: Path, capsys) -> None:
    dest = write(tmp_path)
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    aside = dest.with_name(f".{dest.name}.old-0123abcd-{dead_pid()}@{outputs.this_host()}")
    dest.rename(aside)  # the state after the first of two renames, when the process was killed
    notes = outputs.clean_leftovers(dest.parent)
    assert notes == [
        f"{dest}: restored from {aside.name}, left by a --force run "
        + notes[0].split("--force run ")[1]
    ]
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert no_temporaries(tmp_path)


def _run_killed_while_writing(tmp_path: Path, sig: signal.Signals) -> subprocess.CompletedProcess:
    """`govsim run` in a subprocess that receives ``sig`` while its run folder is half-written."""
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        import govsim.report
        from govsim.cli import main

        def draw_then_get_killed(frame, path, title):
            path.write_bytes(b"half a dashboard")
            os.kill(os.getpid(), signal.{sig.name})

        govsim.report.save_dashboard = draw_then_get_killed
        sys.exit(main(["run", "baseline", "--days", "2", "--out", {str(tmp_path / "out")!r}]))
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )


def test_sigterm_while_writing_cleans_up_and_exits_143(tmp_path: Path) -> None:
    done = _run_killed_while_writing(tmp_path, signal.SIGTERM)
    assert done.returncode == 143, done.stderr
    assert "Traceback" not in done.stderr and "interrupted; nothing was written" in done.stderr
    assert not (tmp_path / "out").exists()  # nothing left, not even the output root it created


def test_sigkill_while_writing_leaves_a_folder_the_next_run_removes(tmp_path: Path) -> None:
    done = _run_killed_while_writing(tmp_path, signal.SIGKILL)
    assert done.returncode == -signal.SIGKILL
    (left,) = (tmp_path / "out").iterdir()  # the kill cannot be cleaned up after by the process
    assert left.name.startswith(".baseline-s42.tmp-") and (left / "timeseries.parquet").exists()
    write(tmp_path)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["baseline-s42"]


def test_force_keeps_a_complete_folder_at_the_destination_at_every_instant(tmp_path: Path) -> None:
    dest = write(tmp_path, dashboard=False)
    stop = threading.Event()
    errors: list[BaseException] = []

    def rewrite() -> None:
        try:
            for _ in range(15):
                write(tmp_path, force=True, dashboard=False)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            stop.set()

    writer = threading.Thread(target=rewrite)
    writer.start()
    looks = gaps = 0
    while not stop.is_set():
        looks += 1
        gaps += not (dest / "manifest.json").exists()
    writer.join()
    assert not errors and looks > 0
    assert gaps == 0
    assert no_temporaries(tmp_path)


def test_force_without_folder_swaps_still_replaces(tmp_path: Path, monkeypatch) -> None:
    dest = write(tmp_path)
    monkeypatch.setattr(outputs, "exchange_folders", lambda a, b: False)
    result = FakeResult()
    result.summary = {"closure_rate": 0.1}
    write(tmp_path, result=result, force=True)
    assert json.loads((dest / "summary.json").read_text()) == {"closure_rate": 0.1}
    assert no_temporaries(tmp_path)


def test_a_failed_replacement_rolls_the_old_folder_back(tmp_path: Path, monkeypatch) -> None:
    dest = write(tmp_path)
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    monkeypatch.setattr(outputs, "exchange_folders", lambda a, b: False)
    real_rename = os.rename

    def rename(src, dst):
        if Path(dst) == dest and ".tmp-" in Path(src).name:  # putting the new folder in place
            raise OSError(28, "No space left on device")
        real_rename(src, dst)

    monkeypatch.setattr(outputs.os, "rename", rename)
    result = FakeResult()
    result.summary = {"closure_rate": 0.1}
    with pytest.raises(OutputError, match=r"could not be replaced .*the old folder is kept"):
        write(tmp_path, result=result, force=True)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert no_temporaries(tmp_path)


def test_a_destination_locked_by_another_run_is_refused_with_its_pid(
    tmp_path: Path, monkeypatch
) -> None:
    dest = tmp_path / "out" / "baseline-s42"
    dest.parent.mkdir()
    monkeypatch.setattr(outputs, "LOCK_WAIT_SECONDS", 0.2)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib, govsim.outputs as o\n"
            f"with o.destination_lock(pathlib.Path({str(dest)!r})):\n"
            "    print('locked', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(OutputError) as info:
            write(tmp_path, dest=dest)
        assert info.value.messages == [
            f"{dest}: another govsim run (process {holder.pid}) is writing this run folder; "
            "wait for it to finish, or choose another --out"
        ]
    finally:
        holder.communicate("", timeout=60)
    assert not dest.exists() and no_temporaries(tmp_path)


def test_two_concurrent_runs_to_a_new_destination_are_serialised(
    tmp_path: Path, monkeypatch
) -> None:
    # both runs put their folder in place at the same moment (after their last check that the
    # destination is free), unless one of them is waiting for the lock: then the other goes alone
    together = threading.Condition()
    arrived: list[str] = []
    waiting_for_lock = threading.Event()
    real_install, real_sleep = outputs._install, time.sleep

    def install_together(tmp: Path, dest: Path) -> None:
        with together:
            arrived.append(threading.current_thread().name)
            together.notify_all()
            together.wait_for(lambda: len(arrived) == 2 or waiting_for_lock.is_set(), 60)
        real_install(tmp, dest)

    def sleep_while_locked_out(seconds: float) -> None:
        with together:
            waiting_for_lock.set()
            together.notify_all()
        real_sleep(seconds)

    monkeypatch.setattr(outputs, "_install", install_together)
    monkeypatch.setattr(  # the clock of govsim.outputs only
        outputs, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleep_while_locked_out)
    )
    outcomes: list[BaseException | Path] = []

    def run(closure_rate: float) -> None:
        result = FakeResult()
        result.summary = {"closure_rate": closure_rate}
        try:
            outcomes.append(write(tmp_path, result=result, dashboard=False))
        except BaseException as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=run, args=(rate,)) for rate in (0.1, 0.2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # without the lock both pass the check and the second replaces the first's folder without --force
    dest = tmp_path / "out" / "baseline-s42"
    assert outcomes.count(dest) == 1
    (refused,) = [o for o in outcomes if not isinstance(o, Path)]
    assert isinstance(refused, OutputError) and "already exists; pass --force" in str(refused)
    assert sorted(p.name for p in dest.iterdir()) == [
        "manifest.json",
        "summary.json",
        "timeseries.parquet",
    ]
    assert no_temporaries(tmp_path)
