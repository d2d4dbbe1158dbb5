"""NumPy ufunc inner loops compiled from numelu's scalar formulas.

Each function has one compiled kernel per float type (:func:`segment_kernel`, a Numba ``cfunc``
for float32 and for float64) over elements ``[start, stop)``.  It picks, per call:

* all operands contiguous: a unit-stride loop that LLVM vectorises;
* contiguous data with a broadcast scalar ``alpha`` (stride 0): alpha is loaded once and the loop
  vectorises -- Numba's own ufunc loops drop to the scalar strided path here;
* anything else: the general strided loop, correct for every stride NumPy hands over (including
  a strided or reversed ``out``, which Numba's ufunc loops get wrong);
* ``out`` overlapping an input without being it element for element (a reduction, an
  accumulate, ``f(b[1:], out=b[:-1])``): element by element, in order.

float16 has no kernel of its own: :func:`half_kernel` (one per number of inputs, shared by every
function) widens each block of inputs to float32 on the stack, runs the function's float32
kernel on it and rounds the results once to float16, as NumPy computes float16.

The inner loops that NumPy calls (``void loop(char **args, npy_intp *dimensions, npy_intp
*steps, void *data)``) are generic too, one per number of inputs, item size and target: each
calls the kernel whose address NumPy hands it in ``data``.  So a function's threaded ufunc
compiles no formula that its serial one compiled (or the other way round), and the threaded
driver, which splits long runs over Numba's threads with ``prange``, is compiled once for all.

Floating-point flags (``_fpenv``): a loop reports exactly the genuine errors of its results.
The kernels run block by block (:data:`BLOCK` elements); after each block the thread's error
flags are read (one ``stmxcsr``), and only where the block's arithmetic raised one are its
results looked at again, element by element against the inputs of each (:func:`make_check`).
Valid inf or NaN data costs that second look, for the blocks that hold it; clean data costs
nothing per element.  In place (``out`` is one of the inputs), each block's results go to a
stack buffer first and are copied to ``out`` after that look, so that the inputs are still
there for it; this also lets every in-place call vectorise.

Everything is cached on disk; the cache key is a fingerprint of numelu's sources, so an upgrade
never reuses a stale kernel.
"""

from __future__ import annotations

import ctypes
import math
import threading
from collections.abc import Callable

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import sigutils
from numba.core.ccallback import CFunc
from numba.core.extending import intrinsic
from numba.np.ufunc.parallel import _launch_threads

from numelu._fpenv import (
    ERROR_FLAGS,
    FE_DIVBYZERO,
    FE_INVALID,
    FE_OVERFLOW,
    clear_fp_flags,
    raised_fp_flags,
    restore_fp_flags,
    save_fp_flags,
)
from numelu._functions import FunctionSpec
from numelu._half import float_to_half, half_to_float, native_half
from numelu._pointers import ACCESSORS, address_of, load_word
from numelu._safety import leave_parallel_region, try_enter_parallel_region
from numelu._sources import kernel_fingerprint

LOOP_SIGNATURE = types.void(
    types.CPointer(types.voidptr), types.CPointer(types.intp), types.CPointer(types.intp),
    types.voidptr,
)

#: Elements per task of the threaded loop: large enough to amortise scheduling, a multiple of
#: every SIMD width.
PARALLEL_CHUNK = 1 << 15

#: Elements per block: the unit in which results are looked at again when the kernel's test
#: fires, and of the stack buffer that holds an in-place call's results (8 KiB).  A multiple
#: of every SIMD width times LLVM's interleave, and a divisor of PARALLEL_CHUNK.
BLOCK = 1024


#: Off while precompiled libraries are built: their code is taken from the compiled IR, which a
#: piece loaded from the disk cache no longer has.
DISK_CACHE = True

#: The disk-cache key of every compiled piece: a hash of the sources that end up in them.
FINGERPRINT = kernel_fingerprint()


#: Compile options of every piece of a loop: NumPy's error model (a division by zero gives
#: inf/nan as in NumPy, never a Python exception inside a C callback).
_JIT = {"error_model": "numpy"}


def _jit(function: Callable, name: str, **options):
    """``njit`` ``function`` under a name unique to this loop.

    Numba names compiled closures after their qualified name plus a per-process counter; two
    loops compiled in different processes into the same on-disk cache would otherwise share
    symbol names and, loaded together, run each other's code.
    """
    function.__name__ = function.__qualname__ = name
    return njit(**_JIT, **options)(function)


