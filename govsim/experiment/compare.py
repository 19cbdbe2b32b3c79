"""Paired comparisons: ``govsim compare A [B] --replicates N``, on common random numbers.

Replicate ``r`` of A and replicate ``r`` of B run with the same seed (``SeedSequence(seed,
spawn_key=(r,))``), so noise that both share cancels in their difference. For every output the
table gives both means, the mean paired difference ``B - A`` and its Student-t confidence interval
(``n - 1`` degrees of freedom over the ``n`` pairs), the standard deviation of the differences and a
paired t-test p-value.

A and B are scenarios (paths or packaged names) or ``module:function`` targets. ``--set`` applies to
both, ``--set-a`` / ``--set-b`` to one side, so ``govsim compare baseline --set-b
dispatch.data_sharing=0.9`` compares a scenario with a variant of itself (B defaults to A).

The command writes a folder, like ``govsim run`` (:func:`write_comparison`), atomically:
``OUT/<A>-vs-<B>-<hash>/`` with ``comparison.csv`` (one row per metric), ``runs.csv`` (one row per
side and replicate), ``difference.png`` (B - A with its interval, one row per metric) and
``manifest.json`` (both resolved scenarios, the overrides, seeds, days, replicates, versions and
the git commit). The hash covers everything that defines the comparison (:meth:`ComparisonSpec.
identity`), so two different comparisons never share a folder, and an existing folder (the same
comparison) is replaced only with ``--force``.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import re
import textwrap
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from govsim.config import (
    ScenarioError,
    load_scenario,
    parse_yaml,
    scenario_sha256,
    scenario_to_dict,
)
from govsim.experiment.provenance import code_version
from govsim.experiment.run import RunContext, RunTask, run_one
from govsim.experiment.seeds import run_seed
from govsim.experiment.spec import resolve_function
from govsim.outputs import RunTimes, atomic_write, environment, write_folder

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLUMNS = ("metric", "mean_a", "mean_b", "diff", "ci_low", "ci_high", "sd_diff", "n", "p_value")

DEFAULT_COMPARE_OUT = Path("results") / "compare"
"""Default root under which comparison folders are created."""

HASH_CHARS = 10
"""Hex digits of the comparison hash in a folder name."""


@dataclass(frozen=True)
class Side:
    """One side of a comparison: its label, run context and default root seed.

    Attributes:
        label: ``"A"`` or ``"B"``.
        ctx: The run context its replicates share.
        default_seed: The scenario's own seed (0 for a function).
        ref: The scenario or function reference as given.
        overrides: The ``--set`` overrides applied to it (both sides' first, then its own).
        sha256: The resolved scenario's sha256 (empty for a function).
    """

    label: str
    ctx: RunContext
    default_seed: int
    ref: str = ""
    overrides: tuple[str, ...] = ()
    sha256: str = ""

    @property
    def days(self) -> int | None:
        """The days each replicate simulates (None for a function)."""
        if self.ctx.base_scenario is None:
            return None
        return int(self.ctx.days or self.ctx.base_scenario["days"])

    def identity(self) -> dict[str, Any]:
        """What this side runs: the resolved scenario's hash and days, or the function and its
        constants."""
        if self.ctx.kind == "function":
            return {"function": self.ref, "constants": self.ctx.constants}
        return {"scenario_sha256": self.sha256, "days": self.days}

    def record(self) -> dict[str, Any]:
        """This side for the manifest: reference, overrides and the resolved scenario."""
        out: dict[str, Any] = {"ref": self.ref, "overrides": list(self.overrides)}
        if self.ctx.kind == "function":
            return {**out, "function": self.ref, "constants": self.ctx.constants}
        assert self.ctx.base_scenario is not None
        return {
            **out,
            "scenario_name": self.ctx.base_scenario["name"],
            "scenario_sha256": self.sha256,
            "days": self.days,
            "scenario": self.ctx.base_scenario,
        }


def _is_function(ref: str) -> bool:
    return ":" in ref and not Path(ref).exists()


def _constants(overrides: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for text in overrides:
        key, sep, raw = text.partition("=")
        if not sep or not key.strip():
            raise ScenarioError([f"--set {text}: expected name=value"])
        out[key.strip()] = parse_yaml(raw, f"--set {key}").data if raw.strip() else ""
    return out


def make_side(ref: str, overrides: Sequence[str], days: int | None, label: str) -> Side:
    """Resolve one side (a scenario with overrides, or a function with constants).

    Raises:
        ScenarioError: on a bad reference or override.
    """
    if _is_function(ref):
        resolve_function(ref)
        ctx = RunContext(
            "function", ref, None, _constants(overrides), None, False, "compare", code_version(), ""
        )
        return Side(label, ctx, 0, ref, tuple(overrides))
    scenario = load_scenario(ref, list(overrides))
    ctx = RunContext(
        "scenario", None, scenario_to_dict(scenario), {}, days, False, "compare", code_version(), ""
    )
    return Side(label, ctx, int(scenario.seed), ref, tuple(overrides), scenario_sha256(scenario))


def _run(args: tuple[RunContext, RunTask]) -> dict[str, Any]:
    return run_one(*args)[0]


def run_pairs(
    a: Side, b: Side, replicates: int, seed: int, workers: int = 1, progress: bool | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run both sides ``replicates`` times on paired seeds; return their records in replicate order."""
    from tqdm import tqdm

    jobs = []
    for side in (a, b):
        for r in range(replicates):
            jobs.append((side.ctx, RunTask(r, r, r, run_seed(seed, r), {})))
    bar = tqdm(
        total=len(jobs),
        desc="compare",
        unit="run",
        disable=None if progress is None else not progress,
    )
    records: list[dict[str, Any]] = []
    try:
        if workers <= 1:
            for job in jobs:
                records.append(_run(job))
                bar.update(1)
        else:
            with ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn")
            ) as pool:
                for rec in pool.map(_run, jobs):
                    records.append(rec)
                    bar.update(1)
    finally:
        bar.close()
    return records[:replicates], records[replicates:]


