"""Code version and environment stamps that keep results from different code apart."""

from __future__ import annotations

import os
import socket
import sys
from functools import cache
from importlib import metadata
from typing import Any

import govsim

CODE_VERSION_ENV = "GOVSIM_CODE_VERSION"
"""Environment variable that, when set, replaces the detected code version (e.g. a release tag on
cluster nodes that run an installed wheel rather than a git checkout)."""

PACKAGES: tuple[str, ...] = ("numpy", "scipy", "pandas", "pyarrow", "SALib", "mesa", "pydantic")
"""Library versions recorded in an experiment's manifest."""


@cache
def _detected_code_version() -> str:
    from govsim.outputs import git_commit

    git = git_commit()
    version = f"govsim-{govsim.__version__}"
    return f"{version}+git.{git['commit'][:12]}" if git else version


def code_version() -> str:
    """The version of the simulation code: govsim's version plus the git commit when in a checkout.

    Uncommitted edits are not part of it: commit before planning a sweep whose results matter.
    ``$GOVSIM_CODE_VERSION`` overrides the detection.
    """
    return os.environ.get(CODE_VERSION_ENV) or _detected_code_version()


def versions() -> dict[str, Any]:
    """Python and library versions, for the manifest."""
    out: dict[str, Any] = {"python": sys.version.split()[0], "govsim": govsim.__version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


@cache
def hostname() -> str:
    """This machine's host name (recorded with every run)."""
    return socket.gethostname()