def _caller(formula: Callable, nin: int, prefix: str):
    """``call(v0, v1, v2)`` that applies ``formula`` to its first ``nin`` values."""
    if nin == 1:
        def call(v0, v1, v2):
            return formula(v0)
    elif nin == 2:
        def call(v0, v1, v2):
            return formula(v0, v1)
    else:
        def call(v0, v1, v2):
            return formula(v0, v1, v2)
    return _jit(call, f"{prefix}_call", inline="always")


@intrinsic
def _stack_block(typingctx):
    """The address of ``BLOCK * 8`` bytes on the stack (an ``alloca`` in the entry block): room
    for one block of any element type."""

    def codegen(context, builder, signature, args):
        with builder.goto_entry_block():     # not cgutils.alloca_once: that zero-fills it
            slot = builder.alloca(ir.ArrayType(ir.DoubleType(), BLOCK))
        return builder.ptrtoint(slot, context.get_value_type(types.intp))

    return types.intp(), codegen


@intrinsic
def _or_nonfinite(typingctx, acc, value):
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


def make_check(spec: FunctionSpec, char: str, prefix: str):
    """``check(r, v0, v1, v2) -> (overflow, invalid, divide)``: the genuine floating-point
    errors of one result ``r`` of ``spec``'s formula at inputs ``v0, v1, v2`` (the first
    ``spec.nin`` count), as NumPy evaluating the formula for that element reports them:

    * overflow: ``r`` is +-inf and every input is finite (and it is not a division by zero);
    * invalid: ``r`` is NaN and no input is NaN;
    * divide: the formula divides its x (y) by alpha on the branch a negative x takes
      (``spec.divides_by_alpha``), alpha is 0 and x is finite and negative.
    """
    nin = spec.nin
    divides = spec.divides_by_alpha
    real = np.float64 if char == "d" else np.float32
    inf, zero = real(math.inf), real(0.0)

    def check(r, v0, v1, v2):
        # & rather than ``and``: no branch, so that a loop over it vectorises
        finite = abs(v0) < inf
        numbers = v0 == v0
        if nin >= 2:
            finite = finite & (abs(v1) < inf)
            numbers = numbers & (v1 == v1)
        if nin >= 3:
            finite = finite & (abs(v2) < inf)
            numbers = numbers & (v2 == v2)
        divide = False
        if divides:
            x, alpha = (v0, v1) if nin == 2 else (v1, v2)
            divide = (alpha == zero) & (x < zero) & (x > -inf)
        overflow = (abs(r) == inf) & finite & (divide == False)  # noqa: E712
        invalid = (r != r) & numbers
        return overflow, invalid, divide

    return _jit(check, f"{prefix}_check", inline="always")


def _exception_bits(overflow, invalid, divide):
    """The ``_fpenv`` flag bits for three booleans."""
    return ((FE_OVERFLOW if overflow else 0) | (FE_INVALID if invalid else 0)
            | (FE_DIVBYZERO if divide else 0))


_exception_bits = njit(**_JIT, nogil=True)(_exception_bits)


