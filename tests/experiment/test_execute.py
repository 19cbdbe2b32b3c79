"""Executing plans: one atomic result per run, skipping done runs, faults, shards, resume, stamps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from govsim.config import ScenarioError
from govsim.experiment import results as store
from govsim.experiment import testfunctions
from govsim.experiment.execute import execute, parse_shard
from govsim.experiment.merge import merge
from govsim.experiment.plan import Plan, load_plan, plan
from govsim.experiment.provenance import CODE_VERSION_ENV
from govsim.experiment.spec import load_experiment

from .helpers import deterministic, uniform_x


def planned(
    write_experiment: Callable[..., Path], tmp_path: Path, text: str, name: str = "p"
) -> Plan:
    return plan(load_experiment(write_experiment(text, name=f"{name}.yaml")), tmp_path / name)[0]


def expected_outputs(
    p: Plan, function: Callable[..., dict[str, float]], constants: dict | None = None
) -> pd.DataFrame:
    """Outputs computed directly from the design table: what every run must have produced."""
    rows = []
    for row in p.design.itertuples(index=False):
        params = {name: getattr(row, name) for name in p.parameter_names}
        rows.append(function({**(constants or {}), **params}, int(row.seed)))
    return pd.DataFrame(rows)


def test_serial_execute_writes_one_result_per_run(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, uniform_x(n=10, replicates=2))
    summary = execute(p.dir, progress=False)
    assert (summary.ok, summary.failed, summary.skipped) == (20, 0, 0)
    files = dict(store.iter_result_files(p.results_dir))
    assert sorted(files) == list(range(20))
    leftovers = [f for f in p.results_dir.rglob("*") if f.is_file() and f.suffix != ".json"]
    assert leftovers == []  # no temporary files left behind
    runs, _ = merge(p.dir)
    expected = expected_outputs(p, testfunctions.sleepy)
    pd.testing.assert_series_equal(runs["u"], expected["u"], check_exact=True, check_names=False)
    pd.testing.assert_series_equal(runs["y"], runs["x"], check_names=False)


def test_done_runs_are_skipped(write_experiment: Callable[..., Path], tmp_path: Path) -> None:
    p = planned(write_experiment, tmp_path, uniform_x(n=8))
    execute(p.dir, progress=False)
    stamps = {i: path.stat().st_mtime_ns for i, path in store.iter_result_files(p.results_dir)}
    again = execute(p.dir, progress=False)
    assert (again.executed, again.skipped) == (0, 8)
    assert {
        i: path.stat().st_mtime_ns for i, path in store.iter_result_files(p.results_dir)
    } == stamps


def test_a_raising_run_is_recorded_and_the_sweep_goes_on(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, uniform_x(function="fails_above", n=20))
    summary = execute(p.dir, progress=False)
    too_big = p.design.loc[p.design["x"] > 0.8, "run_id"].tolist()
    assert too_big, "the design must contain failing points for this test to mean anything"
    assert summary.failed_ids == too_big
    assert summary.ok == 20 - len(too_big)
    rec = store.read_result(store.result_path(p.results_dir, too_big[0]))
    assert rec is not None and rec["status"] == "failed"
    assert rec["error"].startswith("ValueError: x=") and "fails_above" in rec["traceback"]
    runs, _ = merge(p.dir)
    failed = runs[runs["status"] == "failed"]
    assert failed["run_id"].tolist() == too_big
    assert failed["y"].isna().all() and failed["error"].str.contains("above the threshold").all()


def test_retry_failed_reruns_only_failed_runs(
    write_experiment: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "broken"
    marker.touch()
    monkeypatch.setenv(testfunctions.FAIL_MARKER_ENV, str(marker))
    p = planned(write_experiment, tmp_path, uniform_x(function="fails_when_marked", n=16))
    first = execute(p.dir, progress=False)
    assert first.failed > 0
    marker.unlink()  # the transient fault is gone
    plain = execute(p.dir, progress=False)
    assert plain.executed == 0  # failed runs count as done unless asked
    retried = execute(p.dir, progress=False, retry_failed=True)
    assert (retried.executed, retried.failed, retried.skipped) == (first.failed, 0, first.ok)
    runs, _ = merge(p.dir)
    assert (runs["status"] == "ok").all()
    expected = expected_outputs(p, testfunctions.fails_when_marked)
    pd.testing.assert_series_equal(runs["y"], expected["y"], check_exact=True, check_names=False)


def test_shards_partition_the_runs_and_match_serial(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    text = uniform_x(n=11, replicates=2)
    serial = planned(write_experiment, tmp_path, text, name="serial")
    execute(serial.dir, progress=False)
    sharded = planned(write_experiment, tmp_path, text, name="sharded")
    seen: set[int] = set()
    for i in range(3):
        before = set(dict(store.iter_result_files(sharded.results_dir)))
        summary = execute(sharded.dir, shard=(i, 3), progress=False)
        new = set(dict(store.iter_result_files(sharded.results_dir))) - before
        assert new == set(range(i, 22, 3)) and summary.selected == len(new)
        assert not (new & seen)
        seen |= new
    assert seen == set(range(22))
    a, _ = merge(serial.dir)
    b, _ = merge(sharded.dir)
    pd.testing.assert_frame_equal(deterministic(a), deterministic(b), check_exact=True)


def test_process_pool_matches_serial(write_experiment: Callable[..., Path], tmp_path: Path) -> None:
    text = uniform_x(n=12, replicates=2)
    serial = planned(write_experiment, tmp_path, text, name="serial")
    execute(serial.dir, progress=False)
    pool = planned(write_experiment, tmp_path, text, name="pool")
    summary = execute(pool.dir, executor="processes", workers=2, chunk_size=3, progress=False)
    assert summary.ok == 24
    a, _ = merge(serial.dir)
    b, _ = merge(pool.dir)
    pd.testing.assert_frame_equal(deterministic(a), deterministic(b), check_exact=True)


def test_an_interrupted_execute_resumes_with_only_the_missing_runs(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, uniform_x(n=150, set_="{sleep: 0.02}"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "govsim.experiment", "execute", str(p.dir), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while sum(1 for _ in store.iter_result_files(p.results_dir)) < 20:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the execute never got going"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up: like a node failure or scancel -9
    proc.wait()
    done_before = sum(1 for _ in store.iter_result_files(p.results_dir))
    assert 20 <= done_before < 150
    resumed = execute(p.dir, progress=False)
    assert resumed.skipped == done_before
    assert resumed.executed == 150 - done_before
    runs, _ = merge(p.dir)
    expected = expected_outputs(p, testfunctions.sleepy, {"sleep": 0.02})
    pd.testing.assert_series_equal(runs["u"], expected["u"], check_exact=True, check_names=False)


def test_execute_refuses_a_changed_code_version(
    write_experiment: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = planned(write_experiment, tmp_path, uniform_x(n=4))
    monkeypatch.setenv(CODE_VERSION_ENV, "govsim-newer")
    with pytest.raises(
        ScenarioError,
        match="planned with code version govsim-test-pinned, but this is govsim-newer",
    ):
        execute(p.dir, progress=False)
    assert not p.results_dir.exists()


def test_results_of_another_design_are_detected_not_mixed(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    a = planned(write_experiment, tmp_path, uniform_x(n=6), name="a")
    b = planned(
        write_experiment, tmp_path, uniform_x(n=6).replace("root_seed: 5", "root_seed: 6"), name="b"
    )
    execute(a.dir, shard=(0, 2), progress=False)
    # a result file of plan b is copied into plan a (e.g. a careless rsync)
    execute(b.dir, progress=False)
    src = store.result_path(b.results_dir, 1)
    dst = store.result_path(a.results_dir, 1)
    dst.write_bytes(src.read_bytes())
    with pytest.raises(ScenarioError, match="belong to another design or code version"):
        execute(a.dir, progress=False)
    with pytest.raises(ScenarioError, match="do not belong to this plan"):
        merge(a.dir)


@pytest.mark.parametrize("text", ["3", "3/3", "-1/2", "a/b", "1/0"])
def test_bad_shards(text: str) -> None:
    with pytest.raises(ScenarioError, match="--shard"):
        parse_shard(text)


def test_shard_parse() -> None:
    assert parse_shard("0/1") == (0, 1)
    assert parse_shard("4/5") == (4, 5)


def test_progress_summary_line(write_experiment: Callable[..., Path], tmp_path: Path) -> None:
    p = planned(write_experiment, tmp_path, uniform_x(function="fails_above", n=20))
    summary = execute(p.dir, progress=False)
    line = summary.line()
    assert f"executed 20 runs ({summary.ok} ok, {summary.failed} failed)" in line
    assert "failed run ids:" in line
    assert load_plan(p.dir).n_runs == 20


def _execute_until_results(p, module: str, n: int) -> subprocess.Popen:
    """Start ``python -m MODULE execute`` on plan ``p`` and return once ``n`` runs are done."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "execute", str(p.dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while sum(1 for _ in store.iter_result_files(p.results_dir)) < n:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    return proc


