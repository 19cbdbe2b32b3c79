"""Tests of scenario loading: packaged scenarios, ``extends:`` chains, ``--set``, safe YAML, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from govsim.config import (
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    ScenarioError,
    load_scenario,
    packaged_scenarios,
    parse_yaml,
    scenario_from_dict,
    scenario_sha256,
    scenario_to_dict,
)
from govsim.resources import MEMORY_LIMIT_ENV, memory_limit, scenario_memory
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


CHILD_WEIGHTS = {"verified_resolution": 2.0, "satisfaction": 1.0, "closure": 0.0}


@pytest.mark.parametrize("parent", sorted(packaged_scenarios()))
def test_a_child_merges_its_weights_onto_every_packaged_parent(parent: str, tmp_path: Path) -> None:
    """The same child means the same change whatever its parent wrote out (baseline writes no
    weights at all; speed_kpi writes four): the parent's other weights are kept."""
    child = write(
        tmp_path / "child.yaml",
        f"extends: {parent}\nassessment:\n  weights: {{verified_resolution: 2, satisfaction: 1, "
        "closure: 0}\n",
    )
    inherited = load_scenario(parent).assessment.weights
    assert load_scenario(str(child)).assessment.weights == {**inherited, **CHILD_WEIGHTS}


def test_baseline_child_keeps_response_and_replace_drops_it(tmp_path: Path) -> None:
    merged = write(
        tmp_path / "merged.yaml",
        "extends: baseline\nassessment:\n  weights: {verified_resolution: 2}\n",
    )
    assert load_scenario(str(merged)).assessment.weights["response"] == 1.0
    replaced = write(
        tmp_path / "replaced.yaml",
        "extends: baseline\nreplace: [assessment.weights]\n"
        "assessment:\n  weights: {verified_resolution: 2}\n  penalty: 0.1\n",
    )
    s = load_scenario(str(replaced))
    assert s.assessment.weights == {
        k: (2.0 if k == "verified_resolution" else 0.0) for k in s.assessment.weights
    }
    baseline = load_scenario("baseline")
    # only the listed mapping is replaced: the rest of the section still merges
    assert s.assessment.period_days == baseline.assessment.period_days
    assert s.assessment.penalty == 0.1


def test_a_child_category_edit_keeps_the_parents_other_categories_and_fields(
    tmp_path: Path,
) -> None:
    child = write(
        tmp_path / "child.yaml",
        "extends: baseline\ncategories:\n  noise:\n    rate: 0.0001\n",
    )
    s, baseline = load_scenario(str(child)), load_scenario("baseline")
    assert set(s.categories) == set(baseline.categories)
    assert s.categories["noise"].rate == 0.0001
    assert s.categories["noise"].owners == baseline.categories["noise"].owners
    only = write(
        tmp_path / "only.yaml",
        "extends: baseline\nreplace: [categories]\ncategories:\n"
        "  noise:\n    rate: 0.0001\n    owners: [environment]\n",
    )
    assert list(load_scenario(str(only)).categories) == ["noise"]


def test_a_set_mapping_merges_onto_the_resolved_file_as_a_child_would(tmp_path: Path) -> None:
    over = load_scenario("baseline", ["assessment.weights={traces: 1}"]).assessment.weights
    child = write(
        tmp_path / "child.yaml", "extends: baseline\nassessment:\n  weights: {traces: 1}\n"
    )
    assert over == load_scenario(str(child)).assessment.weights
    assert over["response"] == 1.0 and over["traces"] == 1.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "extends: baseline\nreplace: [dispatch]\n",
            "replace: dispatch: this file does not write it",
        ),
        (
            "extends: baseline\nreplace: [days]\ndays: 5\n",
            "replace: days: not a mapping (only mappings merge",
        ),
        ("extends: baseline\nreplace: assessment.weights\n", "replace: expected a list"),
        ("replace: [days]\ndays: 5\n", "replace: only a scenario with extends:"),
    ],
)
def test_bad_replace_lists_are_located(text: str, expected: str, tmp_path: Path) -> None:
    f = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(str(f))
    assert f"{f}:" in messages(exc) and expected in messages(exc)


