#!/usr/bin/env bash
# Build the wheel (which precompiles the CPU kernels for each x86-64 ISA level), install it in a
# fresh virtualenv, and show from there what its first calls cost and that they compile
# nothing. Prints the folder of the installed libraries on its last line (for the test suite).
set -euo pipefail
cd "$(dirname "$0")/.."
here=$(pwd)
start=$(date +%s)
rm -rf .ci-dist .ci-wheel-venv
python -m build --wheel --outdir .ci-dist > .ci-dist.log 2>&1 || { tail -50 .ci-dist.log; exit 1; }
grep -E "x86-64-v[0-9]: " .ci-dist.log || true
wheel=$(ls .ci-dist/numelu-*.whl)
echo "built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB) in $(( $(date +%s) - start )) s"
python3 -m venv .ci-wheel-venv
.ci-wheel-venv/bin/python -m pip install --quiet "$wheel"
cd /tmp          # away from the checkout: the installed wheel is what runs
python=$here/.ci-wheel-venv/bin/python
NUMBA_CACHE_DIR=$(mktemp -d) "$python" -m numelu info | grep -E "^ *(numelu|numba|cpu|isa levels|kernels|threading layer) "
counted=$(NUMBA_CACHE_DIR=$(mktemp -d) "$python" "$here/tests/first_calls.py")
echo "first calls of 12 functions x 3 float types x serial/threaded: Numba compilations | kernels: $counted"
if [ "$("$python" -c 'from numelu import _isa; print(bool(_isa.supported_levels()))')" = True ]; then
    case "$counted" in "0 | precompiled"*) ;; *) echo "the installed wheel compiled" >&2; exit 1 ;; esac
fi
"$python" "$here/benchmarks/first_call.py" --python "$python" --repeats 3
echo "wheel check took $(( $(date +%s) - start )) s"
"$python" -c "import numelu, pathlib; print(pathlib.Path(numelu.__file__).parent / 'precompiled')"
