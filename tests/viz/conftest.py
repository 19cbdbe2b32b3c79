"""Shared fixtures for the classroom-demo tests: both Reacton renderers, small cities."""

from __future__ import annotations

import pytest

SMALL = 500
"""Citizens per city in component tests: enough for cases every day, quick to build."""


@pytest.fixture(params=["0", "1"], ids=["reacton-classic", "reacton-fast"])
def renderer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test under Reacton's classic renderer and the fast one ``govsim demo`` enables."""
    monkeypatch.setenv("REACTON_FAST", request.param)
    return request.param
