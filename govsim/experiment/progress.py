"""Progress of an execute: a tqdm bar (ETA, runs done and failed) and a one-line end summary.

The bar writes to standard error and only when it is a terminal (tqdm's ``disable=None``), so logs of
batch jobs stay clean; the summary is always printed.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Summary:
    """Counts of one execute.

    Attributes:
        planned: Runs in the plan.
        selected: Runs in this shard.
        skipped: Runs already done (skipped).
        ok: Runs completed now without error.
        failed: Runs that raised now (recorded with their error).
        failed_ids: Their run ids.
        wall_s: Wall seconds of the execute.
        interrupted: Whether it was stopped before the end (the finished runs are kept).
        terminated: Stopped by SIGTERM (``interrupted`` is set too).
        lost_worker: Stopped because a pool worker died (``interrupted`` is set too).
    """

    planned: int = 0
    selected: int = 0
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    failed_ids: list[int] = field(default_factory=list)
    wall_s: float = 0.0
    interrupted: bool = False
    terminated: bool = False
    lost_worker: bool = False

    @property
    def executed(self) -> int:
        """Runs executed now."""
        return self.ok + self.failed

    def line(self) -> str:
        """The end summary as one line."""
        from govsim.experiment.results import format_ids

        rate = (
            f", {self.executed / self.wall_s:.1f} runs/s"
            if self.wall_s > 0 and self.executed
            else ""
        )
        text = (
            f"executed {self.executed} runs ({self.ok} ok, {self.failed} failed) in {self.wall_s:.1f} s{rate}; "
            f"skipped {self.skipped} already done; shard holds {self.selected} of {self.planned}"
        )
        if self.failed_ids:
            text += f"; failed run ids: {format_ids(self.failed_ids, limit=10)}"
        if self.interrupted:
            cause = (
                "terminated (SIGTERM)"
                if self.terminated
                else "stopped: a worker process died (killed, or out of memory)"
                if self.lost_worker
                else "interrupted"
            )
            text = f"{cause}: {text}; finished runs are kept, run execute again to resume"
        return text


class Progress:
    """A progress bar fed with each run's status."""

    def __init__(
        self,
        total: int,
        *,
        desc: str = "runs",
        enabled: bool | None = None,
        file: TextIO | None = None,
    ):
        from tqdm import tqdm

        self.summary = Summary()
        self._t0 = time.perf_counter()
        self._bar = tqdm(
            total=total,
            desc=desc,
            unit="run",
            file=file or sys.stderr,
            disable=None if enabled is None else not enabled,
            dynamic_ncols=True,
            smoothing=0.1,
        )

    def update(self, run_id: int, status: str) -> None:
        """Count one finished run."""
        if status == "ok":
            self.summary.ok += 1
        else:
            self.summary.failed += 1
            self.summary.failed_ids.append(run_id)
        if self._bar.disable:
            return
        self._bar.update(1)
        if self._bar.n % 16 == 0 or self._bar.n == self._bar.total or status != "ok":
            self._bar.set_postfix(ok=self.summary.ok, failed=self.summary.failed, refresh=False)

    def close(self) -> Summary:
        """Close the bar and return the counts with the wall time."""
        self._bar.close()
        self.summary.wall_s = time.perf_counter() - self._t0
        return self.summary
