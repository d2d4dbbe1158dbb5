"""The math functions ``numelu.scalar`` calls, with their plain-Python semantics.

Each is a stub with one implementation per target: here, plain float64 arithmetic on libm's
exp/expm1 (with Fraction or 40-digit Decimal arithmetic where a result must be rounded once);
on the CPU, numelu's vectorisable kernels (``_exp_kernels``, registered by ``_math_cpu``); on
CUDA, libdevice (``_cuda.math_overloads``).  "Rounded once" in the docstrings describes the
compiled kernels.  The ``*_hilo`` stubs take an argument as an unevaluated sum ``x + x_lo``
(CELU passes ``x / alpha`` and its rounding error), the ``*_pair`` stubs a constant factor
given to twice the working precision.
"""

from __future__ import annotations

import math
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    localcontext,
)

import numpy as np
from numba import types
from numba.core.extending import overload


def _like(x, value: float):
    """``value`` as a number of ``x``'s type; overflow to inf is not an error (as on the CPU)."""
    with np.errstate(over="ignore"):
        return type(x)(value)


def _call(fn, value: float) -> float:
    try:
        return fn(value)
    except OverflowError:      # math.exp/expm1 raise where the result is beyond the float range
        return math.inf


def _decimal_context():
    """40 significant digits and the widest exponent range, overflow giving Infinity (not an
    exception): the plain-Python fallback of the scaled exponentials."""
    return localcontext(Context(prec=40, Emax=MAX_EMAX, Emin=MIN_EMIN,
                                traps=[InvalidOperation, DivisionByZero]))


def expm1(x):
    """``exp(x) - 1`` without cancellation near 0."""
    return _like(x, _call(math.expm1, float(x)))


def exp(x):
    """``exp(x)``."""
    return _like(x, _call(math.exp, float(x)))


def expm1_hilo(x, x_lo):
    """``expm1(x + x_lo)`` for a correction ``|x_lo| <= ulp(x)/2``.

    ``x + x_lo`` would round the correction away (CELU's ``x / alpha`` then loses up to |x|/2
    ulp), so it is applied to first order: ``expm1(x) + (expm1(x) + 1) * x_lo``."""
    e = _call(math.expm1, float(x))
    if math.isfinite(e):
        e += (e + 1.0) * float(x_lo)
    return _like(x, e)


def exp_hilo(x, x_lo):
    """``exp(x + x_lo)`` for a correction ``|x_lo| <= ulp(x)/2``: ``exp(x) * (1 + x_lo)``."""
    e = _call(math.exp, float(x))
    if math.isfinite(e):
        e += e * float(x_lo)
    return _like(x, e)


def exp_hilo_wide(x, x_lo):
    """:func:`exp_hilo` over the whole range of ``x`` on the CPU (the narrow kernel returns inf
    0.35 before exp's overflow): for a second look at the few results that need it."""
    return exp_hilo(x, x_lo)


def exp_hilo_nonpositive(x, x_lo):
    """:func:`exp_hilo` for ``x <= 0`` (or NaN) only: CELU's ``x / alpha`` for a positive
    alpha, which the CPU kernel takes with no upper clamp (the compiled loops' twin for that)."""
    return exp_hilo(x, x_lo)


def fma(a, b, c):
    """``a*b + c`` rounded once."""
    from fractions import Fraction

    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return _like(a, float(a) * float(b) + float(c))   # inf/nan: no exact product needed
    return _like(a, Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c)))


def scaled_exp(x, factor):
    """``factor * exp(x)``, rounded once for a finite nonzero ``factor`` (``factor * exp(x)``
    rounds twice, and where the product is subnormal would round ``exp(x)`` to the subnormal
    grid first, then multiply that error by factor).  In plain Python: the plain product,
    except where ``exp(x)`` is below the normal range, where that is evaluated in 40-digit
    decimal arithmetic and rounded once."""
    e = _call(math.exp, float(x))
    f = float(factor)
    if e < _SMALLEST_NORMAL and math.isfinite(f) and f != 0.0 and math.isfinite(float(x)):
        with _decimal_context():
            return _like(x, float(Decimal(f) * Decimal(float(x)).exp()))
    return _like(x, f * e)


_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)


