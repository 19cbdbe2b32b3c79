"""Helpers shared by the experiment tests."""

from __future__ import annotations

import pandas as pd

PI = 3.141592653589793
VOLATILE = ["wall_s", "host"]


def deterministic(runs: pd.DataFrame) -> pd.DataFrame:
    """The columns of runs.parquet that depend on the plan only (not on where or how fast it ran)."""
    return runs.drop(columns=VOLATILE)


UNIFORM_XY = """
name: {name}
function: govsim.experiment.testfunctions:{function}
set: {set}
parameters:
  x: {{range: [0, 1]}}
design: {{method: lhs, n: {n}}}
replicates: {replicates}
outputs: [y]
root_seed: 5
"""


def uniform_x(
    name: str = "unix", function: str = "sleepy", n: int = 20, replicates: int = 1, set_: str = "{}"
) -> str:
    """A one-parameter LHS experiment over x in [0, 1] for a test function."""
    return UNIFORM_XY.format(name=name, function=function, n=n, replicates=replicates, set=set_)
