"""Shared fixtures of the calibration tests: file writers and a pinned code version."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from govsim.experiment.provenance import CODE_VERSION_ENV


@pytest.fixture(autouse=True)
def pinned_code_version(monkeypatch: pytest.MonkeyPatch) -> str:
    """Pin the code version (the screening is a sweep plan; a commit meanwhile must not matter)."""
    monkeypatch.setenv(CODE_VERSION_ENV, "govsim-test-pinned")
    return "govsim-test-pinned"


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a dedented YAML file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return _write