def test_a_written_out_parent_and_a_terse_one_give_the_same_child(tmp_path: Path) -> None:
    """``govsim show`` of baseline saved as a file is the same parent as baseline itself."""
    from govsim.describe import annotated_yaml

    write(tmp_path / "full.yaml", annotated_yaml(load_scenario("baseline")))
    body = (
        "assessment:\n  weights: {traces: 1}\npopulation:\n  age_shares: {young: 0.4, old: 0.24}\n"
    )
    terse = write(tmp_path / "terse.yaml", "extends: baseline\n" + body)
    full = write(tmp_path / "child_full.yaml", "extends: full.yaml\n" + body)
    a = scenario_to_dict(load_scenario(str(terse)))
    b = scenario_to_dict(load_scenario(str(full)))
    a.pop("name"), b.pop("name")
    assert a == b


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

    raw = parse_yaml(path.read_text(encoding="utf-8"), str(path)).data  # govsim's own reading
    checked = 0
    for keys, value in leaves({k: v for k, v in raw.items() if k != "extends"}):
        got = resolved
        for k in keys:
            got = got[k]
        assert got == value, f"{'.'.join(keys)}: {got!r} != {value!r}"
        checked += 1
    assert checked > 0


# ---- numbers: one rule for every float and integer --------------------------------------------


def _leaves(data: object, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """Every scalar leaf of plain data with its key path."""
    if isinstance(data, dict):
        return [leaf for k, v in data.items() for leaf in _leaves(v, (*path, str(k)))]
    return [(path, data)]


DEFAULT_LEAVES = _leaves(scenario_to_dict(Scenario()))
FLOAT_PATHS = [".".join(p) for p, v in DEFAULT_LEAVES if isinstance(v, float)]
INT_PATHS = [".".join(p) for p, v in DEFAULT_LEAVES if type(v) is int]


def _with(dotted: str, value: object) -> dict:
    data = scenario_to_dict(Scenario())
    cur = data
    *head, last = dotted.split(".")
    for p in head:
        cur = cur[p]
    cur[last] = value
    return data


def test_the_number_rule_is_checked_on_many_fields() -> None:
    # the loops below are only worth something if they cover the schema's numbers
    assert len(FLOAT_PATHS) > 80 and len(INT_PATHS) > 15
    assert "assessment.weights.closure" in FLOAT_PATHS
    assert "metrics.dsi_weights.voice_gap" in FLOAT_PATHS
    assert "closed_loop.deadline_hours.urgent" in FLOAT_PATHS
    assert "population.citizens" in INT_PATHS


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=str)
def test_every_float_of_the_scenario_refuses_nan_and_inf(value: float) -> None:
    accepted = []
    for dotted in FLOAT_PATHS:
        try:
            scenario_from_dict(_with(dotted, value))
        except ScenarioError as exc:
            assert any(dotted in m for m in exc.messages), (dotted, exc.messages)
        else:
            accepted.append(dotted)
    assert accepted == []


