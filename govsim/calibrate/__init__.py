"""Pattern-oriented calibration: ``govsim calibrate`` (patterns as data, Morris screening, ABC-SMC).

Modules: :mod:`~govsim.calibrate.patterns` (the pattern YAML and its features),
:mod:`~govsim.calibrate.spec` (the parameter file and its priors),
:mod:`~govsim.calibrate.fit` (screening on the sweep engine, ABC-SMC with pyabc),
:mod:`~govsim.calibrate.report` (posterior, plots, best-fitting scenario, pattern report),
:mod:`~govsim.calibrate.cli` (the subcommand). Packaged pattern and parameter files are in
``govsim/calibrate/data/``.
"""
