"""Issue 4: which assessment indicators make officials solve problems, and which make the platform float.

Part 1 compares the packaged assessment regimes (baseline three rates, speed_kpi, balanced_kpi,
trace_kpi, online_only) over replicated seeds. Part 2 sweeps the audit rate under speed_kpi.
Part 3 repeats speed_kpi vs balanced_kpi under workload pressure (half the citizens' problems
handled by half the staff is not the same thing, so we double the population instead), because
gaming needs something to gain. Horizon two years, so that several assessment periods pass.
Writes results*.csv and table*.md next to this file.
"""

from pathlib import Path

import pandas as pd

from experiments.common import ci_table, cli, markdown, run_arms

METRICS = [
    "real_resolution_rate",
    "closure_rate",
    "on_time_closure_rate",
    "closure_gap",
    "satisfaction_reported",
    "satisfaction_true",
    "satisfaction_inflation",
    "formalism_burden",
    "voice_gap",
    "dsi",
    "repeat_complaint_rate",
    "practice_nominal_closure",
    "practice_satisfaction_pressure",
    "practice_persuade_withdrawal",
    "practice_extra_traces",
    "official_burnout_mean",
    "trust_mean",
]

if __name__ == "__main__":
    a = cli(__doc__)
    out = a.out or Path(__file__).parent
    arms = {
        k: (k, []) for k in ["baseline", "speed_kpi", "balanced_kpi", "trace_kpi", "online_only"]
    }
    df = run_arms(arms, a.replicates, a.days, workers=a.workers)
    df.to_csv(out / "results_regimes.csv", index=False)
    t = ci_table(df, METRICS, reference="baseline")
    (out / "table_regimes.md").write_text(markdown(t) + "\n")
    sweep = {
        f"audit_{r}": ("speed_kpi", [f"closed_loop.audit_rate={r}"]) for r in (0.0, 0.02, 0.1, 0.3)
    }
    ds = run_arms(sweep, a.replicates, a.days, workers=a.workers)
    ds.to_csv(out / "results_audit_sweep.csv", index=False)
    t2 = ci_table(ds, METRICS, reference="audit_0.0")
    (out / "table_audit_sweep.md").write_text(markdown(t2) + "\n")
    load = ["population.citizens=20000", "density.max_citizens=10000"]  # on the 10k city
    pressure = {
        "speed_kpi_loaded": ("speed_kpi", load),
        "balanced_kpi_loaded": ("balanced_kpi", load),
    }
    dp = run_arms(pressure, a.replicates, a.days, workers=a.workers)
    dp.to_csv(out / "results_loaded.csv", index=False)
    t3 = ci_table(dp, METRICS, reference="speed_kpi_loaded")
    (out / "table_loaded.md").write_text(markdown(t3) + "\n")
    print(markdown(pd.concat([t, t2, t3])))
