#!/usr/bin/env bash
# CI: numelu on the oldest NumPy and Numba that pyproject.toml accepts, on the oldest Python it
# accepts, and on the newest NumPy and Numba the registry serves (NumPy 2.5 needs Python 3.12),
# each in its own throwaway virtualenv, numelu imported from this checkout (PYTHONPATH), with an
# empty Numba cache:
#
#   bash .ci/versions.sh [oldest] [newest]        (default: both)
#
# The subset is the part that breaks when NumPy or Numba change under numelu: building the ufuncs
# (NumPy's ufunc API), compiling the loops behind C functions with Numba internals (CFunc,
# intrinsics) and running them on every CPU target, and the on-disk cache's index key.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TESTS=("tests/test_ufunc_values.py::test_values_contiguous[cpu-elu-d]"
       "tests/test_ufunc_values.py::test_values_contiguous[parallel-elu-f]"
       "tests/test_ufunc_values.py::test_values_contiguous[auto-elu-e]"
       "tests/test_ufunc_object.py::test_loops_cached_by_different_processes_do_not_mix")

# find_python VERSION: a python VERSION that runs (pyenv's shims may exist and refuse), from pyenv's
# versions or PATH; nothing if there is none
find_python() {
    local candidate
    for candidate in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/"python$1" \
                       2>/dev/null | sort -V -r) $(command -v "python$1" 2>/dev/null); do
        if "$candidate" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$1'.split('.')))" \
                2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
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
    PYTHONPATH="$ROOT" NUMBA_CACHE_DIR="$WORK/$name-cache" NUMELU_KERNELS=jit \
        "$WORK/$name/bin/python" -m pytest -q -p no:cacheprovider -x --durations=3 "${TESTS[@]}"
    echo "=== $name took $(( $(date +%s) - start )) s"
}

# need VERSION WHY: the python VERSION, or exit saying it is missing
need() {
    local python
    python=$(find_python "$1")
    if [ -z "$python" ]; then
        echo "python$1 ($2) is not installed here" >&2
        exit 1
    fi
    echo "$python"
}

for which in "${@:-oldest newest}"; do
    for name in $which; do
        case $name in
            # the lower bounds of pyproject.toml's dependencies, exactly
            oldest) check oldest "$(need 3.10 "the oldest Python numelu accepts")" \
                        "numpy==2.2.0" "numba==0.61.2" ;;
            # the newest releases (one that breaks numelu fails here first)
            newest) check newest "$(need 3.12 "the oldest that NumPy 2.5 installs on")" \
                        --upgrade numpy numba ;;
            *) echo "usage: $0 [oldest] [newest]" >&2; exit 2 ;;
        esac
    done
done
