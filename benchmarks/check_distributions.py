"""Check that a change left the distributions of the model's summary metrics as they were.

A change that must alter the order of random draws (a compiled event loop drawing event by event,
say) cannot be checked bit for bit (:mod:`benchmarks.check_identical`); what must hold instead is
that the model is the same random process. Before the change, record many seeds' summaries; after
it, record them again and compare::

    python -m benchmarks.check_distributions record              # before the change
    # ... make the change ...
    python -m benchmarks.check_distributions compare             # after it: exit 1 if they differ

Each of :data:`CASES` (packaged scenario, citizens, days) runs :data:`SEEDS` seeds. For every
summary metric that varies, two two-sample tests compare the recorded runs with the new ones:
Welch's t-test (the mean) and Kolmogorov-Smirnov (the whole distribution). The tolerance is
statistical: a metric is reported as changed when either test rejects at a family-wise error rate
of 5% over all the tests of the comparison (Holm's step-down correction), so an unchanged model
fails about one comparison in twenty at most, and a change that moves a mean by about one
standard deviation is found with 30 seeds. The report lists every rejection with its effect in
standard deviations, and the largest standardised difference overall. On an unchanged model a
rejection is the test's false alarm about once in twenty comparisons (measured: seeds 1-30
against 101-130 flagged `one_network`'s `assist_burden`, a batch of seeds 1-30 lying about 5
standard errors above six other batches); confirm a rejection with another seed set
(``--first-seed``) before reading it as a change.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from govsim.cli import StrictParser
from govsim.config import resolve_scenario
from govsim.runner import simulate

DEFAULT_REF = Path(tempfile.gettempdir()) / "govsim_distributions_reference.csv"
CASES: tuple[tuple[str, int, int], ...] = (
    ("baseline", 3000, 240),
    ("one_network", 3000, 240),
    ("speed_kpi", 3000, 240),
)
"""(packaged scenario, citizens, days): the baseline, unified dispatch and a gaming regime, each
past several assessment periods, at a size where a run takes a fraction of a second."""
ID_COLUMNS = ("case", "citizens", "days", "seed")
"""Columns of a recording that identify a run (the rest are its summary metrics)."""
SEEDS = 30
ALPHA = 0.05
"""Family-wise error rate of one comparison (Holm over every test)."""


def record(
    cases: tuple[tuple[str, int, int], ...] | None = None, seeds: int = SEEDS, first_seed: int = 1
) -> pd.DataFrame:
    """Summaries of ``seeds`` runs of each case: one row per run (``case``, ``citizens``,
    ``days``, ``seed``, then the summary's metrics)."""
    rows = []
    for name, citizens, days in CASES if cases is None else cases:
        scenario = resolve_scenario(name, {"population.citizens": citizens})
        t0 = time.perf_counter()
        for seed in range(first_seed, first_seed + seeds):
            r = simulate(scenario, seed=seed, days=days, timeseries=False)
            rows.append(
                {"case": name, "citizens": citizens, "days": days, "seed": seed, **r.summary}
            )
        print(f"  {name:14s} {seeds} seeds  {time.perf_counter() - t0:6.1f} s", flush=True)
    return pd.DataFrame(rows)


def compare(ref: pd.DataFrame, new: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Every (case, metric, test) with its p-value, Holm's decision and the effect in SDs.

    Metrics that are constant in both samples, or not finite in one of them, are left out.
    Returns one row per test, ``changed`` true where Holm's procedure rejects.
    """
    tests = []
    for case in sorted(set(ref["case"])):
        a_all, b_all = ref[ref["case"] == case], new[new["case"] == case]
        for metric in ref.columns.drop(list(ID_COLUMNS)):
            if metric not in b_all:
                continue
            a = pd.to_numeric(a_all[metric], errors="coerce").to_numpy(float)
            b = pd.to_numeric(b_all[metric], errors="coerce").to_numpy(float)
            if not (np.isfinite(a).all() and np.isfinite(b).all()) or len(a) < 3 or len(b) < 3:
                continue
            if np.ptp(a) == 0 and np.ptp(b) == 0:
                continue  # constant in both (a count fixed by the scenario, say)
            sd = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
            effect = (b.mean() - a.mean()) / sd if sd > 0 else math.inf
            with warnings.catch_warnings():  # precision loss on nearly constant samples
                warnings.simplefilter("ignore", RuntimeWarning)
                t_p = stats.ttest_ind(a, b, equal_var=False).pvalue if sd > 0 else 0.0
                ks_p = stats.ks_2samp(a, b).pvalue
            tests.append((case, metric, "welch_t", float(t_p), effect))
            tests.append((case, metric, "ks", float(ks_p), effect))
    out = pd.DataFrame(tests, columns=["case", "metric", "test", "p", "effect_sd"])
    # Holm: the k-th smallest p-value against alpha / (m - k), stopping at the first that passes
    order = np.argsort(out["p"].to_numpy(), kind="stable")
    m = len(out)
    changed = np.zeros(m, dtype=bool)
    for k, i in enumerate(order):
        if out["p"].iloc[i] > alpha / (m - k):
            break
        changed[i] = True
    out["changed"] = changed
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``record`` or ``compare`` (see the module docstring)."""
    p = StrictParser(prog="python -m benchmarks.check_distributions", description=__doc__)
    p.add_argument("action", choices=("record", "compare"))
    p.add_argument("--ref", type=Path, default=DEFAULT_REF, help=f"default {DEFAULT_REF}")
    p.add_argument("--seeds", type=int, default=SEEDS, help=f"seeds per case (default {SEEDS})")
    p.add_argument(
        "--first-seed",
        type=int,
        default=1,
        help="first seed (default 1). compare with other seeds than the recording's to see the "
        "test's false alarms on an unchanged model",
    )
    a = p.parse_args(argv)
    if a.seeds < 3:
        p.error(f"--seeds: expected 3 or more (a two-sample test needs them), got {a.seeds}")
    if a.action == "record":
        data = record(seeds=a.seeds, first_seed=a.first_seed)
        tmp = a.ref.with_name(a.ref.name + ".tmp")
        data.to_csv(tmp, index=False)
        os.replace(tmp, a.ref)
        print(f"recorded {len(data)} runs to {a.ref}")
        return 0
    if not a.ref.exists():
        print(f"no reference at {a.ref}: run 'record' first", file=sys.stderr)
        return 2
    ref = pd.read_csv(a.ref)
    recorded = ref[["case", "citizens", "days"]].drop_duplicates()
    cases = tuple((str(c), int(n), int(d)) for c, n, d in recorded.itertuples(index=False))
    new = record(cases, seeds=int(ref["seed"].nunique()), first_seed=a.first_seed)
    result = compare(ref, new)
    worst = result.loc[result["effect_sd"].abs().idxmax()] if len(result) else None
    changed = result[result["changed"]]
    print(
        f"{len(result)} tests over {result[['case', 'metric']].drop_duplicates().shape[0]} "
        f"(case, metric) pairs, Holm at a family-wise {ALPHA:.0%}"
    )
    if worst is not None:
        print(
            f"largest standardised difference: {worst['case']} {worst['metric']} "
            f"{worst['effect_sd']:+.2f} SD (p {worst['p']:.3g}, {worst['test']})"
        )
    if len(changed):
        print("CHANGED:")
        for _, r in changed.iterrows():
            print(
                f"  {r['case']}: {r['metric']} {r['effect_sd']:+.2f} SD ({r['test']} p {r['p']:.2g})"
            )
        return 1
    print("same distributions: no test rejects")
    return 0


if __name__ == "__main__":
    sys.exit(main())
