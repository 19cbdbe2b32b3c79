"""Sensitivity analysis of a merged sweep: Sobol (Saltelli/Jansen via SALib) or Morris indices.

``govsim analyze DIR`` reads ``runs.parquet`` (merging first if it is missing), averages each design
point's replicates, and computes, per output:

- Sobol designs: first-order ``S1``, total ``ST`` (and ``S2`` when planned) with bootstrap
  confidence intervals (:func:`SALib.analyze.sobol.analyze`);
- Morris designs: ``mu``, ``mu_star``, ``sigma`` with a bootstrap interval on ``mu_star``
  (:func:`SALib.analyze.morris.analyze`), on the unit-scaled inputs.

It writes ``sensitivity.parquet`` (long: ``output, method, index, parameter, parameter2, estimate,
conf`` where ``conf`` is the half-width of the ``conf_level`` interval) and one PNG per output under
``plots/``. It refuses sets with failed runs, missing or NaN outputs, or outputs that do not vary,
naming the runs or outputs concerned. The analysis runs in the unit hypercube the design was drawn
in; Sobol indices do not change under the one-to-one marginal maps to parameter values.
"""

from __future__ import annotations

import difflib
import io
import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from govsim.config import ScenarioError
from govsim.experiment import results as store
from govsim.experiment.design import salib_problem
from govsim.experiment.merge import RUNS, merge, read_runs
from govsim.experiment.plan import Plan, load_plan
from govsim.experiment.seeds import ANALYSIS_STREAM, stream_seed
from govsim.experiment.spec import Parameter, ParameterSpec
from govsim.outputs import atomic_write, atomic_write_bytes

SENSITIVITY = "sensitivity.parquet"
PLOTS = "plots"
COLUMNS = ("output", "method", "index", "parameter", "parameter2", "estimate", "conf")


def _parameters(plan: Plan) -> list[Parameter]:
    return [
        Parameter(p["name"], ParameterSpec.model_validate(p["spec"]), integer=p["integer"])
        for p in plan.manifest["parameters"]
    ]


def point_means(plan: Plan, runs: pd.DataFrame, outputs: list[str]) -> pd.DataFrame:
    """Replicate means per design point (rows in point order), after checking the runs are usable.

    Raises:
        ScenarioError: on failed runs, unknown outputs or NaN values.
    """
    failed = runs.loc[runs["status"] != "ok", "run_id"].tolist()
    if failed:
        first = runs.loc[runs["status"] != "ok", "error"].iloc[0]
        raise ScenarioError(
            [
                f"{plan.dir}: {len(failed)} runs failed ({store.format_ids(failed, 10)}; first error: {first}); "
                f"fix the cause and run `govsim execute {plan.dir} --retry-failed`, then merge again"
            ]
        )
    problems = []
    for out in outputs:
        if out not in runs.columns:
            known = [
                c
                for c in runs.columns
                if c not in plan.design.columns and c not in ("status", "error", "wall_s", "host")
            ]
            hint = difflib.get_close_matches(out, known, n=1)
            dym = f"; did you mean '{hint[0]}'?" if hint else ""
            problems.append(
                f"output {out!r} is not in the results{dym} (outputs: {', '.join(known)})"
            )
            continue
        values = pd.to_numeric(runs[out], errors="coerce")
        bad = runs.loc[values.isna() | ~np.isfinite(values.fillna(0.0)), "run_id"].tolist()
        if bad:
            problems.append(
                f"output {out!r} is NaN, infinite or not a number in runs {store.format_ids(bad, 10)}"
            )
    if problems:
        raise ScenarioError([f"{plan.dir}: {p}" for p in problems])
    means = runs.groupby("point_id", sort=True)[outputs].mean()
    if len(means) != plan.manifest["n_points"]:
        raise ScenarioError(
            [f"{plan.dir}: expected {plan.manifest['n_points']} design points, found {len(means)}"]
        )
    return means


