"""The calibration's outputs: posterior, plots, best-fitting scenario, pattern report, manifest.

Every file is written atomically (:mod:`govsim.outputs`) and listed with its checksum in
``manifest.json``, written last. The pattern report's simulated mean and 95% interval are the
posterior-weighted mean and 2.5%/97.5% weighted quantiles of the final generation's particles'
R-replicate mean features (the posterior predictive of the calibrated quantity); a pattern passes
when that mean lies inside its acceptance interval.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from govsim.calibrate.spec import Calibration
from govsim.outputs import atomic_write, atomic_write_bytes, atomic_write_text, json_text

POSTERIOR = "posterior.parquet"
PAIRS = "pairs.png"
MARGINALS = "marginals.png"
BEST = "best.yaml"
REPORT = "report.md"
PATTERNS_FIG = "patterns.png"
PATTERNS_CSV = "patterns.csv"
SCREENING_MD = "screening.md"
MANIFEST = "manifest.json"


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The weighted q-quantile (inverse of the weighted empirical CDF, midpoint rule)."""
    ok = np.isfinite(values)
    v, w = values[ok], weights[ok]
    if v.size == 0 or w.sum() <= 0:
        return math.nan
    order = np.argsort(v)
    v, w = v[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cdf, v))


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    """The weighted mean over finite values."""
    ok = np.isfinite(values)
    return float(np.average(values[ok], weights=weights[ok])) if ok.any() else math.nan


def pattern_table(cal: Calibration, post: pd.DataFrame) -> pd.DataFrame:
    """Per pattern: target, simulated mean and 95% interval under the posterior, pass or fail."""
    w = post["weight"].to_numpy(dtype=float)
    best = post.loc[post["distance"].idxmin()]
    rows = []
    for name, p in cal.patterns.patterns.items():
        sim = post[f"sim::{name}"].to_numpy(dtype=float)
        mean = weighted_mean(sim, w)
        lo, hi = p.target.bounds
        rows.append(
            {
                "pattern": name,
                "role": "validation (held out)" if name in cal.holdout else "fitted",
                "feature": p.describe(),
                "target_low": lo,
                "target_high": hi,
                "sim_mean": mean,
                "sim_p2.5": weighted_quantile(sim, w, 0.025),
                "sim_p97.5": weighted_quantile(sim, w, 0.975),
                "best_particle": float(best[f"sim::{name}"]),
                "replicate_sd": weighted_mean(post[f"sd::{name}"].to_numpy(dtype=float), w),
                "pass": bool(math.isfinite(mean) and lo <= mean <= hi),
                "source": p.source,
                "grade": p.grade,
            }
        )
    return pd.DataFrame(rows)


def parameter_table(cal: Calibration, post: pd.DataFrame, ident: list[str]) -> pd.DataFrame:
    """Per parameter: prior, posterior mean and 90% / 95% intervals, identifiable or not."""
    w = post["weight"].to_numpy(dtype=float)
    best = post.loc[post["distance"].idxmin()]
    rows = []
    for p in cal.priors:
        v = post[p.name].to_numpy(dtype=float)
        rows.append(
            {
                "parameter": p.name,
                "prior": f"{'log-' if p.log else ''}uniform [{p.low:g}, {p.high:g}]",
                "posterior_mean": weighted_mean(v, w),
                "p5": weighted_quantile(v, w, 0.05),
                "p95": weighted_quantile(v, w, 0.95),
                "p2.5": weighted_quantile(v, w, 0.025),
                "p97.5": weighted_quantile(v, w, 0.975),
                "best": float(best[p.name]),
                "identifiable": p.name in ident,
            }
        )
    return pd.DataFrame(rows)


