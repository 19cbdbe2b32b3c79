"""The govsim benchmark suite: one command, one report.

    python -m benchmarks.run            # 10k, 100k and 1M citizens x 365 days (9, 3, 3 repeats)
    python -m benchmarks.run --quick    # a small smoke run (seconds), same report format
    python -m benchmarks.run --publish  # the full suite, written to the committed report

For every population size, and for each repeat, three measurements run one after another, each in a
fresh interpreter (:mod:`benchmarks.worker`), so they share the machine's state at that moment:

1. govsim end to end on the baseline scenario scaled to that many citizens
   (:func:`benchmarks.scaling.scaled_baseline`): citizen-days/s, cases/s, peak RSS;
2. the peer anchor: Mesa's own empty-step ``shuffle_do`` loop at the same number of agents, in
   agent-steps/s;
3. the practical limit: one vectorised NumPy draw per citizen per day, in draws/s;
4. the fixed cost: govsim at :data:`FIXED_COST_SIZE` citizens (1,000), a population so small that
   its run is nearly all the work a day costs whatever the population (the engine's, intake's and
   metrics' per-call overhead). Its time subtracted from the size's, in the same repeat, leaves
   the cost of the other ``N - 1,000`` citizens; the exponent of that against ``N - 1,000`` says
   how the work beyond the fixed cost grows (exactly 1 for time ``fixed + a * N``).

Then the classroom demo's speed (``benchmarks.worker demo``): its two cities of
:data:`DEMO_CITIZENS` citizens each (the classroom size), stepped headless, in days per second.

Then ``govsim run``'s start-up beside Mesa's own import, and the compiled kernels' one-off cost
(compiling into an empty numba cache, loading a filled one).

Then, once, a sweep as researchers run them (``benchmarks.worker sweep``): a 32-run Sobol design
over the platform levers at 10k citizens (the smallest size measured, if not 10k), planned and
executed with a local process pool, in core-seconds per run over all processes.

Because shared machines are noisy, the report leads with *ratios* computed within each repeat
(govsim / Mesa, NumPy / govsim) and gives medians with min and max over the repeats. The growth
exponent is the slope of log(median end-to-end seconds) against log(citizens). The report, with
machine and version information, is written atomically to the results folder ``benchmarks/out/``
(not tracked by git): ``results.md`` (and the raw measurements in ``results.json`` beside it), or
``quick.md`` for a ``--quick`` smoke run. Only ``--publish``, refused with ``--quick`` or
``--out``, writes the committed ``benchmarks/results.md`` and ``results.json``, so no run replaces
the committed report by accident.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from benchmarks.worker import SWEEP_EXPERIMENT, sweep_design_points
from govsim.cli import StrictParser
from govsim.outputs import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "out"
"""The results folder: untracked (.gitignore lists it), so a run never changes the committed report
or makes later manifests say ``dirty``."""
DEFAULT_OUT = RESULTS_DIR / "results.md"
"""Where a full run writes by default."""
QUICK_OUT = RESULTS_DIR / "quick.md"
"""Where a ``--quick`` smoke run writes by default."""
PUBLISHED = ROOT / "benchmarks" / "results.md"
"""The committed report: only ``--publish`` (a full run) writes it."""
DEMO_CITIZENS = 3_000
"""Citizens per city of the classroom-demo measurement (govsim.viz.levers.CLASSROOM_CITIZENS)."""
FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 4_000)
MESA_AGENT_STEPS = 2_000_000
"""Mesa is stepped until about this many agent-steps (at least 3 steps)."""

TARGET_MESA_RATIO = 20.0
TARGET_1M_SECONDS = 15.0
TARGET_1M_RSS_GB = 2.0
TARGET_EXPONENT = (0.9, 1.1)
TARGET_10K_SECONDS = 0.25
TARGET_STARTUP_SECONDS = 1.0
"""Issue 19's targets: 20x Mesa's empty step at 100k, 1M x 365 in 15 s of simulation and 2 GB,
a 10k year in 0.25 s of simulation, ``govsim run`` start-up in 1 s where Mesa's import allows."""
GOVSIM = str(Path(sys.executable).with_name("govsim"))
"""The ``govsim`` command of this environment (what a user runs)."""
STARTUP_REPEATS = 7
"""Runs of each start-up measurement (each a fresh interpreter, a fraction of a second)."""
KERNEL_PROBE = """
import json
from govsim import compiled
first = compiled.warm()
print(json.dumps({"first_call": sum(first.values()), "kernels": len(first),
                  "cache": str(compiled.cache_dir())}))
"""
"""Every kernel's first call in a fresh interpreter (a 2,000-citizen city made to use them):
importing numba, then compiling each kernel or loading it from the cache."""
FIXED_COST_SIZE = 1_000
"""Citizens of the fixed-cost runs (skipped when not below the smallest size measured)."""
SWEEP_SIZE = 10_000
"""Citizens of the sweep measurement (the smallest size measured if this one is not)."""
SWEEP_RUNS = 32
QUICK_SWEEP_RUNS = 8
SMALL_SIZE = 100_000
SMALL_REPEATS = 9
"""Populations below SMALL_SIZE run in seconds, where this machine's noise (+-20% between runs)
is as large as a target's margin; they are repeated SMALL_REPEATS times (cheap) so their medians
are steadier."""