def make_segment(spec: FunctionSpec, char: str, prefix: str):
    """The serial kernel over elements ``[start, stop)`` of one inner-loop call.

    Returns the ``_fpenv`` flag bits that its results call for (see :func:`make_check`).
    """
    load, store, item = ACCESSORS[char]
    call = _caller(spec.fast, spec.nin, prefix)
    # the formula on the wide exp kernels (CELU), for the results the fast one leaves inf early
    exact = _caller(spec.exact or spec.formula, spec.nin, f"{prefix}_exact")
    has_exact = spec.exact is not None
    check = make_check(spec, char, prefix)
    inputs_apart = _inputs_apart[item, spec.nin]
    nin = spec.nin
    has_alpha = spec.has_alpha
    divides = spec.divides_by_alpha
    zero = (np.float64 if char == "d" else np.float32)(0.0)

    # The kernels store the results; the thread's flags then tell whether some of them call
    # for a second look.
    def contiguous(a0, a1, a2, out, start, stop):
        for i in range(start, stop):
            off = i * item
            v0, v1, v2 = load(a0, off), load(a1, off), load(a2, off)
            store(out, off, call(v0, v1, v2))

    def scalar_alpha(a0, a1, a2, out, start, stop):
        alpha = load(a2 if nin == 3 else a1, 0)
        for i in range(start, stop):
            off = i * item
            v1 = alpha if nin == 2 else load(a1, off)
            store(out, off, call(load(a0, off), v1, alpha))

    def strided(a0, a1, a2, out, s0, s1, s2, so, start, stop):
        for i in range(start, stop):
            v0, v1, v2 = load(a0, i * s0), load(a1, i * s1), load(a2, i * s2)
            store(out, i * so, call(v0, v1, v2))

    def compute(variant, a0, a1, a2, out, s0, s1, s2, so, start, stop):
        if variant == 0:
            contiguous(a0, a1, a2, out, start, stop)
        elif variant == 1:
            scalar_alpha(a0, a1, a2, out, start, stop)
        else:
            strided(a0, a1, a2, out, s0, s1, s2, so, start, stop)

    def settle(r, v0, v1, v2, out, off):
        """The flags of the result ``r`` stored at ``out + off`` from inputs ``v0, v1, v2``
        (:func:`make_check`); an inf or NaN result of a formula with a wide form
        (``spec.exact``: CELU, whose fast kernels return inf 0.35 before exp's overflow) is
        first computed again with it and stored."""
        if has_exact and r - r != zero:
            store(out, off, exact(v0, v1, v2))
            r = load(out, off)
        return check(r, v0, v1, v2)

    def rescan(a0, a1, a2, out, s0, s1, s2, so, start, stop):
        """The flag bits of the results in ``[start, stop)``, element by element (only for a
        block where the kernel's test fired).  Only a result that is inf or NaN, or whose
        alpha is 0 in a formula that divides by it, can be an error: the others are passed over
        with one compare (NaN data leaves most of a block to pass over)."""
        overflow = invalid = divide = False
        for i in range(start, stop):
            r = load(out, i * so)
            alpha = load(a2, i * s2) if nin == 3 else load(a1, i * s1)
            if r - r == zero and not (divides and alpha == zero):
                continue
            v0, v1, v2 = load(a0, i * s0), load(a1, i * s1), load(a2, i * s2)
            o, n, d = settle(r, v0, v1, v2, out, i * so)
            overflow |= o
            invalid |= n
            divide |= d
        return _exception_bits(overflow, invalid, divide)

    def sequential(a0, a1, a2, out, s0, s1, s2, so, start, stop):
        """Element by element in order, each result stored before the next element's inputs
        are loaded, and its flags decided on the spot: for an ``out`` that overlaps an input
        without being it element for element, which NumPy passes for a reduction (``out`` of
        stride 0, also the first input: the running value) and where ``out`` runs behind an
        input (``accumulate``; ``f(b[1:], out=b[:-1])``): a block computed first would have
        overwritten inputs before their second look."""
        overflow = invalid = divide = False
        for i in range(start, stop):
            v0, v1, v2 = load(a0, i * s0), load(a1, i * s1), load(a2, i * s2)
            compute(2, a0, a1, a2, out, s0, s1, s2, so, i, i + 1)    # no copy of the formula
            o, n, d = settle(load(out, i * so), v0, v1, v2, out, i * so)
            overflow |= o
            invalid |= n
            divide |= d
        return _exception_bits(overflow, invalid, divide)

    def copy(results, out, so, start, stop):
        if so == item:                      # a constant stride: this loop vectorises
            for i in range(start, stop):
                store(out, i * item, load(results, i * item))
        else:
            for i in range(start, stop):
                store(out, i * so, load(results, i * item))

    contiguous = _jit(contiguous, f"{prefix}_contiguous", inline="always")
    scalar_alpha = _jit(scalar_alpha, f"{prefix}_scalar_alpha", inline="always")
    strided = _jit(strided, f"{prefix}_strided", inline="always")
    compute = _jit(compute, f"{prefix}_compute", nogil=True)
    rescan = _jit(rescan, f"{prefix}_rescan", nogil=True)
    sequential = _jit(sequential, f"{prefix}_sequential", nogil=True)
    copy = _jit(copy, f"{prefix}_copy", inline="always")
    settle = _jit(settle, f"{prefix}_settle", inline="always")

    def segment(a0, a1, a2, out, s0, s1, s2, so, start, stop, saved):
        """``saved``: the thread's floating-point state on entry (``save_fp_flags``); the
        caller restores it."""
        if not inputs_apart(a0, a1, a2, s0, s1, s2, out, so, start, stop - start):
            # a reduction (out of stride 0) or an accumulate (out one element behind an input):
            # each element's inputs are read after the result before it is stored
            return sequential(a0, a1, a2, out, s0, s1, s2, so, start, stop)
        data_contiguous = s0 == item and (nin < 3 or s1 == item)
        alpha_stride = s2 if nin == 3 else s1
        if so == item and data_contiguous and (nin == 1 or alpha_stride == item):
            variant = 0
        elif has_alpha and so == item and data_contiguous and alpha_stride == 0:
            variant = 1
        else:
            variant = 2
        # In place (out is an input, element for element), each block's results go to a stack
        # buffer first: the inputs stay intact for the second look, and the kernels see
        # distinct arrays.
        in_place = ((a0 == out and s0 == so) or (nin >= 2 and a1 == out and s1 == so)
                    or (nin >= 3 and a2 == out and s2 == so))
        buffer = _stack_block()
        if saved & ERROR_FLAGS:             # raised before (NumPy's casting): start clean
            clear_fp_flags(saved)
        bits = 0
        for block in range(start, stop, BLOCK):
            end = min(block + BLOCK, stop)
            results, step = (buffer - block * item, item) if in_place else (out, so)
            compute(variant, a0, a1, a2, results, s0, s1, s2, step, block, end)
            if raised_fp_flags() != 0:
                bits |= rescan(a0, a1, a2, results, s0, s1, s2, step, block, end)
                clear_fp_flags(saved)       # the test itself raises "invalid" on a NaN
            if in_place:
                copy(results, out, so, block, end)
        return bits

    return _jit(segment, f"{prefix}_segment", nogil=True)


