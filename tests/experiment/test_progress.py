"""Progress: quiet when not a terminal, counts runs done and failed, one-line summary."""

from __future__ import annotations

import io

from govsim.experiment.progress import Progress, Summary


def test_bar_is_silent_when_not_a_terminal() -> None:
    sink = io.StringIO()  # not a TTY
    bar = Progress(3, file=sink)
    for i, status in enumerate(["ok", "failed", "ok"]):
        bar.update(i, status)
    summary = bar.close()
    assert sink.getvalue() == ""
    assert (summary.ok, summary.failed, summary.failed_ids) == (2, 1, [1])


def test_bar_shows_counts_when_enabled() -> None:
    sink = io.StringIO()
    bar = Progress(2, file=sink, enabled=True)
    bar.update(0, "ok")
    bar.update(1, "failed")
    bar.close()
    text = sink.getvalue()
    assert "2/2" in text and "failed=1" in text


def test_summary_line() -> None:
    s = Summary(planned=10, selected=5, skipped=2, ok=2, failed=1, failed_ids=[7], wall_s=2.0)
    line = s.line()
    assert line.startswith("executed 3 runs (2 ok, 1 failed) in 2.0 s, 1.5 runs/s")
    assert (
        "skipped 2 already done" in line
        and "shard holds 5 of 10" in line
        and "failed run ids: 7" in line
    )
