"""NumPy ufunc inner loops compiled from numelu's scalar formulas.

One loop per (function, dtype, target) is a Numba ``cfunc`` with NumPy's inner-loop signature
``void loop(char **args, npy_intp *dimensions, npy_intp *steps, void *data)``.  It picks, per call:

* all operands contiguous: a unit-stride loop that LLVM vectorises (and a variant for an output
  that *is* the first input, so in-place calls vectorise too);
* contiguous data with a broadcast scalar ``alpha`` (stride 0): alpha is loaded once and the loop
  vectorises -- Numba's own ufunc loops drop to the scalar strided path here;
* anything else: the general strided loop, correct for every stride NumPy hands over (including
  a strided or reversed ``out``, which Numba's ufunc loops get wrong).

The ``parallel`` flavour splits long contiguous runs over Numba's threads with ``prange``.
Loops are cached on disk; the cache key is a fingerprint of numelu's sources, so an upgrade never
reuses a stale kernel.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from numba import njit, prange, types
from numba.core import sigutils
from numba.core.ccallback import CFunc
from numba.np.ufunc.parallel import _launch_threads

from numelu._fpenv import restore_fp_flags, save_fp_flags
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


def make_segment(spec: FunctionSpec, char: str, prefix: str):
    """The serial kernel over elements ``[start, stop)`` of one inner-loop call."""
    load, store, item = ACCESSORS[char]
    call = _caller(spec.formula, spec.nin, prefix)
    nin = spec.nin
    has_alpha = spec.has_alpha

    def contiguous(a0, a1, a2, out, start, stop):
        for i in range(start, stop):
            off = i * item
            store(out, off, call(load(a0, off), load(a1, off), load(a2, off)))

    def scalar_alpha(a0, a1, a2, out, start, stop):
        alpha = load(a2 if nin == 3 else a1, 0)
        for i in range(start, stop):
            off = i * item
            v1 = alpha if nin == 2 else load(a1, off)
            store(out, off, call(load(a0, off), v1, alpha))

    def strided(a0, a1, a2, out, s0, s1, s2, so, start, stop):
        for i in range(start, stop):
            store(out, i * so, call(load(a0, i * s0), load(a1, i * s1), load(a2, i * s2)))

    contiguous = _jit(contiguous, f"{prefix}_contiguous", inline="always")
    scalar_alpha = _jit(scalar_alpha, f"{prefix}_scalar_alpha", inline="always")
    strided = _jit(strided, f"{prefix}_strided", inline="always")

    def segment(a0, a1, a2, out, s0, s1, s2, so, start, stop):
        data_contiguous = s0 == item and (nin < 3 or s1 == item)
        alpha_stride = s2 if nin == 3 else s1
        if so == item and data_contiguous and (nin == 1 or alpha_stride == item):
            if a0 == out:
                contiguous(out, a1, a2, out, start, stop)
            else:
                contiguous(a0, a1, a2, out, start, stop)
        elif has_alpha and so == item and data_contiguous and alpha_stride == 0:
            if a0 == out:
                scalar_alpha(out, a1, a2, out, start, stop)
            else:
                scalar_alpha(a0, a1, a2, out, start, stop)
        else:
            strided(a0, a1, a2, out, s0, s1, s2, so, start, stop)

    return _jit(segment, f"{prefix}_segment", nogil=True)


def make_threaded(segment, prefix: str, chunk: int = PARALLEL_CHUNK):
    """Split ``[0, n)`` in chunks run by Numba's thread pool."""

    def threaded(a0, a1, a2, out, s0, s1, s2, so, n):
        chunks = (n + chunk - 1) // chunk
        for c in prange(chunks):
            start = c * chunk
            segment(a0, a1, a2, out, s0, s1, s2, so, start, min(start + chunk, n))

    return _jit(threaded, f"{prefix}_threaded", parallel=True, nogil=True)


def make_whole(segment, prefix: str):
    """The serial counterpart of :func:`make_threaded` (same signature)."""

    def whole(a0, a1, a2, out, s0, s1, s2, so, n):
        segment(a0, a1, a2, out, s0, s1, s2, so, 0, n)

    return _jit(whole, f"{prefix}_whole", nogil=True)


def make_loop(spec: FunctionSpec, char: str, parallel: bool):
    """Compile the NumPy inner loop of ``spec`` for type ``char`` ("e", "f" or "d").

    The threaded flavour uses the thread pool only for runs longer than one chunk, and only if
    it takes numelu's process-wide gate (``_safety``): otherwise it runs the serial kernel.
    """
    prefix = f"numelu_{spec.name}_{char}_{'parallel' if parallel else 'cpu'}"
    segment = make_segment(spec, char, prefix)
    if parallel:
        # Cached parallel code links against the thread pool's symbols: start the pool first.
        _launch_threads()
        threaded = make_threaded(segment, prefix)
    else:
        threaded = make_whole(segment, prefix)   # never called; same signature as threaded
    nin = spec.nin
    chunk = PARALLEL_CHUNK

    def loop(args, dimensions, steps, data):
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
        if parallel and n > chunk and try_enter_parallel_region():
            threaded(a0, a1, a2, out, s0, s1, s2, so, n)
            leave_parallel_region()
        else:
            segment(a0, a1, a2, out, s0, s1, s2, so, 0, n)
        restore_fp_flags(flags)

    loop.__qualname__ = loop.__name__ = f"{prefix}_loop"
    return _compile_cached(loop)


def _compile_cached(loop) -> CFunc:
    """``cfunc(LOOP_SIGNATURE, cache=True)(loop)`` with a cache key that survives restarts.

    Numba keys a cached closure on the pickled contents of its cells, and the dispatchers in
    ours pickle with a fresh random id in every process, so the stock cache never hits.  Our
    loops are fully determined by their qualified name and numba's sources, so key on those
    (numba itself adds its version, the Python version and the CPU to the key).
    """
    signature = sigutils.normalize_signature(LOOP_SIGNATURE)
    compiled = CFunc(loop, signature, locals={}, options={"nopython": True, **_JIT})
    compiled.enable_caching()
    stable_key = (FINGERPRINT, loop.__qualname__)
    compiled._cache._index_key = lambda sig, codegen: (sig, codegen.magic_tuple(), stable_key)
    compiled.compile()
    return compiled
