"""The ``@cuda.jit`` kernels that ``numelu.<name>(...)`` launches: source, signature, cache, launch.

Per function, a kernel is generated from the scalar formula and compiled on first use for the
exact argument types and layout (an eager signature, so that a launch does no type dispatch):
scalar inputs are arguments passed by value; ``ndim=None`` is the contiguous path (a 1-D
grid-stride loop over ``[::1]`` views); an integer ``ndim`` is the general path, which unravels
a flat index over the coalesced dimensions.  Launches never use fewer than 128 blocks
(numba-cuda's low-occupancy warning threshold): the idle blocks of a tiny launch exit at once.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from numelu._cuda import availability
from numelu._operands import LOOP_DTYPES

_THREADS = 256
_MIN_BLOCKS = 128          # numba-cuda warns (NumbaPerformanceWarning) below this grid size
_MAX_BLOCKS = 1 << 20      # beyond that the grid-stride loop takes over
_SIM_LAUNCH = (2, 8)       # the simulator runs every thread as a Python thread: keep it small

_lock = threading.RLock()
_kernels: dict[tuple, Any] = {}


def numba_name(dtype: np.dtype) -> str:
    return "boolean" if dtype.kind == "b" else dtype.name


def kernel_source(nin: int, arrays: tuple[bool, ...], ndim: int | None, where: bool,
                  name: str = "kernel", copy: bool = False) -> str:
    """Python source of one kernel: ``(n, a0.., out[, w])``; arrays[k] says if input k is one.

    ``ndim=None`` is the contiguous fast path (1-D ``[::1]`` operands, flat index); an integer is
    the general path over ``ndim``-dimensional strided operands.  ``copy`` makes ``out = a0``.
    """
    params = ", ".join([f"a{k}" for k in range(nin)] + ["out"] + (["w"] if where else []))
    lines = [f"def {name}(n, {params}):",
             "    i = cuda.grid(1)",
             "    step = cuda.gridsize(1)",
             "    while i < n:"]
    if ndim is None or ndim == 1:
        index = "i"
    else:
        lines.append("        r = i")
        for k in range(ndim - 1, 0, -1):
            lines.append(f"        j{k} = r % out.shape[{k}]")
            lines.append(f"        r = r // out.shape[{k}]")
        lines.append("        j0 = r")
        index = ", ".join(f"j{k}" for k in range(ndim))
    if copy:
        value = f"a0[{index}]"
    else:
        operands = [f"cast(a{k}[{index}])" if is_array else f"a{k}"
                    for k, is_array in enumerate(arrays)]
        value = f"formula({', '.join(operands)})"
    store = f"out[{index}] = {value}"
    if where:
        lines.append(f"        if w[{index}]:")
        lines.append(f"            {store}")
    else:
        lines.append(f"        {store}")
    lines.append("        i += step")
    return "\n".join(lines) + "\n"


def kernel_signature(in_types: tuple, compute: np.dtype, out_dtype: np.dtype,
                     ndim: int | None, where: bool) -> str:
    """The numba-cuda signature string; ``in_types[k]`` is a dtype (array input) or None."""
    layout = "::1" if ndim is None else ", ".join([":"] * ndim)
    parts = ["int64"]
    for dtype in in_types:
        parts.append(f"{numba_name(dtype)}[{layout}]" if dtype is not None
                     else numba_name(compute))
    parts.append(f"{numba_name(out_dtype)}[{layout}]")
    if where:
        parts.append(f"boolean[{layout}]")
    return f"void({', '.join(parts)})"


def kernel_pyfunc(spec, arrays: tuple[bool, ...], ndim: int | None, where: bool,
                  compute: np.dtype, copy: bool = False):
    """The Python function of one kernel (to be given to ``cuda.jit`` or ``compile_ptx``)."""
    from numba import cuda

    layout = "flat" if ndim is None else f"nd{ndim}"
    name = f"numelu_{'copy' if copy else spec.name}_{layout}"
    source = kernel_source(len(arrays), arrays, ndim, where, name, copy)
    namespace = {"cuda": cuda, "formula": None if copy else spec.formula,
                 "cast": np.dtype(compute).type}
    exec(compile(source, f"<numelu CUDA kernel {name}>", "exec"), namespace)
    return namespace[name]


def compute_dtype(loop: np.dtype) -> np.dtype:
    return LOOP_DTYPES[1] if loop == LOOP_DTYPES[0] else loop


def compiled_kernel(spec, in_types: tuple, loop: np.dtype, out_dtype: np.dtype, ndim: int | None,
            where: bool, copy: bool = False):
    """The compiled kernel for these exact types and layout (compiled once, then cached)."""
    key = (None if copy else spec.name, in_types, loop, out_dtype, ndim, where)
    kernel = _kernels.get(key)
    if kernel is None:
        with _lock:
            kernel = _kernels.get(key)
            if kernel is None:
                from numba import cuda

                compute = compute_dtype(loop)
                arrays = tuple(t is not None for t in in_types)
                pyfunc = kernel_pyfunc(spec, arrays, ndim, where, compute, copy)
                sig = kernel_signature(in_types, compute, out_dtype, ndim, where)
                kernel = cuda.jit(sig)(pyfunc)
                _kernels[key] = kernel
    return kernel


def launch(kernel, n: int, args: tuple, stream) -> None:
    if availability.simulating():
        blocks, threads = _SIM_LAUNCH
    else:
        threads = _THREADS
        blocks = min(max(-(-n // threads), _MIN_BLOCKS), _MAX_BLOCKS)
    kernel[blocks, threads, stream](n, *args)
