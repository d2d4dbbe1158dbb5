"""LLVM instructions that Numba does not expose, as ``@intrinsic`` functions for the CPU kernels.

Bit casts between a float and the integer of its width (to build ``2**k`` from exponent bits),
``llvm.fma`` (rounded once), ``llvm.fmuladd`` (fused where the CPU has it, for polynomial steps
whose error bound holds either way), ``llvm.minnum`` and a branch-free ``select``.  Each is one
LLVM instruction, so the formulas that use them stay straight-line code that LLVM vectorises
once inlined into a loop.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic, overload

from numelu._math_stubs import select


@intrinsic
def llvm_select(typingctx, condition, if_true, if_false):
    """LLVM's ``select``: ``if_true if condition else if_false`` without a branch."""
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
    return lambda condition, if_true, if_false: llvm_select(condition, if_true, if_false)


# ---------------------------------------------------------------------------------------------
# Bit casts, fused multiply-adds and minnum.

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
def llvm_fma(typingctx, a, b, c):
    """LLVM's ``fma``: ``a*b + c`` rounded once (a library call where the CPU has no FMA)."""
    if not (a == b == c and isinstance(a, types.Float)):
        return None

    def codegen(context, builder, signature, args):
        return _call_llvm_float("llvm.fma", context, builder, a, args)

    return a(a, b, c), codegen


@intrinsic
def llvm_minnum(typingctx, a, b):
    """LLVM's ``minnum``: the smaller of ``a`` and ``b``, the number where one is NaN."""
    if not (a == b and isinstance(a, types.Float)):
        return None

    def codegen(context, builder, signature, args):
        return _call_llvm_float("llvm.minnum", context, builder, a, args)

    return a(a, b), codegen


@intrinsic
def muladd(typingctx, a, b, c):
    """``a*b + c``, fused into one FMA where the CPU has it (LLVM's ``fmuladd``), else rounded
    twice: for polynomial steps whose error bound holds either way."""
    if not (a == b == c and isinstance(a, types.Float)):
        return None

    def codegen(context, builder, signature, args):
        return _call_llvm_float("llvm.fmuladd", context, builder, a, args)

    return a(a, b, c), codegen
