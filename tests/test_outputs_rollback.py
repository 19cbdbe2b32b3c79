"""Replacing a run folder (``--force``) rolls back when the last step fails: the old folder stays.

The new folder is complete before anything is replaced. Where the system cannot exchange two folders
atomically, the old one is set aside and the new one renamed in; what can still fail is that final
rename of the new folder into place (a full disk's metadata, a permission change, a network file system).
The test makes exactly that rename fail and checks that the old folder is back, intact, and that
nothing temporary is left. (A mutation that drops the rollback left the old folder under its
hidden ``.old`` name and no folder at the destination: see docs/testing.md.)
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import govsim.outputs
from govsim.config import load_scenario
from govsim.outputs import run_folder_name, write_run
from govsim.runner import RunResult

START = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _result(closure_rate: float) -> RunResult:
    frame = pd.DataFrame({"day": [1, 2], "closure_rate": [0.5, closure_rate]})
    scenario = load_scenario("baseline", ["days=2"])
    return RunResult(scenario, 42, 2, frame, {"closure_rate": closure_rate}, 0.1)


def _write(dest: Path, closure_rate: float, force: bool) -> Path:
    return write_run(
        _result(closure_rate),
        dest,
        force=force,
        started_at=START,
        dashboard=False,
        now=lambda: START + timedelta(seconds=1),
    )


def test_a_failed_final_rename_puts_the_old_folder_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "out" / run_folder_name("baseline", 42)
    _write(dest, 0.8, force=False)
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    real_rename, real_replace = os.rename, os.replace
    failed = []

    def failing(real):
        def move(src, dst, *args, **kwargs):
            # the complete new folder (a hidden '.<name>.tmp-*' sibling) moving onto dest
            if Path(dst) == dest and Path(src).name.startswith(f".{dest.name}.tmp-"):
                failed.append(src)
                raise OSError(28, "No space left on device")
            return real(src, dst, *args, **kwargs)

        return move

    # the two-rename replacement, used where the atomic exchange of two folders is not available
    # (with the exchange there is no moment to roll back from: see test_outputs.py)
    monkeypatch.setattr(govsim.outputs, "exchange_folders", lambda a, b: False)
    monkeypatch.setattr(govsim.outputs.os, "rename", failing(real_rename))
    monkeypatch.setattr(govsim.outputs.os, "replace", failing(real_replace))
    with pytest.raises((OSError, govsim.outputs.OutputError)):
        _write(dest, 0.1, force=True)
    monkeypatch.undo()
    assert failed, "the new folder was never moved into place: the test no longer bites"
    assert dest.is_dir(), "the old folder is gone"
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name], "temporaries left"
