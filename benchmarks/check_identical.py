"""Check that a change left the model's outputs bit for bit as they were.

Performance work must not change what the model computes unless it says so. Before a change,
record the reference; after it, compare::

    python -m benchmarks.check_identical record
    # ... make the change ...
    python -m benchmarks.check_identical compare

The reference is ``govsim.runner.simulate(load_scenario(name), seed=1, days=...)`` for the packaged
``baseline`` (120 days, as in the brief) and a few scenarios that exercise other engine paths
(unified dispatch, summoning, forced online, participatory budgeting), each reduced to its summary
dict and its time series. ``compare`` exits 1 and lists the first differences when anything differs
(NaN equals NaN; everything else must be exactly equal).
"""

from __future__ import annotations

import math
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from govsim.cli import StrictParser
from govsim.config import load_scenario, packaged_scenarios
from govsim.runner import simulate

DEFAULT_REF = Path(tempfile.gettempdir()) / "govsim_identical_reference.pkl"
CASES: tuple[tuple[str, int], ...] = (
    ("baseline", 120),
    ("one_network", 60),
    ("whistle", 60),
    ("online_only", 60),
    ("participatory_budgeting", 400),
    ("fragmented", 60),
    ("speed_kpi", 120),
    ("balanced_kpi", 120),
    ("trace_kpi", 120),
    ("inclusive", 60),
    ("queue_mmc", 200),
    ("beijing_reform", 1500),
)
"""(packaged scenario, days) pairs recorded and compared: every packaged scenario, each past
at least one assessment period where it has one (120 days: four rankings and adaptations), and
participatory budgeting through a whole yearly cycle, and beijing_reform past its last reform."""
SEED = 1


def run_cases(cases: tuple[tuple[str, int], ...] = CASES) -> dict[str, dict]:
    """Simulate every case; returns ``{name: {"summary": dict, "timeseries": DataFrame}}``."""
    have = packaged_scenarios()
    out: dict[str, dict] = {}
    for name, days in cases:
        if name not in have:
            continue
        t0 = time.perf_counter()
        r = simulate(load_scenario(name), seed=SEED, days=days)
        out[name] = {"summary": dict(r.summary), "timeseries": r.timeseries, "days": days}
        print(f"  {name:26s} {days:4d} days  {time.perf_counter() - t0:6.2f} s", flush=True)
    return out


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def differences(ref: dict[str, dict], new: dict[str, dict], limit: int = 20) -> list[str]:
    """Human-readable differences between two recordings (empty when identical)."""
    out: list[str] = []
    for name, r in ref.items():
        if name not in new:
            out.append(f"{name}: missing from the new run")
            continue
        n = new[name]
        keys = sorted(set(r["summary"]) | set(n["summary"]))
        for k in keys:
            a, b = r["summary"].get(k, "<absent>"), n["summary"].get(k, "<absent>")
            if not _same(a, b):
                out.append(f"{name}: summary[{k}]: {a!r} -> {b!r}")
        ta, tb = r["timeseries"], n["timeseries"]
        if list(ta.columns) != list(tb.columns) or ta.shape != tb.shape:
            out.append(f"{name}: time series shape/columns {ta.shape} -> {tb.shape}")
            continue
        try:
            pd.testing.assert_frame_equal(ta, tb, check_exact=True)
        except AssertionError:
            for col in ta.columns:
                a, b = ta[col].to_numpy(), tb[col].to_numpy()
                bad = ~((a == b) | (pd.isna(a) & pd.isna(b)))
                if bad.any():
                    i = int(bad.argmax())
                    out.append(
                        f"{name}: timeseries[{col}] differs on {int(bad.sum())} days, first day "
                        f"{int(ta['day'].iloc[i])}: {a[i]!r} -> {b[i]!r}"
                    )
        if len(out) >= limit:
            break
    return out[:limit]


def main(argv: list[str] | None = None) -> int:
    """Command line: ``record`` or ``compare`` (see the module docstring)."""
    p = StrictParser(prog="python -m benchmarks.check_identical", description=__doc__)
    p.add_argument("action", choices=("record", "compare"))
    p.add_argument("--ref", type=Path, default=DEFAULT_REF, help=f"default {DEFAULT_REF}")
    a = p.parse_args(argv)
    if a.action == "record":
        data = run_cases()
        tmp = a.ref.with_name(a.ref.name + ".tmp")
        with open(tmp, "wb") as f:
            pickle.dump(data, f)
        os.replace(tmp, a.ref)
        print(f"recorded {len(data)} runs to {a.ref}")
        return 0
    if not a.ref.exists():
        print(f"no reference at {a.ref}: run 'record' first", file=sys.stderr)
        return 2
    with open(a.ref, "rb") as f:
        ref = pickle.load(f)
    new = run_cases(tuple((k, v["days"]) for k, v in ref.items()))
    diff = differences(ref, new)
    if diff:
        print("DIFFERENT:")
        for line in diff:
            print("  " + line)
        return 1
    print(f"identical: {len(ref)} runs (summaries and time series)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
