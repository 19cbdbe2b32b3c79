"""The per-run result store: one JSON file per run under ``DIR/results/``, written atomically.

Run ``i`` lives at ``results/<i // 1000>/run-<i>.json`` (zero-padded); its daily table, when kept,
at ``run-<i>.ts.parquet`` beside it, written *before* the JSON so that the JSON's presence marks a
complete run. Each file is written to a hidden temporary name and renamed into place, so a killed
process leaves either the old state or the new one, never half a file. Files are not fsync'ed (one
per run would dominate short runs); a file damaged by a machine crash reads as missing and is re-run.

A record holds the run's identity (run id, point id, replicate, seed), its status (``ok`` or
``failed``), the error and traceback of a failed run, wall seconds, host, the outputs, and the stamp
(design hash and code version) that stops results of a different design or code from being mixed in.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

RESULTS_DIR = "results"
"""Subdirectory of a plan directory that holds the per-run files."""

BUCKET = 1000
"""Runs per results subdirectory."""


@dataclass(frozen=True)
class Stamp:
    """What a result must match to belong to a plan."""

    design_hash: str
    code_version: str


def result_path(results_dir: Path, run_id: int) -> Path:
    """The JSON file of run ``run_id``."""
    return results_dir / f"{run_id // BUCKET:05d}" / f"run-{run_id:08d}.json"


def timeseries_path(results_dir: Path, run_id: int) -> Path:
    """The daily-table file of run ``run_id``."""
    return results_dir / f"{run_id // BUCKET:05d}" / f"run-{run_id:08d}.ts.parquet"


def _tmp_name(path: str) -> str:
    head, tail = os.path.split(path)
    return os.path.join(head, f".{tail}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _write_atomic(path: str, data: bytes) -> None:
    tmp = _tmp_name(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class ResultWriter:
    """Writes run records under one results directory (plain ``os`` calls: this is the hot path of
    sweeps of short runs)."""

    def __init__(self, results_dir: Path | str):
        self.root = os.fspath(results_dir)
        self._made: set[str] = set()

    def _bucket(self, run_id: int) -> str:
        bucket = os.path.join(self.root, f"{run_id // BUCKET:05d}")
        if bucket not in self._made:
            os.makedirs(bucket, exist_ok=True)
            self._made.add(bucket)
        return bucket

    def path(self, run_id: int) -> str:
        """The JSON file of a run, as a string."""
        return os.path.join(self.root, f"{run_id // BUCKET:05d}", f"run-{run_id:08d}.json")

    def read(self, run_id: int) -> dict[str, Any] | None:
        """The record of a run, or None when absent or unreadable."""
        path = self.path(run_id)
        return read_result(Path(path)) if os.path.exists(path) else None

    def write(self, record: dict[str, Any], timeseries: pd.DataFrame | None = None) -> str:
        """Write one run's record (and its daily table first, when given) atomically."""
        run_id = int(record["run_id"])
        bucket = self._bucket(run_id)
        if timeseries is not None:
            ts_path = os.path.join(bucket, f"run-{run_id:08d}.ts.parquet")
            tmp = _tmp_name(ts_path)
            try:
                timeseries.to_parquet(tmp, index=False, engine="pyarrow")
                os.replace(tmp, ts_path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            record = {**record, "timeseries": os.path.basename(ts_path)}
        path = os.path.join(bucket, f"run-{run_id:08d}.json")
        _write_atomic(path, json.dumps(record, separators=(",", ":")).encode("utf-8"))
        return path


def write_result(
    results_dir: Path, record: dict[str, Any], timeseries: pd.DataFrame | None = None
) -> Path:
    """Write one run's record (and its daily table) atomically.

    Args:
        results_dir: ``DIR/results``.
        record: The run record (JSON-serialisable; NaN allowed).
        timeseries: The run's daily table, or None.

    Returns:
        The path of the JSON file.
    """
    return Path(ResultWriter(results_dir).write(record, timeseries))


def read_result(path: Path) -> dict[str, Any] | None:
    """Read one record; None when the file is missing or unreadable (treated as not run)."""
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "run_id" in data and "status" in data else None


def iter_result_files(results_dir: Path) -> Iterator[tuple[int, Path]]:
    """Yield ``(run_id, path)`` for every run file present (not read), in no particular order."""
    if not results_dir.is_dir():
        return
    with os.scandir(results_dir) as buckets:
        for bucket in buckets:
            if not bucket.is_dir() or bucket.name.startswith("."):
                continue
            with os.scandir(bucket.path) as files:
                for f in files:
                    name = f.name
                    if name.startswith("run-") and name.endswith(".json"):
                        try:
                            yield int(name[4:-5]), Path(f.path)
                        except ValueError:
                            continue


def read_all(results_dir: Path, run_ids: set[int] | None = None) -> dict[int, dict[str, Any]]:
    """Read every readable record (optionally only these run ids), keyed by run id."""
    out: dict[int, dict[str, Any]] = {}
    for run_id, path in iter_result_files(results_dir):
        if run_ids is not None and run_id not in run_ids:
            continue
        rec = read_result(path)
        if rec is not None and int(rec["run_id"]) == run_id:
            out[run_id] = rec
    return out


def matches(record: dict[str, Any], stamp: Stamp) -> bool:
    """Whether a record was produced under this design hash and code version."""
    return (
        record.get("design_hash") == stamp.design_hash
        and record.get("code_version") == stamp.code_version
    )


def format_ids(ids: list[int] | set[int], limit: int = 40) -> str:
    """Compact run-id list: ``0-4, 9, 12-13`` (at most ``limit`` ranges, then a count)."""
    xs = sorted(ids)
    ranges: list[str] = []
    i = 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[j] + 1:
            j += 1
        ranges.append(str(xs[i]) if i == j else f"{xs[i]}-{xs[j]}")
        i = j + 1
    if len(ranges) > limit:
        return ", ".join(ranges[:limit]) + f", ... ({len(xs)} runs in all)"
    return ", ".join(ranges)
