"""Keep numelu's compiled loops from leaving floating-point exception flags behind.

NumPy reads the FPU's exception flags after every ufunc call and turns them into
``RuntimeWarning``s.  The vectorised kernels compute every branch for every lane and select
afterwards, and x86 vector compares signal "invalid" on a quiet NaN; so a valid input (a NaN, an
inf, a large positive x with a tiny alpha) could raise flags for results that are exactly right.
Each inner loop therefore saves the flags on entry and restores them on exit: whatever NumPy's
own casting loops raised in the same call is kept, and numelu's kernels add nothing.  (Results
follow SPEC section 2 whatever the flags; invalid parameters such as a zero inside an array
``alpha`` give inf/NaN silently.)

On x86-64 the kernels' arithmetic is SSE/AVX only, so its flags live in the MXCSR register:
saving is one ``stmxcsr`` and restoring one ``ldmxcsr`` of the saved word (rounding mode and
masks cannot have changed in between).  That costs a few cycles, where the C library's
``feclearexcept`` also saves and reloads the whole x87 environment (about 0.1 us per call, which
is a third of a 100-element call).  Elsewhere the C library's ``fetestexcept`` /
``feclearexcept`` / ``feraiseexcept`` are used.
"""

from __future__ import annotations

import ctypes.util
import platform

from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.core.extending import intrinsic

_MACHINE = platform.machine().lower()

#: The loops save and restore the SSE control/status register directly (x86-64 only).
USE_MXCSR = _MACHINE in ("x86_64", "amd64")

#: FE_ALL_EXCEPT of the C library (fenv.h): x86 uses bit 1 (denormal) differently from ARM.
FE_ALL_EXCEPT = 0x1F if _MACHINE in ("aarch64", "arm64") else 0x3D

_I32 = ir.IntType(32)

if not USE_MXCSR:
    _libm = ctypes.util.find_library("m")
    if _libm:
        binding.load_library_permanently(_libm)


def _declare(module: ir.Module, name: str, return_type: ir.Type, argument: ir.Type
             ) -> ir.Function:
    try:
        return module.get_global(name)
    except KeyError:
        return ir.Function(module, ir.FunctionType(return_type, [argument]), name)


def _mxcsr_slot(builder: ir.IRBuilder) -> tuple[ir.Value, ir.Value]:
    """A 4-byte stack slot for the register and the ``i8*`` the intrinsics take."""
    slot = cgutils.alloca_once(builder, _I32)      # in the entry block
    return slot, builder.bitcast(slot, ir.IntType(8).as_pointer())


def _mxcsr_call(builder: ir.IRBuilder, name: str, pointer: ir.Value) -> None:
    builder.call(_declare(builder.module, f"llvm.x86.sse.{name}", ir.VoidType(),
                          ir.IntType(8).as_pointer()), [pointer])


@intrinsic
def save_fp_flags(typingctx):
    """The floating-point state to restore on exit: MXCSR on x86-64, else
    ``fetestexcept(FE_ALL_EXCEPT)``."""

    def codegen(context, builder, signature, args):
        if USE_MXCSR:
            slot, pointer = _mxcsr_slot(builder)
            _mxcsr_call(builder, "stmxcsr", pointer)
            return builder.load(slot)
        mask = ir.Constant(_I32, FE_ALL_EXCEPT)
        return builder.call(_declare(builder.module, "fetestexcept", _I32, _I32), [mask])

    return types.int32(), codegen


@intrinsic
def restore_fp_flags(typingctx, saved):
    """Put back the exception flags of ``saved`` (from :func:`save_fp_flags`), dropping any
    raised since."""

    def codegen(context, builder, signature, args):
        if USE_MXCSR:
            slot, pointer = _mxcsr_slot(builder)
            builder.store(args[0], slot)
            _mxcsr_call(builder, "ldmxcsr", pointer)
        else:
            mask = ir.Constant(_I32, FE_ALL_EXCEPT)
            builder.call(_declare(builder.module, "feclearexcept", _I32, _I32), [mask])
            builder.call(_declare(builder.module, "feraiseexcept", _I32, _I32), [args[0]])
        return context.get_dummy_value()

    return types.void(types.int32), codegen
