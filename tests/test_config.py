"""Tests of scenario loading: packaged scenarios, ``extends:`` chains, ``--set``, safe YAML, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from govsim.config import (
    MAX_YAML_NODES,
    ScenarioError,
    load_scenario,
    packaged_scenarios,
    parse_yaml,
    scenario_from_dict,
    scenario_sha256,
    scenario_to_dict,
)
from govsim.schema import Scenario

DATA = Path(__file__).parent / "data"


def write(path: Path, text: str) -> Path:
    """Write a scenario file (creating folders) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def messages(excinfo: pytest.ExceptionInfo[ScenarioError]) -> str:
    return "\n".join(excinfo.value.messages)


@pytest.mark.parametrize("name", sorted(packaged_scenarios()))
def test_every_packaged_scenario_validates(name: str) -> None:
    scenario = load_scenario(name)
    assert isinstance(scenario, Scenario)
    assert scenario.description, f"packaged scenario {name} needs a description for `scenarios`"
    # the file's own keys survive validation (nothing silently dropped)
    raw = yaml.safe_load(packaged_scenarios()[name].read_text(encoding="utf-8"))
    raw.pop("extends", None)
    dumped = scenario_to_dict(scenario)
    for key, value in raw.items():
        if not isinstance(value, dict):
            assert dumped[key] == value, key


def test_packaged_name_and_path_give_the_same_scenario() -> None:
    path = packaged_scenarios()["baseline"]
    assert scenario_sha256(load_scenario("baseline")) == scenario_sha256(load_scenario(str(path)))


def test_unknown_packaged_name_suggests_the_closest() -> None:
    with pytest.raises(ScenarioError) as exc:
        load_scenario("baselin")
    assert "did you mean 'baseline'?" in messages(exc)


def test_extends_chain_merges_mappings_and_child_wins(tmp_path: Path) -> None:
    write(
        tmp_path / "base.yaml",
        "extends: baseline\ndescription: base\npopulation:\n  citizens: 500\n  trust_mean: 0.4\n",
    )
    child = write(
        tmp_path / "child.yaml",
        "extends: base.yaml\ndays: 10\npopulation:\n  trust_mean: 0.7\n",
    )
    s = load_scenario(str(child))
    assert s.population.citizens == 500  # from the parent, kept by the deep merge
    assert s.population.trust_mean == 0.7  # the child overrides
    assert s.days == 10
    assert s.description == "base"
    assert s.name == "child"  # a file that does not set name is named after itself
    baseline = load_scenario("baseline")
    assert s.dispatch == baseline.dispatch  # untouched sections come from the packaged root


