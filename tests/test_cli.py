"""Tests of the ``govsim`` command: bad input, end-to-end runs, determinism across processes."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest
import yaml

import govsim.runner
from govsim.cli import main
from govsim.config import load_scenario, packaged_scenarios, scenario_sha256

DATA = Path(__file__).parent / "data"
BAD = sorted((DATA / "bad").glob("*.yaml"))
TINY = ["--set", "population.citizens=500", "--days", "20"]
"""A run small enough for tests (about a second)."""


def expectations(path: Path) -> list[str]:
    """The ``# expect: ...`` fragments a broken scenario file declares about its own error."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        line.split("# expect:", 1)[1].strip().format(file=path, dir=path.parent)
        for line in lines
        if line.startswith("# expect:")
    ]


def run_govsim(args: list[str], cwd: Path, hashseed: str = "0") -> subprocess.CompletedProcess:
    """Run ``govsim`` in a separate Python process."""
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    return subprocess.run(
        [sys.executable, "-m", "govsim.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )


# ---- bad input -------------------------------------------------------------------------------


def test_the_bad_corpus_is_substantial_and_annotated() -> None:
    assert len(BAD) >= 20
    for path in BAD:
        assert expectations(path), f"{path.name} declares no '# expect:' line"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_scenario_is_refused_with_its_message_and_nothing_written(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    rc = main(["run", str(path), "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert rc == 2
    for fragment in expectations(path):
        assert fragment in captured.err, f"expected {fragment!r} in:\n{captured.err}"
    assert captured.err.strip()
    assert all(line.startswith("error: ") for line in captured.err.splitlines())
    assert captured.out == ""
    assert not out.exists()


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_validate_reports_the_same_problem(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    for fragment in expectations(path):
        assert fragment in err


def test_validate_lists_every_problem_of_every_file(capsys: pytest.CaptureFixture[str]) -> None:
    good = DATA / "good" / "small.yaml"
    typo, owner = DATA / "bad" / "unknown_top_key.yaml", DATA / "bad" / "unknown_owner.yaml"
    rc = main(["validate", str(good), str(typo), "baseline", str(owner)])
    captured = capsys.readouterr()
    assert rc == 2
    assert f"{good}: ok" in captured.out and "baseline: ok" in captured.out
    for path in (typo, owner):
        for fragment in expectations(path):
            assert fragment in captured.err
    assert "2 of 4 scenarios invalid" in captured.err


def test_validate_all_good_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *sorted(packaged_scenarios()), str(DATA / "good" / "small.yaml")]) == 0
    assert capsys.readouterr().err == ""


def test_bad_set_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    rc = main(["run", "baseline", "--out", str(out), "--set", "dispatch.mod=unified"])
    assert rc == 2
    assert "did you mean 'mode'?" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "baseline", "--seed", "-3"], "argument --seed: expected a non-negative integer"),
        (["run", "baseline", "--days", "0"], "argument --days: expected a positive number of days"),
        (["run", "baseline", "--format", "xlsx"], "argument --format: invalid choice"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(
    args: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args, "--out", str(tmp_path / "out")] if args[0] == "run" else args) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: govsim" in capsys.readouterr().err


def test_bad_input_shows_no_traceback_in_a_real_process(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_govsim(["run", str(DATA / "bad" / "python_tag.yaml"), "--out", str(out)], tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")
    assert not out.exists()


# ---- scenarios, show --------------------------------------------------------------------------


def test_scenarios_lists_every_packaged_scenario_with_its_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(packaged_scenarios())
    for name, path in packaged_scenarios().items():
        description = yaml.safe_load(path.read_text(encoding="utf-8")).get("description", "")
        assert any(line.split()[0] == name and line.endswith(description) for line in lines)


def test_show_prints_the_resolved_scenario_with_overrides(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["show", str(DATA / "good" / "small.yaml"), "--set", "dispatch.mode=unified"]) == 0
    text = capsys.readouterr().out
    data = yaml.safe_load(text)
    assert data["population"]["citizens"] == 500  # from the file
    assert data["dispatch"]["mode"] == "unified"  # from --set
    assert data["dispatch"]["data_sharing"] == load_scenario("baseline").dispatch.data_sharing
    assert "extends" not in data
    assert "citizens: 500  # [citizens]" in text


def test_show_bad_scenario_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "baseline", "--set", "city.districts=0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error: --set city.districts: city.districts: Input should be greater" in captured.err


def test_console_script_points_at_main() -> None:
    (script,) = metadata.entry_points(group="console_scripts", name="govsim")
    assert script.value == "govsim.cli:main"


# ---- plugins ----------------------------------------------------------------------------------


def test_a_plugin_module_adds_its_subcommand(monkeypatch, capsys) -> None:
    def add_subcommands(subparsers: argparse._SubParsersAction) -> None:
        p = subparsers.add_parser("demo", help="classroom demo")
        p.add_argument("--port", type=int, default=8765)
        p.set_defaults(func=lambda args: print(f"demo on {args.port}") or 0)

    fake = types.ModuleType("govsim.viz.cli")
    fake.add_subcommands = add_subcommands
    monkeypatch.setitem(sys.modules, "govsim.viz.cli", fake)
    assert main(["demo", "--port", "9000"]) == 0
    assert capsys.readouterr().out == "demo on 9000\n"


def test_a_plugin_with_a_missing_dependency_is_not_silently_dropped(monkeypatch) -> None:
    import govsim.cli as cli

    monkeypatch.setattr(cli, "PLUGIN_MODULES", ("govsim.tests_fake_plugin",))
    # the plugin module itself is absent: tolerated
    assert main(["scenarios"]) == 0

    def broken_import(name: str):
        raise ModuleNotFoundError("No module named 'solara'", name="solara")

    monkeypatch.setattr(cli.importlib, "import_module", broken_import)
    with pytest.raises(ModuleNotFoundError, match="solara"):
        main(["scenarios"])


# ---- end to end -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int, str]:
    """One tiny packaged-baseline run in a fresh folder: (output root, run folder, rc, stdout)."""
    root = tmp_path_factory.mktemp("e2e") / "results"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        rc = main(["run", "baseline", *TINY, "--out", str(root)])
    seed = load_scenario("baseline").seed
    return root, root / f"baseline-s{seed}", rc, stdout.getvalue()


def test_run_writes_the_run_folder(tiny_run) -> None:
    root, dest, rc, stdout = tiny_run
    assert rc == 0
    assert stdout.splitlines()[-1] == str(dest)
    assert sorted(p.name for p in root.iterdir()) == [dest.name]  # no temporaries left
    assert sorted(p.name for p in dest.iterdir()) == [
        "dashboard.png",
        "manifest.json",
        "summary.json",
        "timeseries.parquet",
    ]


def test_run_timeseries_has_one_row_per_day(tiny_run) -> None:
    _, dest, _, _ = tiny_run
    ts = pd.read_parquet(dest / "timeseries.parquet")
    assert len(ts) == 20
    assert ts.columns[0] == "day"
    assert ts["day"].is_monotonic_increasing and ts["day"].is_unique
    assert len(ts.columns) > 1


def test_run_summary_and_manifest(tiny_run) -> None:
    _, dest, _, _ = tiny_run
    summary = json.loads((dest / "summary.json").read_text())
    assert summary and all(v is None or isinstance(v, int | float) for v in summary.values())
    m = json.loads((dest / "manifest.json").read_text())
    expected = load_scenario("baseline", ["population.citizens=500", "days=20"])
    assert m["scenario_sha256"] == scenario_sha256(expected)
    assert m["scenario"]["population"]["citizens"] == 500
    assert (m["seed"], m["days"]) == (expected.seed, 20)
    assert m["command"][:2] == ["govsim", "run"] and "population.citizens=500" in m["command"]
    assert m["wall_seconds"] >= m["simulation_seconds"] >= 0
    assert (dest / "dashboard.png").read_bytes()[:4] == b"\x89PNG"


def test_run_refuses_to_overwrite_without_force(tiny_run, capsys) -> None:
    root, dest, _, _ = tiny_run
    before = (dest / "manifest.json").read_bytes()
    assert main(["run", "baseline", *TINY, "--out", str(root), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"error: {dest}: already exists; pass --force" in err
    assert (dest / "manifest.json").read_bytes() == before


def test_run_with_force_replaces(tmp_path: Path, capsys) -> None:
    args = ["run", "baseline", *TINY, "--out", str(tmp_path), "--quiet", "--no-dashboard"]
    assert main(args) == 0
    dest = tmp_path / f"baseline-s{load_scenario('baseline').seed}"
    (dest / "stale").write_text("x")
    assert main([*args, "--force"]) == 0
    assert not (dest / "stale").exists()
    assert (dest / "manifest.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [dest.name]


def test_run_csv_seed_and_scenario_file(tmp_path: Path, capsys) -> None:
    small = DATA / "good" / "small.yaml"
    rc = main(["run", str(small), "--seed", "7", "--format", "csv", "--out", str(tmp_path), "-q"])
    assert rc == 0
    dest = tmp_path / "small-s7"  # named after the file, seeded from the command line
    ts = pd.read_csv(dest / "timeseries.csv")
    assert len(ts) == 20  # days from the file
    assert json.loads((dest / "manifest.json").read_text())["seed"] == 7
    assert capsys.readouterr().out.strip() == str(dest)  # --quiet: just the folder


def test_progress_bar_only_on_a_terminal_and_not_with_quiet(tmp_path: Path, monkeypatch, capsys):
    seen = []
    real = govsim.runner.simulate

    def spy(*args, **kwargs):
        seen.append(kwargs.get("progress"))
        return real(*args, **kwargs)

    monkeypatch.setattr(govsim.runner, "simulate", spy)
    base = ["run", "baseline", "--set", "population.citizens=200", "--days", "3", "--no-dashboard"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0  # stderr is not a terminal here
    assert seen[-1] is None
    assert capsys.readouterr().err == ""

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main([*base, "--out", str(tmp_path / "b")]) == 0
    assert callable(seen[-1])
    assert "day" in capsys.readouterr().err  # tqdm's unit

    assert main([*base, "--out", str(tmp_path / "c"), "--quiet"]) == 0
    assert seen[-1] is None
    assert capsys.readouterr().err == ""


def test_a_failing_run_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise RuntimeError("model crashed")

    monkeypatch.setattr(govsim.runner, "simulate", boom)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="model crashed"):
        main(["run", "baseline", *TINY, "--out", str(out), "-q"])
    assert not out.exists()


# ---- determinism ------------------------------------------------------------------------------


@pytest.mark.slow
def test_same_seed_gives_byte_identical_outputs_in_separate_processes(tmp_path: Path) -> None:
    base = ["run", "baseline", *TINY, "--no-dashboard", "-q"]
    first = run_govsim([*base, "--seed", "11", "--out", "one"], tmp_path, hashseed="1")
    second = run_govsim([*base, "--seed", "11", "--out", "two"], tmp_path, hashseed="2")
    other = run_govsim([*base, "--seed", "12", "--out", "three"], tmp_path)
    for proc in (first, second, other):
        assert proc.returncode == 0, proc.stderr
    a, b = tmp_path / "one" / "baseline-s11", tmp_path / "two" / "baseline-s11"
    for name in ("timeseries.parquet", "summary.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    # and the seed matters: another seed gives another history
    c = tmp_path / "three" / "baseline-s12"
    assert (c / "timeseries.parquet").read_bytes() != (a / "timeseries.parquet").read_bytes()


def test_commands_that_do_not_simulate_do_not_import_the_simulation_stack() -> None:
    # `govsim --help`, `validate`, `show` and `scenarios` should start in a fraction of a second:
    # Mesa, pandas and Matplotlib cost about two seconds to import and only `run` needs them
    heavy = ("mesa", "pandas", "matplotlib", "scipy", "pyarrow", "dask", "solara")
    code = (
        "import sys\n"
        "from govsim.cli import build_parser\n"
        "from govsim.config import load_scenario\n"
        "build_parser()\n"
        "load_scenario('baseline')\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""


def test_run_queue_mmc_prints_its_comparison_with_erlang_c(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The validation queue's run prints, per figure, the simulated value beside Erlang C's (the
    statistical agreement itself is tested in tests/platform/test_queueing.py)."""
    from govsim.queue_model import erlang_c_prediction

    rc = main(["run", "queue_mmc", "--days", "300", "--out", str(tmp_path), "--no-dashboard"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "against Erlang C (M/M/5" in out
    summary = json.loads((tmp_path / "queue_mmc-s42" / "summary.json").read_text())
    for key, theory in erlang_c_prediction(load_scenario("queue_mmc").queue).items():
        line = next(x for x in out.splitlines() if x.strip().startswith(key + " "))
        simulated, predicted, _ = line.split()[1:]
        assert float(simulated) == pytest.approx(summary[key], rel=1e-3)
        assert float(predicted) == pytest.approx(theory, rel=1e-3)


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "baseline", "--day", "30"],  # argparse would read it as --days
        ["run", "baseline", "--no-dash"],
        ["compare", "baseline", "--replicate", "3"],
        ["validate", "baseline", "--se", "days=3"],
    ],
)
def test_abbreviated_options_are_refused(argv: list[str], capsys) -> None:
    assert main(argv) == 2
    assert f"unrecognized arguments: {argv[2]}" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "show", "validate"])
def test_set_without_equals_shows_the_key_value_form(command: str, capsys) -> None:
    assert main([command, "baseline", "--set", "dispatch.data_sharing", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "argument --set: expected KEY=VALUE" in err
    assert "--set dispatch.data_sharing=VALUE" in err


def test_compare_set_b_without_equals_shows_the_key_value_form(capsys) -> None:
    assert main(["compare", "baseline", "--set-b", "dispatch.data_sharing", "0.9"]) == 2
    assert "--set dispatch.data_sharing=VALUE" in capsys.readouterr().err


def test_force_refuses_to_replace_a_run_of_another_horizon_unless_told(
    tmp_path: Path, capsys
) -> None:
    args = ["run", "baseline", *TINY, "--out", str(tmp_path), "--quiet", "--no-dashboard"]
    assert main(args) == 0
    dest = tmp_path / f"baseline-s{load_scenario('baseline').seed}"
    before = (dest / "manifest.json").read_bytes()
    assert main([*args, "--days", "10", "--force"]) == 2
    err = capsys.readouterr().err
    assert f"error: {dest}: holds a different run (days 20 -> 10" in err
    assert "days: 20 -> 10" in err and "--replace-different" in err
    assert (dest / "manifest.json").read_bytes() == before  # untouched
    assert main([*args, "--set", "dispatch.data_sharing=0.9", "--force"]) == 2
    assert "dispatch.data_sharing: " in capsys.readouterr().err
    assert main([*args, "--days", "10", "--force", "--replace-different"]) == 0
    assert json.loads((dest / "manifest.json").read_text())["days"] == 10


def test_force_refuses_a_folder_without_a_run_manifest(tmp_path: Path, capsys) -> None:
    dest = tmp_path / f"baseline-s{load_scenario('baseline').seed}"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    args = ["run", "baseline", *TINY, "--out", str(tmp_path), "-q", "--no-dashboard", "--force"]
    assert main(args) == 2
    assert "holds no readable run manifest" in capsys.readouterr().err
    assert (dest / "notes.txt").read_text() == "mine"


def test_validation_errors_are_sorted_by_file_and_line(tmp_path: Path, capsys) -> None:
    # the schema checks population before dispatch; the messages follow the file instead
    f = tmp_path / "two.yaml"
    f.write_text(
        "extends: baseline\ndispatch:\n  data_sharing: 2\npopulation:\n  citizens: -1\n",
        encoding="utf-8",
    )
    assert main(["validate", str(f)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert [e.split(":")[2] for e in errors] == ["3", "5"], errors
