"""A city stated by density (govsim.sizing, ODD §5): resolution, refusals, `govsim show`, warning.

The packaged scenarios state the baseline's city by density; at their own population it must
resolve to exactly the sizes they had before (the schema's absolute defaults), so that their
outputs stay bit for bit the same (checked separately with ``benchmarks.check_identical``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from govsim.cli import main
from govsim.config import (
    ScenarioError,
    load_scenario,
    packaged_scenarios,
    resolve_scenario,
    scenario_from_dict,
    scenario_to_dict,
)
from govsim.schema import Scenario
from govsim.sizing import (
    DENSITY,
    STATED,
    OverloadWarning,
    built_for,
    load_estimate,
    overload_warning,
    sizes,
    warn_if_overloaded,
)

TODAY = {
    "city.districts": 2,
    "city.streets_per_district": 3,
    "city.communities_per_street": 4,
    "city.grids_per_community": 3,
    "officials.community_workers": 1,
    "officials.street_officials": 1,
    "channels.hotline_operators": 1,
    "departments.urban_management.staff": 5,
    "departments.housing.staff": 6,
    "departments.environment.staff": 3,
    "departments.market_regulation.staff": 2,
    "departments.transport.staff": 1,
    "departments.water.staff": 3,
    "departments.civil_affairs.staff": 3,
}
"""The packaged scenarios' sizes before the density mechanism (written out, not computed)."""

ROOT = Path(__file__).resolve().parents[1]


def _sizes(s: Scenario) -> dict[str, int]:
    return {z.path: z.value for z in sizes(s)}


def _sources(s: Scenario) -> dict[str, str]:
    return {z.path: z.source for z in sizes(s)}


def _units(s: Scenario) -> tuple[int, int, int]:
    c = s.city
    streets = c.districts * c.streets_per_district
    return c.districts, streets, streets * c.communities_per_street


@pytest.mark.parametrize("name", sorted(packaged_scenarios()))
def test_packaged_scenarios_resolve_to_the_sizes_they_had(name: str) -> None:
    s = load_scenario(name)
    assert _sizes(s) == TODAY
    if not s.queue.enabled:  # the M/M/c queue has no city to state
        assert s.density is not None
        assert {p for p, src in _sources(s).items() if src == STATED} == {
            "city.grids_per_community"
        }
        assert overload_warning(s) is None  # no packaged scenario warns


def test_the_schema_defaults_are_stated_sizes() -> None:
    s = Scenario()
    assert s.density is None and _sizes(s) == TODAY
    assert set(_sources(s).values()) == {STATED}


@pytest.mark.parametrize("citizens", [500, 3_000, 10_000])
def test_small_populations_live_in_the_packaged_city(citizens: int) -> None:
    """min_citizens 10,000: tests and the classroom (3,000) keep the 24-community city."""
    s = load_scenario("baseline", [f"population.citizens={citizens}"])
    assert _sizes(s) == TODAY and built_for(s) == 10_000


def test_the_city_grows_with_its_citizens() -> None:
    base = load_scenario("baseline")
    big = load_scenario("baseline", ["population.citizens=100000"])
    assert _units(big) == tuple(10 * u for u in _units(base))  # 20 districts, 60, 240
    assert big.departments["housing"].staff == base.departments["housing"].staff  # per copy
    assert big.departments["water"].staff == 10 * base.departments["water"].staff  # city level
    assert big.channels.hotline_operators == 10
    assert big.officials.community_workers == base.officials.community_workers
    assert set(_sources(big).values()) == {DENSITY, STATED}
    # load per unit kept: the day-0 load ratios are those of the baseline
    for a, b in zip(load_estimate(base), load_estimate(big), strict=True):
        assert a.unit == b.unit and b.ratio == pytest.approx(a.ratio, rel=0.01)
    # more citizens never mean a smaller city or fewer staff
    last = None
    for n in (10_000, 25_000, 60_000, 150_000, 400_000, 1_000_000, 3_000_000):
        s = load_scenario("baseline", [f"population.citizens={n}"])
        now = (*_units(s), *(d.staff * (1 if d.level == "city" else s.city.districts)
                             for d in s.departments.values()))  # fmt: skip
        if last is not None:
            assert all(x >= y for x, y in zip(now, last, strict=True)), n
        last = now


