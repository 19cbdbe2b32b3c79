"""SLURM job arrays: the sbatch script (values quoted or refused), and a real single-node SLURM running a
sweep end to end."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from govsim.config import ScenarioError
from govsim.experiment import results as store
from govsim.experiment.cli import main
from govsim.experiment.execute import execute
from govsim.experiment.merge import merge
from govsim.experiment.plan import Plan, plan
from govsim.experiment.provenance import hostname
from govsim.experiment.slurm import write_script
from govsim.experiment.spec import load_experiment

from .helpers import deterministic, uniform_x
from .slurm_cluster import single_node_slurm


def planned(write_experiment: Callable[..., Path], tmp_path: Path, name: str, n: int = 24) -> Plan:
    return plan(load_experiment(write_experiment(uniform_x(n=n))), tmp_path / name)[0]


def test_array_script_batches_runs_and_bakes_in_the_shard_count(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, "p", n=103)
    script = write_script(
        p.dir,
        overrides={
            "runs_per_task": 25,
            "partition": "short",
            "time": "01:00:00",
            "max_parallel": 2,
        },
    )
    assert script.tasks == 5 and script.path == p.dir / "slurm" / "govsim-array.sbatch"
    text = script.path.read_text()
    assert text.startswith("#!/bin/bash\n")
    assert "#SBATCH --array=0-4%2" in text
    assert "#SBATCH --partition=short" in text and "#SBATCH --time=01:00:00" in text
    assert f"{sys.executable} -m govsim.cli execute {p.dir.resolve()}" in text
    assert '--shard "${SLURM_ARRAY_TASK_ID}/5" --executor serial' in text
    assert (p.dir / "slurm" / "logs").is_dir()
    assert subprocess.run(["bash", "-n", str(script.path)]).returncode == 0  # valid shell


def test_multi_cpu_tasks_use_a_process_pool(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, "p")
    text = write_script(p.dir, overrides={"cpus_per_task": 4}).text
    assert "#SBATCH --cpus-per-task=4" in text and "--executor processes --workers 4" in text


def test_bad_slurm_setting_is_refused(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, "p")
    assert main(["slurm", str(p.dir), "--time", "soon"]) == 2
    assert not (p.dir / "slurm" / "govsim-array.sbatch").exists()


@pytest.fixture(scope="module")
def slurm_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real single-node SLURM for this module's tests (installed if missing, stopped after)."""
    with single_node_slurm(tmp_path_factory.mktemp("slurm")) as env:
        yield env


def _env(slurm_env: dict[str, str]) -> dict[str, str]:
    """The current environment (with this test's pinned code version) pointed at the test SLURM."""
    return {**os.environ, "SLURM_CONF": slurm_env["SLURM_CONF"]}


def _wait_for_job(job_id: str, env: dict[str, str], timeout: float = 300) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queued = subprocess.run(
            ["squeue", "-h", "-j", job_id], env=env, capture_output=True, text=True
        )
        if queued.returncode == 0 and not queued.stdout.strip():
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"SLURM job {job_id} still queued or running after {timeout} s")
    shown = subprocess.run(
        ["scontrol", "-o", "show", "job", job_id], env=env, capture_output=True, text=True
    )
    return re.findall(r"JobState=(\w+)", shown.stdout)