#: The C signature of a compiled kernel (:func:`make_segment` behind a ``cfunc``): ``bits =
#: kernel(context, a0, a1, a2, out, s0, s1, s2, so, start, stop, saved)``; ``context`` is the
#: second word of the loop's ``data`` (the float16 kernel's float32 kernel; unused otherwise).
SEGMENT_SIGNATURE = types.int32(*([types.intp] * 11), types.int32)


@intrinsic
def call_segment(typingctx, address, context, a0, a1, a2, out, s0, s1, s2, so, start, stop,
                 saved):
    """Call the compiled kernel at ``address`` (a ``cfunc`` of :data:`SEGMENT_SIGNATURE`)."""

    def codegen(context, builder, signature, args):
        word, flags = context.get_value_type(types.intp), ir.IntType(32)
        kernel_type = ir.FunctionType(flags, [word] * 11 + [flags])
        return builder.call(builder.inttoptr(args[0], kernel_type.as_pointer()), args[1:])

    return SEGMENT_SIGNATURE.return_type(types.intp, *SEGMENT_SIGNATURE.args), codegen


def _threaded(kernel, context, a0, a1, a2, out, s0, s1, s2, so, n):
    """Split ``[0, n)`` in chunks of :data:`PARALLEL_CHUNK` run by Numba's thread pool, each by
    the kernel at address ``kernel``; the chunks' flag bits merged."""
    chunk = PARALLEL_CHUNK
    chunks = (n + chunk - 1) // chunk
    overflows = invalids = divides = 0      # prange reduces sums, not ORs: count chunks
    for c in prange(chunks):
        start = c * chunk
        saved = save_fp_flags()         # this worker's state, put back after its chunk
        bits = call_segment(kernel, context, a0, a1, a2, out, s0, s1, s2, so, start,
                            min(start + chunk, n), saved)
        restore_fp_flags(saved, 0)
        overflows += (bits & FE_OVERFLOW) != 0
        invalids += (bits & FE_INVALID) != 0
        divides += (bits & FE_DIVBYZERO) != 0
    return _exception_bits(overflows > 0, invalids > 0, divides > 0)


#: The C function that runs a threaded loop's chunks in precompiled libraries (numelu's own
#: thread pool, ``_precompiled_threads.c``): precompiled code cannot link Numba's pool.
POOL_SYMBOL = "numelu_run_threaded"


