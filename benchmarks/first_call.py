"""First-call latency: a fresh process, an empty Numba cache, from the interpreter's start to
the first result (imports and any compilation included).

    python benchmarks/first_call.py [--python PYTHON] [--repeats 5] [--jit]

PYTHON is the interpreter of the environment under test (for the shipped numbers: a fresh
virtualenv with the wheel installed); ``--jit`` also times the JIT fallback
(``NUMELU_KERNELS=jit``, one run each: it takes seconds).  Prints one line per scenario: best
and median wall time, and what served the kernels.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

FUNCTIONS = ("elu", "selu", "celu", "elu_derivative", "selu_derivative", "celu_derivative",
             "elu_derivative_from_output", "selu_derivative_from_output",
             "celu_derivative_from_output", "elu_backward", "selu_backward", "celu_backward")

ONE = """
import numpy as np, numelu
f = numelu.{name}
f(*[np.ones(10)] * f.nin)
"""

ALL = """
import numpy as np, numelu
for f in numelu.FUNCTIONS_BY_NAME.values():
    for dtype in (np.float32, np.float64):
        args = [np.linspace(-3, 3, 1000, dtype=dtype)] * f.nin
        f.cpu(*args)
        f.parallel(*[np.linspace(-3, 3, 300_000, dtype=dtype)] * f.nin)
"""


def wall(python: str, code: str, env: dict) -> float:
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        subprocess.run([python, "-c", code], check=True, env={**env, "NUMBA_CACHE_DIR": cache})
        return time.perf_counter() - started


def scenario(python: str, label: str, code: str, env: dict, repeats: int) -> float:
    times = [wall(python, code, env) for _ in range(repeats)]
    print(f"{label:<44} best {min(times):6.3f} s   median {statistics.median(times):6.3f} s")
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--jit", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ)
    kernels = subprocess.run([args.python, "-c", "from numelu import _kernels; "
                              "print(_kernels.choice()[1])"], env=env, capture_output=True,
                             text=True, check=True).stdout.strip()
    print(f"python: {args.python}\nkernels: {kernels}")
    scenario(args.python, "import numpy (reference)", "import numpy", env, args.repeats)
    firsts = [scenario(args.python, f"first call: {name}", ONE.format(name=name), env,
                       args.repeats) for name in FUNCTIONS]
    print(f"{'slowest first call (best of each)':<44} {max(firsts):6.3f} s")
    scenario(args.python, "all 12, f32+f64, serial+threaded", ALL, env, args.repeats)
    if args.jit:
        jit = {**env, "NUMELU_KERNELS": "jit"}
        scenario(args.python, "JIT: first call: elu", ONE.format(name="elu"), jit, 1)
        scenario(args.python, "JIT: all 12, f32+f64, serial+threaded", ALL, jit, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
