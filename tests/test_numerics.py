"""Accuracy of every numelu function against independent references (docs/contract.md §§1 and 3).

The references are written here, independently of ``numelu.scalar``:

* float32 and float16 results: the NumPy float64 formula evaluated on the (already rounded)
  inputs.  Its own error, a few float64 roundings (~1e-16 relative), is negligible next to a
  float32 ulp (6e-8 relative).
* float64 results: mpmath at 120 bits, kept as ``hi + frac * ulp`` (``hi`` a float64 near the
  exact value, ``frac`` the rest in ulps), so an error is measured to far below an ulp, down to
  the subnormal range.

Errors are measured in ulps of the *exact* result in the output dtype (Goldberg's ulp:
``2**(floor(log2|v|) - p + 1)``, never below the smallest subnormal).  The bounds, each derived
from docs/contract.md §3 and from the formula of section 1 evaluated as written:

* forward functions and derivatives: ``B = 1`` ulp for every alpha (``ULP_BOUND``; the contract's
  section 3 asks 1 ulp only where ``alpha == 1`` and allows 2 otherwise and for SELU);
* ``*_backward``: the derivative ``d`` carries at most ``B * ulp(d)``, the product one rounding:
  ``|err| <= |grad| * B * ulp(d) + ulp(result) / 2`` (this is "adds at most the one rounding of
  its product"; expressed in ulps of the result it is at most ``2B + 1/2`` because ``ulp(d)/d``
  and ``ulp(g*d)/(g*d)`` can differ by a factor 2);
* ``*_from_output`` (exempt from the ulp bound, but each operation of the formula is rounded
  once): elu: ``y + alpha`` rounded once (1/2 ulp); selu: plus the rounding of the constant
  ``SELU_SCALE * SELU_ALPHA`` (1/2 ulp of it); celu: ``y / alpha`` rounded (1/2 ulp of it), then
  ``+ 1`` rounded (1/2 ulp);
* float16 results are computed in float32 and rounded once: the float32 bound (in float32 ulps)
  plus 1/2 float16 ulp.
"""

from __future__ import annotations

import functools
import math
import os

import mpmath
import numba
import numpy as np
import pytest
from helpers import (
    ALPHA_MIN,
    CPU_TARGETS,
    PROPERTY_SETTINGS,
    QUIET_HYPOTHESIS_REPORTS,
    finite_floats,
)
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numelu
from numelu import scalar
from numelu._functions import BY_NAME, FUNCTIONS
from numelu._reference import (
    NUMPY_CONSTANTS,
    derivative_of,
    kind_of,
    mpmath_value,
    numpy_reference,
)

pytestmark = QUIET_HYPOTHESIS_REPORTS
DTYPES = (np.float16, np.float32, np.float64)

MP_PREC = 120
#: SELU_SCALE * SELU_ALPHA as the float64 references round it (one rounding of a product).
SAS64 = NUMPY_CONSTANTS["sas"]


def mp_value(name: str, values: tuple):
    """The exact (120-bit) value of ``name`` at the float ``values``."""
    return mpmath_value(name, values, MP_PREC)


# --------------------------------------------------------------------------- ulps


def ulp_exponent(v, dtype) -> np.ndarray:
    """``E`` with ``ulp(v) = 2**E`` in ``dtype`` (Goldberg's ulp; subnormal floor; |v| finite)."""
    info = np.finfo(dtype)
    _, e = np.frexp(np.abs(np.asarray(v, dtype=np.float64)))     # |v| = m * 2**e, m in [0.5, 1)
    return np.maximum(e - 1 - info.nmant, info.minexp - info.nmant)


def mp_reference(name: str, args64: list) -> tuple[np.ndarray, np.ndarray]:
    """float64 ``(hi, frac)``: the exact value is ``hi + frac * ulp(exact)`` (ulp in float64)."""
    columns = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in args64])
    hi = np.empty(columns[0].shape)
    frac = np.empty(columns[0].shape)
    with mpmath.workprec(MP_PREC):
        for i, values in enumerate(zip(*[c.ravel() for c in columns], strict=True)):
            exact = mp_value(name, tuple(float(v) for v in values))
            hi.flat[i] = h = float(exact)
            if not np.isfinite(h):
                frac.flat[i] = 0.0
                continue
            # the exponent of the exact value (not of hi, which may have rounded up a binade)
            e = int(ulp_exponent(h, np.float64))
            if exact != 0 and abs(exact) < abs(mpmath.mpf(h)) and h != 0:
                m, _ = np.frexp(h)
                if abs(m) == 0.5:
                    e = max(e - 1, -1074)
            frac.flat[i] = float(mpmath.ldexp(exact - mpmath.mpf(h), -e))
    return hi, frac


