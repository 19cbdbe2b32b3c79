"""End to end, in Debian's Chromium: what a lecture needs of the demo (issue 20).

A lever slider follows a mouse drag and keeps the keyboard across arrow keys; STEP moves one day
and a year played at 30 days per update runs to its end with a message (365 is no multiple of
30); the space bar plays and pauses; Chinese renders with the bundled font (the test machine
has no CJK font of its own, or the font check below says which font drew it); every lesson
loads with its charts; the download buttons hand out a PNG and a CSV.

One ``govsim demo`` server for the module (its own, apart from ``test_browser.py``'s, which
that test stops), one browser; each test opens a fresh page (a fresh session). The speed while
playing is written to the test's tmp directory and printed, not asserted.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from govsim.viz.lessons import LESSONS

from .test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    START_TIMEOUT_S,
    DemoServer,
    day,
    demo,  # noqa: F401  (the module's own server: a module-scoped fixture)
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

TOFU = "\U0010fffd"
"""A private-use code point no font has: what a missing glyph draws."""


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Chromium through Playwright (Debian's, as in ``test_browser.py``)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium "
            "(apt-get install chromium; .ci/run does) or set GOVSIM_CHROMIUM"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, demo: DemoServer) -> Iterator:  # noqa: F811
    """A fresh session of the demo, loaded, with its page errors collected."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(demo.url)
    expect(page.get_by_role("button", name="Step")).to_be_enabled(timeout=START_TIMEOUT_S * 1000)
    # loaded means drawn: a chart removed while its script still loads (leaving the Compare tab
    # at once) reports "Initialize failed: invalid dom" (Solara's ECharts, harmless but an error)
    for group in ("responsiveness", "suspension", "equity", "trust"):
        expect(page.locator(f".govsim-chart-{group} canvas")).to_have_count(1, timeout=60_000)
    yield page
    context.close()
    assert not errors, errors


def label_value(page, css_class: str) -> float:
    """The number after the colon of a slider's label."""
    text = page.locator(f".{css_class}-label").inner_text()
    return float(text.rsplit(":", 1)[1].replace(",", ""))


def choose(page, select_class: str, text: str) -> None:
    """Pick the item with ``text`` from a Vuetify select."""
    page.locator(f".{select_class}").click()
    page.locator(".menuable__content__active .v-list-item", has_text=text).first.click()


def test_a_lever_slider_follows_a_drag_and_keeps_the_keyboard(page) -> None:
    lever = page.locator(".govsim-lever-data_sharing")
    lever.scroll_into_view_if_needed()
    assert label_value(page, "govsim-lever-data_sharing") == 0.3
    track = lever.locator(".v-slider").bounding_box()
    thumb = lever.locator(".v-slider__thumb-container").bounding_box()
    y = thumb["y"] + thumb["height"] / 2
    x0, x1 = thumb["x"] + thumb["width"] / 2, track["x"] + 0.8 * track["width"]
    page.mouse.move(x0, y)
    page.mouse.down()
    for i in range(1, 21):  # a hand's drag: many small moves, each sent to the server
        page.mouse.move(x0 + (x1 - x0) * i / 20, y)
        time.sleep(0.03)
    page.mouse.up()
    wait_for(lambda: label_value(page, "govsim-lever-data_sharing") == 0.8, 20, "the drag's value")
    # the keyboard: each arrow key moves one step and the slider keeps the focus
    lever.locator("[role=slider]").focus()
    for expected in (0.75, 0.7, 0.65):
        page.keyboard.press("ArrowLeft")
        wait_for(
            lambda expected=expected: label_value(page, "govsim-lever-data_sharing") == expected,
            20,
            f"data sharing {expected}",
        )
        assert page.evaluate("document.activeElement.getAttribute('role')") == "slider"
    assert page.locator(".govsim-pending").is_visible()  # the note: changes wait for RESET


