"""Experiments at scale: parameter sweeps and Sobol/Morris sensitivity analysis.

An experiment YAML (see :mod:`govsim.experiment.spec`) names a run target (a scenario, or any
``module:function``), parameters as dotted paths with ranges, distributions or levels, a design
(grid, LHS, Sobol, Morris), replicates, days, outputs and a root seed. The pipeline is:

- :mod:`~govsim.experiment.plan`: ``govsim plan EXP -o DIR`` writes the design table and a manifest;
- :mod:`~govsim.experiment.execute`: ``govsim execute DIR`` runs any subset (serial, processes or
  Dask; sharded for SLURM arrays), one result file per run, skipping runs already done;
- :mod:`~govsim.experiment.merge`: ``govsim merge DIR`` checks completeness and writes tidy tables;
- :mod:`~govsim.experiment.analyze`: ``govsim analyze DIR`` computes Sobol or Morris indices.

Around it: :mod:`~govsim.experiment.slurm` (sbatch array scripts), :mod:`~govsim.experiment.cluster`
(Dask clusters), :mod:`~govsim.experiment.compare` (paired A/B comparisons) and
:mod:`~govsim.experiment.cli` (the subcommands). Run ``i`` always uses the seed derived from
``SeedSequence(root_seed, spawn_key=(i,))`` (:mod:`~govsim.experiment.seeds`), so results never
depend on the executor, the number of workers, the order of runs, retries or resumption.
"""
