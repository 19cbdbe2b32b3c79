"""The classroom demo page: two cities side by side, levers, live views and explanations.

Run it with ``govsim demo`` (see :mod:`govsim.viz.server`); Solara serves :func:`Page`, which it
renders once per browser session, so every session builds its own :class:`~govsim.viz.pair.CityPair`
and nothing is shared between students.

The page is built on Mesa's SolaraViz machinery: the demo's run controls
(:mod:`govsim.viz.controls`: RESET, play/pause also on the space bar, STEP of one day, a threaded
play loop that keeps its pace and ends at the end of the run) drive the pair, rebuilding it from
the page's flat parameters on RESET, and the live view of the open tab subscribes to Mesa's
``update_counter``, which the controls bump after each update. The layout is the demo's own
(SolaraViz's fixed layout has no room for two cities, a bilingual interface or presets that move
the sliders). A lesson (:mod:`govsim.viz.lessons`) sets both cities to its two scenarios and
fills the *Lesson* tab; projector mode enlarges text and charts; the Chinese page uses the
bundled CJK font (:data:`FONT_CSS`).

Every value a browser sends is checked on the server against the bounds of its control (a client
can send anything over the websocket, not only what the page's controls produce): an out-of-range
value, an unknown preset or a path is refused with a short note on the page and a line in the
server's log, and the control shows the server's value again. Presets are chosen by name only
(:func:`govsim.viz.levers.preset_catalogue`). Each session claims its simulated citizens from the
server's cap (:class:`govsim.viz.guard.CitizenLedger`).

An unexpected error shows a short message, never a traceback; the traceback goes to the server's
log. Errors in the page's main area are caught by :func:`Page`; anything that still reaches
Reacton's or Solara's own error display (errors in the sidebar, which Solara renders outside the
page's component tree) shows a short message too (:func:`hide_tracebacks`, applied when this
module is imported, that is in the demo's server).
"""

from __future__ import annotations

import html
import logging
import math
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import solara
import solara.lab
from mesa.visualization.utils import update_counter
from solara.components.echarts import EchartsWidget

from govsim.config import resolve_scenario
from govsim.metrics import METRICS
from govsim.viz import guard
from govsim.viz.charts import (
    CITY_COLOURS,
    FINISHED_STATES,
    PIPELINE_STATES,
    city_map_option,
    lesson_option,
    line_option,
    state_bars_option,
    styled,
)
from govsim.viz.controls import Hotkeys, RunControls
from govsim.viz.export import charts_png, data_csv
from govsim.viz.i18n import (
    COLOURINGS_TEXT,
    GROUPS,
    LANGUAGE_NAMES,
    LANGUAGES,
    PRESET_DESCRIPTIONS_ZH,
    Lang,
    choice_label,
    lever_explanation,
    lever_label,
    metric_explanation,
    metric_label,
    preset_label,
    ui,
)
from govsim.viz.lessons import LESSONS, LESSONS_BY_NAME, Lesson, checked_lesson
from govsim.viz.levers import (
    CITIZENS_RANGE,
    CLASSROOM_CITIZENS,
    LEVER_GROUPS,
    LEVERS,
    LEVERS_BY_NAME,
    Lever,
    coerce,
    in_range,
    lever_values,
    load_preset,
    preset_catalogue,
    resolve_preset,
    start_scenario,
)
from govsim.viz.pair import (
    CHART_GROUPS,
    CITY_COLOURINGS,
    HEADLINE,
    MAX_SEED,
    CityPair,
    checked_citizens,
)
from govsim.viz.server import CITIZENS_ENV, LANG_ENV

logger = logging.getLogger("govsim.demo")

PLAY_INTERVAL_MS = 50
"""Default pause between updates while playing: with one day per update, 20 days a second
(when drawing falls behind, :func:`govsim.viz.controls.play` steps the days due)."""
CHART_HEIGHT = "250px"
PROJECTOR_CHART_HEIGHT = "330px"
FONT_CSS = "/static/public/noto-sans-sc/noto-sans-sc.css"
"""The bundled CJK font's stylesheet (``govsim/public``, which Solara serves as
``/static/public`` for an app in ``govsim/viz``; written by ``scripts/bundle_cjk_font.py``)."""
PAGE_CSS = f"""
@import url("{FONT_CSS}");
.v-application, .v-application .body-1, .v-application .body-2, .v-application .text-h6,
.v-application .title, .v-application .headline, .v-application .subtitle-1,
.v-application .caption, .v-application .v-btn {{
  font-family: Roboto, "Noto Sans SC", "Noto Sans CJK SC", sans-serif !important;
}}
"""
"""Page style: the bundled CJK font after Roboto."""
PROJECTOR_CSS = """
html { font-size: 20px !important; }
.v-application { font-size: 1.15rem; }
.govsim-day { font-size: 1.6em !important; }
.govsim-headline { font-size: 1.1em !important; }
.v-navigation-drawer { width: 420px !important; }
"""
"""Projector mode: larger text everywhere (Vuetify sizes in rem), a wider sidebar."""
COUNT_METRICS = frozenset({"backlog", "cases_reported"})
"""Metrics that count cases (shown as whole numbers)."""
ERROR_MESSAGE: dict[str, str] = {
    "en": "Something went wrong on the server; the details are in its log. "
    "Press Continue to start again.",
    "zh": "服务器出错了，详细信息已记录在服务器日志中。请点击“继续”重新开始。",
}
"""What a page shows instead of a traceback."""
CONTINUE: dict[str, str] = {"en": "Continue", "zh": "继续"}
REFUSED: dict[str, str] = {"en": "Not accepted", "zh": "未接受"}
"""The start of the note on a value the server refused."""