def test_ctrl_c_keeps_finished_runs_and_says_so(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, uniform_x(n=100, set_="{sleep: 0.05}"))
    proc = _execute_until_results(p, "govsim.experiment", 10)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: executed" in err and "run execute again to resume" in err
    kept = sum(1 for _ in store.iter_result_files(p.results_dir))
    assert 10 <= kept < 100
    assert execute(p.dir, progress=False).executed == 100 - kept


# --- stopping cleanly: the pool's workers go with the parent, exact counts, no tracebacks ---


def children(pid: int) -> set[int]:
    """The process ids whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` that still run (zombies count as gone)."""
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


def start_pool_execute(p: Plan, executor: str = "processes") -> tuple[subprocess.Popen, set[int]]:
    """`govsim execute --executor processes` (or dask) in its own process group, once it has
    written 10 results (chunks of 20, so every worker is in the middle of one); returns it and its
    children."""
    pool = ["--executor", executor, "--workers", "2", "--chunk-size", "20"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "govsim.cli", "execute", str(p.dir), *pool],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while sum(1 for _ in store.iter_result_files(p.results_dir)) < 10:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the execute never got going"
        time.sleep(0.05)
    kids = children(proc.pid)
    assert len(kids) >= 2  # two workers (and multiprocessing's resource tracker)
    return proc, kids


