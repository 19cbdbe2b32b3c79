"""Experiment YAML validation: good files load, every problem is reported at its file:line."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from govsim.config import MAX_YAML_BYTES, ScenarioError
from govsim.experiment.spec import design_size, load_experiment, load_experiment_text
from govsim.resources import MEMORY_LIMIT_ENV

FUNCTION_OK = """
name: ok
function: govsim.experiment.testfunctions:ishigami
parameters:
  x1: {range: [-3, 3]}
  x2: {range: [-3, 3], distribution: triangular, mode: 0}
  x3: {levels: [0, 1.5]}
design: {method: sobol, n: 64}
root_seed: 1
"""


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_experiment(path)
    return info.value.messages


def test_function_experiment_loads_in_file_order(write_experiment: Callable[..., Path]) -> None:
    exp = load_experiment(write_experiment(FUNCTION_OK))
    assert [p.name for p in exp.parameters] == ["x1", "x2", "x3"]
    assert exp.spec.design.method == "sobol"
    assert exp.parameters[2].spec.levels == [0.0, 1.5]  # mixed int/float levels become floats
    assert exp.base_scenario is None


def test_name_defaults_to_file_stem(write_experiment: Callable[..., Path]) -> None:
    exp = load_experiment(
        write_experiment(FUNCTION_OK.replace("name: ok\n", ""), name="my_sweep.yaml")
    )
    assert exp.spec.name == "my_sweep"


def test_scenario_target_resolves_base_and_detects_integer_fields(
    write_experiment: Callable[..., Path],
) -> None:
    exp = load_experiment(
        write_experiment(
            """
            scenario: baseline
            set: {population.citizens: 300}
            parameters:
              dispatch.data_sharing: {range: [0, 1]}
              population.network_degree: {range: [2, 8]}
            design: {method: lhs, n: 4}
            days: 5
            root_seed: 3
            """
        )
    )
    assert exp.base_scenario is not None
    assert exp.base_scenario["population"]["citizens"] == 300
    integer = {p.name: p.integer for p in exp.parameters}
    assert integer == {"dispatch.data_sharing": False, "population.network_degree": True}


def test_unknown_key_is_located_with_did_you_mean(write_experiment: Callable[..., Path]) -> None:
    path = write_experiment(FUNCTION_OK.replace("root_seed: 1", "root_seed: 1\nreplicate: 3"))
    (msg,) = errors_of(path)
    assert msg.startswith(f"{path}:9: replicate: unknown key; did you mean 'replicates'?"), msg


def test_sobol_n_must_be_power_of_two_located(write_experiment: Callable[..., Path]) -> None:
    path = write_experiment(FUNCTION_OK.replace("n: 64", "n: 100"))
    (msg,) = errors_of(path)
    assert msg.startswith(f"{path}:7: design:"), msg
    assert "power of two" in msg and "64 or 128" in msg


def test_every_problem_reported_at_once(write_experiment: Callable[..., Path]) -> None:
    path = write_experiment(
        FUNCTION_OK.replace("x1: {range: [-3, 3]}", "x1: {range: [3, -3]}").replace(
            "root_seed: 1", "root_seed: -1"
        )
    )
    messages = errors_of(path)
    assert len(messages) == 2, messages
    assert any(m.startswith(f"{path}:4: parameters.x1:") and "low < high" in m for m in messages), (
        messages
    )
    assert any(m.startswith(f"{path}:8: root_seed:") for m in messages), messages


def test_missing_root_seed(write_experiment: Callable[..., Path]) -> None:
    path = write_experiment(FUNCTION_OK.replace("root_seed: 1\n", ""))
    (msg,) = errors_of(path)
    assert re.match(rf"{re.escape(str(path))}:\d+: root_seed: required key is missing", msg), msg


def test_scenario_parameter_path_is_checked_against_schema(
    write_experiment: Callable[..., Path],
) -> None:
    path = write_experiment(
        """
        scenario: baseline
        parameters:
          dispatch.data_sharng: {range: [0, 1]}
        design: {method: lhs, n: 4}
        root_seed: 3
        """
    )
    (msg,) = errors_of(path)
    assert msg.startswith(f"{path}:3: parameters.dispatch.data_sharng:"), msg
    assert "did you mean 'data_sharing'" in msg


def test_range_outside_schema_bounds_is_refused_before_running(
    write_experiment: Callable[..., Path],
) -> None:
    path = write_experiment(
        """
        scenario: baseline
        parameters:
          dispatch.data_sharing: {range: [0, 2]}
        design: {method: lhs, n: 4}
        root_seed: 3
        """
    )
    (msg,) = errors_of(path)
    assert msg.startswith(
        f"{path}:3: parameters.dispatch.data_sharing: value 2.0 is not a valid scenario value"
    ), msg
    assert "less than or equal to 1" in msg


def test_set_path_typo_is_located(write_experiment: Callable[..., Path]) -> None:
    path = write_experiment(
        """
        scenario: baseline
        set:
          population.citizen: 300
        parameters:
          dispatch.data_sharing: {range: [0, 1]}
        design: {method: lhs, n: 4}
        root_seed: 3
        """
    )
    (msg,) = errors_of(path)
    assert msg.startswith(f"{path}:3: set.population.citizen:"), msg
    assert "did you mean 'citizens'" in msg


def test_whole_section_is_not_a_parameter(write_experiment: Callable[..., Path]) -> None:
    path = write_experiment(
        """
        scenario: baseline
        parameters:
          dispatch: {range: [0, 1]}
        design: {method: lhs, n: 4}
        root_seed: 3
        """
    )
    (msg,) = errors_of(path)
    assert "names a whole section" in msg


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            (
                "function: govsim.experiment.testfunctions:ishigami",
                "function: govsim.experiment.testfunctions:ishigam",
            ),
            "did you mean 'ishigami'",
        ),
        (
            (
                "function: govsim.experiment.testfunctions:ishigami",
                "function: no_such_module_xyz:f",
            ),
            "cannot import module",
        ),
        (
            ("function: govsim.experiment.testfunctions:ishigami", "function: ishigami"),
            "expected 'module:function'",
        ),
        (("name: ok", "name: ok\nscenario: baseline"), "give exactly one target"),
        (("method: sobol, n: 64", "method: grid"), "a grid needs levels, or range with steps"),
        (("x3: {levels: [0, 1.5]}", "x3: {levels: [0, a]}"), "levels must all be of one kind"),
        (("x3: {levels: [0, 1.5]}", "x3: {distribution: normal, mean: 0, sd: 1}"), None),
        (("x3: {levels: [0, 1.5]}", "x3: {distribution: normal, mean: 0}"), "needs mean and sd"),
        (("method: sobol, n: 64", "method: morris, n: 10"), None),
        (
            ("method: sobol, n: 64", "method: lhs, n: 10, second_order: true"),
            "second_order applies to sobol",
        ),
        (("root_seed: 1", "root_seed: 1\ndays: 10"), "days applies to scenario targets only"),
    ],
)
def test_bad_documents(
    write_experiment: Callable[..., Path], change: tuple[str, str], expected: str | None
) -> None:
    text = FUNCTION_OK.replace(*change)
    assert text != FUNCTION_OK
    path = write_experiment(text)
    if expected is None:
        load_experiment(path)
        return
    messages = errors_of(path)
    assert any(expected in m for m in messages), messages
    assert all(m.startswith(f"{path}:") for m in messages), messages


def test_morris_refuses_unbounded_parameters(write_experiment: Callable[..., Path]) -> None:
    text = FUNCTION_OK.replace("method: sobol, n: 64", "method: morris, n: 10").replace(
        "x3: {levels: [0, 1.5]}", "x3: {distribution: normal, mean: 0, sd: 1}"
    )
    messages = errors_of(write_experiment(text))
    assert any("morris needs bounded parameters" in m for m in messages), messages


def test_yaml_tags_and_syntax_errors_are_refused() -> None:
    with pytest.raises(ScenarioError, match=r"exp:\d+: YAML syntax error"):
        load_experiment_text("a: [1,\nb: 2\n", "exp")
    with pytest.raises(ScenarioError, match="not allowed"):
        load_experiment_text("root_seed: !!python/object:os.system x\n", "exp")


def test_unreadable_file() -> None:
    with pytest.raises(ScenarioError, match="cannot read experiment"):
        load_experiment("/nonexistent/exp.yaml")


def test_seed_is_not_a_parameter(write_experiment: Callable[..., Path]) -> None:
    path = write_experiment(
        """
        scenario: baseline
        parameters:
          seed: {levels: [1, 2]}
        design: {method: grid}
        root_seed: 3
        """
    )
    (msg,) = errors_of(path)
    assert msg.startswith(f"{path}:3: parameters.seed: each run's seed comes from root_seed"), msg


def test_scenario_outputs_must_be_metrics(tmp_path) -> None:
    """An output that is not a govsim metric is refused at plan time, with a did-you-mean."""
    from govsim.config import ScenarioError
    from govsim.experiment.spec import load_experiment

    f = tmp_path / "exp.yaml"
    f.write_text(
        "scenario: baseline\n"
        "parameters:\n  dispatch.data_sharing: {range: [0, 1]}\n"
        "design: {method: lhs, n: 4}\n"
        "outputs: [real_resolution_rat]\n"
        "root_seed: 1\n"
    )
    with pytest.raises(ScenarioError) as err:
        load_experiment(f)
    assert any("did you mean 'real_resolution_rate'" in m for m in err.value.messages), (
        err.value.messages
    )


# ---- design size bounds, finite numbers (issue 21) --------------------------------------------


@pytest.fixture
def laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed 16 GB memory bound, so that these tests do not depend on the machine."""
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "16")


