"""``govsim calibrate SCENARIO --patterns FILE --params FILE [--out DIR] [--holdout NAMES] [...]``.

Pattern-oriented calibration: validate the patterns and the parameter file (exit 2 with located
messages before any simulation), screen the parameters with Morris on the sweep engine, fit them
with ABC-SMC (pyabc), and write the outputs (:mod:`govsim.calibrate.report`) into ``--out``.
The executor options are ``govsim sweep``'s: ``--executor serial|processes|dask``, ``--workers``,
``--scheduler ADDRESS``, ``--cluster PROFILE`` (a SLURM profile starts dask-jobqueue jobs).
``--resume`` continues a killed calibration in the same folder: finished screening runs, finished
generations and every simulated particle are kept. Exit codes as the sweep commands: 0, 2 (bad
input), 130 (Ctrl-C), 143 (SIGTERM).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from govsim.config import ScenarioError

DEFAULT_ROOT = Path("results") / "calibrations"
EXIT_OK, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 130, 143
STATE = "calibration.json"
"""The folder's record of what it calibrates (a resume must ask for the same)."""


def add_subcommands(subparsers: Any) -> None:
    """Register ``calibrate`` on the main CLI's subparsers."""
    from govsim.experiment.cli import _positive_int

    p = subparsers.add_parser(
        "calibrate",
        help="fit a scenario's parameters to observed patterns (Morris screening, ABC-SMC)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    p.add_argument("scenario", help="scenario to calibrate (path or packaged name)")
    p.add_argument(
        "--patterns", required=True, metavar="FILE", help="pattern YAML (or a packaged name)"
    )
    p.add_argument(
        "--params",
        required=True,
        metavar="FILE",
        help="parameters to fit with their priors (YAML, or a packaged name)",
    )
    p.add_argument(
        "-o",
        "--out",
        metavar="DIR",
        default=None,
        help=f"output folder (default: {DEFAULT_ROOT}/NAME)",
    )
    p.add_argument(
        "--holdout",
        metavar="NAME,...",
        default="",
        help="patterns kept out of the fit and reported as validation",
    )
    p.add_argument("--resume", action="store_true", help="continue a calibration in --out")
    p.add_argument(
        "--generations",
        type=_positive_int,
        default=None,
        help="ABC-SMC generations in all (default: the parameter file's abc.generations); with "
        "--resume, more continues the fit and no more than are done writes the outputs",
    )
    p.add_argument(
        "--name",
        default=None,
        help="name of the best-fitting scenario (default: SCENARIO_calibrated)",
    )
    g = p.add_argument_group("execution (as govsim sweep)")
    g.add_argument("--executor", choices=("serial", "processes", "dask"), default="serial")
    g.add_argument("--workers", type=_positive_int, default=None, help="worker processes")
    g.add_argument("--scheduler", metavar="ADDRESS", default=None, help="join this Dask scheduler")
    g.add_argument(
        "--cluster", metavar="PROFILE", default=None, help="Dask cluster profile YAML (SLURM)"
    )
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_calibrate)


def _state(cal: Any, holdout: list[str]) -> dict[str, Any]:
    return {
        "scenario": cal.scenario_ref,
        "patterns_text": cal.patterns.text,
        "parameters_text": cal.text,
        "holdout": holdout,
    }


def check_folder(out: Path, state: dict[str, Any], resume: bool) -> None:
    """Refuse an output folder that holds another calibration, or any calibration without --resume.

    Raises:
        ScenarioError: located at the folder.
    """
    import json

    path = out / STATE
    if out.exists() and not out.is_dir():
        raise ScenarioError([f"--out {out}: exists and is not a folder"])
    if path.is_file():
        old = json.loads(path.read_text())
        if old != state:
            raise ScenarioError(
                [
                    f"--out {out}: holds a calibration of other inputs (scenario, patterns, "
                    "parameters or holdout differ); choose another folder"
                ]
            )
        if not resume:
            raise ScenarioError(
                [f"--out {out}: holds this calibration already; add --resume to continue it"]
            )
    elif out.exists() and any(out.iterdir()):
        raise ScenarioError(
            [f"--out {out}: exists and is not a calibration folder; choose a new one"]
        )


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Validate, screen, fit and report."""
    import json

    from govsim.calibrate.patterns import load_patterns
    from govsim.calibrate.spec import load_calibration
    from govsim.experiment.cli import _cluster
    from govsim.outputs import atomic_write_text

    started = datetime.now(UTC).isoformat(timespec="seconds")
    holdout = [h.strip() for h in args.holdout.split(",") if h.strip()]
    patterns = load_patterns(args.patterns)
    cal = load_calibration(args.params, args.scenario, patterns, holdout)
    if args.generations is not None:
        abc = cal.spec.abc.model_copy(update={"generations": args.generations})
        cal.spec = cal.spec.model_copy(update={"abc": abc})
    cluster = _cluster(args)
    out = Path(args.out) if args.out else DEFAULT_ROOT / cal.name
    state = _state(cal, cal.holdout)
    check_folder(out, state, args.resume)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScenarioError([f"--out {out}: cannot create ({exc.strerror or exc})"]) from None
    atomic_write_text(out / STATE, json.dumps(state, indent=2) + "\n")
    progress = False if args.quiet else None
    try:
        return run_calibration(
            cal,
            out,
            executor=args.executor,
            workers=args.workers,
            scheduler=args.scheduler,
            cluster=cluster,
            resume=args.resume,
            progress=progress,
            command=["govsim", *sys.argv[1:]],
            best_name=args.name or f"{Path(args.scenario).stem}_calibrated",
            started_at=started,
        )
    except KeyboardInterrupt as exc:
        from govsim.interrupt import Terminated

        print(
            f"stopped; finished simulations are kept in {out}: run again with --resume",
            file=sys.stderr,
        )
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def run_calibration(
    cal: Any,
    out: Path,
    *,
    executor: str = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: Any = None,
    resume: bool = False,
    progress: bool | None = False,
    command: list[str] | None = None,
    best_name: str = "calibrated",
    started_at: str = "",
    truth: dict[str, float] | None = None,
) -> int:
    """Screening, ABC-SMC and outputs of a validated calibration in ``out`` (the library entry)."""
    from govsim.calibrate.fit import identifiable, posterior_frame, run_abc, screening
    from govsim.calibrate.report import write_outputs

    out.mkdir(parents=True, exist_ok=True)
    table = None
    if cal.spec.screening.enabled:
        table = screening(
            cal,
            out,
            executor=executor,
            workers=workers,
            scheduler=scheduler,
            cluster=cluster,
            progress=progress,
        )
        ident = identifiable(cal, table)
        if progress is not False:
            print(
                f"screening: identifiable parameters: {', '.join(ident) or 'none'}",
                file=sys.stderr,
            )
    history = run_abc(
        cal,
        out,
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        cluster=cluster,
        resume=resume,
        progress=progress,
    )
    post = posterior_frame(cal, history)
    manifest = write_outputs(
        cal,
        out,
        post,
        table,
        history.get_all_populations(),
        command=command or [],
        best_name=best_name,
        truth=truth,
        started_at=started_at,
        ended_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    fitted = [p for p in manifest["patterns"] if p["role"] == "fitted"]
    held = [p for p in manifest["patterns"] if p["role"] != "fitted"]
    if progress is not False:
        print(
            f"wrote {out}: fitted patterns pass {sum(p['pass'] for p in fitted)}/{len(fitted)}, "
            f"held out {sum(p['pass'] for p in held)}/{len(held)}; report {out / 'report.md'}",
            file=sys.stderr,
        )
    return EXIT_OK
