"""The timeline of reforms (govsim.timeline): checks like ``--set``, changes that reach the run.

The two invariants of ODD 7.24 are tested for every changeable section: a change at day 0 gives
exactly the run of the scenario with that value from the start (so the change reaches every
component that reads or caches it: without the officials' or the engine's ``reconfigure``, or the
rebuilt deadlines, those cases differ), and a change at day ``k`` leaves the days before ``k``
exactly as the run without it while changing later days.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from govsim.cli import main
from govsim.config import (
    ScenarioError,
    load_scenario,
    scenario_from_dict,
    scenario_to_dict,
)
from govsim.describe import annotated_yaml
from govsim.model import GovernanceModel
from govsim.report import dashboard_figure, reform_marks
from govsim.runner import simulate
from govsim.schema import Scenario
from govsim.timeline import (
    CHANGEABLE,
    CHANGEABLE_SUMMARY,
    FIXED,
    NOT_AUDITED,
    REFORM_COLUMN,
    Timeline,
    changeable,
)

DAYS = 40
"""Past the first assessment period (30 days), so that ranking and learning run."""
SMALL: dict[str, Any] = {"extends": "baseline", "days": DAYS, "population": {"citizens": 1500}}


def scenario(timeline: list[dict] | None = None, **sections: Any) -> Scenario:
    data = {**SMALL, **sections}
    if timeline is not None:
        data["timeline"] = timeline
    return scenario_from_dict(data)


def nested(dotted: str, value: Any) -> dict[str, Any]:
    out: Any = value
    for p in reversed(dotted.split(".")):
        out = {p: out}
    return out


def merged(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def run(s: Scenario) -> tuple[pd.DataFrame, dict[str, float]]:
    r = simulate(s)
    return r.timeseries.drop(columns=[REFORM_COLUMN], errors="ignore"), r.summary


def same_summary(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(
        (np.isnan(a[k]) and np.isnan(b[k])) or a[k] == b[k] for k in a
    )


# One change per changeable section (and per refresh hook): each changes the run of SMALL.
CHANGES: dict[str, dict[str, Any]] = {
    "citizens": {"citizens.voice_base": 0.5},
    "population.literacy_training_rate": {"population.literacy_training_rate": 1.0},
    "channels": {"channels.app_usability": 0.2, "channels.hotline_operators": 1},
    "officials.hours_per_day": {"officials.hours_per_day": 5.0},
    "officials.routine_share (reconfigure)": {
        "officials.routine_share": 0.6,
        "officials.department_routine_share": 0.6,
    },
    "dispatch (engine.reconfigure)": {"dispatch.mode": "unified", "dispatch.data_sharing": 0.8},
    "closed_loop.deadline_hours (categories rebuilt)": {
        "closed_loop.deadline_hours": {"general": 24.0, "complex": 48.0}
    },
    "closed_loop.audit_rate": {"closed_loop.audit_rate": 0.5},
    "assessment.weights (reconfigure)": {"assessment.weights.traces": 3.0},
    "assessment.penalty": {"assessment.penalty": 5.0, "assessment.learning.exploration": 0.2},
    "gaming": {"gaming.pressure_minutes": 240.0, "gaming.nominal_effort_share": 1.0},
    "boundary": {"boundary.force_online": True},
    "party (reconfigure)": {"party.deliberation_hours_per_month": 60.0},
}


@pytest.fixture(scope="module")
def plain_run() -> tuple[pd.DataFrame, dict[str, float]]:
    return run(scenario())


DAY0_BASE: dict[str, dict[str, Any]] = {
    # the units' starting experience is set for the sharing in force when the city is built (ODD
    # 7.25): a sharing reform at day 0 lifts a city built without it above a city built with it
    # (test_a_sharing_reform_lifts_capability_from_its_day); without transfer the two are the same
    "dispatch (engine.reconfigure)": {"capability": {"transfer": 0.0, "coordination_transfer": 0.0}}
}
"""Sections under which a day-0 change equals the scenario built with it (where it differs)."""


@pytest.mark.parametrize("name", list(CHANGES))
def test_a_change_at_day_0_is_the_scenario_with_it_from_the_start(
    name: str, plain_run: tuple[pd.DataFrame, dict[str, float]]
) -> None:
    change = CHANGES[name]
    base = DAY0_BASE.get(name, {})
    sections: dict[str, Any] = dict(base)
    for k, v in change.items():
        sections = merged(sections, nested(k, v))
    ts_start, sum_start = run(scenario(**merged({k: SMALL.get(k, {}) for k in sections}, sections)))
    ts_day0, sum_day0 = run(scenario([{"day": 0, "set": change}], **base))
    pd.testing.assert_frame_equal(ts_day0, ts_start, check_exact=True)
    assert same_summary(sum_day0, sum_start)
    ts_plain, _ = plain_run
    assert not ts_start.equals(ts_plain), f"{name}: the change does not change the run"


@pytest.mark.parametrize("name", list(CHANGES))
def test_a_change_at_day_k_leaves_earlier_days_and_changes_later_ones(
    name: str, plain_run: tuple[pd.DataFrame, dict[str, float]]
) -> None:
    k = 10
    ts, _ = run(scenario([{"day": k, "label": name, "set": CHANGES[name]}]))
    ts_plain, _ = plain_run
    # rows day 1..k are the days 0..k-1 run before the change
    pd.testing.assert_frame_equal(ts.iloc[:k], ts_plain.iloc[:k], check_exact=True)
    assert not ts.iloc[k:].equals(ts_plain.iloc[k:]), f"{name}: later days unchanged"


def test_the_time_series_marks_the_first_day_under_each_change() -> None:
    s = scenario(
        [
            {"day": 20, "set": {"dispatch.mode": "unified"}},
            {"day": 5, "label": "吹哨报到", "set": {"dispatch.summoning": True}},
            {"day": 20, "label": "three rates", "set": {"assessment.period_days": 10}},
        ]
    )
    ts = simulate(s).timeseries
    marked = ts[ts[REFORM_COLUMN] != ""]
    assert marked["day"].tolist() == [6, 21]
    assert marked[REFORM_COLUMN].tolist() == ["吹哨报到", "dispatch.mode=unified; three rates"]
    assert reform_marks(ts) == [(5.0, "吹哨报到"), (20.0, "dispatch.mode=unified; three rates")]
    assert REFORM_COLUMN not in simulate(scenario()).timeseries.columns  # no timeline, no column


def test_the_dashboard_draws_a_labelled_line_at_each_reform() -> None:
    ts = simulate(scenario([{"day": 12, "label": "接诉即办", "set": {"dispatch.mode": "unified"}}]))
    fig = dashboard_figure(ts.timeseries)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.lines]
    for ax in axes:
        vertical = [ln for ln in ax.lines if list(ln.get_xdata()) == [12.0, 12.0]]
        assert len(vertical) == 1
    labels = [t.get_text() for ax in axes for t in ax.texts]
    assert "接诉即办" in labels
    assert any("接诉即办" in t.get_text() for t in fig.texts)  # and the footnote names it
    plain = dashboard_figure(simulate(scenario()).timeseries)
    assert not any(list(ln.get_xdata()) == [12.0, 12.0] for ax in plain.axes for ln in ax.lines)


def test_the_timeline_value_wins_from_its_day_over_set(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "extends: baseline\ndays: 30\npopulation: {citizens: 500}\n"
        "timeline:\n  - {day: 10, set: {dispatch.data_sharing: 0.5}}\n",
        encoding="utf-8",
    )
    s = load_scenario(str(path), ["dispatch.data_sharing=0.9"])
    m = GovernanceModel(scenario=s)
    seen = []
    for _ in range(12):
        m.step()
        seen.append((m.config.dispatch.data_sharing, m.engine.ds))
    assert seen[9] == (0.9, 0.9) and seen[10] == (0.5, 0.5)


def test_extends_inherits_a_timeline_and_a_child_replaces_it(tmp_path: Path) -> None:
    (tmp_path / "parent.yaml").write_text(
        "extends: baseline\ndays: 100\ntimeline:\n  - {day: 50, set: {dispatch.mode: unified}}\n",
        encoding="utf-8",
    )
    (tmp_path / "child.yaml").write_text("extends: parent.yaml\n", encoding="utf-8")
    (tmp_path / "other.yaml").write_text(
        "extends: parent.yaml\ntimeline:\n  - {day: 7, set: {dispatch.summoning: true}}\n",
        encoding="utf-8",
    )
    assert [e.day for e in load_scenario(str(tmp_path / "child.yaml")).timeline] == [50]
    assert [e.day for e in load_scenario(str(tmp_path / "other.yaml")).timeline] == [7]
    with pytest.raises(ScenarioError, match=r"timeline\[0\]\.day: 50 is outside the run"):
        load_scenario(str(tmp_path / "child.yaml"), ["days=50"])


def test_the_resolved_timeline_holds_the_values_as_the_schema_reads_them() -> None:
    s = scenario(
        [
            {
                "day": 3,
                "set": {
                    "dispatch.data_sharing": 1,
                    "assessment.weights": {"satisfaction": 2},
                },
            }
        ]
    )
    change = scenario_to_dict(s)["timeline"][0]["set"]
    assert change["dispatch.data_sharing"] == 1.0
    assert isinstance(change["dispatch.data_sharing"], float)
    weights = change["assessment.weights"]
    assert weights["satisfaction"] == 2.0 and weights["response"] == 1.0  # whole, after merge


# ---- refused timelines --------------------------------------------------------------------------


def refused(timeline: list[dict], **sections: Any) -> str:
    with pytest.raises(ScenarioError) as exc:
        scenario(timeline, **sections)
    return "\n".join(exc.value.messages)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"city.districts": 3}, "timeline[0].set.city.districts: cannot change mid-run"),
        ({"population.citizens": 9}, "timeline[0].set.population.citizens: cannot change mid-run"),
        ({"seed": 1}, "timeline[0].set.seed: cannot change mid-run"),
        ({"days": 10}, "timeline[0].set.days: cannot change mid-run"),
        ({"officials.community_workers": 9}, "officials.community_workers: cannot change mid-run"),
        ({"departments.water.staff": 9}, "departments.water.staff: cannot change mid-run"),
        ({"categories.noise.rate": 0.1}, "categories.noise.rate: cannot change mid-run"),
        (
            {"categories.new": {"rate": 0.001, "owners": ["community"]}},
            "categories.new.rate: cannot change mid-run",
        ),
        ({"assessment.learning.initial_gaming": 0.3}, "initial_gaming: cannot change mid-run"),
        ({"metrics.dsi_weights.voice_gap": 1.0}, "dsi_weights.voice_gap: cannot change mid-run"),
        ({"budgeting.rule": "equal_shares"}, "budgeting.rule: cannot change mid-run"),
        ({"timeline": []}, "timeline[0].set.timeline: cannot change mid-run"),
        ({"dispatch.data_sharing": 2}, "timeline[0].set.dispatch.data_sharing: Input should be"),
        ({"dispatchh.mode": "unified"}, "dispatchh: unknown key; did you mean 'dispatch'?"),
        ({"dispatch..mode": "unified"}, "expected a non-empty dotted key path"),
    ],
)
def test_a_bad_change_is_refused_with_a_located_message(change: dict, expected: str) -> None:
    assert expected in refused([{"day": 5, "set": change}])


def test_days_outside_the_run_are_refused_and_checked_again_when_days_shrink(
    tmp_path: Path,
) -> None:
    assert "timeline[1].day: -1 is outside the run" in refused(
        [{"day": 0, "set": {"dispatch.mode": "unified"}}, {"day": -1, "set": {"gaming": {}}}]
    )
    assert "timeline[0].day: 40 is outside the run" in refused([{"day": 40, "set": {"gaming": {}}}])
    path = tmp_path / "t.yaml"
    path.write_text(
        "extends: baseline\ndays: 100\ntimeline:\n  - {day: 60, set: {dispatch.mode: unified}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as exc:
        load_scenario(str(path), ["days=60"])
    assert f"{path}:4: timeline[0].day: 60 is outside the run" in exc.value.messages[0]
    assert "days set at --set days" in exc.value.messages[0]
    s = load_scenario(str(path))
    with pytest.raises(ScenarioError, match="outside the run"):
        simulate(s, days=50)  # the model checks its own horizon


def test_each_entry_is_checked_on_what_the_earlier_ones_left() -> None:
    closed = {f"channels.{c}": False for c in ("app", "offline", "assisted")}
    text = refused(
        [
            {"day": 9, "set": {"channels.hotline": False}},
            {"day": 3, "set": closed},
        ]
    )
    assert "timeline[0].set: channels: at least one of app, hotline" in text
    scenario([{"day": 3, "set": closed}])  # alone it leaves the hotline open


def test_the_validation_queue_takes_no_timeline() -> None:
    text = refused(
        [{"day": 1, "set": {"dispatch.mode": "unified"}}],
        queue={"enabled": True},
        extends="queue_mmc",
    )
    assert "the M/M/c validation queue (queue.enabled) has no timeline" in text


def test_the_cli_refuses_a_bad_timeline_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "extends: baseline\ndays: 30\ntimeline:\n  - {day: 20, set: {dispatch.mode: unified}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["run", str(path), "--days", "20", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"error: {path}:4: timeline[0].day: 20 is outside the run" in err
    assert not out.exists()


# ---- the whitelist --------------------------------------------------------------------------


def test_every_listed_key_path_is_a_scenario_key() -> None:
    default = scenario_to_dict(Scenario())
    for dotted in [*CHANGEABLE, *FIXED]:
        cur: Any = default
        for p in dotted.split("."):
            assert isinstance(cur, dict) and p in cur, dotted
            cur = cur[p]


def test_a_sharing_reform_lifts_capability_from_its_day() -> None:
    """A reform that shares data and unifies dispatch reaches the units' capability (ODD 7.25):
    from its day the effective experience includes the peers', so capability jumps above the
    run without it; the days before are the same; with transfer off the reform leaves it alone."""
    reform = {"dispatch.mode": "unified", "dispatch.data_sharing": 0.9}
    k = 10
    ts_plain, _ = run(scenario())
    ts, _ = run(scenario([{"day": k, "set": reform}]))
    col = "capability_mean"
    np.testing.assert_array_equal(ts[col].iloc[:k], ts_plain[col].iloc[:k])
    # the 30-day window dilutes the first day's jump (0.0009 here); the runs are equal before it
    assert ts[col].iloc[k] > ts_plain[col].iloc[k] + 1e-4, (ts[col].iloc[k], ts_plain[col].iloc[k])
    # the hook itself: the same units' experience, more sharing, higher capability; no transfer,
    # no change
    for transfer, rises in ((0.3, True), (0.0, False)):
        base = scenario(capability={"transfer": transfer, "coordination_transfer": transfer})
        model = GovernanceModel(scenario=base)
        cap = model.officials.capability
        before = cap.level.copy()
        reformed = scenario_from_dict(
            merged(
                base.model_dump(mode="json"), {"dispatch": {"mode": "unified", "data_sharing": 0.9}}
            )
        )
        cap.reconfigure(reformed)
        if rises:
            assert (cap.level > before + 1e-3).all()
        else:
            np.testing.assert_array_equal(cap.level, before)


def test_the_longest_listed_path_decides_and_unlisted_keys_are_fixed() -> None:
    assert changeable(("population", "literacy_training_rate"))[0]
    assert not changeable(("population", "citizens"))[0]
    assert changeable(("assessment", "learning", "exploration"))[0]
    assert not changeable(("assessment", "learning", "motivation_sd"))[0]
    assert changeable(("officials", "invented_later")) == (False, NOT_AUDITED)
    for section in {p.split(".")[0] for p in CHANGEABLE}:
        assert section in CHANGEABLE_SUMMARY


# ---- show, manifest, determinism ------------------------------------------------------------


def test_show_prints_the_timeline_one_entry_a_line_and_loads_back(tmp_path: Path) -> None:
    s = scenario([{"day": 7, "label": "接诉即办", "set": {"dispatch.mode": "unified"}}])
    text = annotated_yaml(s)
    assert "  - {day: 7, label: 接诉即办, set: {dispatch.mode: unified}}" in text
    path = tmp_path / "shown.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_scenario(str(path)).timeline == s.timeline


def test_runs_with_a_timeline_are_the_same_in_two_processes(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "extends": "baseline",
                "name": "t",
                "days": 30,
                "population": {"citizens": 800},
                "timeline": [
                    {"day": 10, "label": "unify", "set": {"dispatch.mode": "unified"}},
                    {"day": 20, "set": {"assessment.weights.satisfaction": 3.0}},
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    outs = []
    for i, hashseed in enumerate(("0", "12345")):
        out = tmp_path / f"out{i}"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "govsim.cli",
                "run",
                str(path),
                "--out",
                str(out),
                "-q",
                "--format",
                "csv",
                "--no-dashboard",
            ],
            env={**os.environ, "PYTHONHASHSEED": hashseed},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        outs.append(out / "t-s42")
    a, b = outs
    assert (a / "timeseries.csv").read_bytes() == (b / "timeseries.csv").read_bytes()
    assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()
    manifest = json.loads((a / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["scenario"]["timeline"][1] == {
        "day": 20,
        "label": "",
        "set": {"assessment.weights.satisfaction": 3.0},
    }
    ts = pd.read_csv(a / "timeseries.csv", keep_default_na=False)
    assert ts.loc[ts["day"] == 11, REFORM_COLUMN].item() == "unify"


def test_timeline_of_a_scenario_without_one_is_empty() -> None:
    t = Timeline.of(scenario())
    assert t.states == {} and t.marks == {}
