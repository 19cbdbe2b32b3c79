"""Sensitivity analysis of a merged sweep: Sobol (Saltelli/Jansen via SALib) or Morris indices.

``govsim analyze DIR`` reads ``runs.parquet`` (merging first if it is missing), averages each design
point's replicates, and computes, per output:

- Sobol designs: first-order ``S1``, total ``ST`` (and ``S2`` when planned) with bootstrap
  confidence intervals (:func:`SALib.analyze.sobol.analyze`);
- Morris designs: ``mu``, ``mu_star``, ``sigma`` with a bootstrap interval on ``mu_star``
  (:func:`SALib.analyze.morris.analyze`), on the unit-scaled inputs.

It writes ``sensitivity.parquet`` (long: ``output, method, index, parameter, parameter2, estimate,
conf`` where ``conf`` is the half-width of the ``conf_level`` interval), ``sensitivity.txt`` (the
table as printed, with its warnings) and one PNG per output under ``plots/``. It refuses sets with
failed runs, missing or NaN outputs, or outputs that do not vary, naming the runs or outputs
concerned. The analysis runs in the unit hypercube the design was drawn in; Sobol indices do not
change under the one-to-one marginal maps to parameter values.

Replicate noise against effects. With two or more replicates per design point the pooled
within-point variance ``s2`` of each output is the model's own noise, and the table gets one row
per output without a parameter:

- Morris, ``noise_floor``: the ``mu*`` that replicate noise alone would give a parameter with no
  effect, ``sqrt(2/pi) * sqrt(2 s2 / R) / delta`` (an elementary effect is the difference of two
  means of ``R`` replicates over the step ``delta = levels / (2 (levels - 1))`` of the unit-scaled
  input; ``mu*`` is the mean of its absolute value, ``sqrt(2/pi)`` standard deviations for normal
  noise). A parameter whose ``mu*`` is not above it cannot be told from noise.
- Sobol, ``noise_share``: ``(s2 / R) / Var(point means)``, the share of the analysed variance that
  is replicate noise left after averaging (SALib's estimators take one value per point, so
  replicates are averaged first, as SALib recommends for stochastic models). It inflates every
  ``ST`` by about itself and shrinks every ``S1`` by the factor ``1 - noise_share``.

Warnings (:func:`index_warnings`) are printed with the table, written to ``sensitivity.txt`` and
kept in ``table.attrs["warnings"]``: a Sobol base sample below :data:`SOBOL_MIN_N`, indices that
leave [0, 1] (by more than :data:`OUTSIDE_TOLERANCE` or their interval), intervals wider than :data:`MAX_HALF_WIDTH`, a noise share
above :data:`MAX_NOISE_SHARE`, and Morris parameters whose ``mu*`` is not above the noise floor by
more than its interval (marked "(within noise)" in the table).
"""

from __future__ import annotations

import difflib
import io
import math
import re
import textwrap
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from govsim.config import ScenarioError
from govsim.experiment import results as store
from govsim.experiment.design import salib_problem
from govsim.experiment.merge import RUNS, merge, read_runs
from govsim.experiment.plan import Plan, load_plan
from govsim.experiment.seeds import ANALYSIS_STREAM, stream_seed
from govsim.experiment.spec import Parameter, ParameterSpec
from govsim.outputs import atomic_write, atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SENSITIVITY = "sensitivity.parquet"
REPORT = "sensitivity.txt"
PLOTS = "plots"
COLUMNS = ("output", "method", "index", "parameter", "parameter2", "estimate", "conf")

SOBOL_MIN_N = 512
"""Smallest Sobol base sample N analysed without a warning. Measured with SALib on the Ishigami
(3 parameters) and G (6 parameters) functions, the largest 95% half-width of S1 and ST was
0.46-0.73 at N = 16, 0.26-0.32 at 64, 0.11-0.14 at 256, 0.08-0.09 at 512 and 0.06-0.09 at 1,024,
nearly independent of the number of parameters k (the runs, N (k + 2), grow with k)."""
OUTSIDE_TOLERANCE = 0.05
"""A Sobol index outside [0, 1] by more than this, or by more than its interval's half-width, is
flagged (estimates of an inert parameter scatter around 0 by a few hundredths at N = 512)."""
MAX_HALF_WIDTH = 0.1
"""Interval half-width above which a Sobol index is reported as too uncertain to rank on."""
MAX_NOISE_SHARE = 0.05
"""Share of the analysed variance that is replicate noise above which Sobol indices are flagged."""


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


