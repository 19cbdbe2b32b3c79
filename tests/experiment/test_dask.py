"""Dask execution: identical results to serial and sharded runs, and a killed worker loses nothing."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from govsim.experiment import results as store
from govsim.experiment import testfunctions
from govsim.experiment.execute import execute
from govsim.experiment.merge import merge
from govsim.experiment.plan import plan
from govsim.experiment.spec import load_experiment

from .helpers import deterministic, uniform_x

pytest.importorskip(
    "distributed", reason="the cluster extra (dask[distributed]) is part of the dev install"
)


def test_serial_two_dask_workers_and_shards_give_identical_tables(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    exp = load_experiment(write_experiment(uniform_x(n=30, replicates=2)))
    dirs = {name: plan(exp, tmp_path / name)[0].dir for name in ("serial", "dask", "shards")}
    execute(dirs["serial"], progress=False)
    summary = execute(dirs["dask"], executor="dask", workers=2, chunk_size=4, progress=False)
    assert summary.ok == 60
    for i in (2, 0, 1):  # any order
        execute(dirs["shards"], shard=(i, 3), progress=False)
    tables = {name: merge(d)[0] for name, d in dirs.items()}
    for name in ("dask", "shards"):
        pd.testing.assert_frame_equal(
            deterministic(tables["serial"]), deterministic(tables[name]), check_exact=True
        )
        # runs.csv holds no timing or host columns: byte-identical files
        assert (dirs[name] / "runs.csv").read_bytes() == (dirs["serial"] / "runs.csv").read_bytes()


def test_a_killed_worker_is_replaced_and_its_runs_redone(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    from distributed import Client, LocalCluster

    n = 120
    p, _ = plan(
        load_experiment(write_experiment(uniform_x(n=n, set_="{sleep: 0.05}"))), tmp_path / "p"
    )
    outcome: dict[str, Any] = {}
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,
    ):
        pids = set(client.run(os.getpid).values())
        assert len(pids) == 2

        def run() -> None:
            try:
                outcome["summary"] = execute(
                    p.dir,
                    executor="dask",
                    scheduler=cluster.scheduler_address,
                    chunk_size=4,
                    progress=False,
                )
            except BaseException as exc:  # reported by the main thread
                outcome["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 120
        while sum(1 for _ in store.iter_result_files(p.results_dir)) < 16:
            assert time.monotonic() < deadline and thread.is_alive(), outcome
            time.sleep(0.02)
        victim = sorted(pids)[0]
        os.kill(victim, signal.SIGKILL)  # mid-sweep: both workers are busy with 4-run chunks
        done_at_kill = sum(1 for _ in store.iter_result_files(p.results_dir))
        thread.join(timeout=300)
        assert not thread.is_alive(), "the sweep did not finish after the worker was killed"
        assert "error" not in outcome, outcome.get("error")
        after = set(client.run(os.getpid).values())
    assert done_at_kill < n, "the kill must happen mid-sweep for this test to mean anything"
    assert victim not in after
    assert outcome["summary"].ok == n and outcome["summary"].failed == 0
    runs, _ = merge(p.dir)
    expected = [
        testfunctions.sleepy({"sleep": 0.0, "x": r.x}, int(r.seed))["u"]
        for r in p.design.itertuples()
    ]
    assert runs["u"].tolist() == expected
    assert (runs["status"] == "ok").all()
