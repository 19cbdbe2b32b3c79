"""The ``govsim`` command: a thin dispatcher over the library.

Subcommands here: ``run``, ``validate``, ``scenarios``, ``show``. Other parts of govsim add their own
through a hook: a module listed in :data:`PLUGIN_MODULES` that exists must define
``add_subcommands(subparsers)``, which adds parsers and gives each ``set_defaults(func=handler)``
with ``handler(args: argparse.Namespace) -> int``. Such a module must import heavy or optional
dependencies inside its handlers, so that ``govsim run`` works without them.

Options are taken only as written in full (:class:`StrictParser`: ``--day`` is not ``--days``).
Every handler returns an exit code. Bad input (:class:`govsim.config.ScenarioError`,
:class:`govsim.outputs.OutputError`) is printed to standard error, one ``error: ...`` line per
problem, with exit code 2 and no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from govsim import __version__

try:
    from govsim.config import (
        ScenarioError,
        load_scenario,
        packaged_scenarios,
        scenario_sha256,
        scenario_to_dict,
    )
    from govsim.outputs import (
        DEFAULT_OUT,
        FORMATS,
        OutputError,
        check_destination,
        run_folder_name,
    )
    from govsim.schema import Scenario
except KeyboardInterrupt:  # Ctrl-C while the command starts: exit 130, no traceback
    sys.stderr.write("error: interrupted; nothing was written\n")
    raise SystemExit(130) from None

PLUGIN_MODULES: tuple[str, ...] = (
    "govsim.experiment.cli",
    "govsim.calibrate.cli",
    "govsim.viz.cli",
)
"""Modules that may add subcommands (experiments; calibration; the classroom ``demo``)."""

EXIT_OK = 0
EXIT_BAD_INPUT = 2


class StrictParser(argparse.ArgumentParser):
    """An argument parser that takes options only as written in full, never abbreviated.

    argparse would read ``--day 30`` as ``--days 30`` (a unique prefix); here it is an unknown
    option. Subcommand parsers made with ``add_subparsers().add_parser`` are of the same class, so
    plugins' subcommands are strict too.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def key_value(text: str) -> str:
    """An argparse ``type`` for ``KEY=VALUE`` options: refuses a value given without ``=``.

    Raises:
        argparse.ArgumentTypeError: showing the ``KEY=VALUE`` form with the key given.
    """
    key = text.strip()
    if "=" not in text or not text.partition("=")[0].strip():
        example = f"{key}=VALUE" if key and "=" not in text else "dispatch.data_sharing=0.5"
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE in one word, e.g. --set {example} (got {text!r}; "
            "a value after a space is not read)"
        )
    return text


def add_override_option(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--set key.path=value`` option (for plugins too)."""
    parser.add_argument(
        "--set",
        dest="set",
        action="append",
        default=[],
        type=key_value,
        metavar="KEY=VALUE",
        help="override a parameter, e.g. --set population.citizens=500 (repeatable; "
        "the value is read as YAML: 0.5, true, [a, b])",
    )


def _int_at_least(low: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what} (got {text[:40]!r})") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {what} (got {value})")
        return value

    return parse


def _cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario and write its output folder."""
    overrides = list(args.set)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.days is not None:
        overrides.append(f"days={args.days}")
    scenario = load_scenario(args.scenario, overrides)
    dest = Path(args.out) / run_folder_name(scenario.name, scenario.seed)
    check_destination(dest, force=args.force)  # fail before spending time on the run
    if args.force and not args.replace_different:
        _check_same_run(dest, scenario)
    started_at = datetime.now().astimezone()

    from govsim.outputs import write_run  # the simulation stack only when running
    from govsim.runner import simulate

    show_bar = not args.quiet and sys.stderr.isatty()
    with _ProgressBar(scenario.days, scenario.name, enabled=show_bar) as progress:
        result = simulate(scenario, seed=scenario.seed, days=scenario.days, progress=progress)
    write_run(
        result,
        dest,
        fmt=args.format,
        force=args.force,
        command=["govsim", *args.argv],
        started_at=started_at,
        dashboard=not args.no_dashboard,
    )
    if not args.quiet:
        _print_summary(result.summary, dest)
        if scenario.queue.enabled:
            _print_erlang_c(scenario, result.summary)
    print(dest)
    return EXIT_OK


def _print_erlang_c(scenario, summary: dict[str, float]) -> None:
    """The M/M/c validation queue's figures beside what Erlang C predicts."""
    from govsim.queue_model import WARMUP_SHARE, erlang_c_prediction

    q = scenario.queue
    load = q.arrival_rate / (q.servers * q.service_rate)
    print(
        f"  against Erlang C (M/M/{q.servers}, utilisation {load:.2f}; "
        f"the first {WARMUP_SHARE:.0%} of the run left out as warm-up):"
    )
    print(f"  {'':<20}  {'simulated':>10}  {'Erlang C':>10}  {'ratio':>6}")
    for key, theory in erlang_c_prediction(q).items():
        got = summary.get(key, float("nan"))
        ratio = got / theory if theory else float("nan")
        print(f"  {key:<20}  {got:>10.4g}  {theory:>10.4g}  {ratio:>6.3f}")


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.removesuffix("."): data}


