"""The per-run result store: one JSON file per run under ``DIR/results/``, written atomically.

Run ``i`` lives at ``results/<i // 1000>/run-<i>.json`` (zero-padded); its daily table, when kept,
at ``run-<i>.ts.parquet`` beside it, written *before* the JSON so that the JSON's presence marks a
complete run (the JSON records the table's size in bytes). Each file is written to a hidden
temporary name ``.<file>.<pid>-<random>@<host>.tmp`` and renamed into place, so a killed process
leaves either the old state or the new one, never half a file; the temporary files of killed
processes on this host are removed by the next execute (:func:`clean_temporaries`). Files are not
fsync'ed (one per run would dominate short runs).

A record holds the run's identity (run id, point id, replicate, seed), its status (``ok`` or
``failed``), the error and traceback of a failed run, wall seconds, host, the outputs, and the stamp
(design hash and code version) that stops results of a different design or code from being mixed in.
Every record read is validated (:class:`RunRecord`). A run counts as finished only when its record
is valid and, if it kept a daily table, that table is present with the recorded size and Parquet's
closing magic bytes (:func:`finished`); anything else (a malformed record, a truncated table, a file
damaged by a machine crash) counts as not run, so execute runs it again, and merge names the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from govsim.outputs import pid_alive, this_host

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


_HOST = this_host()
_TEMPORARY = re.compile(r"^\.run-.+\.(?P<pid>\d+)-[0-9a-f]{8}@(?P<host>[A-Za-z0-9.-]+)\.tmp$")
PARQUET_MAGIC = b"PAR1"
"""The bytes a complete Parquet file ends with."""


def _tmp_name(path: str) -> str:
    head, tail = os.path.split(path)
    return os.path.join(head, f".{tail}.{os.getpid()}-{secrets.token_hex(4)}@{_HOST}.tmp")


def clean_temporaries(results_dir: Path, pids: set[int] | None = None) -> int:
    """Remove temporary files left by killed writers on this host.

    Args:
        results_dir: ``DIR/results``.
        pids: Remove those of these processes (known to be dead); default: of every process on
            this host that no longer exists.

    Returns:
        How many files were removed.
    """
    removed = 0
    if not results_dir.is_dir():
        return 0
    with os.scandir(results_dir) as buckets:
        for bucket in buckets:
            if not bucket.is_dir() or bucket.name.startswith("."):
                continue
            with os.scandir(bucket.path) as files:
                for f in files:
                    m = _TEMPORARY.match(f.name)
                    if not m or m["host"] != _HOST:
                        continue
                    pid = int(m["pid"])
                    if (pid in pids) if pids is not None else not pid_alive(pid):
                        with contextlib.suppress(OSError):
                            os.unlink(f.path)
                            removed += 1
    return removed


class RunRecord(BaseModel):
    """The checked shape of a result file (unknown extra keys are kept, for later versions)."""

    model_config = ConfigDict(strict=True, extra="allow")

    run_id: int = Field(ge=0)
    point_id: int | None = None
    replicate: int | None = None
    seed: int | None = None
    status: Literal["ok", "failed"]
    error: str | None = None
    traceback: str | None = None
    wall_s: float = float("nan")
    host: str = ""
    design_hash: str
    code_version: str
    outputs: dict[str, float | str | None] = Field(default_factory=dict)
    timeseries: str | None = None
    timeseries_bytes: int | None = Field(None, ge=0)


def record_problems(data: Any, run_id: int) -> list[str]:
    """What is wrong with a result file's content (empty when it is a valid record of ``run_id``)."""
    if not isinstance(data, dict):
        return [f"expected a JSON object (got {type(data).__name__})"]
    try:
        RunRecord.model_validate(data)
    except ValidationError as exc:
        return [
            f"{'.'.join(str(x) for x in e['loc']) or 'record'}: {e['msg']} (got {json.dumps(e.get('input'))[:60]})"
            for e in exc.errors(include_url=False)
        ]
    if data["run_id"] != run_id:
        return [f"run_id: {data['run_id']} in the file of run {run_id}"]
    return []


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
                size = os.path.getsize(tmp)
                os.replace(tmp, ts_path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            record = {
                **record,
                "timeseries": os.path.basename(ts_path),
                "timeseries_bytes": size,
            }
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


def _load(path: Path) -> tuple[Any, str | None]:
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read()), None
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror})"
    except ValueError as exc:  # not UTF-8, not JSON, or truncated
        return None, f"not a JSON record ({exc})"


def _run_id_of(path: Path) -> int | None:
    try:
        return int(path.name.removeprefix("run-").removesuffix(".json"))
    except ValueError:
        return None


def read_result(path: Path) -> dict[str, Any] | None:
    """Read one record; None when the file is missing, unreadable or not a valid record (treated
    as not run)."""
    data, problem = _load(path)
    run_id = _run_id_of(path)
    if problem or run_id is None or record_problems(data, run_id):
        return None
    return data


def timeseries_complete(results_dir: Path, record: dict[str, Any]) -> bool:
    """Whether the daily table a record refers to is present and whole (True when it kept none).

    Checks its size against the one recorded and that it ends with Parquet's magic bytes (a
    truncated file does not), without reading the table.
    """
    if not record.get("timeseries"):
        return True
    path = timeseries_path(results_dir, int(record["run_id"]))
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < 12:
                return False
            fh.seek(-4, os.SEEK_END)
            tail = fh.read(4)
    except OSError:
        return False
    expected = record.get("timeseries_bytes")
    return tail == PARQUET_MAGIC and (expected is None or expected == size)


def finished(
    results_dir: Path, record: dict[str, Any], stamp: Stamp, retry_failed: bool = False
) -> bool:
    """Whether a (valid) record counts as done for an execute under this stamp.

    A failed run is done unless ``retry_failed``; a successful one when its daily table, if it
    kept one, is whole.
    """
    if not matches(record, stamp):
        return False
    if record["status"] != "ok":
        return not retry_failed
    return timeseries_complete(results_dir, record)


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


def read_all_checked(
    results_dir: Path, run_ids: set[int] | None = None
) -> tuple[dict[int, dict[str, Any]], dict[Path, list[str]]]:
    """Read and validate every record (optionally only these run ids).

    Returns:
        The valid records by run id, and the problems of every other file by path.
    """
    out: dict[int, dict[str, Any]] = {}
    bad: dict[Path, list[str]] = {}
    for run_id, path in iter_result_files(results_dir):
        if run_ids is not None and run_id not in run_ids:
            continue
        data, problem = _load(path)
        problems = [problem] if problem else record_problems(data, run_id)
        if problems:
            bad[path] = problems
        else:
            out[run_id] = data
    return out, bad


def read_all(results_dir: Path, run_ids: set[int] | None = None) -> dict[int, dict[str, Any]]:
    """Read every valid record (optionally only these run ids), keyed by run id."""
    return read_all_checked(results_dir, run_ids)[0]


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