def scaled_expm1(x, factor):
    """``factor * expm1(x)``, rounded once for a finite nonzero ``factor`` (``factor *
    expm1(x)`` rounds twice: up to 1.4 ulp for ELU with alpha != 1)."""
    return _like(x, float(factor) * _call(math.expm1, float(x)))


def scaled_expm1_hilo(x, x_lo, factor):
    """``factor * expm1(x + x_lo)`` (see :func:`expm1_hilo`), rounded once like
    :func:`scaled_expm1`: CELU's ``alpha * expm1(x / alpha)``."""
    return _like(x, float(factor) * float(expm1_hilo(float(x), float(x_lo))))


def scaled_expm1_hilo_nonpositive(x, x_lo, factor):
    """:func:`scaled_expm1_hilo` for ``x <= 0`` (or NaN) only, as :func:`exp_hilo_nonpositive`."""
    return scaled_expm1_hilo(x, x_lo, factor)


def scaled_expm1_hilo_wide(x, x_lo, factor):
    """:func:`scaled_expm1_hilo` over the whole range of ``x``: past exp's own overflow a factor
    below 1 can bring the product back into range (CELU with a negative alpha).  In plain Python
    that part is evaluated in 40-digit decimal arithmetic and rounded once; compiled, numelu's
    wide CPU kernel (the fast one returns ``inf * factor`` from 0.35 before exp's overflow)."""
    e = _call(math.expm1, float(x))
    f = float(factor)
    if e == math.inf and math.isfinite(float(x)) and math.isfinite(f) and f != 0.0:
        with _decimal_context():
            value = Decimal(f) * ((Decimal(float(x)) + Decimal(float(x_lo))).exp() - 1)
        return _like(x, float(value))           # float() of a Decimal past the range: inf
    return scaled_expm1_hilo(x, x_lo, factor)


def scaled_exp_pair(x, factor, factor_lo):
    """``(factor + factor_lo) * exp(x)``: ``factor`` given to twice the working precision, as
    a constant and its rounding error (SELU's ``SELU_SCALE * SELU_ALPHA``: in float32 its
    rounding alone is up to half an ulp of the result)."""
    e = _call(math.exp, float(x))
    return _like(x, float(factor) * e + float(factor_lo) * e)


def scaled_expm1_pair(x, factor, factor_lo):
    """``(factor + factor_lo) * expm1(x)``, the factor as in :func:`scaled_exp_pair`."""
    e = _call(math.expm1, float(x))
    return _like(x, float(factor) * e + float(factor_lo) * e)


def pair_times(factor, factor_lo, x):
    """``(factor + factor_lo) * x`` rounded once: a positive constant given to twice the working
    precision (SELU's ``SELU_SCALE``) times x (``factor * x`` rounds the constant first: up to
    1.06 ulp in float32).  Needs ``factor`` rounded *down*, so that ``factor_lo >= 0``: then
    ``fma(factor, x, factor_lo * x)`` is right for every x (zeros keep their sign, inf stays
    inf: no ``inf - inf``) with no select."""
    if not math.isfinite(x) or x == 0:
        return factor * x
    from fractions import Fraction

    return _like(x, (Fraction(float(factor)) + Fraction(float(factor_lo))) * Fraction(float(x)))


def nonpositive_part(x):
    """``min(x, 0)`` (NaN gives 0): the argument of the exp branch.

    The formulas compute the exp branch for every lane and select afterwards; feeding it
    ``min(x, 0)`` keeps a discarded lane from overflowing (``alpha * expm1(x)`` for large x,
    ``0 * inf`` for alpha == 0).  On the CPU this is LLVM's ``minnum``: a compare-and-select
    would be folded by LLVM into the final select on ``x < 0``, bringing the unclamped ``x``
    back into the discarded branch.
    """
    return x if x < 0 else type(x)(0.0)


def select(condition, if_true, if_false):
    """``if_true if condition else if_false``, both already computed (a branch-free select).

    Compiled code gets one LLVM ``select`` rather than a branch and a phi node: the formulas
    stay straight-line code, which LLVM vectorises once they are inlined into a loop.
    """
    return if_true if condition else if_false



def zero_like(x):
    """0 of ``x``'s float type."""
    return type(x)(0.0)


@overload(zero_like, target="generic")
def _zero_like_compiled(x):
    if isinstance(x, types.Float):
        zero = np.dtype(str(x)).type(0.0)
        return lambda x: zero