def replicate_variance(plan: Plan, runs: pd.DataFrame, outputs: list[str]) -> dict[str, float]:
    """Pooled within-point variance of each output (the model's replicate noise).

    The mean over design points of the sample variance (``ddof=1``) of their replicates; NaN with
    one replicate per point.
    """
    if int(plan.manifest["replicates"]) < 2:
        return {out: math.nan for out in outputs}
    var = runs.groupby("point_id", sort=True)[outputs].var(ddof=1)
    return {out: float(var[out].mean()) for out in outputs}


def morris_delta(levels: int) -> float:
    """The step of a Morris trajectory on the unit-scaled inputs (SALib's ``levels / (2 (levels -
    1))``)."""
    return levels / (2.0 * (levels - 1))


def noise_floor(noise_variance: float, replicates: int, levels: int) -> float:
    """The Morris ``mu*`` of a parameter without effect, from replicate noise alone.

    Args:
        noise_variance: Pooled within-point variance of the output.
        replicates: Runs averaged per design point.
        levels: The design's Morris levels.

    Returns:
        ``sqrt(2/pi) * sqrt(2 noise_variance / replicates) / delta``.
    """
    sd_effect = math.sqrt(2.0 * noise_variance / replicates) / morris_delta(levels)
    return math.sqrt(2.0 / math.pi) * sd_effect


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


def _noise_row(output: str, method: str, index: str, value: float) -> dict[str, Any]:
    return {
        "output": output,
        "method": method,
        "index": index,
        "parameter": None,
        "parameter2": None,
        "estimate": value,
        "conf": math.nan,
    }


def analyze_output(
    plan: Plan,
    y: np.ndarray,
    output: str,
    *,
    num_resamples: int,
    conf_level: float,
    seed: int,
    noise_variance: float = math.nan,
) -> list[dict[str, Any]]:
    """Indices of one output (rows of the sensitivity table).

    With a finite ``noise_variance`` (pooled replicate variance) it adds the row ``noise_floor``
    (Morris) or ``noise_share`` (Sobol) described in the module docstring.
    """
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
            if math.isfinite(noise_variance):
                share = noise_variance / int(plan.manifest["replicates"]) / float(np.var(y))
                rows.append(_noise_row(output, method, "noise_share", share))
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
            if math.isfinite(noise_variance):
                floor = noise_floor(
                    noise_variance,
                    int(plan.manifest["replicates"]),
                    int(plan.manifest["design"]["levels"]),
                )
                rows.append(_noise_row(output, method, "noise_floor", floor))
    return rows


def _noise(sub: pd.DataFrame, index: str) -> float:
    row = sub[(sub["index"] == index) & sub["parameter"].isna()]
    return float(row["estimate"].iloc[0]) if len(row) else math.nan


