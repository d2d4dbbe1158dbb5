"""exp and expm1 for float32 and float64, written so that LLVM vectorises them.

Numba compiles ``math.exp``/``math.expm1`` to scalar libm calls, which keeps every loop that
uses them scalar.  Here both are plain arithmetic (DESIGN.md section 3):

* range reduction ``x = k*ln2 + r`` with ``k = round(x/ln2)`` and ln2 split in two parts
  (Cody-Waite), the rounding error of ``r`` kept as ``r_lo``;
* ``expm1(r) = r + r**2 * (1/2 + r*Q(r))`` with a Taylor polynomial ``Q`` (degree 10 for
  float64, 6 for float32, in the argument's own precision);
* ``2**k`` built from exponent bits, and the final ``2**k*expm1(r) + (2**k - 1)`` summed with an
  exact Fast2Sum so only one rounding of size 1/2 ulp is left.

Every function takes ``(x, x_lo)``: the argument as an unevaluated sum, so CELU can pass the
rounding error of ``x / alpha`` and keep ``exp(x / alpha)`` within an ulp.  The arguments are
clamped before the reduction, so NaN or infinite input never raises a floating-point flag; the
callers select the NaN/inf results themselves.

``expm1``, ``exp``, ``expm1_hilo``, ``exp_hilo`` and the ``scaled_*`` products (a factor times
an exp, rounded once: alpha's product is where a formula would otherwise round twice) are stubs
with one implementation per target: this vectorisable one on the CPU, libdevice's on CUDA
(``numelu._cuda``), ``math`` in Python.  The Python bodies are plain float64 arithmetic on
libm's exp/expm1 (each operation rounded): "rounded once" in their docstrings describes the
compiled kernels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    localcontext,
)
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core.extending import intrinsic, overload

#: Options for every CPU implementation: LLVM's ``alwaysinline``.  Past LLVM's inlining
#: threshold a formula stays a call, and a loop that calls a function does not vectorise
#: (float64 CELU was 7x slower).  Inlining in LLVM rather than in Numba's IR
#: (``inline="always"``) keeps compile time at about 2 s per ufunc instead of 20-60 s.
_INLINE = {"forceinline": True}

# ---------------------------------------------------------------------------------------------
# Stubs: what numelu.scalar calls.  The Python bodies are the reference semantics.


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


@intrinsic
def _llvm_select(typingctx, condition, if_true, if_false):
    if not isinstance(condition, types.Boolean):
        return None
    result = typingctx.unify_types(if_true, if_false)
    if not isinstance(result, (types.Float, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        cond, a, b = args
        a = context.cast(builder, a, signature.args[1], result)
        b = context.cast(builder, b, signature.args[2], result)
        return builder.select(cond, a, b)

    return result(condition, if_true, if_false), codegen


@overload(select, target="generic")
def _select_ov(condition, if_true, if_false):
    return lambda condition, if_true, if_false: _llvm_select(condition, if_true, if_false)


# ---------------------------------------------------------------------------------------------
# Bit casts and a fused multiply-add, as LLVM instructions.

_INT_FOR = {types.float64: types.int64, types.float32: types.int32}


@intrinsic
def float_bits(typingctx, x):
    """The IEEE bits of a float as a signed integer of the same width."""
    result = _INT_FOR[x]

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(result))

    return result(x), codegen


@intrinsic
def bits_float(typingctx, bits, like):
    """The float of ``like``'s type whose IEEE bits are the low bits of the integer ``bits``."""
    if not (isinstance(bits, types.Integer) and like in _INT_FOR):
        return None
    width = _INT_FOR[like].bitwidth

    def codegen(context, builder, signature, args):
        value = args[0]
        if bits.bitwidth > width:
            value = builder.trunc(value, ir.IntType(width))
        elif bits.bitwidth < width:
            value = builder.sext(value, ir.IntType(width))
        return builder.bitcast(value, context.get_value_type(like))

    return like(bits, like), codegen


def _call_llvm_float(name: str, context, builder, float_type, args):
    """Call LLVM's intrinsic ``name`` overloaded on ``float_type``, with ``args`` of that type."""
    llty = context.get_value_type(float_type)
    fnty = ir.FunctionType(llty, [llty] * len(args))
    return builder.call(builder.module.declare_intrinsic(name, [llty], fnty), args)


@intrinsic
def _llvm_fma(typingctx, a, b, c):
    if not (a == b == c and isinstance(a, types.Float)):
        return None

    def codegen(context, builder, signature, args):
        return _call_llvm_float("llvm.fma", context, builder, a, args)

    return a(a, b, c), codegen


