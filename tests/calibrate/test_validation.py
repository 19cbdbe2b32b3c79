"""Bad pattern and parameter files: exit 2 with located messages, before any simulation, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import govsim.calibrate.fit as fit
import govsim.runner
from govsim.calibrate.patterns import load_patterns, load_patterns_text
from govsim.calibrate.spec import load_calibration
from govsim.cli import main
from govsim.config import ScenarioError

PATTERNS = """\
patterns:
  satisfaction:
    metric: satisfaction_reported
    target: {interval: [0.8, 0.9]}
    source: test
  volume:
    metric: cases_reported
    per_resident: true
    target: {value: 0.003, uncertainty: 0.0005}
    source: test
"""

PARAMS = """\
parameters:
  gaming.pressure_effect: {range: [0.1, 0.9]}
  closed_loop.audit_rate: {range: [0.005, 0.2], scale: log}
set: {population.citizens: 300}
days: 30
replicates: 1
screening: {enabled: false}
abc: {population: 4, generations: 1}
"""


@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any simulation fails the test: validation must come first."""

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("a simulation started before validation finished")

    monkeypatch.setattr(govsim.runner, "simulate", boom)
    monkeypatch.setattr(fit, "simulate_features", boom)


def _run(
    tmp_path: Path, patterns: Path, params: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str]:
    out = tmp_path / "out"
    code = main(
        [
            "calibrate",
            "baseline",
            "--patterns",
            str(patterns),
            "--params",
            str(params),
            "-o",
            str(out),
            "-q",
            *extra,
        ]
    )
    err = capsys.readouterr().err
    assert not out.exists(), "nothing may be written for bad input"
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize(
    ("edit", "where", "expected"),
    [
        (
            ("satisfaction_reported", "satisfaction_reportd"),
            ":3:",
            "did you mean 'satisfaction_reported'",
        ),
        (("target: {interval: [0.8, 0.9]}", "target: {interval: [0.9, 0.8]}"), ":4:", "inverted"),
        (
            (
                "    target: {interval: [0.8, 0.9]}",
                "    feature: level\n    window: [10, 10]\n    target: {interval: [0.8, 0.9]}",
            ),
            ":",
            "empty",
        ),
        (
            (
                "    target: {interval: [0.8, 0.9]}",
                "    feature: median\n    target: {interval: [0.8, 0.9]}",
            ),
            ":4:",
            "feature",
        ),
        (
            (
                "    target: {interval: [0.8, 0.9]}",
                "    feature: level\n    window: [0, 60]\n    target: {interval: [0.8, 0.9]}",
            ),
            ":",
            "simulates 30 days",
        ),
        (
            (
                "satisfaction_reported\n    target: {interval: [0.8, 0.9]}",
                "patrol_hotline_peak_lag\n    feature: level\n    window: [0, 20]\n"
                "    target: {interval: [3, 5]}",
            ),
            ":3:",
            "summary-only",
        ),
    ],
)
def test_bad_patterns_exit_2_located(
    tmp_path: Path,
    write: Callable[[str, str], Path],
    capsys: pytest.CaptureFixture[str],
    no_simulation: None,
    edit: tuple[str, str],
    where: str,
    expected: str,
) -> None:
    patterns = write("patterns.yaml", PATTERNS.replace(*edit))
    params = write("params.yaml", PARAMS)
    code, err = _run(tmp_path, patterns, params, capsys)
    assert code == 2
    assert f"error: {patterns}{where}" in err
    assert "patterns.satisfaction" in err
    assert expected in err


@pytest.mark.parametrize(
    ("edit", "line", "expected"),
    [
        (("gaming.pressure_effect", "gaming.pressure_efect"), 2, "did you mean"),
        (("[0.1, 0.9]", "[0.1, 1.5]"), 2, "not a valid scenario value"),
        (("[0.005, 0.2]", "[0.2, 0.005]"), 3, "low < high"),
        (("[0.005, 0.2]", "[0.0, 0.2]"), 3, "log prior must be positive"),
        (("gaming.pressure_effect", "gaming"), 2, "whole section"),
    ],
)
def test_bad_parameters_exit_2_located(
    tmp_path: Path,
    write: Callable[[str, str], Path],
    capsys: pytest.CaptureFixture[str],
    no_simulation: None,
    edit: tuple[str, str],
    line: int,
    expected: str,
) -> None:
    patterns = write("patterns.yaml", PATTERNS)
    params = write("params.yaml", PARAMS.replace(*edit))
    code, err = _run(tmp_path, patterns, params, capsys)
    assert code == 2
    assert f"error: {params}:{line}: parameters." in err
    assert expected in err


def test_unknown_holdout_and_all_held_out_are_refused(
    tmp_path: Path,
    write: Callable[[str, str], Path],
    capsys: pytest.CaptureFixture[str],
    no_simulation: None,
) -> None:
    patterns = write("patterns.yaml", PATTERNS)
    params = write("params.yaml", PARAMS)
    code, err = _run(tmp_path, patterns, params, capsys, "--holdout", "satisfction")
    assert code == 2 and "--holdout: holdout: 'satisfction' is not a pattern" in err
    code, err = _run(tmp_path, patterns, params, capsys, "--holdout", "satisfaction,volume")
    assert code == 2 and "none is left to fit" in err


def test_packaged_files_validate_against_the_model() -> None:
    """The packaged Beijing patterns name existing metrics and cite docs/FACTS.md lines that exist."""
    patterns = load_patterns("beijing_patterns")
    cal = load_calibration("beijing_params", "beijing", patterns)
    facts = Path(__file__).parents[2].joinpath("docs/FACTS.md").read_text().splitlines()
    for name, p in patterns.patterns.items():
        assert p.source.startswith("docs/FACTS.md:"), name
        first = int(p.source.removeprefix("docs/FACTS.md:").split("-")[0].split(" ")[0])
        assert 1 <= first <= len(facts) and facts[first - 1].strip(), name
    assert cal.fitted and cal.holdout
    assert set(cal.fitted).isdisjoint(cal.holdout)


def test_a_two_metric_feature_needs_other() -> None:
    text = PATTERNS.replace(
        "    target: {interval: [0.8, 0.9]}",
        "    feature: ratio\n    target: {interval: [0.8, 0.9]}",
    )
    with pytest.raises(ScenarioError) as info:
        load_patterns_text(text, "p.yaml")
    assert any("p.yaml:" in m and "needs a second metric" in m for m in info.value.messages)