def index_warnings(table: pd.DataFrame, manifest: dict[str, Any]) -> list[str]:
    """What a reader of the indices must know before trusting them.

    Args:
        table: The sensitivity table (one or more outputs).
        manifest: The plan's manifest (method, design, parameters, replicates, target).

    Returns:
        One sentence per problem (none if there is nothing to say).
    """
    out = []
    method = manifest["method"]
    k = len(manifest["parameters"])
    replicates = int(manifest["replicates"])
    if method == "sobol":
        n = int(manifest["design"]["n"])
        if n < SOBOL_MIN_N:
            out.append(
                f"Sobol base sample N = {n} for {k} parameters ({manifest['n_points']} points): "
                f"too small for stable indices; on test functions the intervals are about "
                f"+-0.1 only from N = {SOBOL_MIN_N} (+-0.3 at N = 64, +-0.5 or more at N = 16)"
            )
    elif replicates < 2 and manifest.get("target", {}).get("kind") == "scenario":
        out.append(
            "one replicate per design point: the model's noise is not measured, so mu* cannot be "
            "told from it (plan with replicates: 2 or more for a noise floor)"
        )
    for (output, _method), sub in table.groupby(["output", "method"], sort=False):
        params = sub[sub["parameter"].notna()]
        if method == "sobol":
            for r in params[params["index"].isin(["S1", "ST"])].itertuples(index=False):
                excess = max(r.estimate - 1.0, -r.estimate)
                if excess > min(r.conf, OUTSIDE_TOLERANCE):
                    out.append(
                        f"{output}: {r.index} of {r.parameter} = {r.estimate:.3f} +- {r.conf:.3f} "
                        "lies outside [0, 1], where a share of variance must be: the estimate is "
                        "not reliable (N too small, or the output too noisy)"
                    )
            widest = float(params.loc[params["index"].isin(["S1", "ST"]), "conf"].max())
            if widest > MAX_HALF_WIDTH:
                out.append(
                    f"{output}: intervals up to +-{widest:.2f}; indices closer than that cannot "
                    "be ranked (a larger N narrows them as 1/sqrt(N))"
                )
            share = _noise(sub, "noise_share")
            if share > MAX_NOISE_SHARE:
                out.append(
                    f"{output}: replicate noise is {share:.0%} of the variance analysed (after "
                    f"averaging {replicates} replicates): every ST is inflated and every S1 "
                    "shrunk by about that much; add replicates"
                )
        else:
            floor = _noise(sub, "noise_floor")
            if math.isfinite(floor):
                mu = params[params["index"] == "mu_star"]
                within = mu.loc[mu["estimate"] - mu["conf"] <= floor, "parameter"].tolist()
                if within:
                    out.append(
                        f"{output}: mu* of {', '.join(within)} is not above the noise floor "
                        f"{floor:.3g} (what replicate noise alone gives) by more than its "
                        "interval: these effects cannot be told from noise"
                    )
    return out


