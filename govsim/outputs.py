"""The output folder of one run: ``OUT/<scenario>-s<seed>/``, written atomically.

A run folder holds:

- ``timeseries.parquet`` (or ``timeseries.csv``): one row per day, column ``day`` then one column
  per metric (see :mod:`govsim.metrics`);
- ``summary.json``: the end-of-run metrics;
- ``manifest.json``: provenance (versions, git commit, the resolved scenario and its sha256, seed,
  command line, start and end time, wall seconds, a checksum of every other file);
- ``dashboard.png``: the main metrics over time (see :mod:`govsim.report`).

Nothing is ever half-written. Every file is written to a temporary name and renamed, and the whole
folder is first assembled as a hidden temporary sibling (``OUT/.<name>.tmp-*``) that is renamed into
place at the end. A failed run leaves nothing behind; with ``force`` an existing folder is replaced
only once the new one is complete.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import govsim
from govsim.config import scenario_sha256, scenario_to_dict
from govsim.schema import Scenario

if TYPE_CHECKING:  # pandas costs half a second to import; only a run's writing needs it
    import pandas as pd

DEFAULT_OUT = Path("results")
"""Default root under which run folders are created."""

FORMATS: tuple[str, ...] = ("parquet", "csv")
"""Accepted time-series formats."""

TimeseriesFormat = Literal["parquet", "csv"]

MANIFEST_PACKAGES: tuple[str, ...] = (
    "mesa",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "pydantic",
    "matplotlib",
)
"""Packages whose versions are recorded in the manifest (besides Python and govsim)."""


class OutputError(Exception):
    """The run's outputs cannot be written where asked; ``messages`` says why (CLI exit code 2)."""

    def __init__(self, messages: Sequence[str]):
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))


class RunResultLike(Protocol):
    """What :func:`write_run` needs from :class:`govsim.runner.RunResult`."""

    timeseries: pd.DataFrame
    summary: Mapping[str, float]
    seed: int
    days: int
    scenario: Scenario
    wall_seconds: float


@dataclass(frozen=True)
class RunTimes:
    """Wall-clock times of a run command (timezone-aware)."""

    started_at: datetime
    ended_at: datetime

    @property
    def wall_seconds(self) -> float:
        """Seconds from start to end."""
        return (self.ended_at - self.started_at).total_seconds()


def run_folder_name(scenario_name: str, seed: int) -> str:
    """The name of a run's folder: ``<scenario>-s<seed>``."""
    return f"{scenario_name}-s{seed}"


def check_destination(dest: Path, *, force: bool) -> None:
    """Refuse a destination that exists, unless ``force`` and it is a folder.

    Raises:
        OutputError: saying what is there and how to proceed.
    """
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise OutputError(
            [f"{dest}: exists and is not a folder; remove it or choose another --out"]
        )
    if dest.exists() and not force:
        raise OutputError(
            [
                f"{dest}: already exists; pass --force to replace it, "
                "or --out DIR to write somewhere else"
            ]
        )


def _temp_name(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file through ``write(tmp_path)`` into a temporary sibling, then rename it into place.

    Args:
        path: The final path.
        write: Writes the complete file at the path it is given.
    """
    tmp = _temp_name(path, "tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _plain(value: Any) -> Any:
    """Convert to JSON-safe plain data: NumPy scalars to Python, non-finite floats to None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(data: Any) -> str:
    """Deterministic, strict JSON text (indented, key order kept, NaN/inf written as null)."""
    return json.dumps(_plain(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_timeseries(frame: pd.DataFrame, path: Path, fmt: TimeseriesFormat) -> None:
    """Write the time series atomically as Parquet or CSV (no index column)."""
    if fmt == "parquet":
        atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False, engine="pyarrow"))
    elif fmt == "csv":
        atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))
    else:
        raise OutputError([f"--format: expected one of {', '.join(FORMATS)} (got {fmt!r})"])


def git_commit() -> dict[str, Any] | None:
    """The git commit of the govsim source tree, if govsim runs from a git checkout.

    Returns:
        ``{"commit": sha, "dirty": bool}``, or None when not in a checkout or git is unavailable.
    """
    pkg = Path(govsim.__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(pkg), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
            stdin=subprocess.DEVNULL,
        ).stdout.strip()

    try:
        top = Path(git("rev-parse", "--show-toplevel"))
        if (top / "govsim").resolve() != pkg:  # an unrelated repository around an installed copy
            return None
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Versions of govsim, Python and the main libraries, the platform and the git commit."""
    return {
        "govsim_version": govsim.__version__,
        "git": git_commit(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in MANIFEST_PACKAGES},
    }


def _file_entry(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"sha256": digest, "bytes": path.stat().st_size}


def build_manifest(
    result: RunResultLike,
    *,
    command: Sequence[str],
    times: RunTimes,
    files: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The provenance record of a run.

    Args:
        result: The finished run.
        command: The command line that produced it.
        times: When the command started and ended.
        files: Checksums of the other output files, by file name.

    Returns:
        Plain JSON-safe data.
    """
    return {
        "kind": "govsim run",
        **environment(),
        "scenario_name": result.scenario.name,
        "scenario_sha256": scenario_sha256(result.scenario),
        "seed": int(result.seed),
        "days": int(result.days),
        "command": list(command),
        "started_at": times.started_at.isoformat(timespec="seconds"),
        "ended_at": times.ended_at.isoformat(timespec="seconds"),
        "wall_seconds": round(times.wall_seconds, 3),
        "simulation_seconds": round(float(result.wall_seconds), 3),
        "files": dict(files),
        "scenario": scenario_to_dict(result.scenario),
    }


