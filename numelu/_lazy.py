"""The JIT's kernels, each compiled on the first call that needs it.

A CPU ufunc has a loop for every float type, but compiling a function's kernel for a type that
is never called costs a second or more.  So, with the JIT, the ``data`` words NumPy hands a
loop name a *stand-in* kernel (one per process, shared by every function and type) at first:
``[stand-in, address of these words, kernel, inner]``, the last two 0.  The stand-in reads the
last two; while they are 0 it calls back into Python (:func:`_resolve`, under the GIL, in the
thread that runs the loop), which compiles the real kernel (and, for float16, the function's
float32 kernel), and publishes them there.  Later calls run the real kernel: directly where it
needs no ``inner`` argument (the loop's first word is replaced), else through the stand-in.

Nothing raised inside NumPy's inner loop can reach the caller, so: a Ctrl-C while compiling is
handed back as a signal (``PyErr_SetInterruptEx``), raised as KeyboardInterrupt as soon as the
call returns; any other error is printed by ctypes (``sys.unraisablehook``) and the call raises
"invalid" (NumPy's RuntimeWarning), its results unwritten; either way the next call compiles
again.  The threaded loop runs the kernel once on no elements before splitting the work
(``_loops``), so compiling happens in the calling thread.  Flags raised while compiling are
lowered before the kernel runs; the loop puts the caller's back afterwards.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading

import numpy as np
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.core.ccallback import CFunc
from numba.core.extending import intrinsic

from numelu._fpenv import FE_INVALID, clear_fp_flags
from numelu._functions import FunctionSpec
from numelu._kernel_parts import KERNEL_SIGNATURE, call_kernel, stack_block
from numelu._pointers import _element_pointer, load_word

#: The symbol the stand-in calls :func:`_resolve` by (registered with LLVM in every process, so
#: that a stand-in loaded from the disk cache finds this process's callback).
RESOLVE_SYMBOL = "numelu_lazy_resolve"

#: What :func:`_resolve` returns (0 also when it raised: ctypes then returns 0).
FAILED, READY, INTERRUPTED = 0, 1, 2

_WORD = ir.IntType(64)


@intrinsic
def _call_resolve(typingctx, words, pair):
    """``numelu_lazy_resolve(words, pair)``: :func:`_resolve` through its ctypes callback."""

    def codegen(context, builder, signature, args):
        callee = ir.FunctionType(ir.IntType(32), [_WORD, _WORD])
        function = cgutils.get_or_insert_function(builder.module, callee, RESOLVE_SYMBOL)
        return builder.call(function, args)

    return types.int32(types.intp, types.intp), codegen


@intrinsic
def _interrupt(typingctx):
    """``PyErr_SetInterruptEx(SIGINT)``: a Ctrl-C for Python to raise once the call returns
    (async-signal-safe: no GIL needed)."""

    def codegen(context, builder, signature, args):
        callee = ir.FunctionType(ir.IntType(32), [ir.IntType(32)])
        function = cgutils.get_or_insert_function(builder.module, callee, "PyErr_SetInterruptEx")
        return builder.call(function, [ir.Constant(ir.IntType(32), int(signal.SIGINT))])

    return types.int32(), codegen


@intrinsic
def _published(typingctx, words):
    """The kernel published in ``words`` (0: none yet); an acquire load, so that the ``inner``
    word written before it is seen too."""

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(builder, args[0], ir.Constant(_WORD, 16), _WORD)
        return builder.load_atomic(pointer, "acquire", 8)

    return types.intp(types.intp), codegen


@intrinsic
def _publish(typingctx, words, offset, value):
    """Store ``value`` at ``words + offset`` with release order: whatever was written before is
    seen by a thread that reads it back with an acquire load."""

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(builder, args[0], args[1], _WORD)
        builder.store_atomic(args[2], pointer, "release", 8)
        return context.get_dummy_value()

    return types.void(types.intp, types.intp, types.intp), codegen


def _stand_in(words, a0, a1, a2, out, s0, s1, s2, so, start, stop, saved):
    """The kernel of a slot not compiled yet (``inner``: the slot's words): compiles it through
    :func:`_resolve` on first use, then runs it."""
    kernel = _published(words)
    if kernel != 0:
        return call_kernel(kernel, load_word(words, 24), a0, a1, a2, out, s0, s1, s2, so,
                           start, stop, saved)
    pair = stack_block()
    status = _call_resolve(words, pair)
    if status != READY:
        if status == INTERRUPTED:
            _interrupt()
        return np.int32(FE_INVALID)
    kernel, inner = load_word(pair, 0), load_word(pair, 8)
    _publish(words, 24, inner)
    _publish(words, 16, kernel)
    if inner == 0:                          # the loop may call this one itself from now on
        _publish(words, 0, kernel)
    clear_fp_flags(saved)                   # whatever compiling raised
    return call_kernel(kernel, inner, a0, a1, a2, out, s0, s1, s2, so, start, stop, saved)


_lock = threading.RLock()
#: address of a slot's words -> (its words, the function, the type character)
_slots: dict[int, tuple[ctypes.Array, FunctionSpec, str]] = {}
#: (function name, type character) -> the address of its words
_by_key: dict[tuple[str, str], int] = {}
_STAND_IN: list[CFunc] = []


def _resolve(words: int, pair: int) -> int:
    """Compile the kernel of the slot at ``words`` (once per process) and write its two words,
    the kernel and its ``inner`` argument, at ``pair``.  An exception other than
    KeyboardInterrupt is left to ctypes, which reports it and returns 0 (:data:`FAILED`)."""
    from numelu import _loops

    try:
        with _lock:
            _, spec, char = _slots[words]
            if char == "e":
                compiled = (_loops.half_kernel(spec.nin).address,
                            _loops.function_kernel(spec, "f").address)
            else:
                compiled = (_loops.function_kernel(spec, char).address, 0)
    except KeyboardInterrupt:
        return INTERRUPTED
    (ctypes.c_ssize_t * 2).from_address(pair)[:] = compiled
    return READY


_RESOLVE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_ssize_t, ctypes.c_ssize_t)(_resolve)
binding.add_symbol(RESOLVE_SYMBOL, ctypes.cast(_RESOLVE, ctypes.c_void_p).value)


def _stand_in_address() -> int:
    """The stand-in, compiled (or loaded from the disk cache) once per process."""
    if not _STAND_IN:
        from numelu import _loops

        _stand_in.__qualname__ = _stand_in.__name__ = "numelu_lazy_kernel"
        _STAND_IN.append(_loops._compile_cached(_stand_in, KERNEL_SIGNATURE))
    return _STAND_IN[0].address


def data_address(spec: FunctionSpec, char: str) -> int:
    """The address of the ``data`` words of ``spec``'s loop for ``char``, its kernel compiled on
    first use (see the module's text).  Kept for the process."""
    with _lock:
        address = _by_key.get((spec.name, char))
        if address is None:
            words = (ctypes.c_ssize_t * 4)()
            address = ctypes.addressof(words)
            words[0], words[1] = _stand_in_address(), address
            _slots[address] = (words, spec, char)
            _by_key[spec.name, char] = address
        return address


def compiled(spec: FunctionSpec, char: str) -> bool:
    """Has the kernel behind ``spec``'s loop for ``char`` been published yet?"""
    address = _by_key.get((spec.name, char))
    return address is not None and _slots[address][0][2] != 0


def _reset_lock() -> None:
    """A fork while another thread held the lock leaves the child's copy held forever."""
    global _lock
    _lock = threading.RLock()


os.register_at_fork(after_in_child=_reset_lock)
