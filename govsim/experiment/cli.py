"""Subcommands of ``govsim`` for experiments: plan, execute, merge, analyze, sweep, slurm, compare.

Contract with the main CLI (:mod:`govsim.cli`): it calls :func:`add_subcommands` with its argparse
``subparsers`` object. Every subcommand sets ``func=handler`` where ``handler(args: Namespace) -> int``
returns the exit code:

- ``0``: success;
- ``1``: the sweep ran but some runs failed (they are recorded with their errors; ``execute``,
  ``sweep``), or a pool worker died and the execute stopped early (its summary says so), so that a
  SLURM array task or a CI step shows the failure;
- ``130``: ``execute`` / ``sweep`` stopped by Ctrl-C; ``143``:
  stopped by SIGTERM (``scancel``, ``kill``); the runs that finished are kept (a summary counts
  them) and running the command again resumes;
- bad input, incomplete or inconsistent results: the handler raises
  :class:`govsim.config.ScenarioError` (every message ``where: what``); the main CLI prints
  ``error: ...`` lines and exits with ``2``. Nothing is half-written in that case.

Handlers import the pipeline (pandas, SALib, Dask) lazily, so ``govsim run`` does not pay for it.
:func:`main` runs these subcommands alone (``python -m govsim.experiment``) with the same contract.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from govsim.cli import StrictParser, key_value
from govsim.config import ScenarioError

DEFAULT_SWEEP_ROOT = Path("results") / "sweeps"
"""Where ``govsim sweep`` plans when no ``-o`` is given."""

EXIT_OK, EXIT_RUNS_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 (got {value})")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number (got {text[:40]!r})") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2**63-1 (got {value})")
    return value


def _add_execute_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("execution")
    g.add_argument(
        "--executor",
        choices=("serial", "processes", "dask"),
        default="serial",
        help="where runs execute (default: serial)",
    )
    g.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="worker processes (default: the CPU count)",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="join this Dask scheduler (tcp://host:8786)",
    )
    g.add_argument(
        "--cluster",
        metavar="PROFILE",
        default=None,
        help="Dask cluster profile YAML (keys of the experiment's cluster: section), or 'local' to ignore that section",
    )
    g.add_argument(
        "--shard", metavar="I/N", default=None, help="run only run_id %% N == I (0 <= I < N)"
    )
    g.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    g.add_argument(
        "--chunk-size", type=_positive_int, default=None, help="runs per task (default: automatic)"
    )
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")


def add_subcommands(subparsers: Any) -> None:
    """Register plan, execute, merge, analyze, sweep, slurm and compare on an argparse subparsers object."""
    p = subparsers.add_parser(
        "plan", help="write an experiment's design table and manifest", description=_doc("plan")
    )
    p.add_argument("experiment", help="experiment YAML file")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="plan directory (created)")
    p.set_defaults(func=cmd_plan)

    p = subparsers.add_parser(
        "execute", help="run a plan's runs that are not done yet", description=_doc("execute")
    )
    p.add_argument("dir", help="plan directory")
    _add_execute_options(p)
    p.set_defaults(func=cmd_execute)

    p = subparsers.add_parser(
        "merge", help="check a sweep is complete and write runs.parquet", description=_doc("merge")
    )
    p.add_argument("dir", help="plan directory")
    p.add_argument(
        "--timeseries",
        action="store_true",
        help="also write timeseries.parquet (long, by run_id and day)",
    )
    p.set_defaults(func=cmd_merge)

    p = subparsers.add_parser(
        "analyze", help="Sobol or Morris indices of a merged sweep", description=_doc("analyze")
    )
    p.add_argument("dir", help="plan directory")
    _add_analyze_options(p)
    p.set_defaults(func=cmd_analyze)

    p = subparsers.add_parser(
        "sweep", help="plan, execute, merge and analyze in one go", description=_doc("sweep")
    )
    p.add_argument("experiment", help="experiment YAML file")
    p.add_argument(
        "-o",
        "--out",
        metavar="DIR",
        default=None,
        help=f"plan directory (default: {DEFAULT_SWEEP_ROOT}/NAME)",
    )
    p.add_argument("--timeseries", action="store_true", help="also merge the daily tables")
    p.add_argument("--no-analyze", action="store_true", help="stop after merging")
    _add_execute_options(p)
    _add_analyze_options(p)
    p.set_defaults(func=cmd_sweep)

    p = subparsers.add_parser(
        "slurm", help="write an sbatch job-array script for a plan", description=_doc("slurm")
    )
    p.add_argument("dir", help="plan directory")
    p.add_argument(
        "--runs-per-task", type=_positive_int, default=None, help="runs batched into one array task"
    )
    p.add_argument(
        "--max-parallel", type=_positive_int, default=None, help="at most this many tasks at once"
    )
    p.add_argument("--partition", default=None)
    p.add_argument("--account", default=None)
    p.add_argument("--time", default=None, help="time limit per task, e.g. 02:00:00")
    p.add_argument("--mem", default=None, help="memory per task, e.g. 4G")
    p.add_argument(
        "--cpus-per-task",
        type=_positive_int,
        default=None,
        help="CPUs per task (>1: a process pool)",
    )
    p.add_argument(
        "-o", "--output", default=None, help="script path (default: DIR/slurm/govsim-array.sbatch)"
    )
    p.set_defaults(func=cmd_slurm)

    p = subparsers.add_parser(
        "compare", help="compare two scenarios on paired seeds", description=_doc("compare")
    )
    p.add_argument("a", help="scenario A (path or packaged name) or module:function")
    p.add_argument(
        "b", nargs="?", default=None, help="scenario B (default: A, with --set-b variants)"
    )
    p.add_argument(
        "--replicates", type=_positive_int, default=10, help="pairs of runs (default: 10)"
    )
    p.add_argument(
        "--set",
        dest="set",
        action="append",
        default=[],
        type=key_value,
        metavar="KEY.PATH=VALUE",
        help="override for both",
    )
    p.add_argument(
        "--set-a",
        dest="set_a",
        action="append",
        default=[],
        type=key_value,
        metavar="KEY.PATH=VALUE",
        help="override for A",
    )
    p.add_argument(
        "--set-b",
        dest="set_b",
        action="append",
        default=[],
        type=key_value,
        metavar="KEY.PATH=VALUE",
        help="override for B",
    )
    p.add_argument(
        "--days", type=_positive_int, default=None, help="simulated days (default: the scenario's)"
    )
    p.add_argument(
        "--seed",
        type=_nonnegative_int,
        default=None,
        help="root seed of the pairs (default: A's seed)",
    )
    p.add_argument("--workers", type=_positive_int, default=1, help="processes (default: 1)")
    p.add_argument(
        "--conf-level", type=float, default=0.95, help="confidence level (default: 0.95)"
    )
    p.add_argument(
        "--out",
        default=str(Path("results") / "compare"),
        metavar="DIR",
        help="output root: writes DIR/<A>-vs-<B>-<hash>/ (default: results/compare)",
    )
    p.add_argument(
        "--force", action="store_true", help="replace an existing folder of the same comparison"
    )
    p.add_argument("--no-figure", action="store_true", help="skip drawing difference.png")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_compare)


def _add_analyze_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("analysis")
    g.add_argument(
        "--outputs", default=None, help="comma-separated outputs (default: the experiment's)"
    )
    g.add_argument(
        "--resamples", type=_positive_int, default=200, help="bootstrap resamples (default: 200)"
    )
    g.add_argument(
        "--conf-level", type=float, default=0.95, help="confidence level (default: 0.95)"
    )
    g.add_argument("--no-plots", action="store_true", help="do not draw plots")


DESCRIPTIONS: dict[str, str] = {
    "plan": "Write an experiment's design table (one row per run, with its seed) and a manifest into DIR.",
    "execute": "Run the runs of a plan that are not done yet (one result file per run; resumable; shardable).",
    "merge": "Check a sweep is complete and consistent; write runs.parquet, runs.csv (the same, plain CSV) "
    "and, when asked, timeseries.parquet.",
    "analyze": "Sobol or Morris sensitivity indices with confidence intervals (replicates averaged), "
    "against the replicate noise (Morris noise floor, Sobol noise share), with warnings when they "
    "cannot be trusted; writes sensitivity.parquet, sensitivity.txt and plots.",
    "sweep": "Plan, execute, merge and (for Sobol/Morris designs) analyze an experiment in one go.",
    "slurm": "Write an sbatch job-array script whose tasks each execute one shard of the plan.",
    "compare": "Compare two scenarios (or variants of one) on paired seeds: per-metric difference with its "
    "confidence interval. Writes OUT/<A>-vs-<B>-<hash>/ (comparison.csv, runs.csv, difference.png, "
    "manifest.json); the hash covers both resolved scenarios, the overrides, days, replicates and seed.",
}


def _doc(name: str) -> str:
    return DESCRIPTIONS[name]


def _cluster(args: argparse.Namespace) -> Any:
    from govsim.experiment.cluster import load_cluster_profile
    from govsim.experiment.spec import ClusterSpec

    if args.cluster is None:
        return None
    if args.cluster == "local":
        return ClusterSpec(kind="local")
    return load_cluster_profile(args.cluster)


def _execute(args: argparse.Namespace, directory: str) -> int:
    from govsim.experiment.execute import execute, parse_shard

    shard = parse_shard(args.shard) if args.shard else None
    summary = execute(
        directory,
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        shard=shard,
        retry_failed=args.retry_failed,
        chunk_size=args.chunk_size,
        cluster=_cluster(args),
        progress=False if args.quiet else None,
    )
    if not args.quiet or summary.interrupted:
        print(summary.line(), file=sys.stderr)
    if summary.lost_worker:
        return EXIT_RUNS_FAILED
    if summary.interrupted:
        return EXIT_TERMINATED if summary.terminated else EXIT_INTERRUPTED
    return EXIT_RUNS_FAILED if summary.failed else EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    """``govsim plan EXP -o DIR``."""
    from govsim.experiment.plan import plan
    from govsim.experiment.spec import load_experiment

    p, written = plan(load_experiment(args.experiment), args.out)
    m = p.manifest
    state = "planned" if written else "already planned (unchanged)"
    print(
        f"{state}: {m['n_runs']} runs ({m['n_points']} points x {m['replicates']} replicates, {m['method']}) "
        f"in {p.dir}; design {m['design_hash'][:12]}, code {m['code_version']}"
    )
    return EXIT_OK


def cmd_execute(args: argparse.Namespace) -> int:
    """``govsim execute DIR [...]``."""
    return _execute(args, args.dir)


def cmd_merge(args: argparse.Namespace) -> int:
    """``govsim merge DIR [--timeseries]``."""
    from govsim.experiment.merge import merge

    runs, written = merge(args.dir, timeseries=args.timeseries)
    failed = int((runs["status"] != "ok").sum())
    print(f"merged {len(runs)} runs ({failed} failed) into " + ", ".join(str(p) for p in written))
    return EXIT_OK


def _analyze(args: argparse.Namespace, directory: str) -> int:
    from govsim.experiment.analyze import analyze, format_table

    outputs = [o.strip() for o in args.outputs.split(",") if o.strip()] if args.outputs else None
    if not 0 < args.conf_level < 1:
        raise ScenarioError([f"--conf-level {args.conf_level}: expected a number between 0 and 1"])
    table, written = analyze(
        directory,
        outputs=outputs,
        num_resamples=args.resamples,
        conf_level=args.conf_level,
        plots=not args.no_plots,
    )
    print(format_table(table))
    print("wrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


def cmd_analyze(args: argparse.Namespace) -> int:
    """``govsim analyze DIR [...]``."""
    return _analyze(args, args.dir)


def cmd_sweep(args: argparse.Namespace) -> int:
    """``govsim sweep EXP [-o DIR] [...]``: plan, execute, merge, analyze."""
    from govsim.experiment.merge import merge
    from govsim.experiment.plan import plan
    from govsim.experiment.spec import load_experiment

    exp = load_experiment(args.experiment)
    out = args.out or str(DEFAULT_SWEEP_ROOT / exp.spec.name)
    p, written = plan(exp, out)
    print(f"{'planned' if written else 'resuming'} {p.n_runs} runs in {p.dir}")
    code = _execute(args, out)
    if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        return code
    runs, paths = merge(out, timeseries=args.timeseries)
    print("merged into " + ", ".join(str(x) for x in paths))
    if code != EXIT_OK:
        failed = runs.loc[runs["status"] != "ok", "run_id"].tolist()
        from govsim.experiment.results import format_ids

        print(
            f"{len(failed)} runs failed ({format_ids(failed, 10)}); not analysing. Fix the cause, then "
            f"`govsim execute {out} --retry-failed` and `govsim analyze {out}`",
            file=sys.stderr,
        )
        return code
    if args.no_analyze or p.manifest["method"] not in ("sobol", "morris"):
        return EXIT_OK
    return _analyze(args, out)


def cmd_slurm(args: argparse.Namespace) -> int:
    """``govsim slurm DIR [...]``: write the sbatch array script."""
    from govsim.experiment.slurm import write_script

    overrides = {
        "runs_per_task": args.runs_per_task,
        "max_parallel": args.max_parallel,
        "partition": args.partition,
        "account": args.account,
        "time": args.time,
        "mem": args.mem,
        "cpus_per_task": args.cpus_per_task,
    }
    script = write_script(args.dir, overrides=overrides, output=args.output)
    print(f"wrote {script.path}: {script.tasks} array tasks of up to {script.runs_per_task} runs")
    print(f"submit with: sbatch {script.path}    then: govsim merge {args.dir}")
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """``govsim compare A [B] --replicates N [...]``: print the table and write the folder."""
    from datetime import datetime

    from govsim.experiment.compare import (
        format_table,
        paired_table,
        prepare,
        run_pairs,
        write_comparison,
    )
    from govsim.outputs import check_destination

    started_at = datetime.now().astimezone()
    spec = prepare(
        args.a,
        args.b,
        replicates=args.replicates,
        set_both=args.set,
        set_a=args.set_a,
        set_b=args.set_b,
        days=args.days,
        seed=args.seed,
        conf_level=args.conf_level,
    )
    dest = Path(args.out) / spec.folder_name
    check_destination(dest, force=args.force)  # fail before spending time on the runs
    recs_a, recs_b = run_pairs(
        spec.a,
        spec.b,
        spec.replicates,
        spec.root_seed,
        args.workers,
        False if args.quiet else None,
    )
    table = paired_table(recs_a, recs_b, spec.conf_level)
    write_comparison(
        spec,
        table,
        recs_a,
        recs_b,
        dest,
        force=args.force,
        command=["govsim", *args.argv],
        started_at=started_at,
        workers=args.workers,
        figure=not args.no_figure,
    )
    print(format_table(table, spec.label_a, spec.label_b, spec.conf_level))
    print(dest)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """A parser with only the experiment subcommands (for ``python -m govsim.experiment``)."""
    parser = StrictParser(prog="govsim-experiment", description=__doc__.split("\n\n")[0])
    add_subcommands(parser.add_subparsers(dest="command", metavar="COMMAND"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one experiment subcommand; ``ScenarioError`` becomes ``error:`` lines and exit code 2."""
    from govsim.outputs import OutputError

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    args.argv = argv
    from govsim.interrupt import exit_code, sigterm_as_interrupt

    try:
        with sigterm_as_interrupt():
            return int(args.func(args))
    except (ScenarioError, OutputError) as exc:
        for message in exc.messages:
            print(f"error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # a path the system refuses (too long, not a folder, read-only...)
        print(f"error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:
        print("error: interrupted", file=sys.stderr)
        return exit_code(exc)