@intrinsic
def _llvm_minnum(typingctx, a, b):
    if not (a == b and isinstance(a, types.Float)):
        return None

    def codegen(context, builder, signature, args):
        return _call_llvm_float("llvm.minnum", context, builder, a, args)

    return a(a, b), codegen


@overload(fma, target="cpu", jit_options=_INLINE)
def _fma_cpu(a, b, c):
    return lambda a, b, c: _llvm_fma(a, b, c)


@intrinsic
def muladd(typingctx, a, b, c):
    """``a*b + c``, fused into one FMA where the CPU has it (LLVM's ``fmuladd``), else rounded
    twice: for polynomial steps whose error bound holds either way."""
    if not (a == b == c and isinstance(a, types.Float)):
        return None

    def codegen(context, builder, signature, args):
        return _call_llvm_float("llvm.fmuladd", context, builder, a, args)

    return a(a, b, c), codegen


# ---------------------------------------------------------------------------------------------
# The vectorisable kernels, one set per float type.


class Kernels(NamedTuple):
    """The CPU implementations of the stubs above, for one float type."""

    expm1_hilo: Callable
    exp_hilo: Callable
    scaled_exp: Callable
    scaled_exp_pair: Callable
    scaled_expm1_pair: Callable
    scaled_expm1: Callable
    scaled_expm1_hilo: Callable
    expm1_hilo_wide: Callable
    exp_hilo_wide: Callable
    scaled_expm1_hilo_wide: Callable


def _taylor_tail(degree: int) -> tuple[float, ...]:
    """Coefficients of Q in ``expm1(r) = r + r**2*(1/2 + r*Q(r))``, highest power first."""
    return tuple(1.0 / math.factorial(n) for n in range(degree, 2, -1))


