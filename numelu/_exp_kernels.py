"""exp and expm1 for float32 and float64 as plain arithmetic, so that LLVM vectorises the loops.

Numba compiles ``math.exp``/``math.expm1`` to scalar libm calls, which keep every loop that uses
them scalar.  Here (``docs/contract.md`` section 3 for the accuracy they meet): range reduction
``x = k*ln2 + r`` with ln2 split in two (Cody-Waite), ``expm1(r) = r + r**2 * Q(r)`` with a
near-minimax polynomial ``Q`` (``_exp_coefficients``, generated with mpmath by
``scripts/exp_coefficients.py``), ``2**k`` built from exponent bits, and the last sum done by
an exact Fast2Sum, so that one rounding is left.  What each kernel does not need is left out
(the upper clamp where callers pass ``min(x, 0)``, the two-step ``2**k`` where no result is
subnormal): every operation counts in loops that run at a few cycles per vector.
:func:`build_kernels` makes one set from an :class:`ExpFormat` (the constants of one float
format) out of small factories; ``_math_cpu`` registers them as the CPU implementations of the
stubs in ``_math_stubs``.  Arguments are clamped before the reduction, so NaN or inf input
raises no floating-point flag; callers select those results themselves, except that the wide
kernels (the second look's and a user's compiled code's) return a NaN argument itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numba import njit, types

from numelu import _exp_coefficients
from numelu._llvm_intrinsics import bits_float, float_bits, llvm_minnum, muladd


class ExpFormat(NamedTuple):
    """One float format, as the kernels need it.

    ``high``: the largest argument whose ``k = round(x/ln2)`` keeps ``2**k`` finite (``k <=
    bias``); the clamp must hold k there, or the scale is inf and ``inf - inf`` raises "invalid"
    even in lanes whose exp is discarded (``elu(1000.0)``).  ``wide_high``: the same for ``k <=
    2 * bias + mbits + 2``, the range of the wide kernels (CELU's ``x / alpha``, positive for a
    negative alpha), which split ``2**k`` in three; past it, ``factor * exp(x)`` overflows for
    every nonzero factor.  ``scaled_low``: where ``factor * exp(x)`` may still be nonzero for
    ``factor > 1`` (the two-step scaling of ``2**k`` reaches that far below exp's underflow).
    """

    ftype: type[np.floating]
    itype: type[np.signedinteger]
    mantissa_bits: int
    exponent_bias: int
    ln2_hi: float            # ln2's leading bits (trailing zeros: k * ln2_hi is exact)
    ln2_lo: float            # ln2 - ln2_hi
    coefficients: tuple[float, ...]   # Q's, highest power first (_exp_coefficients)
    expm1_low: float         # below this, expm1(x) is -1 to within half an ulp
    exp_low: float           # below this, exp(x) rounds to 0
    scaled_low: float
    high: float
    wide_high: float


FLOAT64 = ExpFormat(
    np.float64, np.int64, mantissa_bits=52, exponent_bias=1023,
    ln2_hi=6.93147180369123816490e-01, ln2_lo=1.90821492927058770002e-10,
    coefficients=_exp_coefficients.FLOAT64,
    expm1_low=-64.0, exp_low=-746.0, scaled_low=-752.0, high=709.43, wide_high=1455.0,
)
FLOAT32 = ExpFormat(
    np.float32, np.int32, mantissa_bits=23, exponent_bias=127,
    ln2_hi=6.9314575195e-01, ln2_lo=1.4286067653e-06,
    coefficients=_exp_coefficients.FLOAT32,
    expm1_low=-32.0, exp_low=-104.0, scaled_low=-110.0, high=88.37, wide_high=193.0,
)


class Kernels(NamedTuple):
    """The CPU implementations of the ``_math_stubs`` exponentials, for one float type."""

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
    scaled_expm1_hilo_nonpositive: Callable
    exp_hilo_nonpositive: Callable


class _Constants(NamedTuple):
    """An :class:`ExpFormat`'s numbers in the format's own float and integer types (what the
    compiled closures capture as constants)."""

    inv_ln2: np.floating
    ln2_hi: np.floating
    ln2_lo: np.floating
    shifter: np.floating          # 1.5 * 2**mbits: adding it rounds to an integer
    shifter_bits: np.signedinteger
    coeffs: tuple                 # Q's coefficients, highest power first
    one: np.floating
    zero: np.floating
    inf: np.floating
    huge: np.floating             # the largest finite float
    expm1_low: np.floating
    exp_low: np.floating
    scaled_low: np.floating
    high: np.floating
    wide_high: np.floating
    expm1_high: np.floating       # below it k <= mbits + 1: 2**k - 1 is exact
    bias: np.signedinteger
    mbits: np.signedinteger
    deep: np.signedinteger        # below this k, 2**k is applied in two steps
    deep_shift: np.signedinteger
    deep_scale: np.floating       # the second step: 2**-deep_shift


def _constants(fmt: ExpFormat) -> _Constants:
    f, i = fmt.ftype, fmt.itype
    shifter = f(1.5 * 2.0**fmt.mantissa_bits)
    return _Constants(
        inv_ln2=f(1.0 / math.log(2.0)), ln2_hi=f(fmt.ln2_hi), ln2_lo=f(fmt.ln2_lo),
        shifter=shifter, shifter_bits=i(np.array(shifter).view(i)),
        coeffs=tuple(f(c) for c in fmt.coefficients),
        one=f(1.0), zero=f(0.0), inf=f(np.inf), huge=f(np.finfo(f).max),
        expm1_low=f(fmt.expm1_low), exp_low=f(fmt.exp_low), scaled_low=f(fmt.scaled_low),
        high=f(fmt.high), wide_high=f(fmt.wide_high),
        expm1_high=f((fmt.mantissa_bits + 1) * math.log(2.0)),
        bias=i(fmt.exponent_bias), mbits=i(fmt.mantissa_bits),
        # 2**k itself is subnormal from k = -(bias - 1), and 12 binades earlier already
        # 2**k * tail loses bits to the subnormal grid: scale in two steps from there
        deep=i(-(fmt.exponent_bias - 2 - 12)), deep_shift=i(fmt.mantissa_bits + 12),
        deep_scale=f(2.0 ** -(fmt.mantissa_bits + 12)),
    )


def _make_clamp(c: _Constants, top, low_part: bool) -> Callable:
    """``clamp(x, x_lo, low)``: ``x`` held in ``[low, top]`` (``top`` None: no upper bound,
    for callers that pass ``min(x, 0)``), ``x_lo`` dropped where ``x`` was moved.  A NaN ``x``
    with a low part passes unchanged, with its ``x_lo`` (CELU's quotient marks a result for the
    loops' second look by a NaN; a NaN goes through the reduction raising no flag)."""
    zero = c.zero

    if top is None and low_part:
        @njit(inline="always")
        def clamp(x, x_lo, low):
            return (low, zero) if x < low else (x, x_lo)
    elif top is None:
        @njit(inline="always")
        def clamp(x, x_lo, low):
            return (x, x_lo) if x > low else (low, zero)
    else:
        @njit(inline="always")
        def clamp(x, x_lo, low):
            clamped = (x < low) | (x > top)
            x = x if x > low else low
            x = x if x < top else top
            return x, zero if clamped else x_lo

    return clamp


def _make_polynomial(c: _Constants) -> Callable:
    """``polynomial(r, r2)``: ``(Q(r) - Q(0)) / r`` (``r2 = r*r``), as a polynomial in ``r2``
    whose coefficients are the pairs ``a[2j] + a[2j+1]*r``.  As many operations as Horner's
    scheme in ``r``, but the pairs do not wait for each other: the chain of dependent FMAs is
    half as long, so that more loop iterations overlap in the CPU."""
    low_first = c.coeffs[::-1][1:]
    even, odd = low_first[0::2], low_first[1::2]
    pairs = len(odd)
    top = low_first[-1]                      # an odd count leaves the top coefficient alone
    lone_top = len(low_first) % 2 == 1

    @njit(inline="always")
    def polynomial(r, r2):
        if lone_top:
            q = top
            first = pairs - 1
        else:
            q = muladd(odd[pairs - 1], r, even[pairs - 1])
            first = pairs - 2
        for j in range(first, -1, -1):
            q = muladd(q, r2, muladd(odd[j], r, even[j]))
        return q

    return polynomial


def _make_split(c: _Constants, top, low_part: bool) -> Callable:
    """``split(x, x_lo, low)``: clamp ``x`` (:func:`_make_clamp`), then ``x + x_lo = k*ln2 + r
    + r_lo``; returns ``(k, r, expm1(r) - r)``.  Without a ``low_part`` the callers' ``x_lo``
    is 0, and ``r`` and ``r_lo`` take one FMA each."""
    inv_ln2, ln2_lo, shifter, shifter_bits = c.inv_ln2, c.ln2_lo, c.shifter, c.shifter_bits
    minus_ln2_hi, minus_ln2_lo, half = -c.ln2_hi, -c.ln2_lo, c.coeffs[-1]
    no_low_part = not low_part
    clamp = _make_clamp(c, top, low_part)
    polynomial = _make_polynomial(c)

    @njit(inline="always")
    def split(x, x_lo, low):
        x, x_lo = clamp(x, x_lo, low)
        t = muladd(x, inv_ln2, shifter)
        kf = t - shifter
        k = float_bits(t) - shifter_bits
        hi = muladd(kf, minus_ln2_hi, x)          # exact: ln2_hi has trailing zero bits
        if no_low_part:
            # exact where the CPU fuses (hi - r is exact); the same as below where it does not
            r = muladd(kf, minus_ln2_lo, hi)
            r_lo = muladd(kf, minus_ln2_lo, hi - r)
        else:
            lo = muladd(kf, ln2_lo, -x_lo)
            r = hi - lo
            r_lo = (hi - r) - lo
        r2 = r * r
        # r_lo * (1 + r): the first-order effect of the low part on expm1(r); r**2/2, most of
        # the tail, is rounded once with it (r * half is exact), and the rest, below r**3/6,
        # carries the rounding of r2 and of the polynomial at a weight too small to matter
        head = muladd(r * half, r, muladd(r_lo, r, r_lo))
        tail = muladd(r2 * r, polynomial(r, r2), head)
        return k, r, tail

    return split


def _make_normal_powers(c: _Constants) -> Callable:
    """``powers(k)``: ``2**k`` as ``(scale, 1, 1)``, for a normal ``2**k`` (expm1's kernels:
    below ``expm1_low`` no k is needed)."""
    one, bias, mbits = c.one, c.bias, c.mbits

    @njit(inline="always")
    def powers(k):
        return bits_float((k + bias) << mbits, one), one, one

    return powers


def _make_powers(c: _Constants) -> Callable:
    """``powers(k)``: ``2**k`` as ``(scale, post, 1)`` for ``k <= bias``; ``post`` is the second
    step below ``deep`` (1 above it)."""
    one, bias, mbits, deep, deep_shift, deep_scale = (c.one, c.bias, c.mbits, c.deep,
                                                       c.deep_shift, c.deep_scale)

    @njit(inline="always")
    def powers(k):
        is_deep = k < deep
        k1 = k + deep_shift if is_deep else k
        scale = bits_float((k1 + bias) << mbits, one)
        post = deep_scale if is_deep else one
        return scale, post, one

    return powers


def _make_wide_powers(c: _Constants) -> Callable:
    """``powers(k)`` for any k up to ``2 * bias + mbits + 2``: past ``bias``, ``2**k`` is
    ``2**bias * post * post2`` (all three finite)."""
    one, bias, mbits, deep, deep_shift, deep_scale = (c.one, c.bias, c.mbits, c.deep,
                                                       c.deep_shift, c.deep_scale)

    @njit(inline="always")
    def powers(k):
        is_deep = k < deep
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
        return scale, post, post2

    return powers


#: What a kernel's argument range needs of the reduction: the upper clamp (None: callers
#: pass ``min(x, 0)``, or CELU's ``x / alpha`` for a positive alpha), the powers of 2 (normal,
#: two-step for subnormal results, or wide) and whether the argument has a low part.
_RANGES = {
    "nonpositive": (None, _make_normal_powers, False),
    "nonpositive_deep": (None, _make_powers, False),
    "nonpositive_hilo": (None, _make_normal_powers, True),
    "nonpositive_deep_hilo": (None, _make_powers, True),
    "any": ("high", _make_normal_powers, True),
    "expm1_fast": ("expm1_high", _make_normal_powers, True),
    "any_deep": ("high", _make_powers, True),
    "wide": ("wide_high", _make_wide_powers, True),
}


def _make_reduce(c: _Constants, arguments: str) -> Callable:
    """``reduce(x, x_lo, low)``: ``(scale, post, post2, r, tail)`` with ``2**k = scale * post *
    post2``, for the ``arguments`` of :data:`_RANGES`."""
    top, make_powers, low_part = _RANGES[arguments]
    split = _make_split(c, None if top is None else getattr(c, top), low_part)
    powers = make_powers(c)

    @njit(inline="always")
    def reduce(x, x_lo, low):
        k, r, tail = split(x, x_lo, low)
        scale, post, post2 = powers(k)
        return scale, post, post2, r, tail

    return reduce


def _make_parts(c: _Constants) -> tuple[Callable, Callable, Callable]:
    """``expm1_parts``, ``expm1_parts_wide``, ``exp_parts``: ``2**k * (1 + r + tail)`` (minus
    1 for expm1) as an unevaluated sum ``s + t``, by Fast2Sum."""
    one = c.one

    # In each, ``2**k * r`` is exact (a power of 2 times r), so that ``muladd`` rounds only
    # its sum, fused or not: one instruction where the CPU has FMA, the same result without.
    @njit(inline="always")
    def expm1_parts(scale, r, tail):
        """Fast2Sum of ``(2**k - 1) + 2**k*r``: ``|2**k - 1| >= |2**k*r|`` or ``2**k == 1``."""
        a = scale - one
        s = muladd(scale, r, a)
        err = muladd(scale, r, a - s)
        return s, muladd(scale, tail, err)

    @njit(inline="always")
    def expm1_parts_wide(scale, r, tail):
        """For any k: past 2**(mbits + 1) the - 1 itself rounds (in ``2**k - 1``), and its
        error goes into ``t`` (exact by Fast2Sum for 2**k >= 1, 0 below)."""
        a = scale - one
        a_err = (scale - a) - one
        s = muladd(scale, r, a)
        err = muladd(scale, r, a - s)
        return s, muladd(scale, tail, err + a_err)

    @njit(inline="always")
    def exp_parts(scale, r, tail):
        """Fast2Sum of ``2**k + 2**k*r``."""
        s = muladd(scale, r, scale)
        err = muladd(scale, r, scale - s)
        return s, muladd(scale, tail, err)

    return expm1_parts, expm1_parts_wide, exp_parts


def _make_beyond(c: _Constants, limit) -> Callable:
    """``beyond(x)``: ``huge * (1 + max(x - limit, 0))``, the largest float, made inf by a
    rounding that raises the overflow flag where ``x > limit`` (on the selected value itself,
    so that it is raised also where LLVM turns the select into a branch).

    The fast kernels return it past their range (``high``, 0.35 before exp's own overflow;
    CELU's ``expm1_high``), so that the loops' second look recomputes those results with the
    wide kernels, which overflow exactly where the true value does."""
    zero, one, huge = c.zero, c.one, c.huge

    @njit(inline="always")
    def beyond(x):
        return huge * (one - llvm_minnum(limit - x, zero))

    return beyond


def _make_products(c: _Constants) -> tuple[Callable, Callable, Callable]:
    """``beyond``, ``times_pair``, ``times_factor``: the overflow marker past ``high`` and
    ``(s + t) * factor`` rounded once."""
    zero, inf = c.zero, c.inf
    minus_zero = -c.zero
    beyond = _make_beyond(c, c.high)

    @njit(inline="always")
    def times_pair(s, t, factor, factor_lo):
        """``(s + t) * (factor + factor_lo)`` rounded once, by the outer FMA, for a finite
        nonzero constant factor (a user's alpha of 0 or inf would give +0 or NaN here)."""
        return muladd(s, factor, muladd(t, factor, s * factor_lo))

    @njit(inline="always")
    def times_factor(s, t, factor):
        """``(s + t) * factor`` for any factor (a user's alpha): rounded once, by the FMA, for
        a finite nonzero factor; for 0, +-inf and NaN the plain product, whose zero signs,
        infinities and NaNs are the formula's (``t * factor`` would give +0 for factor -0
        times a positive exp, NaN for inf times a zero t)."""
        # For a factor of 0, +-inf or NaN, s * factor plus -0 is the plain product: -0 leaves
        # every zero's sign to s * factor, and no 0 * inf arises from t.
        low = t * factor if zero < abs(factor) < inf else minus_zero
        return muladd(s, factor, low)

    return beyond, times_pair, times_factor


class _Pieces(NamedTuple):
    """The compiled building blocks one set of kernels is made of."""

    reduce: dict[str, Callable]   # by the arguments it takes (_RANGES)
    expm1_parts: Callable
    expm1_parts_wide: Callable
    exp_parts: Callable
    beyond: Callable
    times_pair: Callable
    times_factor: Callable


def _make_zeroed_exp_parts(c: _Constants, reduce: Callable, exp_parts: Callable,
                           low) -> Callable:
    """``parts(x, x_lo)``: ``exp(x + x_lo)`` as ``(s, t, post)`` (:func:`_make_parts`'s sum
    and the second scaling step, 1 unless deep), for the arguments of ``reduce`` (never
    positive); below ``low`` exp is taken as +0 (a zero scale makes both parts +0)."""
    zero = c.zero

    @njit(inline="always")
    def parts(x, x_lo):
        scale, post, _, r, tail = reduce(x, x_lo, low)
        scale = zero if x < low else scale
        s, t = exp_parts(scale, r, tail)
        return s, t, post

    return parts


def _make_hilo(c: _Constants, p: _Pieces) -> dict[str, Callable]:
    """``expm1_hilo``, ``exp_hilo`` and their wide twins: the argument as ``x + x_lo``."""
    zero, expm1_low, exp_low, high = c.zero, c.expm1_low, c.exp_low, c.high
    reduce, reduce_deep, reduce_wide = p.reduce["any"], p.reduce["any_deep"], p.reduce["wide"]
    beyond, expm1_parts_wide, exp_parts = p.beyond, p.expm1_parts_wide, p.exp_parts
    nonpositive_parts = _make_zeroed_exp_parts(c, p.reduce["nonpositive_deep_hilo"], exp_parts,
                                               exp_low)

    @njit(inline="always")
    def expm1_hilo(x, x_lo):
        scale, post, _, r, tail = reduce(x, x_lo, expm1_low)
        s, t = expm1_parts_wide(scale, r, tail)
        return beyond(x) if x > high else s + t

    @njit(inline="always")
    def exp_hilo(x, x_lo):
        scale, post, _, r, tail = reduce_deep(x, x_lo, exp_low)
        s, t = exp_parts(scale, r, tail)
        y = (s + t) * post
        y = zero if x < exp_low else y
        return beyond(x) if x > high else y

    @njit(inline="always")
    def exp_hilo_nonpositive(x, x_lo):
        """For ``x <= 0`` or NaN only (CELU's ``x / alpha`` for a positive alpha): no upper
        clamp and no overflow marker; +0 below ``exp_low``."""
        s, t, post = nonpositive_parts(x, x_lo)
        return (s + t) * post

    @njit(inline="always")
    def expm1_hilo_wide(x, x_lo):
        scale, post, post2, r, tail = reduce_wide(x, x_lo, expm1_low)
        s, t = expm1_parts_wide(scale, r, tail)
        return (s + t) * post * post2 if x == x else x

    @njit(inline="always")
    def exp_hilo_wide(x, x_lo):
        scale, post, post2, r, tail = reduce_wide(x, x_lo, exp_low)
        s, t = exp_parts(scale, r, tail)
        y = (s + t) * post * post2
        y = zero if x < exp_low else y
        return y if x == x else x

    return {"expm1_hilo": expm1_hilo, "exp_hilo": exp_hilo,
            "exp_hilo_nonpositive": exp_hilo_nonpositive,
            "expm1_hilo_wide": expm1_hilo_wide, "exp_hilo_wide": exp_hilo_wide}


def _make_scaled_hilo(c: _Constants, p: _Pieces) -> dict[str, Callable]:
    """``factor * expm1(x + x_lo)`` rounded once: CELU's ``alpha * expm1(x / alpha)``."""
    zero, inf, expm1_low, wide_high = c.zero, c.inf, c.expm1_low, c.wide_high
    expm1_high, beyond = c.expm1_high, _make_beyond(c, c.expm1_high)
    reduce, reduce_wide = p.reduce["expm1_fast"], p.reduce["wide"]
    reduce_nonpositive = p.reduce["nonpositive_hilo"]
    expm1_parts, expm1_parts_wide, times_factor = p.expm1_parts, p.expm1_parts_wide, p.times_factor

    @njit(inline="always")
    def scaled_expm1_hilo(x, x_lo, factor):
        """The fast kernel: up to ``expm1_high`` only (a positive ``x / alpha`` needs a
        negative alpha), where ``2**k - 1`` is exact; past it the wide kernel's second look."""
        scale, post, _, r, tail = reduce(x, x_lo, expm1_low)
        s, t = expm1_parts(scale, r, tail)
        return beyond(x) * factor if x > expm1_high else times_factor(s, t, factor)

    @njit(inline="always")
    def scaled_expm1_hilo_nonpositive(x, x_lo, factor):
        """For ``x <= 0`` or NaN only (a positive alpha): no upper clamp, no overflow marker."""
        scale, post, _, r, tail = reduce_nonpositive(x, x_lo, expm1_low)
        s, t = expm1_parts(scale, r, tail)
        return times_factor(s, t, factor)

    @njit(inline="always")
    def scaled_expm1_hilo_wide(x, x_lo, factor):
        """Past 2**bias the rest of 2**k scales the product afterwards (exactly, unless the
        result overflows), so that a factor below 1 brings the result back into range up to
        ``wide_high``, past which no factor does: ``inf * factor`` there (NaN for 0)."""
        scale, post, post2, r, tail = reduce_wide(x, x_lo, expm1_low)
        s, t = expm1_parts_wide(scale, r, tail)
        # s * factor rounded once (normal even for a subnormal factor: s >= 2**(bias - 1)
        # where post > 1), then scaled exactly; with |s| near 2**bias, t * factor alone can
        # overflow with t's sign, opposite to the result's: then the plain product
        tf = t * factor
        fused = muladd(s, factor, tf)
        plain = (s + t) * factor
        y = fused if (zero < abs(factor) < inf) & (abs(tf) < inf) else plain
        y = inf * factor if x > wide_high else y * post * post2
        return y if x == x else x

    return {"scaled_expm1_hilo": scaled_expm1_hilo,
            "scaled_expm1_hilo_nonpositive": scaled_expm1_hilo_nonpositive,
            "scaled_expm1_hilo_wide": scaled_expm1_hilo_wide}


def _make_scaled_expm1(c: _Constants, p: _Pieces) -> dict[str, Callable]:
    """``factor * expm1(x)`` rounded once, for ``x <= high`` (callers pass ``min(x, 0)``)."""
    zero, inf, expm1_low, high = c.zero, c.inf, c.expm1_low, c.high
    reduce, expm1_parts = p.reduce["nonpositive"], p.expm1_parts
    times_factor, times_pair = p.times_factor, p.times_pair

    @njit(inline="always")
    def scaled_expm1(x, factor):
        """ELU's ``alpha * expm1(min(x, 0))``: ``inf * factor`` past ``high``."""
        scale, post, _, r, tail = reduce(x, zero, expm1_low)
        s, t = expm1_parts(scale, r, tail)
        return inf * factor if x > high else times_factor(s, t, factor)

    @njit(inline="always")
    def scaled_expm1_pair(x, factor, factor_lo):
        scale, post, _, r, tail = reduce(x, zero, expm1_low)
        s, t = expm1_parts(scale, r, tail)
        return times_pair(s, t, factor, factor_lo)

    return {"scaled_expm1": scaled_expm1, "scaled_expm1_pair": scaled_expm1_pair}


def _make_scaled_exp(c: _Constants, p: _Pieces) -> dict[str, Callable]:
    """``factor * exp(x)`` rounded once, for ``x <= high`` (callers pass ``min(x, 0)``)."""
    zero, inf, scaled_low, high = c.zero, c.inf, c.scaled_low, c.high
    times_factor, times_pair = p.times_factor, p.times_pair
    # exp(x) taken as +0 below scaled_low
    parts = _make_zeroed_exp_parts(c, p.reduce["nonpositive_deep"], p.exp_parts, scaled_low)

    @njit(inline="always")
    def scaled_exp(x, factor):
        """For any factor (a user's alpha).  Below ``scaled_low`` exp(x) is taken as +0
        *before* the product, so the result is the formula's ``factor * 0``: a zero of
        factor's sign, NaN for an infinite factor (zeroed in the scale: cheaper than selecting
        ``0 * factor`` after the product)."""
        s, t, post = parts(x, zero)
        return times_factor(s, t, factor) * post

    @njit(inline="always")
    def scaled_exp_pair(x, factor, factor_lo):
        """For a positive constant factor given as ``factor + factor_lo``."""
        s, t, post = parts(x, zero)
        y = times_pair(s, t, factor, factor_lo) * post
        return inf if x > high else y

    return {"scaled_exp": scaled_exp, "scaled_exp_pair": scaled_exp_pair}


def build_kernels(fmt: ExpFormat) -> Kernels:
    """The twelve CPU kernels for one float format."""
    c = _constants(fmt)
    parts = _make_parts(c)
    pieces = _Pieces({name: _make_reduce(c, name) for name in _RANGES}, *parts,
                     *_make_products(c))
    kernels = {}
    for make in (_make_hilo, _make_scaled_hilo, _make_scaled_expm1, _make_scaled_exp):
        kernels.update(make(c, pieces))
    return Kernels(**kernels)


#: The kernels by Numba float type.
KERNELS = {types.float64: build_kernels(FLOAT64), types.float32: build_kernels(FLOAT32)}