def _progress(line: str) -> None:
    """Progress lines go to stderr (the report goes to stdout)."""
    print(line, file=sys.stderr, flush=True)


def run_worker(kind: str, n: int, count: int, seed: int, *extra: int) -> dict[str, float]:
    """Run one :mod:`benchmarks.worker` measurement in a fresh interpreter and parse its JSON."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    args = (kind, n, count, seed, *extra)
    cmd = [sys.executable, "-m", "benchmarks.worker", *(str(x) for x in args)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"benchmark worker {' '.join(cmd[2:])} failed:\n{tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def mesa_steps(n: int) -> int:
    """Steps of the Mesa anchor at ``n`` agents (about MESA_AGENT_STEPS agent-steps, at least 3)."""
    return max(3, math.ceil(MESA_AGENT_STEPS / max(n, 1)))


def measure(
    sizes: Sequence[int],
    days: int,
    repeats: int,
    seed: int = 1,
    log: Callable[[str], None] = _progress,
    small_repeats: int | None = None,
    fixed_n: int = 0,
) -> list[dict]:
    """All measurements: for each size, ``repeats`` x (govsim, Mesa, NumPy, and govsim at
    ``fixed_n`` citizens unless it is 0), or ``max(repeats, small_repeats)`` x for sizes below
    :data:`SMALL_SIZE`."""
    rows: list[dict] = []
    for n in sizes:
        reps = max(repeats, small_repeats or 0) if n < SMALL_SIZE else repeats
        for r in range(reps):
            g = run_worker("govsim", n, days, seed)
            m = run_worker("mesa", n, mesa_steps(n), seed)
            x = run_worker("numpy", n, days, seed)
            row = {"n": n, "repeat": r, "govsim": g, "mesa": m, "numpy": x}
            if fixed_n:
                row["fixed"] = run_worker("govsim", fixed_n, days, seed)
            if n < SMALL_SIZE:  # the sizes sweeps run: also as a sweep runs them
                row["govsim_summary"] = run_worker("govsim_summary", n, days, seed)
            rows.append(row)
            log(
                f"n={n:>9,d} repeat {r + 1}/{reps}: govsim {g['seconds']:.2f} s "
                f"({g['citizen_days'] / g['seconds'] / 1e6:.2f} M citizen-days/s), "
                f"mesa {m['agent_steps'] / m['seconds'] / 1e6:.3f} M agent-steps/s, "
                f"numpy {x['draws'] / x['seconds'] / 1e6:.0f} M draws/s; CPU-time ratio "
                f"{(g['citizen_days'] / g['cpu_seconds']) / (m['agent_steps'] / m['cpu_seconds']):.1f}"
            )
    return rows


def measure_sweep(
    n: int,
    days: int,
    runs: int,
    seed: int = 1,
    log: Callable[[str], None] = _progress,
) -> dict:
    """The sweep measurement (see the module docstring), in a fresh interpreter."""
    out = run_worker("sweep", n, days, seed, runs)
    log(
        f"sweep: {runs} runs at n={n:,d} x {days} days on {int(out['workers'])} workers: "
        f"{out['seconds']:.1f} s wall, {out['cpu_seconds'] / runs:.2f} core-s a run"
    )
    return out


def measure_demo(
    n: int, days: int, repeats: int, seed: int = 1, log: Callable[[str], None] = _progress
) -> dict:
    """The classroom demo's speed: ``repeats`` headless runs of its two cities of ``n`` citizens
    each (``benchmarks.worker demo``), each in a fresh interpreter; days per second by wall clock
    and CPU time (median, min, max), and the pair's build time."""
    runs = [run_worker("demo", n, days, seed) for _ in range(repeats)]
    out = {
        "n": n,
        "days": runs[0]["days"],
        "repeats": repeats,
        "days_per_s": _stats([r["days"] / r["seconds"] for r in runs]),
        "cpu_days_per_s": _stats([r["days"] / max(r["cpu_seconds"], 1e-9) for r in runs]),
        "init_seconds": _stats([r["init_seconds"] for r in runs]),
        "runs": runs,
    }
    log(
        f"demo: 2 cities x {n:,d} citizens, {int(out['days'])} days: "
        f"{out['days_per_s']['median']:.0f} days/s wall, {out['cpu_days_per_s']['median']:.0f} CPU"
    )
    return out


def _wall(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall seconds of a command in a fresh process (spawn included), and its last output line."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{tail}")
    lines = proc.stdout.strip().splitlines()
    return seconds, lines[-1] if lines else ""