PAGE_FAILED = (
    "Something went wrong on the server; the details are in its log. Reload the page to start "
    "again.\n服务器出错了，详细信息已记录在服务器日志中。请刷新页面重新开始。\n"
)
"""What replaces the page where Reacton or Solara would show a traceback."""


class ShortTracebacks:
    """Stands in for the :mod:`traceback` module where Reacton and Solara render an error.

    Both format the exception with ``traceback.format_exception`` and put the text into the page.
    Here the traceback goes to the server's log and the page gets :data:`PAGE_FAILED`; every
    other function of the module is the real one.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    @staticmethod
    def format_exception(*args: Any, **kwargs: Any) -> list[str]:
        """Log the formatted exception; the short message for the page."""
        logger.error("the demo failed:\n%s", "".join(traceback.format_exception(*args, **kwargs)))
        return [PAGE_FAILED]


def hide_tracebacks() -> None:
    """Make Reacton's and Solara's error display show :data:`PAGE_FAILED`, not a traceback."""
    import reacton.core

    reacton.core.traceback = ShortTracebacks()  # type: ignore[assignment]
    solara_app = sys.modules.get("solara.server.app")
    if solara_app is not None:
        solara_app.traceback = ShortTracebacks()  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- refusals
refused = solara.reactive(None)
"""The last value the server refused, as a note for the page (one per session under Solara's
server, which keeps a module-level reactive variable per session)."""


def refuse(message: str) -> None:
    """Report a refused value: a line in the server's log and the note on the page."""
    logger.warning("refused a value from a browser: %s", message)
    refused.set(message)


def use_redraw() -> tuple[int, Callable[[], None]]:
    """A control's revision and a function that draws it anew (a hook).

    A control keyed by its revision is rebuilt, with the server's value, when the revision
    changes: after a refused value, the browser would otherwise still show what it sent.
    """
    revision, set_revision = solara.use_state(0)
    return revision, lambda: set_revision(revision + 1)


def take(
    value: Any, on_value: Callable[[Any], None], redraw: Callable[[], None], label: str = ""
) -> None:
    """Hand a client's value to ``on_value``; if that refuses it (``ValueError``), say so.

    The refusal goes to :func:`refuse` (the page's note and the server's log), and ``redraw``
    (:func:`use_redraw`) shows the control with the server's value again.
    """
    try:
        on_value(value)
    except ValueError as exc:
        refuse(f"{label}: {exc}" if label else str(exc))
        redraw()


# ---------------------------------------------------------------------------- parameters
def start_preset() -> str:
    """The name of the preset the page starts from (``govsim demo``'s scenario, or baseline)."""
    start = start_scenario()
    return next((name for name, ref in preset_catalogue().items() if ref == start), start)


def start_language() -> Lang:
    """The starting language: ``$GOVSIM_DEMO_LANG`` if it is ``en`` or ``zh``, else English."""
    lang = os.environ.get(LANG_ENV, "en")
    return lang if lang in LANGUAGES else "en"  # type: ignore[return-value]


def start_citizens() -> int:
    """The starting classroom size: ``$GOVSIM_DEMO_CITIZENS`` (within the slider's range) or
    :data:`CLASSROOM_CITIZENS`."""
    text = os.environ.get(CITIZENS_ENV, "")
    low, high, _ = CITIZENS_RANGE
    return min(max(int(text), low), high) if text.isdigit() else CLASSROOM_CITIZENS


def preset_params(preset: str, citizens: int, seed: int | None = None) -> dict[str, Any]:
    """Flat :class:`CityPair` parameters for a preset with every lever at the preset's value."""
    base = load_preset(resolve_preset(preset))
    return {
        "preset": preset,
        "citizens": int(citizens),
        "seed": base.seed if seed is None else int(seed),
        "preset_b": None,
        "overrides_a": {},
        "overrides_b": {},
        **lever_values(base),
    }


