"""Tests of the classroom additions (issue 20) without a browser: the play loop's pace and end,
STEP as one day, lessons (their cities, text and charts), bands, exports and the bundled font."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import ipyvuetify as v
import numpy as np
import pandas as pd
import pytest
import solara
from solara.components.echarts import EchartsWidget

from govsim.config import scenario_to_dict
from govsim.metrics import METRICS
from govsim.viz import app
from govsim.viz.charts import line_option
from govsim.viz.controls import MAX_CATCH_UP, days_due, play
from govsim.viz.export import charts_png, data_csv
from govsim.viz.i18n import preset_label
from govsim.viz.lessons import LESSONS, LESSONS_BY_NAME, checked_lesson
from govsim.viz.levers import classroom_presets
from govsim.viz.pair import BAND_DAYS, RECORDED, CityPair, _rolling_mean_sd

from .conftest import SMALL

FONT_DIR = Path(app.__file__).resolve().parents[1] / "public" / "noto-sans-sc"


def short_pair(tmp_path: Path, days: int) -> CityPair:
    scenario = tmp_path / "short.yaml"
    scenario.write_text(f"extends: baseline\nname: short\ndays: {days}\n", encoding="utf-8")
    return CityPair(preset=str(scenario), citizens=SMALL)


# ---------------------------------------------------------------------------- the play loop
def test_stepping_past_the_end_does_nothing(tmp_path: Path) -> None:
    pair = short_pair(tmp_path, 3)
    for _ in range(10):  # what 30 days per update asked of a year of 365 days
        pair.step()
    assert (pair.day, pair.a.day, pair.b.day) == (3, 3, 3)
    assert not pair.running


def test_days_due_keeps_the_pace_and_catches_up_within_a_bound() -> None:
    assert days_due(0.0, 0, 1, 0.05) == 1  # on time: one update's days
    assert days_due(0.31, 0, 1, 0.05) == 6  # drawing fell behind: the days due at the pace
    assert days_due(100.0, 0, 2, 0.05) == MAX_CATCH_UP * 2  # at most MAX_CATCH_UP updates
    assert days_due(100.0, 0, 3, 0.0) == 3  # no pause: as fast as it draws
    assert days_due(0.31, 10, 1, 0.05) == 1  # nothing owed


def test_play_runs_to_the_end_at_any_days_per_update(tmp_path: Path) -> None:
    pair = short_pair(tmp_path, 65)
    draws: list[int] = []
    clock = iter(np.arange(0, 1000, 0.01))
    play(
        pair,
        lambda: True,
        lambda: 30,
        lambda: 50,
        draw=lambda: draws.append(pair.day),
        clock=lambda: float(next(clock)),
        sleep=lambda s: None,
    )
    assert pair.day == 65 and not pair.running
    assert draws == [30, 60, 65]  # 65 is no multiple of 30: the last update ends at the end


def test_play_draws_less_often_than_it_steps_when_drawing_is_slow(tmp_path: Path) -> None:
    pair = short_pair(tmp_path, 40)
    now = [0.0]
    draws: list[int] = []

    def slow_draw() -> None:  # each drawing takes 0.2 s, the pace asks for a day every 0.05 s
        draws.append(pair.day)
        now[0] += 0.2

    play(pair, lambda: True, lambda: 1, lambda: 50, slow_draw, lambda: now[0], lambda s: None)
    assert pair.day == 40
    assert len(draws) < 20  # several days per drawing
    assert max(np.diff([0, *draws])) <= MAX_CATCH_UP


def test_play_stops_when_paused(tmp_path: Path) -> None:
    pair = short_pair(tmp_path, 50)
    draws: list[int] = []
    play(pair, lambda: len(draws) < 3, lambda: 2, lambda: 0, lambda: draws.append(pair.day))
    assert pair.day == 6 and pair.running


@pytest.fixture
def demo(renderer: str):
    params = solara.reactive(app.preset_params("baseline", SMALL))
    model = solara.reactive(CityPair(**params.value))
    _, rc = solara.render(
        solara.AppLayout(children=[app.Demo(model, params, "en")]), handle_error=False
    )
    yield model, params, rc
    rc.close()


def test_step_is_one_day_whatever_the_days_per_update(demo) -> None:
    model, _params, rc = demo
    rc.find(v.Slider, class_="govsim-render-interval").widget.v_model = 30
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert model.value.day == 1


def test_reset_and_step_are_translated(renderer: str) -> None:
    params = solara.reactive(app.preset_params("baseline", SMALL))
    model = solara.reactive(CityPair(**params.value))
    _, rc = solara.render(
        solara.AppLayout(children=[app.Demo(model, params, "zh")]), handle_error=False
    )
    rc.find(v.Btn, children=["重置"]).assert_single()
    rc.find(v.Btn, children=["单步"]).widget.click()
    assert model.value.day == 1
    rc.close()


def test_the_end_of_the_run_says_so_and_disables_play(renderer: str, tmp_path: Path) -> None:
    scenario = tmp_path / "short.yaml"
    scenario.write_text("extends: baseline\nname: short\ndays: 2\n", encoding="utf-8")
    params = solara.reactive(app.preset_params(str(scenario), SMALL))
    model = solara.reactive(CityPair(**params.value))
    _, rc = solara.render(
        solara.AppLayout(children=[app.Demo(model, params, "en")]), handle_error=False
    )
    rc.find(v.Alert, class_="govsim-run-over").assert_empty()
    for _ in range(2):
        rc.find(v.Btn, children=["Step"]).widget.click()
    note = rc.find(v.Alert, class_="govsim-run-over").widget.children[0]
    assert note.startswith("The run is over: day 2 of 2")
    assert rc.find(v.Btn, children=["▶"]).widget.disabled
    assert rc.find(v.Btn, children=["Step"]).widget.disabled
    rc.close()


def test_a_lever_keeps_its_control_when_it_comes_to_differ_from_city_a(demo) -> None:
    """The drag fix: the slider widget survives its lever's first change (no rebuild)."""
    _model, _params, rc = demo
    slider = rc.find(v.Slider, class_="govsim-lever-data_sharing").widget
    slider.v_model = 0.35
    assert rc.find(v.Slider, class_="govsim-lever-data_sharing").widget is slider
    mark = rc.find(v.Html, class_="govsim-lever-data_sharing-mark").widget
    assert mark.children == ["↳ A: 0.3   B: 0.35"]
    slider.v_model = 0.3
    assert rc.find(v.Slider, class_="govsim-lever-data_sharing").widget is slider


