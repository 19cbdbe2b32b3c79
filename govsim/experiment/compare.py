"""Paired comparisons: ``govsim compare A [B] --replicates N``, on common random numbers.

Replicate ``r`` of A and replicate ``r`` of B run with the same seed (``SeedSequence(seed,
spawn_key=(r,))``), so noise that both share cancels in their difference. For every output the
table gives both means, the mean paired difference ``B - A`` and its Student-t confidence interval
(``n - 1`` degrees of freedom over the ``n`` pairs), the standard deviation of the differences and a
paired t-test p-value.

A and B are scenarios (paths or packaged names) or ``module:function`` targets. ``--set`` applies to
both, ``--set-a`` / ``--set-b`` to one side, so ``govsim compare baseline --set-b
dispatch.data_sharing=0.9`` compares a scenario with a variant of itself (B defaults to A).
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from govsim.config import ScenarioError, load_scenario, parse_yaml, scenario_to_dict
from govsim.experiment.provenance import code_version
from govsim.experiment.run import RunContext, RunTask, run_one
from govsim.experiment.seeds import run_seed
from govsim.experiment.spec import resolve_function
from govsim.outputs import atomic_write

COLUMNS = ("metric", "mean_a", "mean_b", "diff", "ci_low", "ci_high", "sd_diff", "n", "p_value")


@dataclass(frozen=True)
class Side:
    """One side of a comparison: its label, run context and default root seed."""

    label: str
    ctx: RunContext
    default_seed: int


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
        return Side(label, ctx, 0)
    scenario = load_scenario(ref, list(overrides))
    ctx = RunContext(
        "scenario", None, scenario_to_dict(scenario), {}, days, False, "compare", code_version(), ""
    )
    return Side(label, ctx, int(scenario.seed))


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


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the table as CSV or Parquet (by suffix), atomically.

    Raises:
        ScenarioError: on another suffix.
    """
    p = Path(path)
    if p.suffix not in (".csv", ".parquet"):
        raise ScenarioError([f"-o {p}: expected a .csv or .parquet file name"])
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix == ".csv":
        atomic_write(p, lambda tmp: table.to_csv(tmp, index=False, lineterminator="\n"))
    else:
        atomic_write(p, lambda tmp: table.to_parquet(tmp, index=False, engine="pyarrow"))
    return p


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
    """Compare B with A on paired seeds.

    Args:
        a: Scenario (path or packaged name) or ``module:function``.
        b: The other one (default: the same as ``a``, to compare ``--set-b`` variants).
        replicates: Pairs of runs.
        set_both: Overrides for both sides; ``set_a``, ``set_b`` for one side.
        days: Simulated days (scenarios; default: each scenario's own).
        seed: Root seed of the pairs (default: A's scenario seed, 0 for functions).
        workers: Processes to run in.
        conf_level: Confidence level of the intervals.
        progress: Show a bar (None: only on a terminal).

    Returns:
        The table and the labels of A and B.

    Raises:
        ScenarioError: on bad input or when no pair completed.
    """
    if replicates < 2:
        raise ScenarioError(
            [f"--replicates {replicates}: need at least 2 pairs for a confidence interval"]
        )
    b = a if b is None else b
    side_a = make_side(a, [*set_both, *set_a], days, "A")
    side_b = make_side(b, [*set_both, *set_b], days, "B")
    if (side_a.ctx.kind == "function") != (side_b.ctx.kind == "function"):
        raise ScenarioError(["compare: A and B must both be scenarios or both be functions"])
    root = side_a.default_seed if seed is None else seed
    label_a = " ".join([a, *(f"--set {s}" for s in [*set_both, *set_a])])
    label_b = " ".join([b, *(f"--set {s}" for s in [*set_both, *set_b])])
    recs_a, recs_b = run_pairs(side_a, side_b, replicates, root, workers, progress)
    return paired_table(recs_a, recs_b, conf_level), label_a, label_b
