"""Tests of the annotated YAML view of a scenario (``govsim show``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from govsim.config import load_scenario, packaged_scenarios, scenario_sha256, scenario_to_dict
from govsim.describe import annotated_yaml
from govsim.schema import CategorySpec, PopulationSpec


@pytest.mark.parametrize("name", sorted(packaged_scenarios()))
def test_annotated_yaml_loads_back_to_the_same_scenario(name: str, tmp_path: Path) -> None:
    scenario = load_scenario(
        name, ["description='with: colon # and hash'", "population.citizens=123"]
    )
    text = annotated_yaml(scenario)
    assert yaml.safe_load(text) == scenario_to_dict(scenario)
    saved = tmp_path / f"{scenario.name}.yaml"
    saved.write_text(text, encoding="utf-8")
    assert scenario_sha256(load_scenario(str(saved))) == scenario_sha256(scenario)


def test_every_parameter_line_carries_its_unit_and_meaning() -> None:
    text = annotated_yaml(load_scenario("baseline"))
    unit = PopulationSpec.model_fields["citizens"].json_schema_extra["unit"]
    meaning = PopulationSpec.model_fields["citizens"].description
    assert f"  citizens: 10000  # [{unit}] {meaning}" in text
    # fields inside a dict of sections (a category) are annotated too
    rate = CategorySpec.model_fields["rate"]
    assert f"# [{rate.json_schema_extra['unit']}] {rate.description}" in text
    scalar_lines = [
        line
        for line in text.splitlines()
        if not line.startswith("#") and not line.rstrip().endswith(":") and ":" in line
    ]
    # every scalar parameter that is a schema field has a comment; entries of plain mappings
    # (age shares, deadlines, weights) are covered by their parent's comment
    uncommented = [line for line in scalar_lines if "#" not in line]
    assert all(line.startswith("    ") for line in uncommented), uncommented[:5]


def test_show_writes_every_weight_out_zeros_included_and_names_the_allowed_keys() -> None:
    from govsim.schema import INDICATORS

    text = annotated_yaml(load_scenario("speed_kpi"))
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  weights:"))
    assert f"Keys: {', '.join(INDICATORS)}." in lines[at]
    written = [line.strip().split(":")[0] for line in lines[at + 1 : at + 1 + len(INDICATORS)]]
    assert written == list(INDICATORS)
    assert "    traces: 0.0" in lines[at + 1 : at + 1 + len(INDICATORS)]
