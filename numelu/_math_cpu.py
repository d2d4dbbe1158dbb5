"""The CPU implementations of the ``_math_stubs`` functions, registered as Numba overloads.

Each stub compiles to numelu's vectorisable kernel for its float type (``_exp_kernels``) or to
one LLVM instruction (``_llvm_intrinsics``).  Every overload is inlined by LLVM
(``alwaysinline``): a loop that still calls a function does not vectorise, and inlining in LLVM
rather than in Numba's IR keeps compile time short.  Mixed argument types (a user's ``@njit``
call) fall back to ``factor * exp(x)``.  Importing this module registers the overloads;
``numelu.scalar`` does it.
"""

from __future__ import annotations

from collections.abc import Callable

from numba import types
from numba.core.extending import overload

from numelu import _math_stubs as stubs
from numelu._exp_kernels import KERNELS
from numelu._llvm_intrinsics import llvm_fma, llvm_minnum, muladd

#: Options of every CPU overload: LLVM's ``alwaysinline``.
INLINE = {"forceinline": True}


def kernel_for(x, which: str) -> Callable | None:
    """The CPU kernel ``which`` (a ``Kernels`` field) for Numba float type ``x``, else None."""
    kernels = KERNELS.get(x)
    return None if kernels is None else getattr(kernels, which)


def _register_hilo(stub, kernel: str) -> None:
    """``stub(x, x_lo)`` on the CPU: numelu's kernel ``kernel``."""

    @overload(stub, target="cpu", jit_options=INLINE)
    def _cpu(x, x_lo):
        impl = kernel_for(x, kernel)
        if impl is not None:
            return lambda x, x_lo: impl(x, x_lo)


def _register_scaled_hilo(stub, kernel: str) -> None:
    """``stub(x, x_lo, factor)`` on the CPU: numelu's kernel ``kernel`` (mixed types: the
    factor times ``expm1_hilo``)."""

    @overload(stub, target="cpu", jit_options=INLINE)
    def _cpu(x, x_lo, factor):
        impl = kernel_for(x, kernel)
        if impl is not None and factor == x and x_lo == x:
            return lambda x, x_lo, factor: impl(x, x_lo, factor)
        if isinstance(x, types.Float) and isinstance(factor, types.Float):
            return lambda x, x_lo, factor: factor * stubs.expm1_hilo(x, x_lo)


def _register_pair(stub, kernel: str) -> None:
    """``stub(x, factor, factor_lo)`` on the CPU: numelu's kernel ``kernel``."""

    @overload(stub, target="cpu", jit_options=INLINE)
    def _cpu(x, factor, factor_lo):
        impl = kernel_for(x, kernel)
        if impl is not None and factor == x and factor_lo == x:
            return lambda x, factor, factor_lo: impl(x, factor, factor_lo)


def _register_scaled(stub, kernel: str, unscaled) -> None:
    """``stub(x, factor)`` on the CPU: numelu's kernel ``kernel``; mixed types (a user's call):
    ``factor * unscaled(x)``."""

    @overload(stub, target="cpu", jit_options=INLINE)
    def _cpu(x, factor):
        impl = kernel_for(x, kernel)
        if impl is not None and factor == x:
            return lambda x, factor: impl(x, factor)
        if isinstance(x, types.Float) and isinstance(factor, types.Float):
            return lambda x, factor: factor * unscaled(x)


def _register_unary(stub, kernel: str) -> None:
    """``stub(x)`` on the CPU: numelu's hi-lo kernel ``kernel`` with ``x_lo = 0``."""

    @overload(stub, target="cpu", jit_options=INLINE)
    def _cpu(x):
        impl = kernel_for(x, kernel)
        if impl is not None:
            return lambda x: impl(x, stubs.zero_like(x))


for _stub, _kernel in ((stubs.expm1_hilo, "expm1_hilo"), (stubs.exp_hilo, "exp_hilo"),
                       (stubs.exp_hilo_nonpositive, "exp_hilo_nonpositive"),
                       (stubs.exp_hilo_wide, "exp_hilo_wide")):
    _register_hilo(_stub, _kernel)
for _stub, _kernel in ((stubs.scaled_expm1_hilo, "scaled_expm1_hilo"),
                       (stubs.scaled_expm1_hilo_nonpositive, "scaled_expm1_hilo_nonpositive"),
                       (stubs.scaled_expm1_hilo_wide, "scaled_expm1_hilo_wide")):
    _register_scaled_hilo(_stub, _kernel)
_register_pair(stubs.scaled_exp_pair, "scaled_exp_pair")
_register_pair(stubs.scaled_expm1_pair, "scaled_expm1_pair")
_register_scaled(stubs.scaled_exp, "scaled_exp", stubs.exp)
_register_scaled(stubs.scaled_expm1, "scaled_expm1", stubs.expm1)
_register_unary(stubs.expm1, "expm1_hilo_wide")
_register_unary(stubs.exp, "exp_hilo_wide")


@overload(stubs.fma, target="cpu", jit_options=INLINE)
def _fma_cpu(a, b, c):
    return lambda a, b, c: llvm_fma(a, b, c)


@overload(stubs.pair_times, target="cpu", jit_options=INLINE)
def _pair_times_cpu(factor, factor_lo, x):
    if isinstance(x, types.Float) and factor == x and factor_lo == x:
        return lambda factor, factor_lo, x: muladd(factor, x, factor_lo * x)


@overload(stubs.nonpositive_part, target="cpu", jit_options=INLINE)
def _nonpositive_part_cpu(x):
    if isinstance(x, types.Float):
        return lambda x: llvm_minnum(x, stubs.zero_like(x))
