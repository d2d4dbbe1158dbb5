"""The scalar formulas of numelu, written once and used by every target.

Each is a plain Python function that Numba can also compile (``register_jitable``, inlined by
LLVM so that a loop over it vectorises): call it from Python, from your own ``@numba.njit`` code
or from ``@numba.cuda.jit`` kernels; ``exp``/``expm1`` compile to numelu's vectorisable kernels
on the CPU and to libdevice on CUDA.  Arguments are promoted as NumPy promotes them (NEP 50;
integers and bools alone as float64).  Branches are selects over values computed for every
input (the exp on a clamped argument), so that loops vectorise and a NaN comes out as itself.
The CELU formulas cover CELU's whole domain (a negative alpha makes ``x / alpha`` positive); the
ufuncs run fast twins (``FAST``; ``FAST_POSITIVE_ALPHA`` for one positive alpha) and compute
again the few results those leave inf or NaN.

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
from decimal import Decimal
from fractions import Fraction

import numpy as np
from numba import types
from numba.core.extending import overload, register_jitable

# the compiled implementations of the stubs, registered on import (no numba.cuda imported)
from numelu import _math_cpu  # noqa: F401
from numelu._constants import SELU_ALPHA, SELU_ALPHA_DECIMAL, SELU_SCALE, SELU_SCALE_DECIMAL
from numelu._cuda import math_overloads  # noqa: F401
from numelu._math_stubs import (
    exp_hilo,
    exp_hilo_nonpositive,
    exp_hilo_wide,
    fma,
    nonpositive_part,
    pair_times,
    scaled_exp,
    scaled_exp_pair,
    scaled_expm1,
    scaled_expm1_hilo,
    scaled_expm1_hilo_nonpositive,
    scaled_expm1_hilo_wide,
    scaled_expm1_pair,
    select,
)

__all__ = [
    "SELU_ALPHA", "SELU_SCALE", "celu", "celu_backward", "celu_derivative",
    "celu_derivative_from_output", "elu", "elu_backward", "elu_derivative",
    "elu_derivative_from_output", "selu", "selu_backward", "selu_derivative",
    "selu_derivative_from_output",
]


def _nearest(exact: Fraction) -> tuple[float, float]:
    """``exact`` rounded to float32 and to float64 (each returned as a Python float)."""
    hi64 = float(exact)
    return float(np.float32(hi64)), hi64   # float64 -> float32: no tie at these constants


def _below(exact: Fraction) -> tuple[float, float]:
    """The largest float32 and float64 not above ``exact`` (a positive constant)."""
    return tuple(float(h if Fraction(float(h)) <= exact else np.nextafter(h, h.dtype.type(0)))
                 for h in (np.float32(float(exact)), np.float64(float(exact))))


def _remainders(exact: Fraction, his: tuple[float, float]) -> tuple[float, float]:
    """``exact - hi`` for the float32 and the float64 ``hi``, each rounded to its own type."""
    return tuple(float(t(float(exact - Fraction(h)))) for t, h in zip((np.float32, np.float64), his,
                                                                      strict=True))


def _typed(value32: float, value64: float, what: str):
    """A function ``value(like)``: ``what`` as a number of ``like``'s float type, in plain
    Python and in compiled code of any target."""

    def value(like):
        return type(like)(value32 if isinstance(like, np.float32) else value64)

    @overload(value, target="generic")
    def _value_ov(like):
        if like == types.float32:
            constant32 = np.float32(value32)
            return lambda like: constant32
        if like == types.float64:
            constant64 = np.float64(value64)
            return lambda like: constant64

    value.__doc__ = f"{what} in ``like``'s float type."
    return value


_SCALE_EXACT = Fraction(Decimal(SELU_SCALE_DECIMAL))
_SCALE_ALPHA_EXACT = _SCALE_EXACT * Fraction(Decimal(SELU_ALPHA_DECIMAL))
#: ``SELU_SCALE * SELU_ALPHA`` from the exact decimals, rounded once (float64; the float32
#: kernels use its own float32 rounding, and add back that rounding's error).
SELU_SCALE_ALPHA = _nearest(_SCALE_ALPHA_EXACT)[1]
_selu_scale_alpha_lo = _typed(*_remainders(_SCALE_ALPHA_EXACT, _nearest(_SCALE_ALPHA_EXACT)),
                              "The rounding error of ``SELU_SCALE * SELU_ALPHA``")
_selu_scale_below = _typed(*_below(_SCALE_EXACT), "``SELU_SCALE`` rounded down")
_selu_scale_below_lo = _typed(*_remainders(_SCALE_EXACT, _below(_SCALE_EXACT)),
                              "``SELU_SCALE`` minus its rounded-down value (>= 0)")


def _as_float(value):
    """``value`` as a float: integers and bools become float64, as NumPy casts them for these
    functions; floats (float16/32/64) are returned unchanged."""
    if isinstance(value, (bool, int, np.integer, np.bool_)):
        return float(value)
    return value


@overload(_as_float, target="generic")
def _as_float_ov(value):
    if isinstance(value, types.Float):
        return lambda value: value
    if isinstance(value, (types.Integer, types.Boolean)):
        return lambda value: np.float64(value)


def _as_floats2(a, b):
    """``a`` and ``b`` as floats of one type: NumPy's promotion of theirs (NEP 50: a Python
    float or int beside a NumPy float takes that float's type); integers and bools alone become
    float64.  In compiled code a Python float is a float64 and a Python int an int64, which
    promote a float32, as in NumPy."""
    return _promote(a, b)


def _as_floats3(a, b, c):
    """:func:`_as_floats2` for three values."""
    return _promote(a, b, c)


def _promote(*values):
    target = np.result_type(*values)        # NEP 50: Python scalars are weak, NumPy's are not
    kind = target.type if target.kind == "f" else np.float64
    if kind is np.float64:                  # Python floats stay Python floats
        return tuple(v if type(v) in (float, np.float64) else float(v) for v in values)
    return tuple(v if type(v) is kind else kind(v) for v in values)


def _common_float(*value_types):
    """The float type numelu computes values of ``value_types`` (numba types) in, as NumPy
    promotes their dtypes (integers and bools alone: float64), or None."""
    if not all(isinstance(t, (types.Float, types.Integer, types.Boolean)) for t in value_types):
        return None
    target = np.result_type(*(np.dtype(str(t)) for t in value_types))
    return target.type if target.kind == "f" else np.float64


@overload(_as_floats2, target="generic")
def _as_floats2_ov(a, b):
    cast = _common_float(a, b)
    if cast is not None:
        return lambda a, b: (cast(a), cast(b))


@overload(_as_floats3, target="generic")
def _as_floats3_ov(a, b, c):
    cast = _common_float(a, b, c)
    if cast is not None:
        return lambda a, b, c: (cast(a), cast(b), cast(c))


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
def _quotient_unchecked(x, alpha, infinite_alpha_is_nan):
    """``x / alpha`` as ``q + q_lo`` like :func:`_quotient`, for the compiled loops' fast twins:
    without a division per element (``1/alpha`` is computed once for a loop over one alpha),
    and NaN where ``1/alpha`` is infinite (alpha 0 or subnormal), whose ``inf - inf`` raises the
    flag that has the loops compute those results again with the checked formula; likewise for
    an infinite alpha where ``infinite_alpha_is_nan`` (a constant: CELU itself, whose formula
    gives ``inf * expm1(-0.0)`` there, NaN; its derivative's ``exp(-0.0)`` is 1).

    ``q = x * (1/alpha)`` may differ from the rounded quotient by an ulp, but the exact remainder
    ``x - q*alpha`` (one FMA), scaled by the same reciprocal, repairs that to second order: the
    sum is the quotient to about twice the working precision, as :func:`_quotient`'s (also for a
    huge alpha, whose reciprocal is subnormal: its error enters only times the remainder)."""
    inv = const(1.0, x) / alpha
    mark = inv - inv                 # 0, or NaN for an infinite reciprocal: into q, which the
    if infinite_alpha_is_nan:        # kernels' clamp passes on (a NaN q_lo would be dropped)
        mark = mark + (alpha - alpha)
    q = fma(x, inv, mark)
    return q, fma(-q, alpha, x) * inv


@register_jitable(forceinline=True)
def _quotient(x, alpha, infinite_alpha_is_nan):
    """``x / alpha`` as an unevaluated sum ``q + q_lo`` (exact to twice the working precision);
    ``q`` NaN for an infinite alpha where ``infinite_alpha_is_nan`` (:func:`_quotient_unchecked`).

    The remainder ``x - q*alpha`` (exact by the FMA) is scaled by ``1/alpha``, which a loop over
    one alpha computes once: a division per element fewer, and the rounded reciprocal costs
    nothing here (its error is a fraction of an ulp of ``q_lo``, itself below an ulp of ``q``).
    Where ``1/alpha`` overflows (a subnormal alpha) ``q_lo`` is dropped as non-finite."""
    q = x / alpha
    if infinite_alpha_is_nan:
        q = q + (alpha - alpha)
    q_lo = fma(-q, alpha, x) * (const(1.0, x) / alpha)
    finite = abs(q_lo) < const(math.inf, x)
    return q, select(finite, q_lo, const(0.0, x))


# --------------------------------------------------------------------------- forward


@register_jitable(forceinline=True)
def elu(x, alpha):
    """ELU: ``alpha * expm1(x)`` if ``x < 0`` else ``x`` (zeros keep their sign)."""
    x, alpha = _as_floats2(x, alpha)
    negative_part = scaled_expm1(nonpositive_part(x), alpha)
    return select(x < const(0.0, x), negative_part, x)


@register_jitable(forceinline=True)
def selu(x):
    """SELU: ``SELU_SCALE * elu(x, SELU_ALPHA)``."""
    x = _as_float(x)
    # SELU_SCALE * SELU_ALPHA carried to twice the precision: its float32 rounding alone costs
    # up to half an ulp of the result
    negative_part = scaled_expm1_pair(nonpositive_part(x), const(SELU_SCALE_ALPHA, x),
                                      _selu_scale_alpha_lo(x))
    # SELU_SCALE carried to twice the precision too: const(SELU_SCALE, x) * x rounds twice
    positive_part = pair_times(_selu_scale_below(x), _selu_scale_below_lo(x), x)
    return select(x < const(0.0, x), negative_part, positive_part)


def _celu_with(scaled_expm1_kernel, quotient):
    """CELU on the given ``scaled_expm1_hilo`` kernel and quotient (the fast ones, or the wide
    kernel and the checked quotient that the compiled loops use for a second look at the rare
    results the fast ones leave non-finite)."""

    @register_jitable(forceinline=True)
    def celu(x, alpha):
        """CELU: ``alpha * expm1(x / alpha)`` if ``x < 0`` else ``x``."""
        x, alpha = _as_floats2(x, alpha)
        # min(x, 0): a discarded lane (x > 0, alpha > 0) gets no x / alpha past exp's range
        # an infinite alpha gives a NaN q, as its formula gives inf * expm1(-0.0), NaN
        q, q_lo = quotient(nonpositive_part(x), alpha, True)
        negative_part = scaled_expm1_kernel(q, q_lo, alpha)
        # |x / alpha| < 2**-60: celu(x) = x * (1 + q/2 + ...) rounds to x; and x / alpha may be
        # subnormal there, where alpha * (x / alpha) would bring back its rounding error times
        # alpha.
        negative_part = select(abs(q) < const(2.0**-60, x), x, negative_part)
        return select(x < const(0.0, x), negative_part, x)

    return celu


def _named(function, name: str):
    """``function`` (made by one of the factories below) under its module-level ``name``: what
    pickling by reference, ``help()`` and the docs go by."""
    function.__name__ = function.__qualname__ = name
    return function


# The public formulas run on the wide kernels: exact over CELU's whole domain in a user's own
# compiled code.  The ufunc loops run the fast twins and recompute with these the few results
# the fast ones leave inf early (``WIDE``, ``_functions.FunctionSpec.exact``).
celu = _named(_celu_with(scaled_expm1_hilo_wide, _quotient), "celu")
_celu_fast = _named(_celu_with(scaled_expm1_hilo, _quotient_unchecked), "_celu_fast")
# for a positive alpha, x / alpha <= 0: no upper clamp and no overflow marker
_celu_fast_positive = _named(_celu_with(scaled_expm1_hilo_nonpositive, _quotient_unchecked),
                             "_celu_fast_positive")


# --------------------------------------------------------------------------- derivatives


@register_jitable(forceinline=True)
def elu_derivative(x, alpha):
    """d elu / dx: ``1`` if ``x > 0`` else ``alpha * exp(x)`` (``alpha`` at both zeros)."""
    x, alpha = _as_floats2(x, alpha)
    return _select_nonpositive(x, const(1.0, x), scaled_exp(nonpositive_part(x), alpha))


@register_jitable(forceinline=True)
def selu_derivative(x):
    """d selu / dx: ``SELU_SCALE`` if ``x > 0`` else ``SELU_SCALE * SELU_ALPHA * exp(x)``."""
    x = _as_float(x)
    e = scaled_exp_pair(nonpositive_part(x), const(SELU_SCALE_ALPHA, x), _selu_scale_alpha_lo(x))
    return _select_nonpositive(x, const(SELU_SCALE, x), e)


def _celu_derivative_with(exp_kernel, quotient):
    """d celu / dx on the given ``exp_hilo`` kernel and quotient (as :func:`_celu_with`)."""

    @register_jitable(forceinline=True)
    def celu_derivative(x, alpha):
        """d celu / dx: ``1`` if ``x > 0`` else ``exp(x / alpha)``."""
        x, alpha = _as_floats2(x, alpha)
        q, q_lo = quotient(nonpositive_part(x), alpha, False)
        # a NaN q (alpha NaN, or x and alpha infinite) gives NaN: the wide kernel returns it,
        # and the fast ones, whose q_lo is then NaN too, compute it
        e = exp_kernel(q, q_lo)
        return _select_nonpositive(x, const(1.0, x), e)

    return celu_derivative


celu_derivative = _named(_celu_derivative_with(exp_hilo_wide, _quotient), "celu_derivative")
_celu_derivative_fast = _named(_celu_derivative_with(exp_hilo, _quotient_unchecked),
                               "_celu_derivative_fast")
_celu_derivative_fast_positive = _named(
    _celu_derivative_with(exp_hilo_nonpositive, _quotient_unchecked),
    "_celu_derivative_fast_positive")


@register_jitable(forceinline=True)
def elu_derivative_from_output(y, alpha):
    """d elu / dx from the output y: ``1`` if ``y > 0`` else ``y + alpha`` (where it loses
    digits: ``help(numelu.elu_derivative_from_output)``)."""
    y, alpha = _as_floats2(y, alpha)
    return _select_nonpositive(y, const(1.0, y), y + alpha)


@register_jitable(forceinline=True)
def selu_derivative_from_output(y):
    """d selu / dx from the output y: ``SELU_SCALE`` if ``y > 0`` else
    ``y + SELU_SCALE*SELU_ALPHA`` (where it loses digits:
    ``help(numelu.selu_derivative_from_output)``)."""
    y = _as_float(y)
    return _select_nonpositive(y, const(SELU_SCALE, y), y + const(SELU_SCALE_ALPHA, y))


@register_jitable(forceinline=True)
def celu_derivative_from_output(y, alpha):
    """d celu / dx from the output y: ``1`` if ``y > 0`` else ``y / alpha + 1`` (where it loses
    digits: ``help(numelu.celu_derivative_from_output)``)."""
    y, alpha = _as_floats2(y, alpha)
    return _select_nonpositive(y, const(1.0, y), y / alpha + const(1.0, y))


# --------------------------------------------------------------------------- backward (VJP)


@register_jitable(forceinline=True)
def elu_backward(grad, x, alpha):
    """``grad * elu_derivative(x, alpha)`` in one pass."""
    grad, x, alpha = _as_floats3(grad, x, alpha)
    return grad * elu_derivative(x, alpha)


@register_jitable(forceinline=True)
def selu_backward(grad, x):
    """``grad * selu_derivative(x)`` in one pass."""
    grad, x = _as_floats2(grad, x)
    return grad * selu_derivative(x)


def _celu_backward_with(derivative):
    """``grad * derivative(x, alpha)`` (as :func:`_celu_with`)."""

    @register_jitable(forceinline=True)
    def celu_backward(grad, x, alpha):
        """``grad * celu_derivative(x, alpha)`` in one pass."""
        grad, x, alpha = _as_floats3(grad, x, alpha)
        return grad * derivative(x, alpha)

    return celu_backward


celu_backward = _named(_celu_backward_with(celu_derivative), "celu_backward")
_celu_backward_fast = _named(_celu_backward_with(_celu_derivative_fast), "_celu_backward_fast")
_celu_backward_fast_positive = _named(_celu_backward_with(_celu_derivative_fast_positive),
                                      "_celu_backward_fast_positive")

#: The fast twins of the public CELU formulas, by name: what the compiled ufunc loops run
#: (``_functions``); a non-finite result from finite inputs is computed again with the public one.
FAST = {"celu": _celu_fast, "celu_derivative": _celu_derivative_fast,
        "celu_backward": _celu_backward_fast}
#: The fast twins for one positive alpha over the whole loop (``x / alpha <= 0`` there, so that
#: the exponential needs no upper clamp and no overflow marker): what the loops run when NumPy
#: hands them a scalar alpha above 0.
FAST_POSITIVE_ALPHA = {"celu": _celu_fast_positive,
                       "celu_derivative": _celu_derivative_fast_positive,
                       "celu_backward": _celu_backward_fast_positive}
