"""The demo's run controls: RESET, play/pause (also the space bar) and STEP, in both languages.

Mesa's ``ModelController`` steps ``render_interval`` days on STEP, runs a play loop that asks the
model for days past its end, and labels its buttons in English only. These controls keep Mesa's
update signal (:data:`mesa.visualization.utils.update_counter`, which the live views read) and
its threaded play loop, and differ where a lecture needs it:

* STEP advances exactly one day;
* the play loop keeps a pace of ``days per update`` days every ``pause`` milliseconds and draws
  once per pass: when drawing takes longer than the pause, the next pass steps the days that are
  due (at most :data:`MAX_CATCH_UP` updates' worth), so the cities keep their pace and the
  charts are drawn less often than the model steps;
* the last pass stops at the end of the run (never past it) and the page says the run is over;
* an error in the loop stops it with a short message (the traceback goes to the server's log).

The space bar toggles play/pause through :func:`Hotkeys`, a small Vue component that listens on
the page (not while a text field, slider, switch or button has the keyboard).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara
import solara.lab
from mesa.visualization.utils import force_update

from govsim.viz.i18n import Lang, ui
from govsim.viz.pair import CityPair

logger = logging.getLogger("govsim.demo")

MAX_CATCH_UP = 8
"""At most this many updates' worth of days in one pass when drawing falls behind."""


def days_due(elapsed_s: float, done: int, per_update: int, pause_s: float) -> int:
    """Days the play loop steps in its next pass.

    The loop's pace is ``per_update`` days every ``pause_s`` seconds. A pass steps at least
    ``per_update`` days, and when drawing has fallen behind (``elapsed_s`` since the loop began,
    ``done`` days stepped so far) the days due at that pace, up to :data:`MAX_CATCH_UP` updates.
    With no pause the loop runs as fast as it draws, ``per_update`` days a pass.
    """
    if pause_s <= 0:
        return per_update
    owed = int(elapsed_s / pause_s * per_update) - done
    return max(per_update, min(owed, MAX_CATCH_UP * per_update))


def play(
    pair: CityPair,
    is_playing: Callable[[], bool],
    per_update: Callable[[], int],
    pause_ms: Callable[[], int],
    draw: Callable[[], None] = force_update,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Step ``pair`` at the chosen pace while ``is_playing()``, drawing once per pass.

    Ends at the end of the run (the pair's ``running`` turns false) or when ``is_playing()``
    turns false. ``per_update`` and ``pause_ms`` are read every pass (their sliders may move
    while playing; a change restarts the pace).
    """
    start, done, pace = clock(), 0, (per_update(), pause_ms())
    while is_playing() and pair.running:
        if (per_update(), pause_ms()) != pace:
            start, done, pace = clock(), 0, (per_update(), pause_ms())
        n, pause_s = pace[0], pace[1] / 1000
        due = days_due(clock() - start, done, n, pause_s)
        for _ in range(due):
            pair.step()
            if not pair.running:
                break
        done += due
        draw()
        if pause_s > 0:
            wait = start + done / n * pause_s - clock()
            if wait > 0:
                sleep(wait)


@solara.component_vue(str(Path(__file__).with_name("hotkeys.vue")))
def Hotkeys(cjk_text: str, event_play_pause: Callable[[Any], None]) -> None:
    """Space bar: play/pause; also asks the browser to load the CJK font for ``cjk_text``."""


@solara.component
def RunControls(
    model: solara.Reactive[CityPair],
    params: solara.Reactive[dict[str, Any]],
    play_interval: solara.Reactive[int],
    render_interval: solara.Reactive[int],
    playing: solara.Reactive[bool],
    lang: Lang,
) -> None:
    """RESET, play/pause and STEP, with the end-of-run and error messages.

    Args:
        model: The two cities; RESET replaces the value with a pair built from ``params``.
        params: Flat :class:`CityPair` parameters.
        play_interval: Pause between updates while playing (ms).
        render_interval: Days per update while playing.
        playing: Whether the play loop runs (the space bar sets it too).
        lang: Interface language.
    """
    failed = solara.use_reactive(False)
    _, set_revision = solara.use_state(0)
    pair = model.value
    ended = not pair.running

    def loop() -> None:
        if not playing.value:
            return
        try:
            play(
                pair,
                lambda: playing.value and model.value is pair,
                lambda: int(render_interval.value),
                lambda: int(play_interval.value),
            )
        except Exception:
            logger.exception("the play loop failed")
            failed.set(True)
        finally:
            if model.value is pair:
                playing.set(False)
                force_update()

    solara.lab.use_task(loop, dependencies=[playing.value, pair], prefer_threaded=True)

    def reset() -> None:
        playing.set(False)
        failed.set(False)
        model.set(CityPair(**params.value))
        force_update()

    def step() -> None:
        pair.step()
        force_update()
        if not pair.running:
            set_revision(pair.day)  # show the end-of-run message and disable the buttons

    with solara.Row(justify="space-between", classes=["govsim-run-controls"]):
        solara.Button(ui("reset", lang), color="primary", on_click=reset, classes=["govsim-reset"])
        solara.Button(
            "❚❚" if playing.value else "▶",
            color="primary",
            on_click=lambda: playing.set(not playing.value),
            disabled=ended or failed.value,
            classes=["govsim-play"],
            attributes={"title": ui("play_title", lang)},
        )
        solara.Button(
            ui("step", lang),
            color="primary",
            on_click=step,
            disabled=playing.value or ended or failed.value,
            classes=["govsim-step"],
        )
    if failed.value:
        solara.Error(ui("run_failed", lang), dense=True, classes=["govsim-run-failed"])
    elif ended:
        solara.Success(
            ui("run_over", lang).format(day=pair.day, days=pair.horizon),
            dense=True,
            classes=["govsim-run-over"],
        )
