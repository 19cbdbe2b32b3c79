"""The experiment subcommands through the main ``govsim`` CLI: wiring, exit codes, messages."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest

from govsim import cli as govsim_cli
from govsim.experiment.cli import add_subcommands

from .helpers import uniform_x

COMMANDS = ("plan", "execute", "merge", "analyze", "sweep", "slurm", "compare")


def test_add_subcommands_registers_every_command_with_a_handler() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_subcommands(sub)
    assert set(COMMANDS) <= set(sub.choices)
    for name in COMMANDS:
        args = parser.parse_args([name, "X"] + (["-o", "D"] if name == "plan" else []))
        assert callable(args.func)


def test_main_cli_lists_the_experiment_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert govsim_cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)


def test_plan_with_a_bad_file_exits_2_with_located_errors(
    write_experiment: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_experiment(uniform_x().replace("replicates: 1", "replicates: 0"))
    assert govsim_cli.main(["plan", str(path), "-o", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert f"error: {path}:7: replicates: Input should be greater than or equal to 1" in err
    assert not (tmp_path / "p").exists()


def test_merge_of_an_incomplete_sweep_exits_2_listing_missing_runs(
    write_experiment: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = str(tmp_path / "p")
    assert govsim_cli.main(["plan", str(write_experiment(uniform_x(n=6))), "-o", d]) == 0
    assert govsim_cli.main(["execute", d, "--shard", "1/2", "-q"]) == 0
    assert govsim_cli.main(["merge", d]) == 2
    assert "3 of 6 runs have no result: 0, 2, 4" in capsys.readouterr().err


def test_failed_runs_make_execute_exit_1_and_sweep_stop_before_analysis(
    write_experiment: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = uniform_x(function="fails_above", n=6).replace(
        "method: lhs, n: 6", "method: morris, n: 6"
    )
    d = str(tmp_path / "p")
    assert govsim_cli.main(["sweep", str(write_experiment(text)), "-o", d]) == 1
    captured = capsys.readouterr()
    assert "failed run ids:" in captured.err and "not analysing" in captured.err
    assert (tmp_path / "p" / "runs.parquet").exists() and not (
        tmp_path / "p" / "sensitivity.parquet"
    ).exists()


def test_sweep_runs_everything_and_resumes_as_a_no_op(
    write_experiment: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = uniform_x(n=4).replace("method: lhs, n: 4", "method: morris, n: 4")
    path = write_experiment(text)
    d = str(tmp_path / "s")
    assert (
        govsim_cli.main(["sweep", str(path), "-o", d, "--executor", "processes", "--workers", "2"])
        == 0
    )
    out = capsys.readouterr()
    assert "mu_star" in out.out and "executed 8 runs (8 ok, 0 failed)" in out.err
    for name in (
        "manifest.json",
        "design.parquet",
        "runs.parquet",
        "runs.csv",
        "sensitivity.parquet",
    ):
        assert (tmp_path / "s" / name).exists(), name
    assert (tmp_path / "s" / "plots" / "sensitivity_y.png").exists()
    assert govsim_cli.main(["sweep", str(path), "-o", d]) == 0
    err = capsys.readouterr().err
    assert "executed 0 runs" in err and "skipped 8 already done" in err


def test_bad_execute_options_exit_2(
    write_experiment: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = str(tmp_path / "p")
    govsim_cli.main(["plan", str(write_experiment(uniform_x(n=2))), "-o", d])
    capsys.readouterr()
    assert govsim_cli.main(["execute", d, "--shard", "2/2"]) == 2
    assert "0 <= I < N" in capsys.readouterr().err
    assert govsim_cli.main(["execute", d, "--scheduler", "tcp://x:1"]) == 2
    assert "--scheduler applies to --executor dask only" in capsys.readouterr().err
    assert govsim_cli.main(["execute", str(tmp_path / "nothing")]) == 2
    assert "no plan here" in capsys.readouterr().err
