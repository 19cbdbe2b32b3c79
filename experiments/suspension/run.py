"""Issue 16, item 7: where digital suspension emerges, and where it does not.

A phase diagram over the indicator regime (what the baton rewards) x the audit rate x units'
public-service motivation x the load on the city, several years, replicated seeds. Every cell is
run twice under common random numbers: with selection (units learn what their practices earn) and
its no-selection control (``assessment.learning.selection: false``: the same learning on shuffled
payoffs, the same random draws). What selection does is the paired difference, reported with its
95% t-interval over seeds; nothing else is read as an effect.

    python -m experiments.suspension.run                      # the full design (about 20 min, 2 cores)
    python -m experiments.suspension.run --replicates 2 --days 365 --out /tmp/s   # a quick look

Writes ``results.csv`` (one row per run), ``effects.csv`` (one row per cell and metric: control,
selection, difference and its interval), ``heatmaps.png`` and ``tables.md`` next to this file (or
to ``--out``). The findings are written up in README.md beside it.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from experiments.common import replicate_seed
from govsim.config import load_scenario
from govsim.runner import simulate
from govsim.schema import INDICATORS

REGIMES: dict[str, dict[str, float]] = {
    "speed": {"response": 1.0, "on_time_closure": 2.0, "closure": 2.0},
    "closure": {"closure": 1.0},
    "satisfaction": {"response": 1.0, "satisfaction": 3.0},
    "verified": {"satisfaction": 1.0, "verified_resolution": 3.0},
    "traces": {"response": 1.0, "closure": 1.0, "traces": 2.0},
    "three_rates": {"response": 1.0, "closure": 1.0, "satisfaction": 1.0},
}
"""Indicator weights of each regime (every other indicator 0); three_rates is the baseline's."""
AUDIT = {"rare": 0.01, "regular": 0.1}
"""closed_loop.audit_rate."""
MOTIVATION = {"low": 0.05, "high": 0.5}
"""assessment.learning.motivation_mean (spread as the baseline's, 0.1)."""
LOAD = {"baseline": 10_000, "high": 14_000}
"""population.citizens on the baseline's city and staff."""
METRICS = (
    "practice_nominal_closure",
    "practice_satisfaction_pressure",
    "practice_persuade_withdrawal",
    "practice_extra_traces",
    "nominal_closure_rate",
    "closure_gap",
    "satisfaction_inflation",
    "hidden_dissatisfaction",
    "formalism_burden",
    "voice_gap",
    "dsi",
    "indicator_validity",
    "real_resolution_rate",
    "satisfaction_true",
    "official_utilisation_mean",
)


def overrides(regime: str, audit: str, motivation: str, load: str, selection: bool) -> list[str]:
    """The ``--set`` lines of one run (every indicator weight written out)."""
    w = REGIMES[regime]
    return [
        *(f"assessment.weights.{k}={w.get(k, 0.0)}" for k in INDICATORS),
        f"closed_loop.audit_rate={AUDIT[audit]}",
        f"assessment.learning.motivation_mean={MOTIVATION[motivation]}",
        f"population.citizens={LOAD[load]}",
        "density.max_citizens=10000",  # the baseline's city and staff at every load
        f"assessment.learning.selection={'true' if selection else 'false'}",
    ]


def _one(job: tuple) -> dict:
    regime, audit, motivation, load, selection, rep, seed, days = job
    s = load_scenario("baseline", overrides(regime, audit, motivation, load, selection))
    r = simulate(s, seed=seed, days=days, timeseries=False)
    return {
        "regime": regime,
        "audit": audit,
        "motivation": motivation,
        "load": load,
        "selection": selection,
        "replicate": rep,
        "seed": seed,
        **{m: r.summary[m] for m in METRICS},
    }


def run(replicates: int, days: int, workers: int, root_seed: int = 2026) -> pd.DataFrame:
    """Every cell with and without selection, ``replicates`` paired seeds each."""
    cells = itertools.product(REGIMES, AUDIT, MOTIVATION, LOAD)
    jobs = [
        (*cell, selection, i, replicate_seed(root_seed, i), days)
        for cell in cells
        for i in range(replicates)
        for selection in (True, False)
    ]
    with ProcessPoolExecutor(workers) as ex:
        return pd.DataFrame(list(ex.map(_one, jobs, chunksize=1)))