def test_step_is_one_day_and_a_year_at_30_days_per_update_runs_to_its_end(
    page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    per_update = page.locator(".govsim-render-interval [role=slider]")
    per_update.focus()
    page.keyboard.press("End")
    wait_for(lambda: label_value(page, "govsim-render-interval") == 30, 20, "30 days per update")
    page.get_by_role("button", name="Step").click()
    expect(page.locator(".govsim-day")).to_have_text("Day 1 of 365", timeout=30_000)
    # the space bar plays (focus off the controls), and pauses
    page.locator(".govsim-headline").click()
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="❚❚")).to_be_visible(timeout=30_000)
    wait_for(lambda: day(page) > 1, 60, "the cities to play")
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="▶")).to_be_visible(timeout=30_000)
    paused = day(page)
    assert paused < 365
    started = time.monotonic()
    page.get_by_role("button", name="▶").click()
    expect(page.locator(".govsim-run-over")).to_be_visible(timeout=300_000)
    elapsed = time.monotonic() - started
    expect(page.locator(".govsim-day")).to_have_text("Day 365 of 365")
    assert "run is over: day 365 of 365" in page.locator(".govsim-run-over").inner_text()
    assert page.locator(".govsim-run-failed").count() == 0
    expect(page.get_by_role("button", name="▶")).to_be_disabled()
    expect(page.get_by_role("button", name="Step")).to_be_disabled()
    speed = f"{(365 - paused) / elapsed:.1f} days/s at 30 days per update (3000 citizens)\n"
    (tmp_path / "speed.txt").write_text(speed, encoding="utf-8")
    print(speed, end="")
    # RESET starts again at day 0
    page.locator(".govsim-reset").click()
    expect(page.locator(".govsim-day")).to_have_text("Day 0 of 365", timeout=30_000)
    expect(page.get_by_role("button", name="Step")).to_be_enabled()


def test_chinese_renders_with_the_bundled_font(page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.locator(".govsim-lang-zh").click()
    expect(page.get_by_role("button", name="单步")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="重置")).to_be_visible()
    page.evaluate("document.fonts.ready")
    time.sleep(1)
    widths = page.evaluate(
        """([tofu]) => {
        const span = (text) => {
            const s = document.createElement('span');
            s.textContent = text;
            s.style.cssText = 'position: absolute; white-space: nowrap; font-size: 20px;';
            s.style.fontFamily = getComputedStyle(document.querySelector('.govsim-step')).fontFamily;
            document.body.appendChild(s);
            const w = s.getBoundingClientRect().width;
            s.remove();
            return w;
        };
        return {chinese: span('城市治理'), tofu: span(tofu.repeat(4)),
                bundled: [...document.fonts].filter(
                    f => f.family.replace(/["']/g, '') === 'Noto Sans SC' && f.status === 'loaded'
                ).length};
    }""",
        [TOFU],
    )
    page.screenshot(path=str(tmp_path / "zh.png"))
    # a CJK glyph is a full em wide (4 x 20 px); a missing glyph draws something else
    assert abs(widths["chinese"] - 80) < 4, widths
    assert abs(widths["chinese"] - widths["tofu"]) > 8, widths
    assert widths["bundled"] >= 1, widths  # the page's own font drew it


@pytest.mark.parametrize("lesson", [ls.name for ls in LESSONS])
def test_each_lesson_loads_with_its_charts(page, lesson: str) -> None:
    from playwright.sync_api import expect

    chosen = next(ls for ls in LESSONS if ls.name == lesson)
    choose(page, "govsim-lesson", chosen.title["en"])
    text = page.locator(".govsim-lesson-text")
    expect(text).to_contain_text(chosen.title["en"], timeout=60_000)
    expect(text).to_contain_text("Things to notice")
    for metric in chosen.metrics:
        expect(page.locator(f".govsim-lesson-chart-{metric} canvas")).to_have_count(
            1, timeout=30_000
        )
    page.get_by_role("button", name="Step").click()
    expect(page.locator(".govsim-day").first).to_contain_text("Day 1 of", timeout=30_000)


def test_download_buttons_hand_out_a_png_and_a_csv(page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    choose(page, "govsim-lesson", LESSONS[0].title["en"])
    expect(page.locator(".govsim-lesson-text")).to_be_visible(timeout=60_000)
    for _ in range(3):
        page.get_by_role("button", name="Step").click()
        time.sleep(0.3)
    expect(page.locator(".govsim-day").first).to_contain_text("Day 3 of", timeout=30_000)
    files = {}
    for label in ("Download charts (PNG)", "Download data (CSV)"):
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name=label).click()
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        files[path.suffix] = path
    assert files[".png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert re.fullmatch(r"govsim_dispatch_day3\.png", files[".png"].name)
    rows = list(csv.DictReader(io.StringIO(files[".csv"].read_text(encoding="utf-8"))))
    assert [(r["day"], r["city"]) for r in rows] == [
        (str(d), c) for d in (1, 2, 3) for c in ("A", "B")
    ]
    assert rows[0]["handoffs_per_case"] != rows[1]["handoffs_per_case"]  # fragmented vs unified
