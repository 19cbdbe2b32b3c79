"""Dask cluster settings: SLURMCluster arguments from the experiment, cluster profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from govsim.config import ScenarioError
from govsim.experiment.cluster import default_workers, load_cluster_profile, slurm_cluster_kwargs
from govsim.experiment.spec import ClusterSpec


def test_slurm_cluster_arguments_come_from_the_experiment() -> None:
    spec = ClusterSpec(
        kind="slurm", jobs=3, options={"cores": 8, "memory": "16GB", "queue": "short"}
    )
    kwargs = slurm_cluster_kwargs(spec)
    assert kwargs == {
        "cores": 8,
        "memory": "16GB",
        "queue": "short",
        "processes": 8,
        "job_name": "govsim-dask",
        "scheduler_options": {"dashboard_address": ":0"},
    }
    dask_jobqueue = pytest.importorskip("dask_jobqueue")
    script = dask_jobqueue.SLURMCluster(**kwargs).job_script()
    assert "#SBATCH -p short" in script and "--nworkers 8" in script


def test_slurm_cluster_needs_cores_and_memory() -> None:
    with pytest.raises(ScenarioError, match="needs cores and memory"):
        slurm_cluster_kwargs(ClusterSpec(kind="slurm", options={"queue": "x"}))
    with pytest.raises(ValueError, match="did you mean 'memory'"):
        ClusterSpec(kind="slurm", options={"cores": 2, "memroy": "1GB"})


def test_cluster_profile_is_validated_with_locations(tmp_path: Path) -> None:
    good = tmp_path / "hpc.yaml"
    good.write_text("kind: slurm\njobs: 4\noptions: {cores: 4, memory: 8GB, queue: long}\n")
    spec = load_cluster_profile(good)
    assert (spec.kind, spec.jobs, spec.options["queue"]) == ("slurm", 4, "long")
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: slurm\njobs: 0\n")
    with pytest.raises(
        ScenarioError, match=r"bad.yaml:2: jobs: Input should be greater than or equal to 1"
    ):
        load_cluster_profile(bad)
    with pytest.raises(ScenarioError, match="cannot read cluster profile"):
        load_cluster_profile(tmp_path / "missing.yaml")


def test_default_workers_is_the_usable_cpu_count() -> None:
    assert 1 <= default_workers() <= (os.cpu_count() or 1)
