"""Executing a plan: any subset of runs, on any executor, resumable, one result file per run.

``govsim execute DIR [--executor serial|processes|dask] [--workers N] [--scheduler ADDRESS]
[--shard I/N] [--retry-failed]``:

- selects the runs of shard ``I`` of ``N`` (``run_id % N == I``; strided, so every shard gets a
  similar mix of parameter values), then skips those already done (a result file with this plan's
  design hash and code version; failed ones too unless ``--retry-failed``);
- runs the rest in chunks, each chunk in one task; the task writes each run's file atomically as it
  finishes and skips a run whose file appeared meanwhile (a chunk redone after its worker died);
- stops with a clear error, before running anything, when the code version differs from the plan's
  or when results of another design or code are present.

A run that raises is recorded as failed (with its error) and the sweep goes on. Because each run's
seed comes from the root seed and its run id only, results are identical whichever executor,
worker count, shard split, order, retry or resume produced them.

A run counts as done only when its result file is a valid record and its daily table, if kept, is
whole (:func:`govsim.experiment.results.finished`); a malformed or truncated file is run again.

Stopping: Ctrl-C (SIGINT) or SIGTERM stops an execute within moments. The process pool's workers
ignore SIGINT (the terminal sends it to them too) and are killed by the parent, their running
chunks abandoned; the runs they had finished are on disk. The summary then counts the result files
written by this execute, so it matches what is on disk exactly. If the parent is killed outright
(SIGKILL), its workers die with it: each worker asks Linux to send it SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), and a watchdog thread in each worker also exits when the parent is
gone (other systems). Temporary files of killed writers are removed by the next execute.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Literal

from govsim.config import ScenarioError
from govsim.experiment import results as store
from govsim.experiment.cluster import dask_client, default_workers
from govsim.experiment.plan import FIXED_COLUMNS, Plan, load_plan
from govsim.experiment.progress import Progress, Summary
from govsim.experiment.provenance import code_version
from govsim.experiment.run import RunContext, RunTask, run_chunk
from govsim.experiment.spec import ClusterSpec
from govsim.interrupt import Terminated, sigint_ignored, signals_held

Executor = Literal["serial", "processes", "dask"]
EXECUTORS: tuple[str, ...] = ("serial", "processes", "dask")
MAX_CHUNK = 50
"""Largest number of runs sent to a worker as one task."""

Done = Callable[[int, str], None]


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``I/N`` (``0 <= I < N``), as given by SLURM's ``$SLURM_ARRAY_TASK_ID`` over N tasks.

    Raises:
        ScenarioError: on anything else.
    """
    i_text, sep, n_text = text.partition("/")
    try:
        i, n = int(i_text), int(n_text)
    except ValueError:
        i = n = -1
    if not sep or n < 1 or not 0 <= i < n:
        raise ScenarioError(
            [f"--shard {text}: expected I/N with 0 <= I < N (shard indices count from 0)"]
        )
    return i, n


def context(plan: Plan) -> RunContext:
    """The shared run context of a plan."""
    m = plan.manifest
    return RunContext(
        kind=m["target"]["kind"],
        ref=m["target"].get("ref") if m["target"]["kind"] == "function" else None,
        base_scenario=plan.base_scenario,
        constants=dict(m.get("set") or {}) if m["target"]["kind"] == "function" else {},
        days=m.get("days"),
        timeseries=bool(m.get("timeseries")),
        design_hash=m["design_hash"],
        code_version=m["code_version"],
        results_dir=str(plan.results_dir.resolve()),
    )


def tasks_for(plan: Plan, run_ids: Iterable[int] | None = None) -> list[RunTask]:
    """Design rows as run tasks (all, or these run ids), in run-id order."""
    table = plan.design
    if run_ids is not None:
        table = table[table["run_id"].isin(list(run_ids))]
    names = [c for c in table.columns if c not in FIXED_COLUMNS]
    columns = {c: table[c].tolist() for c in (*FIXED_COLUMNS, *names)}
    return [
        RunTask(
            run_id=int(columns["run_id"][k]),
            point_id=int(columns["point_id"][k]),
            replicate=int(columns["replicate"][k]),
            seed=int(columns["seed"][k]),
            params={n: columns[n][k] for n in names},
        )
        for k in range(len(table))
    ]


def _chunks(tasks: list[RunTask], size: int) -> list[list[RunTask]]:
    return [tasks[i : i + size] for i in range(0, len(tasks), size)]


