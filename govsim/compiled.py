"""Compiled kernels: a day's hottest loops as machine code (numba), cached on disk.

A function decorated with :func:`kernel` is plain Python over NumPy arrays; on its first call
numba compiles it (``nopython``, ``nogil``) and every later call runs the machine code. The
compiled code is written to numba's on-disk cache (:func:`warm`, run by ``scripts/install.sh``,
fills it), so only the first run on a machine pays the compile cost (about 33 s for all the
kernels: 27 s the case engine's waves, :mod:`govsim.platform.waves`, 3.5 s the service queues');
later processes, a sweep's workers included, load it (about 0.3 s, importing numba included). That
is more than the kernels save in one small city, so a model uses them where they pay
(:func:`use_kernels`): at large populations, or once they are loaded in the process anyway; a
process that runs more than one model (a sweep's worker) loads them before its second run when
the cache holds them all (:func:`preload`), and never compiles for it.
Numba is imported on first use, not when govsim is imported, so a command that steps no model
(``govsim show``, ``--help``) does not pay for it.

Where the cache lives is numba's choice (:func:`cache_dir` says which): the ``__pycache__``
folder beside the module when it is writable, else numba's per-user cache folder
(``~/.cache/numba``); ``NUMBA_CACHE_DIR`` moves it. Where numba finds no folder it may write (a
read-only install and home, as in some containers) the kernels are compiled without the cache in
each process that uses them, with a :class:`KernelCacheWarning` that says how to give them one.
``NUMBA_DISABLE_JIT=1`` runs the kernels as the Python they are written in (slow).

A kernel reproduces, operation by operation, the NumPy or SciPy code it replaces (same order of
floating-point operations, no fast-math), so results are bit-identical: the tests check each
kernel against its reference.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any


class KernelCacheWarning(UserWarning):
    """Numba cannot write its on-disk cache here: the kernels compile in each process that uses them."""


COMPILE_SECONDS: dict[str, float] = {}
"""Seconds each kernel's first call took in this process (compiling, or loading the cache)."""
KERNELS: dict[str, Callable[..., Any]] = {}
"""Every kernel by name (each module's kernels register when the module is imported)."""
HELPERS: list[Callable[..., Any]] = []
"""Functions that kernels call (:func:`helper`), compiled with the first kernel."""

MIN_CITIZENS = 50_000
"""From this many citizens on a model runs its kernels; below, their NumPy and SciPy
definitions, unless a kernel is loaded in the process already (:func:`use_kernels`). Loading the
kernels costs about 0.3 s once per process; they save about 0.1-0.2 s of a 10,000-citizen year and
about 1.2 s of a 100,000-citizen year. The results are the same bit for bit either way."""


FORCE: bool | None = None
"""``True`` or ``False``: every model runs the kernels, or none does, whatever its size (tests
and :func:`warm`); ``None``: by size (:func:`use_kernels`)."""


def use_kernels(citizens: int) -> bool:
    """Whether a model of ``citizens`` citizens runs the compiled kernels (:data:`MIN_CITIZENS`)."""
    if FORCE is not None:
        return FORCE
    return citizens >= MIN_CITIZENS or any(k.loaded() for k in KERNELS.values())


def warm() -> dict[str, float]:
    """Compile every kernel into the on-disk cache (or load it): a 2,000-citizen city made to run
    them steps two days. ``scripts/install.sh`` calls it, so that a fresh install's first large
    run does not pay the compilation (about 33 s; loading the cache costs about 0.3 s).

    Returns:
        Every kernel's name and the seconds its first call took in this process (0 for one that
        was loaded before).
    """
    global FORCE
    from govsim.config import resolve_scenario
    from govsim.model import GovernanceModel

    before, FORCE = FORCE, True
    try:
        model = GovernanceModel(
            scenario=resolve_scenario("baseline", {"population.citizens": 2000}), rng=1
        )
        for _ in range(2):
            model.step()
    finally:
        FORCE = before
    missing = [name for name, k in KERNELS.items() if not k.loaded()]
    if missing:
        raise RuntimeError(f"govsim.compiled.warm: kernels not run by the warm-up city: {missing}")
    return {name: COMPILE_SECONDS.get(name, 0.0) for name in KERNELS}


KERNEL_MODULES = (
    "govsim.agents.citizen",
    "govsim.metrics",
    "govsim.platform.service",
    "govsim.platform.waves",
)
"""The modules that define kernels (each registers its kernels in :data:`KERNELS` on import)."""


def cached() -> bool:
    """Whether every kernel's machine code is in numba's on-disk cache and fresh for its source,
    so that loading them costs about 0.3 s, not a compilation (about 33 s).

    Reads numba's cache index the way numba does before it loads (the source file's stamp,
    then an entry for this machine's CPU and the function's bytecode, and its data file),
    without compiling anything: a cache filled on another CPU type (a cluster's shared
    install) does not count. ``False`` when numba cannot say (JIT disabled, an unreadable
    cache, a numba whose cache works otherwise).
    """

    try:
        import numba
        from numba.core.registry import cpu_target

        codegen = cpu_target.target_context.codegen()
        for module in KERNEL_MODULES:
            importlib.import_module(module)
        for k in KERNELS.values():
            cache = numba.njit(cache=True, nogil=True)(k.python)._cache
            folder = cache._cache_file._cache_path
            if not any(
                cache._index_key(key[0], codegen) == key
                and os.path.exists(os.path.join(folder, name))
                for key, name in cache._cache_file._load_index().items()
            ):
                return False
    except Exception:  # numba's cache internals are not public API: then we do not know
        return False
    return True