def _build(ftype: type[np.floating], itype: type[np.signedinteger], *, mantissa_bits: int,
           exponent_bias: int, ln2_hi: float, ln2_lo: float, degree: int,
           expm1_low: float, exp_low: float, scaled_low: float, high: float,
           wide_high: float) -> Kernels:
    f = ftype
    inv_ln2, ln2_hi, ln2_lo = f(1.0 / math.log(2.0)), f(ln2_hi), f(ln2_lo)
    shifter = f(1.5 * 2.0**mantissa_bits)
    shifter_bits = itype(np.array(shifter).view(itype))
    coeffs = tuple(f(c) for c in _taylor_tail(degree))
    half, one, zero, inf, huge = f(0.5), f(1.0), f(0.0), f(np.inf), f(np.finfo(ftype).max)
    expm1_low, exp_low, scaled_low = f(expm1_low), f(exp_low), f(scaled_low)
    high, wide_high = f(high), f(wide_high)
    bias, mbits = itype(exponent_bias), itype(mantissa_bits)
    # below this k, scale 2**k in two steps: 2**k itself would be subnormal from -(bias - 1),
    # and 12 binades earlier already the tail 2**k * tail loses bits to the subnormal grid
    deep = itype(-(exponent_bias - 2 - 12))
    deep_shift = itype(mantissa_bits + 12)
    deep_scale = f(2.0 ** -(mantissa_bits + 12))
    n_coeffs = len(coeffs)

    def make_reduce(top, wide: bool):
        """``reduce`` for arguments up to ``top``; ``wide``: past ``high`` too, where 2**k is
        split into ``2**bias * post * post2`` (all finite up to k = 2 * bias + mbits + 2)."""

        @njit(inline="always")
        def reduce(x, x_lo, low):
            """Clamp, then split x + x_lo = k*ln2 + r + r_lo; return (2**k as scale * post *
            post2, r, expm1(r) - r)."""
            clamped = (x < low) | (x > top)
            x = x if x > low else low
            x = x if x < top else top
            x_lo = zero if clamped else x_lo
            t = muladd(x, inv_ln2, shifter)
            kf = t - shifter
            k = float_bits(t) - shifter_bits
            hi = x - kf * ln2_hi                      # exact: ln2_hi has trailing zero bits
            lo = muladd(kf, ln2_lo, -x_lo)
            r = hi - lo
            r_lo = (hi - r) - lo
            q = coeffs[0]
            for i in range(1, n_coeffs):
                q = muladd(q, r, coeffs[i])
            tail = muladd(r * r, muladd(r, q, half), muladd(r_lo, r, r_lo))
            is_deep = k < deep
            if wide:
                is_big = k > bias
                k1 = k + deep_shift if is_deep else (bias if is_big else k)
                scale = bits_float((k1 + bias) << mbits, one)
                # 2**(k - bias) in two halves (garbage in the lanes that do not use them)
                past = k - bias
                first = past >> 1
                big_post = bits_float((first + bias) << mbits, one)
                big_post2 = bits_float((past - first + bias) << mbits, one)
                post = deep_scale if is_deep else (big_post if is_big else one)
                post2 = big_post2 if is_big else one
            else:
                k1 = k + deep_shift if is_deep else k
                scale = bits_float((k1 + bias) << mbits, one)
                post = deep_scale if is_deep else one
                post2 = one
            return scale, post, post2, r, tail

        return reduce

    reduce = make_reduce(high, False)
    reduce_wide = make_reduce(wide_high, True)

    @njit(inline="always")
    def expm1_parts(scale, r, tail):
        """``2**k * (1 + r + tail) - 1`` as an unevaluated sum ``s + t`` (Fast2Sum of
        ``(2**k - 1) + 2**k*r``: |2**k - 1| >= |2**k*r| or 2**k - 1 == 0)."""
        a = scale - one
        b = scale * r
        s = a + b
        err = (a - s) + b
        return s, err + scale * tail

    @njit(inline="always")
    def expm1_parts_wide(scale, r, tail):
        """:func:`expm1_parts` for any k: past 2**(mbits + 1) the - 1 itself rounds (in ``2**k
        - 1``), and its error goes into ``t`` (exact by Fast2Sum for 2**k >= 1, 0 below)."""
        a = scale - one
        a_err = (scale - a) - one
        b = scale * r
        s = a + b
        err = (a - s) + b
        return s, (err + a_err) + scale * tail

    @njit(inline="always")
    def exp_parts(scale, r, tail):
        """``2**k * (1 + r + tail)`` as an unevaluated sum ``s + t`` (Fast2Sum of
        ``2**k + 2**k*r``)."""
        b = scale * r
        s = scale + b
        err = (scale - s) + b
        return s, err + scale * tail

    # The hi-lo kernels take CELU's x / alpha, which a negative alpha makes positive.  The fast
    # ones return inf past ``high`` (0.35 before exp's own overflow) by an overflowing product,
    # so that the loops' second look recomputes those results with the wide ones, which reduce
    # over twice the exponent range (2**k in three factors) and overflow exactly where the true
    # value does.
    @njit(inline="always")
    def beyond(x):
        """``huge * (1 + max(x - high, 0))``: the largest float, made inf by a rounding that
        raises the overflow flag where ``x > high`` (on the selected value itself, so that it
        is raised also where LLVM turns the select into a branch)."""
        return huge * (one - _llvm_minnum(high - x, zero))

    @njit(inline="always")
    def expm1_hilo_impl(x, x_lo):
        scale, post, _, r, tail = reduce(x, x_lo, expm1_low)
        s, t = expm1_parts_wide(scale, r, tail)
        return beyond(x) if x > high else s + t

    @njit(inline="always")
    def exp_hilo_impl(x, x_lo):
        scale, post, _, r, tail = reduce(x, x_lo, exp_low)
        s, t = exp_parts(scale, r, tail)
        y = (s + t) * post
        y = zero if x < exp_low else y
        return beyond(x) if x > high else y

    @njit(inline="always")
    def expm1_hilo_wide_impl(x, x_lo):
        scale, post, post2, r, tail = reduce_wide(x, x_lo, expm1_low)
        s, t = expm1_parts_wide(scale, r, tail)
        return (s + t) * post * post2

    @njit(inline="always")
    def exp_hilo_wide_impl(x, x_lo):
        scale, post, post2, r, tail = reduce_wide(x, x_lo, exp_low)
        s, t = exp_parts(scale, r, tail)
        y = (s + t) * post * post2
        return zero if x < exp_low else y

    @njit(inline="always")
    def times_pair(s, t, factor, factor_lo):
        """``(s + t) * (factor + factor_lo)`` rounded once, by the outer FMA, for a finite
        nonzero constant factor (a user's alpha of 0 or inf would give +0 or NaN here)."""
        return muladd(s, factor, muladd(t, factor, s * factor_lo))

    @njit(inline="always")
    def times_factor(s, t, factor):
        """``(s + t) * factor`` for any factor (a user's alpha): rounded once, by the FMA, for
        a finite nonzero factor; for 0, +-inf and NaN the plain product, whose zero signs,
        infinities and NaNs are the formula's (the fused form gives +0 for factor -0 times a
        positive exp, NaN for inf times a zero t)."""
        fused = muladd(s, factor, t * factor)
        plain = (s + t) * factor
        return fused if zero < abs(factor) < inf else plain

    @njit(inline="always")
    def scaled_expm1_hilo_impl(x, x_lo, factor):
        scale, post, _, r, tail = reduce(x, x_lo, expm1_low)
        s, t = expm1_parts_wide(scale, r, tail)
        return beyond(x) * factor if x > high else times_factor(s, t, factor)

    @njit(inline="always")
    def scaled_expm1_hilo_wide_impl(x, x_lo, factor):
        """``factor * expm1(x + x_lo)``, rounded once: past 2**bias the rest of 2**k scales the
        product afterwards (exactly, unless the result overflows), so that a factor below 1
        brings the result back into range up to ``wide_high``, past which no factor does.
        ``inf * factor`` there (NaN for 0)."""
        scale, post, post2, r, tail = reduce_wide(x, x_lo, expm1_low)
        s, t = expm1_parts_wide(scale, r, tail)
        # s * factor rounded once (normal even for a subnormal factor: s >= 2**(bias - 1)
        # where post > 1), then scaled exactly; with |s| near 2**bias, t * factor alone can
        # overflow with t's sign, opposite to the result's: then the plain product
        tf = t * factor
        fused = muladd(s, factor, tf)
        plain = (s + t) * factor
        y = fused if (zero < abs(factor) < inf) & (abs(tf) < inf) else plain
        return inf * factor if x > wide_high else y * post * post2

    @njit(inline="always")
    def scaled_expm1_impl(x, factor):
        """``factor * expm1(x)``, rounded once, for ELU's ``min(x, 0)``: the narrow range
        (``inf * factor`` past ``high``, 0.35 before the true overflow)."""
        scale, post, _, r, tail = reduce(x, zero, expm1_low)
        s, t = expm1_parts(scale, r, tail)
        return inf * factor if x > high else times_factor(s, t, factor)

    @njit(inline="always")
    def scaled_exp_parts(x):
        """``exp(x)`` as ``s + t`` and the second scaling step ``post`` (1 unless deep)."""
        scale, post, _, r, tail = reduce(x, zero, scaled_low)
        s, t = exp_parts(scale, r, tail)
        return s, t, post

    @njit(inline="always")
    def scaled_exp_result(x, y):
        """``y`` (the scaled exp, ``post`` applied: the one subnormal rounding) at the ends of
        the range, for a positive constant factor."""
        y = zero if x < scaled_low else y
        return inf if x > high else y

    @njit(inline="always")
    def scaled_exp_impl(x, factor):
        """``factor * exp(x)`` for any factor (a user's alpha), for ``x <= high`` (the callers
        pass ``min(x, 0)``).  Below ``scaled_low`` exp(x) is taken as +0 *before* the product,
        so the result is the formula's ``factor * 0``: a zero of factor's sign, NaN for an
        infinite factor.  (Zeroing the lanes as constant selects costs ~2%; selecting
        ``0 * factor`` after the product cost 10% in float64.)"""
        s, t, post = scaled_exp_parts(x)
        underflow = x < scaled_low
        s = zero if underflow else s
        t = zero if underflow else t
        return times_factor(s, t, factor) * post

    @njit(inline="always")
    def scaled_exp_pair_impl(x, factor, factor_lo):
        s, t, post = scaled_exp_parts(x)
        return scaled_exp_result(x, times_pair(s, t, factor, factor_lo) * post)

    @njit(inline="always")
    def scaled_expm1_pair_impl(x, factor, factor_lo):
        """For ``x <= high`` (the callers pass ``min(x, 0)``)."""
        scale, post, _, r, tail = reduce(x, zero, expm1_low)
        s, t = expm1_parts(scale, r, tail)
        return times_pair(s, t, factor, factor_lo)

    return Kernels(expm1_hilo=expm1_hilo_impl, exp_hilo=exp_hilo_impl,
                   scaled_exp=scaled_exp_impl, scaled_exp_pair=scaled_exp_pair_impl,
                   scaled_expm1_pair=scaled_expm1_pair_impl, scaled_expm1=scaled_expm1_impl,
                   scaled_expm1_hilo=scaled_expm1_hilo_impl,
                   expm1_hilo_wide=expm1_hilo_wide_impl, exp_hilo_wide=exp_hilo_wide_impl,
                   scaled_expm1_hilo_wide=scaled_expm1_hilo_wide_impl)