def best_scenario(cal: Calibration, post: pd.DataFrame, name: str) -> dict[str, Any]:
    """The base scenario with the closest particle's values, as plain scenario data."""
    from govsim.config import scenario_from_dict, scenario_to_dict, set_path

    best = post.loc[post["distance"].idxmin()]
    data = dict(cal.base_scenario)
    for p in cal.priors:
        value = best[p.name]
        data = set_path(data, p.name, round(float(value)) if p.integer else float(value))
    data = set_path(data, "name", name)
    data = set_path(
        data,
        "description",
        f"Calibrated by govsim calibrate ({cal.name}): the closest particle of the last generation",
    )
    return scenario_to_dict(scenario_from_dict(data, "calibrated scenario"))


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def marginals_png(cal: Calibration, post: pd.DataFrame, truth: dict[str, float] | None) -> bytes:
    """Weighted histograms of each parameter over its prior range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(cal.priors)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    w = post["weight"].to_numpy(dtype=float)
    for ax, p in zip(axes.flat, cal.priors, strict=False):
        v = post[p.name].to_numpy(dtype=float)
        bins = np.geomspace(p.low, p.high, 16) if p.log else np.linspace(p.low, p.high, 16)
        ax.hist(v, bins=bins, weights=w, color="#4c72b0", alpha=0.8)
        if p.log:
            ax.set_xscale("log")
        if truth and p.name in truth:
            ax.axvline(truth[p.name], color="#c44e52", lw=2, label="true")
            ax.legend(fontsize=7)
        ax.set_title(p.name, fontsize=8)
        ax.set_xlim(p.low, p.high)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle("Posterior marginals (last generation, weighted)", fontsize=10)
    return _png(fig)


def pairs_png(cal: Calibration, post: pd.DataFrame) -> bytes:
    """Pairwise scatter of the particles (size by weight), histograms on the diagonal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(cal.priors)
    fig, axes = plt.subplots(n, n, figsize=(2.2 * n + 1, 2.2 * n + 1), squeeze=False)
    w = post["weight"].to_numpy(dtype=float)
    size = 8 + 60 * w / (w.max() or 1)
    for i, pi in enumerate(cal.priors):
        for j, pj in enumerate(cal.priors):
            ax = axes[i, j]
            if i == j:
                ax.hist(post[pi.name], bins=12, weights=w, color="#4c72b0")
                ax.set_xlim(pi.low, pi.high)
            else:
                ax.scatter(post[pj.name], post[pi.name], s=size, alpha=0.5, color="#4c72b0")
                ax.set_xlim(pj.low, pj.high)
                ax.set_ylim(pi.low, pi.high)
            if pi.log and i != j:
                ax.set_yscale("log")
            if pj.log:
                ax.set_xscale("log")
            ax.tick_params(labelsize=6)
            if j == 0:
                ax.set_ylabel(pi.name.split(".")[-1], fontsize=7)
            if i == n - 1:
                ax.set_xlabel(pj.name.split(".")[-1], fontsize=7)
    fig.suptitle("Posterior pairs (last generation)", fontsize=10)
    return _png(fig)


