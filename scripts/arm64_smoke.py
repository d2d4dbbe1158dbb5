"""A short check of numelu on the machine it runs on (used under arm64 emulation by
``.ci/arm_smoke.sh``): one function of each kind in float64 on a few values (NaN, infinities,
signed zeros included) against NumPy's formula, and the floating-point warnings of each call
exactly as NumPy's formula gives them.  Exit status 1 on any difference.

Four kernels are compiled (about a minute each under emulation).
"""

from __future__ import annotations

import platform
import sys
import time
import warnings

import numpy as np

INF, NAN = np.inf, np.nan


def formula(name: str, *args: np.ndarray) -> np.ndarray:
    """The contract's formulas, evaluated by NumPy element by element (float64 scalars), on the
    branch each element takes only, so its warnings are those of that branch."""
    one = np.float64(1.0)

    def element(*v: np.float64) -> np.float64:
        if name == "elu":
            x, a = v
            return x if x > 0 else a * np.expm1(x)
        if name == "celu_derivative":
            x, a = v
            return one if x > 0 else np.exp(x / a)
        if name == "celu_derivative_from_output":
            y, a = v
            return one if y > 0 else y / a + one
        if name == "elu_backward":
            g, x, a = v
            return g * (one if x > 0 else a * np.exp(x))
        raise ValueError(name)

    return np.array([element(*v) for v in zip(*args, strict=True)], dtype=np.float64)


def categories(function, *args) -> tuple[np.ndarray, set[str]]:
    """The result of ``function(*args)`` and the floating-point warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*args)
    found = set()
    for w in caught:
        text = str(w.message)
        for word, category in (("overflow", "overflow"), ("invalid value", "invalid"),
                               ("divide by zero", "divide")):
            if word in text:
                found.add(category)
    return result, found


CASES = [
    # name, inputs (broadcast against each other), the flags NumPy's formula gives
    ("elu", ([-1.0, -0.0, 0.0, 2.0, -INF, INF, NAN, -800.0, 1e-300], 1.0), set()),
    ("elu", ([-1.0, 0.5], [INF, 0.3]), set()),
    ("celu_derivative", ([-1.0, 2.0, -INF, NAN], 0.5), set()),
    ("celu_derivative", ([-1.0], [0.0]), {"divide"}),
    ("celu_derivative", ([0.0], [0.0]), {"invalid"}),                 # exp(0 / 0)
    ("celu_derivative_from_output", ([-0.5, 0.0, 3.0, NAN], 2.0), set()),
    ("celu_derivative_from_output", ([-0.5], [0.0]), {"divide"}),
    ("elu_backward", ([1e308, 2.0, NAN, INF], [-0.0, -1.0, -1.0, 1.0], 10.0),
     {"overflow"}),
    ("elu_backward", ([INF], [-1.0], [0.0]), {"invalid"}),
    ("elu_backward", ([1e308, 3.0], [1.0, -INF], [10.0, 1.0]), set()),
]


def main() -> int:
    started = time.perf_counter()
    import numelu

    print(f"numelu {numelu.__version__} on {platform.machine()}, NumPy {np.__version__}; "
          f"import {time.perf_counter() - started:.1f} s", flush=True)
    failures = 0
    for name, inputs, flags in CASES:
        arrays = np.broadcast_arrays(*[np.asarray(v, dtype=np.float64) for v in inputs])
        arrays = [np.ascontiguousarray(a) for a in arrays]
        expected, expected_flags = categories(formula, name, *arrays)
        before = time.perf_counter()
        got, got_flags = categories(getattr(numelu, name), *arrays)
        same = np.array_equal(got, expected, equal_nan=True) and np.array_equal(
            np.signbit(got), np.signbit(expected))
        close = same or np.allclose(got, expected, rtol=4e-16, atol=0, equal_nan=True)
        ok = close and got_flags == expected_flags == flags
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}{tuple(a.tolist() for a in arrays)} -> "
              f"{got.tolist()} flags {sorted(got_flags)} ({time.perf_counter() - before:.1f} s)",
              flush=True)
        if not ok:
            print(f"     NumPy's formula: {expected.tolist()} flags {sorted(expected_flags)}; "
                  f"expected flags {sorted(flags)}", flush=True)
    print(f"{'FAILED' if failures else 'passed'}: {len(CASES) - failures} of {len(CASES)} cases "
          f"in {time.perf_counter() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
