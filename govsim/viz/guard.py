"""What keeps the classroom demo safe to serve: who may talk to it, and how much it may hold.

- :class:`SiteGuard` wraps the Solara (Starlette) app: every HTTP request and websocket upgrade
  must name the served address in its ``Host`` header, and its ``Origin`` (where a browser sends
  one) must be that same address. A web page on another site therefore cannot drive the demo
  through the teacher's browser (cross-site websocket), nor through a name of its own that it
  points at the teacher's machine (DNS rebinding): both get 403.
- The guard also caps the number of sessions (browser tabs; Solara keeps one "virtual kernel" per
  tab) and :class:`CitizenLedger` caps the simulated citizens of all sessions together. When a cap
  is reached, sessions whose tab is gone (no connected page: Solara would keep them up to
  ``SOLARA_KERNEL_CULL_TIMEOUT``) are freed first (:func:`free_disconnected_sessions`); if that is
  not enough, the newcomer gets a short message saying so.
- :func:`share_addresses` lists the addresses a class can open when ``--host`` is not loopback.

Nothing here imports Solara at module level, so ``govsim.viz.server`` can import it before
Solara reads its settings from the environment.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import os
import re
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger("govsim.demo")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_SESSIONS_ENV = "GOVSIM_DEMO_MAX_SESSIONS"
"""Environment variable with the most sessions (browser tabs) a demo server holds."""
MAX_CITIZENS_ENV = "GOVSIM_DEMO_MAX_CITIZENS"
"""Environment variable with the most simulated citizens a demo server holds (all tabs)."""

DEFAULT_MAX_SESSIONS = 50
"""A class of 40 with spare tabs; at the default 3,000 citizens per city a session holds about
10 MiB of cities after a year plus Solara's page (the issue measured about 8.5 MiB a session),
so 50 sessions stay well under 2 GiB."""
DEFAULT_MAX_CITIZENS = 1_000_000
"""Simulated citizens of all sessions together (both cities of each): about 0.85 KiB each after a
year (33 MiB for a pair of 20,000-citizen cities, measured), so under 1 GiB in all. That is 166
sessions at the default 3,000 per city, or 25 at the demo's maximum of 20,000."""

KERNEL_SOCKET = re.compile(r"^/jupyter/api/kernels/([^/]+)/channels$")
"""The websocket path of a Solara session (one virtual kernel per browser tab)."""
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class DemoLimits:
    """The caps of one demo server.

    Attributes:
        max_sessions: Sessions (browser tabs) held at once.
        max_citizens: Simulated citizens held at once, both cities of every session together.
    """

    max_sessions: int = DEFAULT_MAX_SESSIONS
    max_citizens: int = DEFAULT_MAX_CITIZENS

    @classmethod
    def from_environment(cls) -> DemoLimits:
        """The limits ``govsim demo`` set in the environment (defaults where unset or bad)."""

        def read(name: str, default: int) -> int:
            text = os.environ.get(name, "")
            return int(text) if text.isdigit() and int(text) > 0 else default

        return cls(
            read(MAX_SESSIONS_ENV, DEFAULT_MAX_SESSIONS),
            read(MAX_CITIZENS_ENV, DEFAULT_MAX_CITIZENS),
        )


def sessions_full_message(limits: DemoLimits) -> str:
    """What a newcomer reads when every session is taken."""
    return (
        f"The demo is full: {limits.max_sessions} browser tabs are open, the most this server "
        "holds (govsim demo --max-sessions). Close tabs that are no longer used, or try again "
        "in a few minutes."
    )


def citizens_full_message(limits: DemoLimits, wanted: int, others: int) -> str:
    """What a session reads when its two cities of ``wanted`` citizens would not fit."""
    return (
        f"The demo server is full: two cities of {wanted:,} citizens would take it past its "
        f"limit of {limits.max_citizens:,} simulated citizens for all open tabs together (the "
        f"other tabs hold {others:,}). Choose fewer citizens, or close tabs that are no longer "
        "used (govsim demo --max-citizens sets the limit)."
    )


# ---------------------------------------------------------------------------- sessions
def _contexts() -> dict[str, Any]:
    """Solara's live sessions by kernel id (none when Solara's server is not loaded)."""
    try:
        from solara.server import kernel_context
    except ImportError:  # pragma: no cover - the viz extra is installed wherever this runs
        return {}
    return kernel_context.contexts


def _disconnected(context: Any) -> bool:
    """Whether a session's pages have all gone (a new session, with no page yet, has not)."""
    from solara.server.kernel_context import PageStatus

    statuses = list(context.page_status.values())
    return bool(statuses) and PageStatus.CONNECTED not in statuses


