#!/usr/bin/env bash
# Install the test dependencies and run the whole test suite (extra arguments go to pytest).
#
#   bash scripts/test.sh
#   bash scripts/test.sh tests/test_cli.py -x -q
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh dev,viz,cluster
VENV="${VENV:-.venv}"
exec "$VENV/bin/python" -m pytest "$@"
