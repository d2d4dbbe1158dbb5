"""NumPy ufunc inner loops compiled from numelu's scalar formulas.

One loop per (function, dtype, target) is a Numba ``cfunc`` with NumPy's inner-loop signature
``void loop(char **args, npy_intp *dimensions, npy_intp *steps, void *data)``.  It picks, per call:

* all operands contiguous: a unit-stride loop that LLVM vectorises;
* contiguous data with a broadcast scalar ``alpha`` (stride 0): alpha is loaded once and the loop
  vectorises -- Numba's own ufunc loops drop to the scalar strided path here;
* anything else: the general strided loop, correct for every stride NumPy hands over (including
  a strided or reversed ``out``, which Numba's ufunc loops get wrong).

Floating-point flags (``_fpenv``): a loop reports exactly the genuine errors of its results.
The kernels run block by block (:data:`BLOCK` elements); after each block the thread's error
flags are read (one ``stmxcsr``), and only where the block's arithmetic raised one are its
results looked at again, element by element against the inputs of each (:func:`make_check`).
Valid inf or NaN data costs that second look, for the blocks that hold it; clean data costs
nothing per element.  (float16 results are rounded on store, possibly in software, so their
kernels also test each stored result: is it inf or NaN.)  In place (``out`` is one of the
inputs), each block's results go to a stack buffer first and are copied to ``out`` after that
look, so that the inputs are still there for it; this also lets every in-place call vectorise.

The ``parallel`` flavour splits long runs over Numba's threads with ``prange``.

Each function's kernel for a type is compiled once, behind a C ``cfunc``
(:func:`segment_kernel`); the inner loops are generic (one per number of inputs, item size and
target, shared by every function) and call the kernel whose address NumPy hands them as the
loop's ``data`` pointer.  So building a function's threaded ufunc after its serial one (or the
other way round) compiles no formula again, and the threaded driver is compiled once for all.
Everything is cached on disk; the cache key is a fingerprint of numelu's sources, so an upgrade
never reuses a stale kernel.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from pathlib import Path

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
from numelu._pointers import ACCESSORS, address_of
from numelu._safety import leave_parallel_region, try_enter_parallel_region
from numelu._table import FunctionSpec

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


#: The modules whose source ends up in a compiled loop: the cache key hashes exactly these.
KERNEL_SOURCES = ("_fpenv.py", "_loops.py", "_mathfn.py", "_pointers.py", "_safety.py", "_table.py", "scalar.py")


def _source_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in KERNEL_SOURCES:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


FINGERPRINT = _source_fingerprint()


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
    errors of one result ``r`` (as stored: a float16 result after its rounding) of ``spec``'s
    formula at inputs ``v0, v1, v2`` (the first ``spec.nin`` count), as NumPy evaluating the
    formula for that element reports them:

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
    call = _caller(spec.formula, spec.nin, prefix)
    check = make_check(spec, char, prefix)
    nin = spec.nin
    has_alpha = spec.has_alpha
    divides = spec.divides_by_alpha
    zero = (np.float64 if char == "d" else np.float32)(0.0)
    half = char == "e"

    def tested(out, off, flags):
        """float16 only: fold the stored result into the kernel's own test (is it inf or NaN),
        as its rounding on store may be done in software and raise no flag."""
        return _or_nonfinite(flags, load(out, off))

    # The kernels store the results and tell whether some of them call for a second look.
    def contiguous(a0, a1, a2, out, start, stop):
        flags = np.int32(0)
        for i in range(start, stop):
            off = i * item
            v0, v1, v2 = load(a0, off), load(a1, off), load(a2, off)
            store(out, off, call(v0, v1, v2))
            if half:
                flags = tested(out, off, flags)
        return flags != 0

    def scalar_alpha(a0, a1, a2, out, start, stop):
        alpha = load(a2 if nin == 3 else a1, 0)
        flags = np.int32(0)
        for i in range(start, stop):
            off = i * item
            v1 = alpha if nin == 2 else load(a1, off)
            store(out, off, call(load(a0, off), v1, alpha))
            if half:
                flags = tested(out, off, flags)
        return flags != 0

    def strided(a0, a1, a2, out, s0, s1, s2, so, start, stop):
        flags = np.int32(0)
        for i in range(start, stop):
            v0, v1, v2 = load(a0, i * s0), load(a1, i * s1), load(a2, i * s2)
            store(out, i * so, call(v0, v1, v2))
            if half:
                flags = tested(out, i * so, flags)
        return flags != 0

    def compute(variant, a0, a1, a2, out, s0, s1, s2, so, start, stop):
        if variant == 0:
            return contiguous(a0, a1, a2, out, start, stop)
        if variant == 1:
            return scalar_alpha(a0, a1, a2, out, start, stop)
        return strided(a0, a1, a2, out, s0, s1, s2, so, start, stop)

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
            o, n, d = check(r, load(a0, i * s0), load(a1, i * s1), load(a2, i * s2))
            overflow |= o
            invalid |= n
            divide |= d
        return _exception_bits(overflow, invalid, divide)

    def sequential(a0, a1, a2, out, s0, s1, s2, so, start, stop):
        """Element by element in order, each result stored before the next element's inputs
        are loaded, and its flags decided on the spot: for an ``out`` of stride 0, which NumPy
        passes only for a reduction (``out`` is then also the first input, the running value:
        each element needs the one before)."""
        overflow = invalid = divide = False
        for i in range(start, stop):
            v0, v1, v2 = load(a0, i * s0), load(a1, i * s1), load(a2, i * s2)
            store(out, i * so, call(v0, v1, v2))
            o, n, d = check(load(out, i * so), v0, v1, v2)
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

    tested = _jit(tested, f"{prefix}_tested", inline="always")
    contiguous = _jit(contiguous, f"{prefix}_contiguous", inline="always")
    scalar_alpha = _jit(scalar_alpha, f"{prefix}_scalar_alpha", inline="always")
    strided = _jit(strided, f"{prefix}_strided", inline="always")
    compute = _jit(compute, f"{prefix}_compute", nogil=True)
    rescan = _jit(rescan, f"{prefix}_rescan", nogil=True)
    sequential = _jit(sequential, f"{prefix}_sequential", nogil=True)
    copy = _jit(copy, f"{prefix}_copy", inline="always")

    def segment(a0, a1, a2, out, s0, s1, s2, so, start, stop, saved):
        """``saved``: the thread's floating-point state on entry (``save_fp_flags``); the
        caller restores it."""
        if so == 0:
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
        # distinct arrays.  Any other overlap (an accumulate's out one element behind its
        # input) is computed in order as written: LLVM keeps the order where memory overlaps.
        in_place = ((a0 == out and s0 == so) or (nin >= 2 and a1 == out and s1 == so)
                    or (nin >= 3 and a2 == out and s2 == so))
        buffer = _stack_block()
        if saved & ERROR_FLAGS:             # raised before (NumPy's casting): start clean
            clear_fp_flags(saved)
        bits = 0
        for block in range(start, stop, BLOCK):
            end = min(block + BLOCK, stop)
            results, step = (buffer - block * item, item) if in_place else (out, so)
            found = compute(variant, a0, a1, a2, results, s0, s1, s2, step, block, end)
            if found or raised_fp_flags() != 0:
                bits |= rescan(a0, a1, a2, results, s0, s1, s2, step, block, end)
                clear_fp_flags(saved)       # the test itself raises "invalid" on a NaN
            if in_place:
                copy(results, out, so, block, end)
        return bits

    return _jit(segment, f"{prefix}_segment", nogil=True)


#: The C signature of a compiled kernel (:func:`make_segment` behind a ``cfunc``): ``bits =
#: kernel(a0, a1, a2, out, s0, s1, s2, so, start, stop, saved)``.
SEGMENT_SIGNATURE = types.int32(*([types.intp] * 10), types.int32)


@intrinsic
def call_segment(typingctx, address, a0, a1, a2, out, s0, s1, s2, so, start, stop, saved):
    """Call the compiled kernel at ``address`` (a ``cfunc`` of :data:`SEGMENT_SIGNATURE`)."""

    def codegen(context, builder, signature, args):
        word, flags = context.get_value_type(types.intp), ir.IntType(32)
        kernel_type = ir.FunctionType(flags, [word] * 10 + [flags])
        return builder.call(builder.inttoptr(args[0], kernel_type.as_pointer()), args[1:])

    return SEGMENT_SIGNATURE.return_type(types.intp, *SEGMENT_SIGNATURE.args), codegen


def _threaded(segment, a0, a1, a2, out, s0, s1, s2, so, n):
    """Split ``[0, n)`` in chunks of :data:`PARALLEL_CHUNK` run by Numba's thread pool, each by
    the kernel at address ``segment``; the chunks' flag bits merged."""
    chunk = PARALLEL_CHUNK
    chunks = (n + chunk - 1) // chunk
    overflows = invalids = divides = 0      # prange reduces sums, not ORs: count chunks
    for c in prange(chunks):
        start = c * chunk
        saved = save_fp_flags()         # this worker's state, put back after its chunk
        bits = call_segment(segment, a0, a1, a2, out, s0, s1, s2, so, start,
                            min(start + chunk, n), saved)
        restore_fp_flags(saved, 0)
        overflows += (bits & FE_OVERFLOW) != 0
        invalids += (bits & FE_INVALID) != 0
        divides += (bits & FE_DIVBYZERO) != 0
    return _exception_bits(overflows > 0, invalids > 0, divides > 0)


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