# ``high``: the largest argument whose k = round(x/ln2) keeps 2**k finite (k <= bias).  The
# clamp must hold k there: with k = bias + 1 the scale is inf and inf - inf raises "invalid"
# for every large x, even in lanes whose exp is discarded (elu(1000.0)).  The kernels that take
# min(x, 0) never get past it.  ``wide_high``: the same for k <= 2 * bias + mbits + 2, the range
# of the hi-lo kernels (CELU's x / alpha, positive for a negative alpha), which split 2**k in
# three; past it, factor * exp(x) overflows for every nonzero factor (the smallest subnormal).
# ``scaled_low``: factor * exp(x) stays nonzero below exp's own underflow point for factor > 1;
# the two-step (deep) scaling of 2**k reaches down to -752.7 (float64) / -110.9 (float32).
_KERNELS = {
    types.float64: _build(
        np.float64, np.int64, mantissa_bits=52, exponent_bias=1023,
        ln2_hi=6.93147180369123816490e-01, ln2_lo=1.90821492927058770002e-10, degree=13,
        expm1_low=-64.0, exp_low=-746.0, scaled_low=-752.0, high=709.43, wide_high=1455.0,
    ),
    types.float32: _build(
        np.float32, np.int32, mantissa_bits=23, exponent_bias=127,
        ln2_hi=6.9314575195e-01, ln2_lo=1.4286067653e-06, degree=8,
        expm1_low=-32.0, exp_low=-104.0, scaled_low=-110.0, high=88.37, wide_high=193.0,
    ),
}