def measure_startup(repeats: int, days: int = 365, log: Callable[[str], None] = _progress) -> dict:
    """``govsim run``'s start-up, the main job, and the compiled kernels' one-off cost, each run
    in turn.

    Start-up: ``govsim run baseline --days 1 --no-dashboard`` (imports, building, one day,
    writing its files) beside ``python -c "import mesa"`` and a bare ``python -c pass``, by wall
    clock with the process's spawn. The main job: the README quickstart's ``govsim run baseline``
    (``days`` days; a year in the full suite) with and without ``--no-dashboard``, so that the
    dashboard's share of what a user waits for is measured in the same repeat. Kernels: the
    first calls of every kernel in a fresh interpreter (importing numba and compiling into an
    empty cache, then loading that cache).
    """
    import tempfile

    py = sys.executable
    if not Path(GOVSIM).is_file():
        raise RuntimeError(f"the govsim command is not installed beside {py} ({GOVSIM})")
    gov, mesa_import, bare, job, job_bare = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="govsim-bench-") as tmp:
        for i in range(repeats):
            bare.append(_wall([py, "-c", "pass"])[0])
            mesa_import.append(_wall([py, "-c", "import mesa"])[0])
            out = str(Path(tmp) / f"run{i}")
            cmd = [GOVSIM, "run", "baseline", "--days", "1", "--no-dashboard"]
            gov.append(_wall([*cmd, "--out", out])[0])
            cmd = [GOVSIM, "run", "baseline", "--days", str(days), "--quiet"]
            job.append(_wall([*cmd, "--out", f"{out}-job"])[0])
            job_bare.append(_wall([*cmd, "--no-dashboard", "--out", f"{out}-bare"])[0])
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba")}
        compile_run = json.loads(_wall([py, "-c", KERNEL_PROBE], env)[1])
        loads = [json.loads(_wall([py, "-c", KERNEL_PROBE], env)[1]) for _ in range(repeats)]
    cache = json.loads(_wall([py, "-c", KERNEL_PROBE])[1])["cache"]
    out = {
        "repeats": repeats,
        "govsim_run": _stats(gov),
        "mesa_import": _stats(mesa_import),
        "python": _stats(bare),
        "beyond_mesa": _stats([g - m for g, m in zip(gov, mesa_import, strict=True)]),
        "main_job_days": days,
        "main_job": _stats(job),
        "main_job_no_dashboard": _stats(job_bare),
        "dashboard": _stats([a - b for a, b in zip(job, job_bare, strict=True)]),
        "kernel_compile": compile_run["first_call"],
        "kernels": compile_run["kernels"],
        "kernel_load": _stats([x["first_call"] for x in loads]),
        "kernel_cache": cache,
    }
    log(
        f"start-up: govsim run {out['govsim_run']['median']:.2f} s, import mesa "
        f"{out['mesa_import']['median']:.2f} s; the main job {out['main_job']['median']:.2f} s "
        f"(its dashboard {out['dashboard']['median']:.2f} s); "
        f"kernel compile {out['kernel_compile']:.2f} s, "
        f"load {out['kernel_load']['median']:.2f} s"
    )
    return out


def _startup_section(startup: dict | None) -> list[str]:
    """The report's start-up and compile-cost lines (none without the measurement)."""
    if startup is None:
        return []
    n = startup["repeats"]
    return [
        "## Start-up and compiled kernels",
        "",
        "| | seconds (wall) |",
        "| --- | ---: |",
        f"| `govsim run baseline --days 1 --no-dashboard` (imports, building, one day, writing) "
        f"| {_fmt_plain(startup['govsim_run'], 2)} |",
        f'| `python -c "import mesa"` (Mesa\'s own import: pandas, SciPy, NetworkX) '
        f"| {_fmt_plain(startup['mesa_import'], 2)} |",
        f"| `python -c pass` | {_fmt_plain(startup['python'], 2)} |",
        f"| govsim beyond Mesa's import (same repeat) | {_fmt_plain(startup['beyond_mesa'], 2)} |",
        f"| `govsim run baseline` (the README quickstart's run: {startup['main_job_days']} days, "
        f"tables, manifest, dashboard) | {_fmt_plain(startup['main_job'], 2)} |",
        f"| the same with `--no-dashboard` | {_fmt_plain(startup['main_job_no_dashboard'], 2)} |",
        "| the dashboard: importing Matplotlib, drawing and writing `dashboard.png` (the two "
        f"above, same repeat) | {_fmt_plain(startup['dashboard'], 2)} |",
        f"| the kernels' first calls ({startup['kernels']}), empty cache (importing numba, "
        f"compiling) | {startup['kernel_compile']:.2f} |",
        f"| the kernels' first calls, cache filled (importing numba, loading) "
        f"| {_fmt_plain(startup['kernel_load'], 2)} |",
        "",
        f"Medians (min-max) of {n} runs in fresh processes, spawn included. Kernels "
        f"(`govsim.compiled`) are cached on disk at `{startup['kernel_cache']}` (numba's choice: "
        "`__pycache__` beside the module when writable, else `~/.cache/numba`; "
        "`NUMBA_CACHE_DIR` moves it); only the first run on a machine compiles, and a run below "
        "`govsim.compiled.MIN_CITIZENS` (50,000) loads no kernel at all.",
        "",
    ]


