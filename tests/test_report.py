"""Tests of the run dashboard (``dashboard.png``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd

from govsim.metrics import METRICS, SETTLE_DAYS, WINDOW_DAYS
from govsim.report import (
    MAIN_PANELS,
    MAX_LINES,
    MAX_PANELS,
    dashboard_figure,
    metric_window,
    plan_panels,
    save_dashboard,
)


def frame(columns: list[str], days: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    data = {"day": np.arange(1, days + 1)}
    for c in columns:
        data[c] = rng.random(days)
    return pd.DataFrame(data)


def titles(planned) -> list[str]:
    return [panel.title for panel, _ in planned]


def test_main_panels_use_only_existing_columns() -> None:
    planned, left_out = plan_panels(
        ["backlog", "closure_rate", "real_resolution_rate", "trust_mean"]
    )
    assert titles(planned) == ["Responsiveness", "Backlog", "Trust and efficacy"]
    assert planned[0][1] == ["closure_rate", "real_resolution_rate"]
    assert left_out == []


def test_unknown_metrics_are_plotted_grouped_by_prefix() -> None:
    cols = ["closure_rate", "pb_turnout_q1", "pb_turnout_q2", "budget_spent"]
    planned, _ = plan_panels(cols)
    placed = [c for _, cs in planned for c in cs]
    assert sorted(placed) == sorted(cols)  # every metric is drawn exactly once
    assert titles(planned) == [
        "Responsiveness",
        "pb_*",
        "budget_spent",
    ]  # a lone metric titles its panel


def test_group_panels_by_literacy_and_age_do_not_swallow_each_other() -> None:
    cols = ["voice_rate_q1", "voice_rate_q4", "voice_rate_old", "voice_rate_young", "voice_gap"]
    planned = dict((panel.title, cs) for panel, cs in plan_panels(cols)[0])
    assert planned["Voice by literacy quartile"] == ["voice_rate_q1", "voice_rate_q4"]
    assert planned["Voice by age group"] == ["voice_rate_old", "voice_rate_young"]
    assert planned["Digital suspension"] == ["voice_gap"]


def test_crowded_groups_split_and_excess_is_reported() -> None:
    many = [f"m{i}_x" for i in range(MAX_PANELS + 5)]  # one panel each
    planned, left_out = plan_panels(many)
    assert len(planned) == MAX_PANELS
    assert left_out == many[MAX_PANELS:]
    wide = [f"intake_c{i}" for i in range(MAX_LINES + 1)]
    planned, _ = plan_panels(wide)
    assert [len(cs) for _, cs in planned] == [MAX_LINES, 1]


def test_non_metric_columns_are_not_drawn() -> None:
    ts = frame(["closure_rate"])
    ts["flag"] = True
    ts["label"] = "x"
    ts["empty"] = np.nan
    fig = dashboard_figure(ts, title="t")
    drawn = {line.get_label() for ax in fig.axes for line in ax.get_lines()}
    assert drawn == {"closure_rate"}


def test_save_dashboard_writes_a_png(tmp_path: Path) -> None:
    ts = frame(["closure_rate", "real_resolution_rate", "dsi", "backlog", "trust_mean"], days=60)
    out = tmp_path / "dashboard.png"
    save_dashboard(ts, out, title="baseline (seed 1, 60 days)")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(out)
    assert image.shape[0] > 200 and image.shape[1] > 400


def test_a_timeseries_without_metrics_still_draws(tmp_path: Path) -> None:
    out = tmp_path / "empty.png"
    save_dashboard(pd.DataFrame({"day": [1, 2, 3]}), out)
    assert out.stat().st_size > 0


def _label_boxes_overlap(fig) -> list[str]:
    """Pairs of drawn panels whose boxes (ticks, labels and titles included) overlap, and boxes
    or texts that leave the figure."""
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    page = fig.bbox
    boxes = [(ax.get_title(), ax.get_tightbbox(renderer)) for ax in fig.axes if ax.axison]
    texts = [t.get_window_extent(renderer) for t in fig.texts if t.get_text()]  # title, footnote
    problems = [
        f"{a} overlaps {b}"
        for i, (a, box_a) in enumerate(boxes)
        for b, box_b in boxes[i + 1 :]
        if box_a.overlaps(box_b)
    ]
    for name, box in [*boxes, *(("a figure text", t) for t in texts)]:
        if box.x0 < page.x0 or box.y0 < page.y0 or box.x1 > page.x1 or box.y1 > page.y1:
            problems.append(f"{name} leaves the figure")
    problems += [
        f"a figure text overlaps {name}" for t in texts for name, box in boxes if t.overlaps(box)
    ]
    return problems


def test_the_fixed_layout_keeps_panels_labels_and_titles_apart() -> None:
    # every fixed panel, the per-group panels, a footnote of left-out metrics, long tick labels
    columns = [c for panel in MAIN_PANELS for c in (p.replace("*", "x") for p in panel.patterns)]
    columns = [c.replace("?", "1") for c in columns]
    columns += [f"extra{i}_metric" for i in range(MAX_PANELS)]
    ts = frame(columns, days=365)
    ts["backlog"] = ts["backlog"] * 1_000_000  # six-figure tick labels on the y axis
    for i in range(6):  # six constant metrics: a footnote of several lines
        ts[f"const{i}_metric"] = 0.0
    fig = dashboard_figure(ts, title="a long scenario name (seed 123456, 365 days)")
    assert any("more metrics not drawn" in t.get_text() for t in fig.texts)  # the footnote
    assert _label_boxes_overlap(fig) == []
    for n_panels in (1, 3, 5):  # a lone panel, one row, a row with a gap below a panel
        small = frame([f"m{i}_x" for i in range(n_panels)], days=365)
        assert _label_boxes_overlap(dashboard_figure(small, title="t")) == []
        assert _label_boxes_overlap(dashboard_figure(small)) == []
        # the same with the window note and a constant metric: a wrapped footnote on a narrow page
        small = small.rename(columns={"m0_x": "real_resolution_rate"})  # as many panels
        small["official_burnout_mean"] = 0.0
        fig = dashboard_figure(small, title="t")
        assert len(_footnote(fig).splitlines()) >= (3 if n_panels == 1 else 2)
        assert _label_boxes_overlap(fig) == []


def _footnote(fig) -> str:
    notes = [t.get_text() for t in fig.texts if t.get_text() and t is not fig._suptitle]
    return "\n".join(notes)


def test_every_known_metric_has_a_window() -> None:
    assert all(metric_window(name) for name in METRICS)
    assert metric_window("real_resolution_rate") == f"{WINDOW_DAYS}-day window"
    assert metric_window("cases_reported") == "per day"
    assert metric_window("backlog") == "end of day"
    assert metric_window("indicator_validity") == "last assessment period"
    assert metric_window("an_unknown_metric") == ""


def test_panel_titles_state_their_window_and_mixed_lines_say_theirs() -> None:
    ts = frame(["closure_rate", "backlog", "official_burnout_mean", "assist_burden", "extra_x"])
    fig = dashboard_figure(ts)
    heads = {ax.get_title() for ax in fig.axes if ax.axison}
    assert heads == {
        f"Responsiveness · {WINDOW_DAYS}-day window",
        "Backlog · end of day",
        f"Grassroots officials · {WINDOW_DAYS}-day window",  # a tie goes to the window
        "extra_x",  # a metric govsim.metrics does not define: no window claimed
    }
    labels = {line.get_label() for ax in fig.axes for line in ax.get_lines()}
    assert "official_burnout_mean (end of day)" in labels  # differs from its panel's window
    assert "assist_burden" in labels


def test_the_footnote_says_why_the_last_day_and_the_summary_differ() -> None:
    note = _footnote(dashboard_figure(frame(["real_resolution_rate"], days=365)))
    flat = " ".join(note.split())
    assert f"cases created before day {365 - SETTLE_DAYS}, as they stood on day 365" in flat
    assert "the last day and the summary differ" in flat
    short = " ".join(_footnote(dashboard_figure(frame(["closure_rate"], days=40))).split())
    assert "all cases, as they stood on day 40" in short
    # no rate over a window drawn, nothing to explain
    assert "summary" not in _footnote(dashboard_figure(frame(["backlog"], days=365)))


def test_constant_metrics_are_named_not_drawn_as_flat_lines() -> None:
    ts = frame(["closure_rate", "assist_burden"], days=100)
    ts["official_burnout_mean"] = 0.0
    ts["official_overload_share"] = 0.0
    ts["practice_extra_traces"] = 0.05
    ts.loc[3, "practice_extra_traces"] = np.nan  # missing days do not make a metric vary
    fig = dashboard_figure(ts)
    drawn = {line.get_label() for ax in fig.axes for line in ax.get_lines()}
    assert drawn == {"closure_rate", "assist_burden"}
    heads = [ax.get_title() for ax in fig.axes if ax.axison]
    assert not any(h.startswith("Units' practices") for h in heads)  # all constant: left out
    flat = " ".join(_footnote(fig).split())
    assert (
        "Constant at 0 in this run (not drawn): official_burnout_mean, official_overload_share."
        in flat
    )
    assert "Constant at 0.05 in this run (not drawn): practice_extra_traces." in flat