def _kernel_for(x, which: str):
    """The CPU kernel ``which`` (a :class:`Kernels` field) for float type ``x``, else None."""
    kernels = _KERNELS.get(x)
    return None if kernels is None else getattr(kernels, which)


def _register_hilo(stub, kernel: str) -> None:
    """``stub(x, x_lo)`` on the CPU: numelu's kernel ``kernel``."""

    @overload(stub, target="cpu", jit_options=_INLINE)
    def _cpu(x, x_lo):
        impl = _kernel_for(x, kernel)
        if impl is not None:
            return lambda x, x_lo: impl(x, x_lo)


def _register_scaled_hilo(stub, kernel: str) -> None:
    """``stub(x, x_lo, factor)`` on the CPU: numelu's kernel ``kernel`` (mixed types: the
    factor times ``expm1_hilo``)."""

    @overload(stub, target="cpu", jit_options=_INLINE)
    def _cpu(x, x_lo, factor):
        impl = _kernel_for(x, kernel)
        if impl is not None and factor == x and x_lo == x:
            return lambda x, x_lo, factor: impl(x, x_lo, factor)
        if isinstance(x, types.Float) and isinstance(factor, types.Float):
            return lambda x, x_lo, factor: factor * expm1_hilo(x, x_lo)


for _stub, _kernel in ((expm1_hilo, "expm1_hilo"), (exp_hilo, "exp_hilo"),
                       (exp_hilo_wide, "exp_hilo_wide")):
    _register_hilo(_stub, _kernel)
for _stub, _kernel in ((scaled_expm1_hilo, "scaled_expm1_hilo"),
                       (scaled_expm1_hilo_wide, "scaled_expm1_hilo_wide")):
    _register_scaled_hilo(_stub, _kernel)


@overload(expm1, target="cpu", jit_options=_INLINE)
def _expm1_cpu(x):
    impl = _kernel_for(x, 'expm1_hilo_wide')
    if impl is not None:
        return lambda x: impl(x, _zero_like(x))


@overload(exp, target="cpu", jit_options=_INLINE)
def _exp_cpu(x):
    impl = _kernel_for(x, 'exp_hilo_wide')
    if impl is not None:
        return lambda x: impl(x, _zero_like(x))


@overload(scaled_exp, target="cpu", jit_options=_INLINE)
def _scaled_exp_cpu(x, factor):
    impl = _kernel_for(x, 'scaled_exp')
    if impl is not None and factor == x:
        return lambda x, factor: impl(x, factor)
    if isinstance(x, types.Float) and isinstance(factor, types.Float):
        return lambda x, factor: factor * exp(x)             # mixed types (a user's call)