_SEGMENTS: dict[tuple[str, str], CFunc] = {}


def segment_kernel(spec: FunctionSpec, char: str) -> CFunc:
    """The compiled serial kernel of ``spec`` for ``char``, behind a C ``cfunc`` of
    :data:`SEGMENT_SIGNATURE`, one per process: every loop that runs ``spec`` for ``char``
    (serial and threaded) calls it through its address, so it is compiled and optimised once."""
    key = (spec.name, char)
    if key not in _SEGMENTS:
        prefix = f"numelu_{spec.name}_{char}"
        segment = make_segment(spec, char, prefix)

        def kernel(a0, a1, a2, out, s0, s1, s2, so, start, stop, saved):
            return np.int32(segment(a0, a1, a2, out, s0, s1, s2, so, start, stop, saved))

        kernel.__qualname__ = kernel.__name__ = f"{prefix}_kernel"
        _SEGMENTS[key] = _compile_cached(kernel, SEGMENT_SIGNATURE)
    return _SEGMENTS[key]


_LOOPS: dict[tuple[int, int, bool], CFunc] = {}


def make_loop(spec: FunctionSpec, char: str, parallel: bool) -> tuple[CFunc, int]:
    """The NumPy inner loop of ``spec`` for type ``char`` ("e", "f" or "d"), and the ``data``
    pointer NumPy must pass it: the address of the function's compiled kernel
    (:func:`segment_kernel`).

    The loop itself depends only on the number of inputs, the item size and the target, so one
    is compiled per such kind and shared by every function.  The threaded flavour uses the
    thread pool only for runs longer than one chunk whose elements may be computed in any order,
    and only if it takes numelu's process-wide gate (``_safety``): otherwise it runs the serial
    kernel.
    """
    kernel = segment_kernel(spec, char)
    item = ACCESSORS[char][2]
    key = (spec.nin, item, parallel)
    if key not in _LOOPS:
        _LOOPS[key] = _make_loop(*key)
    return _LOOPS[key], kernel.address


def _make_loop(nin: int, item: int, parallel: bool) -> CFunc:
    threaded = _threaded_driver() if parallel else None    # None: its branch is pruned
    chunk = PARALLEL_CHUNK
    apart = _apart[item]

    def loop(args, dimensions, steps, data):
        kernel = address_of(data)
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
        if (parallel and n > chunk and apart(a0, s0, out, so, n)
                and (nin < 2 or apart(a1, s1, out, so, n))
                and (nin < 3 or apart(a2, s2, out, so, n)) and try_enter_parallel_region()):
            raised = threaded(kernel, a0, a1, a2, out, s0, s1, s2, so, n)
            leave_parallel_region()
        else:
            raised = call_segment(kernel, a0, a1, a2, out, s0, s1, s2, so, np.intp(0), n, flags)
        restore_fp_flags(flags, raised)

    loop.__qualname__ = loop.__name__ = (
        f"numelu_loop_{nin}in_{item}byte_{'parallel' if parallel else 'cpu'}")
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
    compiled.enable_caching()
    stable_key = (FINGERPRINT, loop.__qualname__)
    compiled._cache._index_key = lambda sig, codegen: (sig, codegen.magic_tuple(), stable_key)
    compiled.compile()
    return compiled