def normalised(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters with each lever coerced to its type (to compare with ``CityPair.params``)."""
    out = dict(params)
    for name, lever in LEVERS_BY_NAME.items():
        if name in out:
            out[name] = coerce(lever, out[name])
    return out


def preset_description(preset: str, lang: Lang) -> str:
    """A preset's one-line description: the scenario's own, or its Chinese translation."""
    if lang == "zh" and preset in PRESET_DESCRIPTIONS_ZH:
        return PRESET_DESCRIPTIONS_ZH[preset]
    return load_preset(resolve_preset(preset)).description


def preset_choices() -> list[str]:
    """Presets offered, by name: the start-up scenario file first (if any), then the packaged."""
    return list(preset_catalogue())


def checked_preset(name: Any) -> str:
    """A preset name a client sent, if it is one of :func:`preset_choices`.

    Raises:
        ValueError: for anything else (a path, an unknown name), without echoing server paths.
    """
    if not isinstance(name, str) or name not in preset_catalogue():
        raise ValueError(f"preset: got {name!r:.60}, expected one of the presets in the list")
    return name


def slider_value(value: Any, low: float, high: float, step: float, *, integer: bool) -> float | int:
    """A slider's value from the browser, snapped to the step, within the slider's range.

    A slider may send 0.35000000000000003: values are rounded to the step's decimals.

    Raises:
        ValueError: for a value that is not a finite number within ``low``-``high``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"got {value!r:.60}, expected a number from {low:g} to {high:g}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"got {value!r:.60}, expected a number from {low:g} to {high:g}") from None
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError(f"got {value!r:.60}, expected a number from {low:g} to {high:g}")
    if integer:
        return round(number)
    decimals = max(0, -math.floor(math.log10(step))) + 2 if step < 1 else 0
    return round(number, decimals)


def format_value(lever: Lever, value: Any, lang: Lang) -> str:
    """A lever value as the page shows it."""
    if lever.kind == "switch":
        return ui("yes" if value else "no", lang)
    if lever.kind == "select":
        return choice_label(str(value), lang)
    if lever.kind == "int":
        return str(int(value))
    return f"{float(value):.3g}"


def format_metric(value: float | None, *, signed: bool = False, count: bool = False) -> str:
    """A metric value (or a difference, ``signed``) for the headline table."""
    if value is None:
        return "–"
    sign = "+" if signed else ""
    if signed and abs(value) < 5e-4:
        value = 0.0  # not "-0.000"
    if count or abs(value) >= 100:
        return f"{value:{sign},.0f}"
    return f"{value:{sign}.3f}"


# ---------------------------------------------------------------------------- components
@solara.component
def DayCounter(model: CityPair, lang: Lang, tick: int) -> None:
    """Today's day of both cities."""
    solara.Text(
        ui("day_of", lang).format(day=model.day, days=model.horizon),
        classes=["govsim-day"],
        style={"font-size": "1.1em", "font-weight": "bold"},
    )


@solara.component
def LanguageToggle(lang: solara.Reactive[Lang]) -> None:
    """Buttons to switch the interface language."""
    with solara.Row(gap="4px"):
        for code in LANGUAGES:
            solara.Button(
                LANGUAGE_NAMES[code],
                on_click=lambda code=code: lang.set(code),
                text=code != lang.value,
                outlined=code == lang.value,
                classes=[f"govsim-lang-{code}"],
            )


@solara.component
def LabelledSlider(
    label: str,
    value: float | int | solara.Reactive,
    on_value: Callable[[Any], None] | None,
    low: float,
    high: float,
    step: float,
    *,
    integer: bool = False,
    css_class: str = "",
) -> None:
    """A full-width slider under a line with its label and current value.

    ``value`` is a number with ``on_value`` called on change, or a reactive variable it sets.
    Values from the browser are checked against the slider's range and snapped to its step
    (:func:`slider_value`); a value outside, or one ``on_value`` refuses with ``ValueError``, is
    reported (:func:`refuse`) and the slider returns to its value.
    """
    reactive = value if isinstance(value, solara.Reactive) else None
    current = reactive.value if reactive is not None else value
    current = int(current) if integer else float(current)

    def apply(new: Any) -> None:
        new = slider_value(new, low, high, step, integer=integer)
        if reactive is not None:
            reactive.set(new)
        elif on_value is not None:
            on_value(new)

    revision, redraw = use_redraw()

    def changed(new: Any) -> None:
        take(new, apply, redraw, label)

    shown = f"{current:,}" if integer else f"{current:.3g}"
    solara.Text(f"{label}: {shown}", style={"font-size": "0.9em"}, classes=[f"{css_class}-label"])
    solara.v.Slider(
        v_model=current,
        on_v_model=changed,
        min=int(low) if integer else low,
        max=int(high) if integer else high,
        step=int(step) if integer else step,
        hide_details=True,
        dense=True,
        thumb_label=True,
        class_=css_class,
    ).key(f"{css_class}-{revision}")


@solara.component
def LeverControl(
    lever: Lever, value: Any, preset_value: Any, on_value: Callable[[Any], None], lang: Lang
) -> None:
    """One lever's control, marked where it differs from the preset.

    ``on_value`` refuses a value with ``ValueError`` (reported, and the control redrawn).
    """
    label = lever_label(lever.name, lang)
    changed = value != preset_value

    revision, redraw = use_redraw()

    def chosen(new: Any) -> None:
        take(new, on_value, redraw)

    if lever.kind == "select":
        solara.v.Select(
            label=label,
            items=[{"text": choice_label(c, lang), "value": c} for c in lever.choices],
            v_model=value,
            on_v_model=chosen,
            dense=True,
            hide_details=True,
            class_=f"govsim-lever-{lever.name}",
        ).key(f"{lever.name}-{revision}")
    elif lever.kind == "switch":
        solara.v.Switch(
            label=label,
            v_model=bool(value),
            on_v_model=chosen,
            class_=f"govsim-lever-{lever.name}",
        ).key(f"{lever.name}-{revision}")
    else:
        LabelledSlider(
            label,
            value,
            on_value,
            lever.low,
            lever.high,
            lever.step,
            integer=lever.kind == "int",
            css_class=f"govsim-lever-{lever.name}",
        )
    # Always one more element, empty when the lever equals city A's: a component's elements are
    # wrapped in a column only when there are several, so a mark that came and went would swap
    # the wrapper and rebuild the control under the pointer (a drag then ended after one step
    # and the keyboard lost the slider).
    solara.Text(
        f"↳ A: {format_value(lever, preset_value, lang)}   B: {format_value(lever, value, lang)}"
        if changed
        else "",
        style={"color": CITY_COLOURS["B"], "font-size": "0.85em"},
        classes=[f"govsim-lever-{lever.name}-mark"],
    )


@solara.component
def LeverPanel(
    params: solara.Reactive[dict[str, Any]],
    preset_levers: dict[str, Any],
    lang: Lang,
    base_levers: dict[str, Any] | None = None,
) -> None:
    """The levers of city B, grouped, with a button back to city B's scenario's values.

    ``preset_levers`` are city A's values (a changed lever is marked against them);
    ``base_levers`` city B's scenario's (default: city A's).
    """
    base_levers = preset_levers if base_levers is None else base_levers
    solara.Text(ui("levers_help", lang), style={"font-size": "0.85em"})

    def setter(name: str) -> Callable[[Any], None]:
        def set_value(value: Any) -> None:
            value = in_range(LEVERS_BY_NAME[name], value)  # ValueError: refused by the control
            params.set({**params.value, name: value})

        return set_value

    def back_to_preset() -> None:
        params.set({**params.value, **base_levers})

    for group in LEVER_GROUPS:
        solara.HTML(
            tag="div",
            unsafe_innerHTML=html.escape(GROUPS[group][lang]),
            style="font-weight: bold; margin-top: 12px;",
        )
        for lever in LEVERS:
            if lever.group == group:
                LeverControl(
                    lever,
                    params.value[lever.name],
                    preset_levers[lever.name],
                    setter(lever.name),
                    lang,
                )
    solara.Button(ui("back_to_preset", lang), on_click=back_to_preset, text=True, small=True)


@solara.component
def Headline(model: CityPair, lang: Lang, tick: int) -> None:
    """Today's headline metrics in both cities and their difference."""
    rows = []
    for m in HEADLINE:
        a, b = model.latest("A", m), model.latest("B", m)
        diff = None if a is None or b is None else b - a
        count = m in COUNT_METRICS
        rows.append(
            f"<tr><td>{html.escape(metric_label(m, lang))}</td>"
            f"<td style='text-align:right'>{format_metric(a, count=count)}</td>"
            f"<td style='text-align:right'>{format_metric(b, count=count)}</td>"
            f"<td style='text-align:right'>{format_metric(diff, signed=True, count=count)}</td></tr>"
        )
    head = (
        f"<tr><th style='text-align:left'>{html.escape(ui('metric', lang))}</th>"
        f"<th style='color:{CITY_COLOURS['A']}'>A</th><th style='color:{CITY_COLOURS['B']}'>B</th>"
        f"<th>{html.escape(ui('difference', lang))}</th></tr>"
    )
    solara.HTML(
        tag="table",
        unsafe_innerHTML=head + "".join(rows),
        classes=["govsim-headline"],
        style="border-collapse: collapse; font-size: 0.9em; min-width: 420px;",
    )


@solara.component
def Differences(model: CityPair, lang: Lang) -> None:
    """What city B changes relative to city A."""
    changed = [lv for lv in LEVERS if model.levers[lv.name] != model.preset_levers[lv.name]]
    other = model.preset_b is not None and model.preset_b != model.preset
    if other:
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"{html.escape(ui('city_b_runs', lang))} "
            f"<b>{html.escape(preset_label(model.preset_b, lang))}</b>",
            classes=["govsim-preset-b"],
        )
    if not changed:
        if not other:
            solara.Text(ui("same_as_a", lang), classes=["govsim-differences"])
        return
    items = "".join(
        f"<li>{html.escape(lever_label(lv.name, lang))}: "
        f"{html.escape(format_value(lv, model.preset_levers[lv.name], lang))} → "
        f"<b>{html.escape(format_value(lv, model.levers[lv.name], lang))}</b></li>"
        for lv in changed
    )
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f"{html.escape(ui('b_differs', lang))}<ul>{items}</ul>",
        classes=["govsim-differences"],
    )


