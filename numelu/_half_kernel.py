"""The float16 kernel, one per number of inputs, shared by every function.

It widens each block of inputs to float32 on the stack, runs the function's float32 kernel on
it (called by address: the ``inner`` argument) and rounds the results once to float16 into
``out``, as NumPy computes a float16 loop: in float32, rounded once.

Flags: the float32 kernel's, plus overflow for a finite float32 result from finite inputs that
rounds to inf.  A reduction or an accumulate (``out`` is, or runs one element behind, an input)
goes element by element, each result stored before the next one's inputs are read; every other
overlap is an input that is ``out`` element for element, which a block widened before its
results are stored leaves intact.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic

from numelu._fpenv import FE_OVERFLOW, clear_fp_flags
from numelu._half import float_to_half, half_to_float, native_half
from numelu._kernel_parts import BLOCK, INPUTS_APART, call_kernel, jit, or_nonfinite, stack_block
from numelu._pointers import ACCESSORS

_LOAD_HALF, _STORE_HALF, _HALF_ITEM = ACCESSORS["e"]
_LOAD, _STORE, _ITEM = ACCESSORS["f"]
_INF = np.float32(np.inf)


@intrinsic
def round_to_half(typingctx, value):
    """The float32 ``value`` rounded to float16, as a float32 (exactly the stored float16)."""
    if value != types.float32:
        return None

    def codegen(context, builder, signature, args):
        if native_half(context):
            return builder.fpext(builder.fptrunc(args[0], ir.HalfType()), ir.FloatType())
        return half_to_float(builder, float_to_half(builder, args[0]))

    return types.float32(value), codegen


def _widen(a, s, buffer, start, stop):
    """Elements ``[start, stop)`` of a float16 operand as float32 in ``buffer``; returns the
    stride to read them there with (0 for a broadcast operand: one element)."""
    if s == 0:
        _STORE(buffer, 0, _LOAD_HALF(a, 0))
        return 0
    if s == _HALF_ITEM:                     # a constant stride: this loop vectorises
        for i in range(start, stop):
            _STORE(buffer, (i - start) * _ITEM, _LOAD_HALF(a, i * _HALF_ITEM))
    else:
        for i in range(start, stop):
            _STORE(buffer, (i - start) * _ITEM, _LOAD_HALF(a, i * s))
    return _ITEM


def _narrow(results, out, so, start, stop):
    """Store the float32 results as float16; True if one of the stored values is inf or NaN
    (two vector instructions per element: the loop stays vectorised)."""
    tested = np.int32(0)
    if so == _HALF_ITEM:                    # a constant stride: this loop vectorises
        for i in range(start, stop):
            rounded = round_to_half(_LOAD(results, (i - start) * _ITEM))
            _STORE_HALF(out, i * _HALF_ITEM, rounded)
            tested = or_nonfinite(tested, rounded)
    else:
        for i in range(start, stop):
            rounded = round_to_half(_LOAD(results, (i - start) * _ITEM))
            _STORE_HALF(out, i * so, rounded)
            tested = or_nonfinite(tested, rounded)
    return tested != 0


def _overflowed(results, b0, b1, b2, k0, k1, k2, n):
    """Did a finite float32 result from finite inputs round to inf (element by element, for a
    block where :func:`_narrow`'s test fired)?"""
    for j in range(n):
        r = _LOAD(results, j * _ITEM)
        if (abs(round_to_half(r)) == _INF and abs(r) < _INF and abs(_LOAD(b0, j * k0)) < _INF
                and abs(_LOAD(b1, j * k1)) < _INF and abs(_LOAD(b2, j * k2)) < _INF):
            return True
    return False


_widen = jit(_widen, "numelu_half_widen", inline="always")
_narrow = jit(_narrow, "numelu_half_narrow", inline="always")
_overflowed = jit(_overflowed, "numelu_half_overflowed")


def make_half_kernel(nin: int):
    """The float16 kernel of every function of ``nin`` inputs, of ``KERNEL_SIGNATURE``'s
    arguments (to be compiled behind a ``cfunc`` by ``_loops``)."""
    inputs_apart = INPUTS_APART[_HALF_ITEM, nin]
    widen, narrow, overflowed, item = _widen, _narrow, _overflowed, _ITEM

    def kernel(inner, a0, a1, a2, out, s0, s1, s2, so, start, stop, saved):
        chained = not inputs_apart(a0, a1, a2, s0, s1, s2, out, so, start, stop - start)
        step = 1 if chained else BLOCK
        b0, b1, b2, results = stack_block(), stack_block(), stack_block(), stack_block()
        bits = np.int32(0)
        overflow = False
        for block in range(start, stop, step):
            end = min(block + step, stop)
            k0 = widen(a0, s0, b0, block, end)
            k1 = widen(a1, s1, b1, block, end) if nin >= 2 else k0
            k2 = widen(a2, s2, b2, block, end) if nin >= 3 else k1
            c1 = b1 if nin >= 2 else b0
            c2 = b2 if nin >= 3 else c1
            bits |= call_kernel(inner, 0, b0, c1, c2, results, k0, k1, k2, item, 0,
                                end - block, saved)
            if narrow(results, out, so, block, end) and not overflow:
                overflow = overflowed(results, b0, c1, c2, k0, k1, k2, end - block)
            clear_fp_flags(saved)           # the rounding raises flags of its own
        return bits | (FE_OVERFLOW if overflow else 0)

    kernel.__qualname__ = kernel.__name__ = f"numelu_half{nin}_kernel"
    return kernel
