"""The scalar formulas of numelu, written once and used by every target.

Each function here is a plain Python function that Numba can also compile (``register_jitable``):
call it from Python, from your own ``@numba.njit`` code, or from ``@numba.cuda.jit`` kernels.  On
the CPU, ``exp``/``expm1`` compile to numelu's vectorisable kernels; on CUDA to libdevice's.

Every formula is compiled with ``forceinline`` (LLVM's ``alwaysinline``): a loop over a formula
vectorises only when the whole formula is inlined into it.

Branches are written as selects over values computed for every input (the exp is evaluated on a
clamped argument), so that LLVM can vectorise a loop over them, and so that NaN propagates:
a NaN input takes neither the ``x > 0`` nor the ``x <= 0`` branch and comes out as itself.

Example::

    import numba, numelu.scalar as S

    @numba.njit
    def my_elu_sum(xs, alpha):
        total = 0.0
        for x in xs:
            total += S.elu(x, alpha)
        return total
"""

from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.core.extending import overload, register_jitable

from numelu._mathfn import (
    exp_hilo,
    fma,
    nonpositive_part,
    scaled_exp,
    scaled_exp_pair,
    scaled_expm1,
    scaled_expm1_hilo,
    scaled_expm1_pair,
    select,
)

#: SELU's alpha (Klambauer et al. 2017), as PyTorch uses it.
SELU_ALPHA = 1.6732632423543772848170429916717
#: SELU's scale (Klambauer et al. 2017), as PyTorch uses it.
SELU_SCALE = 1.0507009873554804934193349852946
#: ``SELU_SCALE * SELU_ALPHA``, rounded once (in float64 and, separately, in float32).
SELU_SCALE_ALPHA = 1.7580993408473768


def _product_rounding_errors() -> tuple[float, float]:
    """``SELU_SCALE * SELU_ALPHA`` (exact, from the decimals above) minus its float32 and its
    float64 rounding: the low halves the SELU kernels add back."""
    from decimal import Decimal
    from fractions import Fraction

    exact = (Fraction(Decimal("1.0507009873554804934193349852946"))
             * Fraction(Decimal("1.6732632423543772848170429916717")))
    lo32 = float(np.float32(float(exact - Fraction(float(np.float32(SELU_SCALE_ALPHA))))))
    lo64 = float(exact - Fraction(SELU_SCALE_ALPHA))
    return lo32, lo64


_SELU_SCALE_ALPHA_LO32, _SELU_SCALE_ALPHA_LO64 = _product_rounding_errors()


def selu_scale_alpha_lo(like):
    """The rounding error of ``SELU_SCALE_ALPHA`` in ``like``'s float type."""
    lo = _SELU_SCALE_ALPHA_LO32 if isinstance(like, np.float32) else _SELU_SCALE_ALPHA_LO64
    return type(like)(lo)


@overload(selu_scale_alpha_lo, target="generic")
def _selu_scale_alpha_lo_ov(like):
    if like == types.float32:
        lo32 = np.float32(_SELU_SCALE_ALPHA_LO32)
        return lambda like: lo32
    if like == types.float64:
        lo64 = np.float64(_SELU_SCALE_ALPHA_LO64)
        return lambda like: lo64

__all__ = [
    "SELU_ALPHA", "SELU_SCALE", "celu", "celu_backward", "celu_derivative",
    "celu_derivative_from_output", "elu", "elu_backward", "elu_derivative",
    "elu_derivative_from_output", "selu", "selu_backward", "selu_derivative",
    "selu_derivative_from_output",
]


def const(value, like):
    """``value`` as a number of ``like``'s type (so float32 code stays float32)."""
    return type(like)(value)


@overload(const, target="generic")
def _const_ov(value, like):
    if isinstance(like, types.Float):
        cast = np.dtype(str(like)).type
        return lambda value, like: cast(value)


@register_jitable(forceinline=True)
def _select_nonpositive(x, value_if_positive, value_if_nonpositive):
    """``value_if_positive`` where x > 0, ``value_if_nonpositive`` where x <= 0, x where NaN."""
    tail = select(x <= const(0.0, x), value_if_nonpositive, x)
    return select(x > const(0.0, x), value_if_positive, tail)


@register_jitable(forceinline=True)
def _quotient(x, alpha):
    """``x / alpha`` as an unevaluated sum ``q + q_lo`` (exact to twice the working precision)."""
    q = x / alpha
    q_lo = fma(-q, alpha, x) / alpha
    finite = abs(q_lo) < const(math.inf, x)
    return q, select(finite, q_lo, const(0.0, x))


# --------------------------------------------------------------------------- forward


