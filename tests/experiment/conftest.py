"""Shared fixtures for the experiment tests: a pinned code version and experiment-file writers."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from govsim.experiment.provenance import CODE_VERSION_ENV


@pytest.fixture(autouse=True)
def pinned_code_version(monkeypatch: pytest.MonkeyPatch) -> str:
    """Pin the code version: other engineers commit to this checkout while tests run, and a commit
    between plan and execute would (correctly) be refused. Subprocesses inherit the variable."""
    monkeypatch.setenv(CODE_VERSION_ENV, "govsim-test-pinned")
    return "govsim-test-pinned"


@pytest.fixture
def write_experiment(tmp_path: Path) -> Callable[..., Path]:
    """Write an experiment YAML (dedented) under tmp_path and return its path."""

    def write(text: str, name: str = "exp.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write
