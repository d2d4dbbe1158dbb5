"""Keep numelu's compiled loops from leaving floating-point exception flags behind.

NumPy reads the FPU's exception flags after every ufunc call and turns them into
``RuntimeWarning``s.  The vectorised kernels compute every branch for every lane and select
afterwards, and x86 vector compares signal "invalid" on a quiet NaN; so a valid input (a NaN, an
inf, a large positive x with a tiny alpha) could raise flags for results that are exactly right.
Each inner loop therefore saves the flags on entry and restores them on exit: whatever NumPy's
own casting loops raised in the same call is kept, and numelu's kernels add nothing.  (Results
follow SPEC section 2 whatever the flags; invalid parameters such as a zero inside an array
``alpha`` give inf/NaN silently.)
"""

from __future__ import annotations

import ctypes.util
import platform

from llvmlite import binding, ir
from numba import types
from numba.core.extending import intrinsic

#: FE_ALL_EXCEPT of the C library (fenv.h): x86 uses bit 1 (denormal) differently from ARM.
FE_ALL_EXCEPT = 0x1F if platform.machine().lower() in ("aarch64", "arm64") else 0x3D

_libm = ctypes.util.find_library("m")
if _libm:
    binding.load_library_permanently(_libm)


def _declare(module: ir.Module, name: str) -> ir.Function:
    try:
        return module.get_global(name)
    except KeyError:
        return ir.Function(module, ir.FunctionType(ir.IntType(32), [ir.IntType(32)]), name)


@intrinsic
def save_fp_flags(typingctx):
    """The FPU exception flags now set (``fetestexcept(FE_ALL_EXCEPT)``)."""

    def codegen(context, builder, signature, args):
        mask = ir.Constant(ir.IntType(32), FE_ALL_EXCEPT)
        return builder.call(_declare(builder.module, "fetestexcept"), [mask])

    return types.int32(), codegen


@intrinsic
def restore_fp_flags(typingctx, saved):
    """Clear every FPU exception flag, then set exactly those in ``saved``."""

    def codegen(context, builder, signature, args):
        mask = ir.Constant(ir.IntType(32), FE_ALL_EXCEPT)
        builder.call(_declare(builder.module, "feclearexcept"), [mask])
        builder.call(_declare(builder.module, "feraiseexcept"), [args[0]])
        return context.get_dummy_value()

    return types.void(types.int32), codegen