class Option:
    """An ECharts option handed to :func:`Chart` in a box.

    Reacton walks every list and dict in a component's arguments on each render, which for a
    chart's data costs more than drawing it. In a box the option passes through untouched.
    """

    __slots__ = ("value",)

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value


projector_on = solara.reactive(False)
"""Projector mode (larger text and charts), one per session under Solara's server."""


@solara.component
def Chart(option: Option, css_class: str, height: str = CHART_HEIGHT) -> Any:
    """An ECharts figure whose option is set on the widget directly (see :class:`Option`).

    Its text uses the page's fonts (the bundled CJK font included) and, in projector mode,
    larger sizes (:func:`govsim.viz.charts.styled`).
    """
    big = projector_on.value
    if big and height == CHART_HEIGHT:
        height = PROJECTOR_CHART_HEIGHT
    element = EchartsWidget.element(
        option={},
        attributes={"style": f"height: {height};", "class": f"govsim-chart {css_class}"},
    )

    def push() -> None:
        solara.get_widget(element).option = styled(option.value, big)

    solara.use_effect(push, [option, big])
    return element


@solara.component
def ChartRow(model: CityPair, group: str, lang: Lang, tick: int) -> None:
    """One chart group: city A and city B side by side on one y scale."""
    Chart(Option(line_option(model, group, lang)), f"govsim-chart-{group}")


