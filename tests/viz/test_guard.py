"""Tests of the demo's guard: Host and Origin checks, the caps, hostile websocket messages, the
--host warning.

The HTTP and websocket tests run a real ``govsim demo`` on 127.0.0.1 (a subprocess, as a teacher
starts it) and talk to it with :mod:`http.client`, which lets a test set any ``Host`` and
``Origin`` header, as an attacker's page or a DNS-rebinding name would. A websocket upgrade is
sent by hand: the server answers 101 (switching protocols) or refuses with 403 or 503. One test
speaks Solara's widget protocol over the websocket by hand, as the reported attack did.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from govsim.viz import guard, server
from govsim.viz.guard import CitizenLedger, DemoLimits, SiteGuard

START_TIMEOUT_S = 120


@dataclass
class Demo:
    """A running ``govsim demo``: its port, process and log."""

    port: int
    proc: subprocess.Popen
    log: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """``govsim demo --port 0 --max-sessions 1``, once it answers."""
    workdir = tmp_path_factory.mktemp("guard")
    log_path = workdir / "server.log"
    log = log_path.open("w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "govsim.cli", "demo", "--port", "0", "--max-sessions", "1"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    port = None
    deadline = time.monotonic() + START_TIMEOUT_S
    while port is None and time.monotonic() < deadline and proc.poll() is None:
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", "".join(lines))
        port = int(found.group(1)) if found else None
        time.sleep(0.2)
    try:
        log.flush()
        assert port, f"govsim demo did not start: {lines}\n{log_path.read_text()[-3000:]}"
        while time.monotonic() < deadline:
            try:
                request(port, "GET", "/readyz")
                break
            except OSError:
                time.sleep(0.3)
        yield Demo(port, proc, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def request(
    port: int, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, str, http.client.HTTPConnection]:
    """Send a request with exactly these headers (``Host`` included); status, body, connection."""
    headers = {"Host": f"127.0.0.1:{port}", **(headers or {})}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    body = "" if response.status == 101 else response.read().decode("utf-8", "replace")
    return response.status, body, conn


def upgrade(
    port: int, kernel_id: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str, http.client.HTTPConnection]:
    """A websocket upgrade to a session's channel, as Solara's page opens it."""
    key = base64.b64encode(os.urandom(16)).decode()
    path = f"/jupyter/api/kernels/{kernel_id or uuid.uuid4()}/channels?session_id={uuid.uuid4()}"
    return request(
        port,
        "GET",
        path,
        {
            "Origin": f"http://127.0.0.1:{port}",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": key,
            **(headers or {}),
        },
    )


def test_the_page_answers_its_own_address(demo: Demo) -> None:
    for host in (f"127.0.0.1:{demo.port}", f"localhost:{demo.port}"):
        status, body, _ = request(demo.port, "GET", "/", {"Host": host})
        assert status == 200 and "solara" in body.lower(), host


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "attacker.example:{port}"},  # DNS rebinding: a name the attacker controls
        {"Host": "127.0.0.1:1"},  # another port
        {"Host": ""},
        {"Origin": "http://evil.example"},  # another site's page
        {"Origin": "http://evil.example:{port}"},
        {"Origin": "null"},  # a sandboxed frame or a file
        {"Origin": "http://localhost:{port}"},  # not the address this request names
    ],
    ids=["rebinding-host", "other-port", "empty-host", "origin", "origin-port", "null", "mixed"],
)
def test_a_foreign_host_or_origin_is_refused_over_http_and_websocket(
    demo: Demo, headers: dict[str, str]
) -> None:
    headers = {k: v.format(port=demo.port) for k, v in headers.items()}
    status, body, _ = request(demo.port, "GET", "/", headers)
    assert status == 403 and "Forbidden" in body
    status, body, conn = upgrade(demo.port, headers=headers)
    conn.close()
    assert status == 403, body
    status, _, _ = request(demo.port, "GET", "/resourcez", headers)  # Solara's debug page too
    assert status == 403


def test_sessions_are_capped_and_a_closed_tab_makes_room(demo: Demo) -> None:
    """--max-sessions 1: a second tab is told the demo is full until the first tab has gone."""
    first = str(uuid.uuid4())
    status, _, conn = upgrade(demo.port, first)
    assert status == 101
    try:
        status, body, second = upgrade(demo.port)
        second.close()
        assert status == 503 and "The demo is full: 1 browser tabs are open" in body
        status, body, _ = request(demo.port, "GET", "/")  # a newcomer's page says so too
        assert status == 503 and "--max-sessions" in body
        status, _, again = upgrade(demo.port, first)  # the same tab reconnecting is let in
        again.close()
        assert status == 101
    finally:
        conn.close()
    # the first tab has gone: its session waits for it (Solara culls it after 15 minutes),
    # but a newcomer who finds the demo full frees it at once
    deadline = time.monotonic() + 30
    while True:
        status, body, conn = upgrade(demo.port)
        conn.close()
        if status == 101 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status == 101, body
    log = demo.log.read_text(encoding="utf-8")
    assert "freed session" in log and "refused a new session" in log


class WidgetClient:
    """A page's side of Solara's websocket, spoken by hand as a hostile client would.

    It starts the app as Solara's page does (a ``solara.control`` comm, method ``run``), keeps
    the state of every widget the server opens, and sends widget updates of its own choosing.
    """

    def __init__(self, port: int) -> None:
        from websockets.sync.client import connect

        self.session = str(uuid.uuid4())
        self.widgets: dict[str, dict] = {}
        self.received: list[str] = []
        url = f"ws://127.0.0.1:{port}/jupyter/api/kernels/{uuid.uuid4()}/channels?session_id=p"
        deadline = time.monotonic() + 30
        while True:  # a session of an earlier test may still be closing (--max-sessions 1)
            try:
                self.ws = connect(
                    url,
                    additional_headers={"Origin": f"http://127.0.0.1:{port}"},
                    proxy=None,
                    max_size=2**26,
                    open_timeout=30,
                ).__enter__()  # closed by close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        control = str(uuid.uuid4())
        self.send("comm_open", {"comm_id": control, "target_name": "solara.control", "data": {}})
        run = {"method": "run", "args": {"path": "", "appName": None}}
        self.send("comm_msg", {"comm_id": control, "data": run})
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.find("govsim-preset") and time.monotonic() < deadline:
            self.pump(1)

    def close(self) -> None:
        self.ws.__exit__(None, None, None)

    def send(self, msg_type: str, content: dict) -> None:
        header = {
            "msg_id": str(uuid.uuid4()),
            "msg_type": msg_type,
            "session": self.session,
            "username": "",
            "date": "2026-01-01T00:00:00",
            "version": "5.3",
        }
        message = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
        self.ws.send(json.dumps({**message, "channel": "shell", "buffers": []}))

    def pump(self, seconds: float) -> None:
        """Read what the server sends for ``seconds``."""
        from solara.server.kernel import deserialize_binary_message

        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                raw = self.ws.recv(timeout=left)
            except TimeoutError:
                return
            msg = json.loads(raw) if isinstance(raw, str) else deserialize_binary_message(raw)
            content = msg["content"]
            self.received.append(json.dumps(content, default=str, ensure_ascii=False))
            data = content.get("data", {})
            if msg["header"]["msg_type"] == "comm_open" and "state" in data:
                self.widgets[content["comm_id"]] = data["state"]
            elif msg["header"]["msg_type"] == "comm_msg" and data.get("method") == "update":
                self.widgets.setdefault(content["comm_id"], {}).update(data["state"])

    def find(self, css_class: str) -> list[str]:
        return [k for k, state in self.widgets.items() if state.get("class_") == css_class]

    def update(self, css_class: str, value: object) -> str:
        """Set ``v_model`` of the newest widget with ``css_class``; what the server answers."""
        before = len(self.received)
        comm_id = self.find(css_class)[-1]
        state = {"method": "update", "state": {"v_model": value}, "buffer_paths": []}
        self.send("comm_msg", {"comm_id": comm_id, "data": state})
        self.pump(5)
        return "\n".join(self.received[before:])


def test_values_sent_over_the_websocket_are_refused_without_a_traceback(demo: Demo) -> None:
    """The reported attack, over the real websocket: 20,000,000 citizens, then a preset change;
    a server path as the preset. Both are refused, and the answers hold no traceback."""
    client = WidgetClient(demo.port)
    try:
        answer = client.update("govsim-citizens", 20_000_000)
        assert "got 20000000, expected a number from 500 to 20000" in answer
        answer += client.update("govsim-preset", "whistle")
        answer += client.update("govsim-preset", "/etc/passwd")
        assert "got '/etc/passwd', expected one of the presets in the list" in answer
        answer += client.update("govsim-lever-data_sharing", 1e9)
        assert "got 1000000000.0, expected a number from 0 to 1" in answer
        everything = "\n".join(client.received)
        assert "Traceback" not in everything and "root:" not in everything
        assert str(Path(__file__).resolve().parents[2]) not in everything  # no server path
        assert [client.widgets[k]["v_model"] for k in client.find("govsim-citizens")][-1] == 3000
    finally:
        client.close()


# ---------------------------------------------------------------------------- without a server
def test_the_guard_refuses_what_does_not_name_the_served_address() -> None:
    site = SiteGuard(lambda *a: None, hosts=guard.allowed_hosts("127.0.0.1"), port=8765)  # type: ignore[arg-type]
    assert site.refusal({"host": "127.0.0.1:8765"}) is None
    assert site.refusal({"host": "localhost:8765", "origin": "http://localhost:8765"}) is None
    assert site.refusal({"host": "[::1]:8765", "origin": "http://[::1]:8765"}) is None
    assert "not this demo's address" in site.refusal({"host": "evil.example:8765"})
    assert "not this demo's address" in site.refusal({"host": "127.0.0.1:bad"})
    assert "not this demo's address" in site.refusal({})
    assert "another site" in site.refusal({"host": "127.0.0.1:8765", "origin": "ws://x:8765"})
    assert "another site" in site.refusal(
        {"host": "127.0.0.1:8765", "origin": "https://127.0.0.1:8765"}
    )


def test_allowed_hosts_of_a_wildcard_server_are_this_machines_addresses(monkeypatch) -> None:
    monkeypatch.setattr(guard, "_interface_addresses", lambda: ["127.0.0.1", "192.168.1.20"])
    monkeypatch.setattr(guard.socket, "gethostname", lambda: "Teacher-Laptop")
    hosts = guard.allowed_hosts("0.0.0.0")
    assert {"127.0.0.1", "localhost", "192.168.1.20", "teacher-laptop"} <= hosts
    assert {"teacher-laptop.local"} <= hosts
    assert "0.0.0.0" in hosts and "evil.example" not in hosts
    assert guard.allowed_hosts("127.0.0.1") == {"127.0.0.1", "localhost", "::1"}


def test_a_host_beyond_loopback_warns_with_the_addresses_to_share(monkeypatch) -> None:
    monkeypatch.setattr(
        guard,
        "_interface_addresses",
        lambda: ["127.0.0.1", "::1", "10.0.0.7", "192.168.1.20", "fe80::1", "2001:db8::5"],
    )
    assert server.exposure_warning("127.0.0.1", 8765) is None
    assert server.exposure_warning("localhost", 8765) is None
    text = server.exposure_warning("0.0.0.0", 8765)
    assert text.startswith("warning: --host 0.0.0.0: anyone who can reach this computer")
    assert "http://10.0.0.7:8765/ or http://192.168.1.20:8765/" in text
    assert "0.0.0.0:8765" not in text and "2001:db8" not in text and "fe80" not in text
    text = server.exposure_warning("::", 8765)
    assert "http://[2001:db8::5]:8765/" in text and "http://10.0.0.7:8765/" in text
    assert "http://192.168.1.20:8765/" in server.exposure_warning("192.168.1.20", 8765)
    monkeypatch.setattr(guard, "_interface_addresses", lambda: ["127.0.0.1"])
    assert "no network address of this computer" in server.exposure_warning("0.0.0.0", 8765)


def test_a_wildcard_server_announces_an_address_a_browser_can_open() -> None:
    class Bound:
        def getsockname(self):
            return ("0.0.0.0", 8765)

    assert server.url_of(Bound(), "0.0.0.0") == "http://127.0.0.1:8765/"  # type: ignore[arg-type]
    assert server.url_of(Bound(), "::") == "http://[::1]:8765/"  # type: ignore[arg-type]


def test_the_ledger_caps_citizens_and_frees_gone_tabs_first(monkeypatch) -> None:
    ledger = CitizenLedger(DemoLimits(max_sessions=10, max_citizens=10_000))
    freed: list[str] = []

    def free() -> int:
        if "gone" in ledger._held:
            freed.append("gone")
            ledger.release("gone")
            return 1
        return 0

    monkeypatch.setattr(guard, "free_disconnected_sessions", free)
    assert ledger.claim("gone", 2000) is None  # a tab that has since been closed
    assert ledger.claim("a", 2500) is None
    assert ledger.total == 9000
    assert ledger.claim("b", 1000) is None  # only after the gone tab was freed
    assert freed == ["gone"] and ledger.total == 7000
    message = ledger.claim("c", 2000)
    assert message is not None and "limit of 10,000" in message and "fewer citizens" in message
    assert ledger.total == 7000  # a refused claim holds nothing
    assert ledger.claim("a", 3000) is None  # a session's claim replaces its own
    assert ledger.total == 8000
    ledger.release("a")
    assert ledger.claim("c", 2000) is None


def test_limits_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv(guard.MAX_SESSIONS_ENV, "3")
    monkeypatch.setenv(guard.MAX_CITIZENS_ENV, "junk")
    assert DemoLimits.from_environment() == DemoLimits(3, guard.DEFAULT_MAX_CITIZENS)
