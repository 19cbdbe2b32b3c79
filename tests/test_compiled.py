"""The compiled kernels (govsim.compiled) compute what their NumPy and SciPy definitions do.

Bit for bit: word of mouth against SciPy's products, and whole runs of six scenarios with the
kernels (at any size) against runs without them. (The metrics' case tallies have their own tests
in test_metrics_tallies.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from govsim import compiled
from govsim.agents import citizen as C


def _citizens(n: int, seed: int, isolated: int = 0) -> C.Citizens:
    rng = np.random.default_rng(seed)
    community = np.sort(rng.integers(0, max(1, n // 50), n))
    nbrs = C.build_network(community, 6, 0.1, rng)
    if isolated:  # cut every tie of the first citizens
        keep = np.ones(n)
        keep[:isolated] = 0
        nbrs = sp.csr_matrix(sp.diags(keep) @ nbrs @ sp.diags(keep))
    lit = rng.random(n)
    return C.Citizens(
        literacy=lit,
        trust=rng.random(n),
        efficacy=rng.random(n),
        age_group=rng.integers(0, 3, n).astype(np.int8),
        community=community,
        grid=community,
        neighbours=nbrs,
        quartile=C.literacy_quartiles(lit),
    )


@pytest.mark.parametrize("two_threads", [False, True])
@pytest.mark.parametrize("isolated", [0, 7])
def test_the_kernel_equals_scipys_products_bit_for_bit(
    monkeypatch: pytest.MonkeyPatch, isolated: int, two_threads: bool
) -> None:
    monkeypatch.setattr(compiled, "FORCE", True)
    monkeypatch.setattr(C, "TWO_THREADS_MIN_CITIZENS", 1 if two_threads else 10**9)
    monkeypatch.setattr(C, "_usable_cores", lambda: 2)
    kernel, reference, python = (_citizens(3000, 1, isolated) for _ in range(3))
    for _ in range(5):
        C.word_of_mouth(kernel, 0.1)  # compiled: FORCE
        C.word_of_mouth_reference(reference, 0.1)
        # the kernels' own Python, as NUMBA_DISABLE_JIT=1 runs it
        means = np.empty(python.n), np.empty(python.n)
        args = (*python.network_arrays, python.trust, python.efficacy, *means)
        C._neighbour_means_kernel.python(*args, 0, python.n)
        C._move_toward_kernel.python(
            python.network_arrays[0], python.trust, python.efficacy, *means, 0.1
        )
    for got in (kernel, python):
        assert np.array_equal(got.trust, reference.trust)
        assert np.array_equal(got.efficacy, reference.efficacy)
    # and it did something: trust moved toward the neighbours' mean
    assert not np.array_equal(kernel.trust, _citizens(3000, 1, isolated).trust)
    assert "_neighbour_means_kernel" in compiled.COMPILE_SECONDS


@pytest.mark.parametrize("use_kernels", [True, False])
def test_isolated_citizens_keep_their_attitudes(
    monkeypatch: pytest.MonkeyPatch, use_kernels: bool
) -> None:
    monkeypatch.setattr(compiled, "FORCE", use_kernels)
    c = _citizens(500, 2, isolated=5)
    before = c.trust[:5].copy()
    C.word_of_mouth(c, 0.3)
    assert np.array_equal(c.trust[:5], before)
    assert not np.array_equal(c.trust[5:], _citizens(500, 2, isolated=5).trust[5:])


def test_a_network_whose_ties_weigh_differently_is_refused() -> None:
    c = _citizens(200, 3)
    c.neighbours = c.neighbours.copy()
    c.neighbours.data[0] *= 2
    with pytest.raises(ValueError, match="row-normalised"):
        C.word_of_mouth(c, 0.1)


@pytest.mark.parametrize(
    ("scenario", "seed", "days"),
    [
        ("baseline", 5, 40),
        ("baseline", 6, 40),
        ("one_network", 7, 40),
        ("inclusive", 8, 40),
        ("participatory_budgeting", 9, 40),
        ("beijing_reform", 10, None),  # its six years and four reforms
    ],
)
def test_a_run_is_the_same_with_the_compiled_kernels_or_their_definitions(
    monkeypatch: pytest.MonkeyPatch, scenario: str, seed: int, days: int | None
) -> None:
    """A whole run, every daily metric and the summary: the kernels (word of mouth, the metrics'
    case tallies, the service queues) at any size, or their NumPy and SciPy definitions. Bit for bit, not within a
    tolerance: the kernels change no order of random draws and no arithmetic."""
    from govsim.config import resolve_scenario
    from govsim.runner import simulate

    resolved = resolve_scenario(scenario, {"population.citizens": 2000})
    runs = []
    for use_kernels in (True, False):
        monkeypatch.setattr(compiled, "FORCE", use_kernels)
        runs.append(simulate(resolved, seed=seed, days=days))
    kernel, scipy = runs
    assert kernel.timeseries.equals(scipy.timeseries)
    assert kernel.summary.keys() == scipy.summary.keys()
    for k, x in kernel.summary.items():
        y = scipy.summary[k]
        assert x == y or (x != x and y != y), k  # NaN equals NaN


def test_warm_loads_every_kernel_and_leaves_the_choice_by_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What scripts/install.sh runs: every kernel compiled or loaded, FORCE restored."""
    first = compiled.warm()
    assert set(first) == {
        "_neighbour_means_kernel",
        "_move_toward_kernel",
        "_tally_kernel",
        "_waves_kernel",
        "_update_kernel",
        "_serve_kernel",
        "_pending_kernel",
    }
    assert all(k.loaded() for k in compiled.KERNELS.values())
    assert compiled.FORCE is None
    assert compiled.use_kernels(10)  # loaded in this process: used at any size
    monkeypatch.setattr(compiled, "KERNELS", {})  # as in a process that has loaded none
    assert not compiled.use_kernels(compiled.MIN_CITIZENS - 1)
    assert compiled.use_kernels(compiled.MIN_CITIZENS)