@pytest.mark.slurm
def test_job_array_runs_a_sweep_end_to_end(
    slurm_env: dict[str, str], write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    reference = planned(write_experiment, tmp_path, "reference")
    execute(reference.dir, progress=False)
    p = planned(write_experiment, tmp_path, "on_slurm")
    assert main(["slurm", str(p.dir), "--runs-per-task", "7"]) == 0  # 24 runs: 4 tasks
    script = p.dir / "slurm" / "govsim-array.sbatch"
    submitted = subprocess.run(
        ["sbatch", "--parsable", str(script)],
        env=_env(slurm_env),
        capture_output=True,
        text=True,
        check=True,
    )
    job_id = submitted.stdout.strip().split(";")[0]
    states = _wait_for_job(job_id, slurm_env)
    logs = {f.name: f.read_text() for f in (p.dir / "slurm" / "logs").glob("*.out")}
    assert states == ["COMPLETED"] * 4, (states, logs)
    assert len(logs) == 4 and all("executed" in text for text in logs.values()), logs
    runs, _ = merge(p.dir)
    ref, _ = merge(reference.dir)
    pd.testing.assert_frame_equal(deterministic(runs), deterministic(ref), check_exact=True)
    assert set(runs["host"]) == {hostname()}

    # resubmitting one task alone keeps its shard (the task count is in the script, not taken from
    # SLURM, which would say 1): delete task 2's results, run only task 2 again
    lost = list(range(2, 24, 4))
    for run_id in lost:
        store.result_path(p.results_dir, run_id).unlink()
    resubmitted = subprocess.run(
        ["sbatch", "--parsable", "--array=2", str(script)],
        env=_env(slurm_env),
        capture_output=True,
        text=True,
        check=True,
    )
    assert _wait_for_job(resubmitted.stdout.strip().split(";")[0], slurm_env) == ["COMPLETED"]
    again, _ = merge(p.dir)
    pd.testing.assert_frame_equal(deterministic(again), deterministic(ref), check_exact=True)


@pytest.mark.slurm
def test_dask_jobqueue_slurm_cluster_from_the_experiment(
    slurm_env: dict[str, str],
    write_experiment: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("dask_jobqueue", reason="the cluster extra is part of the dev install")
    monkeypatch.setenv("SLURM_CONF", slurm_env["SLURM_CONF"])  # SLURMCluster calls sbatch from here
    text = uniform_x(n=12) + (
        "cluster:\n  kind: slurm\n  jobs: 1\n  start_timeout: 180\n"
        f"  options: {{cores: 1, memory: 1GB, processes: 1, walltime: '00:10:00', interface: lo,"
        f" log_directory: {tmp_path / 'dask-logs'}, python: {sys.executable}}}\n"
    )
    p = plan(load_experiment(write_experiment(text)), tmp_path / "dask_slurm")[0]
    summary = execute(p.dir, executor="dask", progress=False)
    assert summary.ok == 12
    reference = planned(write_experiment, tmp_path, "reference", n=12)
    execute(reference.dir, progress=False)
    pd.testing.assert_frame_equal(
        deterministic(merge(p.dir)[0]), deterministic(merge(reference.dir)[0]), check_exact=True
    )


@pytest.mark.slurm
def test_a_calibration_runs_on_slurm_through_dask_jobqueue(
    slurm_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``govsim calibrate --cluster PROFILE`` with a SLURM profile, as ``govsim sweep`` takes it:
    the particles are simulated in a SLURM job and each is what one process simulates at its
    values with its seed."""
    import numpy as np

    from govsim.calibrate import fit
    from govsim.calibrate.cli import run_calibration
    from govsim.calibrate.patterns import load_patterns_text
    from govsim.calibrate.spec import load_calibration_text
    from govsim.experiment.spec import ClusterSpec

    monkeypatch.setenv("SLURM_CONF", slurm_env["SLURM_CONF"])
    patterns = load_patterns_text(
        "patterns:\n  sat:\n    metric: satisfaction_reported\n"
        "    target: {value: 0.7, uncertainty: 0.1}\n    source: test\n",
        "patterns.yaml",
    )
    cal = load_calibration_text(
        "parameters:\n  gaming.pressure_effect: {range: [0.0, 1.0]}\n"
        "set: {population.citizens: 200}\ndays: 20\nreplicates: 1\nroot_seed: 3\n"
        "screening: {enabled: false}\nabc: {population: 4, generations: 1}\n",
        "params.yaml",
        "baseline",
        patterns,
    )
    cluster = ClusterSpec(
        kind="slurm",
        jobs=1,
        start_timeout=180,
        options={
            "cores": 1,
            "memory": "1GB",
            "processes": 1,
            "walltime": "00:10:00",
            "interface": "lo",
            "log_directory": str(tmp_path / "dask-logs"),
            "python": sys.executable,
        },
    )
    out = tmp_path / "calibration"
    assert run_calibration(cal, out, executor="dask", cluster=cluster) == 0
    post = pd.read_parquet(out / "posterior.parquet")
    assert len(post) == 4
    for _, row in post.iterrows():
        values = {"gaming.pressure_effect": float(row["gaming.pressure_effect"])}
        seed = fit.particle_seed(3, fit.theta_digest(values), 0)
        got = fit.simulate_features(cal.base_scenario, values, cal.patterns.patterns, seed, 20)
        assert np.isclose(got["sat"], row["sim::sat"], rtol=1e-12)


@pytest.mark.slurm
def test_dask_slurm_jobs_that_cannot_start_are_reported(
    slurm_env: dict[str, str],
    write_experiment: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("dask_jobqueue", reason="the cluster extra is part of the dev install")
    monkeypatch.setenv("SLURM_CONF", slurm_env["SLURM_CONF"])
    text = uniform_x(n=4) + (
        "cluster:\n  kind: slurm\n  start_timeout: 5\n"
        "  options: {cores: 1, memory: 100000GB, processes: 1, interface: lo}\n"  # no node has that
    )
    p = plan(load_experiment(write_experiment(text)), tmp_path / "p")[0]
    with pytest.raises(ScenarioError, match="no Dask worker joined within 5 s"):
        execute(p.dir, executor="dask", progress=False)
    assert not p.results_dir.exists()


# --- every value written is refused or quoted ---


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--partition", "short\ntouch X"),
        ("--account", "lab\r\n#SBATCH --x"),
        ("--partition", "a\0b"),
    ],
)
def test_a_value_with_a_control_character_is_refused_with_its_setting(
    write_experiment: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    value: str,
) -> None:
    p = planned(write_experiment, tmp_path, "p")
    monkeypatch.chdir(tmp_path)
    assert main(["slurm", str(p.dir), flag, value]) == 2
    err = capsys.readouterr().err
    assert f"error: slurm.{flag[2:]}: contains the control character" in err
    assert not (p.dir / "slurm" / "govsim-array.sbatch").exists()


def test_setup_lines_and_directives_must_each_be_one_line(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, "p")
    with pytest.raises(ScenarioError) as info:
        write_script(
            p.dir,
            overrides={
                "setup": ["module load x", "cd /\nrm -rf ~"],
                "extra_directives": ["--a\tb"],
            },
        )
    assert [m.split(":")[0] for m in info.value.messages] == [
        "slurm.extra_directives[0]",
        "slurm.setup[1]",
    ]


def sbatch_directive_arguments(line: str) -> list[str]:
    """The arguments sbatch takes from an ``#SBATCH`` line (its rules: whitespace separates,
    '...' and "..." group, a backslash escapes the next character, an unquoted # ends the line)."""
    args: list[str] = []
    current: list[str] | None = None
    quote = None
    escaped = False
    for char in line.removeprefix("#SBATCH"):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
            current = current if current is not None else []
            continue
        elif quote:
            if char == quote:
                quote = None
                continue
        elif char in "\"'":
            quote = char
            current = current if current is not None else []
            continue
        elif char == "#":
            break
        elif char.isspace():
            if current is not None:
                args.append("".join(current))
                current = None
            continue
        current = (current if current is not None else []) + [char]
    if current is not None:
        args.append("".join(current))
    return args


def test_directive_values_are_quoted_the_way_sbatch_reads_them(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    p = planned(write_experiment, tmp_path, "p")
    values = {"partition": 'gpu a"b#c', "account": "lab\\x 'y'"}
    text = write_script(p.dir, overrides=values).text
    for flag, value in values.items():
        (line,) = [x for x in text.splitlines() if x.startswith(f"#SBATCH --{flag}=")]
        assert sbatch_directive_arguments(line) == [f"--{flag}={value}"]


def test_a_plan_directory_with_shell_characters_is_passed_verbatim(
    write_experiment: Callable[..., Path], tmp_path: Path
) -> None:
    weird = tmp_path / "my plan $(touch PWNED) `touch PWNED` 'q\" ;x"
    p = plan(load_experiment(write_experiment(uniform_x(n=6))), weird)[0]
    received = tmp_path / "argv.txt"
    fake_python = tmp_path / "fake-python"  # records the arguments instead of running govsim
    fake_python.write_text(f'#!/bin/bash\nprintf "%s\\n" "$@" > {shlex.quote(str(received))}\n')
    fake_python.chmod(0o755)
    script = write_script(p.dir, python=str(fake_python))
    for line in script.text.splitlines():
        if line.startswith("#SBATCH --output="):
            assert sbatch_directive_arguments(line) == [
                f"--output={weird.resolve()}/slurm/logs/%A_%a.out"
            ]
    ran = subprocess.run(
        ["bash", str(script.path)],
        cwd=tmp_path,
        env={**os.environ, "SLURM_ARRAY_TASK_ID": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    argv = received.read_text().splitlines()
    assert argv[:3] == ["-m", "govsim.cli", "execute"]
    assert argv[3] == str(weird.resolve())
    assert argv[4:6] == ["--shard", "0/1"]
    assert not list(tmp_path.rglob("PWNED"))