def _check_same_run(dest: Path, scenario: Scenario) -> None:
    """Refuse ``--force`` over a run folder that holds another scenario or horizon.

    Raises:
        OutputError: naming what differs (from the old folder's manifest.json) and the flag that
            replaces it anyway.
    """
    if not dest.is_dir():
        return
    how = "pass --replace-different as well to replace it anyway, or --out DIR to keep both"
    try:
        old = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
        old_sha, old_days = old["scenario_sha256"], old["days"]
    except (OSError, ValueError, KeyError, TypeError):
        raise OutputError(
            [
                f"{dest}: holds no readable run manifest, so --force cannot tell what it replaces; {how}"
            ]
        ) from None
    new_sha = scenario_sha256(scenario)
    if old_sha == new_sha and old_days == scenario.days:
        return
    before, after = _flat(old.get("scenario", {})), _flat(scenario_to_dict(scenario))
    changed = [k for k in after if before.get(k, "(absent)") != after[k]]
    changed += [k for k in before if k not in after]
    shown = [f"{k}: {before.get(k, '(absent)')!r} -> {after.get(k, '(absent)')!r}" for k in changed]
    differs = f"days {old_days} -> {scenario.days}; " if old_days != scenario.days else ""
    more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
    detail = "; ".join(shown[:5]) + more if shown else "the scenario (same parameters, other hash)"
    raise OutputError(
        [
            f"{dest}: holds a different run ({differs}scenario sha256 {old_sha[:12]} -> "
            f"{new_sha[:12]}: {detail}); --force replaces only a rerun of the same scenario "
            f"and horizon; {how}"
        ]
    )


class _ProgressBar:
    """A tqdm bar on standard error fed by the runner's ``progress(day)`` callback."""

    def __init__(self, total: int, desc: str, *, enabled: bool):
        self.total, self.desc, self.enabled = total, desc, enabled
        self.bar = None

    def __enter__(self) -> Callable[[int], None] | None:
        if not self.enabled:
            return None
        from tqdm import tqdm

        self.bar = tqdm(total=self.total, desc=self.desc, unit="day", leave=False, file=sys.stderr)

        def progress(day: int) -> None:
            self.bar.update(max(0, min(int(day), self.total) - self.bar.n))

        return progress

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


HEADLINE_METRICS: tuple[str, ...] = (
    "cases_reported",
    "closure_rate",
    "real_resolution_rate",
    "on_time_closure_rate",
    "satisfaction_reported",
    "satisfaction_true",
    "dsi",
    "voice_gap",
    "backlog",
    "trust_mean",
)
"""Summary metrics echoed after a run (all of them are in summary.json)."""


def _print_summary(summary: dict[str, float], dest: Path) -> None:
    shown = [k for k in HEADLINE_METRICS if k in summary] or list(summary)
    if not shown:
        return
    width = max(len(k) for k in shown)
    for key in shown:
        value = summary[key]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"  {key:<{width}}  {text}")
    if len(summary) > len(shown):
        print(f"  ... {len(summary) - len(shown)} more in {dest / 'summary.json'}")