def test_past_the_district_limit_streets_then_communities_grow() -> None:
    s = load_scenario("baseline", ["population.citizens=1000000"])
    assert (s.city.districts, s.city.streets_per_district, s.city.communities_per_street) == (
        100,
        6,
        4,
    )
    # one citizen per district: 20,000 want 20,000 districts -> 100 x 100 streets x 2 communities
    one = {"citizens_per_community": 1, "communities_per_street": 1, "streets_per_district": 1}
    s = _density_city(20_000, **one)
    assert (s.city.districts, s.city.streets_per_district) == (100, 100)
    assert s.city.communities_per_street == 2  # round(1 x 200 / 100)


def test_at_least_one_of_each_unit_and_official() -> None:
    s = load_scenario("baseline", ["population.citizens=1", "density.min_citizens=1"])
    assert _units(s) == (1, 3, 12)
    assert all(v >= 1 for v in _sizes(s).values())


def _density_city(citizens: int, **density: object) -> Scenario:
    return scenario_from_dict(
        {"population": {"citizens": citizens}, "density": {"min_citizens": 1, **density}}
    )


def test_rounding_rules_half_up_and_staff_up() -> None:
    trio = {"citizens_per_community": 100, "communities_per_street": 1, "streets_per_district": 1}
    # 250 citizens at 100 per district: 2.5 districts rounds up (Python's round gives 2)
    assert _density_city(250, **trio).city.districts == 3
    assert _density_city(249, **trio).city.districts == 2
    # staff round up: 25 per 10k over 24 communities is 1.04 workers a community -> 2
    base = {"citizens_per_community": 10_000 / 24, "communities_per_street": 4}
    s = _density_city(10_000, **base, streets_per_district=3, community_workers_per_10k=25)
    assert s.officials.community_workers == 2
    # ... but float error is forgiven: exactly 1 a community stays 1
    s = _density_city(10_000, **base, streets_per_district=3, community_workers_per_10k=24)
    assert s.officials.community_workers == 1
    # a district-level department splits its staff over the districts, a city-level one does not
    s = _density_city(
        10_000,
        **base,
        streets_per_district=3,
        department_staff_per_10k={"housing": 7, "water": 7},
    )
    assert s.city.districts == 2
    assert (s.departments["housing"].staff, s.departments["water"].staff) == (4, 7)


def test_max_citizens_keeps_the_city_for_a_load_experiment() -> None:
    s = load_scenario("baseline", ["population.citizens=20000", "density.max_citizens=10000"])
    assert _sizes(s) == TODAY and built_for(s) == 10_000
    message = overload_warning(s)
    assert message is not None and "max_citizens" in message  # twice the load on the same city


def test_the_dump_states_the_density_and_round_trips() -> None:
    s = load_scenario("baseline", ["population.citizens=50000"])
    data = scenario_to_dict(s)
    assert "districts" not in data["city"] and "staff" not in data["departments"]["housing"]
    assert "hotline_operators" not in data["channels"]
    again = scenario_from_dict(data)
    assert again == s and _sizes(again) == _sizes(s)
    # read back at another population, the dump resolves again
    data["population"]["citizens"] = 100_000
    assert scenario_from_dict(data).city.districts == 20