def paired_table(
    records_a: list[dict[str, Any]], records_b: list[dict[str, Any]], conf_level: float = 0.95
) -> pd.DataFrame:
    """Per-metric paired differences ``B - A`` with Student-t intervals (pairs where both ran ok).

    Raises:
        ScenarioError: when no pair completed.
    """
    pairs = [
        (ra, rb)
        for ra, rb in zip(records_a, records_b, strict=True)
        if ra["status"] == rb["status"] == "ok"
    ]
    if not pairs:
        errors = {r["error"] for r in (*records_a, *records_b) if r["error"]}
        raise ScenarioError(["compare: no replicate completed on both sides", *sorted(errors)[:5]])
    metrics = [
        k
        for k, v in pairs[0][0]["outputs"].items()
        if isinstance(v, float) and k in pairs[0][1]["outputs"]
    ]
    rows = []
    for m in metrics:
        a = np.array([ra["outputs"].get(m, math.nan) for ra, _ in pairs], dtype=float)
        b = np.array([rb["outputs"].get(m, math.nan) for _, rb in pairs], dtype=float)
        ok = np.isfinite(a) & np.isfinite(b)
        a, b = a[ok], b[ok]
        d = b - a
        n = len(d)
        mean = float(d.mean()) if n else math.nan
        sd = float(d.std(ddof=1)) if n > 1 else math.nan
        if n > 1:
            half = float(stats.t.ppf(0.5 + conf_level / 2, n - 1)) * sd / math.sqrt(n)
            p = (
                float(2 * stats.t.sf(abs(mean) / (sd / math.sqrt(n)), n - 1))
                if sd > 0
                else (1.0 if mean == 0 else 0.0)
            )
        else:
            half, p = math.nan, math.nan
        rows.append(
            {
                "metric": m,
                "mean_a": float(a.mean()) if n else math.nan,
                "mean_b": float(b.mean()) if n else math.nan,
                "diff": mean,
                "ci_low": mean - half,
                "ci_high": mean + half,
                "sd_diff": sd,
                "n": n,
                "p_value": p,
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def format_table(table: pd.DataFrame, label_a: str, label_b: str, conf_level: float = 0.95) -> str:
    """The comparison as aligned text."""
    width = max([len("metric"), *(len(m) for m in table["metric"])])
    pct = f"{conf_level * 100:g}%"
    head = f"{'metric':<{width}}  {'A':>12}  {'B':>12}  {'B - A':>12}  {pct + ' CI':>27}  {'n':>4}"
    lines = [f"A = {label_a}", f"B = {label_b}", head, "-" * len(head)]
    for r in table.itertuples(index=False):
        ci = f"[{r.ci_low:>11.4g}, {r.ci_high:>11.4g}]"
        lines.append(
            f"{r.metric:<{width}}  {r.mean_a:>12.4g}  {r.mean_b:>12.4g}  {r.diff:>12.4g}  {ci:>27}  {r.n:>4}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class ComparisonSpec:
    """Everything that defines a comparison, resolved and checked before anything runs.

    Attributes:
        a: Side A.
        b: Side B.
        replicates: Pairs of runs.
        root_seed: Root seed of the pairs (replicate ``r`` runs with ``run_seed(root_seed, r)``).
        conf_level: Confidence level of the intervals.
        set_both: Overrides given for both sides; ``set_a``, ``set_b`` for one.
        days: Days asked for on the command line (None: each scenario's own).
    """

    a: Side
    b: Side
    replicates: int
    root_seed: int
    conf_level: float
    set_both: tuple[str, ...] = ()
    set_a: tuple[str, ...] = ()
    set_b: tuple[str, ...] = ()
    days: int | None = None
    seeds: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        seeds = tuple(run_seed(self.root_seed, r) for r in range(self.replicates))
        object.__setattr__(self, "seeds", seeds)

    @property
    def label_a(self) -> str:
        """A as typed: its reference and overrides."""
        return " ".join([self.a.ref, *(f"--set {s}" for s in self.a.overrides)])

    @property
    def label_b(self) -> str:
        """B as typed: its reference and overrides."""
        return " ".join([self.b.ref, *(f"--set {s}" for s in self.b.overrides)])

    def identity(self) -> dict[str, Any]:
        """What the comparison computes: both sides (resolved), the overrides, the replicates,
        the root seed and the confidence level. Equal identities give equal tables."""
        return {
            "a": self.a.identity(),
            "b": self.b.identity(),
            "set_both": list(self.set_both),
            "set_a": list(self.set_a),
            "set_b": list(self.set_b),
            "replicates": self.replicates,
            "root_seed": self.root_seed,
            "conf_level": self.conf_level,
        }

    @property
    def sha256(self) -> str:
        """The hash of :meth:`identity` (canonical JSON)."""
        canon = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()

    @property
    def folder_name(self) -> str:
        """``<A>-vs-<B>-<hash>``: readable names, and a hash so that different comparisons
        (another variant, days, replicates or seed) never share a folder."""

        def slug(ref: str) -> str:
            return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(ref.split(":")[-1]).stem)[:40]

        return f"{slug(self.a.ref)}-vs-{slug(self.b.ref)}-{self.sha256[:HASH_CHARS]}"


def prepare(
    a: str,
    b: str | None = None,
    *,
    replicates: int = 10,
    set_both: Sequence[str] = (),
    set_a: Sequence[str] = (),
    set_b: Sequence[str] = (),
    days: int | None = None,
    seed: int | None = None,
    conf_level: float = 0.95,
) -> ComparisonSpec:
    """Resolve and check a comparison without running it.

    Args:
        a: Scenario (path or packaged name) or ``module:function``.
        b: The other one (default: the same as ``a``, to compare ``--set-b`` variants).
        replicates: Pairs of runs.
        set_both: Overrides for both sides; ``set_a``, ``set_b`` for one side.
        days: Simulated days (scenarios; default: each scenario's own).
        seed: Root seed of the pairs (default: A's scenario seed, 0 for functions).
        conf_level: Confidence level of the intervals.

    Returns:
        The comparison's specification.

    Raises:
        ScenarioError: on bad input.
    """
    if replicates < 2:
        raise ScenarioError(
            [f"--replicates {replicates}: need at least 2 pairs for a confidence interval"]
        )
    if not 0 < conf_level < 1:
        raise ScenarioError([f"--conf-level {conf_level}: expected a number between 0 and 1"])
    b = a if b is None else b
    side_a = make_side(a, [*set_both, *set_a], days, "A")
    side_b = make_side(b, [*set_both, *set_b], days, "B")
    if (side_a.ctx.kind == "function") != (side_b.ctx.kind == "function"):
        raise ScenarioError(["compare: A and B must both be scenarios or both be functions"])
    root = side_a.default_seed if seed is None else seed
    return ComparisonSpec(
        side_a,
        side_b,
        replicates,
        root,
        conf_level,
        tuple(set_both),
        tuple(set_a),
        tuple(set_b),
        days,
    )


def compare(
    a: str,
    b: str | None = None,
    *,
    replicates: int = 10,
    set_both: Sequence[str] = (),
    set_a: Sequence[str] = (),
    set_b: Sequence[str] = (),
    days: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    conf_level: float = 0.95,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, str, str]:
    """Compare B with A on paired seeds (the table only; :func:`write_comparison` writes a folder).

    Args: as :func:`prepare`, plus ``workers`` (processes) and ``progress`` (a bar; None: only on a
        terminal).

    Returns:
        The table and the labels of A and B.

    Raises:
        ScenarioError: on bad input or when no pair completed.
    """
    spec = prepare(
        a,
        b,
        replicates=replicates,
        set_both=set_both,
        set_a=set_a,
        set_b=set_b,
        days=days,
        seed=seed,
        conf_level=conf_level,
    )
    recs_a, recs_b = run_pairs(spec.a, spec.b, replicates, spec.root_seed, workers, progress)
    return paired_table(recs_a, recs_b, conf_level), spec.label_a, spec.label_b


STATUS_NAMES = ("side", "replicate", "seed", "status", "error")
"""The leading columns of ``runs.csv`` (outputs of these names are left out)."""


def runs_frame(records_a: list[dict[str, Any]], records_b: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per side and replicate: ``side, replicate, seed, status, error``, then the outputs."""
    rows = []
    for side, records in (("A", records_a), ("B", records_b)):
        for r in records:
            rows.append(
                {
                    "side": side,
                    "replicate": r["replicate"],
                    "seed": r["seed"],
                    "status": r["status"],
                    "error": r["error"],
                    **{k: v for k, v in (r.get("outputs") or {}).items() if k not in STATUS_NAMES},
                }
            )
    return pd.DataFrame(rows)


def difference_figure(table: pd.DataFrame, *, title: str, conf_level: float) -> Figure:
    """B - A per metric: one row each, its own x scale centred on 0, the interval as a bar.

    A row's interval is dark where it excludes 0 and grey where it includes it; the metric's name
    is left of its row and ``B - A [low, high]`` right of it, outside the axes, so no text covers
    data. Margins are measured from the text itself.

    Args:
        table: The output of :func:`paired_table`.
        title: The figure's title (what A and B are).
        conf_level: The intervals' confidence level (for the subtitle).

    Returns:
        The figure (Agg canvas attached).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    rows = list(table.itertuples(index=False))
    heading = [
        *textwrap.wrap(title, 110, subsequent_indent="    "),
        *textwrap.wrap(
            f"B - A: mean paired difference with its {conf_level * 100:g}% Student-t interval; "
            "each row has its own scale, centred on 0 (dark: the interval excludes 0)",
            130,
        ),
    ]
    pitch, axes_h, bottom, width = 0.42, 0.16, 0.3, 10.0  # inches
    top = 0.35 + 0.2 * len(heading)
    height = top + bottom + pitch * max(len(rows), 1)
    fig = Figure(figsize=(width, height), dpi=100)
    canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()

    def fmt(v: float) -> str:
        return "nan" if not math.isfinite(v) else f"{v:.3g}"

    values = [
        f"{fmt(r.diff)}  [{fmt(r.ci_low)}, {fmt(r.ci_high)}]"
        if r.n > 1
        else "too few pairs with values"
        for r in rows
    ]

    def text_width(texts: Sequence[str]) -> float:
        widest = 0.0
        for t in texts:
            probe = fig.text(0, 0, t, fontsize=8)
            widest = max(widest, probe.get_window_extent(renderer).width / fig.dpi)
            probe.remove()
        return widest

    left = 0.25 + text_width([r.metric for r in rows] or [""])
    right = 0.25 + text_width(values or [""])
    axes_w = width - left - right
    fig.text(
        0.25 / width, 1 - 0.2 / height, "\n".join(heading), fontsize=8, va="top", linespacing=1.6
    )
    for i, (r, value) in enumerate(zip(rows, values, strict=True)):
        centre = height - top - pitch * (i + 0.5)
        ax = fig.add_axes(
            ((left / width), (centre - axes_h / 2) / height, axes_w / width, axes_h / height)
        )
        ax.axvline(0.0, color="0.6", linewidth=0.8)
        finite = all(math.isfinite(v) for v in (r.diff, r.ci_low, r.ci_high))
        if finite:
            excludes = r.ci_low > 0 or r.ci_high < 0
            colour = "#1f4e9c" if excludes else "0.55"
            ax.errorbar(
                [r.diff],
                [0.0],
                xerr=[[r.diff - r.ci_low], [r.ci_high - r.diff]],
                fmt="o",
                color=colour,
                markersize=4,
                capsize=3,
                linewidth=1.4,
            )
            reach = max(abs(r.ci_low), abs(r.ci_high), abs(r.diff))
        else:
            reach = 0.0
        reach = reach * 1.15 if reach > 0 else 1.0
        ax.set_xlim(-reach, reach)
        ax.set_ylim(-1, 1)
        ax.set_yticks([])
        ax.xaxis.set_major_locator(MaxNLocator(5, symmetric=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))  # no offset text
        ax.tick_params(axis="x", labelsize=6, length=2, pad=1)
        for spine in ("left", "right", "top"):
            ax.spines[spine].set_visible(False)
        fig.text(
            (left - 0.12) / width, centre / height, r.metric, fontsize=8, ha="right", va="center"
        )
        fig.text((left + axes_w + 0.12) / width, centre / height, value, fontsize=8, va="center")
    return fig


def write_comparison(
    spec: ComparisonSpec,
    table: pd.DataFrame,
    records_a: list[dict[str, Any]],
    records_b: list[dict[str, Any]],
    dest: Path,
    *,
    force: bool = False,
    command: Sequence[str] = (),
    started_at: datetime,
    workers: int = 1,
    figure: bool = True,
) -> Path:
    """Write a comparison's folder atomically, with a manifest like a run's.

    Args:
        spec: What was compared.
        table: Its paired table.
        records_a: A's run records in replicate order; ``records_b`` B's.
        records_b: B's run records.
        dest: The folder (``OUT/<spec.folder_name>``).
        force: Replace an existing folder.
        command: The command line, recorded in the manifest.
        started_at: When the command started (timezone-aware).
        workers: Processes used (recorded).
        figure: Draw ``difference.png``.

    Returns:
        ``dest``.

    Raises:
        govsim.outputs.OutputError: if ``dest`` exists and ``force`` is false.
    """
    runs = runs_frame(records_a, records_b)

    def write_files(folder: Path) -> list[str]:
        atomic_write(
            folder / "comparison.csv",
            lambda tmp: table.to_csv(tmp, index=False, lineterminator="\n"),
        )
        atomic_write(
            folder / "runs.csv", lambda tmp: runs.to_csv(tmp, index=False, lineterminator="\n")
        )
        names = ["comparison.csv", "runs.csv"]
        if figure:
            title = f"A = {spec.label_a}    B = {spec.label_b}"
            fig = difference_figure(table, title=title, conf_level=spec.conf_level)
            atomic_write(folder / "difference.png", lambda tmp: fig.savefig(tmp, format="png"))
            names.append("difference.png")
        return names

    def manifest(files: dict[str, Any]) -> dict[str, Any]:
        times = RunTimes(started_at, datetime.now().astimezone())
        pairs = sum(
            ra["status"] == rb["status"] == "ok"
            for ra, rb in zip(records_a, records_b, strict=True)
        )
        errors = sorted({r["error"] for r in (*records_a, *records_b) if r.get("error")})
        return {
            "kind": "govsim compare",
            **environment(),
            "comparison_sha256": spec.sha256,
            "replicates": spec.replicates,
            "root_seed": spec.root_seed,
            "seeds": list(spec.seeds),
            "days": spec.days,
            "conf_level": spec.conf_level,
            "set_both": list(spec.set_both),
            "set_a": list(spec.set_a),
            "set_b": list(spec.set_b),
            "pairs_completed": int(pairs),
            "errors": errors[:10],
            "workers": workers,
            "command": list(command),
            "started_at": times.started_at.isoformat(timespec="seconds"),
            "ended_at": times.ended_at.isoformat(timespec="seconds"),
            "wall_seconds": round(times.wall_seconds, 3),
            "files": dict(files),
            "a": spec.a.record(),
            "b": spec.b.record(),
        }

    return write_folder(dest, write_files, manifest, force=force)
