"""Serve the classroom demo with Solara, offline and without telemetry.

Out of the box a Solara page loads its front-end from a public CDN and the server reports usage
telemetry. Here the front-end comes from the ``solara-assets`` package (Solara's CDN proxy serves
it from disk; ``ipyvue``/``ipyvuetify`` stay below 3 to match its Vue 2 bundle), telemetry is off,
and the proxy's upstream is pointed at a closed local port, so that even an asset missing from the
bundle fails at once instead of being fetched from the internet. Nothing leaves the machine.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import warnings
from collections.abc import Callable

OFFLINE_ENV: dict[str, str] = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_ASSETS_PROXY": "True",
    "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/",
    "SOLARA_THEME_SHOW_BANNER": "False",
    "SOLARA_THEME_TITLE": "govsim",
}
"""Solara settings for a classroom without network (set before Solara is imported)."""

DEFAULTS_ENV: dict[str, str] = {"SOLARA_KERNEL_CULL_TIMEOUT": "15m", "REACTON_FAST": "1"}
"""Defaults a user may override. A closed tab's cities are freed after 15 minutes (not 24 hours).
Reacton's opt-in fast renderer skips unchanged parts of the page: an update of the charts then
takes about 40 ms instead of about 100 ms on a laptop core (``REACTON_FAST=0`` turns it off)."""

APP = "govsim.viz.app"
SCENARIO_ENV = "GOVSIM_DEMO_SCENARIO"
"""Environment variable naming the scenario the page starts from."""
LANG_ENV = "GOVSIM_DEMO_LANG"
"""Environment variable with the starting language (``en`` or ``zh``)."""
CITIZENS_ENV = "GOVSIM_DEMO_CITIZENS"
"""Environment variable with the starting classroom size."""


class DemoError(Exception):
    """A demo that cannot start (bad address, port in use): one line for the user."""


def configure_environment(
    scenario: str, lang: str | None = None, citizens: int | None = None
) -> None:
    """Set the environment the server and the page read (call before importing Solara)."""
    os.environ.update(OFFLINE_ENV)
    for key, value in DEFAULTS_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["SOLARA_APP"] = APP
    os.environ[SCENARIO_ENV] = scenario
    if lang is not None:
        os.environ[LANG_ENV] = lang
    if citizens is not None:
        os.environ[CITIZENS_ENV] = str(citizens)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port).

    Raises:
        DemoError: if the address cannot be used, with what to do about it.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DemoError(f"--host {host}: not a usable address ({exc.strerror})") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DemoError(
                f"--port {port}: port {port} on {host} is already in use; "
                "stop the other program or choose another port (--port 0 picks a free one)"
            ) from None
        raise DemoError(
            f"--host {host} --port {port}: cannot listen there ({exc.strerror})"
        ) from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    """The address a browser opens for a bound socket."""
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(
    scenario: str,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    lang: str | None = None,
    citizens: int | None = None,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve the demo until interrupted.

    Args:
        scenario: The starting preset: a packaged scenario name or a scenario file (validated).
        host: Interface to listen on (``127.0.0.1``: this computer only).
        port: TCP port (0 picks a free one).
        lang: Starting language, ``en`` or ``zh``.
        citizens: Starting citizens per city.
        announce: Called with the page's address once the socket listens (default: print it).

    Raises:
        DemoError: if the address cannot be used.
    """
    configure_environment(scenario, lang, citizens)
    sock = bind(host, port)
    # Solara warns on every page load over plain http to an address other than "localhost"
    # (127.0.0.1 included) that its cookie falls back to SameSite=Lax: right for a classroom.
    warnings.filterwarnings(
        "ignore", message="Cookies with samesite=none require https", category=UserWarning
    )
    import uvicorn
    from solara.server import settings

    settings.main.mode = "production"
    settings.telemetry.mixpanel_enable = False
    settings.theme.show_banner = False
    url = url_of(sock, host)
    (announce or _print)(url)
    config = uvicorn.Config(
        "solara.server.starlette:app",
        log_level="warning",
        access_log=False,
        ws_max_size=64 * 1024 * 1024,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _print(url: str) -> None:
    print(f"govsim demo: open {url} in a browser (Ctrl+C stops it)", flush=True)
    sys.stdout.flush()