def wait_gone(pids: set[int], timeout: float = 60) -> set[int]:
    deadline = time.monotonic() + timeout
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(pids)


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_one_ctrl_c_stops_a_process_pool_with_an_exact_count(
    write_experiment: Callable[..., Path], tmp_path: Path, executor: str
) -> None:
    if executor == "dask":
        pytest.importorskip("distributed", reason="the cluster extra is part of the dev install")
    p = planned(write_experiment, tmp_path, uniform_x(n=300, set_="{sleep: 0.1}"))
    proc, workers = start_pool_execute(p, executor)
    os.killpg(proc.pid, signal.SIGINT)  # as the terminal sends it: to the workers too
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert wait_gone(workers) == set()
    on_disk = sum(1 for _ in store.iter_result_files(p.results_dir))
    assert f"interrupted: executed {on_disk} runs ({on_disk} ok, 0 failed)" in err, err
    assert 10 <= on_disk < 300
    assert not [f for f in p.results_dir.rglob(".*")]  # no temporary files of killed workers
    assert execute(p.dir, progress=False).executed == 300 - on_disk


def test_killing_a_pool_execute_takes_its_workers_with_it(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, uniform_x(n=300, set_="{sleep: 0.1}"))
    proc, workers = start_pool_execute(p)
    os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up: scancel -9, the OOM killer
    proc.communicate(timeout=60)
    assert wait_gone(workers) == set()  # before: they ran on forever (~190 MB each)
    done_before = sum(1 for _ in store.iter_result_files(p.results_dir))
    resumed = execute(p.dir, progress=False)
    assert resumed.executed == 300 - done_before
    assert not [f for f in p.results_dir.rglob(".*")]


def test_a_worker_killed_from_outside_stops_the_execute_with_an_exact_count(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, uniform_x(n=300, set_="{sleep: 0.1}"))
    proc, kids = start_pool_execute(p)
    workers = {pid for pid in kids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()}
    os.kill(min(workers), signal.SIGKILL)  # as the OOM killer would
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    on_disk = sum(1 for _ in store.iter_result_files(p.results_dir))
    assert (
        f"stopped: a worker process died (killed, or out of memory): executed {on_disk} runs" in err
    )
    assert "Traceback" not in err and wait_gone(kids) == set()


def test_sigterm_stops_an_execute_like_ctrl_c_with_exit_143(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, uniform_x(n=100, set_="{sleep: 0.05}"))
    proc = _execute_until_results(p, "govsim.cli", 10)
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    on_disk = sum(1 for _ in store.iter_result_files(p.results_dir))
    assert f"terminated (SIGTERM): executed {on_disk} runs" in err and "Traceback" not in err


# --- damaged result files count as not run ---


def test_a_malformed_record_is_run_again(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, uniform_x(n=6))
    execute(p.dir, progress=False)
    path = store.result_path(p.results_dir, 2)
    good = path.read_bytes()
    path.write_text(good.decode().replace('"wall_s":', '"wall_s":"abc","was":'))
    again = execute(p.dir, progress=False)
    assert (again.executed, again.skipped) == (1, 5)
    assert store.read_result(path) is not None


def test_temporary_files_of_killed_writers_are_removed(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, uniform_x(n=4))
    execute(p.dir, progress=False)
    bucket = store.result_path(p.results_dir, 0).parent
    gone = subprocess.Popen(["true"])
    gone.wait()
    host = store.this_host()
    dead = bucket / f".run-00000001.json.{gone.pid}-0123abcd@{host}.tmp"
    live = bucket / f".run-00000002.json.{os.getpid()}-0123abcd@{host}.tmp"
    remote = bucket / f".run-00000003.json.{gone.pid}-0123abcd@node-elsewhere.tmp"
    for f in (dead, live, remote):
        f.write_bytes(b"{half")
    execute(p.dir, progress=False)
    assert not dead.exists() and live.exists() and remote.exists()
