"""Run a fixed set of cases through numelu's CPU ufuncs and save results and warnings.

``python tests/precompiled_cases.py OUT.npz [FUNCTION ...]``: run in two processes, one on the
precompiled library of a level and one on the JIT compiling for the same level, the two files
must be identical (``test_precompiled.py``).  Cases: edge values (signed zeros, NaN, infinities,
subnormals, the overflow and underflow ranges), random data, strided, reversed and in-place
layouts, broadcast alphas, float16/32/64, serial and threaded ufuncs; each call's warnings are
recorded in order.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

import numelu

EDGES = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-310, -1e-310, 1e-40, -1e-40, 5e-324, -5e-324,
         -1e-8, 1e-8, -0.5, 0.5, -1.0, 1.0, -17.5, -38.0, -88.0, -104.0, -709.0, -745.0, -800.0,
         88.0, 709.0, 1e38, -1e38, 3.4e38, 1.7e308, -1.7e308, 65504.0, 65520.0, -1e5]
ALPHAS = [1.0, 0.5, 2.5, -0.3, 0.0, 1e-30, np.nan, np.inf]


def operands(nin: int, dtype, rng: np.random.Generator) -> list[list[np.ndarray]]:
    """Input tuples for a function of ``nin`` inputs (the last is alpha where it has one)."""
    edges = np.array(EDGES, dtype=np.float64)
    grid = np.repeat(edges, len(ALPHAS))
    alphas = np.tile(np.array(ALPHAS), len(edges))
    noise = rng.standard_normal(100_003) * 12
    cases = []
    with np.errstate(all="ignore"):
        if nin == 1:
            cases += [[edges], [noise], [noise[::-3]]]
        elif nin == 2:
            cases += [[grid, alphas], [noise, np.full(noise.shape, 0.7)], [noise[::-2], 1.3]]
        else:
            cases += [[np.full(grid.shape, 1.5), grid, alphas], [noise, noise[::-1], 0.9],
                      [1e300, noise, 2.0]]
        return [[np.asarray(v, dtype=dtype) for v in case] for case in cases]


def run(names: list[str]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261206)
    saved: dict[str, np.ndarray] = {}
    for name in names:
        function = getattr(numelu, name)
        for dtype in (np.float16, np.float32, np.float64):
            for index, case in enumerate(operands(function.nin, dtype, rng)):
                for target in ("cpu", "parallel"):
                    key = f"{name}/{np.dtype(dtype).char}/{index}/{target}"
                    ufunc = getattr(function, target)
                    saved[key], saved[key + "/warnings"] = _call(ufunc, case)
                    in_place = case[0].copy() if case[0].ndim else None
                    if in_place is not None and in_place.flags.writeable:
                        _, warned = _call(ufunc, [in_place, *case[1:]], out=in_place)
                        saved[key + "/in-place"] = _bits(in_place)
                        saved[key + "/in-place/warnings"] = warned
    return saved


def _call(ufunc, args, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = np.asarray(ufunc(*args, **kwargs))
    messages = np.array([str(w.message) for w in caught] or [""])
    return _bits(result), messages


def _bits(values: np.ndarray) -> np.ndarray:
    """The bit patterns (NaN payloads compared too)."""
    return values.view(f"u{values.dtype.itemsize}") if values.size else values


if __name__ == "__main__":
    out, *names = sys.argv[1:]
    np.savez(out, **run(names or [spec for spec in numelu.FUNCTIONS_BY_NAME]))