def test_a_size_stated_later_replaces_the_density_figure_it_inherits(tmp_path: Path) -> None:
    s = load_scenario("baseline", ["population.citizens=100000", "channels.hotline_operators=3"])
    assert s.channels.hotline_operators == 3 and _sources(s)["channels.hotline_operators"] == STATED
    assert s.city.districts == 20  # the rest still by density
    # the city's three sizes go together: stating one keeps the others as resolved
    s = load_scenario("baseline", ["population.citizens=100000", "city.districts=5"])
    assert (s.city.districts, s.city.streets_per_district, s.city.communities_per_street) == (
        5,
        3,
        4,
    )
    assert _sources(s)["departments.housing.staff"] == DENSITY
    # in a file extending a packaged scenario, and through the API's overrides
    child = tmp_path / "child.yaml"
    child.write_text("extends: baseline\ndepartments:\n  housing:\n    staff: 9\n", "utf-8")
    s = load_scenario(child, ["population.citizens=30000"])
    assert s.departments["housing"].staff == 9 and s.city.districts == 6
    s = resolve_scenario("baseline", {"departments.housing.staff": 9})
    assert s.departments["housing"].staff == 9


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "city.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_stating_both_in_one_file_is_refused_at_its_line(tmp_path: Path, capsys) -> None:
    path = _write(
        tmp_path,
        "name: both\ndensity:\n  hotline_operators_per_10k: 2\nchannels:\n  hotline_operators: 5\n",
    )
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    [message] = exc.value.messages
    assert message.startswith(f"{path}:5: channels.hotline_operators: stated both")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "stated both as a size and by density" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing half-written


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("density:\n  citizens_per_community: 400\n", "give all three or none"),
        ("density:\n  department_staff_per_10k: {housng: 3}\n", "did you mean 'housing'?"),
        ("density:\n  min_citizens: 100\n  max_citizens: 50\n", "below min_citizens"),
    ],
)
def test_bad_densities_are_refused_with_exit_2(
    tmp_path: Path, capsys, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err and expected in err


def test_show_prints_the_resolved_sizes_and_loads_back(tmp_path: Path, capsys) -> None:
    assert main(["show", "baseline", "--set", "population.citizens=100000"]) == 0
    out = capsys.readouterr().out
    assert "# Resolved sizes, 100,000 citizens; the city by density for 100,000" in out
    assert "#   20 districts, 60 streets, 240 communities, 720 grids" in out
    for line in (
        "city.districts                       20  [density]",
        "city.grids_per_community             3  [stated]",
        "channels.hotline_operators           10  [density]",
        "departments.housing.staff            6 (x 20 copies: 120)  [density]",
        "departments.water.staff              30 (x 1 copy: 30)  [density]",
    ):
        assert f"#   {line}\n" in out, line
    assert "# Load at day 0" in out and "WARNING" not in out
    path = _write(tmp_path, out)
    again = load_scenario(path)
    assert _sizes(again) == _sizes(load_scenario("baseline", ["population.citizens=100000"]))


def test_the_warning_fires_for_more_citizens_on_a_stated_city(capsys) -> None:
    # density: null freezes the city as resolved so far (10,000 citizens'), then 100,000 move in
    s = load_scenario("baseline", ["density=null", "population.citizens=100000"])
    assert _sizes(s) == TODAY and set(_sources(s).values()) == {STATED}
    message = overload_warning(s)
    assert message is not None
    assert "overloaded at day 0" in message and "state the city by density" in message
    with pytest.warns(OverloadWarning, match="department housing 6.0x"):
        warn_if_overloaded(s)
    assert (
        main(["show", "baseline", "--set", "density=null", "--set", "population.citizens=100000"])
        == 0
    )
    assert "# WARNING: scenario 'baseline': the city is overloaded" in capsys.readouterr().out


def test_the_warning_stays_silent_where_the_city_carries_its_load() -> None:
    for n in (10_000, 100_000, 1_000_000):
        s = load_scenario("baseline", [f"population.citizens={n}"])
        assert overload_warning(s) is None
        assert max(r.ratio for r in load_estimate(s)) < 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", OverloadWarning)
        warn_if_overloaded(load_scenario("baseline"))


def test_the_load_estimate_follows_its_inputs() -> None:
    """Switched off (no reporting) there is no load; the sign of each input is the right one."""
    base = {r.unit: r.ratio for r in load_estimate(load_scenario("baseline"))}

    def ratios(*overrides: str) -> dict[str, float]:
        return {r.unit: r.ratio for r in load_estimate(load_scenario("baseline", overrides))}

    closed = ratios("channels.app=false", "channels.hotline=false", "channels.offline=false")
    assert all(v == 0 for v in closed.values())
    more_effort = ratios("categories.noise.effort_hours=5.0")  # environment's only category
    assert more_effort["department environment"] == pytest.approx(
        2 * base["department environment"]
    )
    assert more_effort["department housing"] == base["department housing"]
    busier = ratios("officials.department_routine_share=0.905")
    assert busier["department housing"] == pytest.approx(2 * base["department housing"])
    louder = ratios("citizens.voice_base=0.0")
    assert all(louder[k] > base[k] for k in base)


def test_a_run_of_an_overloaded_city_warns_on_stderr_and_proceeds(tmp_path: Path) -> None:
    """The real command line (a subprocess: pytest would capture the warning): one line on stderr,
    exit 0, the outputs written and free of it."""
    out = tmp_path / "out"
    args = ["--set", "density=null", "--set", "departments.housing.staff=1", "--days", "2"]
    cmd = [sys.executable, "-m", "govsim.cli", "run", "baseline", *args, "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [*cmd, "--quiet", "--no-dashboard"], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("warning: scenario 'baseline': the city is overloaded at day 0")
    assert "department housing" in proc.stderr and proc.stderr.count("\n") == 1
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written and not any(b"at day 0 by construction" in p.read_bytes() for p in written)