def effects(df: pd.DataFrame) -> pd.DataFrame:
    """Per cell and metric: control mean, selection mean, paired difference and 95% t-interval."""
    rows = []
    keys = ["regime", "audit", "motivation", "load"]
    for cell, g in df.groupby(keys, sort=False):
        on = g[g.selection].sort_values("replicate")
        off = g[~g.selection].sort_values("replicate")
        for m in METRICS:
            d = on[m].to_numpy(float) - off[m].to_numpy(float)
            d = d[np.isfinite(d)]
            half = (
                float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
                if len(d) > 1
                else float("nan")
            )
            rows.append(
                {
                    **dict(zip(keys, cell, strict=True)),
                    "metric": m,
                    "control": float(np.nanmean(off[m])),
                    "selection": float(np.nanmean(on[m])),
                    "difference": float(d.mean()) if len(d) else float("nan"),
                    "ci95": half,
                    "n": len(d),
                }
            )
    return pd.DataFrame(rows)


HEATMAP_METRICS = (
    "practice_nominal_closure",
    "closure_gap",
    "hidden_dissatisfaction",
    "dsi",
    "indicator_validity",
    "real_resolution_rate",
)


def heatmaps(eff: pd.DataFrame, path: Path) -> None:
    """One heat map per metric: rows the regimes, columns audit x motivation x load; the colour is
    selection minus control, a dot where the 95% interval excludes 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = list(itertools.product(AUDIT, MOTIVATION, LOAD))
    fig, axes = plt.subplots(len(HEATMAP_METRICS), 1, figsize=(11, 3.1 * len(HEATMAP_METRICS)))
    for ax, m in zip(axes, HEATMAP_METRICS, strict=True):
        e = eff[eff.metric == m].set_index(["regime", "audit", "motivation", "load"])
        grid = np.array([[e.loc[(r, *c), "difference"] for c in cols] for r in REGIMES])
        sig = np.array(
            [
                [abs(e.loc[(r, *c), "difference"]) > e.loc[(r, *c), "ci95"] for c in cols]
                for r in REGIMES
            ]
        )
        lim = np.nanmax(np.abs(grid)) or 1.0
        im = ax.imshow(grid, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        ys, xs = np.nonzero(sig)
        ax.scatter(xs, ys, s=12, c="black", marker="o")
        ax.set_yticks(range(len(REGIMES)), list(REGIMES))
        ax.set_xticks(
            range(len(cols)), [f"audit {a}\nmotiv. {p}\nload {w}" for a, p, w in cols], fontsize=7
        )
        ax.set_title(f"{m}: selection - no-selection control (dot: 95% CI excludes 0)", fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def tables(eff: pd.DataFrame, commit: str, replicates: int, days: int) -> str:
    """The effects as Markdown, one table per metric of the heat maps."""
    out = [
        f"Model at commit {commit}; {replicates} paired seeds per cell; {days} days; summary "
        "metrics over the settled run. `selection - control` with its 95% t-interval.",
        "",
    ]
    for m in HEATMAP_METRICS:
        out += [f"### {m}", "", "| regime | audit | motivation | load | control | selection | "
                "difference (95% CI) |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        for _, r in eff[eff.metric == m].iterrows():
            mark = " *" if abs(r["difference"]) > r["ci95"] else ""
            out.append(
                f"| {r['regime']} | {r['audit']} | {r['motivation']} | {r['load']} | "
                f"{r['control']:.3f} | {r['selection']:.3f} | "
                f"{r['difference']:+.3f} (±{r['ci95']:.3f}){mark} |"
            )
        out.append("")
    return "\n".join(out)


def main() -> None:
    """Command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__, allow_abbrev=False)
    p.add_argument("--replicates", type=int, default=4)
    p.add_argument("--days", type=int, default=1095)
    p.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 16))
    p.add_argument("--out", type=Path, default=Path(__file__).parent)
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    df = run(a.replicates, a.days, a.workers)
    df.to_csv(a.out / "results.csv", index=False)
    eff = effects(df)
    eff.to_csv(a.out / "effects.csv", index=False)
    heatmaps(eff, a.out / "heatmaps.png")
    (a.out / "tables.md").write_text(tables(eff, commit, a.replicates, a.days), encoding="utf-8")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
