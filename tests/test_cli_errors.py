"""Error paths of the ``govsim`` command that used to end in a traceback (issue 21).

Each bad invocation must exit 2 with ``error: where: what`` lines on standard error, print no
traceback and write nothing; Ctrl-C while the command starts exits 130, also without a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import govsim.cli
from govsim.cli import main

EXPERIMENT = """\
function: govsim.experiment.testfunctions:ishigami
parameters:
  x1: {range: [-3, 3]}
  x2: {range: [-3, 3]}
  x3: {range: [-3, 3]}
design: {method: lhs, n: 4}
root_seed: 1
"""

TOO_LONG = "a" * 300
"""A path component longer than any file system allows (255 bytes on Linux and macOS)."""


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``govsim argv`` in-process; assert exit 2, only ``error:`` lines; return stderr."""
    rc = main(argv)
    captured = capsys.readouterr()
    assert rc == 2, captured.err
    assert captured.err.strip()
    assert "Traceback" not in captured.err + captured.out
    return captured.err


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with an experiment file and a plain file named ``afile``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp.yaml").write_text(EXPERIMENT, encoding="utf-8")
    (tmp_path / "afile").write_text("not a folder\n", encoding="utf-8")
    return tmp_path


def test_run_with_an_over_long_out_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files_under(workdir)
    err = refused(capsys, ["run", "baseline", "--days", "2", "--out", TOO_LONG, "-q"])
    assert "error: aaaaaaaaaa" in err and "File name too long" in err
    assert files_under(workdir) == before


def test_run_with_out_under_a_file_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(capsys, ["run", "baseline", "--days", "2", "--out", "afile/sub", "-q"])
    assert "error: afile/sub: cannot create the output folder" in err


def test_plan_onto_a_file_is_refused(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(capsys, ["plan", "exp.yaml", "-o", "afile"])
    assert err == "error: afile: exists and is not a directory; choose a directory for the plan\n"
    assert (workdir / "afile").read_text(encoding="utf-8") == "not a folder\n"


@pytest.mark.parametrize("out", ["afile/plan", TOO_LONG])
def test_plan_into_an_uncreatable_folder_is_refused(
    out: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files_under(workdir)
    err = refused(capsys, ["plan", "exp.yaml", "-o", out])
    assert "cannot create the plan directory" in err
    assert files_under(workdir) == before


@pytest.mark.parametrize("seed", ["-1", str(2**63), "x"])
def test_compare_refuses_a_seed_out_of_range(
    seed: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(capsys, ["compare", "baseline", "--seed", seed, "--replicates", "2"])
    assert "argument --seed: expected a whole number" in err
    assert files_under(workdir) == ["afile", "exp.yaml"]


@pytest.mark.parametrize("manifest", ["[1, 2]", '"text"', "3", "null"])
@pytest.mark.parametrize("command", ["execute", "merge", "analyze", "slurm"])
def test_a_manifest_that_is_not_a_mapping_is_refused(
    command: str, manifest: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = workdir / "plan"
    plan.mkdir()
    (plan / "manifest.json").write_text(manifest, encoding="utf-8")
    err = refused(capsys, [command, "plan"])
    assert "error: plan/manifest.json: not a govsim experiment plan (a " in err
    assert files_under(plan) == ["manifest.json"]


@pytest.mark.parametrize("command", ["execute", "merge", "analyze", "slurm"])
def test_a_manifest_missing_its_keys_is_refused_naming_them(
    command: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = workdir / "plan"
    plan.mkdir()
    manifest = {"format": "govsim-experiment-plan/1", "design_hash": "abc", "n_runs": "many"}
    (plan / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    err = refused(capsys, [command, "plan"])
    assert "error: plan/manifest.json: n_runs: expected int (got 'many')" in err
    assert "error: plan/manifest.json: code_version: expected str (got None)" in err
    assert "a damaged manifest; plan again into a new directory" in err
    assert files_under(plan) == ["manifest.json"]


def test_slurm_script_under_a_file_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "exp.yaml", "-o", "plan"]) == 0
    capsys.readouterr()
    before = files_under(workdir)
    err = refused(capsys, ["slurm", "plan", "-o", "afile/job.sbatch"])
    assert "Not a directory" in err
    assert [
        f for f in files_under(workdir) if f not in before and not f.startswith("plan/slurm")
    ] == []
    assert not list(workdir.rglob("*.sbatch"))  # (an empty plan/slurm/logs folder may be left)


def test_ctrl_c_while_parsing_exits_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(govsim.cli, "build_parser", interrupted)
    assert main(["validate", "baseline"]) == 130
    captured = capsys.readouterr()
    assert captured.err == "error: interrupted; nothing was written\n"


def test_ctrl_c_while_govsim_imports_exits_130_without_a_traceback(tmp_path: Path) -> None:
    # a real process: Ctrl-C arrives while govsim.cli imports its modules (the first second)
    script = textwrap.dedent(
        """
        import builtins, runpy, sys
        real_import = builtins.__import__
        def interrupting_import(name, *args, **kwargs):
            if name == "govsim.outputs":
                raise KeyboardInterrupt
            return real_import(name, *args, **kwargs)
        builtins.__import__ = interrupting_import
        sys.argv = ["govsim", "run", "baseline", "--out", "out"]
        runpy.run_module("govsim.cli", run_name="__main__")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert proc.returncode == 130
    assert proc.stderr == "error: interrupted; nothing was written\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("digits", [4000, 5000])
def test_run_with_a_seed_of_thousands_of_digits_is_refused(
    digits: int, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(capsys, ["run", "baseline", "--seed", "1" * digits, "--out", "out"])
    assert "argument --seed" in err or f"an integer of {digits:,} digits is out of range" in err
    assert max(len(line) for line in err.splitlines()) < 300  # the number is not echoed whole
    assert not (workdir / "out").exists()