GRID_8x30 = "\n".join(
    ["function: govsim.experiment.testfunctions:ishigami", "parameters:"]
    + [f"  x{i}: {{range: [0, 1], steps: 30}}" for i in range(8)]
    + ["design: {method: grid}", "root_seed: 1", ""]
)


def test_a_grid_of_8_parameters_x_30_levels_is_refused_before_drawing(
    write_experiment: Callable[..., Path], laptop: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import govsim.experiment.design as design

    monkeypatch.setattr(design, "grid", lambda *a: pytest.fail("drew the grid"))
    path = write_experiment(GRID_8x30)
    [message] = errors_of(path)
    assert message.startswith(
        f"{path}:11: design: planning the grid design's 656,100,000,000 points x 1 replicates "
        "needs an estimated "
    )
    assert "more than the bound of 16.0 GB (set by GOVSIM_MEMORY_LIMIT_GB=16)" in message


def test_an_lhs_of_16m_points_x_100000_replicates_is_refused_at_replicates(
    write_experiment: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)  # 1.7 trillion runs exceed any machine
    path = write_experiment(
        """
        function: govsim.experiment.testfunctions:ishigami
        parameters:
          x1: {range: [-3, 3]}
        design: {method: lhs, n: 16777216}
        replicates: 100000
        root_seed: 1
        """
    )
    [message] = errors_of(path)
    assert message.startswith(
        f"{path}:5: replicates: planning the lhs design's 16,777,216 points x 100,000 replicates"
    )
    assert "1,677,721,600,000 runs" in message
    assert "GOVSIM_MEMORY_LIMIT_GB=" in message


@pytest.mark.parametrize(
    ("design", "expected"),
    [
        ("{method: grid}", None),
        ("{method: lhs, n: 7}", 7),
        ("{method: sobol, n: 8}", 8 * (3 + 2)),
        ("{method: sobol, n: 8, second_order: true}", 8 * (2 * 3 + 2)),
        ("{method: morris, n: 5, levels: 4}", 5 * (3 + 1)),
        ("{method: morris, n: 6, levels: 4, optimal_trajectories: 3}", None),
    ],
)
def test_design_size_counts_what_the_design_draws(
    design: str, expected: int | None, write_experiment: Callable[..., Path]
) -> None:
    from govsim.experiment.design import build_design

    spec = f"""
        function: govsim.experiment.testfunctions:ishigami
        parameters:
          x1: {{levels: [0, 1, 2]}}
          x2: {{{"levels: [0, 1]" if "grid" in design else "range: [0, 1]"}}}
          x3: {{{"range: [0, 1], steps: 4" if "grid" in design else "range: [0, 1]"}}}
        design: {design}
        replicates: 3
        root_seed: 1
        """
    exp = load_experiment(write_experiment(spec))
    points, runs = design_size(exp.spec)
    drawn = len(build_design(exp.spec.design, exp.parameters, 1).values)
    if "optimal_trajectories" in design:
        assert points == 6 * 4 >= drawn  # all n trajectories are drawn, then some are chosen
    else:
        assert points == drawn == (expected or 3 * 2 * 4)
    assert runs == 3 * points


@pytest.mark.parametrize(
    ("field", "fragment"),
    [
        (
            "{distribution: normal, mean: .nan, sd: 1}",
            "parameters.x1.mean: Input should be a finite",
        ),
        ("{distribution: normal, mean: 0, sd: .inf}", "parameters.x1.sd: Input should be a finite"),
        ("{range: [0, .inf]}", "parameters.x1.range.1: Input should be a finite number"),
        ("{levels: [0.5, .nan]}", "Input should be a finite number"),
        ("{range: [true, 3]}", "parameters.x1.range: expected a number here, not true/false"),
    ],
)
def test_parameters_refuse_nan_inf_and_booleans(
    field: str, fragment: str, write_experiment: Callable[..., Path]
) -> None:
    path = write_experiment(
        "function: govsim.experiment.testfunctions:ishigami\n"
        f"parameters:\n  x1: {field}\ndesign: {{method: lhs, n: 4}}\nroot_seed: 1\n"
    )
    text = "\n".join(errors_of(path))
    assert f"{path}:3: " in text
    assert fragment in text


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("design: {method: lhs, n: true}", "design.n: expected a number here, not true/false"),
        ("replicates: true", "replicates: expected a number here, not true/false"),
        ("root_seed: " + "9" * 5000, "root_seed: an integer of 5,000 digits is out of range"),
    ],
)
def test_counts_and_seeds_refuse_booleans_and_huge_integers(
    line: str, fragment: str, write_experiment: Callable[..., Path]
) -> None:
    text = FUNCTION_OK.replace("design: {method: sobol, n: 64}", "design: {method: lhs, n: 4}")
    key = line.split(":")[0]
    lines = [x for x in text.strip().splitlines() if not x.startswith(f"{key}:")] + [line]
    path = write_experiment("\n".join(lines) + "\n")
    assert any(fragment in m for m in errors_of(path))