def _install(tmp: Path, dest: Path) -> None:
    """Rename the complete folder ``tmp`` to ``dest``, replacing an existing ``dest`` last."""
    if not dest.exists():
        try:
            os.rename(tmp, dest)
        except OSError as exc:  # created meanwhile by someone else
            raise OutputError([f"{dest}: could not be created ({exc.strerror})"]) from None
        return
    old = _temp_name(dest, "old")
    os.rename(dest, old)
    try:
        os.rename(tmp, dest)
    except BaseException:
        os.rename(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_run(
    result: RunResultLike,
    dest: Path,
    *,
    fmt: TimeseriesFormat = "parquet",
    force: bool = False,
    command: Sequence[str] = (),
    started_at: datetime,
    dashboard: bool = True,
    now: Callable[[], datetime] | None = None,
) -> Path:
    """Write a run's folder atomically.

    Args:
        result: The finished run.
        dest: The run folder to create (``OUT/<scenario>-s<seed>``).
        fmt: ``"parquet"`` or ``"csv"`` for the time series.
        force: Replace an existing folder (only after the new one is complete).
        command: The command line, recorded in the manifest.
        started_at: When the command started (timezone-aware).
        dashboard: Draw ``dashboard.png``.
        now: Clock for the end time (for tests); defaults to the current time in UTC.

    Returns:
        ``dest``.

    Raises:
        OutputError: if ``dest`` exists and ``force`` is false, or cannot be created.
    """
    check_destination(dest, force=force)
    if fmt not in FORMATS:
        raise OutputError([f"--format: expected one of {', '.join(FORMATS)} (got {fmt!r})"])
    root = dest.parent
    made = [p for p in (root, *root.parents) if not p.exists()]
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError([f"{root}: cannot create the output folder ({exc.strerror})"]) from None
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=root))
    try:
        ts_name = f"timeseries.{fmt}"
        write_timeseries(result.timeseries, tmp / ts_name, fmt)
        atomic_write_text(tmp / "summary.json", json_text(dict(result.summary)))
        names = [ts_name, "summary.json"]
        if dashboard:
            from govsim.report import save_dashboard  # matplotlib only when drawing

            title = f"{result.scenario.name}  (seed {result.seed}, {result.days} days)"
            atomic_write(
                tmp / "dashboard.png",
                lambda path: save_dashboard(result.timeseries, path, title=title),
            )
            names.append("dashboard.png")
        files = {name: _file_entry(tmp / name) for name in names}
        clock = now or (lambda: datetime.now().astimezone())
        times = RunTimes(started_at, clock())
        manifest = build_manifest(result, command=command, times=times, files=files)
        atomic_write_text(tmp / "manifest.json", json_text(manifest))
        os.chmod(tmp, 0o777 & ~_umask())
        check_destination(dest, force=force)  # someone may have written it while we ran
        _install(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for p in made:  # folders this call created, innermost first
            try:
                p.rmdir()
            except OSError:
                break
        raise
    return dest


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_folder(
    dest: Path,
    write_files: Callable[[Path], Sequence[str]],
    manifest: Callable[[Mapping[str, Mapping[str, Any]]], Mapping[str, Any]],
    *,
    force: bool = False,
) -> Path:
    """Write an output folder other than a run's (e.g. ``govsim compare``'s) as :func:`write_run` does.

    The files are written into a hidden temporary sibling, the manifest gets their checksums and is
    written last, and the folder is renamed into place (replacing ``dest`` only with ``force``,
    and only once complete).

    Args:
        dest: The folder to create.
        write_files: Writes the folder's files into the directory it is given (each atomically,
            e.g. with :func:`atomic_write`) and returns their names.
        manifest: Builds the manifest from the files' checksums (``{name: {sha256, bytes}}``);
            written as ``manifest.json`` with :func:`json_text`.
        force: Replace an existing folder.

    Returns:
        ``dest``.

    Raises:
        OutputError: if ``dest`` exists and ``force`` is false, or cannot be created.
    """
    check_destination(dest, force=force)
    root = dest.parent
    made = [p for p in (root, *root.parents) if not p.exists()]
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError([f"{root}: cannot create the output folder ({exc.strerror})"]) from None
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=root))
    try:
        names = list(write_files(tmp))
        files = {name: _file_entry(tmp / name) for name in names}
        atomic_write_text(tmp / "manifest.json", json_text(dict(manifest(files))))
        os.chmod(tmp, 0o777 & ~_umask())
        check_destination(dest, force=force)  # someone may have written it meanwhile
        _install(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for p in made:
            try:
                p.rmdir()
            except OSError:
                break
        raise
    return dest