@intrinsic
def _run_on_pool(typingctx, kernel, context, a0, a1, a2, out, s0, s1, s2, so, n):
    """``numelu_run_threaded(kernel, ..., n, PARALLEL_CHUNK)``: :func:`_threaded`'s split over
    the precompiled libraries' thread pool (resolved when the library is linked)."""

    def codegen(context_, builder, signature, args):
        word, flags = context_.get_value_type(types.intp), ir.IntType(32)
        try:
            pool = builder.module.get_global(POOL_SYMBOL)
        except KeyError:
            pool = ir.Function(builder.module, ir.FunctionType(flags, [word] * 12), POOL_SYMBOL)
        return builder.call(pool, [*args, ir.Constant(word, PARALLEL_CHUNK)])

    return types.int32(*([types.intp] * 11)), codegen


def _run_on_pool_driver(kernel, context, a0, a1, a2, out, s0, s1, s2, so, n):
    return _run_on_pool(kernel, context, a0, a1, a2, out, s0, s1, s2, so, n)


_THREADED: list[Callable] = []


def _threaded_driver() -> Callable:
    """:func:`_threaded`, compiled once per process for every function and type."""
    if not _THREADED:
        # Cached parallel code links against the thread pool's symbols: start the pool first.
        _launch_threads()
        _THREADED.append(_jit(_threaded, "numelu_threaded", parallel=True, nogil=True))
    return _THREADED[0]


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
    return njit(**_JIT, inline="always")(apart)


_apart = {item: _make_apart(item) for item in (2, 4, 8)}


def _make_inputs_apart(item: int, nin: int):
    """``inputs_apart(a0, a1, a2, s0, s1, s2, out, so, start, n)``: :func:`_make_apart`'s test
    for each of the ``nin`` inputs and ``out`` over elements ``[start, start + n)``."""
    apart = _apart[item]

    def inputs_apart(a0, a1, a2, s0, s1, s2, out, so, start, n):
        first_out = out + start * so
        return (apart(a0 + start * s0, s0, first_out, so, n)
                and (nin < 2 or apart(a1 + start * s1, s1, first_out, so, n))
                and (nin < 3 or apart(a2 + start * s2, s2, first_out, so, n)))

    inputs_apart.__name__ = inputs_apart.__qualname__ = f"numelu_inputs_apart_{item}_{nin}"
    return njit(**_JIT, inline="always")(inputs_apart)


_inputs_apart = {(item, nin): _make_inputs_apart(item, nin)
                 for item in (2, 4, 8) for nin in (1, 2, 3)}


_SEGMENTS: dict[tuple[str, str], CFunc] = {}


def segment_kernel(spec: FunctionSpec, char: str) -> CFunc:
    """The compiled serial kernel of ``spec`` for ``char`` ("f" or "d"), behind a C ``cfunc``
    of :data:`SEGMENT_SIGNATURE`, one per process: every loop that runs ``spec`` for ``char``
    (serial and threaded, and float16 for "f") calls it through its address, so it is compiled
    and optimised once."""
    key = (spec.name, char)
    if key not in _SEGMENTS:
        prefix = f"numelu_{spec.name}_{char}"
        segment = make_segment(spec, char, prefix)

        def kernel(context, a0, a1, a2, out, s0, s1, s2, so, start, stop, saved):
            return np.int32(segment(a0, a1, a2, out, s0, s1, s2, so, start, stop, saved))

        kernel.__qualname__ = kernel.__name__ = f"{prefix}_kernel"
        _SEGMENTS[key] = _compile_cached(kernel, SEGMENT_SIGNATURE)
    return _SEGMENTS[key]


@intrinsic
def _round_to_half(typingctx, value):
    """The float32 ``value`` rounded to float16, as a float32 (exactly the stored float16)."""
    if value != types.float32:
        return None

    def codegen(context, builder, signature, args):
        if native_half(context):
            return builder.fpext(builder.fptrunc(args[0], ir.HalfType()), ir.FloatType())
        return half_to_float(builder, float_to_half(builder, args[0]))

    return types.float32(value), codegen


_HALF_KERNELS: dict[int, CFunc] = {}