def test_extends_relative_paths_resolve_against_the_file_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "shared" / "parent.yaml", "extends: baseline\nseed: 7\n")
    child = write(tmp_path / "runs" / "deep" / "child.yaml", "extends: ../../shared/parent.yaml\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_scenario(str(child)).seed == 7


def test_extends_cycle_is_refused_with_its_chain(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "extends: b.yaml\n")
    write(tmp_path / "b.yaml", "days: 3\nextends: c.yaml\n")
    write(tmp_path / "c.yaml", "extends: a.yaml\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(str(tmp_path / "a.yaml"))
    text = messages(exc)
    assert f"{tmp_path / 'c.yaml'}:1: extends cycle:" in text
    assert "a.yaml -> " in text and "b.yaml -> " in text


def test_self_extends_is_a_cycle(tmp_path: Path) -> None:
    me = write(tmp_path / "me.yaml", "extends: me.yaml\n")
    with pytest.raises(ScenarioError, match="extends cycle"):
        load_scenario(str(me))


def test_set_overrides_are_typed_as_yaml_and_win_over_the_file() -> None:
    s = load_scenario(
        str(DATA / "good" / "small.yaml"),
        [
            "population.citizens=321",
            "channels.app=false",
            "categories.noise.owners=[environment, street]",
            "dispatch.mode=unified",
        ],
    )
    assert s.population.citizens == 321
    assert s.channels.app is False
    assert s.categories["noise"].owners == ["environment", "street"]
    assert s.dispatch.mode == "unified"
    assert s.days == 20  # from the file


def test_set_name_renames_the_scenario() -> None:
    assert load_scenario("baseline", ["name=my_variant"]).name == "my_variant"


def test_set_problems_are_all_reported_with_their_source() -> None:
    with pytest.raises(ScenarioError) as exc:
        load_scenario(
            "baseline",
            ["population.citizns=5", "dispatch.data_sharing=2", "days=-1"],
        )
    text = messages(exc)
    assert (
        "--set population.citizns: population.citizns: unknown key; did you mean 'citizens'?"
        in text
    )
    assert "--set dispatch.data_sharing: dispatch.data_sharing: Input should be less than" in text
    assert "--set days: days: Input should be greater than or equal to 1 (got -1)" in text


@pytest.mark.parametrize("bad", ["population.citizens", "=3", "a..b=1"])
def test_malformed_set_is_refused(bad: str) -> None:
    with pytest.raises(ScenarioError, match=r"expected key\.path=value"):
        load_scenario("baseline", [bad])


def test_unknown_keys_get_a_did_you_mean_at_every_level(tmp_path: Path) -> None:
    f = write(
        tmp_path / "typos.yaml",
        "dispach:\n  mode: unified\n"
        "officials:\n  burnout_rte: 0.1\n"
        "categories:\n  noise:\n    owners: [environment]\n    severty: 0.4\n",
    )
    with pytest.raises(ScenarioError) as exc:
        load_scenario(str(f))
    text = messages(exc)
    assert f"{f}:1: dispach: unknown key; did you mean 'dispatch'?" in text
    assert f"{f}:4: officials.burnout_rte: unknown key; did you mean 'burnout_rate'?" in text
    assert f"{f}:8: categories.noise.severty: unknown key; did you mean 'severity'?" in text
    assert len(exc.value.messages) == 3


def test_alias_bomb_is_refused_quickly() -> None:
    # 9 levels of 9-fold aliases: 9**9 (387 million) strings if expanded
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    # refused by counting nodes before anything is expanded (expanding would take minutes and
    # gigabytes); the message names the file and the limit
    with pytest.raises(ScenarioError, match=f"more than {MAX_YAML_NODES} nodes") as exc:
        parse_yaml("\n".join(lines), "bomb.yaml")
    assert all(m.startswith("bomb.yaml") for m in exc.value.messages), exc.value.messages


def test_modest_aliases_are_allowed() -> None:
    doc = parse_yaml("base: &b {mean: 0.5, concentration: 4}\nother: *b\n", "ok.yaml")
    assert doc.data["other"] == {"mean": 0.5, "concentration": 4}


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object:govsim.schema.Scenario {}",
        "!!python/object/apply:os.system ['true']",
        "!!python/name:os.system",
        "!custom 3",
    ],
)
def test_object_building_tags_are_refused(tag: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        parse_yaml(f"description: {tag}\n", "tags.yaml")
    assert "tags.yaml:1: description: tag " in messages(exc)
    assert "is not allowed" in messages(exc)


def test_recursive_alias_is_refused_not_a_crash() -> None:
    with pytest.raises(ScenarioError, match="recursive alias"):
        parse_yaml("x: &x [*x]\n", "loop.yaml")


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(ScenarioError, match="nested too deeply"):
        parse_yaml("a: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yaml")


def test_line_numbers_follow_the_file(tmp_path: Path) -> None:
    f = write(
        tmp_path / "lines.yaml", "# comment\n\ncity:\n  districts: 2\n  grids_per_community: 0\n"
    )
    with pytest.raises(ScenarioError) as exc:
        load_scenario(str(f))
    assert exc.value.messages == [
        f"{f}:5: city.grids_per_community: Input should be greater than or equal to 1 (got 0)"
    ]


def test_missing_file_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario("no/such/scenario.yaml")


def test_empty_file_is_the_defaults(tmp_path: Path) -> None:
    f = write(tmp_path / "empty.yaml", "")
    s = load_scenario(str(f))
    assert scenario_to_dict(s) == scenario_to_dict(Scenario(name="empty"))


def test_scenario_from_dict_honours_extends() -> None:
    s = scenario_from_dict({"extends": "baseline", "population": {"citizens": 77}})
    assert s.population.citizens == 77
    assert s.description == load_scenario("baseline").description


def test_sha256_is_stable_and_sensitive() -> None:
    a = load_scenario("baseline")
    assert scenario_sha256(a) == scenario_sha256(load_scenario("baseline"))
    assert scenario_sha256(a) != scenario_sha256(load_scenario("baseline", ["seed=43"]))


@pytest.mark.parametrize("path", sorted((DATA / "good").glob("*.yaml")), ids=lambda p: p.name)
def test_good_test_scenarios_validate(path: Path) -> None:
    s = load_scenario(str(path))
    assert s.name == path.stem  # the name defaults to the file's
    # every value the file sets is the scenario's (the rest comes from what it extends)
    resolved = scenario_to_dict(s)

    def leaves(d: dict, prefix: tuple[str, ...] = ()):
        for k, v in d.items():
            if isinstance(v, dict):
                yield from leaves(v, (*prefix, k))
            else:
                yield (*prefix, k), v

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    checked = 0
    for keys, value in leaves({k: v for k, v in raw.items() if k != "extends"}):
        got = resolved
        for k in keys:
            got = got[k]
        assert got == value, f"{'.'.join(keys)}: {got!r} != {value!r}"
        checked += 1
    assert checked > 0
