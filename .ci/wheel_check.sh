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
NUMBA_CACHE_DIR=$(mktemp -d) "$python" - <<'PY'
import numba.core.event as event
import numpy as np

compiled = []


class Count(event.Listener):
    def on_start(self, e):
        compiled.append(e.data["dispatcher"])

    def on_end(self, e):
        pass


event.install_listener("numba:compile", Count())
import numelu  # noqa: E402
from numelu import _kernels  # noqa: E402

for function in numelu.FUNCTIONS_BY_NAME.values():
    for dtype in (np.float16, np.float32, np.float64):
        args = [np.linspace(-3, 3, 70_001, dtype=dtype)] * function.nin
        function(*args)
        function.parallel(*args)
library, reason = _kernels.choice()
print(f"first calls of 12 functions x 3 float types x serial/threaded: {len(compiled)} "
      f"Numba compilations ({reason})")
assert library is None or not compiled, compiled[:5]
PY
"$python" "$here/benchmarks/first_call.py" --python "$python" --repeats 3
echo "wheel check took $(( $(date +%s) - start )) s"
"$python" -c "import numelu, pathlib; print(pathlib.Path(numelu.__file__).parent / 'precompiled')"
