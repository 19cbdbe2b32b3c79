"""The output folder of one run: ``OUT/<scenario>-s<seed>/``, written atomically.

A run folder holds:

- ``timeseries.parquet`` (or ``timeseries.csv``): one row per day, column ``day`` then one column
  per metric (see :mod:`govsim.metrics`);
- ``summary.json``: the end-of-run metrics;
- ``manifest.json``: provenance (versions, git commit, the resolved scenario and its sha256, seed,
  command line, start and end time, wall seconds, a checksum of every other file);
- ``dashboard.png``: the main metrics over time (see :mod:`govsim.report`).

Nothing is ever half-written. Every file is written to a temporary name and renamed, and the whole
folder is first assembled as a hidden temporary sibling ``OUT/.<name>.tmp-<random>-<pid>@<host>``
that is renamed into place at the end. A failed or interrupted run (an exception, Ctrl-C, SIGTERM)
removes it. A run killed outright (SIGKILL, a power cut) cannot; the next run writing under ``OUT``
removes such leftovers once they are provably stale: written on this host by a process that no
longer exists (:func:`clean_leftovers`). Leftovers it cannot judge (another host, an older name
format) are reported, not touched.

With ``force`` an existing folder is replaced only once the new one is complete, and the destination
holds a complete run folder at every instant: on Linux the two folders are swapped in one atomic
``renameat2(RENAME_EXCHANGE)`` call and the old one, now at the temporary name, is deleted. Where
that call is unavailable (another OS, a file system without it) the old folder is first renamed to
``OUT/.<name>.old-<random>-<pid>@<host>`` and the new one renamed into place: the destination is
then missing for the instant between the two renames, and if the second fails the old folder is
renamed back (rolled back); if the process is killed in that instant, the next run renames the
stale ``.old-*`` folder back to the destination.

Two runs writing the same destination at once are serialised by a lock (``fcntl.flock`` on
``OUT/.<name>.lock``, removed after use) held while the destination is checked and replaced; the
second then finds the first one's folder and refuses it, or replaces it with ``force``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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


LOCK_WAIT_SECONDS = 30.0
"""How long a run waits for another one writing the same destination before giving up."""

_LEFTOVER = re.compile(
    r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<token>[0-9a-f]{8})-(?P<pid>\d+)@(?P<host>[A-Za-z0-9.-]+)$"
)
_LEFTOVER_OLD_FORMAT = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-[0-9a-z_-]+$")


def this_host() -> str:
    """This machine's host name as it appears in temporary names (letters, digits, ``.``, ``-``)."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:64] or "localhost"


def _folder_temp_name(dest: Path, kind: Literal["tmp", "old"]) -> Path:
    """A hidden sibling of ``dest`` naming its writer: ``.<name>.<kind>-<random>-<pid>@<host>``."""
    return dest.with_name(f".{dest.name}.{kind}-{secrets.token_hex(4)}-{os.getpid()}@{this_host()}")


def _make_temp_folder(dest: Path) -> Path:
    """Create the hidden folder in which the run folder is assembled (mode 0700 until installed).

    Raises:
        OutputError: when it cannot be created (unwritable output root, name too long, ...).
    """
    while True:
        tmp = _folder_temp_name(dest, "tmp")
        try:
            os.mkdir(tmp, 0o700)
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(
                [f"{dest.parent}: cannot write the run folder there ({exc.strerror})"]
            ) from None
        return tmp


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (True when unsure)."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists but belongs to someone else
        return True
    return True


@dataclass(frozen=True)
class Leftover:
    """A hidden folder left in an output root by a run that was killed.

    Attributes:
        path: The folder.
        dest: The run folder it belonged to.
        kind: ``"tmp"`` (a run folder being assembled) or ``"old"`` (a folder being replaced).
        pid: The writer's process id (None in the older name format).
        host: The writer's host (None in the older name format).
    """

    path: Path
    dest: Path
    kind: str
    pid: int | None
    host: str | None

    @property
    def stale(self) -> bool:
        """Provably abandoned: written on this host by a process that no longer exists."""
        return self.pid is not None and self.host == this_host() and not pid_alive(self.pid)


