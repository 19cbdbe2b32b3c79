"""Where a run's time goes, phase by phase of the model's day.

    python -m benchmarks.phases 100000            # the scaled baseline, 365 days
    python -m benchmarks.phases 10000 --days 120

Runs :func:`benchmarks.scaling.scaled_baseline` once, with a timer around each phase of
:meth:`govsim.model.GovernanceModel.step` (the order of ODD section 3), and prints a table of wall
and CPU seconds per phase with their shares of the stepping time. CPU time is the whole process's
(``time.process_time``), so threads started by a library (BLAS) count in it. The timers wrap this one
model's methods (and, for the run, the module function the model calls for summoning), so the model and its
outputs are exactly those of an untimed run; each timer costs about a microsecond a call.

This is the profile to read before optimising (the suite in :mod:`benchmarks.run` says how fast,
this says where); ``line_profiler`` or ``py-spy`` then go inside a phase.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import govsim.model as model_module
from benchmarks.scaling import parse_city_args, scaled_baseline
from govsim.model import GovernanceModel


@dataclass
class Timer:
    """Accumulated wall and CPU seconds and calls of one phase."""

    wall: float = 0.0
    cpu: float = 0.0
    calls: int = 0

    def wrap(self, fn: Callable) -> Callable:
        """``fn`` with this timer around each call."""

        def timed(*args, **kwargs):
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.wall += time.perf_counter() - w
                self.cpu += time.process_time() - c
                self.calls += 1

        return timed


PHASES: tuple[tuple[str, str, str], ...] = (
    ("officials' time budget", "officials", "plan_day"),
    ("new problems", "citizens", "meet_problems"),
    ("voice, channels, hotline, patrols", "model", "_reach_platform"),
    ("filing and dispatch intake", "intake", "file"),
    ("summoning", "module", "summon_departments"),
    ("case engine", "engine", "run_day"),
    ("  of which waves of events", "engine", "_wave"),
    ("  of which waves of events (compiled)", "waves", "run_waves"),
    ("  of which service queues", "service", "run_day"),
    ("after closures (ratings, learning)", "model", "_after_closures"),
    ("word of mouth", "citizens", "spread_word"),
    ("participatory budgeting", "pb", "step"),
    ("assessment", "officials", "assess"),
    ("metrics", "model", "_compute_metrics"),
    ("data collector", "datacollector", "collect"),
)
"""(label, owner, attribute): the phases timed; labels starting with spaces are parts of the
phase above them and are not added to the total."""


@dataclass
class PhaseProfile:
    """One timed run: timers by phase label, build and stepping seconds, and the model run."""

    timers: dict[str, Timer]
    build: float
    wall: float
    cpu: float
    model: GovernanceModel


def profile(citizens: int, days: int, seed: int) -> PhaseProfile:
    """Build and run the scaled baseline with phase timers."""
    scenario = scaled_baseline(citizens, days=days, seed=seed)
    t0 = time.perf_counter()
    m = GovernanceModel(scenario=scenario)
    build = time.perf_counter() - t0
    timers = {label: Timer() for label, _, _ in PHASES}
    saved = {}
    owners = {
        "model": m,
        "citizens": m.citizens,
        "officials": m.officials,
        "intake": m.intake,
        "engine": m.engine,
        "service": m.engine.service,
        "pb": m.pb,
        "datacollector": m.datacollector,
        "waves": importlib.import_module("govsim.platform.waves") if m.engine.compiled else None,
    }
    modules = {"module": model_module, "waves": owners["waves"]}
    for label, owner, attr in PHASES:
        if owner in modules and modules[owner] is not None:
            module = modules[owner]
            saved[module, attr] = getattr(module, attr)
            setattr(module, attr, timers[label].wrap(saved[module, attr]))
        elif owners.get(owner) is not None:
            obj = owners[owner]
            setattr(obj, attr, timers[label].wrap(getattr(obj, attr)))
    try:
        w, c = time.perf_counter(), time.process_time()
        for _ in range(days):
            m.step()
        wall, cpu = time.perf_counter() - w, time.process_time() - c
    finally:
        for (module, attr), fn in saved.items():
            setattr(module, attr, fn)
    return PhaseProfile(timers, build, wall, cpu, m)


def report(prof: PhaseProfile, title: str) -> str:
    """The phase table as Markdown."""
    timers, build, wall, cpu = prof.timers, prof.build, prof.wall, prof.cpu
    lines = [
        f"## {title}",
        "",
        f"Building the model: {build:.2f} s. Stepping: {wall:.2f} s wall, {cpu:.2f} s CPU.",
        "",
        "| phase | calls | wall s | share | CPU s | share |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    top_wall = top_cpu = 0.0
    for label, t in timers.items():
        if t.calls == 0:
            continue
        if not label.startswith(" "):
            top_wall += t.wall
            top_cpu += t.cpu
        lines.append(
            f"| {label} | {t.calls:,} | {t.wall:.3f} | {t.wall / wall:.1%} "
            f"| {t.cpu:.3f} | {t.cpu / cpu:.1%} |"
        )
    rest_w, rest_c = wall - top_wall, cpu - top_cpu
    lines.append(
        f"| everything else (the step's own code, timers) | | {rest_w:.3f} | {rest_w / wall:.1%} "
        f"| {rest_c:.3f} | {rest_c / cpu:.1%} |"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: print the phase table for one population."""
    a = parse_city_args(
        "python -m benchmarks.phases",
        "Time each phase of the model's day for the baseline scaled to CITIZENS.",
        argv,
    )
    title = f"Phases of {a.citizens:,} citizens x {a.days} days (scaled baseline, seed {a.seed})"
    print(report(profile(a.citizens, a.days, a.seed), title), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