def test_an_experiment_file_name_with_spaces_gives_a_valid_name(
    write_experiment: Callable[..., Path],
) -> None:
    exp = load_experiment(
        write_experiment(FUNCTION_OK.replace("name: ok\n", ""), name="my sweep.yaml")
    )
    assert exp.spec.name == "my_sweep"


def test_an_experiment_file_over_the_size_limit_is_refused(
    write_experiment: Callable[..., Path],
) -> None:
    path = write_experiment("# " + "x" * (MAX_YAML_BYTES + 1) + "\n" + FUNCTION_OK)
    assert errors_of(path) == [
        f"{path}: larger than the {MAX_YAML_BYTES:,} bytes a scenario or experiment file may "
        "have; refused before parsing"
    ]


def test_runs_shorter_than_a_timeline_are_refused_before_running(
    write_experiment: Callable[..., Path],
) -> None:
    """A scenario's reforms must fall within the runs' days (govsim.timeline), as with --days."""
    text = """
        scenario: beijing_reform
        parameters:
          dispatch.data_sharing: {range: [0, 1]}
        design: {method: lhs, n: 4}
        days: 500
        root_seed: 3
        """
    messages = errors_of(write_experiment(text))
    assert any("days: timeline[1].day: 730 is outside the run" in m for m in messages), messages
    load_experiment(write_experiment(text.replace("days: 500", "days: 1500"), name="ok.yaml"))
    swept = """
        scenario: beijing_reform
        parameters:
          days: {levels: [400, 1500]}
        design: {method: grid}
        root_seed: 3
        """
    (msg,) = errors_of(write_experiment(swept, name="swept.yaml"))
    assert "parameters.days: value 400 is not a valid scenario value" in msg, msg
