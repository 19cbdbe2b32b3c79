"""Does gaming pay in the score, and can imitation see it? A diagnostic for the assessment findings.

Half of all units (at random) are given a nominal-closure propensity of 0.6, the rest 0; learning is
frozen (no imitation, no exploration). After 120 days (four assessment periods) we compare, within
each unit kind, the mean score of gaming and honest units (the reward) with the spread of scores
among honest units (what imitation also sees: differences due to load and position, not practice).
Writes reward_check.md next to this file.
"""

from pathlib import Path

import numpy as np

from govsim.city import COMMUNITY, DEPARTMENT, STREET
from govsim.diagnostics import scores_with_frozen_gaming

KINDS = ((COMMUNITY, "community"), (STREET, "street"), (DEPARTMENT, "department"))


def rows() -> list[tuple]:
    """(assessment, citizens, unit kind, seed, score gain of gaming, sd of honest units' scores)."""
    out = []
    for scenario in ("speed_kpi", "balanced_kpi"):
        for citizens in (10_000, 20_000):
            for seed in range(4):
                score, gaming, kind = scores_with_frozen_gaming(
                    scenario, citizens=citizens, seed=seed
                )
                for k, name in KINDS:
                    g, h = score[(kind == k) & gaming], score[(kind == k) & ~gaming]
                    out.append((scenario, citizens, name, seed, g.mean() - h.mean(), h.std(ddof=1)))
    return out


if __name__ == "__main__":
    ROWS = rows()
    lines = [
        "| assessment | citizens | unit kind | score gain of gaming (mean over seeds) | score spread among honest units (sd) |",
        "|---|---|---|---|---|",
    ]
    keys = sorted({r[:3] for r in ROWS}, key=lambda k: (k[0], k[1], k[2]))
    for k in keys:
        rs = [r for r in ROWS if r[:3] == k]
        gain = np.mean([r[4] for r in rs])
        sd = np.mean([r[5] for r in rs])
        lines.append(f"| {k[0]} | {k[1]} | {k[2]} | {gain:+.3f} | {sd:.3f} |")
    text = "\n".join(lines) + "\n"
    (Path(__file__).parent / "reward_check.md").write_text(text)
    print(text)
