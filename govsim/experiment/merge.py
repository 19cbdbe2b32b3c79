"""Merging: check a plan's results are complete and consistent, then write tidy tables.

``govsim merge DIR [--timeseries]`` refuses (exit 2, nothing written) when runs are missing, listing
their ids; when any result carries another design hash or code version; when a result file is not a
valid record (``run_id: null``, ``wall_s: "abc"``, truncated JSON: each named with what is wrong);
or, with ``--timeseries``, when a daily table is missing, truncated or unreadable (each named). In
each case ``govsim execute DIR`` runs the named runs again, since it counts a malformed record, or
a missing or truncated table, as not run (an unreadable table of full size and intact ending
must be deleted first; the message says so). Otherwise it writes, atomically:

- ``runs.parquet``: one row per run, in run-id order: ``run_id, point_id, replicate, seed``, the
  parameters, ``status, error, wall_s, host``, then one column per output (NaN for failed runs);
  the design hash and code version are stored in the file's metadata;
- ``runs.csv``: the same table as a plain CSV (one header row, ``pd.read_csv`` reads it as it
  is) without the ``wall_s`` and ``host`` columns, so that it is byte-identical whichever executor
  ran the runs; what the experiment was (design hash, code version, root seed, replicates,
  method, days) is in the plan's ``manifest.json`` beside it;
- with ``--timeseries``, ``timeseries.parquet``: long format, one row per run and day, keyed by
  ``run_id`` and ``day`` (scenario targets that kept their daily tables).

Everything except ``wall_s`` and ``host`` is a function of the plan alone, so those columns are equal
whichever executor, shard split or resume produced the results.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from govsim.config import ScenarioError
from govsim.experiment import results as store
from govsim.experiment.plan import Plan, load_plan
from govsim.outputs import atomic_write, atomic_write_text

RUNS = "runs.parquet"
RUNS_CSV = "runs.csv"
TIMESERIES = "timeseries.parquet"
STATUS_COLUMNS = ("status", "error", "wall_s", "host")
VOLATILE_COLUMNS = ("wall_s", "host")
"""Columns that record where and how fast a run ran, not what it computed."""
METADATA_KEY = b"govsim"


def collect(plan: Plan) -> dict[int, dict[str, Any]]:
    """Read every result of a plan, checking it is complete and all of it belongs to the plan.

    Raises:
        ScenarioError: naming result files that are not valid records, listing missing run ids, or
            results of another design or code version.
    """
    records, bad = store.read_all_checked(plan.results_dir)
    if bad:
        shown = [f"{path}: {'; '.join(problems)}" for path, problems in sorted(bad.items())[:10]]
        more = [f"... and {len(bad) - 10} more"] if len(bad) > 10 else []
        raise ScenarioError(
            [
                f"{plan.results_dir}: {len(bad)} result files are damaged or malformed:",
                *shown,
                *more,
                f"run `govsim execute {plan.dir}` to run them again (it counts them as not run)",
            ]
        )
    stamp = plan.stamp
    foreign = sorted(
        r for r, rec in records.items() if not store.matches(rec, stamp) or r >= plan.n_runs
    )
    if foreign:
        rec = records[foreign[0]]
        raise ScenarioError(
            [
                f"{plan.results_dir}: {len(foreign)} results do not belong to this plan (runs "
                f"{store.format_ids(foreign, 10)}: design {str(rec.get('design_hash'))[:12]}, code "
                f"{rec.get('code_version')}; the plan has design {stamp.design_hash[:12]}, code "
                f"{stamp.code_version}); they are not mixed in"
            ]
        )
    missing = sorted(set(range(plan.n_runs)) - set(records))
    if missing:
        raise ScenarioError(
            [
                f"{plan.dir}: {len(missing)} of {plan.n_runs} runs have no result: "
                f"{store.format_ids(missing)}; run `govsim execute {plan.dir}` to finish them"
            ]
        )
    return records


def runs_table(plan: Plan, records: dict[int, dict[str, Any]]) -> pd.DataFrame:
    """The one-row-per-run table (design columns, status columns, outputs)."""
    design = plan.design.sort_values("run_id").reset_index(drop=True)
    ordered = [records[i] for i in range(plan.n_runs)]
    status = pd.DataFrame(
        {
            "status": [r["status"] for r in ordered],
            "error": pd.Series([r.get("error") for r in ordered], dtype="object"),
            "wall_s": [float(r.get("wall_s", math.nan)) for r in ordered],
            "host": [str(r.get("host", "")) for r in ordered],
        }
    )
    names: list[str] = []
    seen: set[str] = set()
    for r in ordered:
        for k in r.get("outputs") or {}:
            if k not in seen:
                seen.add(k)
                names.append(k)
    clash = sorted(seen & (set(design.columns) | set(STATUS_COLUMNS)))
    if clash:
        raise ScenarioError(
            [f"{plan.dir}: outputs {clash} have the names of parameters or run columns"]
        )
    outputs = pd.DataFrame(
        {k: [(r.get("outputs") or {}).get(k, math.nan) for r in ordered] for k in names},
        index=range(len(ordered)),
    )
    for k in names:
        col = outputs[k]
        if any(isinstance(v, str) for v in col):
            outputs[k] = col.astype("object").where(col.notna(), None)
        else:
            outputs[k] = pd.to_numeric(
                col.map(lambda v: math.nan if v is None else v), errors="coerce"
            ).astype("float64")
    return pd.concat([design, status, outputs], axis=1)


def _parquet_bytes(frame: pd.DataFrame, meta: dict[str, Any]) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), METADATA_KEY: json.dumps(meta).encode()}
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def runs_csv(runs: pd.DataFrame) -> str:
    """The runs table as plain CSV text, without the columns that vary between executors."""
    stable = runs.drop(columns=list(VOLATILE_COLUMNS))
    return stable.to_csv(index=False, lineterminator="\n")


def timeseries_table(plan: Plan, records: dict[int, dict[str, Any]]) -> pd.DataFrame:
    """All runs' daily tables stacked: ``run_id``, ``day``, then the metrics.

    Raises:
        ScenarioError: when the plan did not keep daily tables, or some are missing, truncated or
            unreadable (each named).
    """
    if not plan.manifest.get("timeseries"):
        raise ScenarioError(
            [f"{plan.dir}: this experiment did not keep daily tables (set timeseries: true)"]
        )
    frames = []
    incomplete: list[str] = []
    damaged: list[str] = []
    for run_id in range(plan.n_runs):
        rec = records[run_id]
        if rec["status"] != "ok":
            continue
        path = store.timeseries_path(plan.results_dir, run_id)
        if not rec.get("timeseries") or not store.timeseries_complete(plan.results_dir, rec):
            what = "missing" if not path.exists() else "truncated (size or ending wrong)"
            incomplete.append(f"{path}: {what}")
            continue
        try:
            ts = pd.read_parquet(path)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            damaged.append(f"{path}: unreadable ({type(exc).__name__}: {str(exc)[:120]})")
            continue
        ts.insert(0, "run_id", run_id)
        frames.append(ts)
    if incomplete or damaged:
        messages = [
            f"{plan.dir}: {len(incomplete) + len(damaged)} daily tables cannot be merged:",
            *(incomplete + damaged)[:10],
        ]
        if len(incomplete) + len(damaged) > 10:
            messages.append(f"... and {len(incomplete) + len(damaged) - 10} more")
        if damaged:
            messages.append(
                "delete the unreadable files, then run "
                f"`govsim execute {plan.dir}` to run those runs again"
            )
        else:
            messages.append(f"run `govsim execute {plan.dir}` to run those runs again")
        raise ScenarioError(messages)
    if not frames:
        return pd.DataFrame({"run_id": pd.Series(dtype="int64"), "day": pd.Series(dtype="int64")})
    return pd.concat(frames, ignore_index=True)


def merge(directory: str | Path, *, timeseries: bool = False) -> tuple[pd.DataFrame, list[Path]]:
    """Merge a plan's results into ``runs.parquet`` and ``runs.csv`` (and ``timeseries.parquet``).

    Args:
        directory: The plan directory.
        timeseries: Also write the long daily table.

    Returns:
        The runs table and the paths written.

    Raises:
        ScenarioError: when runs are missing, result files or daily tables are damaged, or results
            do not belong to the plan (nothing written).
    """
    plan = load_plan(directory)
    records = collect(plan)
    runs = runs_table(plan, records)
    meta = {
        "design_hash": plan.manifest["design_hash"],
        "code_version": plan.manifest["code_version"],
    }
    ts = timeseries_table(plan, records) if timeseries else None  # fail before writing anything
    written = []
    data = _parquet_bytes(runs, meta)
    atomic_write(plan.dir / RUNS, lambda tmp: tmp.write_bytes(data))
    written.append(plan.dir / RUNS)
    atomic_write_text(plan.dir / RUNS_CSV, runs_csv(runs))
    written.append(plan.dir / RUNS_CSV)
    if ts is not None:
        ts_data = _parquet_bytes(ts, meta)
        atomic_write(plan.dir / TIMESERIES, lambda tmp: tmp.write_bytes(ts_data))
        written.append(plan.dir / TIMESERIES)
    return runs, written


def read_runs(plan: Plan) -> pd.DataFrame:
    """Read a plan's ``runs.parquet``, checking it was merged from this plan.

    Raises:
        ScenarioError: when it is missing or stale (another design hash or code version).
    """
    path = plan.dir / RUNS
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise ScenarioError(
            [f"{plan.dir}: no {RUNS}; run `govsim merge {plan.dir}` first"]
        ) from None
    meta = json.loads((table.schema.metadata or {}).get(METADATA_KEY, b"{}"))
    if (
        meta.get("design_hash") != plan.manifest["design_hash"]
        or meta.get("code_version") != plan.manifest["code_version"]
    ):
        raise ScenarioError(
            [
                f"{path}: merged from another plan or code version; run `govsim merge {plan.dir}` again"
            ]
        )
    return table.to_pandas()
