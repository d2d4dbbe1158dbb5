"""``python -m numelu accuracy``: maximum ulp error of every function against a reference.

* float32: against the float64 result of the formula (NumPy, float64), rounded to float32 ulps;
  ``--exhaustive`` sweeps every finite negative float32 down to the exp underflow (about 1.1e9
  inputs per function: minutes); otherwise a dense sample.
* float64: against mpmath at 120 bits on sampled inputs (uniform, log-spaced near 0, and the
  interesting bands: k = -1 reduction range, subnormal exp).
The same figures are printed for plain NumPy (``numelu._reference``'s formulas evaluated in the
input dtype) and for PyTorch (forward functions and autograd derivatives) when it is installed.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable

import numpy as np

import numelu
from numelu import _reference

#: The functions with an ulp bound (the *_from_output forms are exempt, *_backward adds a product).
FORWARD_AND_DERIVATIVES = tuple(name for name in _reference.NAMES
                                if _reference.kind_of(name) in ("forward", "derivative"))


# ----------------------------------------------------------------------------- references


def _reference_f64(name: str, x: np.ndarray, alpha: float) -> np.ndarray:
    """The formula in float64 NumPy (the reference for float32 results)."""
    return _reference.numpy_reference(name, [x, alpha] if _reference.has_alpha(name) else [x])


def _reference_mp(name: str, x: np.ndarray, alpha: float):
    """The formula in mpmath at 120 bits, as a list of mpf (the reference for float64)."""
    extra = (alpha,) if _reference.has_alpha(name) else ()
    return [_reference.mpmath_value(name, (float(v), *extra)) for v in x]


def _ulp_error_f32(result: np.ndarray, reference: np.ndarray) -> float:
    """max |result - reference| in float32 ulps of the reference itself (Goldberg's ulp,
    ``2**(floor(log2|ref|) - 23)``, never below the smallest subnormal).

    Not the spacing at the reference rounded to float32: just below a power of two that rounds
    up a binade, and its spacing is twice the ulp, halving the error reported.
    """
    _, exponent = np.frexp(np.abs(reference))          # |ref| = m * 2**e, m in [0.5, 1)
    ulp = np.ldexp(1.0, np.where(reference == 0, -149, np.maximum(exponent - 24, -149)))
    with np.errstate(all="ignore"):
        err = np.abs(result.astype(np.float64) - reference) / ulp
        rounded = reference.astype(np.float32)     # past the float32 range: must be that inf
    err = np.where(np.isinf(rounded) & np.isfinite(reference),
                   np.where(result == rounded, 0.0, np.inf), err)
    return float(np.nanmax(np.where(np.isfinite(reference), err, 0.0)))


def _ulp_error_f64(result: np.ndarray, reference: list) -> float:
    """max |result - reference| in float64 ulps of the (mpmath) reference, as for float32."""
    import mpmath

    worst = 0.0
    for value, exact in zip(result.tolist(), reference, strict=True):
        if abs(float(exact)) == math.inf:             # past the float64 range: must be that inf
            worst = max(worst, 0.0 if value == float(exact) else math.inf)
            continue
        exponent = mpmath.frexp(exact)[1] if exact != 0 else -1074
        ulp = mpmath.ldexp(1, max(int(exponent) - 53, -1074))
        worst = max(worst, float(abs(mpmath.mpf(value) - exact) / ulp))
    return worst


# ----------------------------------------------------------------------------- implementations


def _numelu(name: str) -> Callable:
    function = getattr(numelu, name)
    if function.spec.has_alpha:
        return lambda x, alpha: function(x, x.dtype.type(alpha))
    return lambda x, alpha: function(x)


def _numpy(name: str) -> Callable:
    """Plain NumPy: the reference formula (as the benchmarks write it) evaluated in x's dtype."""
    formula = _reference.numpy_function(name)
    uses_alpha = _reference.has_alpha(name)

    def run(x: np.ndarray, alpha: float) -> np.ndarray:
        args = (x, x.dtype.type(alpha)) if uses_alpha else (x,)
        with np.errstate(all="ignore"):
            return np.asarray(formula(*args), dtype=x.dtype)

    return run


