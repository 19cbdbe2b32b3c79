"""One run: function and scenario targets, outputs checked, errors recorded instead of raised."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from govsim.config import load_scenario, scenario_to_dict
from govsim.experiment.execute import execute
from govsim.experiment.merge import merge
from govsim.experiment.plan import plan
from govsim.experiment.run import RunContext, RunTask, run_one
from govsim.experiment.spec import load_experiment


def fn_ctx(ref: str, constants: dict | None = None) -> RunContext:
    return RunContext("function", ref, None, constants or {}, None, False, "h", "c", "")


def test_function_target_gets_constants_and_parameters() -> None:
    ctx = fn_ctx("govsim.experiment.testfunctions:paired_noise", {"slope": 5.0, "sd": 0.0})
    record, ts = run_one(ctx, RunTask(3, 1, 0, 42, {"x": 2.0}))
    assert record["status"] == "ok" and record["error"] is None and ts is None
    assert record["outputs"] == {"y": 10.0, "z": 0.0}
    assert (record["run_id"], record["point_id"], record["seed"]) == (3, 1, 42)
    assert record["design_hash"] == "h" and record["code_version"] == "c" and record["wall_s"] >= 0


@pytest.mark.parametrize(
    ("ref", "params", "error"),
    [
        (
            "govsim.experiment.testfunctions:fails_above",
            {"x": 0.9},
            "ValueError: x=0.900 is above the threshold",
        ),
        ("govsim.experiment.testfunctions:ishigami", {"x1": 0.0}, "KeyError: 'x2'"),
        ("builtins:len", {"x": 1}, "TypeError"),
    ],
)
def test_errors_become_failed_records(ref: str, params: dict, error: str) -> None:
    record, _ = run_one(fn_ctx(ref), RunTask(0, 0, 0, 1, params))
    assert record["status"] == "failed" and record["outputs"] == {}
    assert record["error"].startswith(error) and "Traceback" in record["traceback"]


def test_non_dict_results_are_refused() -> None:
    record, _ = run_one(
        fn_ctx("builtins:max"), RunTask(0, 0, 0, 1, {})
    )  # max(params, seed) -> int or error
    assert record["status"] == "failed"
    assert "expected a dict of named outputs" in record["error"] or "TypeError" in record["error"]


def test_scenario_target_runs_the_model_with_the_row_applied() -> None:
    pytest.importorskip("govsim.runner")
    base = scenario_to_dict(load_scenario("baseline", ["population.citizens=300"]))
    ctx = RunContext("scenario", None, base, {}, 3, True, "h", "c", "")
    record, ts = run_one(ctx, RunTask(0, 0, 0, 7, {"dispatch.data_sharing": 0.9}))
    assert record["status"] == "ok", record["traceback"]
    assert isinstance(ts, pd.DataFrame) and len(ts) == 3 and ts.columns[0] == "day"
    assert all(isinstance(v, float) for v in record["outputs"].values())
    same, _ = run_one(ctx, RunTask(0, 0, 0, 7, {"dispatch.data_sharing": 0.9}))
    assert same["outputs"] == pytest.approx(record["outputs"], nan_ok=True)
    bad, _ = run_one(ctx, RunTask(1, 0, 0, 7, {"dispatch.data_sharing": 7.0}))
    assert bad["status"] == "failed" and "data_sharing" in bad["error"]


@pytest.mark.slow
def test_scenario_sweep_keeps_daily_tables(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    pytest.importorskip("govsim.runner")
    path = write_experiment(
        """
        scenario: baseline
        set: {population.citizens: 300}
        parameters:
          dispatch.data_sharing: {levels: [0.1, 0.9]}
          population.network_degree: {levels: [2, 6]}
        design: {method: grid}
        days: 3
        timeseries: true
        root_seed: 3
        """
    )
    p, _ = plan(load_experiment(path), tmp_path / "p")
    assert (tmp_path / "p" / "base_scenario.yaml").exists()
    assert execute(p.dir, progress=False).ok == 4
    runs, written = merge(p.dir, timeseries=True)
    assert [w.name for w in written] == ["runs.parquet", "runs.csv", "timeseries.parquet"]
    ts = pd.read_parquet(p.dir / "timeseries.parquet")
    assert list(ts.columns[:2]) == ["run_id", "day"] and len(ts) == 4 * 3
    assert sorted(set(ts["run_id"])) == [0, 1, 2, 3]
    assert runs["population.network_degree"].tolist() == [2, 6, 2, 6]
