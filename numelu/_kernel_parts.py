"""What every compiled kernel and inner loop shares: compile options, the block size, stack
blocks, the flag bits of a result, the overlap tests, and the C signature of a kernel.

A *kernel* computes one function for one float type over elements ``[start, stop)`` of the
operands an inner loop was handed (``_kernel_body``, ``_half_kernel``); the *inner loops* NumPy
calls (``_loops``) find it through their ``data`` pointer and call it by address.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir
from numba import njit, types
from numba.core.extending import intrinsic

from numelu._fpenv import FE_DIVBYZERO, FE_INVALID, FE_OVERFLOW

#: Elements per block: the unit in which results are looked at again when the kernel's test
#: fires, and of the stack buffer that holds an in-place call's results (8 KiB).  A multiple
#: of every SIMD width times LLVM's interleave, and a divisor of ``_loops.PARALLEL_CHUNK``.
BLOCK = 1024

#: Compile options of every piece: NumPy's error model (a division by zero gives inf/nan as in
#: NumPy, never a Python exception inside a C callback).
JIT_OPTIONS = {"error_model": "numpy"}


def jit(function: Callable, name: str, **options):
    """``njit`` ``function`` under a name unique to this loop.

    Numba names compiled closures after their qualified name plus a per-process counter; two
    loops compiled in different processes into the same on-disk cache would otherwise share
    symbol names and, loaded together, run each other's code.
    """
    function.__name__ = function.__qualname__ = name
    return njit(**JIT_OPTIONS, **options)(function)


@intrinsic
def stack_block(typingctx):
    """The address of ``BLOCK * 8`` bytes on the stack (an ``alloca`` in the entry block): room
    for one block of any element type."""

    def codegen(context, builder, signature, args):
        with builder.goto_entry_block():     # not cgutils.alloca_once: that zero-fills it
            slot = builder.alloca(ir.ArrayType(ir.DoubleType(), BLOCK))
        return builder.ptrtoint(slot, context.get_value_type(types.intp))

    return types.intp(), codegen


@intrinsic
def or_nonfinite(typingctx, acc, value):
    """``acc | bits(value - value)``, with ``acc`` an integer as wide as the float ``value``:
    nonzero once some ``value`` is inf or NaN (``value - value`` is +0 for any finite value, NaN
    otherwise).  Two vector instructions, no compare: the loop keeps its vector registers."""
    if not (isinstance(value, types.Float) and isinstance(acc, types.Integer)
            and acc.bitwidth == value.bitwidth):
        return None

    def codegen(context, builder, signature, args):
        total, v = args
        return builder.or_(total, builder.bitcast(builder.fsub(v, v), total.type))

    return acc(acc, value), codegen


def exception_bits(overflow, invalid, divide):
    """The ``_fpenv`` flag bits for three booleans."""
    return ((FE_OVERFLOW if overflow else 0) | (FE_INVALID if invalid else 0)
            | (FE_DIVBYZERO if divide else 0))


exception_bits = njit(**JIT_OPTIONS, nogil=True)(exception_bits)


def _make_apart(item: int):
    """``apart(a, s, out, so, n)``: may the elements of an input (address ``a``, stride ``s``)
    and of ``out`` be computed in any order, as the threads do?  Yes if the input is ``out``
    element for element, or shares no byte with it; not for a reduction (``out`` of stride 0)
    or an accumulate (``out`` one element behind its input)."""

    def apart(a, s, out, so, n):
        if so == 0:
            return False
        if a == out and s == so:
            return True
        first, last = a, a + (n - 1) * s
        low, high = (first, last) if s >= 0 else (last, first)
        first, last = out, out + (n - 1) * so
        out_low, out_high = (first, last) if so >= 0 else (last, first)
        return high + item <= out_low or out_high + item <= low

    apart.__name__ = apart.__qualname__ = f"numelu_apart_{item}"
    return njit(**JIT_OPTIONS, inline="always")(apart)


_APART = {item: _make_apart(item) for item in (2, 4, 8)}


def _make_inputs_apart(item: int, nin: int):
    """``inputs_apart(a0, a1, a2, s0, s1, s2, out, so, start, n)``: :func:`_make_apart`'s test
    for each of the ``nin`` inputs and ``out`` over elements ``[start, start + n)``."""
    apart = _APART[item]

    def inputs_apart(a0, a1, a2, s0, s1, s2, out, so, start, n):
        first_out = out + start * so
        return (apart(a0 + start * s0, s0, first_out, so, n)
                and (nin < 2 or apart(a1 + start * s1, s1, first_out, so, n))
                and (nin < 3 or apart(a2 + start * s2, s2, first_out, so, n)))

    inputs_apart.__name__ = inputs_apart.__qualname__ = f"numelu_inputs_apart_{item}_{nin}"
    return njit(**JIT_OPTIONS, inline="always")(inputs_apart)


#: ``inputs_apart`` per (item size, number of inputs).
INPUTS_APART = {(item, nin): _make_inputs_apart(item, nin)
                for item in (2, 4, 8) for nin in (1, 2, 3)}


#: The C signature of a compiled kernel (a function's, ``_kernel_body``, or a float16 one,
#: ``_half_kernel``, behind a ``cfunc``): ``bits = kernel(inner, a0, a1, a2, out, s0, s1, s2,
#: so, start, stop, saved)``: ``inner`` is the second word of the loop's ``data`` (the float32
#: kernel a float16 kernel runs; unused otherwise), ``saved`` the thread's floating-point state
#: on entry, ``bits`` the flags its results call for.
KERNEL_SIGNATURE = types.int32(*([types.intp] * 11), types.int32)


@intrinsic
def call_kernel(typingctx, address, inner, a0, a1, a2, out, s0, s1, s2, so, start, stop,
                saved):
    """Call the compiled kernel at ``address`` (a ``cfunc`` of :data:`KERNEL_SIGNATURE`)."""

    def codegen(context, builder, signature, args):
        word, flags = context.get_value_type(types.intp), ir.IntType(32)
        kernel_type = ir.FunctionType(flags, [word] * 11 + [flags])
        return builder.call(builder.inttoptr(args[0], kernel_type.as_pointer()), args[1:])

    return KERNEL_SIGNATURE.return_type(types.intp, *KERNEL_SIGNATURE.args), codegen