def metric_paragraphs(metrics: tuple[str, ...], lang: Lang) -> str:
    """HTML paragraphs explaining metrics, each with its formal definition."""
    return "".join(
        f"<p><b>{html.escape(metric_label(m, lang))}</b> — {html.escape(metric_explanation(m, lang))}"
        f"<br><small>{html.escape(ui('definition', lang))} (<code>{m}</code>): "
        f"{html.escape(METRICS[m])}</small></p>"
        for m in metrics
    )


@solara.component
def ChartExplanation(group: str, lang: Lang) -> None:
    """A collapsed explanation of one chart group's metrics."""
    solara.Details(
        summary=ui("explain_chart", lang),
        children=[
            solara.HTML(tag="div", unsafe_innerHTML=metric_paragraphs(CHART_GROUPS[group], lang))
        ],
    )


@solara.component
def CompareView(model: CityPair, lang: Lang) -> None:
    """The comparison tab: headline numbers, differences and the four chart groups.

    The tab's one live component: it alone subscribes to Mesa's update counter and hands the
    tick to its live children, so that an update is a single render pass (each subscriber costs
    a pass over the whole page).
    """
    tick = update_counter.get()
    DayCounter(model, lang, tick)
    with solara.Row(style={"align-items": "flex-start", "gap": "24px", "flex-wrap": "wrap"}):
        Headline(model, lang, tick)
        Differences(model, lang)
    for group in CHART_GROUPS:
        solara.HTML(
            tag="h4", unsafe_innerHTML=html.escape(GROUPS[group][lang]), style="margin: 10px 0 0"
        )
        ChartRow(model, group, lang, tick)
        ChartExplanation(group, lang)
    ExportButtons(model, HEADLINE, "compare", "govsim: city A and city B", lang, tick)


@solara.component
def CityMaps(model: CityPair, colouring: str, lang: Lang, tick: int) -> None:
    """Communities of both cities coloured on one shared scale."""
    Chart(Option(city_map_option(model, colouring, lang)), "govsim-map", "320px")


@solara.component
def CaseFlow(model: CityPair, lang: Lang, tick: int) -> None:
    """Cases per recorded platform state in both cities."""
    with solara.Columns([5, 3]):
        Chart(
            Option(state_bars_option(model, PIPELINE_STATES, ui("in_pipeline", lang), lang)),
            "govsim-flow-pipeline",
        )
        Chart(
            Option(state_bars_option(model, FINISHED_STATES, ui("finished", lang), lang)),
            "govsim-flow-finished",
        )


@solara.component
def CityView(model: CityPair, colouring: solara.Reactive[str], lang: Lang) -> None:
    """The city tab: maps of both cities and the case flow (its one live component)."""
    tick = update_counter.get()

    def set_colouring(value: Any) -> None:
        if not isinstance(value, str) or value not in CITY_COLOURINGS:
            raise ValueError(
                f"colouring: got {value!r:.60}, expected one of {', '.join(CITY_COLOURINGS)}"
            )
        colouring.set(value)

    revision, redraw = use_redraw()
    DayCounter(model, lang, tick)
    solara.v.Select(
        label=ui("colour_by", lang),
        items=[{"text": COLOURINGS_TEXT[c][lang], "value": c} for c in CITY_COLOURINGS],
        v_model=colouring.value,
        on_v_model=lambda value: take(value, set_colouring, redraw),
        dense=True,
        style_="max-width: 360px;",
        class_="govsim-colouring",
    ).key(f"colouring-{revision}")
    solara.Text(ui("city_help", lang), style={"font-size": "0.85em"})
    CityMaps(model, colouring.value, lang, tick)
    solara.HTML(tag="h4", unsafe_innerHTML=html.escape(ui("case_flow", lang)))
    CaseFlow(model, lang, tick)
    solara.HTML(
        tag="p", unsafe_innerHTML=html.escape(ui("states_help", lang)), style="font-size: 0.9em"
    )


