"""End to end: ``govsim demo --room`` with the lecturer and two students in three browser contexts.

The lecturer opens a room from the link printed in the terminal; two students join with its code
and each takes a unit; the second student's attempts to act for the first one's unit (taking the
unit, or opening its seat with a guessed rejoin code) are refused; both submit and the round is
played, which every screen follows; a student who reloads finds their seat again. Needs Chromium
as :mod:`tests.viz.test_browser` does.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.viz.test_browser import CHROMIUM, CHROMIUM_ARGS, GUARDED_CLI, START_TIMEOUT_S

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


@dataclass
class RoomServerProcess:
    """A running ``govsim demo --room``: the students' address, the lecturer's link, its log."""

    url: str
    lecturer_url: str
    proc: subprocess.Popen
    log: Path


@pytest.fixture(scope="module")
def room_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoomServerProcess]:
    """Start ``govsim demo --room --port 0`` (small cities) and yield it once it prints its links."""
    workdir = tmp_path_factory.mktemp("room")
    log = (workdir / "server.log").open("w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-c", GUARDED_CLI, "demo", "--room", "--port", "0", "--citizens", "3000"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    found = None
    while found is None and time.monotonic() < deadline and proc.poll() is None:
        found = re.search(r"(http://127\.0\.0\.1:\d+/)\?lecturer=([\w-]+)", "".join(lines))
        time.sleep(0.2)
    try:
        log.flush()
        assert found, f"no lecturer's link printed (exit {proc.poll()}): {lines}"
        yield RoomServerProcess(found.group(1), found.group(0), proc, workdir / "server.log")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def choose(page, select_class: str, option: str) -> None:
    """Pick ``option`` in a Vuetify select."""
    page.locator(f".{select_class}").click()
    page.locator(".v-menu__content .v-list-item", has_text=option).first.click()


def test_a_round_played_by_the_lecturer_and_two_students(
    room_server: RoomServerProcess, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import expect, sync_playwright

    wait = START_TIMEOUT_S * 1000
    failures: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pages = []
            for _ in range(3):
                page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                page.on("pageerror", lambda e: failures.append(f"page error: {e}"))
                pages.append(page)
            lecturer, ann, bo = pages

            # the lecturer opens a room; a wrong key is not the lecturer's page
            lecturer.goto(room_server.url + "?lecturer=guessed")
            expect(lecturer.locator(".govsim-room-not-lecturer")).to_be_visible(timeout=wait)
            lecturer.goto(room_server.lecturer_url)
            lecturer.locator(".govsim-room-open").click(timeout=wait)
            code_box = lecturer.locator(".govsim-room-code")
            expect(code_box).to_have_text(re.compile(r"^[2-9A-HJKMNP-Z]{8}$"), timeout=30_000)
            code = code_box.inner_text().strip()

            def join(page, name: str) -> None:
                page.locator(".govsim-room-code-input input").fill(code.lower())
                page.locator(".govsim-room-name input").fill(name)
                page.locator(".govsim-room-find").click()
                expect(page.locator(".govsim-room-take")).to_be_visible(timeout=30_000)

            ann.goto(room_server.url)
            expect(ann.locator(".govsim-room-find")).to_be_visible(timeout=wait)
            join(ann, "Ann")
            ann.locator(".govsim-room-take").click()  # the first free unit: community-0
            expect(ann.locator(".govsim-room-submit")).to_be_visible(timeout=30_000)
            expect(ann.get_by_text("community-0", exact=False).first).to_be_visible()
            assert "seat=" in ann.url

            # Bo cannot act for Ann's unit: not by a guessed seat link, not by taking it
            bo.goto(f"{room_server.url}?room={code}&seat=guessed-token")
            expect(bo.locator(".govsim-room-refused")).to_contain_text(
                "unknown rejoin code", timeout=wait
            )
            join(bo, "Bo")
            choose(bo, "govsim-room-unit", "community-0")
            bo.locator(".govsim-room-take").click()
            expect(
                bo.locator(".govsim-room-refused", has_text="held by another student")
            ).to_be_visible(timeout=30_000)
            choose(bo, "govsim-room-unit", "community-1 ")
            bo.locator(".govsim-room-take").click()
            expect(bo.locator(".govsim-room-submit")).to_be_visible(timeout=30_000)

            # Ann submits; the lecturer waits for Bo; Bo submits and the round is played
            ann.locator(".govsim-room-submit").click()
            expect(ann.locator(".govsim-room-submitted")).to_be_visible(timeout=30_000)
            expect(lecturer.locator(".govsim-room-waiting")).to_have_text(
                re.compile(r"Waiting for: Bo$"), timeout=30_000
            )
            bo.locator(".govsim-room-submit").click()
            for page in (ann, bo, lecturer):
                expect(page.locator(".govsim-room-round")).to_contain_text(
                    "Round 2 of 12", timeout=60_000
                )
            expect(ann.locator(".govsim-room-assessment")).to_contain_text("Rank among")
            ranking = lecturer.locator(".govsim-room-ranking")
            expect(ranking).to_contain_text("Ann")
            expect(ranking).to_contain_text("Bo")
            expect(lecturer.locator(".govsim-room-city")).to_be_visible()
            lecturer.screenshot(path=str(tmp_path / "room_lecturer.png"), full_page=True)
            ann.screenshot(path=str(tmp_path / "room_student.png"), full_page=True)

            # Ann drops and comes back: her seat, in round 2, open for a decision
            ann.reload()
            expect(ann.locator(".govsim-room-round")).to_contain_text("Round 2 of 12", timeout=wait)
            expect(ann.locator(".govsim-room-submit")).to_be_enabled()

            # in Chinese the room's pages draw with the demo's bundled CJK font
            ann.locator(".govsim-room-lang").click()
            expect(ann.locator(".govsim-room-round")).to_contain_text("第", timeout=30_000)
            ann.wait_for_function(
                """() => [...document.fonts].some(f =>
                    f.family.replace(/["']/g, '') === 'Noto Sans SC' && f.status === 'loaded')""",
                timeout=30_000,
            )
        finally:
            browser.close()
    print(f"screenshots in {tmp_path}")
    assert not failures, failures
    log = room_server.log.read_text(encoding="utf-8")
    assert "Traceback" not in log and "OUTBOUND CONNECTION" not in log, log[-3000:]