def sensitivity_figure(
    frame: pd.DataFrame, output: str, method: str, conf_level: float, *, warned: bool = False
) -> Figure:
    """The indices of one output as horizontal bars, one row of bars per parameter.

    Sobol: ``S1`` and ``ST`` with their intervals, and the bounds 0 and 1 of a share of variance.
    Morris: ``mu*`` with its interval and ``sigma``, and the noise floor of ``mu*`` (shaded) when
    replicates measured it. Parameter names are the tick labels, outside the plotting area, and
    the legend sits below the axes, so neither covers a bar or an interval; the layout engine
    (constrained) makes room for both.

    Args:
        frame: The output's rows of the sensitivity table.
        output: The output's name.
        method: ``"sobol"`` or ``"morris"``.
        conf_level: The intervals' confidence level (for the axis label).
        warned: Say under the title that warnings concern these indices.

    Returns:
        A Matplotlib figure attached to an Agg canvas.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    per_param = frame[frame["parameter"].notna()]
    params = list(dict.fromkeys(per_param["parameter"]))
    fig = Figure(figsize=(7, 0.5 * len(params) + 2.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    pos = np.arange(len(params))
    height = 0.38
    if method == "sobol":
        bars = (("S1", "S1 (first order)", "#4c72b0"), ("ST", "ST (total)", "#dd8452"))
        xlabel = f"Sobol index (lines: {conf_level:.0%} interval)"
    else:
        bars = (
            ("mu_star", "mu* (mean |elementary effect|)", "#4c72b0"),
            ("sigma", "sigma", "#dd8452"),
        )
        xlabel = (
            f"effect on {output} per whole range of a parameter "
            f"(unit-scaled inputs; lines: {conf_level:.0%} interval)"
        )
    for k, (idx, label, colour) in enumerate(bars):
        sub = per_param[per_param["index"] == idx].set_index("parameter").loc[params]
        conf = sub["conf"].to_numpy(dtype=float)
        ax.barh(
            pos + (k - 0.5) * height,
            sub["estimate"],
            height=height,
            xerr=None if np.isnan(conf).all() else conf,
            color=colour,
            label=label,
            error_kw={"elinewidth": 1.0, "capsize": 2.5},
        )
    if method == "sobol":
        for bound in (0.0, 1.0):
            ax.axvline(bound, color="0.3", linewidth=0.8)
        share = _noise(frame, "noise_share")
        if math.isfinite(share):
            ax.plot([], [], " ", label=f"replicate noise: {share:.0%} of the variance")
    else:
        ax.axvline(0.0, color="0.3", linewidth=0.8)
        floor = _noise(frame, "noise_floor")
        if math.isfinite(floor):
            ax.axvspan(
                0.0,
                floor,
                color="0.6",
                alpha=0.3,
                linewidth=0,
                zorder=0,
                label=f"noise floor of mu* ({floor:.3g})",
            )
    ax.set_yticks(pos, params)
    ax.invert_yaxis()
    ax.set_xlabel(textwrap.fill(xlabel, 55), fontsize=9)
    title = textwrap.fill(f"{output}: {method} sensitivity", 50)
    if warned:
        title += "\n(read with the warnings in sensitivity.txt)"
    ax.set_title(title, fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return fig


def _plot(
    frame: pd.DataFrame, output: str, method: str, conf_level: float, *, warned: bool
) -> bytes:
    fig = sensitivity_figure(frame, output, method, conf_level, warned=warned)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()


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
    noise = replicate_variance(plan, runs, outputs)
    rows: list[dict[str, Any]] = []
    for out in outputs:
        rows += analyze_output(
            plan,
            means[out].to_numpy(dtype=float),
            out,
            num_resamples=num_resamples,
            conf_level=conf_level,
            seed=seed,
            noise_variance=noise[out],
        )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["parameter2"] = table["parameter2"].astype("object")
    written = []
    atomic_write(
        plan.dir / SENSITIVITY, lambda tmp: table.to_parquet(tmp, index=False, engine="pyarrow")
    )
    written.append(plan.dir / SENSITIVITY)
    table.attrs["warnings"] = index_warnings(table, plan.manifest)
    atomic_write_text(plan.dir / REPORT, format_table(table) + "\n")
    written.append(plan.dir / REPORT)
    if plots:
        warned = table.attrs["warnings"]
        shared = [w for w in warned if not any(w.startswith(f"{o}: ") for o in outputs)]
        (plan.dir / PLOTS).mkdir(exist_ok=True)
        for out in outputs:
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", out)
            path = plan.dir / PLOTS / f"sensitivity_{safe}.png"
            concerns = [w for w in warned if w.startswith(f"{out}: ") or w in shared]
            atomic_write_bytes(
                path,
                _plot(
                    table[table["output"] == out], out, method, conf_level, warned=bool(concerns)
                ),
            )
            written.append(path)
    return table, written


def format_table(table: pd.DataFrame) -> str:
    """A plain-text view of the main indices (S1/ST or mu*/sigma) per output."""
    lines = []
    for (out, method), sub in table.groupby(["output", "method"], sort=False):
        keep = ("S1", "ST") if method == "sobol" else ("mu_star", "sigma")
        per_param = sub[sub["parameter"].notna()]
        cells = {
            (r.parameter, r.index): (r.estimate, r.conf) for r in per_param.itertuples(index=False)
        }
        params = list(dict.fromkeys(per_param["parameter"]))
        width = max(len("parameter"), *(len(str(p)) for p in params))
        lines.append(f"{out} ({method}; ± half-width of the confidence interval):")
        lines.append(f"  {'parameter':<{width}}  " + "  ".join(f"{k:>17}" for k in keep))
        floor = _noise(sub, "noise_floor")
        for p in params:
            row = []
            for k in keep:
                est, conf = cells[(p, k)]
                row.append(
                    f"{est:>8.3f} ± {conf:<6.3f}" if not math.isnan(conf) else f"{est:>8.3f}{'':9}"
                )
            if method != "sobol":
                mu_star, mu_conf = cells[(p, "mu_star")]
                noisy = mu_star - mu_conf <= floor  # False when there is no floor (NaN)
            else:
                noisy = False
            lines.append(
                f"  {p:<{width}}  " + "  ".join(row) + ("  (within noise)" if noisy else "")
            )
        if math.isfinite(floor):
            lines.append(f"  noise floor of mu* (replicate noise alone): {floor:.3f}")
        share = _noise(sub, "noise_share")
        if math.isfinite(share):
            lines.append(f"  replicate noise: {share:.1%} of the variance analysed")
    warned = table.attrs.get("warnings") or []
    if warned:
        lines.append("warnings:")
        lines += [f"  - {w}" for w in warned]
    return "\n".join(lines)