@solara.component
def ExplainView(lang: Lang) -> None:
    """Every lever and metric explained in one paragraph."""
    parts = [
        f"<p>{html.escape(ui('about', lang))}</p>",
        f"<h3>{html.escape(ui('levers_title', lang))}</h3>",
    ]
    for group in LEVER_GROUPS:
        parts.append(f"<h4>{html.escape(GROUPS[group][lang])}</h4>")
        for lever in LEVERS:
            if lever.group == group:
                parts.append(
                    f"<p class='govsim-explain-lever'><b>{html.escape(lever_label(lever.name, lang))}</b>"
                    f" <small>(<code>{lever.path}</code>)</small> — "
                    f"{html.escape(lever_explanation(lever.name, lang))}</p>"
                )
    parts.append(f"<h3>{html.escape(ui('metrics_title', lang))}</h3>")
    shown = tuple(
        dict.fromkeys(
            [m for ms in CHART_GROUPS.values() for m in ms]
            + list(HEADLINE)
            + [m for ls in LESSONS for m in ls.metrics]
        )
    )
    parts.append(metric_paragraphs(shown, lang))
    parts.append(f"<h3>{html.escape(ui('case_flow', lang))}</h3>")
    parts.append(f"<p>{html.escape(ui('states_help', lang))}</p>")
    solara.HTML(
        tag="div",
        unsafe_innerHTML="".join(parts),
        classes=["govsim-explain"],
        style="max-width: 60em;",
    )


@solara.component
def Page() -> None:
    """The classroom demo: Solara renders it once per browser session, so each gets its cities.

    Any error below shows a short message instead of the page (never a traceback: that goes to
    the server's log), with a button that starts the session again.
    """
    error, clear = solara.use_exception()
    lang = start_language()

    def log_error() -> None:
        if error is not None:
            logger.error("the demo page failed", exc_info=error)

    solara.use_effect(log_error, [error])
    if error is not None:
        solara.Error(ERROR_MESSAGE[lang], classes=["govsim-error"])
        solara.Button(CONTINUE[lang], on_click=clear, classes=["govsim-continue"])
        return
    Session()


@solara.component
def Session() -> None:
    """One browser session: its cities, built once it has claimed their citizens from the cap."""
    start = solara.use_memo(lambda: preset_params(start_preset(), start_citizens()), [])
    full = solara.use_memo(lambda: guard.ledger().claim(guard.session_key(), start["citizens"]), [])
    params = solara.use_reactive(start)
    model = solara.use_reactive(solara.use_memo(lambda: None if full else CityPair(**start), []))
    if full:
        solara.Error(full, classes=["govsim-full"])
        return
    Demo(model, params, start_language())


def lesson_params(lesson: Lesson, citizens: int, seed: int | None = None) -> dict[str, Any]:
    """Flat :class:`CityPair` parameters for a lesson: its two cities, levers at city B's values."""
    base_b = load_preset(resolve_preset(lesson.b.preset))
    if lesson.b.overrides:
        base_b = resolve_scenario(base_b, lesson.b.overrides)
    base = load_preset(resolve_preset(lesson.a.preset))
    return {
        "preset": lesson.a.preset,
        "citizens": int(citizens),
        "seed": base.seed if seed is None else int(seed),
        "preset_b": lesson.b.preset,
        "overrides_a": dict(lesson.a.overrides),
        "overrides_b": dict(lesson.b.overrides),
        **lever_values(base_b),
    }


def preset_b_params(params: dict[str, Any], name: str | None) -> dict[str, Any]:
    """``params`` with city B set to the whole preset ``name`` (``None``: city A's preset).

    The levers move to city B's new scenario's values.
    """
    base = load_preset(resolve_preset(name if name is not None else params["preset"]))
    return {
        **params,
        "preset_b": name,
        "overrides_b": {},
        **lever_values(base),
    }


@solara.component
def SetupCard(
    params: solara.Reactive[dict[str, Any]],
    on_preset: Callable[[str], None],
    lang: Lang,
    held: int,
    lesson: str = "",
    on_lesson: Callable[[str], None] | None = None,
    on_preset_b: Callable[[str], None] | None = None,
) -> None:
    """Lesson, presets of both cities, classroom size and seed.

    A new classroom size first claims its citizens from the server's cap (refused when full);
    until RESET the pair of ``held`` citizens per city stays, so the claim covers the larger.
    """
    current = params.value["preset"]
    session = guard.session_key()

    def set_citizens(value: Any) -> None:
        citizens = checked_citizens(value)  # ValueError: refused by the slider
        full = guard.ledger().claim(session, max(citizens, held))
        if full:
            raise ValueError(full)
        params.set({**params.value, "citizens": citizens})

    def set_seed(value: Any) -> None:
        seed = value if isinstance(value, int) and not isinstance(value, bool) else 0
        params.set({**params.value, "seed": min(max(seed, 0), MAX_SEED)})

    revision, redraw = use_redraw()
    if on_lesson is not None:
        solara.v.Select(
            label=ui("lesson", lang),
            items=[{"text": ui("lesson_none", lang), "value": ""}]
            + [{"text": ls.title[lang], "value": ls.name} for ls in LESSONS],
            v_model=lesson,
            on_v_model=lambda name: take(name, on_lesson, redraw),
            dense=True,
            class_="govsim-lesson",
        ).key(f"lesson-{revision}")
        solara.Text(ui("lesson_help", lang), style={"font-size": "0.85em"})
    solara.v.Select(
        label=ui("preset", lang),
        items=[{"text": preset_label(p, lang), "value": p} for p in preset_choices()],
        v_model=current,
        on_v_model=lambda name: take(name, on_preset, redraw),
        dense=True,
        class_="govsim-preset",
    ).key(f"preset-{revision}")
    solara.Text(preset_description(current, lang), style={"font-size": "0.85em"})
    if on_preset_b is not None:
        solara.v.Select(
            label=ui("preset_b", lang),
            items=[{"text": ui("same_preset", lang), "value": ""}]
            + [{"text": preset_label(p, lang), "value": p} for p in preset_choices()],
            v_model=params.value.get("preset_b") or "",
            on_v_model=lambda name: take(name, on_preset_b, redraw),
            dense=True,
            class_="govsim-preset-b-choice",
        ).key(f"preset-b-{revision}")
    low, high, step = CITIZENS_RANGE
    LabelledSlider(
        ui("citizens", lang),
        int(params.value["citizens"]),
        set_citizens,
        low,
        high,
        step,
        integer=True,
        css_class="govsim-citizens",
    )
    solara.InputInt(
        ui("seed", lang),
        value=int(params.value["seed"]),
        on_value=set_seed,
        continuous_update=False,
        dense=True,
    )