@overload(scaled_expm1, target="cpu", jit_options=_INLINE)
def _scaled_expm1_cpu(x, factor):
    impl = _kernel_for(x, 'scaled_expm1')
    if impl is not None and factor == x:
        return lambda x, factor: impl(x, factor)
    if isinstance(x, types.Float) and isinstance(factor, types.Float):
        return lambda x, factor: factor * expm1(x)           # mixed types (a user's call)


# On CUDA: libdevice's exp runs to exp's own overflow; past it, a factor below 1 can bring the
# product back into range, which ``factor * exp(x / 2) * exp(x / 2)`` reaches (three roundings
# and two exps there: within about 3 ulp; a branch, as GPU threads diverge only there).
@overload(exp_hilo_wide, target="cuda")
def _exp_hilo_wide_cuda(x, x_lo):
    return lambda x, x_lo: exp_hilo(x, x_lo)


@overload(scaled_expm1_hilo_wide, target="cuda")
def _scaled_expm1_hilo_wide_cuda(x, x_lo, factor):
    if not (isinstance(x, types.Float) and factor == x and x_lo == x):
        return None
    kind = np.dtype(str(x)).type
    half, inf = kind(0.5), kind(np.inf)

    def impl(x, x_lo, factor):
        e = scaled_expm1_hilo(x, x_lo, factor)
        if abs(e) == inf and x < inf and abs(factor) < inf:
            h = math.exp(x * half)
            return (factor * h) * (h * (x_lo + kind(1.0)))
        return e
    return impl


@overload(scaled_exp, target="cuda")
def _scaled_exp_cuda(x, factor):
    if isinstance(x, types.Float) and isinstance(factor, types.Float):
        return lambda x, factor: factor * math.exp(x)


@overload(scaled_expm1, target="cuda")
def _scaled_expm1_cuda(x, factor):
    if isinstance(x, types.Float) and isinstance(factor, types.Float):
        return lambda x, factor: factor * math.expm1(x)


@overload(scaled_expm1_hilo, target="cuda")
def _scaled_expm1_hilo_cuda(x, x_lo, factor):
    if isinstance(x, types.Float) and isinstance(factor, types.Float):
        return lambda x, x_lo, factor: factor * expm1_hilo(x, x_lo)


def _pair_args(x, factor, factor_lo) -> bool:
    return isinstance(x, types.Float) and factor == x and factor_lo == x


def _register_pair(stub, kernel: str, libdevice_fn) -> None:
    """``stub(x, factor, factor_lo)``: numelu's kernel ``kernel`` on the CPU,
    ``factor * e + factor_lo * e`` with libdevice's ``e = libdevice_fn(x)`` on CUDA."""

    @overload(stub, target="cpu", jit_options=_INLINE)
    def _cpu(x, factor, factor_lo):
        impl = _kernel_for(x, kernel)
        if impl is not None and _pair_args(x, factor, factor_lo):
            return lambda x, factor, factor_lo: impl(x, factor, factor_lo)

    @overload(stub, target="cuda")
    def _cuda(x, factor, factor_lo):
        if _pair_args(x, factor, factor_lo):
            def impl(x, factor, factor_lo):
                e = libdevice_fn(x)
                return factor * e + factor_lo * e
            return impl


_register_pair(scaled_exp_pair, "scaled_exp_pair", math.exp)
_register_pair(scaled_expm1_pair, "scaled_expm1_pair", math.expm1)


@overload(pair_times, target="cpu", jit_options=_INLINE)
def _pair_times_cpu(factor, factor_lo, x):
    if isinstance(x, types.Float) and factor == x and factor_lo == x:
        return lambda factor, factor_lo, x: muladd(factor, x, factor_lo * x)


@overload(pair_times, target="cuda")
def _pair_times_cuda(factor, factor_lo, x):
    if isinstance(x, types.Float) and factor == x and factor_lo == x:
        return lambda factor, factor_lo, x: fma(factor, x, factor_lo * x)


@overload(nonpositive_part, target="cpu", jit_options=_INLINE)
def _nonpositive_part_cpu(x):
    if isinstance(x, types.Float):
        return lambda x: _llvm_minnum(x, _zero_like(x))


# No floating-point flags on a GPU: a plain select there (declaring it imports nothing CUDA).
@overload(nonpositive_part, target="cuda")
def _nonpositive_part_cuda(x):
    if isinstance(x, types.Float):
        return lambda x: x if x < 0 else _zero_like(x)


def _zero_like(x):
    return type(x)(0.0)


@overload(_zero_like, target="generic")
def _zero_like_ov(x):
    if isinstance(x, types.Float):
        zero = np.dtype(str(x)).type(0.0)
        return lambda x: zero
