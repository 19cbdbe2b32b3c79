"""Stopping a command cleanly: SIGTERM is handled like Ctrl-C, and the exit codes say which came.

``kill PID``, ``scancel`` and ``timeout`` send SIGTERM; Python's default is to die on the spot,
skipping every ``finally`` and ``except`` clause, so a run killed that way would leave its temporary
folder behind. Inside :func:`sigterm_as_interrupt` a SIGTERM raises :class:`Terminated` instead (a
:class:`KeyboardInterrupt`, so code that already cleans up after Ctrl-C cleans up after it too).
The command then exits with :data:`EXIT_TERMINATED` (143 = 128 + 15, the shell's code for a
process ended by SIGTERM); after Ctrl-C it exits with :data:`EXIT_INTERRUPTED` (130 = 128 + 2).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C (SIGINT)."""

EXIT_TERMINATED = 143
"""Exit code after SIGTERM."""


class Terminated(KeyboardInterrupt):
    """SIGTERM was received; handled exactly like Ctrl-C except for the exit code."""


def exit_code(exc: BaseException) -> int:
    """The exit code for a command stopped by ``exc`` (a :class:`KeyboardInterrupt`)."""
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, the first SIGTERM raises :class:`Terminated` in the main thread.

    Later SIGTERMs are ignored so that the clean-up the first one started can finish (SIGKILL still
    ends the process). Outside the main thread this does nothing (Python only lets the main thread
    set signal handlers).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def signals_held() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM within the block (a short clean-up that must not be cut short)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT within the block, so that child processes started in it inherit an ignored
    SIGINT (a Ctrl-C at the terminal reaches the whole process group; the parent alone handles it).

    A Ctrl-C that arrives within the block is lost; keep it short. Outside the main thread this
    does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
