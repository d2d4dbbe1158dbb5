"""The inner loops NumPy calls, and the compiled kernels they run.

An inner loop (``void loop(char **args, npy_intp *dimensions, npy_intp *steps, void *data)``)
is generic: one per number of inputs, item size and target, shared by every function.  It reads
the kernel to run from ``data`` (two words: the kernel's address and its ``inner`` argument)
and calls it by address; the threaded flavour first splits a long run into chunks over a
thread pool (Numba's, or in precompiled libraries numelu's own, ``_precompiled_threads.c``).
The kernels are compiled once per function and float type behind C ``cfunc``s
(``_kernel_body``; float16 through ``_half_kernel``).  Everything is cached on disk under a
fingerprint of the kernel sources (``_sources``), so an upgrade never reuses a stale kernel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
from llvmlite import ir
from numba import config, njit, prange, types
from numba.core import sigutils
from numba.core.ccallback import CFunc
from numba.core.extending import intrinsic
from numba.np.ufunc.parallel import _launch_threads

from numelu._fpenv import (
    FE_DIVBYZERO,
    FE_INVALID,
    FE_OVERFLOW,
    restore_fp_flags,
    save_fp_flags,
)
from numelu._functions import FunctionSpec
from numelu._half_kernel import make_half_kernel
from numelu._kernel_body import make_kernel_body
from numelu._kernel_parts import (
    INPUTS_APART,
    JIT_OPTIONS,
    KERNEL_SIGNATURE,
    call_kernel,
    exception_bits,
    jit,
)
from numelu._pointers import address_of, load_word
from numelu._safety import leave_parallel_region, try_enter_parallel_region
from numelu._sources import kernel_fingerprint

LOOP_SIGNATURE = types.void(
    types.CPointer(types.voidptr), types.CPointer(types.intp), types.CPointer(types.intp),
    types.voidptr,
)

#: The smallest task of the threaded loop: large enough to amortise handing it to a thread, a
#: multiple of every SIMD width and of ``_kernel_parts.BLOCK``.  Longer runs get longer tasks
#: (:func:`chunk_for`, the same rule in ``_precompiled_threads.c``): in small tasks taken in
#: turn by the threads, each thread's memory stream jumps, which costs out of cache
#: (``benchmarks/results/thresholds-2026-12-06.txt``).
PARALLEL_CHUNK = 1 << 13
#: Tasks per thread of a long run: enough to even out a thread that starts late.
CHUNKS_PER_THREAD = 4
#: The threads Numba's pool may run, fixed when it starts (read here as a constant: compiled code
#: that asks Numba for the current count cannot be cached); fewer set later by
#: ``numba.set_num_threads`` only give each thread more tasks.
_JIT_THREADS = config.NUMBA_NUM_THREADS

#: Off while precompiled libraries are built: their code is taken from the compiled IR, which a
#: piece loaded from the disk cache no longer has.
DISK_CACHE = True

#: The disk-cache key of every compiled piece: a hash of the sources that end up in them.
FINGERPRINT = kernel_fingerprint()

_KERNELS: dict[tuple[str, str], CFunc] = {}
_HALF_KERNELS: dict[int, CFunc] = {}


def function_kernel(spec: FunctionSpec, char: str) -> CFunc:
    """The compiled kernel of ``spec`` for ``char`` ("f" or "d"), behind a C ``cfunc`` of
    ``KERNEL_SIGNATURE``, one per process: every loop that runs ``spec`` for ``char`` (serial
    and threaded, and float16 for "f") calls it by address, so it is compiled once."""
    key = (spec.name, char)
    if key not in _KERNELS:
        prefix = f"numelu_{spec.name}_{char}"
        body = make_kernel_body(spec, char, prefix)

        def kernel(inner, a0, a1, a2, out, s0, s1, s2, so, start, stop, saved):
            return np.int32(body(a0, a1, a2, out, s0, s1, s2, so, start, stop, saved))

        kernel.__qualname__ = kernel.__name__ = f"{prefix}_kernel"
        _KERNELS[key] = _compile_cached(kernel, KERNEL_SIGNATURE)
    return _KERNELS[key]


def half_kernel(nin: int) -> CFunc:
    """The compiled float16 kernel of every function of ``nin`` inputs (``_half_kernel``)."""
    if nin not in _HALF_KERNELS:
        _HALF_KERNELS[nin] = _compile_cached(make_half_kernel(nin), KERNEL_SIGNATURE)
    return _HALF_KERNELS[nin]


@njit(inline="always")
def chunk_for(n, threads):
    """The task size for ``n`` elements on ``threads`` threads: ``CHUNKS_PER_THREAD`` tasks per
    thread, in whole multiples of :data:`PARALLEL_CHUNK`, at least one."""
    per_task = n // (threads * CHUNKS_PER_THREAD) // PARALLEL_CHUNK * PARALLEL_CHUNK
    return max(per_task, PARALLEL_CHUNK)


def _threaded(kernel, inner, a0, a1, a2, out, s0, s1, s2, so, n):
    """Split ``[0, n)`` in chunks (:func:`chunk_for`) run by Numba's thread pool, each by the
    kernel at address ``kernel``; the chunks' flag bits merged."""
    chunk = chunk_for(n, _JIT_THREADS)
    chunks = (n + chunk - 1) // chunk
    overflows = invalids = divides = 0      # prange reduces sums, not ORs: count chunks
    for c in prange(chunks):
        start = c * chunk
        saved = save_fp_flags()         # this worker's state, put back after its chunk
        bits = call_kernel(kernel, inner, a0, a1, a2, out, s0, s1, s2, so, start,
                           min(start + chunk, n), saved)
        restore_fp_flags(saved, 0)
        overflows += (bits & FE_OVERFLOW) != 0
        invalids += (bits & FE_INVALID) != 0
        divides += (bits & FE_DIVBYZERO) != 0
    return exception_bits(overflows > 0, invalids > 0, divides > 0)