def _cmd_validate(args: argparse.Namespace) -> int:
    """Validate scenario files; list every problem of every file."""
    bad = 0
    for ref in args.scenarios:
        try:
            load_scenario(ref, args.set)
        except ScenarioError as exc:
            bad += 1
            _print_errors(exc.messages)
        else:
            print(f"{ref}: ok")
    if bad:
        print(f"{bad} of {len(args.scenarios)} scenarios invalid", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _cmd_scenarios(args: argparse.Namespace) -> int:
    """List the packaged scenarios with their descriptions."""
    status = EXIT_OK
    rows = []
    for name in sorted(packaged_scenarios()):
        try:
            rows.append((name, load_scenario(name).description))
        except ScenarioError as exc:
            _print_errors(exc.messages)
            status = EXIT_BAD_INPUT
    width = max((len(n) for n, _ in rows), default=0)
    for name, description in rows:
        print(f"{name:<{width}}  {description}".rstrip())
    return status


def _cmd_show(args: argparse.Namespace) -> int:
    """Print the fully resolved scenario as YAML annotated with units and meanings."""
    from govsim.describe import annotated_yaml
    from govsim.sizing import sizes_text

    scenario = load_scenario(args.scenario, args.set)
    sys.stdout.write(annotated_yaml(scenario) + sizes_text(scenario))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The full ``govsim`` argument parser, plugins included."""
    parser = StrictParser(
        prog="govsim",
        description="Agent-based simulation of technology-embedded urban governance (Mesa 3).",
    )
    parser.add_argument("--version", action="version", version=f"govsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "run",
        help="run a scenario and write its output folder",
        description="Run a scenario (a YAML file or a packaged name) and write "
        "OUT/<scenario>-s<seed>/ with the time series, summary, manifest and dashboard.",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file or packaged scenario name")
    p.add_argument(
        "--seed",
        type=_int_at_least(0, "a non-negative integer"),
        help="root seed (default: the scenario's seed)",
    )
    p.add_argument(
        "--days",
        type=_int_at_least(1, "a positive number of days"),
        help="days to simulate (default: the scenario's days)",
    )
    add_override_option(p)
    p.add_argument(
        "--out", default=str(DEFAULT_OUT), metavar="DIR", help="output root (default: results)"
    )
    p.add_argument("--format", choices=FORMATS, default="parquet", help="time-series file format")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing run folder of the same scenario and days (per its manifest)",
    )
    p.add_argument(
        "--replace-different",
        action="store_true",
        help="with --force: replace it even if it holds another scenario or number of days",
    )
    p.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar and no summary table"
    )
    p.add_argument("--no-dashboard", action="store_true", help="skip drawing dashboard.png")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "validate",
        help="check scenario files and list every problem",
        description="Check scenario files; exit 0 if all are valid, 2 otherwise.",
    )
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    add_override_option(p)
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("scenarios", help="list the packaged scenarios")
    p.set_defaults(func=_cmd_scenarios)

    p = sub.add_parser(
        "show",
        help="print a fully resolved scenario as YAML (with units)",
        description="Print the fully resolved scenario as YAML, each parameter commented with "
        "its unit and meaning. Save it, edit it, and run it.",
    )
    p.add_argument("scenario", metavar="SCENARIO")
    add_override_option(p)
    p.set_defaults(func=_cmd_show)

    _add_plugin_subcommands(sub)
    return parser


def _add_plugin_subcommands(subparsers: argparse._SubParsersAction) -> None:
    for module_name in PLUGIN_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # only the plugin module (or its package) being absent is tolerated
            if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
                continue
            raise
        module.add_subcommands(subparsers)


def _print_errors(messages: Sequence[str]) -> None:
    for message in messages:
        for line in str(message).splitlines() or [""]:
            print(f"error: {line}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``govsim`` console script.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 on success, 2 on bad input, 130 after Ctrl-C, 143 after SIGTERM.
    """
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:  # also while plugins load or arguments are parsed
        print("error: interrupted; nothing was written", file=sys.stderr)
        return 130


def _main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    args.argv = argv
    from govsim.interrupt import exit_code, sigterm_as_interrupt
    from govsim.sizing import plain_overload_warnings

    plain_overload_warnings()  # an overloaded city is told on stderr as one line (ODD §5)

    try:
        with sigterm_as_interrupt():  # SIGTERM cleans up like Ctrl-C; exit 143 instead of 130
            return int(args.func(args))
    except (ScenarioError, OutputError) as exc:
        _print_errors(exc.messages)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:
        print("error: interrupted; nothing was written", file=sys.stderr)
        return exit_code(exc)
    except OSError as exc:  # a path the system refuses (too long, not a folder, read-only...)
        _print_errors([_os_error_message(exc)])
        return EXIT_BAD_INPUT


def _os_error_message(exc: OSError) -> str:
    """``path: what the system said`` for an OSError that escaped the handlers' own checks."""
    where = exc.filename if exc.filename is not None else "(no path)"
    text = str(where)
    if len(text) > 120:
        text = text[:60] + "..." + text[-57:]
    return f"{text}: {exc.strerror or exc}"


if __name__ == "__main__":
    sys.exit(main())
