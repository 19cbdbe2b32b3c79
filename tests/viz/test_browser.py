"""End to end: ``govsim demo`` in a subprocess, driven in Debian's Chromium through Playwright.

One server, two browser sessions (two contexts, like two students): Step and Play advance the
cities and the charts change, the sessions do not share cities, the page works in Chinese, no
request leaves 127.0.0.1 (in the browser, and the server runs with outside connections refused
and reported), and Ctrl+C stops the server while a session plays. Screenshots and the measured
speed are written under the test's tmp directory (the speed is recorded, not asserted: it depends
on the machine).

Needs Chromium at ``$GOVSIM_CHROMIUM`` or ``/usr/bin/chromium`` (``apt-get install chromium``;
``.ci/run`` installs it). Playwright's own browser download is not used.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

CHROMIUM = os.environ.get("GOVSIM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
]
START_TIMEOUT_S = 120
GUARDED_CLI = """
import ipaddress, socket, sys

def local(address):
    host = address[0] if isinstance(address, tuple) else address
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost" or not isinstance(address, tuple)  # unix sockets are local

def guard(connect):
    def guarded(self, address):
        if not local(address):
            print("OUTBOUND CONNECTION", address, file=sys.stderr, flush=True)
            raise OSError("govsim test: no connections outside this machine")
        return connect(self, address)
    return guarded

