"""Measure where the threaded CPU kernels start to beat the serial ones.

    python benchmarks/thresholds.py

For each kernel kind (exp-heavy: elu; cheap: elu_derivative_from_output) and dtype, times the
genuine serial ufunc ``.cpu`` against the threaded ``.parallel`` (best of many calls, ``out=``
given) at sizes 2**12 .. 2**22 and prints the ratio; the smallest size from which threads win
by at least 10% at every larger size is the threshold.  The defaults in numelu/_config.py come
from this script (README, "How targets are chosen").
"""

from __future__ import annotations

import timeit
from functools import partial

import numpy as np

import numelu

KINDS = {"exp": (numelu.elu, (1.0,)), "cheap": (numelu.elu_derivative_from_output, (1.0,))}


def best_time(call, repeat: int = 15) -> float:
    number = max(1, int(2e-3 / max(timeit.timeit(call, number=1), 1e-7)))
    return min(timeit.repeat(call, number=number, repeat=repeat)) / number


def main() -> None:
    import os
    import platform

    import numba

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numelu "
          f"{numelu.__version__}, numpy {np.__version__}, numba {numba.__version__}, "
          f"threads {numba.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")
    rng = np.random.default_rng(0)
    for kind, (function, extra) in KINDS.items():
        for dtype in (np.float32, np.float64):
            winners = []
            for power in range(12, 23):
                x = rng.standard_normal(2**power).astype(dtype)
                out = np.empty_like(x)
                serial = best_time(partial(function.cpu, x, *extra, out=out))
                threaded = best_time(partial(function.parallel, x, *extra, out=out))
                winners.append((2**power, serial / threaded))
                print(f"{kind:5} {np.dtype(dtype).name:7} n=2**{power:<2} serial {serial*1e6:9.1f} us"
                      f"  threaded {threaded*1e6:9.1f} us  speed-up {serial/threaded:5.2f}")
            threshold = next((n for i, (n, _) in enumerate(winners)
                              if all(r >= 1.1 for _, r in winners[i:])), None)
            print(f"-> {kind} {np.dtype(dtype).name}: threads win from {threshold} elements\n")
    from numelu import _kernels

    library, reason = _kernels.choice()
    print(f"# kernels: {reason}; threads: "
          f"{'numelu pool' if library is not None else numba.threading_layer()}")


if __name__ == "__main__":
    main()
