"""What the demo's download buttons hand out: the charted data (CSV) and the charts (PNG).

Both are built on the server from the pair's recorded series, so they need nothing of the
browser and are the same for every browser. The PNG is drawn with Matplotlib (no pyplot, so
sessions drawing at once do not share a figure) and labelled in English: Matplotlib has no
CJK font on a fresh machine (the page's bundled font is a web font).
"""

from __future__ import annotations

import csv
import io

import numpy as np
from matplotlib.figure import Figure

from govsim.viz.charts import CITY_COLOURS
from govsim.viz.i18n import metric_label
from govsim.viz.pair import RECORDED, CityPair, consistent

PNG_DPI = 110


@consistent
def data_csv(pair: CityPair) -> bytes:
    """Every recorded metric of both cities by day: columns ``day``, ``city``, then the metrics.

    Missing values (a rate with nothing to count that day) are empty cells.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["day", "city", *RECORDED])
    for row in pair.table():
        writer.writerow(
            [
                row["day"],
                row["city"],
                *("" if row[m] is None else f"{row[m]:.6g}" for m in RECORDED),
            ]
        )
    return out.getvalue().encode("utf-8")


@consistent
def charts_png(pair: CityPair, metrics: tuple[str, ...], title: str = "") -> bytes:
    """The given metrics as the lesson tab draws them: A and B with bands, and B - A.

    One row per metric: left A and B (30-day mean ± one standard deviation, :meth:`CityPair.band`),
    right B - A with its band and a zero line.
    """
    fig = Figure(figsize=(10, 2.4 * max(1, len(metrics)) + 0.4), dpi=PNG_DPI)
    axes = fig.subplots(max(1, len(metrics)), 2, squeeze=False)
    for row, metric in zip(axes, metrics, strict=False):
        for ax, cities in zip(row, (("A", "B"), ("B-A",)), strict=True):
            for city in cities:
                days, mean, sd = pair.band(city, metric)
                m = np.array([np.nan if v is None else v for v in mean], dtype=float)
                s = np.array([np.nan if v is None else v for v in sd], dtype=float)
                colour = CITY_COLOURS.get(city, "#37474f")
                label = "B − A" if city == "B-A" else f"city {city}"
                ax.fill_between(days, m - s, m + s, color=colour, alpha=0.2, linewidth=0)
                ax.plot(days, m, color=colour, label=label, linewidth=1.8)
            if cities == ("B-A",):
                ax.axhline(0, color="#999999", linewidth=0.8)
            ax.set_title(
                metric_label(metric, "en") + (" (B − A)" if cities == ("B-A",) else ""),
                fontsize=10,
            )
            ax.set_xlabel("day", fontsize=9)
            ax.legend(fontsize=8, loc="best")
            ax.tick_params(labelsize=8)
    fig.suptitle(
        f"{title} — day {pair.day} of {pair.horizon}, {pair.citizens:,} citizens per city, "
        f"seed {pair.seed}; bands: ± 1 sd of the last 30 days",
        fontsize=10,
    )
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