def ulp_errors(got, hi, frac, dtype) -> np.ndarray:
    """|got - exact| in ulps of the exact value in ``dtype``; 0 where both are the same inf/NaN,
    inf where only one of them is finite."""
    g = np.asarray(got, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = hi.astype(dtype).astype(np.float64)    # where the exact value overflows dtype
        special = ~np.isfinite(rounded)
        err = np.abs(np.ldexp(g - hi, -ulp_exponent(np.where(special, 0.0, hi), dtype)) - frac)
    same = (g == rounded) | (np.isnan(g) & np.isnan(rounded))
    err = np.where(special, np.where(same, 0.0, np.inf), err)
    return np.where(np.isfinite(g) | special, err, np.inf)


# --------------------------------------------------------------------------- the bounds


#: docs/contract.md §3 allows 1 ulp where alpha == 1 (ELU, CELU) and 2 ulp for any other alpha and
#: for SELU. numelu's CPU kernels keep every function within 1 ulp (alpha times the exp is rounded
#: once, SELU's constant is carried to twice the precision), and are held to it here.
ULP_BOUND = 1.0


def spec_ulp_bound(name: str, alpha) -> float:
    """The contract's own bound (docs/contract.md §3): 1 ulp where alpha == 1 (ELU and CELU), 2 ulp
    otherwise and for SELU (what ``numelu.scalar`` called from plain Python, on libm's exp/expm1, is
    held to)."""
    family = name.split("_")[0]
    return 1.0 if family in ("elu", "celu") and alpha == 1 else 2.0


def allowed_ulps(name: str, args64: list, hi: np.ndarray, alpha, dtype,
                 ulp_bound: float = ULP_BOUND) -> np.ndarray:
    """The error allowed at each point, in ulps of the exact result in ``dtype`` (module doc),
    for functions and derivatives held to ``ulp_bound``."""
    compute = np.float64 if dtype == np.float64 else np.float32
    e_out = ulp_exponent(np.where(np.isfinite(hi), hi, 0.0), dtype)

    def in_out_ulps(scale, magnitude):
        """``scale * ulp_compute(magnitude)`` in output ulps."""
        return np.ldexp(np.asarray(scale, dtype=np.float64),
                        ulp_exponent(magnitude, compute) - e_out)

    kind = kind_of(name)
    with np.errstate(all="ignore"):
        if kind in ("forward", "derivative"):
            bound = in_out_ulps(ulp_bound, hi)
        elif kind == "backward":
            grad, *rest = args64
            d = numpy_reference(derivative_of(name), rest)
            carried = np.abs(grad) * ulp_bound
            product_error = in_out_ulps(carried, d)
            upper = np.abs(hi) + np.abs(grad) * np.ldexp(2.0, ulp_exponent(d, compute))
            bound = product_error + in_out_ulps(0.5, upper)
        else:  # from_output
            y = args64[0]
            if name.startswith("selu"):
                first = SAS64                      # the rounded constant
            elif name.startswith("celu"):
                first = y / args64[1]                    # the rounded quotient
            else:
                first = 0.0                              # y + alpha: one rounding only
            first_error = 0.0 if name.startswith("elu") else in_out_ulps(0.5, first)
            upper = np.abs(hi) + np.ldexp(1.0, ulp_exponent(first, compute))
            bound = first_error + in_out_ulps(0.5, upper)
    if dtype == np.float16:
        bound = bound + 0.5
    return np.broadcast_to(bound, np.shape(hi))


# --------------------------------------------------------------------------- samples


def x_points(dtype, rng, n: int = 160) -> np.ndarray:
    """Inputs of the exp branch where errors hide, plus zeros, tiny, huge and positive values."""
    info = np.finfo(dtype)
    lo = np.log2(float(info.smallest_subnormal))
    hi_log = np.log2(float(info.max))
    parts = [
        -np.exp2(rng.uniform(lo, 0.0, n)),          # tiny negatives, down to subnormals
        np.exp2(rng.uniform(lo, 0.0, n // 4)),       # tiny positives
        rng.uniform(-0.35, 0.35, n),                # reduction k = 0
        rng.uniform(-1.04, -0.35, n),               # reduction k = -1
        rng.uniform(-18.5, -16.0, n),               # float32: alpha*expm1(x) reaches -alpha (-17.3)
        rng.uniform(-38.5, -36.0, n),               # float64: same (-37.4)
        rng.uniform(-104.5, -86.0, n),              # float32: exp subnormal, then 0
        rng.uniform(-746.0, -700.0, n),             # float64: exp subnormal, then 0
        rng.uniform(-60.0, 0.0, n),
        -np.exp2(rng.uniform(0.0, hi_log, n // 4)),  # very negative
        np.exp2(rng.uniform(0.0, hi_log - 1, n // 4)),  # large positive (SELU_SCALE*x finite)
        np.array([0.0, -0.0, -1.0, -0.5, -2.0, 1.0, -float(info.smallest_subnormal),
                  -float(info.tiny), float(info.smallest_subnormal)]),
    ]
    return np.concatenate(parts)


def y_points(dtype, rng, alpha: float, n: int = 300) -> np.ndarray:
    """Outputs of the forward function: [-alpha, 0] densely (both ends), and positives."""
    p = np.finfo(dtype).nmant + 2
    u = np.concatenate([rng.uniform(0.0, 1.0, n), np.exp2(-rng.uniform(0, p, n)),
                        1.0 - np.exp2(-rng.uniform(1, p, n)), [0.0, 1.0]])
    positives = np.exp2(rng.uniform(-20, 10, n // 4))
    return np.concatenate([-alpha * u, positives, [-0.0]])


def to_dtype(values, dtype) -> np.ndarray:
    with np.errstate(over="ignore"):
        out = np.asarray(values, dtype=np.float64).astype(dtype)
    return out[np.isfinite(out)]


def effective_alpha(spec_name: str, alpha) -> float:
    return SAS64 if spec_name.startswith("selu") else float(alpha)


def make_inputs(spec, dtype, alpha, seed: int = 0) -> tuple[list, list]:
    """(call arguments, the same as float64 arrays) for one accuracy case."""
    rng = np.random.default_rng([seed, len(spec.name), DTYPES.index(dtype)])
    if spec.inputs[0] == "y" or (spec.nin > 1 and spec.inputs[1] == "y"):
        main = to_dtype(y_points(dtype, rng, effective_alpha(spec.name, alpha)), dtype)
    else:
        x = x_points(dtype, rng)
        if spec.has_alpha and spec.name.startswith("celu") and alpha != 1:
            x = np.concatenate([x, x[: len(x) // 2] * alpha])   # so that x / alpha hits the ranges
        main = to_dtype(x, dtype)
    args, args64 = [], []
    for name in spec.inputs:
        if name in ("x", "y"):
            value = main
        elif name == "grad":
            sign = rng.choice([-1.0, 1.0], main.size)
            value = to_dtype(sign * np.exp2(rng.uniform(-6, 6, main.size)), dtype)
            value[: main.size // 4] = 1
        else:
            args.append(float(alpha))                # a Python float: NEP 50, alpha -> dtype
            args64.append(float(dtype(alpha)))
            continue
        args.append(value)
        args64.append(value.astype(np.float64))
    return args, args64


@functools.cache
def accuracy_case(name: str, dtype_name: str, alpha):
    """Inputs, exact values and allowed errors of one case, shared by the three targets."""
    spec = BY_NAME[name]
    dtype = np.dtype(dtype_name).type
    args, args64 = make_inputs(spec, dtype, alpha)
    if dtype == np.float64:
        hi, frac = mp_reference(name, args64)
    else:
        hi = numpy_reference(name, args64)
        frac = np.zeros_like(hi)
    allowed = allowed_ulps(name, args64, hi, alpha, dtype)
    return args, args64, hi, frac, allowed


def check_accuracy(got, name, dtype, args64, hi, frac, allowed) -> float:
    """Assert every point within its bound; return the largest error in ulps."""
    got = np.asarray(got)
    assert got.dtype == dtype, f"{name}: {dtype.__name__} input gave {got.dtype}"
    err = ulp_errors(got, hi, frac, dtype)
    bad = ~(err <= allowed)
    if bad.any():
        idx = np.flatnonzero(bad)[:8]
        rows = [
            f"  inputs={[float(np.broadcast_to(a, hi.shape)[i]) for a in args64]} "
            f"got={float(got.flat[i])!r} exact~{float(hi[i])!r} "
            f"err={float(err[i]):.3g} ulp allowed={float(allowed[i]):.3g}"
            for i in idx
        ]
        raise AssertionError(f"{name} {dtype.__name__}: {int(bad.sum())} of {bad.size} points "
                             f"beyond the bound\n" + "\n".join(rows))
    finite = np.isfinite(err)
    return float(err[finite].max(initial=0.0))


def call(name: str, args, target: str):
    """The values only: floating-point flags are checked apart (test_edge_values.py and
    ``test_no_flag_for_random_finite_input``), so that a leaked flag and a wrong value show up
    as different failures."""
    with np.errstate(all="ignore"):
        return getattr(numelu, name)(*args, target=target)


# --------------------------------------------------------------------------- 1. accuracy

ALPHAS = (1.0, 0.1, 0.3, 2.0, 3.7, 10.0)
FROM_OUTPUT_ALPHAS = (1.0, 0.3, 3.7)


def _accuracy_params():
    for spec in FUNCTIONS:
        if not spec.has_alpha:
            alphas = (None,)
        elif kind_of(spec.name) == "from_output":
            alphas = FROM_OUTPUT_ALPHAS
        elif spec.alpha_rule is None:                # any real alpha (ELU): a negative one too
            alphas = (*ALPHAS, -0.5)
        else:
            alphas = ALPHAS
        for alpha in alphas:
            yield pytest.param(spec.name, alpha, id=f"{spec.name}-a{alpha}")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize(("name", "alpha"), list(_accuracy_params()))
def test_accuracy(name, alpha, dtype, target):
    args, args64, hi, frac, allowed = accuracy_case(name, np.dtype(dtype).name, alpha)
    got = call(name, args, target)
    check_accuracy(got, name, dtype, args64, hi, frac, allowed)


def sweep_float32(low: float, points: int = 300_000) -> np.ndarray:
    """About ``points`` float32 spread evenly by bit pattern over ``[low, 0)`` (an odd step, so
    every low bit pattern of the significand is visited)."""
    first = 0x80000001
    last = int(np.array([low], np.float32).view(np.uint32)[0])
    step = max(1, (last - first) // points) | 1
    return np.arange(first, last + 1, step, dtype=np.uint64).astype(np.uint32).view(np.float32)


def _sweep_params():
    for spec in FUNCTIONS:
        for alpha in ((None,) if not spec.has_alpha else (1.0, 0.3, 3.7)):
            yield pytest.param(spec.name, alpha, id=f"{spec.name}-a{alpha}")


@pytest.mark.parametrize(("name", "alpha"), list(_sweep_params()))
def test_float32_sweep_of_the_negative_branch(name, alpha, target, spec):
    """~300k float32 spread evenly (by bits) over the whole exp branch, against float64."""
    a32 = float(np.float32(effective_alpha(name, alpha if alpha is not None else 1.0)))
    if kind_of(name) == "from_output":
        main = sweep_float32(-a32)
    else:
        main = sweep_float32(-104.0 * max(1.0, a32))
    args, args64 = [], []
    for input_name in spec.inputs:
        if input_name == "alpha":
            args.append(alpha)
            args64.append(float(np.float32(alpha)))
        elif input_name == "grad":
            g = np.full(main.shape, -1.75, np.float32)
            args.append(g)
            args64.append(g.astype(np.float64))
        else:
            args.append(main)
            args64.append(main.astype(np.float64))
    hi = numpy_reference(name, args64)
    allowed = allowed_ulps(name, args64, hi, alpha, np.float32)
    got = call(name, args, target)
    check_accuracy(got, name, np.float32, args64, hi, np.zeros_like(hi), allowed)


def positive_sweep(dtype, points: int) -> np.ndarray:
    """About ``points`` positive floats spread evenly by bit pattern from the smallest subnormal
    to the largest finite value (an odd step: every low bit pattern of the significand)."""
    bits, largest = (np.uint32, 0x7F7FFFFF) if dtype == np.float32 else (np.uint64, 0x7FEFFFFFFFFFFFFF)
    return np.arange(1, largest, largest // points | 1, dtype=bits).view(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", [s.name for s in FUNCTIONS if kind_of(s.name) != "from_output"])
def test_sweep_of_the_positive_branch(name, dtype, target, spec):
    """Positive x over every binade (float32: 500,000 points against float64; float64: 20,000
    against mpmath).  SELU's ``SELU_SCALE * x`` with the constant rounded first was up to 1.06
    ulp off in float32 (0.5% of the inputs of [1, 2) beyond 1 ulp)."""
    x = positive_sweep(dtype, 500_000 if dtype == np.float32 else 20_000)
    args, args64 = [], []
    for input_name in spec.inputs:
        if input_name == "alpha":
            args.append(0.75)
            args64.append(0.75)
        elif input_name == "grad":
            args.append(np.full(x.shape, -0.625, dtype))
            args64.append(np.full(x.shape, -0.625))
        else:
            args.append(x)
            args64.append(x.astype(np.float64))
    if dtype == np.float32:
        hi, frac = numpy_reference(name, args64), np.zeros(x.shape)
    else:
        hi, frac = mp_reference(name, args64)
    got = call(name, args, target)
    check_accuracy(got, name, dtype, args64, hi, frac,
                   allowed_ulps(name, args64, hi, 0.75 if spec.has_alpha else None, dtype))


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("NUMELU_EXHAUSTIVE"),
                    reason="set NUMELU_EXHAUSTIVE=1 (a few minutes per function)")
@pytest.mark.parametrize(("name", "alpha"), [
    ("elu", 1.0), ("elu", 0.3), ("selu", None), ("celu", 1.0), ("celu", 0.3), ("celu", 3.7),
    ("elu_derivative", 1.0), ("elu_derivative", 0.3), ("selu_derivative", None),
    ("celu_derivative", 1.0), ("celu_derivative", 0.3), ("celu_derivative", 3.7),
])
def test_float32_exhaustive_negative_inputs(name, alpha, spec):
    """docs/contract.md §3: every negative float32 down to -inf (chunks of 2**24), serial CPU."""
    fn = getattr(numelu, name)
    worst = 0.0
    for start in range(0x80000000, 0x100000000, 1 << 24):
        x = np.arange(start, start + (1 << 24), dtype=np.uint64).astype(np.uint32).view(np.float32)
        x = x[np.isfinite(x)]
        args = [x] if spec.nin == 1 else [x, alpha]
        args64 = [x.astype(np.float64)] + ([] if spec.nin == 1 else [float(np.float32(alpha))])
        hi = numpy_reference(name, args64)
        allowed = allowed_ulps(name, args64, hi, alpha, np.float32)
        got = fn(*args, target="cpu")
        worst = max(worst, check_accuracy(got, name, np.float32, args64, hi,
                                          np.zeros_like(hi), allowed))
    assert worst <= ULP_BOUND


# The inputs where the exhaustive float32 sweep (``python -m numelu accuracy --exhaustive``) found
# the largest errors.  The first of each pair reached 2.02 ulp (selu_derivative) and 1.88 ulp
# (selu) while SELU's constant SELU_SCALE * SELU_ALPHA was rounded to float32 before use, and
# while the exp kernels scaled by a subnormal-adjacent 2**k in one step; the second is where the
# sweep found the largest error afterwards.
HARD_FLOAT32 = [
    ("selu_derivative", -86.56578063964844), ("selu_derivative", -88.29057312011719),
    ("selu", -0.3281205892562866), ("selu", -0.3259609639644623),
    ("elu_derivative", -85.99861907958984), ("elu_derivative", -87.69805908203125),
]


@pytest.mark.parametrize(("name", "x"), HARD_FLOAT32)
def test_float32_hardest_known_inputs_within_one_ulp(name, x, target):
    alpha = [1.0] if BY_NAME[name].has_alpha else []
    with mpmath.workprec(120):
        exact = mpmath_value(name, [float(np.float32(x)), *alpha])
        exponent = max(int(mpmath.floor(mpmath.log(abs(exact), 2))), -126)
        args = [np.full(5, x, np.float32), *alpha]
        got = call(name, args, target)
        error = abs(mpmath.mpf(float(got[0])) - exact) / mpmath.ldexp(1, exponent - 23)
    assert float(error) <= 1.0, (name, x, float(error))


# CELU divides by alpha: a rounded 1/alpha, or x/alpha rounded before exp, costs 80-150 ulp
# (docs/contract.md §3).  Alphas whose reciprocal is inexact, inputs where exp(x/alpha) is large
# enough for the quotient's rounding error to show.
@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("alpha", (0.1, 0.3, 3.7, 10.0, 0.7, 1.3, 5.9))
@pytest.mark.parametrize("name", ("celu", "celu_derivative", "celu_backward"))
def test_celu_quotient_stays_within_two_ulp(name, alpha, dtype, target):
    rng = np.random.default_rng(7)
    q = np.concatenate([rng.uniform(-88.0, -10.0, 400), rng.uniform(-10.0, 0.0, 200)])
    x = to_dtype(q * alpha, dtype)
    spec = BY_NAME[name]
    args = [x, alpha] if spec.nin == 2 else [np.ones_like(x), x, alpha]
    args64 = [a.astype(np.float64) if isinstance(a, np.ndarray) else float(dtype(a))
              for a in args]
    if dtype == np.float64:
        hi, frac = mp_reference(name, args64)
    else:
        hi, frac = numpy_reference(name, args64), np.zeros(x.shape)
    allowed = allowed_ulps(name, args64, hi, alpha, dtype)
    got = call(name, args, target)
    check_accuracy(got, name, dtype, args64, hi, frac, allowed)


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("alpha", (-1.0, -0.5, -2.0, -0.2, -0.0133))
@pytest.mark.parametrize("name", ("celu", "celu_derivative", "celu_backward"))
def test_celu_negative_alpha_up_to_overflow(name, alpha, dtype, target):
    """CELU takes any nonzero alpha: a negative one makes x / alpha positive, so exp and expm1
    run up to the overflow threshold and past it.  Within the bound up to the true overflow
    point (2**k alone is beyond the float range there, and for |alpha| < 1 CELU's product is
    back in range well past exp's own overflow); inf past it, with NumPy's overflow error for
    those elements only."""
    factor = abs(float(dtype(alpha))) if name == "celu" else 1.0
    edge = math.log(float(np.finfo(dtype).max)) - math.log(factor)   # where |result| overflows
    rng = np.random.default_rng(5)
    q = np.concatenate([rng.uniform(0.0, edge, 300), rng.uniform(edge - 1.5, edge + 1.5, 300)])
    x = to_dtype(q * alpha, dtype)
    args = [x, alpha] if BY_NAME[name].nin == 2 else [np.ones_like(x), x, alpha]
    args64 = [a.astype(np.float64) if isinstance(a, np.ndarray) else float(dtype(a))
              for a in args]
    if dtype == np.float64:
        hi, frac = mp_reference(name, args64)
    else:
        hi, frac = numpy_reference(name, args64), np.zeros(x.shape)
    allowed = allowed_ulps(name, args64, hi, alpha, dtype)
    got = call(name, args, target)
    check_accuracy(got, name, dtype, args64, hi, frac, allowed)
    with np.errstate(over="ignore"):
        overflows = np.isinf(hi.astype(dtype))
    assert overflows.any() and not overflows.all()
    finite = [a[~overflows] if isinstance(a, np.ndarray) else a for a in args]
    with np.errstate(all="raise"):
        getattr(numelu, name)(*finite, target=target)           # no error where it is finite
        with pytest.raises(FloatingPointError, match="overflow"):
            getattr(numelu, name)(*args, target=target)


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("which", ["min normal", "smallest subnormal"])
def test_celu_tiny_negative_alpha_up_to_overflow(which, dtype, target):
    """|alpha| at the bottom of the float range: a finite CELU result needs x / alpha up to
    ln(max / |alpha|), past exp's own overflow by the whole exponent range (192 in float32,
    1454 in float64); within the bound up to there, inf with the overflow error past it."""
    info = np.finfo(dtype)
    alpha = -float(info.tiny if which == "min normal" else info.smallest_subnormal)
    edge = math.log(float(info.max)) - math.log(-alpha)
    q = np.concatenate([np.linspace(edge - 40.0, edge - 1e-3, 200), np.linspace(edge + 1e-3, edge + 5, 20)])
    x = to_dtype(q * alpha, dtype)
    x = x[x < 0]
    args64 = [x.astype(np.float64), alpha]
    hi, frac = mp_reference("celu", args64)
    got = call("celu", [x, dtype(alpha)], target)
    check_accuracy(got, "celu", dtype, args64, hi, frac, allowed_ulps("celu", args64, hi, alpha, dtype))
    with np.errstate(over="ignore"):
        overflows = np.isinf(hi.astype(dtype))
    assert overflows.any() and not overflows.all()
    with np.errstate(all="raise"):
        numelu.celu(x[~overflows], dtype(alpha), target=target)
        with pytest.raises(FloatingPointError, match="overflow"):
            numelu.celu(x, dtype(alpha), target=target)


@pytest.mark.parametrize("dtype", (np.float16, np.float32, np.float64), ids=lambda d: d.__name__)
def test_celu_derivative_far_past_overflow_is_inf(dtype, target):
    """exp(x / alpha) with x / alpha far beyond the kernels' range (up to 1e33): +inf and the
    overflow error, never NaN (the clamped argument's low part once turned it into NaN)."""
    x = -np.array([1e4, 2e4, 3e4, 6e4] if dtype == np.float16 else [1e4, 1e9, 1e17, 1e30], dtype)
    alpha = dtype(-0.001 if dtype == np.float16 else -3.0)
    for name, args in (("celu_derivative", [x, alpha]), ("celu_backward", [np.ones_like(x), x, alpha])):
        got = call(name, args, target)
        np.testing.assert_array_equal(got, np.full(x.shape, np.inf, dtype))
        with np.errstate(all="raise"), pytest.raises(FloatingPointError, match="overflow"):
            getattr(numelu, name)(*args, target=target)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("alpha", (1.0, 2.0))
@pytest.mark.parametrize("name", [s.name for s in FUNCTIONS
                                  if kind_of(s.name) == "from_output" and s.has_alpha])
def test_from_output_exact_where_the_sum_is_exact(name, alpha, dtype, target):
    """y a multiple of 2**-10 in [-alpha, 0], alpha 1 or 2: y + alpha and y/alpha + 1 are exact."""
    y = (-np.arange(0, int(1024 * alpha) + 1) / 1024.0).astype(dtype)
    got = call(name, [y, alpha], target)
    y64 = y.astype(np.float64)
    expected = y64 + alpha if name.startswith("elu") else y64 / alpha + 1.0
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.astype(np.float64), expected)
    assert got[-1] == 0 and got[0] == (alpha if name.startswith("elu") else 1.0)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", [s.name for s in FUNCTIONS], ids=str)
def test_every_loop_path_gives_the_same_bits(name, dtype, target, spec):
    """Contiguous data with a scalar alpha, a full alpha array, and strided views (the general
    loop) all evaluate the same formula: identical results."""
    rng = np.random.default_rng(3)
    n = 1001
    main = to_dtype(rng.uniform(-30, 5, n), dtype)
    grad = to_dtype(rng.uniform(-3, 3, main.size), dtype)
    alpha = 0.3

    def build(layout):
        args = []
        for input_name in spec.inputs:
            if input_name == "alpha":
                full = np.full(main.size, alpha, dtype)
                args.append({"scalar": alpha, "array": full,
                             "strided": np.repeat(full, 2)[::2]}[layout])
                continue
            data = grad if input_name == "grad" else main
            if layout == "strided":
                wide = np.zeros(2 * data.size, dtype)
                wide[::2] = data
                data = wide[::2]
            args.append(data)
        return args

    results = {layout: call(name, build(layout), target)
               for layout in ("scalar", "array", "strided")}
    np.testing.assert_array_equal(results["array"], results["scalar"])
    np.testing.assert_array_equal(results["strided"], results["scalar"])


# --------------------------------------------------------------------------- 2. properties


def _draw_case(data, spec, dtype):
    """Random finite inputs: x anywhere (bounded where a legitimate overflow would occur), alpha
    in [1/16, 20], grad moderate, y in the range of the forward function and beyond."""
    fmax = float(np.finfo(dtype).max)
    if spec.name.startswith("selu") and kind_of(spec.name) == "forward":
        main_elements = finite_floats(dtype, max_value=fmax / 2)        # SELU_SCALE * x stays finite
    else:
        main_elements = finite_floats(dtype)
    if kind_of(spec.name) == "from_output":
        main_elements = finite_floats(dtype, min_value=-25.0, max_value=1e6)
    main = data.draw(hnp.arrays(dtype, st.integers(1, 24), elements=main_elements), label="x")
    alpha = data.draw(finite_floats(dtype, min_value=ALPHA_MIN, max_value=20.0), label="alpha")
    args = []
    for input_name in spec.inputs:
        if input_name == "alpha":
            args.append(dtype(alpha))
        elif input_name == "grad":
            args.append(data.draw(hnp.arrays(dtype, main.shape,
                                              elements=finite_floats(dtype, min_value=-1e6,
                                                               max_value=1e6)), label="grad"))
        else:
            args.append(main)
    target = data.draw(st.sampled_from(CPU_TARGETS), label="target")
    return args, float(alpha), target


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", [s.name for s in FUNCTIONS], ids=str)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_random_inputs_within_bounds(name, dtype, data):
    spec = BY_NAME[name]
    args, alpha, target = _draw_case(data, spec, dtype)
    args64 = [np.asarray(a, dtype=np.float64) for a in args]
    if dtype == np.float64:
        hi, frac = mp_reference(name, args64)
    else:
        hi, frac = numpy_reference(name, args64), np.zeros(np.shape(args[0]))
    allowed = allowed_ulps(name, args64, hi, alpha if spec.has_alpha else None, dtype)
    got = call(name, args, target)
    check_accuracy(got, name, dtype, args64, np.asarray(hi), np.asarray(frac), allowed)


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", ("elu", "celu"))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_identity_for_positive_x(name, dtype, data):
    """elu(x, a) == x and celu(x, a) == x exactly for x > 0, whatever alpha (nonzero)."""
    x = data.draw(hnp.arrays(dtype, st.integers(1, 24),
                             elements=finite_floats(dtype, min_value=0.0, exclude_min=True)))
    alpha = data.draw(finite_floats(dtype, min_value=-20.0, max_value=20.0).filter(lambda a: a != 0))
    target = data.draw(st.sampled_from(CPU_TARGETS))
    got = call(name, [x, alpha], target)
    np.testing.assert_array_equal(got, x)


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", [s.name for s in FUNCTIONS if kind_of(s.name) == "derivative"])
@PROPERTY_SETTINGS
@given(data=st.data())
def test_derivative_range(name, dtype, data):
    """0 <= d <= max(1, alpha) for alpha > 0 (celu: <= 1; selu: <= SELU_SCALE * SELU_ALPHA)."""
    x = data.draw(hnp.arrays(dtype, st.integers(1, 24), elements=finite_floats(dtype)))
    alpha = data.draw(finite_floats(dtype, min_value=ALPHA_MIN, max_value=20.0))
    target = data.draw(st.sampled_from(CPU_TARGETS))
    spec = BY_NAME[name]
    got = call(name, [x, alpha] if spec.has_alpha else [x], target)
    top = {"elu": max(1.0, float(alpha)), "celu": 1.0,
           "selu": float(dtype(SAS64)) * (1 + 2.0 ** -20)}[name.split("_")[0]]
    assert np.all(got >= 0), got
    assert np.all(got <= top), (got, top)


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", [s.name for s in FUNCTIONS if kind_of(s.name) == "backward"])
@PROPERTY_SETTINGS
@given(data=st.data())
def test_backward_is_grad_times_derivative(name, dtype, data):
    """backward(g, x) and g * derivative(x) differ by at most one rounding of the product."""
    spec = BY_NAME[name]
    args, _, target = _draw_case(data, spec, dtype)
    got = call(name, args, target)
    d = call(derivative_of(name), args[1:], target)
    with np.errstate(over="ignore"):
        product = (args[0] * d).astype(dtype)
    assert got.dtype == dtype
    one_ulp = np.ldexp(1.0, ulp_exponent(product, dtype))
    assert np.all(np.abs(got.astype(np.float64) - product) <= one_ulp), (got, product)


# --------------------------------------------------------------------------- 4. numelu.scalar


def _njit_caller(formula, nin: int):
    """A user's own @njit loop calling the scalar formula."""
    if nin == 1:
        @numba.njit
        def run1(a, b, c, out):
            for i in range(out.size):
                out[i] = formula(a[i])
        return run1
    if nin == 2:
        @numba.njit
        def run2(a, b, c, out):
            for i in range(out.size):
                out[i] = formula(a[i], b[i])
        return run2

    @numba.njit
    def run3(a, b, c, out):
        for i in range(out.size):
            out[i] = formula(a[i], b[i], c[i])
    return run3


def _scalar_inputs(spec, dtype):
    rng = np.random.default_rng(11)
    main = np.concatenate([rng.uniform(-40, 3, 60), [-0.0, 0.0, -1e-30, -100.0, -1e4]])
    if kind_of(spec.name) == "from_output":
        main = np.concatenate([rng.uniform(-0.7, 0, 60), [-0.0, 0.0, -0.7, 2.0]])
    main = main.astype(dtype)
    out = []
    for input_name in spec.inputs:
        if input_name == "alpha":
            out.append(np.full(main.shape, 0.7, dtype))
        elif input_name == "grad":
            out.append(rng.uniform(-2, 2, main.size).astype(dtype))
        else:
            out.append(main)
    return out


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", [s.name for s in FUNCTIONS], ids=str)
def test_scalar_formulas_from_users_njit_code(name, dtype, spec):
    """numelu.scalar.<name> inside a user's @njit function: the ufunc's bits exactly."""
    formula = getattr(scalar, name)
    inputs = _scalar_inputs(spec, dtype)
    padded = inputs + [inputs[0]] * (3 - len(inputs))
    out = np.empty(inputs[0].shape, dtype)
    _njit_caller(formula, spec.nin)(*padded, out)
    expected = getattr(numelu, name)(*inputs, target="cpu")
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", [s.name for s in FUNCTIONS], ids=str)
def test_scalar_formulas_from_python(name, dtype, spec):
    """numelu.scalar.<name> on Python/NumPy scalars: the dtype kept, and the value within the
    contract's bound of the exact value (plain Python uses libm's exp/expm1 and rounds alpha's product
    twice); the ufunc on the same inputs within numelu's own 1 ulp."""
    formula = getattr(scalar, name)
    inputs = _scalar_inputs(spec, dtype)
    got = []
    for values in zip(*inputs, strict=True):
        scalars = [dtype(v) for v in values]
        if dtype == np.float64:
            scalars = [float(v) for v in scalars]    # plain Python floats
        result = formula(*scalars)
        assert isinstance(result, float if dtype == np.float64 else np.float32), type(result)
        got.append(result)
    got = np.array(got, dtype=dtype)
    args64 = [a.astype(np.float64) for a in inputs]
    if dtype == np.float64:
        hi, frac = mp_reference(name, args64)
    else:
        hi, frac = numpy_reference(name, args64), np.zeros(got.shape)
    alpha = 0.7 if spec.has_alpha else None
    python_bound = spec_ulp_bound(name, alpha)
    check_accuracy(got, name, dtype, args64, hi, frac,
                   allowed_ulps(name, args64, hi, alpha, dtype, python_bound))
    ufunc = getattr(numelu, name)(*inputs, target="cpu")
    check_accuracy(ufunc, name, dtype, args64, hi, frac, allowed_ulps(name, args64, hi, alpha, dtype))