def half_kernel(nin: int) -> CFunc:
    """The float16 kernel of every function of ``nin`` inputs: it widens each block of inputs
    to float32 on the stack, runs the function's float32 kernel on it (its address is the
    ``context`` argument) and rounds the results to float16 into ``out``, as NumPy computes a
    float16 loop: in float32, rounded once.

    Flags: the float32 kernel's, plus overflow for a finite float32 result from finite inputs
    that rounds to inf.  A reduction or an accumulate (``out`` is, or runs one element behind,
    an input) goes element by element, each result stored before the next one's inputs are
    read; every other overlap is an input that is ``out`` element for element, which a block
    widened before its results are stored leaves intact.
    """
    if nin in _HALF_KERNELS:
        return _HALF_KERNELS[nin]
    load_half, store_half, half_item = ACCESSORS["e"]
    load, store, item = ACCESSORS["f"]
    inputs_apart = _inputs_apart[half_item, nin]
    inf = np.float32(np.inf)

    def widen(a, s, buffer, start, stop):
        """Elements ``[start, stop)`` of a float16 operand as float32 in ``buffer``; returns
        the stride to read them there with (0 for a broadcast operand: one element)."""
        if s == 0:
            store(buffer, 0, load_half(a, 0))
            return 0
        if s == half_item:                  # a constant stride: this loop vectorises
            for i in range(start, stop):
                store(buffer, (i - start) * item, load_half(a, i * half_item))
        else:
            for i in range(start, stop):
                store(buffer, (i - start) * item, load_half(a, i * s))
        return item

    def narrow(results, out, so, start, stop):
        """Store the float32 results as float16; nonzero if one of the stored values is inf or
        NaN (two vector instructions per element: the loop stays vectorised)."""
        tested = np.int32(0)
        if so == half_item:                 # a constant stride: this loop vectorises
            for i in range(start, stop):
                rounded = _round_to_half(load(results, (i - start) * item))
                store_half(out, i * half_item, rounded)
                tested = _or_nonfinite(tested, rounded)
        else:
            for i in range(start, stop):
                rounded = _round_to_half(load(results, (i - start) * item))
                store_half(out, i * so, rounded)
                tested = _or_nonfinite(tested, rounded)
        return tested != 0

    def overflowed(results, b0, b1, b2, k0, k1, k2, n):
        """Did a finite float32 result from finite inputs round to inf (element by element,
        for a block where :func:`narrow`'s test fired)?"""
        for j in range(n):
            r = load(results, j * item)
            if (abs(_round_to_half(r)) == inf and abs(r) < inf and abs(load(b0, j * k0)) < inf
                    and abs(load(b1, j * k1)) < inf and abs(load(b2, j * k2)) < inf):
                return True
        return False

    widen = _jit(widen, f"numelu_half{nin}_widen", inline="always")
    narrow = _jit(narrow, f"numelu_half{nin}_narrow", inline="always")
    overflowed = _jit(overflowed, f"numelu_half{nin}_overflowed")

    def kernel(context, a0, a1, a2, out, s0, s1, s2, so, start, stop, saved):
        chained = not inputs_apart(a0, a1, a2, s0, s1, s2, out, so, start, stop - start)
        step = 1 if chained else BLOCK
        b0, b1, b2, results = _stack_block(), _stack_block(), _stack_block(), _stack_block()
        bits = np.int32(0)
        overflow = False
        for block in range(start, stop, step):
            end = min(block + step, stop)
            k0 = widen(a0, s0, b0, block, end)
            k1 = widen(a1, s1, b1, block, end) if nin >= 2 else k0
            k2 = widen(a2, s2, b2, block, end) if nin >= 3 else k1
            c1 = b1 if nin >= 2 else b0
            c2 = b2 if nin >= 3 else c1
            bits |= call_segment(context, 0, b0, c1, c2, results, k0, k1, k2, item, 0,
                                 end - block, saved)
            if narrow(results, out, so, block, end) and not overflow:
                overflow = overflowed(results, b0, c1, c2, k0, k1, k2, end - block)
            clear_fp_flags(saved)           # the rounding raises flags of its own
        return bits | (FE_OVERFLOW if overflow else 0)

    kernel.__qualname__ = kernel.__name__ = f"numelu_half{nin}_kernel"
    _HALF_KERNELS[nin] = _compile_cached(kernel, SEGMENT_SIGNATURE)
    return _HALF_KERNELS[nin]


#: Held while the tables below are filled (the dispatcher builds under its own lock too; this
#: one covers direct callers of :func:`make_loop`).
_TABLES_LOCK = threading.RLock()
_LOOPS: dict[tuple[int, int, bool], CFunc] = {}
_LOOP_DATA: dict[tuple[str, str], ctypes.Array] = {}