def free_disconnected_sessions() -> int:
    """Close the sessions whose browser tab is gone; the number closed.

    Solara keeps such a session for ``SOLARA_KERNEL_CULL_TIMEOUT`` (15 minutes here) so that a tab
    that lost its connection for a moment finds its cities again. Called only when a cap is
    reached: then a student who is here comes before a tab that has gone.
    """
    closed = 0
    for context in list(_contexts().values()):
        if context.closed_event.is_set() or not _disconnected(context):
            continue
        # close() registers and removes itself as the current context of the calling thread:
        # a thread of its own, so that the caller's session is left alone
        worker = threading.Thread(target=context.close, kwargs={"reason": "cull"}, daemon=True)
        worker.start()
        worker.join(timeout=30)
        closed += 1
        logger.info("freed session %s (its tab is gone) to make room", context.id[:8])
    return closed


class CitizenLedger:
    """Simulated citizens held by each session, capped for the server as a whole.

    A session claims its citizens per city before it builds (or resizes) its two cities; the
    claim replaces the session's previous one. Sessions release their claim when Solara closes
    them (:func:`session_key` registers that).
    """

    def __init__(self, limits: DemoLimits) -> None:
        self.limits = limits
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        """Simulated citizens held now (both cities of every session)."""
        with self._lock:
            return sum(self._held.values())

    def _others(self, session: str) -> int:
        with self._lock:
            return sum(n for key, n in self._held.items() if key != session)

    def _try(self, session: str, citizens_per_city: int) -> bool:
        wanted = 2 * citizens_per_city
        with self._lock:
            others = sum(n for key, n in self._held.items() if key != session)
            if others + wanted > self.limits.max_citizens:
                return False
            self._held[session] = wanted
            return True

    def claim(self, session: str, citizens_per_city: int) -> str | None:
        """Claim two cities of ``citizens_per_city`` for ``session``; a message if they do not fit.

        When they do not fit, sessions whose tab is gone are freed first and the claim retried.
        """
        if self._try(session, citizens_per_city):
            return None
        if free_disconnected_sessions() and self._try(session, citizens_per_city):
            return None
        logger.warning(
            "refused %d citizens per city to session %s: %d of %d held",
            citizens_per_city,
            session[:8],
            self.total,
            self.limits.max_citizens,
        )
        return citizens_full_message(self.limits, citizens_per_city, self._others(session))

    def release(self, session: str) -> None:
        """Forget a session's claim (its tab was closed)."""
        with self._lock:
            self._held.pop(session, None)


_ledger: CitizenLedger | None = None
_ledger_lock = threading.Lock()


def ledger() -> CitizenLedger:
    """The server's ledger, with the limits ``govsim demo`` set in the environment."""
    global _ledger
    with _ledger_lock:
        if _ledger is None:
            _ledger = CitizenLedger(DemoLimits.from_environment())
        return _ledger


def session_key() -> str:
    """The current Solara session's id (``"local"`` outside a server, e.g. in tests).

    The first call in a session makes its close release its citizens (:class:`CitizenLedger`).
    """
    from solara.server import kernel_context

    if not kernel_context.has_current_context():
        return "local"
    context = kernel_context.get_current_context()
    if not getattr(context, "_govsim_ledger_hooked", False):
        context._govsim_ledger_hooked = True
        context.on_close(lambda key=context.id: ledger().release(key))
    return context.id


