"""Where the CPU ufuncs' inner loops come from: the precompiled library when one fits this
CPU and these sources (``_precompiled``), else Numba's JIT (``_loops``), decided once per
process on first use."""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from numelu import _precompiled
from numelu._functions import FunctionSpec

_lock = threading.Lock()
_choice: dict[str, object] = {}
_data: dict[tuple[str, str], ctypes.Array] = {}


def choice() -> tuple[_precompiled.Library | None, str]:
    """The library in use (None: the JIT) and why, decided on the first call."""
    with _lock:
        if not _choice:
            _choice["library"], _choice["reason"] = _precompiled.choose()
        return _choice["library"], _choice["reason"]


def loops(spec: FunctionSpec, parallel: bool, chars: str) -> list[tuple[str, int, int]]:
    """``[(char, loop address, data address), ...]`` of ``spec``'s serial or threaded ufunc."""
    library, _ = choice()
    if library is None:
        from numelu._loops import make_loop

        return [(char, *_jit_loop(make_loop(spec, char, parallel))) for char in chars]
    return [(char, _precompiled_loop(library, spec, char, parallel),
             _precompiled_data(library, spec, char)) for char in chars]


def _precompiled_loop(library: _precompiled.Library, spec: FunctionSpec, char: str,
                      parallel: bool) -> int:
    """The address of the library's generic loop for ``spec``'s inputs and ``char``'s size."""
    return library.address(_precompiled.loop_key(spec.nin, np.dtype(char).itemsize, parallel))


def _jit_loop(loop_and_data: tuple) -> tuple[int, int]:
    loop, data = loop_and_data
    return loop.address, data


def _precompiled_data(library: _precompiled.Library, spec: FunctionSpec, char: str) -> int:
    """The address of the loop's two data words (kernel, context), as ``_loops.make_loop``
    lays them out: float16 runs the half kernel with the float32 kernel as its context."""
    with _lock:
        if (spec.name, char) not in _data:
            if char == "e":
                words = (library.address(_precompiled.half_key(spec.nin)),
                         library.address(_precompiled.kernel_key(spec.name, "f")))
            else:
                words = (library.address(_precompiled.kernel_key(spec.name, char)), 0)
            _data[spec.name, char] = (ctypes.c_ssize_t * 2)(*words)
        return ctypes.addressof(_data[spec.name, char])


def threading_in_use() -> str:
    """The thread pool the threaded loops use: Numba's threading layer for the JIT (once
    started), numelu's own pool for precompiled kernels."""
    library, _ = choice()
    if library is not None:
        return "numelu-pool"
    import numba

    return numba.threading_layer()