def _demo_section(demo: dict | None) -> list[str]:
    """The report's classroom-demo row (none without the measurement)."""
    if demo is None:
        return []
    return [
        "## Classroom demo",
        "",
        "| demo | days | days/s wall | days/s CPU | build s (wall) |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| two cities x {demo['n']:,d} citizens (`CityPair`, baseline preset, B with unified "
        f"dispatch) | {int(demo['days'])} | {_fmt_plain(demo['days_per_s'], 0)} | "
        f"{_fmt_plain(demo['cpu_days_per_s'], 0)} | {_fmt_plain(demo['init_seconds'], 2)} |",
        "",
        f"Median (min-max) of {demo['repeats']} runs, each in a fresh interpreter. A day is one "
        "`CityPair.step`: both cities step and the charted metrics are recorded. Measured "
        "headless (no browser, no drawing, no websocket), so this is the most days a second the "
        "demo's server can compute; the browser's redrawing comes on top.",
        "",
    ]


def _stats(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _rates(rs: list[dict], clock: str) -> tuple[list[float], list[float], list[float]]:
    """govsim, Mesa and NumPy rates per repeat, by wall clock (``seconds``) or CPU time."""
    g = [r["govsim"]["citizen_days"] / r["govsim"][clock] for r in rs]
    m = [r["mesa"]["agent_steps"] / r["mesa"][clock] for r in rs]
    x = [r["numpy"]["draws"] / max(r["numpy"][clock], 1e-9) for r in rs]
    return g, m, x


def summarise(rows: list[dict], days: int) -> dict:
    """Per-size statistics, paired ratios and the growth exponent (wall clock and CPU time); where
    the rows hold the fixed-cost runs (``"fixed"``), also the fixed cost, its share of each size's
    time, and the exponent of what is left (see the module docstring)."""
    sizes = sorted({r["n"] for r in rows})
    per: dict[int, dict] = {}
    for n in sizes:
        rs = [r for r in rows if r["n"] == n]
        peak = [r["govsim"]["peak_rss_kb"] * 1024 for r in rs]
        model_bytes = [
            (r["govsim"]["peak_rss_kb"] - r["govsim"]["base_rss_kb"]) * 1024 / n for r in rs
        ]
        entry: dict = {
            "init_seconds": _stats([r["govsim"]["init_seconds"] for r in rs]),
            "cases": rs[0]["govsim"]["cases"],
            "cases_per_s": _stats([r["govsim"]["cases"] / r["govsim"]["seconds"] for r in rs]),
            "peak_rss_bytes": _stats(peak),
            "rss_bytes_per_citizen": _stats([p / n for p in peak]),
            "model_bytes_per_citizen": _stats(model_bytes),
            "repeats": len(rs),
        }
        if all("govsim_summary" in r for r in rs):
            for clock, tag in (("seconds", ""), ("cpu_seconds", "cpu_")):
                entry[f"{tag}summary_only_seconds"] = _stats(
                    [r["govsim_summary"][clock] for r in rs]
                )
        for clock, tag in (("seconds", ""), ("cpu_seconds", "cpu_")):
            g, m, x = _rates(rs, clock)
            entry[f"{tag}seconds"] = _stats([r["govsim"][clock] for r in rs])
            entry[f"{tag}citizen_days_per_s"] = _stats(g)
            entry[f"{tag}mesa_agent_steps_per_s"] = _stats(m)
            entry[f"{tag}numpy_draws_per_s"] = _stats(x)
            entry[f"{tag}ratio_govsim_to_mesa"] = _stats([a / b for a, b in zip(g, m, strict=True)])
            entry[f"{tag}ratio_numpy_to_govsim"] = _stats(
                [b / a for a, b in zip(g, x, strict=True)]
            )
        # the same ratio less the kernels' one-off load (numba's import and cache), which a
        # sweep worker pays once for all its runs
        load = [r["govsim"].get("kernel_load_seconds", 0.0) for r in rs]
        entry["kernel_load_seconds"] = _stats(load)
        entry["ratio_govsim_to_mesa_after_load"] = _stats(
            [
                n * days / (r["govsim"]["seconds"] - x) / m
                for r, x, m in zip(rs, load, _rates(rs, "seconds")[1], strict=True)
            ]
        )
        per[n] = entry
    out = {"days": days, "sizes": sizes, "per_size": per}
    for tag in ("", "cpu_"):
        exponent = float("nan")
        local: list[float] = []
        if len(sizes) >= 2:
            t = [per[n][f"{tag}seconds"]["median"] for n in sizes]
            exponent = float(np.polyfit(np.log(sizes), np.log(t), 1)[0])
            local = [
                math.log(t[i + 1] / t[i]) / math.log(sizes[i + 1] / sizes[i])
                for i in range(len(sizes) - 1)
            ]
        out[f"{tag}exponent"] = exponent
        out[f"{tag}local_exponents"] = local
    if rows and all("fixed" in r for r in rows):
        out["fixed_cost"] = _fixed_cost(rows, sizes, days)
    return out


def _fixed_cost(rows: list[dict], sizes: list[int], days: int) -> dict:
    """The fixed-cost runs' statistics, and per size the median over repeats of the fixed share and
    of the time beyond it (each from the runs of the same repeat); the exponent of the latter."""
    n_fixed = round(rows[0]["fixed"]["citizen_days"] / days)
    out: dict = {"n": n_fixed, "repeats": len(rows)}
    for clock, tag in (("seconds", ""), ("cpu_seconds", "cpu_")):
        out[f"{tag}seconds"] = _stats([r["fixed"][clock] for r in rows])
        share, rest = {}, []
        for n in sizes:
            rs = [r for r in rows if r["n"] == n]
            share[n] = statistics.median(r["fixed"][clock] / r["govsim"][clock] for r in rs)
            rest.append(statistics.median(r["govsim"][clock] - r["fixed"][clock] for r in rs))
        out[f"{tag}share"] = share
        out[f"{tag}beyond_seconds"] = dict(zip(sizes, rest, strict=True))
        ok = len(sizes) >= 2 and min(rest) > 0 and min(sizes) > n_fixed
        extra = np.array(sizes, dtype=float) - n_fixed  # the citizens beyond the anchor's
        out[f"{tag}rest_exponent"] = (
            float(np.polyfit(np.log(extra), np.log(rest), 1)[0]) if ok else float("nan")
        )
    return out


def machine_info() -> dict[str, str]:
    """Machine, load and version information for the report."""
    import mesa
    import pandas
    import scipy

    import govsim

    info = {
        "date (UTC)": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores (usable)": str(
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        ),
        "memory": _mem_total(),
        "python": platform.python_version(),
        "govsim": govsim.__version__,
        "mesa": mesa.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
        "git commit": _git_commit(),
    }
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "govsim"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + (" (govsim/ has uncommitted changes)" if dirty else "")