def auto_chunk_size(n_tasks: int, workers: int) -> int:
    """Runs per task: about 16 tasks per worker, at most :data:`MAX_CHUNK` runs each."""
    return max(1, min(MAX_CHUNK, n_tasks // max(1, workers * 16)))


def _run_serial(ctx: RunContext, tasks: list[RunTask], retry_failed: bool, done: Done) -> None:
    run_chunk(ctx, tasks, retry_failed, done)


_PR_SET_PDEATHSIG = 1
WATCHDOG_SECONDS = 1.0
"""How often a pool worker checks that its parent is still alive."""


def _die_with_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid`` (its parent) ends, however that ends."""
    with contextlib.suppress(OSError, AttributeError):  # Linux only
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(WATCHDOG_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="govsim-parent-watchdog", daemon=True).start()


def _worker_started(parent_pid: int) -> None:
    """Initializer of pool workers: leave Ctrl-C to the parent, and die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid)


def _kill_workers(pool: ProcessPoolExecutor) -> set[int]:
    """Kill a pool's worker processes at once and wait for them; return their process ids.

    Uses the pool's process table (``_processes``, not public API before Python 3.14's
    ``kill_workers``); a pool without one is left to shut down by itself.
    """
    processes = dict(getattr(pool, "_processes", None) or {})
    for proc in processes.values():
        with contextlib.suppress(OSError, ValueError, AttributeError):
            proc.kill()
    for proc in processes.values():
        with contextlib.suppress(OSError, ValueError, AttributeError):
            proc.join(timeout=10)
    return set(processes)


def _run_processes(
    ctx: RunContext, tasks: list[RunTask], retry_failed: bool, done: Done, workers: int, chunk: int
) -> None:
    mp = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp,
        initializer=_worker_started,
        initargs=(os.getpid(),),
    )
    try:
        # workers start while submitting: they inherit an ignored SIGINT, so a Ctrl-C at the
        # terminal (sent to the whole process group) cannot interrupt them while they import
        with sigint_ignored():
            pending = {pool.submit(run_chunk, ctx, c, retry_failed) for c in _chunks(tasks, chunk)}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                for run_id, status in fut.result():
                    done(run_id, status)
    except BaseException:
        with signals_held():  # a second Ctrl-C must not cut the clean-up short
            killed = _kill_workers(pool)
            pool.shutdown(wait=False, cancel_futures=True)
            store.clean_temporaries(Path(ctx.results_dir), killed)
        raise
    finally:
        pool.shutdown(wait=True)


def _run_dask(
    ctx: RunContext,
    tasks: list[RunTask],
    retry_failed: bool,
    done: Done,
    *,
    workers: int | None,
    chunk: int,
    scheduler: str | None,
    cluster: ClusterSpec | None,
) -> None:
    from distributed import as_completed

    lost: list[str] = []
    with dask_client(workers=workers, scheduler=scheduler, cluster=cluster) as client:
        chunks = _chunks(tasks, chunk)
        futures = [
            client.submit(
                run_chunk,
                ctx,
                c,
                retry_failed,
                pure=False,
                retries=2,
                key=f"govsim-runs-{c[0].run_id}-{c[-1].run_id}-{i}",
            )
            for i, c in enumerate(chunks)
        ]
        for fut in as_completed(futures):
            try:
                statuses = fut.result()
            except Exception as exc:  # e.g. KilledWorker after repeated worker deaths
                lost.append(f"{fut.key}: {type(exc).__name__}: {exc}")
                continue
            for run_id, status in statuses:
                done(run_id, status)
    if lost:
        raise ScenarioError(
            [
                f"{len(lost)} tasks could not be completed on the Dask cluster; run execute again to finish "
                "(finished runs are kept):",
                *lost[:10],
            ]
        )


def select(
    plan: Plan, shard: tuple[int, int] | None, retry_failed: bool
) -> tuple[list[RunTask], Summary]:
    """The runs of this shard still to do, and the counts so far.

    Raises:
        ScenarioError: when results of another design or code version are present.
    """
    ids = range(plan.n_runs)
    if shard is not None:
        i, n = shard
        ids = range(i, plan.n_runs, n)
    wanted = set(ids)
    existing = store.read_all(plan.results_dir, wanted)
    stamp = plan.stamp
    foreign = sorted(r for r, rec in existing.items() if not store.matches(rec, stamp))
    if foreign:
        rec = existing[foreign[0]]
        raise ScenarioError(
            [
                f"{plan.results_dir}: {len(foreign)} result files belong to another design or code version "
                f"(runs {store.format_ids(foreign, 10)}; e.g. design {str(rec.get('design_hash'))[:12]}, code "
                f"{rec.get('code_version')}; this plan: design {stamp.design_hash[:12]}, code {stamp.code_version}). "
                "Move them away or plan into a new directory; they are not mixed in"
            ]
        )
    done = {
        r
        for r, rec in existing.items()
        if store.finished(plan.results_dir, rec, stamp, retry_failed)
    }
    todo_ids = sorted(wanted - done)
    summary = Summary(planned=plan.n_runs, selected=len(wanted), skipped=len(done))
    return tasks_for(plan, todo_ids) if todo_ids else [], summary