# ---------------------------------------------------------------------------- addresses
def _interface_addresses() -> list[str]:
    """Addresses of this machine's network interfaces that are up (loopback included)."""
    import psutil

    stats = psutil.net_if_stats()
    out = []
    for name, addrs in psutil.net_if_addrs().items():
        if name in stats and not stats[name].isup:
            continue
        for addr in addrs:
            if addr.family in (socket.AF_INET, socket.AF_INET6):
                out.append(addr.address.split("%", 1)[0])
    return out


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this computer only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def share_addresses(host: str, port: int) -> list[str]:
    """The addresses others on the network open for a server bound to ``host``.

    For ``0.0.0.0`` (``::``) every IPv4 (and IPv6) address of an interface that is up, loopback
    and link-local left out; for a named address, that address.
    """
    if not _is_wildcard(host):
        return [_url(host, port)]
    version = ipaddress.ip_address(host).version
    found = []
    for text in _interface_addresses():
        address = ipaddress.ip_address(text)
        if address.is_loopback or address.is_link_local:
            continue
        if version == 4 and address.version != 4:
            continue
        found.append(address)
    found.sort(key=lambda a: (a.version, a))
    return [_url(str(a), port) for a in found]


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def allowed_hosts(host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Host names and addresses a request may name for a server bound to ``host``.

    Always the loopback names; the bound address or name; for ``0.0.0.0`` (``::``) every address
    of this machine's interfaces; and this machine's own names (``gethostname``, its ``.local``
    name), which no other site can point elsewhere. An attacker's own domain is never among them.
    """
    names = set(LOOPBACK_NAMES) | {host.lower().strip("[]")} | {e.lower() for e in extra}
    if _is_wildcard(host):
        names.update(a.lower() for a in _interface_addresses())
    if not is_loopback(host):
        own = socket.gethostname().lower()
        if own:
            names.update({own, f"{own}.local"})
    names.discard("")
    return frozenset(names)


# ---------------------------------------------------------------------------- the ASGI guard
class SiteGuard:
    """ASGI middleware: Host and Origin checks, and the session cap, before Solara sees a request.

    Args:
        app: The wrapped ASGI app (Solara's Starlette app).
        hosts: Host names and addresses requests may name (:func:`allowed_hosts`).
        port: The port the server listens on (a ``Host`` or ``Origin`` must name it).
        limits: The session cap.
        sessions: Live sessions by kernel id (default: Solara's).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: Iterable[str],
        port: int,
        limits: DemoLimits | None = None,
        sessions: Callable[[], dict[str, Any]] = _contexts,
    ) -> None:
        self.app = app
        self.hosts = frozenset(h.lower() for h in hosts)
        self.port = port
        self.limits = limits or DemoLimits.from_environment()
        self.sessions = sessions
        self._open: dict[str, int] = {}
        """Open session websockets by kernel id: Solara registers a session only once its
        websocket is running, so two tabs connecting at once would both find a place free."""

    def _names_us(self, netloc: str) -> bool:
        """Whether ``host[:port]`` is one of our names with our port."""
        try:
            parts = urlsplit(f"//{netloc}")
            port = parts.port or 80
        except ValueError:
            return False
        return parts.hostname in self.hosts and port == self.port

    def refusal(self, headers: dict[str, str]) -> str | None:
        """Why a request with these headers is refused (``None``: it is not)."""
        host = headers.get("host")
        if not host or not self._names_us(host):
            return f"Host {host!r:.80} is not this demo's address"
        origin = headers.get("origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme != "http" or not self._names_us(parts.netloc):
                return f"Origin {origin!r:.80} is another site"
            if parts.netloc.lower() != host.lower():
                return f"Origin {origin!r:.80} differs from Host {host!r:.80}"
        return None

    def _full(self, kernel_id: str | None) -> bool:
        """Whether a new session (not ``kernel_id``, an existing one) finds every place taken."""
        sessions = set(self.sessions()) | set(self._open)
        if kernel_id is not None and kernel_id in sessions:
            return False
        return len(sessions) >= self.limits.max_sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 403 to a foreign Host or Origin and 503 to a newcomer when full; else pass on."""
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        problem = self.refusal(headers)
        if problem is not None:
            logger.warning("refused %s %s: %s", kind, scope.get("path", ""), problem)
            await _deny(scope, receive, send, 403, "Forbidden: " + problem + ".")
            return
        path = scope.get("path", "")
        match = KERNEL_SOCKET.match(path) if kind == "websocket" else None
        if match or (kind == "http" and path == "/"):
            kernel_id = match.group(1) if match else None
            if self._full(kernel_id):
                import anyio.to_thread

                await anyio.to_thread.run_sync(free_disconnected_sessions)
                if self._full(kernel_id):
                    logger.warning("refused a new session: the most sessions are open")
                    await _deny(scope, receive, send, 503, sessions_full_message(self.limits))
                    return
            if kernel_id is not None:  # no await between the check and this count
                self._open[kernel_id] = self._open.get(kernel_id, 0) + 1
                try:
                    await self.app(scope, receive, send)
                finally:
                    self._open[kernel_id] -= 1
                    if not self._open[kernel_id]:
                        del self._open[kernel_id]
                return
        await self.app(scope, receive, send)


async def _deny(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    """An HTTP answer with ``status`` and a short page, or the refusal of a websocket upgrade.

    A websocket upgrade gets the same HTTP answer where the server supports the ASGI
    ``websocket.http.response`` extension (uvicorn does), else a bare close (HTTP 403).
    """
    body = (
        "<!doctype html><meta charset=utf-8><title>govsim demo</title>"
        f"<p>{html.escape(message)}</p>\n"
    ).encode()
    start = {
        "status": status,
        "headers": [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    if scope["type"] == "http":
        await send({"type": "http.response.start", **start})
        await send({"type": "http.response.body", "body": body})
        return
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", **start})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})
