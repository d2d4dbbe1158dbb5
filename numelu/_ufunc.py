"""Create genuine ``numpy.ufunc`` objects from compiled inner loops.

Uses NumPy's public C API ``PyUFunc_FromFuncAndData`` (through its ``_UFUNC_API`` capsule), the
same entry point C extensions such as scipy.special use.  Numba's own ufunc factory flags the
outputs in a way that breaks ``where=`` (docs/design.md, Numba's ufuncs); a ufunc made here
behaves exactly like NumPy's own.  NumPy keeps pointers to the name, doc, type and loop tables,
so they are kept alive for the life of the process.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import numpy as np

try:  # NumPy 2
    from numpy._core import _multiarray_umath as _umath
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core import _multiarray_umath as _umath

_PY_UFUNC_NONE = -1  # PyUFunc_None: no identity

_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]

_API_TABLE = ctypes.cast(_capsule_pointer(_umath._UFUNC_API, None), ctypes.POINTER(ctypes.c_void_p))
_FROM_FUNC_AND_DATA = ctypes.PYFUNCTYPE(
    ctypes.py_object,
    ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
    ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int,
)(_API_TABLE[1])  # slot 1 of the ufunc C API: PyUFunc_FromFuncAndData

_KEEP_ALIVE: list[object] = []


def make_ufunc(name: str, doc: str, nin: int,
               loops: Sequence[tuple[str, int, int]]) -> np.ufunc:
    """A ufunc named ``name`` with one output and homogeneous loops ``[(char, loop address,
    data address), ...]``: NumPy passes each loop its ``data`` address.  The caller keeps the
    compiled loops and their data alive for the life of the process."""
    functions = (ctypes.c_void_p * len(loops))(*[loop for _, loop, _ in loops])
    data = (ctypes.c_void_p * len(loops))(*[address for _, _, address in loops])
    type_numbers = [np.dtype(char).num for char, _, _ in loops for _ in range(nin + 1)]
    signature = (ctypes.c_char * len(type_numbers))(*type_numbers)
    name_buffer = ctypes.create_string_buffer(name.encode())
    doc_buffer = ctypes.create_string_buffer(doc.encode())
    _KEEP_ALIVE.append((functions, data, signature, name_buffer, doc_buffer))
    return _FROM_FUNC_AND_DATA(
        functions, data, signature, len(loops), nin, 1, _PY_UFUNC_NONE, name_buffer, doc_buffer, 0
    )
