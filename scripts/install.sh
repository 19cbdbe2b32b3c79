#!/usr/bin/env bash
# Install govsim (editable) into a virtual environment, creating it with Python 3.12 if needed.
#
#   bash scripts/install.sh                   # the package: enough for `govsim run`
#   bash scripts/install.sh dev,viz,cluster   # plus test, demo and cluster dependencies
#
# The environment is $VENV (default .venv). Re-running is cheap: nothing is reinstalled unless
# pyproject.toml or the extras changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/_python.sh

VENV="${VENV:-.venv}"
EXTRAS="${1:-}"
SPEC="."
[ -n "$EXTRAS" ] && SPEC=".[$EXTRAS]"

if [ -e "$VENV" ] && ! _py_ok "$VENV/bin/python" >/dev/null; then
    echo "error: $VENV exists but is not a working Python >= 3.12 environment;" \
        "remove it, or choose another with VENV=..." >&2
    exit 2
fi
if [ ! -e "$VENV" ]; then
    PY="$(find_python312)"
    echo "creating $VENV with $("$PY" -V 2>&1) ($PY)" >&2
    "$PY" -m venv "$VENV"
fi

# byte-compile govsim's own modules (an editable install runs them from this tree): where
# PYTHONDONTWRITEBYTECODE is set, Python would otherwise compile every module at every start
# (about 0.1 s of each command's start-up); stale files are recompiled here, or ignored by Python
"$VENV/bin/python" -m compileall -q govsim >/dev/null || true

STAMP="$VENV/.govsim-installed"
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1) [$EXTRAS]"
if [ -f "$STAMP" ] && grep -qxF "$WANT" "$STAMP"; then
    echo "govsim$([ -n "$EXTRAS" ] && echo "[$EXTRAS]") already installed in $VENV" >&2
    exit 0
fi
echo "installing govsim$([ -n "$EXTRAS" ] && echo "[$EXTRAS]") into $VENV ..." >&2
"$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --editable "$SPEC" </dev/null
# compile the numba kernels into their on-disk cache now, not in the first large run (~4 s)
"$VENV/bin/python" -c "import govsim.compiled as c; c.warm()"
echo "$WANT" >>"$STAMP"
echo "installed; run it as $VENV/bin/govsim, or after: source $VENV/bin/activate" >&2
