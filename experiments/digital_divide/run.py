"""Issue 5: how far offline channels and assistance close the digital divide, and at what cost.

Arms: online_only (no offline or assisted intake), baseline, inclusive (offline kept, assisted
reporting, party volunteers, literacy training). Reports equity by literacy quartile and age group,
the voice gap, and officials' time on assisting and data work. Writes results.csv and table.md.
"""

from pathlib import Path

from experiments.common import ci_table, cli, markdown, run_arms

METRICS = [
    "voice_gap",
    "voice_rate_q1",
    "voice_rate_q4",
    "equity_gap_voice",
    "real_resolution_q1",
    "real_resolution_q4",
    "equity_gap_resolution",
    "equity_gap_satisfaction",
    "voice_rate_old",
    "voice_rate_young",
    "real_resolution_old",
    "real_resolution_young",
    "channel_share_app",
    "channel_share_hotline",
    "channel_share_offline",
    "channel_share_assisted",
    "formalism_burden",
    "assist_burden",
    "official_burnout_mean",
    "real_resolution_rate",
    "trust_mean",
]

if __name__ == "__main__":
    a = cli(__doc__)
    out = a.out or Path(__file__).parent
    arms = {k: (k, []) for k in ["online_only", "baseline", "inclusive"]}
    df = run_arms(arms, a.replicates, a.days, workers=a.workers)
    df.to_csv(out / "results.csv", index=False)
    t = ci_table(df, METRICS, reference="online_only")
    (out / "table.md").write_text(markdown(t) + "\n")
    print(markdown(t))
