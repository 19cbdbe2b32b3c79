"""The ``govsim demo`` subcommand: serve the classroom demo in the browser.

Registered by :func:`add_subcommands`, which the main CLI (:mod:`govsim.cli`) calls. The Solara
stack is imported only when the command runs, so ``govsim run`` works without the ``viz`` extra.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from govsim.config import load_scenario, packaged_scenarios
from govsim.viz.guard import DEFAULT_MAX_CITIZENS, DEFAULT_MAX_SESSIONS

EXIT_OK = 0
EXIT_BAD_INPUT = 2
VIZ_MODULES = ("solara", "solara_assets", "mesa.visualization", "uvicorn")
"""What the demo needs from the ``viz`` extra."""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535 (got {text!r})") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535 (got {value})")
    return value


def _citizens(text: str) -> int:
    from govsim.viz.levers import CITIZENS_RANGE

    low, high, _ = CITIZENS_RANGE
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of citizens {low}-{high} (got {text!r})"
        ) from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of citizens {low}-{high} (got {value})"
        )
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number above 0 (got {text!r})"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0 (got {value})")
    return value


def add_subcommands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``demo`` to the ``govsim`` command."""
    p = subparsers.add_parser(
        "demo",
        help="classroom demo in the browser (needs the viz extra)",
        description="Serve the classroom demo: two cities side by side (a preset and your changes "
        "to it), levers, live charts and explanations in English and Chinese. Works offline; "
        "each browser tab gets its own cities. Listens on this computer only unless --host "
        "says otherwise.",
    )
    p.add_argument(
        "scenario",
        nargs="?",
        default="baseline",
        metavar="SCENARIO",
        help="starting preset: a packaged scenario name or a scenario file (default: baseline)",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to listen on (default 127.0.0.1; 0.0.0.0 lets a class on the same "
        "network connect, and prints the addresses to share)",
    )
    p.add_argument(
        "--port", type=_port, default=8765, help="TCP port (default 8765; 0 picks a free one)"
    )
    p.add_argument(
        "--lang", choices=("en", "zh"), default="en", help="starting language (default en)"
    )
    p.add_argument(
        "--citizens",
        type=_citizens,
        default=None,
        help="citizens per city at the start (default 3000)",
    )
    p.add_argument(
        "--max-sessions",
        type=_positive,
        default=DEFAULT_MAX_SESSIONS,
        help=f"most browser tabs served at once (default {DEFAULT_MAX_SESSIONS}); when reached, "
        "tabs that were closed are freed first, then newcomers are told the demo is full",
    )
    p.add_argument(
        "--max-citizens",
        type=_positive,
        default=DEFAULT_MAX_CITIZENS,
        help="most simulated citizens of all tabs together, both cities of each "
        f"(default {DEFAULT_MAX_CITIZENS:,}, under 1 GiB)",
    )
    p.add_argument(
        "--room",
        action="store_true",
        help="the class plays one shared city: the lecturer opens a room (link printed), "
        "students join with its code and each runs a street or community unit",
    )
    p.set_defaults(func=_cmd_demo)


def missing_viz_modules() -> list[str]:
    """The modules of the ``viz`` extra that cannot be imported here."""
    missing = []
    for name in VIZ_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(name)
    return missing


def _cmd_demo(args: argparse.Namespace) -> int:
    """Validate the scenario, then serve the demo until Ctrl+C, which ends the process (exit 0)."""
    missing = missing_viz_modules()
    if missing:
        print(
            f"error: govsim demo needs the viz extra (missing: {', '.join(missing)}); "
            "install it with: pip install 'govsim[viz]'",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    scenario = load_scenario(args.scenario)  # ScenarioError: reported by govsim.cli, exit 2
    if scenario.queue.enabled:
        print(
            f"error: {args.scenario}: the M/M/c validation queue has no city to show; "
            "start the demo from a city scenario (govsim scenarios lists them)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    if args.room and args.scenario not in packaged_scenarios():
        print(
            f"error: {args.scenario}: --room plays a packaged scenario (govsim scenarios "
            "lists them); the lecturer chooses among them when opening a room",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    from govsim.viz.guard import DemoLimits
    from govsim.viz.levers import CLASSROOM_CITIZENS
    from govsim.viz.server import DemoError, serve

    start = args.citizens or CLASSROOM_CITIZENS
    if args.max_citizens < 2 * start:
        print(
            f"error: --max-citizens {args.max_citizens}: not even one session fits (its two "
            f"cities of {start:,} citizens need {2 * start:,}); raise it or lower --citizens",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT

    ref = str(Path(args.scenario).resolve()) if Path(args.scenario).is_file() else args.scenario
    try:
        serve(
            ref,
            args.host,
            args.port,
            lang=args.lang,
            citizens=args.citizens,
            limits=DemoLimits(args.max_sessions, args.max_citizens),
            room=args.room,
        )
    except DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # Ctrl+C is how a demo ends
        pass
    print("govsim demo: stopped", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    # A browser tab that was playing left its play loop running in a thread Solara made
    # non-daemon: it would keep the process alive. The server is down and nothing is to be
    # written, so end the process here.
    os._exit(EXIT_OK)