def execute(
    directory: str | Path,
    *,
    executor: Executor = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    shard: tuple[int, int] | None = None,
    retry_failed: bool = False,
    chunk_size: int | None = None,
    cluster: ClusterSpec | None = None,
    progress: bool | None = None,
) -> Summary:
    """Execute the runs of a plan that are not done yet.

    Args:
        directory: The plan directory.
        executor: ``serial`` (this process), ``processes`` (a local process pool) or ``dask``.
        workers: Worker processes (processes, local Dask; default: the CPU count).
        scheduler: Dask scheduler address to join (``--executor dask``).
        shard: ``(I, N)``: run only ``run_id % N == I``.
        retry_failed: Run failed runs again.
        chunk_size: Runs per task (default: :func:`auto_chunk_size`).
        cluster: Dask cluster spec (default: the experiment's ``cluster:`` section).
        progress: Show the bar (None: only on a terminal).

    Returns:
        The counts of this execute (``interrupted`` is set after Ctrl-C, SIGTERM (``terminated``
        too) or the death of a pool worker (``lost_worker``); finished runs are kept and counted
        from the result files on disk).

    Raises:
        ScenarioError: on a bad plan, a code-version change, foreign results or a bad option.
    """
    if executor not in EXECUTORS:
        raise ScenarioError([f"--executor {executor}: expected one of {', '.join(EXECUTORS)}"])
    plan = load_plan(directory)
    current = code_version()
    if current != plan.manifest["code_version"]:
        raise ScenarioError(
            [
                f"{plan.dir}: planned with code version {plan.manifest['code_version']}, but this is {current}; "
                "results of different code must not be mixed: plan again into a new directory "
                "(or set GOVSIM_CODE_VERSION if only the detection differs, e.g. on cluster nodes)"
            ]
        )
    if scheduler and executor != "dask":
        raise ScenarioError(["--scheduler applies to --executor dask only"])
    store.clean_temporaries(plan.results_dir)  # of executes killed earlier
    tasks, summary = select(plan, shard, retry_failed)
    todo_ids = {t.run_id for t in tasks}
    before = _file_ids(plan.results_dir, todo_ids)
    ctx = context(plan)
    if cluster is None and plan.manifest.get("cluster"):
        cluster = ClusterSpec.model_validate(plan.manifest["cluster"])
    n_workers = workers or default_workers()
    chunk = chunk_size or auto_chunk_size(len(tasks), n_workers)
    bar = Progress(len(tasks), desc=plan.manifest["name"], enabled=progress)
    lost_worker = False
    try:
        if tasks:
            if executor == "serial":
                _run_serial(ctx, tasks, retry_failed, bar.update)
            elif executor == "processes":
                _run_processes(ctx, tasks, retry_failed, bar.update, n_workers, chunk)
            else:
                _run_dask(
                    ctx,
                    tasks,
                    retry_failed,
                    bar.update,
                    workers=workers,
                    chunk=chunk,
                    scheduler=scheduler,
                    cluster=cluster,
                )
    except KeyboardInterrupt as exc:
        interrupted, terminated = True, isinstance(exc, Terminated)
    except BrokenProcessPool:  # a worker was killed from outside (the OOM killer, kill -9)
        interrupted, terminated = True, False
        lost_worker = True
    else:
        interrupted = terminated = False
    finally:
        counts = bar.close()
    if interrupted:  # count what is on disk: runs finished by abandoned chunks were not reported
        with signals_held():
            counts = _written_now(plan, todo_ids, before, counts)
    counts.terminated = terminated
    counts.lost_worker = lost_worker
    counts.interrupted = interrupted
    counts.planned, counts.selected, counts.skipped = (
        summary.planned,
        summary.selected,
        summary.skipped,
    )
    counts.failed_ids.sort()
    return counts


def _file_ids(results_dir: Path, run_ids: set[int]) -> dict[int, int]:
    """The inode of each of these runs' result files that exists (a rewrite changes it)."""
    out = {}
    for run_id in run_ids:
        with contextlib.suppress(OSError):
            out[run_id] = store.result_path(results_dir, run_id).stat().st_ino
    return out


def _written_now(
    plan: Plan, todo_ids: set[int], before: dict[int, int], counts: Summary
) -> Summary:
    """The counts of an interrupted execute, from the result files it wrote.

    A run counts when it was to do and its file is a finished record written since the execute
    began (absent before, or replaced: atomic replacement gives it a new inode).
    """
    now = store.read_all(plan.results_dir, todo_ids)
    ok = 0
    failed_ids = []
    for run_id, rec in now.items():
        if run_id in before:
            try:
                same = store.result_path(plan.results_dir, run_id).stat().st_ino == before[run_id]
            except OSError:
                same = True
            if same:
                continue
        if not store.finished(plan.results_dir, rec, plan.stamp, retry_failed=False):
            continue
        if rec["status"] == "ok":
            ok += 1
        else:
            failed_ids.append(run_id)
    counts.ok, counts.failed, counts.failed_ids = ok, len(failed_ids), sorted(failed_ids)
    return counts