# ---------------------------------------------------------------------------- lessons
def test_every_lesson_is_two_packaged_scenarios_and_shows_defined_metrics() -> None:
    assert [ls.name for ls in LESSONS] == [
        "dispatch",
        "summoning",
        "indicators",
        "digital_divide",
        "budgeting",
    ]
    for lesson in LESSONS:
        assert {lesson.a.preset, lesson.b.preset} <= set(classroom_presets()), lesson.name
        assert set(lesson.metrics) <= set(METRICS), lesson.name
        for lang in ("en", "zh"):
            for part in (lesson.title, lesson.what):
                assert part[lang].strip(), (lesson.name, lang)
            for part in (lesson.notice, lesson.try_, lesson.cases):
                assert part[lang] and all(x.strip() for x in part[lang]), (lesson.name, lang)
        assert len(lesson.notice["en"]) == len(lesson.notice["zh"]), lesson.name
    with pytest.raises(ValueError, match="expected one of dispatch"):
        checked_lesson("../secret")


@pytest.mark.parametrize("lesson", [ls.name for ls in LESSONS])
def test_a_lesson_builds_its_two_cities(lesson: str) -> None:
    chosen = LESSONS_BY_NAME[lesson]
    # indicator validity needs 3 units with 5 cases in a period: more citizens than SMALL
    params = app.lesson_params(chosen, 1500 if lesson == "indicators" else SMALL)
    pair = CityPair(**params)
    assert app.normalised(params) == pair.params  # nothing pending after choosing it
    assert pair.changes == {}  # the levers sit at city B's scenario
    a, b = scenario_to_dict(pair.a.config), scenario_to_dict(pair.b.config)
    assert a["name"] == chosen.a.preset and b["name"] == chosen.b.preset
    assert a != b
    for dotted, value in chosen.a.overrides.items():
        section, key = dotted.split(".")
        assert a[section][key] == value
    for _ in range(35):  # past the first monthly assessment (indicator validity)
        pair.step()
    for metric in chosen.metrics:  # every charted metric has values to draw
        assert metric in RECORDED
        assert np.isfinite(pair.values("A", metric)).any(), metric
        assert np.isfinite(pair.values("B", metric)).any(), metric


def test_the_dispatch_lesson_shows_its_point_after_a_few_weeks() -> None:
    """Fragmented vs unified dispatch: hand-offs per case differ by far more than their bands."""
    pair = CityPair(**app.lesson_params(LESSONS_BY_NAME["dispatch"], SMALL))
    for _ in range(40):
        pair.step()
    _, mean, sd = pair.band("B-A", "handoffs_per_case")
    assert mean[-1] < -1.0 and mean[-1] + 2 * sd[-1] < 0  # tolerance: two bands' widths


def test_choosing_a_lesson_rebuilds_both_cities_and_opens_its_tab(demo) -> None:
    model, _params, rc = demo
    rc.find(v.Select, class_="govsim-lesson").widget.v_model = "indicators"
    pair = model.value
    assert (pair.a.config.name, pair.b.config.name) == ("speed_kpi", "balanced_kpi")
    assert rc.find(v.Tabs).widget.v_model == 1
    rc.find(v.Btn, children=["Step"]).widget.click()
    found = {
        c
        for w in rc.find(EchartsWidget).widgets
        for c in w.attributes["class"].split()
        if c.startswith("govsim-lesson-chart-")
    }
    assert found == {f"govsim-lesson-chart-{m}" for m in LESSONS_BY_NAME["indicators"].metrics}
    text = [
        w
        for w in rc.find(solara.widgets.HTML).widgets
        if "govsim-lesson-text" in w.attributes.get("class", "")
    ]
    assert "Things to notice" in text[0].unsafe_innerHTML
    rc.find(v.Alert, class_="govsim-pending").assert_empty()
    # a preset afterwards leaves the lesson: city B back to city A's scenario
    rc.find(v.Select, class_="govsim-preset").widget.v_model = "baseline"
    assert (
        model.value.preset_b is None
        and rc.find(v.Select, class_="govsim-lesson").widget.v_model == ""
    )