@solara.component
def ExportButtons(
    model: CityPair, metrics: tuple[str, ...], name: str, title: str, lang: Lang, tick: int
) -> None:
    """Download buttons: the charts of ``metrics`` (PNG) and every recorded series (CSV).

    The files are built when a button is pressed, from the cities as they are then; the file
    names carry the day (redrawn every update: ``tick``).
    """
    stem = f"govsim_{name}_day{model.day}"
    with solara.Row(classes=["govsim-export"]):
        solara.FileDownload(
            lambda: charts_png(model, metrics, title),
            filename=f"{stem}.png",
            label=ui("download_png", lang),
            mime_type="image/png",
        )
        solara.FileDownload(
            lambda: data_csv(model),
            filename=f"{stem}.csv",
            label=ui("download_csv", lang),
            mime_type="text/csv",
        )


def lesson_text(lesson: Lesson, lang: Lang) -> str:
    """A lesson's text as HTML: what it is, things to notice and to try, the real cases."""

    def items(lines: tuple[str, ...]) -> str:
        return "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines) + "</ul>"

    return (
        f"<h3>{html.escape(lesson.title[lang])}</h3>"
        f"<p><b>{html.escape(ui('what_this_is', lang))}.</b> {html.escape(lesson.what[lang])}</p>"
        f"<b>{html.escape(ui('things_to_notice', lang))}</b>{items(lesson.notice[lang])}"
        f"<b>{html.escape(ui('things_to_try', lang))}</b>{items(lesson.try_[lang])}"
        f"<b>{html.escape(ui('real_cases', lang))}</b>{items(lesson.cases[lang])}"
        f"<small>{html.escape(ui('seed_paper', lang))}: {html.escape(lesson.seed)}</small>"
    )


@solara.component
def LessonCharts(model: CityPair, lesson: Lesson, lang: Lang, tick: int) -> None:
    """A lesson's metrics: A and B with bands, and B - A."""
    for metric in lesson.metrics:
        Chart(Option(lesson_option(model, metric, lang)), f"govsim-lesson-chart-{metric}")


@solara.component
def LessonView(model: CityPair, lesson: str, lang: Lang) -> None:
    """The lesson tab (its one live component): the lesson's story, its charts and exports."""
    tick = update_counter.get()
    if lesson not in LESSONS_BY_NAME:
        solara.Info(ui("no_lesson", lang), classes=["govsim-no-lesson"])
        return
    chosen = LESSONS_BY_NAME[lesson]
    with solara.Columns([2, 3]):
        with solara.Column():
            solara.HTML(
                tag="div",
                unsafe_innerHTML=lesson_text(chosen, lang),
                classes=["govsim-lesson-text"],
                style="max-width: 40em;",
            )
        with solara.Column():
            DayCounter(model, lang, tick)
            solara.Text(ui("bands_help", lang), style={"font-size": "0.85em"})
            LessonCharts(model, chosen, lang, tick)
            ExportButtons(model, chosen.metrics, chosen.name, chosen.title["en"], lang, tick)


@solara.component
def LeversCard(params: solara.Reactive[dict[str, Any]], pair: CityPair, lang: Lang) -> None:
    """City B's levers, with the note on changes that wait for RESET kept in view below them.

    This component (not the page) reads the parameters, so that moving a lever redraws only
    the sidebar's lever card, not the page. The note comes last and sticks to the bottom of the
    sidebar: appearing, it moves none of the levers (it once sat above them and shifted the
    sidebar under a drag).
    """
    with solara.Card(ui("levers", lang)):
        LeverPanel(params, pair.preset_levers, lang, pair.base_levers)
        if normalised(params.value) != pair.params:
            # last in the card and sticky: it stays in view and moves none of the levers
            solara.Warning(
                ui("pending", lang),
                dense=True,
                classes=["govsim-pending"],
                style={"position": "sticky", "bottom": "0", "z-index": "2"},
            )