#: The C function that runs a threaded loop's chunks in precompiled libraries (numelu's own
#: thread pool, ``_precompiled_threads.c``): precompiled code cannot link Numba's pool.
POOL_SYMBOL = "numelu_run_threaded"


@intrinsic
def _run_on_pool(typingctx, kernel, inner, a0, a1, a2, out, s0, s1, s2, so, n):
    """``numelu_run_threaded(kernel, ..., n, PARALLEL_CHUNK)``: :func:`_threaded`'s split over
    the precompiled libraries' thread pool (resolved when the library is linked), which sizes
    its chunks from ``PARALLEL_CHUNK`` by :func:`chunk_for`'s rule."""

    def codegen(context, builder, signature, args):
        word, flags = context.get_value_type(types.intp), ir.IntType(32)
        try:
            pool = builder.module.get_global(POOL_SYMBOL)
        except KeyError:
            pool = ir.Function(builder.module, ir.FunctionType(flags, [word] * 12), POOL_SYMBOL)
        return builder.call(pool, [*args, ir.Constant(word, PARALLEL_CHUNK)])

    return types.int32(*([types.intp] * 11)), codegen


def _run_on_pool_driver(kernel, inner, a0, a1, a2, out, s0, s1, s2, so, n):
    return _run_on_pool(kernel, inner, a0, a1, a2, out, s0, s1, s2, so, n)


_THREADED: list[Callable] = []


def _threaded_driver() -> Callable:
    """:func:`_threaded`, compiled once per process for every function and type."""
    if not _THREADED:
        # Cached parallel code links against the thread pool's symbols: start the pool first.
        _launch_threads()
        _THREADED.append(jit(_threaded, "numelu_threaded", parallel=True, nogil=True))
    return _THREADED[0]


#: Held while the table of loops is filled (the dispatcher builds under its own lock too; this
#: one covers direct callers of :func:`generic_loop`).
_TABLES_LOCK = threading.RLock()
_LOOPS: dict[tuple[int, int, bool], CFunc] = {}


def generic_loop(nin: int, item: int, parallel: bool) -> CFunc:
    """The NumPy inner loop for ``nin`` inputs of ``item`` bytes, serial or threaded, compiled
    once per process and shared by every function: it runs the kernel its ``data`` names
    (``_kernels`` lays out those words).  The threaded flavour uses the thread pool only for
    runs longer than one chunk whose elements may be computed in any order, and only if it takes
    numelu's process-wide gate (``_gate``): otherwise it runs the kernel serially."""
    with _TABLES_LOCK:
        key = (nin, item, parallel)
        if key not in _LOOPS:
            _LOOPS[key] = _make_loop(*key)
        return _LOOPS[key]


def pool_loop(nin: int, item: int) -> CFunc:
    """The threaded inner loop of a precompiled library: its chunks run on numelu's own thread
    pool (``_precompiled_threads.c``), which precompiled code links instead of Numba's."""
    return _make_loop(nin, item, True, pool=True)


def _make_loop(nin: int, item: int, parallel: bool, pool: bool = False) -> CFunc:
    """The generic inner loop; ``pool``: a threaded loop for a precompiled library, which runs
    its chunks on numelu's own thread pool instead of Numba's."""
    if parallel and pool:
        threaded = jit(_run_on_pool_driver, "numelu_pool_driver", inline="always")
    else:
        threaded = _threaded_driver() if parallel else None    # None: its branch is pruned
    chunk = PARALLEL_CHUNK
    inputs_apart = INPUTS_APART[item, nin]

    def loop(args, dimensions, steps, data):
        words = address_of(data)
        kernel, inner = load_word(words, 0), load_word(words, 8)
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
            raised = 0
            if not pool:    # a kernel compiled on first use (_lazy): here, not in a worker
                raised = call_kernel(kernel, inner, a0, a1, a2, out, s0, s1, s2, so,
                                     np.intp(0), np.intp(0), flags)
            if raised == 0:                 # else it could not be compiled
                raised = threaded(kernel, inner, a0, a1, a2, out, s0, s1, s2, so, n)
            leave_parallel_region()
        else:
            raised = call_kernel(kernel, inner, a0, a1, a2, out, s0, s1, s2, so, np.intp(0), n,
                                 flags)
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
    compiled = CFunc(loop, signature, locals={}, options={"nopython": True, **JIT_OPTIONS})
    if not DISK_CACHE:
        compiled.compile()
        return compiled
    compiled.enable_caching()
    stable_key = (FINGERPRINT, loop.__qualname__)
    compiled._cache._index_key = lambda sig, codegen: (sig, codegen.magic_tuple(), stable_key)
    compiled.compile()
    return compiled