def _rows(
    output: str, method: str, index: str, names: list[str], est: Any, conf: Any
) -> list[dict[str, Any]]:
    return [
        {
            "output": output,
            "method": method,
            "index": index,
            "parameter": n,
            "parameter2": None,
            "estimate": float(e),
            "conf": float(c),
        }
        for n, e, c in zip(names, np.asarray(est), np.asarray(conf), strict=True)
    ]


def analyze_output(
    plan: Plan, y: np.ndarray, output: str, *, num_resamples: int, conf_level: float, seed: int
) -> list[dict[str, Any]]:
    """Indices of one output (rows of the sensitivity table)."""
    params = _parameters(plan)
    names = [p.name for p in params]
    problem = salib_problem(params)
    method = plan.manifest["method"]
    rows: list[dict[str, Any]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "sobol":
            from SALib.analyze import sobol

            second = bool(plan.manifest["design"].get("second_order"))
            res = sobol.analyze(
                problem,
                y,
                calc_second_order=second,
                num_resamples=num_resamples,
                conf_level=conf_level,
                seed=seed,
            )
            rows += _rows(output, method, "S1", names, res["S1"], res["S1_conf"])
            rows += _rows(output, method, "ST", names, res["ST"], res["ST_conf"])
            if second:
                for i in range(len(names)):
                    for j in range(i + 1, len(names)):
                        rows.append(
                            {
                                "output": output,
                                "method": method,
                                "index": "S2",
                                "parameter": names[i],
                                "parameter2": names[j],
                                "estimate": float(res["S2"][i, j]),
                                "conf": float(res["S2_conf"][i, j]),
                            }
                        )
        else:
            from SALib.analyze import morris

            assert plan.unit is not None
            res = morris.analyze(
                problem,
                plan.unit,
                y,
                num_resamples=num_resamples,
                conf_level=conf_level,
                num_levels=int(plan.manifest["design"]["levels"]),
                seed=seed,
            )
            nan = np.full(len(names), math.nan)
            rows += _rows(output, method, "mu", names, res["mu"], nan)
            rows += _rows(output, method, "mu_star", names, res["mu_star"], res["mu_star_conf"])
            rows += _rows(output, method, "sigma", names, res["sigma"], nan)
    return rows


def _plot(frame: pd.DataFrame, output: str, method: str, conf_level: float) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.45 * frame["parameter"].nunique() + 1.6))
    try:
        if method == "sobol":
            params = frame.loc[frame["index"] == "S1", "parameter"].tolist()
            pos = np.arange(len(params))
            for k, (idx, colour) in enumerate((("S1", "#4c72b0"), ("ST", "#dd8452"))):
                sub = frame[frame["index"] == idx].set_index("parameter").loc[params]
                ax.barh(
                    pos + (k - 0.5) * 0.38,
                    sub["estimate"],
                    height=0.38,
                    xerr=sub["conf"],
                    color=colour,
                    label=idx,
                )
            ax.set_yticks(pos, params)
            ax.set_xlabel(f"Sobol index (bars: {conf_level:.0%} interval)")
            ax.legend()
        else:
            mu = frame[frame["index"] == "mu_star"].set_index("parameter")
            sigma = frame[frame["index"] == "sigma"].set_index("parameter").loc[mu.index]
            ax.errorbar(mu["estimate"], sigma["estimate"], xerr=mu["conf"], fmt="o")
            for name in mu.index:
                ax.annotate(
                    name, (mu.loc[name, "estimate"], sigma.loc[name, "estimate"]), fontsize=8
                )
            ax.set_xlabel("mu* (mean |elementary effect|, unit-scaled inputs)")
            ax.set_ylabel("sigma")
        ax.set_title(f"{output}: {method} sensitivity")
        if method == "sobol":
            ax.invert_yaxis()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
        return buf.getvalue()
    finally:
        plt.close(fig)


