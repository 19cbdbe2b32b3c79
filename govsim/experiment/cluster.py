"""Dask clusters for ``--executor dask``: join a scheduler, start a LocalCluster, or SLURM jobs.

Which one is used, in order: ``--scheduler ADDRESS`` joins a running scheduler; otherwise a cluster
spec with ``kind: slurm`` (from the experiment's ``cluster:`` section or a ``--cluster PROFILE``
YAML file with the same keys) starts a :class:`dask_jobqueue.SLURMCluster` and scales it to
``jobs`` jobs; otherwise a :class:`distributed.LocalCluster` with one single-threaded worker process
per requested worker. Dask is an optional dependency (``pip install govsim[cluster]``).

Workers must see the plan directory at the same path (a shared file system on a cluster); each task
writes its runs' result files there itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from govsim.config import ScenarioError, parse_yaml
from govsim.experiment.spec import ClusterSpec
from govsim.interrupt import sigint_ignored


def default_workers() -> int:
    """Worker processes to use when none are requested: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def load_cluster_profile(path: str | Path) -> ClusterSpec:
    """Read a cluster profile: a YAML file with the keys of an experiment's ``cluster:`` section.

    Raises:
        ScenarioError: if the file cannot be read or is invalid (located messages).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{p}: cannot read cluster profile: {exc}"]) from None
    doc = parse_yaml(text, str(p))
    try:
        return ClusterSpec.model_validate(doc.data or {})
    except ValidationError as exc:
        messages = []
        for err in exc.errors(include_url=False):
            loc = tuple(str(x) for x in err["loc"])
            where = next(
                (doc.where[loc[:i]] for i in range(len(loc), -1, -1) if loc[:i] in doc.where),
                str(p),
            )
            messages.append(
                f"{where}: {'.'.join(loc) + ': ' if loc else ''}{err['msg'].removeprefix('Value error, ')}"
            )
        raise ScenarioError(messages) from None


def slurm_cluster_kwargs(spec: ClusterSpec) -> dict[str, Any]:
    """Arguments for :class:`dask_jobqueue.SLURMCluster` from a ``kind: slurm`` spec.

    Raises:
        ScenarioError: when ``cores`` or ``memory`` is missing (SLURMCluster needs both).
    """
    missing = [k for k in ("cores", "memory") if k not in spec.options]
    if missing:
        raise ScenarioError(
            [
                f"cluster.options: a SLURM cluster needs {' and '.join(missing)} (e.g. cores: 8, memory: 16GB)"
            ]
        )
    kwargs = dict(spec.options)
    kwargs.setdefault("processes", kwargs["cores"])  # one single-threaded worker process per core
    kwargs.setdefault("job_name", "govsim-dask")
    kwargs.setdefault("scheduler_options", {"dashboard_address": ":0"})  # any free port, not 8787
    return kwargs


@contextmanager
def dask_client(
    *, workers: int | None = None, scheduler: str | None = None, cluster: ClusterSpec | None = None
) -> Iterator[Any]:
    """A connected :class:`distributed.Client`; the cluster it started (if any) is closed after.

    Args:
        workers: Local worker processes (default: the spec's, else the CPU count).
        scheduler: Address of a running scheduler to join (``tcp://host:8786``).
        cluster: A cluster spec (``kind: slurm`` starts SLURM jobs).

    Raises:
        ScenarioError: when Dask is not installed or the scheduler cannot be reached.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ScenarioError(
            ["--executor dask needs Dask distributed: pip install 'govsim[cluster]'"]
        ) from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ScenarioError([f"--scheduler {scheduler}: cannot connect: {exc}"]) from None
        try:
            yield client
        finally:
            client.close()
        return
    if cluster is not None and cluster.kind == "slurm":
        try:
            from dask_jobqueue import SLURMCluster
        except ImportError:
            raise ScenarioError(
                ["cluster kind slurm needs dask-jobqueue: pip install 'govsim[cluster]'"]
            ) from None
        slurm = SLURMCluster(**slurm_cluster_kwargs(cluster))
        try:
            with Client(slurm) as client:
                slurm.scale(jobs=cluster.jobs)
                try:
                    client.wait_for_workers(1, timeout=cluster.start_timeout)
                except TimeoutError:
                    raise ScenarioError(
                        [
                            f"cluster: no Dask worker joined within {cluster.start_timeout:g} s of "
                            f"submitting {cluster.jobs} SLURM jobs; check `squeue`, the job logs "
                            "(cluster.options.log_directory) and that sbatch accepts this job script:",
                            slurm.job_script(),
                        ]
                    ) from None
                yield client
        finally:
            # closing a SLURMCluster whose jobs never started can itself fail inside distributed;
            # that must not hide the error above (and after a finished sweep it is harmless)
            with contextlib.suppress(Exception):
                slurm.close()
        return
    n = (
        workers
        or (cluster.workers if cluster is not None and cluster.workers else None)
        or default_workers()
    )
    # the worker processes start with SIGINT ignored (they inherit it): a Ctrl-C at the terminal
    # reaches the whole process group, and this process alone must handle it (closing the cluster)
    # rather than each worker printing its own traceback
    with sigint_ignored():
        local = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
    with local, Client(local) as client:
        yield client