socket.socket.connect = guard(socket.socket.connect)
socket.socket.connect_ex = guard(socket.socket.connect_ex)
from govsim.cli import main
sys.exit(main(sys.argv[1:]))
"""
"""``govsim`` with every socket connection outside 127.0.0.1 refused and reported on stderr."""
PLAY_DAYS = 15


@dataclass
class DemoServer:
    """A running ``govsim demo``: its address, process and log file."""

    url: str
    proc: subprocess.Popen
    log: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """Start ``govsim demo --port 0`` (classroom size) and yield it once it answers."""
    workdir = tmp_path_factory.mktemp("demo")
    log = (workdir / "server.log").open("w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-c", GUARDED_CLI, "demo", "--port", "0"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    lines: list[str] = []

    def read_stdout() -> None:
        for line in proc.stdout:
            lines.append(line)

    threading.Thread(target=read_stdout, daemon=True).start()
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # ignore *_proxy
    url = None
    deadline = time.monotonic() + START_TIMEOUT_S
    while url is None and time.monotonic() < deadline and proc.poll() is None:
        found = re.search(r"http://127\.0\.0\.1:\d+/", "".join(lines))
        url = found.group(0) if found else None
        time.sleep(0.2)
    try:
        log.flush()
        assert url, (
            f"govsim demo did not print its address (exit code {proc.poll()}): {lines}\n"
            + (workdir / "server.log").read_text(encoding="utf-8")[-3000:]
        )
        while time.monotonic() < deadline:  # the address is printed once the socket listens
            try:
                with direct.open(url, timeout=10) as response:
                    assert response.status == 200
                    break
            except OSError:
                time.sleep(0.5)
        yield DemoServer(url, proc, workdir / "server.log")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def day(page) -> int:
    text = page.locator(".govsim-day").inner_text()
    return int(re.search(r"\d+", text).group(0))


def wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def changed_screenshot(locator, before: bytes, timeout_s: float = 20) -> bytes:
    """A screenshot of ``locator`` once it differs from ``before`` (charts draw asynchronously)."""
    shot = before
    deadline = time.monotonic() + timeout_s
    while shot == before and time.monotonic() < deadline:
        time.sleep(0.3)
        shot = locator.screenshot()
    return shot


def test_demo_in_two_browser_sessions(demo: DemoServer, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium "
            "(apt-get install chromium; .ci/run does) or set GOVSIM_CHROMIUM"
        )
    from playwright.sync_api import expect, sync_playwright

    demo_url = demo.url
    origin = demo_url.rstrip("/")
    allowed = (origin, origin.replace("http://", "ws://"), "data:", "blob:")
    requests: list[str] = []
    failures: list[str] = []

    def watch(page) -> None:
        page.on("request", lambda r: requests.append(r.url))
        page.on("websocket", lambda ws: requests.append(ws.url))
        page.on("requestfailed", lambda r: failures.append(f"{r.url}: {r.failure}"))
        page.on(
            "response",
            lambda r: failures.append(f"{r.url}: {r.status}") if r.status >= 400 else None,
        )
        page.on("pageerror", lambda e: failures.append(f"page error: {e}"))

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            first = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            watch(first)
            first.goto(demo_url)
            step = first.get_by_role("button", name="Step")
            expect(step).to_be_enabled(timeout=START_TIMEOUT_S * 1000)
            expect(first.locator(".govsim-day")).to_have_text("Day 0 of 365")
            chart = first.locator(".govsim-chart-responsiveness")
            expect(chart.locator("canvas")).to_have_count(1, timeout=30_000)
            blank_chart = chart.screenshot()
            headline = first.locator(".govsim-headline")
            blank_headline = headline.inner_text()

            step.click()
            expect(first.locator(".govsim-day")).to_have_text("Day 1 of 365", timeout=30_000)
            wait_for(lambda: headline.inner_text() != blank_headline, 20, "the headline table")

            first.get_by_role("button", name="▶").click()
            started, day_started = time.monotonic(), day(first)
            wait_for(lambda: day(first) >= day_started + PLAY_DAYS, 300, f"{PLAY_DAYS} days")
            elapsed, days_played = time.monotonic() - started, day(first) - day_started
            first.get_by_role("button", name="❚❚").click()
            expect(first.get_by_role("button", name="▶")).to_be_visible(timeout=30_000)
            played_chart = changed_screenshot(chart, blank_chart)
            assert played_chart != blank_chart, "the chart did not change while playing"
            paused_at = day(first)
            (tmp_path / "speed.txt").write_text(
                f"{days_played / elapsed:.2f} simulated days/s while playing "
                f"({days_played} days in {elapsed:.1f} s, 3000 citizens per city, two cities)\n",
                encoding="utf-8",
            )
            first.screenshot(path=str(tmp_path / "demo_first_session.png"))

            # a second student: a fresh pair at day 0, and stepping it leaves the first alone
            second = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            watch(second)
            second.goto(demo_url)
            expect(second.get_by_role("button", name="Step")).to_be_enabled(
                timeout=START_TIMEOUT_S * 1000
            )
            expect(second.locator(".govsim-day")).to_have_text("Day 0 of 365")
            second.get_by_role("button", name="Step").click()
            expect(second.locator(".govsim-day")).to_have_text("Day 1 of 365", timeout=30_000)
            assert day(first) == paused_at

            # the second student switches to Chinese and opens the city view
            second.locator(".govsim-lang-zh").click()
            expect(second.get_by_role("tab", name="对比")).to_be_visible(timeout=30_000)
            second.get_by_role("tab", name="城市与案件流转").click()
            expect(second.locator(".govsim-map canvas")).to_have_count(1, timeout=30_000)
            expect(second.locator(".govsim-day")).to_have_text("第 1 天（共 365 天）")
            time.sleep(1)  # let the maps draw before the picture
            second.screenshot(path=str(tmp_path / "demo_second_session_zh.png"))

            # leave the second session playing: its play loop goes on in the server
            second.get_by_role("button", name="▶").click()
            wait_for(lambda: day(second) >= 3, 60, "the second session to play")
        finally:
            browser.close()

    print((tmp_path / "speed.txt").read_text(encoding="utf-8"), end="")
    print(f"screenshots in {tmp_path}")
    outside = sorted({u for u in requests if not u.startswith(allowed)})
    assert not outside, f"requests left 127.0.0.1: {outside}"
    assert any(u.startswith(origin.replace("http://", "ws://")) for u in requests)
    assert not failures, failures

    # Ctrl+C ends the server, although a session's play loop is still running in it
    demo.proc.send_signal(signal.SIGINT)
    assert demo.proc.wait(timeout=30) == 0
    log = demo.log.read_text(encoding="utf-8")
    assert "govsim demo: stopped" in log
    assert "Traceback" not in log and "Warning" not in log, log[-3000:]
    assert "OUTBOUND CONNECTION" not in log, log[-3000:]  # the server sent nothing out either