_RUN_THREE_MODELS = """
import json
from govsim import compiled
from govsim.config import resolve_scenario
from govsim.runner import simulate

scenario = resolve_scenario("baseline", {"population.citizens": 500})
loaded = []
for _ in range(3):
    simulate(scenario, days=3, timeseries=False)
    loaded.append(sum(k.loaded() for k in compiled.KERNELS.values()))
print(json.dumps({"loaded": loaded, "first_calls": sorted(compiled.COMPILE_SECONDS)}))
"""

_BUILD_A_DEMO_PAIR = """
import json
from govsim import compiled
from govsim.viz.pair import CityPair, CITIZENS_RANGE

pair = CityPair(citizens=CITIZENS_RANGE[0])
pair.step()
loaded = [sum(k.loaded() for k in compiled.KERNELS.values()), pair.a.engine.compiled]
print(json.dumps({"loaded": loaded, "first_calls": sorted(compiled.COMPILE_SECONDS)}))
"""


@pytest.mark.parametrize("process", ["sweep worker", "classroom server"])
@pytest.mark.parametrize("cache", ["filled", "empty", "jit disabled"])
def test_a_process_loads_the_cached_kernels_before_its_second_run_and_never_compiles(
    process: str, cache: str, tmp_path
) -> None:
    """A sweep's worker: a fresh process's first run is too small to load the kernels; before
    its second :func:`govsim.runner.simulate` loads them when numba's cache holds them all, and
    not (no compilation, no load) when the cache is empty or numba's JIT is off. The classroom
    demo's server loads them before it builds its first pair of cities, on the same terms."""
    import json
    import os
    import subprocess
    import sys

    compiled.warm()  # the checkout's cache holds every kernel, fresh for its source
    env = dict(os.environ)
    if cache == "empty":
        env["NUMBA_CACHE_DIR"] = str(tmp_path)
    elif cache == "jit disabled":
        env["NUMBA_DISABLE_JIT"] = "1"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _RUN_THREE_MODELS if process == "sweep worker" else _BUILD_A_DEMO_PAIR,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    every = len(compiled.KERNELS)
    loaded = cache == "filled"
    if process == "sweep worker":
        assert got["loaded"] == ([0, every, every] if loaded else [0, 0, 0])
    else:
        assert got["loaded"] == ([every, True] if loaded else [0, False])
    assert len(got["first_calls"]) == (every if loaded else 0)
    if not loaded:
        assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # nothing compiled there


def test_a_cache_filled_on_another_cpu_type_does_not_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """numba keys each cached kernel by the CPU it was compiled for: a cluster's shared install
    filled on other nodes would make :func:`govsim.compiled.preload` compile (23-33 s), which it
    must never do; so :func:`govsim.compiled.cached` counts only entries this machine can load."""
    from numba.core.registry import cpu_target

    compiled.warm()  # the checkout's cache holds every kernel for this machine
    assert compiled.cached()
    codegen = cpu_target.target_context.codegen()
    here = codegen.magic_tuple()
    monkeypatch.setattr(codegen, "magic_tuple", lambda: (here[0], "another-cpu", here[2]))
    assert not compiled.cached()


_NO_WRITABLE_CACHE = """
import json, warnings
import numba.core.caching as caching
import numpy as np

caching.CacheImpl._locator_classes = []  # numba finds no folder it may write its cache to
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    from govsim import compiled
    from govsim.agents.citizen import _move_toward_kernel
    import govsim.platform.waves  # its helpers become numba dispatchers when imported

    indptr = np.array([0, 2, 2, 3])
    trust, efficacy = np.array([0.2, 0.4, 0.6]), np.array([0.5, 0.5, 0.5])
    _move_toward_kernel(indptr, trust, efficacy, np.ones(3), np.zeros(3), 0.5)
told = [str(w.message) for w in caught if w.category is compiled.KernelCacheWarning]
print(json.dumps({
    "trust": trust.tolist(), "efficacy": efficacy.tolist(), "told": told,
    "compiled": _move_toward_kernel.loaded(), "cached": compiled.cached(),
}))
"""


def test_without_a_writable_cache_the_kernels_compile_in_the_process_and_say_so() -> None:
    """A read-only install and home (some containers): numba refuses ``cache=True`` where it
    finds no folder it may write, which crashed a large run with numba's traceback. The kernels
    must compile without the cache instead and a :class:`KernelCacheWarning` say so, once. The
    suite runs as root, for whom every folder is writable, so numba's list of cache folders is
    emptied in the child process to stand for the read-only machine."""
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _NO_WRITABLE_CACHE],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["compiled"] and not got["cached"]
    # x += 0.5 (mean - x) where a citizen has neighbours (the second has none)
    assert got["trust"] == [0.2 + 0.5 * (1 - 0.2), 0.4, 0.6 + 0.5 * (1 - 0.6)]
    assert got["efficacy"] == [0.5 + 0.5 * (0 - 0.5), 0.5, 0.5 + 0.5 * (0 - 0.5)]
    assert len(got["told"]) == 1 and "NUMBA_CACHE_DIR" in got["told"][0]


def test_the_command_line_tells_a_kernel_cache_warning_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import warnings

    from govsim.sizing import plain_overload_warnings

    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)
    plain_overload_warnings()
    text = warnings.formatwarning("no cache", compiled.KernelCacheWarning, "x.py", 1)
    assert text == "warning: no cache\n"
