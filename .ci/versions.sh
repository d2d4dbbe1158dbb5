#!/usr/bin/env bash
# CI: numelu on the oldest NumPy and Numba that pyproject.toml accepts, on the oldest Python it
# accepts, and on the newest NumPy and Numba the registry serves (NumPy 2.5 needs Python 3.12),
# each in its own throwaway virtualenv, numelu imported from this checkout (PYTHONPATH), with an
# empty Numba cache.  The subset is the part that breaks when NumPy or Numba change under numelu:
# building the ufuncs (NumPy's ufunc API), compiling the loops behind C functions with Numba
# internals (CFunc, intrinsics), the on-disk cache's index key, and the scalar formulas in a
# user's @njit code.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TESTS=(tests/test_smoke.py tests/test_scalar_njit.py
       "tests/test_ufunc_protocol.py::test_loops_cached_by_different_processes_do_not_mix")

# find_python VERSION: python VERSION on PATH, or pyenv's; nothing if neither is installed
find_python() {
    command -v "python$1" 2>/dev/null && return 0
    ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/"python$1" 2>/dev/null | tail -n 1
}

# check NAME PYTHON REQUIREMENT...: a virtualenv with these, then the subset
check() {
    local name=$1 python=$2 start
    shift 2
    start=$(date +%s)
    echo "=== $name: $("$python" --version 2>&1), pip install $*"
    "$python" -m venv "$WORK/$name"
    "$WORK/$name/bin/python" -m pip install --quiet --disable-pip-version-check \
        "$@" pytest hypothesis mpmath
    "$WORK/$name/bin/python" -c \
        "import sys, numpy, numba; print('python', sys.version.split()[0], 'numpy', numpy.__version__, 'numba', numba.__version__)"
    echo "install took $(( $(date +%s) - start )) s"
    PYTHONPATH="$ROOT" NUMBA_CACHE_DIR="$WORK/$name-cache" \
        "$WORK/$name/bin/python" -m pytest -q -p no:cacheprovider -x "${TESTS[@]}"
    echo "=== $name took $(( $(date +%s) - start )) s"
}

OLDEST_PYTHON=$(find_python 3.10)
if [ -z "$OLDEST_PYTHON" ]; then
    echo "python3.10 (the oldest Python numelu accepts) is not installed here" >&2
    exit 1
fi
NEWEST_PYTHON=$(find_python 3.12)
if [ -z "$NEWEST_PYTHON" ]; then
    echo "python3.12 (the oldest that NumPy 2.5 installs on) is not installed here" >&2
    exit 1
fi
# the lower bounds of pyproject.toml's dependencies, exactly
check oldest "$OLDEST_PYTHON" "numpy==2.2.0" "numba==0.61.2"
# whatever the registry serves newest (a new release that breaks numelu fails here first)
check newest "$NEWEST_PYTHON" --upgrade numpy numba
