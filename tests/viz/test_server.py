"""Tests of the demo server's setup: offline settings, sockets and addresses."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from govsim.viz import server
from govsim.viz.guard import DemoLimits


@pytest.fixture(autouse=True)
def restore_environment() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_environment_is_offline_and_keeps_user_choices(monkeypatch) -> None:
    monkeypatch.setenv("REACTON_FAST", "0")
    monkeypatch.delenv("SOLARA_KERNEL_CULL_TIMEOUT", raising=False)
    server.configure_environment("whistle", "zh", 1500, DemoLimits(7, 9000))
    assert os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert os.environ["SOLARA_ASSETS_PROXY"] == "True"
    assert os.environ["SOLARA_ASSETS_CDN"].startswith("http://127.0.0.1:")
    assert os.environ["SOLARA_APP"] == "govsim.viz.app"
    assert os.environ[server.SCENARIO_ENV] == "whistle"
    assert os.environ[server.LANG_ENV] == "zh"
    assert os.environ[server.CITIZENS_ENV] == "1500"
    assert os.environ["REACTON_FAST"] == "0"  # the user's choice stands
    assert os.environ["SOLARA_KERNEL_CULL_TIMEOUT"] == "15m"
    assert DemoLimits.from_environment() == DemoLimits(7, 9000)  # what the page's ledger reads


def test_solara_assets_hold_what_the_page_loads() -> None:
    """The page needs Solara's Vue app, RequireJS and ECharts 5.4.0 from the local bundle."""
    from solara.server import settings

    cdn = settings.assets.proxy_cache_dir
    assert (cdn / "echarts@5.4.0" / "dist" / "echarts.js").is_file()
    assert (cdn / "requirejs@2.3.6").is_dir()
    assert any(p.name.startswith("solara-vuetify-app@") for p in (cdn / "@widgetti").iterdir())


def test_bind_picks_a_free_port_and_names_its_address() -> None:
    sock = server.bind("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert port > 0
        assert server.url_of(sock, "127.0.0.1") == f"http://127.0.0.1:{port}/"
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # it listens
        with pytest.raises(server.DemoError, match=f"port {port} on 127.0.0.1 is already in use"):
            server.bind("127.0.0.1", port)
    finally:
        sock.close()


def test_ipv6_addresses_are_bracketed() -> None:
    class Fake:
        def getsockname(self):
            return ("::1", 8765, 0, 0)

    assert server.url_of(Fake(), "::1") == "http://[::1]:8765/"  # type: ignore[arg-type]