def preload() -> bool:
    """Load every kernel when they are all cached (:func:`cached`); never compiles.

    Afterwards every model in this process runs them whatever its size (:func:`use_kernels`):
    a process that runs many models, like a sweep's worker, saves about a fifth of each
    10,000-citizen run for about 0.3 s once. :func:`govsim.runner.simulate` calls it before a
    process's second run, the classroom demo's :class:`~govsim.viz.pair.CityPair` before its
    cities are built (a long-lived server that builds a pair on every reset: about 11% more
    days a second at 3,000 citizens a city).

    Returns:
        Whether the kernels are loaded now.
    """
    global _cache_missing
    if FORCE is not None:
        return bool(FORCE)
    if KERNELS and all(k.loaded() for k in KERNELS.values()):
        return True
    if _cache_missing:
        return False
    if not cached():
        _cache_missing = True  # asked once a process: looking costs numba's import (0.2 s)
        return False
    warm()
    return True


_cache_missing = False
"""Whether :func:`preload` found the cache without the kernels in this process."""


def kernel[F: Callable[..., Any]](fn: F) -> F:
    """``fn`` compiled by numba on its first call (``cache=True``: on-disk cache).

    The returned function has two attributes: ``python``, ``fn`` itself (what
    ``NUMBA_DISABLE_JIT=1`` runs), and ``loaded()``, whether this process has compiled or
    loaded the machine code yet (callers with a cheap NumPy path for small inputs use the
    kernel once it is loaded anyway).
    """
    compiled: Callable[..., Any] | None = None

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        nonlocal compiled
        if compiled is None:
            importlib.import_module("numba")  # before the clock, as the seconds say
            started = time.perf_counter()
            _compile_helpers()
            jitted = njit_cached(fn)
            result = jitted(*args)
            COMPILE_SECONDS[fn.__qualname__] = time.perf_counter() - started
            compiled = jitted
            return result
        return compiled(*args)

    call.python = fn  # type: ignore[attr-defined]
    call.loaded = lambda: compiled is not None  # type: ignore[attr-defined]
    KERNELS[fn.__qualname__] = call
    return call  # type: ignore[return-value]


def helper[F: Callable[..., Any]](fn: F) -> F:
    """Mark ``fn`` as a function that kernels call (compiled code can only call compiled code).

    Before the first kernel compiles, each helper's name in its module is bound to the helper
    compiled by numba (``cache=True``), so that the kernels calling it compile; until then, and
    in a kernel's ``python``, it is the plain function. A helper is not a kernel: it is compiled
    into the kernels that call it and :func:`warm` does not look for it.
    """
    HELPERS.append(fn)
    return fn


def _compile_helpers() -> None:
    """Bind every :func:`helper` not yet compiled to its numba dispatcher, in its module."""
    for fn in HELPERS:
        module = sys.modules[fn.__module__]
        if getattr(module, fn.__name__) is fn:
            setattr(module, fn.__name__, njit_cached(fn))


def njit_cached(fn: Callable[..., Any]) -> Any:
    """``fn`` as numba's dispatcher (``nogil``), with the on-disk cache where numba can write one.

    Numba refuses ``cache=True`` when none of its cache folders is writable (the module's
    ``__pycache__``, the user's cache folder, ``NUMBA_CACHE_DIR``); the kernels then compile
    without it, in this process (about 25 s), and a :class:`KernelCacheWarning` says so once.
    """
    import numba

    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError as e:
        if "cannot cache" not in str(e):
            raise
    global _cache_unwritable
    if not _cache_unwritable:
        _cache_unwritable = True
        warnings.warn(
            "numba has no folder it may write its cache to (govsim's __pycache__, the user's "
            "~/.cache/numba): a run that uses the compiled kernels (from 50,000 citizens) "
            "compiles them in its process (about 25 s) and cannot keep them; set "
            "NUMBA_CACHE_DIR to a writable folder to keep them",
            KernelCacheWarning,
            stacklevel=2,
        )
    return numba.njit(nogil=True)(fn)


_cache_unwritable = False
"""Whether :func:`njit_cached` found no writable cache in this process (and warned)."""


def cache_dir(module: str = "govsim.agents.citizen") -> Path:
    """The folder where numba caches the kernels of ``module`` (as numba would choose it)."""
    override = os.environ.get("NUMBA_CACHE_DIR")
    source = Path(sys.modules[module].__file__ or ".") if module in sys.modules else None
    if override:
        return Path(override)
    if source is not None and os.access(source.parent, os.W_OK):
        return source.parent / "__pycache__"
    from numba.misc.appdirs import AppDirs

    return Path(AppDirs(appname="numba", appauthor=False).user_cache_dir)
