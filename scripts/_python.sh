# Sourced by the other scripts: find_python312 prints the path of a working Python >= 3.12.
#
# On these machines `python3` is 3.11, and `python3.12` may be a pyenv shim that fails while the
# global pyenv version is 3.11. Tried in order: $PYTHON, python3.12, python3.12 under pyenv with
# PYENV_VERSION set to each installed 3.12, pyenv's version folders, the usual system paths,
# python3 (if it is >= 3.12), and as a last resort (as root) Debian's python3.12.

_py_ok() {
    # Print the real interpreter path if "$@" runs a Python >= 3.12 with venv support.
    "$@" -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 12); print(sys.executable)' \
        2>/dev/null </dev/null
}

find_python312() {
    local root="${PYENV_ROOT:-$HOME/.pyenv}" v p
    if [ -n "${PYTHON:-}" ]; then
        _py_ok "$PYTHON" && return 0
        echo "error: PYTHON=$PYTHON is not a working Python >= 3.12 with venv" >&2
        return 1
    fi
    _py_ok python3.12 && return 0
    for v in $( (pyenv versions --bare 2>/dev/null || ls "$root/versions" 2>/dev/null) | grep -E '^3\.12(\.[0-9]+)?$' | sort -r); do
        PYENV_VERSION="$v" _py_ok python3.12 && return 0
        _py_ok "$root/versions/$v/bin/python3.12" && return 0
    done
    for p in "$root"/versions/3.12*/bin/python3.12 /root/.pyenv/versions/3.12*/bin/python3.12 \
        /usr/local/bin/python3.12 /usr/bin/python3.12 /opt/python3.12/bin/python3.12; do
        [ -x "$p" ] && _py_ok "$p" && return 0
    done
    _py_ok python3 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "no Python >= 3.12 found; trying: apt-get install python3.12 python3.12-venv" >&2
        if apt-get update -qq </dev/null >&2 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.12 python3.12-venv </dev/null >&2; then
            _py_ok python3.12 && return 0
        fi
    fi
    echo "error: govsim needs Python >= 3.12 (Mesa 3.5 refuses older ones) and none was found;" \
        "install one, or point PYTHON=/path/to/python3.12 at it" >&2
    return 1
}