@register_jitable(forceinline=True)
def elu(x, alpha):
    """ELU: ``alpha * expm1(x)`` if ``x < 0`` else ``x`` (zeros keep their sign)."""
    negative_part = scaled_expm1(nonpositive_part(x), alpha)
    return select(x < const(0.0, x), negative_part, x)


@register_jitable(forceinline=True)
def selu(x):
    """SELU: ``SELU_SCALE * elu(x, SELU_ALPHA)``."""
    # SELU_SCALE * SELU_ALPHA carried to twice the precision: its float32 rounding alone costs
    # up to half an ulp of the result
    negative_part = scaled_expm1_pair(nonpositive_part(x), const(SELU_SCALE_ALPHA, x),
                                      selu_scale_alpha_lo(x))
    return select(x < const(0.0, x), negative_part, const(SELU_SCALE, x) * x)


@register_jitable(forceinline=True)
def celu(x, alpha):
    """CELU: ``alpha * expm1(x / alpha)`` if ``x < 0`` else ``x``."""
    q, q_lo = _quotient(x, alpha)
    negative_part = scaled_expm1_hilo(q, q_lo, alpha)
    # |x / alpha| < 2**-60: celu(x) = x * (1 + q/2 + ...) rounds to x; and x / alpha may be
    # subnormal there, where alpha * (x / alpha) would bring back its rounding error times alpha.
    negative_part = select(abs(q) < const(2.0**-60, x), x, negative_part)
    return select(x < const(0.0, x), negative_part, x)


# --------------------------------------------------------------------------- derivatives


@register_jitable(forceinline=True)
def elu_derivative(x, alpha):
    """d elu / dx: ``1`` if ``x > 0`` else ``alpha * exp(x)`` (``alpha`` at both zeros)."""
    return _select_nonpositive(x, const(1.0, x), scaled_exp(nonpositive_part(x), alpha))


@register_jitable(forceinline=True)
def selu_derivative(x):
    """d selu / dx: ``SELU_SCALE`` if ``x > 0`` else ``SELU_SCALE * SELU_ALPHA * exp(x)``."""
    e = scaled_exp_pair(nonpositive_part(x), const(SELU_SCALE_ALPHA, x), selu_scale_alpha_lo(x))
    return _select_nonpositive(x, const(SELU_SCALE, x), e)


@register_jitable(forceinline=True)
def celu_derivative(x, alpha):
    """d celu / dx: ``1`` if ``x > 0`` else ``exp(x / alpha)``."""
    q, q_lo = _quotient(x, alpha)
    e = exp_hilo(q, q_lo)
    e = select(q == q, e, q)         # NaN alpha: NaN (the exp kernel clamps a NaN argument)
    return _select_nonpositive(x, const(1.0, x), e)


@register_jitable(forceinline=True)
def elu_derivative_from_output(y, alpha):
    """d elu / dx from the output y: ``1`` if ``y > 0`` else ``y + alpha``.

    Needs ``alpha >= 0``.  Exact where ``y + alpha`` is; returns 0 once ``y`` has rounded to
    ``-alpha`` (x below about -17.3 in float32, -37.4 in float64, for alpha = 1), where
    ``elu_derivative(x)`` still has its true tiny value.
    """
    return _select_nonpositive(y, const(1.0, y), y + alpha)


@register_jitable(forceinline=True)
def selu_derivative_from_output(y):
    """d selu / dx from the output y: ``SELU_SCALE`` if ``y > 0`` else ``y + SELU_SCALE*SELU_ALPHA``.

    Returns 0 once ``y`` has rounded to ``-SELU_SCALE*SELU_ALPHA`` (very negative x).
    """
    return _select_nonpositive(y, const(SELU_SCALE, y), y + const(SELU_SCALE_ALPHA, y))


@register_jitable(forceinline=True)
def celu_derivative_from_output(y, alpha):
    """d celu / dx from the output y: ``1`` if ``y > 0`` else ``y / alpha + 1``.

    Needs ``alpha > 0``.  Returns 0 once ``y`` has rounded to ``-alpha`` (very negative x).
    """
    return _select_nonpositive(y, const(1.0, y), y / alpha + const(1.0, y))


# --------------------------------------------------------------------------- backward (VJP)


@register_jitable(forceinline=True)
def elu_backward(grad, x, alpha):
    """``grad * elu_derivative(x, alpha)`` in one pass."""
    return grad * elu_derivative(x, alpha)


@register_jitable(forceinline=True)
def selu_backward(grad, x):
    """``grad * selu_derivative(x)`` in one pass."""
    return grad * selu_derivative(x)


@register_jitable(forceinline=True)
def celu_backward(grad, x, alpha):
    """``grad * celu_derivative(x, alpha)`` in one pass."""
    return grad * celu_derivative(x, alpha)
