"""Replicated scenario comparisons for the experiments in this folder.

Each experiment runs a few packaged scenarios (optionally with overrides) over the same replicated
seeds (common random numbers), and reports each metric's mean with a 95% t-interval over seeds, and
paired differences against a reference scenario. Runs go to a process pool; results are identical
whatever the pool size because each run's seed is fixed by (root seed, replicate index).
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from govsim.config import load_scenario
from govsim.runner import simulate


def replicate_seed(root: int, i: int) -> int:
    """Seed of replicate ``i``: SeedSequence(root, spawn_key=(i,)), as in govsim sweeps."""
    return int(
        np.random.SeedSequence(root, spawn_key=(i,)).generate_state(1, dtype=np.uint64)[0] >> 1
    )


def _one(args: tuple[str, str, tuple[str, ...], int, int, int]) -> dict:
    label, ref, overrides, seed, days, rep = args
    s = load_scenario(ref, list(overrides))
    r = simulate(s, seed=seed, days=days, timeseries=False)  # the tables use summaries only
    return {"arm": label, "replicate": rep, "seed": seed, **r.summary}


def run_arms(
    arms: dict[str, tuple[str, list[str]]],
    replicates: int,
    days: int,
    root_seed: int = 2026,
    workers: int | None = None,
) -> pd.DataFrame:
    """Run every arm (label -> (scenario, overrides)) for ``replicates`` paired seeds."""
    jobs = [
        (label, ref, tuple(ov), replicate_seed(root_seed, i), days, i)
        for label, (ref, ov) in arms.items()
        for i in range(replicates)
    ]
    workers = workers or min(os.cpu_count() or 1, 4)
    with ProcessPoolExecutor(workers) as ex:
        rows = list(ex.map(_one, jobs))
    return pd.DataFrame(rows)


def ci_table(df: pd.DataFrame, metrics: list[str], reference: str | None = None) -> pd.DataFrame:
    """Mean and 95% t-interval per arm and metric; paired difference to ``reference`` if given."""
    out = []
    for arm, g in df.groupby("arm", sort=False):
        for m in metrics:
            x = g.sort_values("replicate")[m].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            mean = float(np.mean(x)) if len(x) else float("nan")
            half = (
                float(stats.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / np.sqrt(len(x)))
                if len(x) > 1
                else float("nan")
            )
            row = {"arm": arm, "metric": m, "mean": mean, "ci95": half, "n": len(x)}
            if reference is not None and arm != reference:
                r = df[df.arm == reference].sort_values("replicate")[m].to_numpy(dtype=float)
                y = g.sort_values("replicate")[m].to_numpy(dtype=float)
                d = y - r
                d = d[np.isfinite(d)]
                if len(d) > 1:
                    row["diff_vs_ref"] = float(d.mean())
                    row["diff_ci95"] = float(
                        stats.t.ppf(0.975, len(d) - 1) * np.std(d, ddof=1) / np.sqrt(len(d))
                    )
            out.append(row)
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame) -> str:
    """The CI table as Markdown (one row per arm and metric)."""
    lines = [
        "| arm | metric | mean | ±95% CI | diff vs reference (±95% CI) |",
        "|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        diff = ""
        if "diff_vs_ref" in r and pd.notna(r.get("diff_vs_ref")):
            diff = f"{r['diff_vs_ref']:+.4f} (±{r['diff_ci95']:.4f})"
        lines.append(f"| {r['arm']} | {r['metric']} | {r['mean']:.4f} | {r['ci95']:.4f} | {diff} |")
    return "\n".join(lines)


def cli(description: str) -> argparse.Namespace:
    """Common command line: --replicates, --days, --out."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--replicates", type=int, default=8)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--workers", type=int, default=None)
    return p.parse_args()