def _fmt_rate(s: dict[str, float], scale: float = 1e6, digits: int = 2) -> str:
    return f"{s['median'] / scale:.{digits}f} ({s['min'] / scale:.{digits}f}-{s['max'] / scale:.{digits}f})"


def _fmt_plain(s: dict[str, float], digits: int = 1) -> str:
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}-{s['max']:.{digits}f})"


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def render(
    summary: dict,
    info: dict[str, str],
    load: tuple[str, str],
    command: str,
    sweep: dict | None = None,
    demo: dict | None = None,
    startup: dict | None = None,
) -> str:
    """The markdown report (with the sweep's, the classroom demo's and the start-up sections if
    measured)."""
    per, days = summary["per_size"], summary["days"]
    reps = ", ".join(f"{per[n]['repeats']} at {n:,}" for n in sorted(per))
    L = [
        "# govsim benchmark results",
        "",
        f"Written by `{command}`. Baseline scenario scaled to each population "
        "(`benchmarks/scaling.py`: citizens per community and staff per citizen as in the "
        f"baseline, all behaviour on), {days} days, one process. Medians over repeats ({reps}) "
        "with (min-max); ratios are computed within each repeat, from measurements run back to back. "
        "Every figure is given by wall clock and by CPU time of the measuring process "
        "(`time.process_time`): on a shared machine the wall clock also counts the time other "
        "processes held the cores (see the load average), CPU time does not.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *[f"| {k} | {v} |" for k, v in info.items()],
        f"| load average (1 min) before / after | {load[0]} / {load[1]} |",
        "",
        "## Ratios",
        "",
        "| citizens | govsim / Mesa empty step (wall) | (CPU) | NumPy draw / govsim (wall) | (CPU) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, p in per.items():
        L.append(
            f"| {n:,d} | {_fmt_plain(p['ratio_govsim_to_mesa'])} | "
            f"{_fmt_plain(p['cpu_ratio_govsim_to_mesa'])} | "
            f"{_fmt_plain(p['ratio_numpy_to_govsim'])} | "
            f"{_fmt_plain(p['cpu_ratio_numpy_to_govsim'])} |"
        )
    L += [
        "",
        "govsim / Mesa: govsim citizen-days per second over Mesa 3 agent-steps per second "
        "(`shuffle_do` of an empty `step`) at the same population. NumPy / govsim: how many times "
        "faster one `rng.random(n)` per day is than a govsim day (the practical limit).",
        "",
        "## End to end",
        "",
        "| citizens | seconds wall | CPU s | init s | M citizen-days/s wall | CPU | cases | "
        "k cases/s wall | peak RSS MB | RSS bytes/citizen | model bytes/citizen | "
        "Mesa M agent-steps/s wall | CPU | NumPy M draws/s CPU |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, p in per.items():
        L.append(
            f"| {n:,d} | {_fmt_plain(p['seconds'], 2)} | {_fmt_plain(p['cpu_seconds'], 2)} | "
            f"{p['init_seconds']['median']:.2f} | "
            f"{_fmt_rate(p['citizen_days_per_s'])} | {_fmt_rate(p['cpu_citizen_days_per_s'])} | "
            f"{int(p['cases']):,d} | {_fmt_rate(p['cases_per_s'], 1e3, 1)} | "
            f"{p['peak_rss_bytes']['median'] / 1e6:.0f} | "
            f"{p['rss_bytes_per_citizen']['median']:.0f} | "
            f"{p['model_bytes_per_citizen']['median']:.0f} | "
            f"{_fmt_rate(p['mesa_agent_steps_per_s'], 1e6, 3)} | "
            f"{_fmt_rate(p['cpu_mesa_agent_steps_per_s'], 1e6, 3)} | "
            f"{_fmt_rate(p['cpu_numpy_draws_per_s'], 1e6, 0)} |"
        )
    exp, cexp = summary["exponent"], summary["cpu_exponent"]
    sizes_txt = ", ".join(f"{n:,d}" for n in per)
    L += [
        "",
        "Seconds: building the model, stepping every day, then the time series and summary. "
        "Peak RSS is the whole interpreter's (imports included); model bytes/citizen subtract "
        "the RSS measured just before the model was built.",
        "",
        *(
            f"- Summary-only run at {n:,d} citizens, as a sweep runs it (no daily metrics, no time "
            f"series; the same summary): {_fmt_plain(p['summary_only_seconds'], 2)} s wall, "
            f"{_fmt_plain(p['cpu_summary_only_seconds'], 2)} s CPU."
            for n, p in per.items()
            if "summary_only_seconds" in p
        ),
        "",
        (
            f"Growth exponent of end-to-end time against population (log-log fit over "
            f"{sizes_txt}): **{exp:.3f}** by wall clock, **{cexp:.3f}** by CPU time. Between "
            "consecutive sizes (wall / CPU): "
            + ", ".join(
                f"{a:,d}->{b:,d}: {w:.2f} / {c:.2f}"
                for a, b, w, c in zip(
                    summary["sizes"][:-1],
                    summary["sizes"][1:],
                    summary["local_exponents"],
                    summary["cpu_local_exponents"],
                    strict=True,
                )
            )
            + (
                "."
                if "fixed_cost" in summary
                else ". Below 1 at small sizes: a day has fixed costs (metrics, officials, "
                "the data collector) that do not grow with the population."
            )
            if math.isfinite(exp)
            else "Growth exponent: needs two sizes or more."
        ),
        "",
        *_fixed_cost_lines(summary, days),
        *_sweep_section(sweep, days),
        *_demo_section(demo),
        *_startup_section(startup),
        "## Targets",
        "",
        "| target | measured (wall) | met | measured (CPU) | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    ratio_n = 100_000 if 100_000 in per else max(per)
    r, cr = (
        per[ratio_n][k]["median"] for k in ("ratio_govsim_to_mesa", "cpu_ratio_govsim_to_mesa")
    )
    L.append(
        f"| citizen-day rate >= {TARGET_MESA_RATIO:g}x Mesa's empty step (at {ratio_n:,d}) "
        f"| {r:.1f}x | {_mark(r >= TARGET_MESA_RATIO)} | {cr:.1f}x | "
        f"{_mark(cr >= TARGET_MESA_RATIO)} |"
    )
    after = per[ratio_n].get("ratio_govsim_to_mesa_after_load")
    if after is not None and per[ratio_n]["kernel_load_seconds"]["median"] > 0:
        load = per[ratio_n]["kernel_load_seconds"]["median"]
        L.append(
            f"| the same, less the kernels' one-off load ({load:.2f} s: numba's import and "
            f"cache, paid once per process) | {after['median']:.1f}x | "
            f"{_mark(after['median'] >= TARGET_MESA_RATIO)} | | |"
        )
    full_year = days == 365
    if 1_000_000 in per:
        s1, c1 = (per[1_000_000][k]["median"] for k in ("seconds", "cpu_seconds"))
        m1 = per[1_000_000]["peak_rss_bytes"]["median"] / 1024**3
        L.append(
            f"| 1M citizens x {days} days <= {TARGET_1M_SECONDS:g} s | {s1:.1f} s | "
            f"{_mark(s1 <= TARGET_1M_SECONDS if full_year else None)} | {c1:.1f} s | "
            f"{_mark(c1 <= TARGET_1M_SECONDS if full_year else None)} |"
        )
        L.append(
            f"| 1M citizens peak RSS <= {TARGET_1M_RSS_GB:g} GB | {m1:.2f} GiB | "
            f"{_mark(m1 <= TARGET_1M_RSS_GB)} | | |"
        )
    else:
        L.append(
            f"| 1M citizens x 365 days <= {TARGET_1M_SECONDS:g} s, <= {TARGET_1M_RSS_GB:g} GB "
            "| not measured | n/a | | |"
        )
    lo, hi = TARGET_EXPONENT
    fin = math.isfinite(exp)
    L.append(
        f"| growth exponent in [{lo}, {hi}] | {exp:.3f} | {_mark(lo <= exp <= hi) if fin else 'n/a'} "
        f"| {cexp:.3f} | {_mark(lo <= cexp <= hi) if fin else 'n/a'} |"
    )
    fc = summary.get("fixed_cost")
    if fc is not None:
        b, cb = fc["rest_exponent"], fc["cpu_rest_exponent"]
        fin = math.isfinite(b) and math.isfinite(cb)
        L.append(
            f"| the same, of the time less the fixed cost (a diagnostic, not the target) | "
            f"{b:.3f} | {_mark(lo <= b <= hi) if fin else 'n/a'} | {cb:.3f} | "
            f"{_mark(lo <= cb <= hi) if fin else 'n/a'} |"
        )
    if 10_000 in per:
        s10, c10 = (per[10_000][k]["median"] for k in ("seconds", "cpu_seconds"))
        L.append(
            f"| 10k citizens x {days} days < {TARGET_10K_SECONDS:g} s | {s10:.2f} s | "
            f"{_mark(s10 < TARGET_10K_SECONDS if full_year else None)} | {c10:.2f} s | "
            f"{_mark(c10 < TARGET_10K_SECONDS if full_year else None)} |"
        )
        if "summary_only_seconds" in per[10_000]:
            s10, c10 = (
                per[10_000][k]["median"]
                for k in ("summary_only_seconds", "cpu_summary_only_seconds")
            )
            L.append(
                f"| the same, summary-only as in sweeps (not the target's full run) | "
                f"{s10:.2f} s | {_mark(s10 < TARGET_10K_SECONDS if full_year else None)} | "
                f"{c10:.2f} s | {_mark(c10 < TARGET_10K_SECONDS if full_year else None)} |"
            )
        if sweep is not None and sweep["n"] == 10_000:
            per_run = sweep["cpu_seconds"] / sweep["runs"]
            L.append(
                f"| the same, per run of a real sweep (all processes, imports included) | | | "
                f"{per_run:.2f} core-s | {_mark(per_run < TARGET_10K_SECONDS if full_year else None)} |"
            )
    if startup is not None:
        g, beyond = startup["govsim_run"]["median"], startup["beyond_mesa"]["median"]
        L.append(
            f"| `govsim run` start-up <= {TARGET_STARTUP_SECONDS:g} s | {g:.2f} s "
            f"({beyond:.2f} s beyond `import mesa`) | {_mark(g <= TARGET_STARTUP_SECONDS)} | | |"
        )
    L.append("")
    return "\n".join(L)


def _f3(x: float) -> str:
    return f"{x:.3f}" if math.isfinite(x) else "n/a"


def _growth_words(b: float) -> str:
    lo, hi = TARGET_EXPONENT
    if not math.isfinite(b):
        return "not measurable here (a size's time is not above the fixed cost)"
    if b < lo:
        return "slower than in proportion to the population"
    return "in proportion to the population" if b <= hi else "faster than the population"


def _fixed_cost_lines(summary: dict, days: int) -> list[str]:
    """The report's paragraph on the fixed cost (none without the anchor)."""
    fc = summary.get("fixed_cost")
    if fc is None:
        return []
    shares = ", ".join(f"{100 * fc['share'][n]:.0f}% of the {n:,d} run" for n in summary["sizes"])
    beyond = ", ".join(f"{fc['beyond_seconds'][n]:.2f} s at {n:,d}" for n in summary["sizes"])
    b, cb = fc["rest_exponent"], fc["cpu_rest_exponent"]
    return [
        f"Fixed cost: a {days}-day run of {fc['n']:,d} citizens takes "
        f"{_fmt_plain(fc['seconds'], 2)} s wall, {_fmt_plain(fc['cpu_seconds'], 2)} s CPU "
        f"(median of {fc['repeats']}, one beside each run above), nearly all of it work a day "
        "costs whatever the population (the engine's, intake's and metrics' per-call overhead). "
        f"By wall clock (medians of the same-repeat ratios) that is {shares}. What the other "
        f"citizens add (a run's time less the fixed-cost run's of the same repeat; {beyond}) "
        f"grows with exponent **{_f3(b)}** by wall clock, **{_f3(cb)}** by CPU time against their "
        f"number (log-log fit; 1 for time proportional to them): {_growth_words(b)}. At the "
        "smallest size that difference is of two noisy numbers of similar size, so this exponent "
        "moves more between runs of the suite than the others.",
        "",
    ]


def _sweep_section(sweep: dict | None, days: int) -> list[str]:
    """The report's lines on the sweep measurement (none without one)."""
    if sweep is None:
        return []
    runs, per_run = int(sweep["runs"]), sweep["cpu_seconds"] / sweep["runs"]
    return [
        "## Sweeps",
        "",
        f"{runs} runs of a Sobol design over the levers of `{SWEEP_EXPERIMENT}` at "
        f"{sweep['n']:,d} citizens x {days} days, planned and executed by `govsim.experiment` "
        f"with {int(sweep['workers'])} worker processes: {sweep['seconds']:.1f} s wall "
        f"({sweep['plan_seconds']:.1f} s of it planning), {sweep['cpu_seconds']:.1f} core-seconds "
        f"over all processes, **{per_run:.2f} core-seconds a run** (the workers' imports, "
        f"planning and writing results included), so 100,000 such runs take about "
        f"{per_run * 1e5 / 86400:.1f} core-days. The runs' levers differ from the baseline's, "
        "and so does their cost.",
        "",
    ]


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(float(s)) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--sizes: expected comma-separated citizen counts like 10000,100000, got {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--sizes: every size must be >= 1, got {text!r}")
    return sizes


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    p = StrictParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="small smoke run (2k and 4k citizens, 20 days, 1 repeat)",
    )
    p.add_argument(
        "--sizes", type=_sizes, help="comma-separated citizen counts (default 10000,100000,1000000)"
    )
    p.add_argument("--days", type=int, help="simulated days (default 365; 20 with --quick)")
    p.add_argument("--repeats", type=int, help="repeats per size (default 3; 1 with --quick)")
    p.add_argument(
        "--small-repeats",
        type=int,
        help=f"repeats of sizes below {SMALL_SIZE:,} citizens, which take seconds "
        f"(default {SMALL_REPEATS}; 1 with --quick)",
    )
    p.add_argument(
        "--sweep-runs",
        type=int,
        help=f"runs of the sweep measurement: (levers + 2) x a power of 2; 0 skips it "
        f"(default {SWEEP_RUNS}; {QUICK_SWEEP_RUNS} with --quick)",
    )
    p.add_argument(
        "--fixed-cost-size",
        type=int,
        help=f"citizens of the fixed-cost run, below the smallest size; 0 skips it "
        f"(default {FIXED_COST_SIZE:,}, skipped if not below the smallest size)",
    )
    p.add_argument("--seed", type=int, default=1, help="scenario seed (default 1)")
    p.add_argument(
        "--demo-repeats",
        type=int,
        help="runs of the classroom-demo measurement; 0 skips it (default: as --small-repeats)",
    )
    p.add_argument(
        "--startup-repeats",
        type=int,
        help=f"runs of the start-up measurement; 0 skips it (default {STARTUP_REPEATS}; 1 with "
        "--quick)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="report path (default benchmarks/out/results.md; benchmarks/out/quick.md with "
        "--quick)",
    )
    p.add_argument(
        "--publish",
        action="store_true",
        help="write the committed report benchmarks/results.md (a full run: not with --quick or "
        "--out)",
    )
    a = p.parse_args(argv)
    if a.publish and (a.quick or a.out is not None):
        p.error(
            "--publish writes the committed benchmarks/results.md from a full run; "
            "it does not go with --quick or --out"
        )
    if a.out is None:
        a.out = PUBLISHED if a.publish else (QUICK_OUT if a.quick else DEFAULT_OUT)
    sizes = a.sizes or (QUICK_SIZES if a.quick else FULL_SIZES)
    days = a.days if a.days is not None else (20 if a.quick else 365)
    repeats = a.repeats if a.repeats is not None else (1 if a.quick else 3)
    small = a.small_repeats if a.small_repeats is not None else (1 if a.quick else SMALL_REPEATS)
    demo_repeats = a.demo_repeats if a.demo_repeats is not None else small
    startup_repeats = a.startup_repeats
    if startup_repeats is None:
        startup_repeats = 1 if a.quick else STARTUP_REPEATS
    if days < 1 or repeats < 1 or small < 1 or demo_repeats < 0 or startup_repeats < 0:
        p.error(
            "--days, --repeats and --small-repeats must be >= 1 and --demo-repeats and "
            f"--startup-repeats >= 0 (got days={days}, repeats={repeats}, small-repeats={small}, "
            f"demo-repeats={demo_repeats}, startup-repeats={startup_repeats})"
        )
    sweep_runs = a.sweep_runs
    if sweep_runs is None:
        sweep_runs = QUICK_SWEEP_RUNS if a.quick else SWEEP_RUNS
    if sweep_runs:
        try:
            sweep_design_points(sweep_runs)
        except ValueError as e:
            p.error(f"--sweep-runs: {e} (or 0 to skip the sweep)")
    fixed_n = a.fixed_cost_size
    if fixed_n is None:
        fixed_n = FIXED_COST_SIZE if min(sizes) > FIXED_COST_SIZE else 0
    elif fixed_n < 0 or (fixed_n and fixed_n >= min(sizes)):
        p.error(
            f"--fixed-cost-size: expected 0 or a population below the smallest size "
            f"({min(sizes):,}), got {fixed_n:,}"
        )
    info = machine_info()  # the code measured is the code at the start
    load0 = f"{os.getloadavg()[0]:.2f}"
    rows = measure(sizes, days, repeats, a.seed, small_repeats=small, fixed_n=fixed_n)
    sweep = None
    if sweep_runs:
        n_sweep = SWEEP_SIZE if SWEEP_SIZE in sizes else min(sizes)
        sweep = {"n": n_sweep, **measure_sweep(n_sweep, days, sweep_runs, a.seed)}
    demo = measure_demo(DEMO_CITIZENS, days, demo_repeats, a.seed) if demo_repeats else None
    startup = measure_startup(startup_repeats, days) if startup_repeats else None
    load1 = f"{os.getloadavg()[0]:.2f}"
    commit_after = _git_commit()
    if commit_after != info["git commit"]:
        info["git commit"] += f"; at the end {commit_after} (the tree changed during the run)"
    summary = summarise(rows, days)
    command = (
        "python -m benchmarks.run"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    )
    text = render(summary, info, (load0, load1), command.strip(), sweep, demo, startup)
    out = a.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        out.with_suffix(".json"),
        json.dumps(
            {"summary": summary, "runs": rows, "sweep": sweep, "demo": demo, "startup": startup},
            indent=1,
            default=str,
        ),
    )
    atomic_write_text(out, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
