"""What a hostile or broken client can send to the demo page, and what it gets back.

A browser's widgets normally send only what their controls allow, but a client can put any value
into a websocket message: Solara sets it on the widget on the server, exactly as these tests do by
assigning ``widget.v_model`` on a page rendered headless. Each value must be refused on the server
(the page keeps its previous value and says so), and nothing a client receives may hold a
traceback or a path of the server. Pages are rendered with ``handle_error=True``, as the server
renders them (there, an unhandled error replaces the page with its traceback).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import ipyvuetify as v
import pytest
import solara
from ipywidgets.widgets.widget import _instances

from govsim.viz import app, guard
from govsim.viz.guard import CitizenLedger, DemoLimits
from govsim.viz.levers import LEVERS_BY_NAME, in_range, lever_overrides, load_preset
from govsim.viz.pair import CityPair
from govsim.viz.server import CITIZENS_ENV, SCENARIO_ENV

from .conftest import SMALL


@pytest.fixture
def page(renderer: str, monkeypatch: pytest.MonkeyPatch):
    """The whole page as the server renders it, with small cities; yields its render context."""
    monkeypatch.setenv(SCENARIO_ENV, "baseline")
    monkeypatch.setenv(CITIZENS_ENV, str(SMALL))
    monkeypatch.setattr(guard, "_ledger", CitizenLedger(DemoLimits()))
    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=True)
    yield rc
    rc.close()


def client_view() -> str:
    """Everything the live widgets would send to a browser (their state), as one text."""
    states = []
    for widget in list(_instances.values()):
        try:
            states.append(json.dumps(widget.get_state(), default=str, ensure_ascii=False))
        except Exception:  # a widget closed meanwhile
            continue
    return "\n".join(states)


def refused_note(rc) -> str:
    notes = rc.find(v.Alert, class_="govsim-refused").widgets
    assert len(notes) == 1, "no note that the value was refused"
    return notes[0].children[0]


def day_text(rc) -> str:
    return rc.find(v.Html, class_="govsim-day").widget.children[0]


def test_a_citizens_value_beyond_the_slider_is_refused(page) -> None:
    """The reported attack: 20,000,000 citizens through the slider, then a preset change."""
    for value in (20_000_000, 20_500, 0, -500, 1e308, math.nan, "1e9", True, None, [1]):
        page.find(v.Slider, class_="govsim-citizens").widget.v_model = value
        assert f"got {value!r:.60}, expected a number from 500 to 20000" in refused_note(page)
        assert page.find(v.Slider, class_="govsim-citizens").widget.v_model == SMALL  # redrawn
    page.find(v.Select, class_="govsim-preset").widget.v_model = "whistle"
    assert day_text(page) == "Day 0 of 365"
    assert page.find(v.Slider, class_="govsim-citizens").widget.v_model == SMALL
    page.find(v.Slider, class_="govsim-citizens").widget.v_model = 1000  # within the range
    assert page.find(v.Slider, class_="govsim-citizens").widget.v_model == 1000
    assert "Citizens per city: 1,000" in client_view()


@pytest.mark.parametrize(
    ("css_class", "value"),
    [
        ("govsim-lever-data_sharing", 5.0),
        ("govsim-lever-data_sharing", -0.1),
        ("govsim-lever-data_sharing", math.inf),
        ("govsim-lever-audit_rate", 0.5),
        ("govsim-lever-old_literacy", math.nan),
        ("govsim-lever-apps", 10**9),
        ("govsim-lever-apps", 0),
        ("govsim-lever-weight_traces", 3.5),
        ("govsim-lever-weight_traces", "lots"),
        ("govsim-speed", -5),
        ("govsim-speed", 10**7),
        ("govsim-render-interval", 10**9),
        ("govsim-render-interval", 0),
    ],
)
def test_slider_values_outside_their_control_are_refused(page, css_class, value) -> None:
    slider = page.find(v.Slider, class_=css_class).widget
    before = slider.v_model
    slider.v_model = value
    assert "expected a number from" in refused_note(page)
    assert page.find(v.Slider, class_=css_class).widget.v_model == before
    page.find(v.Btn, children=["Reset"]).widget.click()
    assert page.find(v.Alert, class_="govsim-pending").widgets == []  # nothing waits to apply


@pytest.mark.parametrize(
    ("widget", "css_class", "value"),
    [
        (v.Select, "govsim-lever-dispatch_mode", "central"),
        (v.Select, "govsim-lever-dispatch_mode", {"x": 1}),
        (v.Switch, "govsim-lever-summoning", "yes"),
        (v.Switch, "govsim-lever-summoning", 1),
        (v.Select, "govsim-colouring", "income"),
    ],
)
def test_choices_outside_their_control_are_refused(page, widget, css_class, value) -> None:
    if css_class == "govsim-colouring":
        page.find(v.Tabs).widget.v_model = 2  # the city tab
    before = page.find(widget, class_=css_class).widget.v_model
    page.find(widget, class_=css_class).widget.v_model = value
    assert "expected" in refused_note(page)
    assert page.find(widget, class_=css_class).widget.v_model == before
    assert page.find(v.Alert, class_="govsim-pending").widgets == []


def test_a_preset_must_be_a_name_from_the_list(page, tmp_path: Path) -> None:
    """A path (even of a valid scenario) or an unknown name loads nothing and leaks nothing."""
    secret = tmp_path / "secret_city.yaml"
    secret.write_text("extends: baseline\nname: secret\nseed: 99\n", encoding="utf-8")
    page.find(v.Btn, children=["Step"]).widget.click()
    for value in (str(secret), "/etc/passwd", "../../etc/passwd", "nonexistent", 42, None):
        page.find(v.Select, class_="govsim-preset").widget.v_model = value
        assert f"got {value!r:.60}, expected one of the presets" in refused_note(page)
        assert page.find(v.Select, class_="govsim-preset").widget.v_model == "baseline"
        assert day_text(page) == "Day 1 of 365"  # the cities were not rebuilt
    view = client_view()
    assert "Traceback" not in view and "seed: 99" not in view
    assert "root:" not in view  # nothing of /etc/passwd
    page.find(v.Select, class_="govsim-preset").widget.v_model = "whistle"  # a name works
    assert day_text(page) == "Day 0 of 365"
    assert "Not accepted" not in client_view()  # and clears the note


def test_an_error_in_the_page_shows_a_short_message_and_can_go_on(
    page, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An error in the page's main area: a short message, the log gets the rest, Continue."""

    def broken(*args, **kwargs):
        raise RuntimeError("failed reading /srv/govsim/private/config.yaml")

    monkeypatch.setattr(app, "line_option", broken)
    with caplog.at_level("ERROR", logger="govsim.demo"):
        page.find(v.Btn, children=["Step"]).widget.click()  # the charts fail to draw
    view = client_view()
    assert "Traceback" not in view and "/srv/govsim" not in view and "RuntimeError" not in view
    page.find(v.Alert, class_="govsim-error").assert_single()
    assert "the details are in its log" in view
    assert "/srv/govsim/private/config.yaml" in caplog.text  # the details, for the teacher
    assert any(r.exc_info for r in caplog.records)
    monkeypatch.undo()
    page.find(v.Btn, children=["Continue"]).widget.click()  # a fresh session
    assert day_text(page) == "Day 0 of 365"