def make_loop(spec: FunctionSpec, char: str, parallel: bool) -> tuple[CFunc, int]:
    """The NumPy inner loop of ``spec`` for type ``char`` ("e", "f" or "d"), and the ``data``
    pointer NumPy must pass it: the address of two words, the kernel to run and its
    ``context`` (for float16: :func:`half_kernel` and the function's float32 kernel; else the
    function's own kernel, :func:`segment_kernel`, and 0).

    The loop itself depends only on the number of inputs, the item size and the target, so one
    is compiled per such kind and shared by every function.  The threaded flavour uses the
    thread pool only for runs longer than one chunk whose elements may be computed in any order,
    and only if it takes numelu's process-wide gate (``_safety``): otherwise it runs the kernel
    serially.
    """
    with _TABLES_LOCK:
        return _make_loop_locked(spec, char, parallel)


def _make_loop_locked(spec: FunctionSpec, char: str, parallel: bool) -> tuple[CFunc, int]:
    if (spec.name, char) not in _LOOP_DATA:
        if char == "e":
            words = (half_kernel(spec.nin).address, segment_kernel(spec, "f").address)
        else:
            words = (segment_kernel(spec, char).address, 0)
        _LOOP_DATA[spec.name, char] = (ctypes.c_ssize_t * 2)(*words)
    item = ACCESSORS[char][2]
    key = (spec.nin, item, parallel)
    if key not in _LOOPS:
        _LOOPS[key] = _make_loop(*key)
    return _LOOPS[key], ctypes.addressof(_LOOP_DATA[spec.name, char])


def _make_loop(nin: int, item: int, parallel: bool, pool: bool = False) -> CFunc:
    """The generic inner loop; ``pool``: a threaded loop for a precompiled library, which runs
    its chunks on numelu's own thread pool instead of Numba's."""
    if parallel and pool:
        threaded = _jit(_run_on_pool_driver, "numelu_pool_driver", inline="always")
    else:
        threaded = _threaded_driver() if parallel else None    # None: its branch is pruned
    chunk = PARALLEL_CHUNK
    inputs_apart = _inputs_apart[item, nin]

    def loop(args, dimensions, steps, data):
        words = address_of(data)
        kernel, context = load_word(words, 0), load_word(words, 8)
        n = dimensions[0]
        a0 = address_of(args[0])
        a1 = address_of(args[1]) if nin >= 2 else a0
        a2 = address_of(args[2]) if nin >= 3 else a1
        out = address_of(args[nin])
        s0 = steps[0]
        s1 = steps[1] if nin >= 2 else s0
        s2 = steps[2] if nin >= 3 else s1
        so = steps[nin]
        flags = save_fp_flags()
        if (parallel and n > chunk and inputs_apart(a0, a1, a2, s0, s1, s2, out, so, 0, n)
                and try_enter_parallel_region()):
            raised = threaded(kernel, context, a0, a1, a2, out, s0, s1, s2, so, n)
            leave_parallel_region()
        else:
            raised = call_segment(kernel, context, a0, a1, a2, out, s0, s1, s2, so, np.intp(0),
                                  n, flags)
        restore_fp_flags(flags, raised)

    flavour = ("parallel_pool" if pool else "parallel") if parallel else "cpu"
    loop.__qualname__ = loop.__name__ = f"numelu_loop_{nin}in_{item}byte_{flavour}"
    return _compile_cached(loop, LOOP_SIGNATURE)


def _compile_cached(loop, signature) -> CFunc:
    """``cfunc(signature, cache=True)(loop)`` with a cache key that survives restarts.

    Numba keys a cached closure on the pickled contents of its cells, and the dispatchers in
    ours pickle with a fresh random id in every process, so the stock cache never hits.  Our
    loops are fully determined by their qualified name and numba's sources, so key on those
    (numba itself adds its version, the Python version and the CPU to the key).
    """
    signature = sigutils.normalize_signature(signature)
    compiled = CFunc(loop, signature, locals={}, options={"nopython": True, **_JIT})
    if not DISK_CACHE:
        compiled.compile()
        return compiled
    compiled.enable_caching()
    stable_key = (FINGERPRINT, loop.__qualname__)
    compiled._cache._index_key = lambda sig, codegen: (sig, codegen.magic_tuple(), stable_key)
    compiled.compile()
    return compiled