def _torch(name: str) -> Callable | None:
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    base = name.replace("_derivative", "")
    forward = {"elu": lambda t, a: F.elu(t, a), "selu": lambda t, a: F.selu(t),
               "celu": lambda t, a: F.celu(t, a)}.get(base)
    if forward is None:                 # a family PyTorch does not have
        return None

    def run(x: np.ndarray, alpha: float) -> np.ndarray:
        t = torch.from_numpy(x.copy())
        if name == base:
            with torch.no_grad():
                return forward(t, alpha).numpy()
        t.requires_grad_(True)
        forward(t, alpha).backward(torch.ones_like(t))
        return t.grad.numpy()

    return run


# ----------------------------------------------------------------------------- inputs


def _float32_negatives(exhaustive: bool, chunk: int = 1 << 24):
    """Negative float32 inputs down to -104 (every one with ``exhaustive``), in chunks."""
    top = int(np.array(-104.0, np.float32).view(np.uint32))
    lowest = int(np.array(-0.0, np.float32).view(np.uint32)) + 1
    step = 1 if exhaustive else 97
    for start in range(lowest, top + 1, chunk * step):
        bits = np.arange(start, min(start + chunk * step, top + 1), step, dtype=np.uint32)
        yield bits.view(np.float32)


def _float64_samples(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    parts = [
        -rng.uniform(0, 40, count // 4),
        -np.exp(rng.uniform(np.log(1e-300), np.log(1.0), count // 4)),
        -rng.uniform(0.3, 1.1, count // 4),
        -rng.uniform(700, 745.2, count // 8),
        -rng.uniform(0, 1.5, count // 8),
    ]
    return np.concatenate(parts)


# ----------------------------------------------------------------------------- driver


def measure(names, alphas, exhaustive: bool, samples64: int, progress) -> list[dict]:
    rows = []
    for name in names:
        uses_alpha = getattr(numelu, name).spec.has_alpha
        for alpha in (alphas if uses_alpha else [1.0]):
            impls = {"numelu": _numelu(name), "numpy": _numpy(name)}
            torch_impl = _torch(name)
            if torch_impl is not None:
                impls["torch"] = torch_impl
            row = {"function": name, "alpha": alpha if uses_alpha else None}
            started = time.perf_counter()
            worst32 = dict.fromkeys(impls, 0.0)
            alpha32 = float(np.float32(alpha))     # what a float32 computation is given
            for x in _float32_negatives(exhaustive):
                reference = _reference_f64(name, x, alpha32)
                for label, impl in impls.items():
                    worst32[label] = max(worst32[label],
                                         _ulp_error_f32(impl(x, alpha32), reference))
            x64 = _float64_samples(samples64)
            reference64 = _reference_mp(name, x64, alpha)
            for label, impl in impls.items():
                row[f"{label} f32"] = worst32[label]
                row[f"{label} f64"] = _ulp_error_f64(impl(x64, alpha), reference64)
            progress(f"{name} alpha={alpha}: {time.perf_counter() - started:.1f} s")
            rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    columns = ["numelu f32", "numelu f64", "numpy f32", "numpy f64", "torch f32", "torch f64"]
    present = [c for c in columns if any(c in row for row in rows)]
    lines = ["| function | alpha | " + " | ".join(present) + " |",
             "|---|---|" + "---|" * len(present)]
    for row in rows:
        alpha = "-" if row["alpha"] is None else f"{row['alpha']:g}"
        cells = [f"{row[c]:.2f}" if c in row else "n/a" for c in present]
        lines.append(f"| {row['function']} | {alpha} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m numelu accuracy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exhaustive", action="store_true",
                        help="every negative float32 down to -104 (minutes per function)")
    parser.add_argument("--functions", default=",".join(FORWARD_AND_DERIVATIVES))
    parser.add_argument("--alphas", default="1,0.3,2.5")
    parser.add_argument("--samples64", type=int, default=4000,
                        help="float64 inputs checked against mpmath per function (default 4000)")
    args = parser.parse_args(argv)
    names = [n for n in args.functions.split(",") if n]
    unknown = [n for n in names if n not in FORWARD_AND_DERIVATIVES]
    if unknown:
        parser.error(f"no accuracy reference for {unknown}; choose from {FORWARD_AND_DERIVATIVES}")
    alphas = [float(a) for a in args.alphas.split(",")]
    rows = measure(names, alphas, args.exhaustive, args.samples64,
                   lambda msg: print(msg, file=sys.stderr, flush=True))
    print(format_table(rows))
    mode = "exhaustive" if args.exhaustive else "every 97th"
    print(f"\nmax ulp error; float32: {mode} negative float32 in [-104, 0) vs float64; "
          f"float64: {len(_float64_samples(args.samples64))} samples vs mpmath (120 bits)")
    return 0
