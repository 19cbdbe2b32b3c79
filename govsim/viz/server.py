"""Serve the classroom demo with Solara, offline, without telemetry, guarded and bounded.

Out of the box a Solara page loads its front-end from a public CDN and the server reports usage
telemetry. Here the front-end comes from the ``solara-assets`` package (Solara's CDN proxy serves
it from disk; ``ipyvue``/``ipyvuetify`` stay below 3 to match its Vue 2 bundle), telemetry is off,
and the proxy's upstream is pointed at a closed local port, so that even an asset missing from the
bundle fails at once instead of being fetched from the internet. Nothing leaves the machine.

Solara's app is served inside :class:`govsim.viz.guard.SiteGuard`: requests must name this
server's address (Host) and come from its own pages (Origin), and the sessions and simulated
citizens of all tabs together are capped (:class:`govsim.viz.guard.DemoLimits`). Listening on an
address other than loopback prints a warning with the addresses a class opens.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import sys
import warnings
from collections.abc import Callable

from govsim.viz.guard import (
    MAX_CITIZENS_ENV,
    MAX_SESSIONS_ENV,
    DemoLimits,
    SiteGuard,
    allowed_hosts,
    is_loopback,
    share_addresses,
)
from govsim.viz.levers import START_SCENARIO_ENV

OFFLINE_ENV: dict[str, str] = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_ASSETS_PROXY": "True",
    "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/",
    "SOLARA_THEME_SHOW_BANNER": "False",
    "SOLARA_THEME_TITLE": "govsim",
}
"""Solara settings for a classroom without network (set before Solara is imported)."""

DEFAULTS_ENV: dict[str, str] = {"SOLARA_KERNEL_CULL_TIMEOUT": "15m", "REACTON_FAST": "1"}
"""Defaults a user may override. A closed tab's cities are freed after 15 minutes (not 24 hours),
or at once when a cap is reached (:func:`govsim.viz.guard.free_disconnected_sessions`).
Reacton's opt-in fast renderer skips unchanged parts of the page: an update of the charts then
takes about 40 ms instead of about 100 ms on a laptop core (``REACTON_FAST=0`` turns it off)."""

APP = "govsim.viz.app"
ROOM_APP = "govsim.viz.room_pages"
"""The room mode's pages (``govsim demo --room``: the class plays one shared city)."""
SCENARIO_ENV = START_SCENARIO_ENV
"""Environment variable naming the scenario the page starts from."""
LANG_ENV = "GOVSIM_DEMO_LANG"
"""Environment variable with the starting language (``en`` or ``zh``)."""
CITIZENS_ENV = "GOVSIM_DEMO_CITIZENS"
"""Environment variable with the starting classroom size."""


class DemoError(Exception):
    """A demo that cannot start (bad address, port in use): one line for the user."""


def configure_environment(
    scenario: str,
    lang: str | None = None,
    citizens: int | None = None,
    limits: DemoLimits | None = None,
    app: str = APP,
) -> None:
    """Set the environment the server and the page read (call before importing Solara)."""
    os.environ.update(OFFLINE_ENV)
    for key, value in DEFAULTS_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["SOLARA_APP"] = app
    os.environ[SCENARIO_ENV] = scenario
    if lang is not None:
        os.environ[LANG_ENV] = lang
    if citizens is not None:
        os.environ[CITIZENS_ENV] = str(citizens)
    limits = limits or DemoLimits()
    os.environ[MAX_SESSIONS_ENV] = str(limits.max_sessions)
    os.environ[MAX_CITIZENS_ENV] = str(limits.max_citizens)


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
    """The address a browser on this computer opens for a bound socket.

    For ``0.0.0.0`` (``::``), which is no address to open, the loopback address.
    """
    port = sock.getsockname()[1]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def exposure_warning(host: str, port: int) -> str | None:
    """The warning for listening beyond this computer, with the addresses to share (or ``None``)."""
    if is_loopback(host):
        return None
    addresses = share_addresses(host, port)
    where = (
        "students open " + " or ".join(addresses)
        if addresses
        else "no network address of this computer was found (is it connected?)"
    )
    return (
        f"warning: --host {host}: anyone who can reach this computer on its networks can open "
        f"the demo, without a password; {where}. Serve it like this only on a network you "
        "trust (a classroom), and stop it (Ctrl+C) after class."
    )


def serve(
    scenario: str,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    lang: str | None = None,
    citizens: int | None = None,
    limits: DemoLimits | None = None,
    announce: Callable[[str], None] | None = None,
    room: bool = False,
) -> None:
    """Serve the demo until interrupted.

    Args:
        scenario: The starting preset: a packaged scenario name or a scenario file (validated).
        host: Interface to listen on (``127.0.0.1``: this computer only).
        port: TCP port (0 picks a free one).
        lang: Starting language, ``en`` or ``zh``.
        citizens: Starting citizens per city.
        limits: Caps on sessions and simulated citizens (default :class:`DemoLimits`).
        announce: Called with the page's address once the socket listens (default: print it).
        room: Serve the room mode (:mod:`govsim.viz.room_pages`) instead of the demo; the
            lecturer's link, with its secret key, is printed after the address.

    Raises:
        DemoError: if the address cannot be used.
    """
    limits = limits or DemoLimits()
    configure_environment(scenario, lang, citizens, limits, ROOM_APP if room else APP)
    room_key = None
    if room:
        from govsim.viz.room import configure_room_environment

        room_key = configure_room_environment(citizens)
    sock = bind(host, port)
    _log_to_stderr()
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
    from solara.server.starlette import app as solara_app

    bound_port = sock.getsockname()[1]
    guarded = SiteGuard(solara_app, hosts=allowed_hosts(host), port=bound_port, limits=limits)
    url = url_of(sock, host)
    warning = exposure_warning(host, bound_port)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    (announce or _print)(url)
    if room_key is not None:
        print(
            f"govsim demo: lecturer's page (keep this link to yourself): {url}?lecturer={room_key}",
            flush=True,
        )
    config = uvicorn.Config(
        guarded,
        log_level="warning",
        access_log=False,
        ws_max_size=64 * 1024 * 1024,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _log_to_stderr() -> None:
    """Send the demo's log (refusals, errors with their tracebacks) to the server's stderr."""
    log = logging.getLogger("govsim.demo")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("govsim demo: %(levelname)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def _print(url: str) -> None:
    print(f"govsim demo: open {url} in a browser (Ctrl+C stops it)", flush=True)
    sys.stdout.flush()
