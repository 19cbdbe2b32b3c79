"""Component tests of the demo page, rendered headless with Solara (no browser).

Each test runs under Reacton's classic renderer and under the fast one ``govsim demo`` enables
(the ``renderer`` fixture), with small cities.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipyvuetify as v
import pytest
import solara
from solara.components.echarts import EchartsWidget

from govsim.viz import app
from govsim.viz.i18n import LEVERS_TEXT, METRICS_TEXT
from govsim.viz.levers import LEVERS, classroom_presets
from govsim.viz.pair import CHART_GROUPS, CityPair
from govsim.viz.server import CITIZENS_ENV, SCENARIO_ENV

from .conftest import SMALL


@pytest.fixture
def demo(renderer: str):
    """Render the demo around a small baseline pair; yields (model, params, render context)."""
    params = solara.reactive(app.preset_params("baseline", SMALL))
    model = solara.reactive(CityPair(**params.value))
    _, rc = solara.render(
        solara.AppLayout(children=[app.Demo(model, params, "en")]), handle_error=False
    )
    yield model, params, rc
    rc.close()


def button(rc, label: str) -> v.Btn:
    return rc.find(v.Btn, children=[label]).widget


def day_text(rc) -> str:
    return rc.find(v.Html, class_="govsim-day").widget.children[0]


def html_widget(rc, css_class: str) -> solara.widgets.HTML:
    """The one solara.HTML element with a CSS class."""
    found = [
        w
        for w in rc.find(solara.widgets.HTML).widgets
        if css_class in (w.attributes or {}).get("class", "").split()
    ]
    assert len(found) == 1, f"{len(found)} HTML elements with class {css_class}"
    return found[0]


def charts(rc, prefix: str) -> dict[str, EchartsWidget]:
    """ECharts widgets whose CSS class starts with ``prefix``, by that class."""
    out = {}
    for w in rc.find(EchartsWidget).widgets:
        classes = w.attributes["class"].split()
        for c in classes:
            if c.startswith(prefix):
                out[c] = w
    return out


def test_controls_exist(demo) -> None:
    _model, _params, rc = demo
    for label in ("Reset", "Step", "▶"):
        button(rc, label)
    presets = rc.find(v.Select, class_="govsim-preset").widget
    assert [item["value"] for item in presets.items] == classroom_presets()
    for lever in LEVERS:
        widget = {"select": v.Select, "switch": v.Switch}.get(lever.kind, v.Slider)
        rc.find(widget, class_=f"govsim-lever-{lever.name}").assert_single()
    assert day_text(rc) == "Day 0 of 365"
    assert set(charts(rc, "govsim-chart-")) == {f"govsim-chart-{g}" for g in CHART_GROUPS}


def test_step_advances_both_cities_and_the_charts(demo) -> None:
    model, _params, rc = demo
    step = button(rc, "Step")
    step.click()
    assert (model.value.day, model.value.a.day, model.value.b.day) == (1, 1, 1)
    assert day_text(rc) == "Day 1 of 365"
    for _ in range(4):
        step.click()
    assert model.value.day == 5
    assert day_text(rc) == "Day 5 of 365"
    for name, widget in charts(rc, "govsim-chart-").items():
        metrics = CHART_GROUPS[name.removeprefix("govsim-chart-")]
        assert len(widget.option["series"]) == 2 * len(metrics)
        for dataset in widget.option["dataset"]:
            assert dataset["source"]["day"] == [1, 2, 3, 4, 5]
            assert all(len(dataset["source"][m]) == 5 for m in metrics), name
    headline = html_widget(rc, "govsim-headline").unsafe_innerHTML
    trust = model.value.latest("A", "trust_mean")
    assert f"<td>Trust in government</td><td style='text-align:right'>{trust:.3f}</td>" in headline


def test_preset_loads_its_scenario(demo) -> None:
    model, params, rc = demo
    button(rc, "Step").click()
    rc.find(v.Select, class_="govsim-preset").widget.v_model = "one_network"
    pair = model.value
    assert pair.day == 0
    assert pair.a.config.name == "one_network" and pair.b.config.name == "one_network"
    assert pair.a.config.dispatch.mode == "unified"
    assert pair.a.config.dispatch.data_sharing == 0.8
    assert pair.a.config.population.citizens == SMALL
    assert pair.changes == {}
    assert params.value["preset"] == "one_network"
    assert rc.find(v.Select, class_="govsim-lever-dispatch_mode").widget.v_model == "unified"
    assert rc.find(v.Slider, class_="govsim-lever-data_sharing").widget.v_model == 0.8
    assert rc.find(v.Switch, class_="govsim-lever-first_receiver").widget.v_model is True
    assert day_text(rc) == "Day 0 of 365"
    rc.find(v.Alert).assert_empty()  # nothing pending: the pair is the preset


def test_lever_change_waits_for_reset_then_changes_city_b_only(demo) -> None:
    model, params, rc = demo
    before = model.value
    rc.find(v.Slider, class_="govsim-lever-data_sharing").widget.v_model = 0.9
    rc.find(v.Switch, class_="govsim-lever-summoning").widget.v_model = True
    assert model.value is before  # applied only on Reset
    assert params.value["data_sharing"] == 0.9 and params.value["summoning"] is True
    assert "RESET" in rc.find(v.Alert, class_="govsim-pending").widget.children[0]
    button(rc, "Reset").click()
    pair = model.value
    assert pair is not before
    assert pair.changes == {"dispatch.data_sharing": 0.9, "dispatch.summoning": True}
    assert pair.a.config.dispatch.data_sharing == 0.3 and not pair.a.config.dispatch.summoning
    assert pair.b.config.dispatch.data_sharing == 0.9 and pair.b.config.dispatch.summoning
    rc.find(v.Alert).assert_empty()
    differences = html_widget(rc, "govsim-differences").unsafe_innerHTML
    assert "<li>Data sharing across departments: 0.3 → <b>0.9</b></li>" in differences
    assert "<li>Summoning (吹哨报到): off → <b>on</b></li>" in differences
    # back to the preset: the levers return, and applying them makes B identical to A again
    button(rc, "Back to the preset").click()
    assert params.value["data_sharing"] == 0.3 and params.value["summoning"] is False
    button(rc, "Reset").click()
    assert model.value.changes == {}


def test_chinese_page(renderer: str) -> None:
    params = solara.reactive(app.preset_params("inclusive", SMALL))
    model = solara.reactive(CityPair(**params.value))
    _, rc = solara.render(
        solara.AppLayout(children=[app.Demo(model, params, "zh")]), handle_error=False
    )
    for tab in ("对比", "城市与案件流转", "说明"):
        rc.find(v.Tab, children=[tab]).assert_single()
    assert day_text(rc) == "第 0 天（共 365 天）"
    assert rc.find(v.Select, class_="govsim-preset").widget.items[0]["text"] == "基准情景"
    rc.find(
        v.Html, children=["保留线下渠道，网格员和党员志愿者帮办代办，开展数字素养培训"]
    ).assert_single()
    rc.find(v.Switch, label="帮办代办").assert_single()
    rc.close()


def test_language_toggle_sets_the_language(renderer: str) -> None:
    """The toggle sits in the app bar, which headless rendering leaves out: test it alone."""
    lang = solara.reactive("en")
    _, rc = solara.render(app.LanguageToggle(lang), handle_error=False)
    rc.find(v.Btn, children=["中文"]).widget.click()
    assert lang.value == "zh"
    rc.find(v.Btn, children=["English"]).widget.click()
    assert lang.value == "en"
    rc.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_explanations_tab_explains_every_lever_and_metric(renderer: str, lang: str) -> None:
    params = solara.reactive(app.preset_params("baseline", SMALL))
    model = solara.reactive(CityPair(**params.value))
    _, rc = solara.render(
        solara.AppLayout(children=[app.Demo(model, params, lang)]), handle_error=False
    )
    tabs = rc.find(v.Tabs).widget
    tabs.v_model = 3  # Compare, Lesson, City, Explanations
    text = html_widget(rc, "govsim-explain").unsafe_innerHTML
    for name, texts in LEVERS_TEXT.items():
        assert html.escape(texts[lang][1]) in text, name
    for name, texts in METRICS_TEXT.items():
        assert html.escape(texts[lang][1]) in text, name
    rc.close()


def test_city_tab_maps_communities_and_counts_states(demo) -> None:
    model, _params, rc = demo
    for _ in range(3):
        button(rc, "Step").click()
    rc.find(v.Tabs).widget.v_model = 2  # the city tab
    (the_map,) = charts(rc, "govsim-map").values()
    n = model.value.a.city.n_communities
    for series, city in zip(the_map.option["series"], "AB", strict=True):
        data = series["data"]
        assert len(data) == n
        assert sum(d[2] for d in data) == model.value.cities[city].community_open_cases().sum()
    flow = charts(rc, "govsim-flow-")
    finished = flow["govsim-flow-finished"].option["series"][0]["data"]
    counts = model.value.state_counts("A")
    assert finished == [counts["closed"], counts["verified"], counts["withdrawn"]]
    rc.find(v.Select, class_="govsim-colouring").widget.v_model = "trust"
    (the_map,) = charts(rc, "govsim-map").values()
    values = [d[2] for d in the_map.option["series"][0]["data"]]
    assert all(0.0 <= x <= 1.0 for x in values)
    assert the_map.option["visualMap"]["text"][1].startswith("mean trust of residents")


def test_preset_after_a_finished_run_can_be_played(
    renderer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scenario file ``govsim demo`` started from is a preset, named by its file name only."""
    short = tmp_path / "short.yaml"
    short.write_text("extends: baseline\nname: short\ndays: 2\n", encoding="utf-8")
    monkeypatch.setenv(SCENARIO_ENV, str(short))
    assert app.start_preset() == "short.yaml"
    params = solara.reactive(app.preset_params("short.yaml", SMALL))
    model = solara.reactive(CityPair(**params.value))
    assert model.value.a.config.days == 2
    _, rc = solara.render(
        solara.AppLayout(children=[app.Demo(model, params, "en")]), handle_error=False
    )
    presets = rc.find(v.Select, class_="govsim-preset").widget
    assert presets.items[0] == {"text": "short.yaml", "value": "short.yaml"}  # no server path
    assert str(tmp_path) not in repr(presets.items)
    button(rc, "Step").click()
    button(rc, "Step").click()
    assert not model.value.running and button(rc, "Step").disabled
    presets.v_model = "whistle"
    assert model.value.a.config.dispatch.summoning
    assert not button(rc, "Step").disabled
    button(rc, "Step").click()
    assert model.value.day == 1
    rc.close()


def test_each_page_builds_its_own_cities(renderer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SCENARIO_ENV, "baseline")
    monkeypatch.setenv(CITIZENS_ENV, str(SMALL))
    _, rc1 = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    _, rc2 = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    for _ in range(3):
        button(rc1, "Step").click()
    assert day_text(rc1) == "Day 3 of 365"
    assert day_text(rc2) == "Day 0 of 365"
    button(rc2, "Step").click()
    assert (day_text(rc1), day_text(rc2)) == ("Day 3 of 365", "Day 1 of 365")
    rc1.close()
    rc2.close()
