"""PB channels experiment: online-only, offline-only and blended participatory budgeting.

Runs the packaged ``participatory_budgeting`` scenario (the whole model: case engine, citizens,
officials, PB) under three PB channel settings, plus the same city without PB (``no_pb``, for the
trust and efficacy reference), for several yearly cycles and several replicate seeds, and writes
tidy tables:

* ``runs.csv``: one row per condition, replicate and PB year: the metrics right after that year's
  vote closes (turnout, proposals, need-match, representation gap) and at the end of that year
  (projects completed, trust and efficacy means).
* ``summary.csv``: per condition, year and metric: mean, 95% t-interval over replicates, n.
* ``paired.csv``: per condition (vs blended), year and metric: mean paired difference and its 95%
  t-interval (replicate r uses the same seed in every condition: common random numbers).

Usage (from the repository root)::

    .venv/bin/python experiments/pb_channels/run.py --replicates 10 --years 5 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from govsim.config import load_scenario
from govsim.runner import simulate

CONDITIONS: dict[str, list[str]] = {
    "no_pb": ["budgeting.enabled=false"],
    "online_only": ["budgeting.online=true", "budgeting.offline=false"],
    "offline_only": ["budgeting.online=false", "budgeting.offline=true"],
    "blended": ["budgeting.online=true", "budgeting.offline=true"],
}
AT_VOTE = [
    "pb_turnout",
    "pb_turnout_q1",
    "pb_turnout_q2",
    "pb_turnout_q3",
    "pb_turnout_q4",
    "pb_turnout_gap",
    "pb_proposals_offline_share",
    "pb_need_match",
    "pb_representation_gap",
]
AT_YEAR_END = ["pb_projects_completed", "trust_mean", "efficacy_mean"]
ROOT_SEED = 20240601


def run_one(args: tuple[str, int, int, int, int]) -> list[dict]:
    """Simulate one condition and replicate; return one row per PB year."""
    condition, rep, seed, years, citizens = args
    s = load_scenario(
        "participatory_budgeting",
        overrides=[*CONDITIONS[condition], f"population.citizens={citizens}"],
    )
    b = s.budgeting
    vote_doy = b.start_day + b.proposal_days + b.deliberation_days + b.voting_days
    res = simulate(s, seed=seed, days=365 * years)
    ts = res.timeseries.set_index("day")  # 'day' d is the state after d simulated days
    rows = []
    for y in range(years):
        row = {"condition": condition, "replicate": rep, "seed": seed, "year": y + 1}
        after_vote = ts.loc[365 * y + vote_doy + 1]
        end = ts.loc[365 * (y + 1)]
        # without PB the pb_* columns do not exist: recorded as NaN
        row.update({k: float(after_vote.get(k, np.nan)) for k in AT_VOTE})
        row.update({k: float(end.get(k, np.nan)) for k in AT_YEAR_END})
        rows.append(row)
    return rows


def t_interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean and two-sided t-interval of the mean, NaNs dropped (nan bounds below two values)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan"), float("nan"), float("nan"), 0
    m = float(x.mean())
    if x.size < 2:
        return m, float("nan"), float("nan"), 1
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return m, m - half, m + half, int(x.size)


def summarise(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-condition intervals and paired differences against the blended condition."""
    metrics = AT_VOTE + AT_YEAR_END
    out = []
    for (cond, year), g in runs.groupby(["condition", "year"], sort=False):
        for k in metrics:
            m, lo, hi, n = t_interval(g[k].to_numpy())
            if n == 0:
                continue
            out.append(
                {
                    "condition": cond,
                    "year": year,
                    "metric": k,
                    "mean": m,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n": n,
                }
            )
    paired = []
    base = runs[runs.condition == "blended"].set_index(["replicate", "year"])
    for cond in [c for c in CONDITIONS if c != "blended"]:
        other = runs[runs.condition == cond].set_index(["replicate", "year"])
        joined = other.merge(base, left_index=True, right_index=True, suffixes=("", "_blended"))
        for year, g in joined.groupby(level="year"):
            for k in metrics:
                d = g[k].to_numpy() - g[f"{k}_blended"].to_numpy()
                m, lo, hi, n = t_interval(d)
                if n == 0:
                    continue
                paired.append(
                    {
                        "condition": f"{cond} - blended",
                        "year": year,
                        "metric": k,
                        "mean": m,
                        "ci_low": lo,
                        "ci_high": hi,
                        "n": n,
                    }
                )
    return pd.DataFrame(out), pd.DataFrame(paired)


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        frame.to_csv(tmp, index=False, float_format="%.6g")
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_manifest(args: argparse.Namespace, seeds: list[int], path: Path) -> None:
    """Record what produced the tables: git commit, versions, arguments, seeds (atomically)."""
    import mesa

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--", "govsim"],
                capture_output=True,
                text=True,
                check=True,
                cwd=Path(__file__).parent,
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", True
    info = {
        "git_commit": commit,
        "govsim_tree_dirty": dirty,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "mesa": mesa.__version__,
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "conditions": CONDITIONS,
        "root_seed": ROOT_SEED,
        "seeds": seeds,
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    """Run the experiment and write runs.csv, summary.csv and paired.csv."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicates", type=int, default=10, help="seeds per condition (default 10)")
    p.add_argument("--years", type=int, default=5, help="PB years simulated (default 5)")
    p.add_argument("--citizens", type=int, default=5000, help="population size (default 5000)")
    p.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    a = p.parse_args(argv)
    if a.replicates < 1 or a.years < 1 or a.citizens < 1 or a.workers < 1:
        print(
            "run.py: --replicates, --years, --citizens and --workers must be >= 1", file=sys.stderr
        )
        return 2
    seeds = [
        int(np.random.SeedSequence(ROOT_SEED, spawn_key=(r,)).generate_state(1)[0])
        for r in range(a.replicates)
    ]
    tasks = [(c, r, seeds[r], a.years, a.citizens) for c in CONDITIONS for r in range(a.replicates)]
    if a.workers == 1:
        results = [run_one(t) for t in tasks]
    else:
        with ProcessPoolExecutor(a.workers) as ex:
            results = list(ex.map(run_one, tasks))
    runs = pd.DataFrame([row for rows in results for row in rows])
    summary, paired = summarise(runs)
    write_csv_atomic(runs, a.out / "runs.csv")
    write_csv_atomic(summary, a.out / "summary.csv")
    write_csv_atomic(paired, a.out / "paired.csv")
    write_manifest(a, seeds, a.out / "manifest.json")
    last = summary[summary.year == a.years].pivot(
        index="metric", columns="condition", values="mean"
    )
    print(last.round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