@solara.component
def SidebarPanel(
    model: solara.Reactive[CityPair],
    params: solara.Reactive[dict[str, Any]],
    play_interval: solara.Reactive[int],
    render_interval: solara.Reactive[int],
    playing: solara.Reactive[bool],
    lesson: solara.Reactive[str],
    on_preset: Callable[[str], None],
    on_lesson: Callable[[str], None],
    on_preset_b: Callable[[str], None],
    lang: Lang,
) -> None:
    """The sidebar: run controls, setup (lesson, presets, size, seed) and city B's levers."""
    pair = model.value
    with solara.Card(ui("run", lang)):
        RunControls(model, params, play_interval, render_interval, playing, lang)
        LabelledSlider(
            ui("speed", lang),
            play_interval,
            None,
            0,
            500,
            10,
            integer=True,
            css_class="govsim-speed",
        )
        LabelledSlider(
            ui("days_per_update", lang),
            render_interval,
            None,
            1,
            30,
            1,
            integer=True,
            css_class="govsim-render-interval",
        )
        solara.Text(ui("run_help", lang), style={"font-size": "0.85em"})
        if refused.value:
            solara.Warning(
                f"{REFUSED[lang]}: {refused.value}", dense=True, classes=["govsim-refused"]
            )
    with solara.Card(ui("setup", lang)):
        SetupCard(params, on_preset, lang, pair.citizens, lesson.value, on_lesson, on_preset_b)
    LeversCard(params, pair, lang)


@solara.component
def Demo(
    model: solara.Reactive[CityPair], params: solara.Reactive[dict[str, Any]], start_lang: Lang
) -> None:
    """The demo around a given pair and its parameters (what Reset rebuilds the pair from).

    Args:
        model: The two cities; Reset, a preset and a lesson replace the value.
        params: Flat :class:`CityPair` parameters the levers edit (applied on Reset).
        start_lang: The starting language.
    """
    lang = solara.use_reactive(start_lang)
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
    render_interval = solara.use_reactive(1)
    playing = solara.use_reactive(False)
    lesson = solara.use_reactive("")
    colouring = solara.use_reactive(CITY_COLOURINGS[0])
    tab = solara.use_reactive(0)
    L = lang.value
    pair = model.value
    projector = projector_on.value

    solara.use_effect(lambda: refused.set(None), [])  # a new page starts without a note

    def restart(new: dict[str, Any]) -> None:
        playing.set(False)
        refused.set(None)
        params.set(new)
        model.set(CityPair(**new))

    def on_preset(name: Any) -> None:
        name = checked_preset(name)  # ValueError: refused by the control
        lesson.set("")
        restart(preset_params(name, params.value["citizens"], params.value["seed"]))

    def on_preset_b(name: Any) -> None:
        name = checked_preset(name) if name else None  # ValueError: refused by the control
        lesson.set("")
        restart(preset_b_params(params.value, name))

    def on_lesson(name: Any) -> None:
        if not name:
            lesson.set("")
            return
        chosen = checked_lesson(name)  # ValueError: refused by the control
        lesson.set(chosen.name)
        restart(lesson_params(chosen, params.value["citizens"]))
        tab.set(1)

    def play_pause(_: Any = None) -> None:
        if model.value.running:
            playing.set(not playing.value)

    solara.Title(ui("title", L))
    solara.AppBarTitle(ui("title", L))
    solara.Style(PAGE_CSS + (PROJECTOR_CSS if projector else ""))
    with solara.AppBar():
        solara.Switch(
            label=ui("projector", L),
            value=projector_on,
            classes=["govsim-projector"],
            style={"margin-right": "16px"},
        )
        LanguageToggle(lang)
    Hotkeys(cjk_text=CJK_TEXT if L == "zh" else "", event_play_pause=play_pause)
    with solara.Sidebar():
        SidebarPanel(
            model,
            params,
            play_interval,
            render_interval,
            playing,
            lesson,
            on_preset,
            on_lesson,
            on_preset_b,
            L,
        )
    with solara.lab.Tabs(value=tab, lazy=True):
        with solara.lab.Tab(ui("tab_compare", L)):
            CompareView(pair, L)
        with solara.lab.Tab(ui("tab_lesson", L)):
            LessonView(pair, lesson.value, L)
        with solara.lab.Tab(ui("tab_city", L)):
            CityView(pair, colouring, L)
        with solara.lab.Tab(ui("tab_explain", L)):
            ExplainView(L)


def _cjk_text() -> str:
    """Every CJK character of the interface and the lessons (for the browser's font loading)."""
    from govsim.viz import i18n, lessons

    text = repr(vars(i18n)) + repr(lessons.LESSONS)
    return "".join(sorted({c for c in text if ord(c) >= 0x2E80}))


CJK_TEXT = _cjk_text()
"""The characters the bundled CJK font is loaded for on a Chinese page."""


hide_tracebacks()

__all__ = ["Demo", "Page", "Session"]