def patterns_png(table: pd.DataFrame) -> bytes:
    """Each pattern's target band, simulated mean and 95% interval, standardised by the band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(table)
    fig, ax = plt.subplots(figsize=(8, 0.45 * n + 1.2))
    for k, (_, r) in enumerate(table.iterrows()):
        lo, hi = float(r["target_low"]), float(r["target_high"])
        c, s = (lo + hi) / 2, (hi - lo) / 2
        z = (float(r["sim_mean"]) - c) / s
        zlo, zhi = (float(r["sim_p2.5"]) - c) / s, (float(r["sim_p97.5"]) - c) / s
        color = "#55a868" if r["pass"] else "#c44e52"
        ax.plot([zlo, zhi], [k, k], color=color, lw=2)
        ax.plot([z], [k], "o", color=color, mfc="white" if "validation" in r["role"] else color)
    ax.axvspan(-1, 1, color="#cccccc", alpha=0.5, label="target interval")
    ax.set_yticks(range(n))
    ax.set_yticklabels(
        [
            f"{p}{' (held out)' if 'validation' in role else ''}"
            for p, role in zip(table["pattern"], table["role"], strict=True)
        ],
        fontsize=7,
    )
    ax.set_xlabel("(simulated - target centre) / target half-width; open marker: validation")
    ax.set_xscale("symlog", linthresh=2)
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Patterns under the posterior: mean and 95% interval", fontsize=10)
    return _png(fig)


def _fmt(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return "nan" if not math.isfinite(x) else f"{x:.4g}"
    return str(x)


def markdown_table(frame: pd.DataFrame) -> str:
    """A plain Markdown table."""
    head = "| " + " | ".join(frame.columns) + " |"
    sep = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def screening_markdown(table: pd.DataFrame | None) -> str:
    """The screening as a pattern x parameter table of mu* / target scale (* = matters)."""
    if table is None or table.empty:
        return "Screening skipped (screening.enabled: false): every parameter is treated as identifiable.\n"
    cells = table.assign(
        cell=[
            f"{e:.2f}{' *' if m else ''}"
            for e, m in zip(table["effect"], table["matters"], strict=True)
        ]
    ).pivot(index="pattern", columns="parameter", values="cell")
    cells = cells.reset_index()
    return (
        "Morris mu* of each pattern's feature per parameter, in units of the pattern's target "
        "half-width; `*`: matters (mu* above the replicate noise bar and the threshold).\n\n"
        + markdown_table(cells)
        + "\n"
    )


def write_outputs(
    cal: Calibration,
    out: Path,
    post: pd.DataFrame,
    screening_table: pd.DataFrame | None,
    history_rows: pd.DataFrame,
    *,
    command: list[str],
    best_name: str,
    truth: dict[str, float] | None = None,
    started_at: str = "",
    ended_at: str = "",
) -> dict[str, Any]:
    """Write every output file of a calibration and the manifest (last); return the manifest."""
    from govsim.calibrate.fit import identifiable
    from govsim.outputs import environment

    ident = identifiable(cal, screening_table)
    ptab = pattern_table(cal, post)
    partab = parameter_table(cal, post, ident)
    files: dict[str, bytes] = {}
    buf = io.BytesIO()
    post.to_parquet(buf, index=False, engine="pyarrow")
    files[POSTERIOR] = buf.getvalue()
    files[MARGINALS] = marginals_png(cal, post, truth)
    files[PAIRS] = pairs_png(cal, post)
    files[PATTERNS_FIG] = patterns_png(ptab)
    files[PATTERNS_CSV] = ptab.to_csv(index=False, lineterminator="\n").encode()
    best = best_scenario(cal, post, best_name)
    files[BEST] = (
        f"# Best-fitting particle of calibration {cal.name}: run with `govsim run {BEST}`\n"
        + yaml.safe_dump(best, sort_keys=False, allow_unicode=True)
    ).encode()
    files[SCREENING_MD] = screening_markdown(screening_table).encode()
    fitted = ptab[ptab["role"] == "fitted"]
    held = ptab[ptab["role"] != "fitted"]
    gens = history_rows[history_rows["t"] >= 0][["t", "epsilon", "samples", "particles"]].copy()
    gens["acceptance"] = gens["particles"] / gens["samples"]
    report = [
        f"# Calibration {cal.name}",
        "",
        f"Scenario `{Path(cal.scenario_ref).name}`, patterns `{Path(cal.patterns.source).name}`, "
        f"parameters `{Path(cal.source).name}` (full paths and texts in the manifest);"
        f" {cal.days} days, {cal.spec.replicates} replicates per particle, root seed "
        f"{cal.spec.root_seed}; ABC-SMC population {cal.spec.abc.population}, "
        f"{len(gens)} generations.",
        "",
        f"Fitted patterns pass: {int(fitted['pass'].sum())} of {len(fitted)}; held-out "
        f"(validation) patterns pass: {int(held['pass'].sum())} of {len(held)}.",
        "",
        "## Patterns",
        "",
        "Simulated mean and 95% interval: posterior-weighted over the last generation's particles "
        "(each the mean of its replicates). `pass`: the mean lies in the target interval.",
        "",
        "![patterns](" + PATTERNS_FIG + ")",
        "",
        markdown_table(
            ptab[
                [
                    "pattern",
                    "role",
                    "feature",
                    "target_low",
                    "target_high",
                    "sim_mean",
                    "sim_p2.5",
                    "sim_p97.5",
                    "replicate_sd",
                    "pass",
                    "source",
                ]
            ]
        ),
        "",
        "## Parameters",
        "",
        markdown_table(partab),
        "",
        "![marginals](" + MARGINALS + ")",
        "",
        "![pairs](" + PAIRS + ")",
        "",
        "## Screening (Morris)",
        "",
        screening_markdown(screening_table),
        "## Generations",
        "",
        markdown_table(gens),
        "",
        f"Best-fitting scenario: `{BEST}` (`govsim run {BEST}`).",
        "",
    ]
    files[REPORT] = "\n".join(report).encode()
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if name == POSTERIOR:
            atomic_write(out / name, lambda tmp, d=data: tmp.write_bytes(d))
        else:
            atomic_write_bytes(out / name, data)
    import hashlib

    manifest = {
        "kind": "govsim calibrate",
        **environment(),
        "name": cal.name,
        "scenario": cal.scenario_ref,
        "patterns_file": cal.patterns.source,
        "parameters_file": cal.source,
        "holdout": cal.holdout,
        "days": cal.days,
        "replicates": cal.spec.replicates,
        "root_seed": cal.spec.root_seed,
        "abc": cal.spec.abc.model_dump(),
        "screening": cal.spec.screening.model_dump(),
        "identifiable": ident,
        "generations": len(gens),
        "final_epsilon": float(gens["epsilon"].iloc[-1]) if len(gens) else None,
        "command": command,
        "started_at": started_at,
        "ended_at": ended_at,
        "patterns": ptab.to_dict("records"),
        "parameters": partab.to_dict("records"),
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for name, data in files.items()
        },
        "patterns_text": cal.patterns.text,
        "parameters_text": cal.text,
    }
    atomic_write_text(out / MANIFEST, json_text(manifest))
    return manifest