def analyze(
    directory: str | Path,
    *,
    outputs: list[str] | None = None,
    num_resamples: int = 200,
    conf_level: float = 0.95,
    plots: bool = True,
) -> tuple[pd.DataFrame, list[Path]]:
    """Compute sensitivity indices for a merged Sobol or Morris sweep and write them.

    Args:
        directory: The plan directory.
        outputs: Outputs to analyse (default: the experiment's ``outputs``, else every numeric one).
        num_resamples: Bootstrap resamples for the confidence intervals.
        conf_level: Confidence level of the intervals.
        plots: Also write one PNG per output.

    Returns:
        The sensitivity table and the paths written.

    Raises:
        ScenarioError: for grid/LHS designs, incomplete sets, failed runs or NaN outputs.
    """
    plan = load_plan(directory)
    method = plan.manifest["method"]
    if method not in ("sobol", "morris"):
        raise ScenarioError(
            [
                f"{plan.dir}: analyze computes Sobol or Morris indices; this is a {method} design "
                f"(its runs are in {RUNS} for your own analysis)"
            ]
        )
    runs = read_runs(plan) if (plan.dir / RUNS).exists() else merge(plan.dir)[0]
    if outputs is None:
        outputs = list(plan.manifest.get("outputs") or [])
    if not outputs:
        fixed = set(plan.design.columns) | {"status", "error", "wall_s", "host"}
        outputs = [
            c for c in runs.columns if c not in fixed and pd.api.types.is_numeric_dtype(runs[c])
        ]
    if not outputs:
        raise ScenarioError([f"{plan.dir}: no numeric outputs to analyse"])
    means = point_means(plan, runs, outputs)
    flat = [o for o in outputs if float(np.ptp(means[o].to_numpy())) == 0.0]
    if flat:
        raise ScenarioError(
            [
                f"{plan.dir}: outputs {flat} do not vary across the design; their indices are undefined"
            ]
        )
    seed = stream_seed(int(plan.manifest["root_seed"]), ANALYSIS_STREAM) % (2**32)
    rows: list[dict[str, Any]] = []
    for out in outputs:
        rows += analyze_output(
            plan,
            means[out].to_numpy(dtype=float),
            out,
            num_resamples=num_resamples,
            conf_level=conf_level,
            seed=seed,
        )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["parameter2"] = table["parameter2"].astype("object")
    written = []
    atomic_write(
        plan.dir / SENSITIVITY, lambda tmp: table.to_parquet(tmp, index=False, engine="pyarrow")
    )
    written.append(plan.dir / SENSITIVITY)
    if plots:
        (plan.dir / PLOTS).mkdir(exist_ok=True)
        for out in outputs:
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", out)
            path = plan.dir / PLOTS / f"sensitivity_{safe}.png"
            atomic_write_bytes(path, _plot(table[table["output"] == out], out, method, conf_level))
            written.append(path)
    return table, written


def format_table(table: pd.DataFrame) -> str:
    """A plain-text view of the main indices (S1/ST or mu*/sigma) per output."""
    lines = []
    for (out, method), sub in table.groupby(["output", "method"], sort=False):
        keep = ("S1", "ST") if method == "sobol" else ("mu_star", "sigma")
        cells = {(r.parameter, r.index): (r.estimate, r.conf) for r in sub.itertuples(index=False)}
        params = list(dict.fromkeys(sub["parameter"]))
        width = max(len("parameter"), *(len(str(p)) for p in params))
        lines.append(f"{out} ({method}; ± half-width of the confidence interval):")
        lines.append(f"  {'parameter':<{width}}  " + "  ".join(f"{k:>17}" for k in keep))
        for p in params:
            row = []
            for k in keep:
                est, conf = cells[(p, k)]
                row.append(
                    f"{est:>8.3f} ± {conf:<6.3f}" if not math.isnan(conf) else f"{est:>8.3f}{'':9}"
                )
            lines.append(f"  {p:<{width}}  " + "  ".join(row))
    return "\n".join(lines)