def test_an_error_anywhere_else_shows_no_traceback_either(
    page, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The sidebar lies outside the page's components: Reacton's own error display takes over,
    and it shows the short message, not the traceback it would show by default."""

    def broken(**kwargs):
        raise RuntimeError("failed reading /srv/govsim/private/config.yaml")

    monkeypatch.setattr(app, "CityPair", broken)
    with caplog.at_level("ERROR", logger="govsim.demo"):
        page.find(v.Select, class_="govsim-preset").widget.v_model = "whistle"
    view = client_view()
    assert "Traceback" not in view and "/srv/govsim" not in view and "RuntimeError" not in view
    assert "Reload the page to start again" in view
    assert "/srv/govsim/private/config.yaml" in caplog.text
    assert "Traceback" in caplog.text


def test_the_server_citizen_cap_refuses_a_newcomer_and_a_bigger_city(
    renderer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCENARIO_ENV, "baseline")
    monkeypatch.setenv(CITIZENS_ENV, str(SMALL))
    ledger = CitizenLedger(DemoLimits(max_sessions=10, max_citizens=5 * SMALL))
    monkeypatch.setattr(guard, "_ledger", ledger)
    monkeypatch.setattr(guard, "free_disconnected_sessions", lambda: 0)
    assert ledger.claim("another tab", 2 * SMALL) is None  # 4 x SMALL held
    built: list[int] = []
    real = app.CityPair

    def counting(**kwargs):
        built.append(kwargs["citizens"])
        return real(**kwargs)

    monkeypatch.setattr(app, "CityPair", counting)
    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=True)
    full = rc.find(v.Alert, class_="govsim-full").widget.children[0]
    assert full.startswith("The demo server is full:") and "limit of 2,500" in full
    assert "the other tabs hold 2,000" in full
    assert built == []  # the refused session built no city
    rc.close()
    ledger.release("another tab")
    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=True)
    assert built == [SMALL] and ledger.total == 2 * SMALL
    rc.find(v.Slider, class_="govsim-citizens").widget.v_model = 3 * SMALL  # 6 x SMALL > 5
    assert "The demo server is full: two cities of 1,500 citizens" in refused_note(rc)
    assert rc.find(v.Slider, class_="govsim-citizens").widget.v_model == SMALL
    rc.find(v.Slider, class_="govsim-citizens").widget.v_model = 2 * SMALL  # 4 x SMALL fits
    assert ledger.total == 4 * SMALL
    rc.close()


# ---------------------------------------------------------------------------- the model's own checks
def test_city_pair_refuses_what_the_controls_cannot_send() -> None:
    """The last line: a pair is never built from values outside the controls."""
    with pytest.raises(ValueError, match=r"citizens: got 20000000, expected 500-20000 per city"):
        CityPair(citizens=20_000_000)
    with pytest.raises(ValueError, match="citizens: got True"):
        CityPair(citizens=True)
    with pytest.raises(ValueError, match=r"seed: got -1, expected a whole number 0-"):
        CityPair(citizens=SMALL, seed=-1)
    with pytest.raises(ValueError, match=r"data_sharing .*got 5.0, expected a value from 0 to 1"):
        CityPair(citizens=SMALL, data_sharing=5.0)
    with pytest.raises(ValueError, match=r"apps .*got 1000, expected a value from 1 to 6"):
        CityPair(citizens=SMALL, apps=1000)


def test_levers_refuse_non_finite_values_and_booleans_as_numbers() -> None:
    lever = LEVERS_BY_NAME["data_sharing"]
    for value in (math.nan, math.inf, "nan", True):
        with pytest.raises(ValueError, match=r"expected a (finite )?number"):
            in_range(lever, value)
    with pytest.raises(ValueError, match="expected a value from 0 to 1"):
        in_range(lever, 1.5)
    assert in_range(lever, "0.25") == 0.25
    base = load_preset("baseline")
    with pytest.raises(ValueError, match=r"expected a value from 0 to 0\.2"):
        lever_overrides(base, {"audit_rate": 0.9})