def find_leftovers(root: Path) -> list[Leftover]:
    """The hidden temporary folders under an output root, stale or not (sorted by name)."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        m = _LEFTOVER.match(entry.name)
        if m:
            found.append(
                Leftover(
                    Path(entry.path),
                    root / m["name"],
                    m["kind"],
                    int(m["pid"]),
                    m["host"],
                )
            )
            continue
        m = _LEFTOVER_OLD_FORMAT.match(entry.name)
        if m:
            found.append(Leftover(Path(entry.path), root / m["name"], m["kind"], None, None))
    return found


def clean_leftovers(root: Path) -> list[str]:
    """Remove the stale leftovers of killed runs under an output root; report the others.

    A stale ``.old-*`` folder whose run folder is missing (a run killed in the middle of a
    two-rename ``--force``) is renamed back to its run folder instead of deleted.

    Args:
        root: The output root (``--out``).

    Returns:
        One line per leftover found, saying what was done with it (empty when none were found).
        Leftovers of live processes on this host (runs writing right now) are left alone silently.
    """
    notes = []
    for left in find_leftovers(root):
        if left.pid is None:
            notes.append(
                f"{left.path}: left by an interrupted run of an older govsim (no writer recorded); "
                "remove it if no run is writing there"
            )
            continue
        if left.host != this_host():
            notes.append(
                f"{left.path}: left by process {left.pid} on host {left.host}; remove it if that "
                "run is no longer writing"
            )
            continue
        if not left.stale:
            continue
        if left.kind == "old" and not os.path.lexists(left.dest):
            with contextlib.suppress(OSError):
                os.rename(left.path, left.dest)
                notes.append(
                    f"{left.dest}: restored from {left.path.name}, left by a --force run "
                    f"(process {left.pid}) killed while replacing it"
                )
                continue
        shutil.rmtree(left.path, ignore_errors=True)
        if not os.path.lexists(left.path):
            notes.append(f"{left.path}: removed, left by process {left.pid}, which was killed")
    return notes


def _lock_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.lock")


@contextlib.contextmanager
def destination_lock(dest: Path, *, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold an exclusive lock on a run folder's destination (``fcntl.flock`` on a file beside it).

    The lock file holds the holder's process id and is removed on release (safely: a process that
    locked a file that was meanwhile removed tries again).

    Args:
        dest: The run folder (its parent must exist).
        wait: Seconds to wait for another holder before giving up.

    Raises:
        OutputError: when another process holds the lock for longer than ``wait``, naming it.
    """
    import fcntl

    path = _lock_path(dest)
    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(
                [f"{dest.parent}: cannot write the run folder there ({exc.strerror})"]
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            if time.monotonic() >= deadline:
                raise OutputError(
                    [
                        f"{dest}: another govsim run (process {holder}) is writing this run folder; "
                        "wait for it to finish, or choose another --out"
                    ]
                ) from None
            time.sleep(0.05)
            continue
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # locked a file its previous holder had already removed
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange_folders(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns:
        True when swapped; False when this system or file system cannot (nothing changed).

    Raises:
        OSError: when the swap is supported but failed (nothing changed).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


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
    """Put the complete folder ``tmp`` at ``dest``, replacing an existing ``dest`` last.

    Raises:
        OutputError: when ``dest`` cannot be created or replaced (the old ``dest``, if any, is
            kept in place).
    """
    if not dest.exists():
        try:
            os.rename(tmp, dest)
        except OSError as exc:  # created meanwhile by something that does not take the lock
            raise OutputError([f"{dest}: could not be created ({exc.strerror})"]) from None
        return
    try:
        swapped = exchange_folders(tmp, dest)
    except OSError as exc:
        raise OutputError([f"{dest}: could not be replaced ({exc.strerror})"]) from None
    if swapped:  # ``tmp`` now holds the old folder
        shutil.rmtree(tmp, ignore_errors=True)
        return
    _replace_in_two_renames(tmp, dest)


def _replace_in_two_renames(tmp: Path, dest: Path) -> None:
    """Replace ``dest`` by ``tmp`` where folders cannot be swapped: old aside, new in, old deleted.

    If the second rename fails, the old folder is renamed back (rollback).
    """
    old = _folder_temp_name(dest, "old")
    try:
        os.rename(dest, old)
    except OSError as exc:
        raise OutputError([f"{dest}: could not be replaced ({exc.strerror})"]) from None
    try:
        os.rename(tmp, dest)
    except BaseException as exc:
        os.rename(old, dest)  # rollback: the old run folder is back in place
        if isinstance(exc, OSError):
            raise OutputError(
                [f"{dest}: could not be replaced ({exc.strerror}); the old folder is kept"]
            ) from None
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
    """Write a run's folder atomically (:func:`write_folder`).

    Args:
        result: The finished run.
        dest: The run folder to create (``OUT/<scenario>-s<seed>``).
        fmt: ``"parquet"`` or ``"csv"`` for the time series.
        force: Replace an existing folder (only after the new one is complete; see the module
            docstring for how the destination stays complete at every instant).
        command: The command line, recorded in the manifest.
        started_at: When the command started (timezone-aware).
        dashboard: Draw ``dashboard.png``.
        now: Clock for the end time (for tests); defaults to the current time in UTC.

    Returns:
        ``dest``.

    Raises:
        OutputError: if ``dest`` exists and ``force`` is false, or cannot be created or replaced,
            or another process keeps it locked.
    """
    if fmt not in FORMATS:
        raise OutputError([f"--format: expected one of {', '.join(FORMATS)} (got {fmt!r})"])

    def write_files(tmp: Path) -> list[str]:
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
        return names

    def manifest(files: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        clock = now or (lambda: datetime.now().astimezone())
        times = RunTimes(started_at, clock())
        return build_manifest(result, command=command, times=times, files=dict(files))

    return write_folder(dest, write_files, manifest, force=force)


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
    """Write an output folder atomically: a run's (:func:`write_run`) or ``govsim compare``'s.

    The files are written into a hidden temporary sibling, the manifest gets their checksums and is
    written last, and the folder is moved into place (replacing ``dest`` only with ``force``, and
    only once complete). Stale leftovers of killed writers under ``dest.parent`` are removed first
    (:func:`clean_leftovers`; a ``note:`` line on standard error for each), and the destination is
    locked while it is checked and replaced (:func:`destination_lock`, :func:`_install`).

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
        OutputError: if ``dest`` exists and ``force`` is false, or cannot be created or replaced,
            or another process keeps it locked.
    """
    check_destination(dest, force=force)
    root = dest.parent
    made = [p for p in (root, *root.parents) if not p.exists()]
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError([f"{root}: cannot create the output folder ({exc.strerror})"]) from None
    for note in clean_leftovers(root):
        print(f"note: {note}", file=sys.stderr)
    tmp = _make_temp_folder(dest)
    try:
        names = list(write_files(tmp))
        files = {name: _file_entry(tmp / name) for name in names}
        atomic_write_text(tmp / "manifest.json", json_text(dict(manifest(files))))
        os.chmod(tmp, 0o777 & ~_umask())
        with destination_lock(dest):
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
