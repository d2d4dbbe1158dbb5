"""CUDA implementations of the ``_math_stubs`` functions that ``numelu.scalar`` calls.

On CUDA the exponentials compile to libdevice (``__nv_expm1``/``__nv_exp`` and their ``f``
forms, at most 1 ulp) and ``fma`` to the hardware FMA, so the scalar formulas compile inside
any ``@cuda.jit`` kernel, numelu's own and a user's.  Declaring ``overload(...,
target="cuda")`` only records a typing template in Numba's core registry: it imports neither
``numba.cuda`` nor any CUDA library (``numba.cuda.fma`` is looked up at kernel-typing time), so
``numelu._dispatch`` imports this module eagerly and ``import numelu`` stays CUDA-free.  The
``*_hilo`` forms apply the correction ``x_lo`` to first order, which is all ``|x_lo| <=
ulp(x)/2`` needs.
"""

from __future__ import annotations

import math

import numpy as np
from numba.core import types
from numba.core.extending import overload

from numelu import _math_stubs as stubs

__all__ = ["widen"]


def widen(x):
    """``x`` in the type the formulas compute in: float16 -> float32, anything else unchanged."""
    return np.float32(x) if isinstance(x, np.float16) else x


def _is_float(*values) -> bool:
    return all(isinstance(v, types.Float) for v in values)


@overload(widen, target="cuda")
def _widen_cuda(x):
    if x == types.float16:
        return lambda x: np.float32(x)
    return lambda x: x


@overload(stubs.expm1, target="cuda")
def _expm1_cuda(x):
    if _is_float(x):
        return lambda x: math.expm1(x)


@overload(stubs.exp, target="cuda")
def _exp_cuda(x):
    if _is_float(x):
        return lambda x: math.exp(x)


@overload(stubs.fma, target="cuda")
def _fma_cuda(a, b, c):
    if _is_float(a, b, c) and a == b == c:
        from numba import cuda  # only ever reached while numba.cuda compiles a kernel

        return lambda a, b, c: cuda.fma(a, b, c)


@overload(stubs.expm1_hilo, target="cuda")
def _expm1_hilo_cuda(x, x_lo):
    if _is_float(x, x_lo):
        def impl(x, x_lo):
            e = math.expm1(x)
            # e + (e + 1) * x_lo (in x's own type), except where e is infinite or NaN
            return e + (e * x_lo + x_lo) if abs(e) < math.inf else e
        return impl


@overload(stubs.exp_hilo, target="cuda")
def _exp_hilo_cuda(x, x_lo):
    if _is_float(x, x_lo):
        def impl(x, x_lo):
            e = math.exp(x)
            return e + e * x_lo if e < math.inf else e
        return impl


@overload(stubs.exp_hilo_nonpositive, target="cuda")
def _exp_hilo_nonpositive_cuda(x, x_lo):
    return lambda x, x_lo: stubs.exp_hilo(x, x_lo)


@overload(stubs.scaled_expm1_hilo_nonpositive, target="cuda")
def _scaled_expm1_hilo_nonpositive_cuda(x, x_lo, factor):
    return lambda x, x_lo, factor: stubs.scaled_expm1_hilo(x, x_lo, factor)


# On CUDA: libdevice's exp runs to exp's own overflow; past it, a factor below 1 can bring the
# product back into range, which ``factor * exp(x / 2) * exp(x / 2)`` reaches (three roundings
# and two exps there: within about 3 ulp; a branch, as GPU threads diverge only there).
@overload(stubs.exp_hilo_wide, target="cuda")
def _exp_hilo_wide_cuda(x, x_lo):
    return lambda x, x_lo: stubs.exp_hilo(x, x_lo)


@overload(stubs.scaled_expm1_hilo_wide, target="cuda")
def _scaled_expm1_hilo_wide_cuda(x, x_lo, factor):
    if not (isinstance(x, types.Float) and factor == x and x_lo == x):
        return None
    kind = np.dtype(str(x)).type
    half, inf = kind(0.5), kind(np.inf)

    def impl(x, x_lo, factor):
        e = stubs.scaled_expm1_hilo(x, x_lo, factor)
        if abs(e) == inf and x < inf and abs(factor) < inf:
            h = math.exp(x * half)
            return (factor * h) * (h * (x_lo + kind(1.0)))
        return e
    return impl


@overload(stubs.scaled_exp, target="cuda")
def _scaled_exp_cuda(x, factor):
    if isinstance(x, types.Float) and isinstance(factor, types.Float):
        return lambda x, factor: factor * math.exp(x)


@overload(stubs.scaled_expm1, target="cuda")
def _scaled_expm1_cuda(x, factor):
    if isinstance(x, types.Float) and isinstance(factor, types.Float):
        return lambda x, factor: factor * math.expm1(x)


@overload(stubs.scaled_expm1_hilo, target="cuda")
def _scaled_expm1_hilo_cuda(x, x_lo, factor):
    if isinstance(x, types.Float) and isinstance(factor, types.Float):
        return lambda x, x_lo, factor: factor * stubs.expm1_hilo(x, x_lo)


def _pair_args(x, factor, factor_lo) -> bool:
    return isinstance(x, types.Float) and factor == x and factor_lo == x


def _register_pair(stub, libdevice_fn) -> None:
    """``stub(x, factor, factor_lo)``: ``factor * e + factor_lo * e`` with libdevice's
    ``e = libdevice_fn(x)``."""

    @overload(stub, target="cuda")
    def _cuda(x, factor, factor_lo):
        if _pair_args(x, factor, factor_lo):
            def impl(x, factor, factor_lo):
                e = libdevice_fn(x)
                return factor * e + factor_lo * e
            return impl


_register_pair(stubs.scaled_exp_pair, math.exp)
_register_pair(stubs.scaled_expm1_pair, math.expm1)


@overload(stubs.pair_times, target="cuda")
def _pair_times_cuda(factor, factor_lo, x):
    if isinstance(x, types.Float) and factor == x and factor_lo == x:
        return lambda factor, factor_lo, x: stubs.fma(factor, x, factor_lo * x)


# No floating-point flags on a GPU: a plain select there.
@overload(stubs.nonpositive_part, target="cuda")
def _nonpositive_part_cuda(x):
    if isinstance(x, types.Float):
        return lambda x: x if x < 0 else stubs.zero_like(x)
