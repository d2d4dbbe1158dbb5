"""Typed loads and stores at byte offsets from a raw address, for ufunc inner loops.

NumPy hands an inner loop ``char **args`` and byte strides; these LLVM intrinsics read and write
one element at ``address + offset`` (unaligned-safe), so one loop body serves contiguous, strided
and broadcast (stride 0) operands.  Addresses travel as plain integers, which Numba's parallel
loops can pass to their worker functions.  float16 is widened to float32 on load and rounded once
on store.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic

from numelu._half import float_to_half, half_to_float, native_half

_BYTE_PTR = ir.IntType(8).as_pointer()


@intrinsic
def address_of(typingctx, pointer):
    """The integer address held by a ``void*``."""
    if pointer != types.voidptr:
        return None

    def codegen(context, builder, signature, args):
        return builder.ptrtoint(args[0], context.get_value_type(types.intp))

    return types.intp(pointer), codegen


@intrinsic
def load_word(typingctx, address, offset):
    """The ``intp`` at ``address + offset`` bytes."""

    def codegen(context, builder, signature, args):
        word = context.get_value_type(types.intp)
        return builder.load(_element_pointer(builder, *args, word), align=1)

    return types.intp(types.intp, types.intp), codegen


def _element_pointer(builder: ir.IRBuilder, address: ir.Value, offset: ir.Value, storage: ir.Type):
    byte_pointer = builder.gep(builder.inttoptr(address, _BYTE_PTR), [offset])
    return builder.bitcast(byte_pointer, storage.as_pointer())


def _widen(context, builder: ir.IRBuilder, pointer: ir.Value) -> ir.Value:
    """The float16 at ``pointer`` as a float32 (on the bits where the target lacks F16C)."""
    if native_half(context):
        return builder.fpext(builder.load(pointer, align=1), ir.FloatType())
    bits = builder.load(builder.bitcast(pointer, ir.IntType(16).as_pointer()), align=1)
    return half_to_float(builder, bits)


def _make_load(storage: ir.Type, value_type: types.Float):
    @intrinsic
    def load(typingctx, address, offset):
        def codegen(context, builder, signature, args):
            if isinstance(storage, ir.HalfType):
                return _widen(context, builder, _element_pointer(builder, *args, storage))
            return builder.load(_element_pointer(builder, *args, storage), align=1)

        return value_type(types.intp, types.intp), codegen

    return load


def _make_store(storage: ir.Type, value_type: types.Float):
    @intrinsic
    def store(typingctx, address, offset, value):
        def codegen(context, builder, signature, args):
            converted = context.cast(builder, args[2], signature.args[2], value_type)
            pointer = _element_pointer(builder, args[0], args[1], storage)
            if isinstance(storage, ir.HalfType):
                if not native_half(context):
                    pointer = builder.bitcast(pointer, ir.IntType(16).as_pointer())
                    converted = float_to_half(builder, converted)
                else:
                    converted = builder.fptrunc(converted, storage)
            builder.store(converted, pointer, align=1)
            return context.get_dummy_value()

        return types.void(types.intp, types.intp, value), codegen

    return store


#: (load, store, itemsize) per NumPy type character; float16 computes in float32.
ACCESSORS = {
    "e": (_make_load(ir.HalfType(), types.float32), _make_store(ir.HalfType(), types.float32), 2),
    "f": (_make_load(ir.FloatType(), types.float32), _make_store(ir.FloatType(), types.float32), 4),
    "d": (_make_load(ir.DoubleType(), types.float64), _make_store(ir.DoubleType(), types.float64), 8),
}
