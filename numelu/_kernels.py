"""Where the CPU ufuncs' inner loops come from: the precompiled library when one fits this
CPU and these sources (``_precompiled``), else Numba's JIT (``_loops``), decided once per
process on first use."""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable

import numpy as np

from numelu import _precompiled
from numelu._functions import FunctionSpec

_lock = threading.RLock()
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
    if library is None:     # the JIT: each kernel compiled on the first call of its type
        from numelu import _lazy, _loops

        def data(char: str) -> int:
            return _lazy.data_address(spec, char)

        def loop(nin: int, item: int) -> int:
            return _loops.generic_loop(nin, item, parallel).address
    else:
        def kernel(char: str) -> int:
            return library.address(_precompiled.kernel_key(spec.name, char))

        def half(nin: int) -> int:
            return library.address(_precompiled.half_key(nin))

        def data(char: str) -> int:
            return _data_address(spec, char, kernel, half)

        def loop(nin: int, item: int) -> int:
            return library.address(_precompiled.loop_key(nin, item, parallel))
    return [(char, loop(spec.nin, np.dtype(char).itemsize), data(char)) for char in chars]


def _data_address(spec: FunctionSpec, char: str, kernel: Callable[[str], int],
                  half: Callable[[int], int]) -> int:
    """The address of the two words a loop's ``data`` points to, the kernel to run and its
    ``inner`` argument: for float16 the half kernel of ``spec``'s input count and the function's
    float32 kernel, else the function's kernel for ``char`` and 0.  Kept for the process."""
    with _lock:
        if (spec.name, char) not in _data:
            words = (half(spec.nin), kernel("f")) if char == "e" else (kernel(char), 0)
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