def test_every_number_of_the_scenario_refuses_true_and_false() -> None:
    accepted = []
    for dotted in FLOAT_PATHS + INT_PATHS:
        for value in (True, False):
            try:
                scenario_from_dict(_with(dotted, value))
            except ScenarioError as exc:
                text = "\n".join(exc.messages)
                assert "expected a number here, not true/false" in text, (dotted, text)
            else:
                accepted.append((dotted, value))
    assert accepted == []


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("assessment.weights.closure=.nan", "assessment.weights.closure: Input should be a finite"),
        ("metrics.dsi_weights.voice_gap=.nan", "metrics.dsi_weights.voice_gap: Input should be a"),
        (
            "closed_loop.deadline_hours.urgent=.nan",
            "deadline_hours.urgent: Input should be a finite",
        ),
        ("population.trust_mean=.inf", "population.trust_mean: Input should be a finite"),
        (
            "budgeting.budget_per_community=1.0e999",
            "budget_per_community: Input should be a finite",
        ),
        ("population.citizens=true", "population.citizens: expected a number here, not true/false"),
        ("assessment.weights.closure=true", "assessment.weights: expected a number here"),
    ],
)
def test_nan_inf_and_booleans_are_refused_with_the_key(override: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        load_scenario("baseline", [override])
    assert f"--set {override.split('=')[0]}: " in messages(exc)
    assert fragment in messages(exc)


def test_switches_still_take_true_and_false() -> None:
    s = load_scenario("baseline", ["channels.app=false", "budgeting.enabled=true"])
    assert s.channels.app is False and s.budgeting.enabled is True


def test_a_huge_integer_is_refused_at_its_line_not_a_traceback(tmp_path: Path) -> None:
    f = write(tmp_path / "huge.yaml", "seed: 1\ndays: 1" + "0" * 5000 + "\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(str(f))
    assert exc.value.messages == [
        f"{f}:2: days: an integer of 5,001 digits is out of range (at most 30 digits; no govsim "
        "value needs more than 19)"
    ]
    with pytest.raises(ScenarioError, match=r"^--set seed:1: an integer of 5,000 digits"):
        load_scenario("baseline", ["seed=" + "9" * 5000])


def test_an_integer_within_the_digit_limit_gets_the_schema_message() -> None:
    with pytest.raises(ScenarioError, match=r"days: Input should be less than or equal to 36500"):
        load_scenario("baseline", ["days=" + "9" * 30])


# ---- valid YAML that must work ----------------------------------------------------------------


def test_merge_keys_merge_and_explicit_keys_override(tmp_path: Path) -> None:
    f = write(
        tmp_path / "merged.yaml",
        "x-defaults: &lit {mean: 0.5, concentration: 4.0}\n"
        "population:\n"
        "  literacy:\n"
        "    young:\n"
        "      <<: *lit\n"
        "      mean: 0.8\n"
        "    middle: {<<: *lit}\n"
        "    old:\n"
        "      <<: [{mean: 0.1}, {concentration: 9.0}]\n",
    )
    doc = parse_yaml(f.read_text(encoding="utf-8"), str(f))
    lit = doc.data["population"]["literacy"]
    assert lit["young"] == {"mean": 0.8, "concentration": 4.0}
    assert lit["middle"] == {"mean": 0.5, "concentration": 4.0}
    assert lit["old"] == {"mean": 0.1, "concentration": 9.0}
    assert doc.where[("population", "literacy", "young", "mean")] == f"{f}:6"


def test_a_key_written_twice_next_to_a_merge_is_still_a_duplicate() -> None:
    with pytest.raises(ScenarioError, match=r"m.yaml:5: x.a: duplicate key"):
        parse_yaml("b: &b {a: 1}\nx:\n  <<: *b\n  a: 2\n  a: 3\n", "m.yaml")


def test_a_date_like_description_is_text(tmp_path: Path) -> None:
    f = write(tmp_path / "dated.yaml", "description: 2024-01-01\n")
    assert load_scenario(str(f)).description == "2024-01-01"
    with pytest.raises(ScenarioError, match=r"tag 'tag:yaml\.org,2002:timestamp' is not allowed"):
        parse_yaml("description: !!timestamp 2024-01-01\n", "t.yaml")


def test_a_file_name_with_spaces_gives_a_valid_name(tmp_path: Path) -> None:
    f = write(tmp_path / "my city.yaml", "days: 3\n")
    assert load_scenario(str(f)).name == "my_city"


def test_a_file_name_with_no_usable_character_asks_for_a_name(tmp_path: Path) -> None:
    f = write(tmp_path / "城市.yaml", "days: 3\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(str(f))
    assert exc.value.messages[0].startswith(f"{f}: a file without 'name:' is named after its file")
    assert "'城市' has no letters A-Z" in messages(exc)
    assert load_scenario(str(f), ["name=chengshi"]).name == "chengshi"
    g = write(tmp_path / "城市2.yaml", "name: chengshi\n")
    assert load_scenario(str(g)).name == "chengshi"


# ---- size limits before parsing ---------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_unparsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = write(tmp_path / "big.yaml", "description: x\nlist: [" + "1," * MAX_YAML_BYTES + "1]\n")

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed a file over the size limit")

    monkeypatch.setattr(yaml, "compose", no_parsing)
    monkeypatch.setattr(yaml, "parse", no_parsing)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(str(f))
    assert exc.value.messages == [
        f"{f}: larger than the {MAX_YAML_BYTES:,} bytes a scenario or experiment file may have; "
        "refused before parsing"
    ]


def test_the_size_limit_holds_through_extends(tmp_path: Path) -> None:
    big = write(tmp_path / "parent.yaml", "# " + "x" * (MAX_YAML_BYTES + 10) + "\n")
    child = write(tmp_path / "child.yaml", "extends: parent.yaml\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(str(child))
    assert f"{child}:1: extends: " not in messages(exc)  # read, then refused: named by the file
    assert f"{big}: larger than the {MAX_YAML_BYTES:,} bytes" in messages(exc)


def test_a_long_flat_list_is_refused_before_it_is_built() -> None:
    text = "x: [" + ",".join(["1"] * (MAX_YAML_NODES + 10)) + "]\n"
    assert len(text) < MAX_YAML_BYTES
    with pytest.raises(
        ScenarioError, match=f"long.yaml:1: document has more than {MAX_YAML_NODES}"
    ):
        parse_yaml(text, "long.yaml")


@pytest.mark.parametrize("depth", [MAX_YAML_DEPTH + 1, 5000])
def test_nesting_past_the_depth_limit_is_refused(depth: int) -> None:
    with pytest.raises(ScenarioError, match=r"nested too deeply \(more than 64 levels\)"):
        parse_yaml("a: " + "[" * depth + "]" * depth + "\n", "deep.yaml")


def test_nesting_within_the_depth_limit_is_read() -> None:
    depth = MAX_YAML_DEPTH - 2
    doc = parse_yaml("a: " + "[" * depth + "]" * depth + "\n", "ok.yaml")
    inner = doc.data["a"]
    for _ in range(depth - 1):
        inner = inner[0]
    assert inner == []


# ---- memory bound -----------------------------------------------------------------------------


@pytest.fixture
def laptop(monkeypatch: pytest.MonkeyPatch) -> float:
    """A fixed 16 GB bound, so that these tests do not depend on the machine running them."""
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "16")
    return 16.0


def test_the_city_of_the_issue_is_refused_with_its_estimate(tmp_path: Path, laptop: float) -> None:
    f = write(
        tmp_path / "megacity.yaml",
        "days: 30\ncity: {districts: 100, streets_per_district: 100, communities_per_street: 200,"
        " grids_per_community: 50}\n",
    )
    with pytest.raises(ScenarioError) as exc:
        load_scenario(str(f))
    [message] = exc.value.messages
    assert message.startswith(f"{f}:2: city: a run of 30 days needs an estimated ")
    assert "2,000,000 communities with 102,010,000 officials" in message
    assert "more than the bound of 16.0 GB (set by GOVSIM_MEMORY_LIMIT_GB=16)" in message
    assert (
        "raise the bound deliberately with the environment variable GOVSIM_MEMORY_LIMIT_GB="
        in message
    )


def test_the_largest_population_is_refused_and_a_raised_bound_admits_it(
    laptop: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ScenarioError) as exc:
        load_scenario("baseline", ["population.citizens=20000000"])
    [message] = exc.value.messages
    assert message.startswith(
        "--set population.citizens: population.citizens: a run of 365 days needs an estimated "
    )
    assert "20,000,000 citizens 15.0 GB" in message
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "64")
    assert (
        load_scenario("baseline", ["population.citizens=20000000"]).population.citizens
        == 20_000_000
    )


def test_a_long_run_counts_its_cases(laptop: float) -> None:
    load_scenario("baseline", ["population.citizens=1000000"])  # a year fits
    with pytest.raises(ScenarioError, match=r"cases over 36,500 days"):
        load_scenario("baseline", ["population.citizens=1000000", "days=36500"])


def test_the_queue_mode_counts_its_arrivals(laptop: float) -> None:
    with pytest.raises(ScenarioError, match=r"queue.arrival_rate: a run of 36,500 days"):
        load_scenario(
            "queue_mmc",
            ["queue.arrival_rate=10000000", "queue.service_rate=10000000", "days=36500"],
        )


@pytest.mark.parametrize("text", ["abc", "0", "-3", "nan", "inf"])
def test_a_malformed_bound_is_a_clear_error(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, text)
    with pytest.raises(
        ScenarioError, match=f"GOVSIM_MEMORY_LIMIT_GB={text!r}: expected a positive"
    ):
        load_scenario("baseline")


def test_the_default_bound_is_most_of_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    limit, source = memory_limit()
    assert source.startswith("80% of this machine's ")
    assert 0.5e9 < limit < 1e14
    for name in packaged_scenarios():  # every packaged scenario fits a small machine
        assert scenario_memory(load_scenario(name)).total < 2e9, name


def test_the_estimate_brackets_the_measured_million_citizen_year() -> None:
    # README, Performance: a 1,000,000-citizen year peaked at 1.07 GiB; the estimate errs high
    estimate = scenario_memory(load_scenario("baseline", ["population.citizens=1000000"]))
    measured = 1.07 * 2**30
    assert measured < estimate.total < 1.5 * measured
    assert estimate.key == "population.citizens"


def test_the_good_corpus_file_with_merges_and_a_date_reads_as_written() -> None:
    s = load_scenario(str(DATA / "good" / "yaml_merge_and_dates.yaml"))
    assert s.description == "2024-01-01"
    lit = s.population.literacy
    assert (lit["young"].mean, lit["middle"].mean, lit["old"].mean) == (0.8, 0.6, 0.3)
    assert lit["middle"].concentration == lit["old"].concentration == 4.0
