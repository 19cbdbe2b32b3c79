"""Tests of govsim.experiment (mirrors the package)."""