def test_city_b_can_run_another_whole_preset(demo) -> None:
    model, _params, rc = demo
    rc.find(v.Select, class_="govsim-preset-b-choice").widget.v_model = "online_only"
    pair = model.value
    assert pair.a.config.name == "baseline" and pair.b.config.name == "online_only"
    assert pair.changes == {}
    assert not pair.b.config.channels.offline and pair.a.config.channels.offline
    rc.find(v.Alert, class_="govsim-pending").assert_empty()


# ---------------------------------------------------------------------------- bands and exports
def test_bands_are_the_trailing_mean_and_sd_of_the_daily_values() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=100)
    x[[5, 40, 41]] = np.nan
    mean, sd = _rolling_mean_sd(x, BAND_DAYS)
    s = pd.Series(x).rolling(BAND_DAYS, min_periods=1)
    np.testing.assert_allclose(mean, s.mean(), atol=1e-12)
    np.testing.assert_allclose(sd, s.std(ddof=0), atol=1e-9)


def test_csv_holds_every_recorded_metric_of_both_cities_by_day() -> None:
    pair = CityPair(citizens=SMALL, data_sharing=0.9)
    for _ in range(3):
        pair.step()
    rows = list(csv.reader(io.StringIO(data_csv(pair).decode("utf-8"))))
    assert rows[0] == ["day", "city", *RECORDED]
    assert [r[:2] for r in rows[1:]] == [[str(d), c] for d in (1, 2, 3) for c in "AB"]
    k = rows[0].index("trust_mean")
    assert float(rows[-1][k]) == pytest.approx(pair.latest("B", "trust_mean"), rel=1e-5)


def test_png_draws_the_charts() -> None:
    pair = CityPair(citizens=SMALL)
    for _ in range(3):
        pair.step()
    png = charts_png(pair, ("closure_rate", "trust_mean"), "test")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


# ---------------------------------------------------------------------------- the CJK font
def test_the_bundled_font_covers_every_chinese_character_of_the_demo() -> None:
    """Run scripts/bundle_cjk_font.py when this fails (its docstring says how)."""
    css = (FONT_DIR / "noto-sans-sc.css").read_text(encoding="utf-8")
    ranges = []
    for files, spans in re.findall(r"url\(\./([^)]+)\).*?unicode-range: ([^;]+);", css, re.S):
        assert (FONT_DIR / files).is_file(), files
        for part in spans.split(","):
            lo, _, hi = part.strip()[2:].partition("-")
            ranges.append((int(lo, 16), int(hi or lo, 16)))
    text = "".join(p.read_text(encoding="utf-8") for p in FONT_DIR.parents[1].glob("viz/*.py"))
    chars = {c for c in text if ord(c) >= 0x2E80}
    assert len(chars) > 500
    missing = [c for c in chars if not any(a <= ord(c) <= b for a, b in ranges)]
    assert not missing, "".join(sorted(missing))
    assert "Open Font License" in (FONT_DIR / "LICENSE").read_text(encoding="utf-8")
    assert app.FONT_CSS.endswith("noto-sans-sc/noto-sans-sc.css")


def test_chart_titles_name_each_city_scenario_when_b_runs_another() -> None:
    pair = CityPair(**app.lesson_params(LESSONS_BY_NAME["dispatch"], SMALL))
    pair.step()
    titles = [t["text"] for t in line_option(pair, "trust", "en")["title"]]
    assert titles == [
        f"A: {preset_label('fragmented', 'en')}",
        f"B: {preset_label('one_network', 'en')}",
    ]
    plain = CityPair(citizens=SMALL)
    assert [t["text"] for t in line_option(plain, "trust", "en")["title"]] == [
        "City A: preset",
        "City B: your changes",
    ]


def test_projector_mode_enlarges_the_charts(demo) -> None:
    _model, _params, rc = demo
    rc.find(v.Btn, children=["Step"]).widget.click()
    chart = next(
        w for w in rc.find(EchartsWidget).widgets if "govsim-chart-trust" in w.attributes["class"]
    )
    assert (
        "250px" in chart.attributes["style"] and chart.option["textStyle"].get("fontSize") is None
    )
    assert "Noto Sans SC" in chart.option["textStyle"]["fontFamily"]
    app.projector_on.set(True)
    try:
        chart = next(
            w
            for w in rc.find(EchartsWidget).widgets
            if "govsim-chart-trust" in w.attributes["class"]
        )
        rc.find(v.Btn, children=["Step"]).widget.click()
        assert "330px" in chart.attributes["style"]
        assert chart.option["textStyle"]["fontSize"] == 16
    finally:
        app.projector_on.set(False)
