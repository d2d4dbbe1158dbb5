"""What the CPU dispatcher (``_dispatch``) and the CUDA path (``_cuda``) agree on about operands.

One definition each of: the loop types, the dtype kinds refused (and the ``TypeError`` that names
the function and the dtype, ``docs/contract.md`` section 6), and what a device array is
(section 5, rule 2).
Imports nothing beyond NumPy, so ``import numelu`` stays free of ``numba.cuda``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

#: The loops of every function: float16, float32, float64 (float16 is computed in float32).
LOOP_CHARS = "efd"
LOOP_DTYPES = tuple(np.dtype(char) for char in LOOP_CHARS)

#: dtype kinds that are not real numbers, with the word the error uses for each.
BAD_KINDS = {"c": "complex", "O": "object", "S": "bytes", "U": "string", "V": "void",
             "M": "datetime", "m": "timedelta", "T": "string"}

_PYTHON_SCALARS = (complex, str, bytes)     # no ``dtype``; float, int and bool are fine

#: Exact types that are never device arrays and never override ``__array_ufunc__``: checked by a
#: set lookup first, much cheaper per operand than an ``isinstance`` of the ABC
#: ``numbers.Number`` and a failed ``getattr`` on the type.
HOST_TYPES = frozenset({np.ndarray, float, int, bool, complex, str, bytes, list, tuple,
                        type(None)} | {np.dtype(char).type for char in "?bBhHiIlLqQefdgFDG"})


def bad_dtype(name: str, what: str, dtype: Any) -> TypeError | None:
    """The ``TypeError`` for ``what`` (``"input 'x'"``) of ``numelu.<name>`` having ``dtype``,
    or None where ``dtype`` is real.

    ``dtype``: a NumPy dtype, or any object with a ``kind`` (pandas' extension dtypes, such as
    ``Float64``, ``category``, ``datetime64[ns, UTC]`` or ``str``, have one); anything without a
    ``kind`` is left to NumPy.
    """
    kind = getattr(dtype, "kind", None)
    if not isinstance(kind, str) or kind not in BAD_KINDS:
        return None
    described = (f"{BAD_KINDS[kind]} dtype {dtype}" if isinstance(dtype, np.dtype)
                 else f"dtype {dtype} (of {BAD_KINDS[kind]} kind {kind!r})")
    return TypeError(f"numelu.{name}: {what} has {described}; only real (float, integer, bool) "
                     "inputs are supported")


def check_other_library_inputs(spec, args: tuple, names: Sequence[str] | None = None) -> None:
    """The checks of ``docs/contract.md`` section 6, before an input is handed to another
    library's ``__array_ufunc__``.

    Each input's ``dtype`` attribute is checked where it has one (a Dask or xarray array, a
    pandas Series, a NumPy array beside them), each of a DataFrame's or Dataset's ``dtypes``,
    and Python complex, str and bytes scalars; lists and other values are left to the library.
    ``names``: what the error calls each of ``args`` (default: the function's inputs).
    """
    names = spec.inputs if names is None else names
    for position, value in enumerate(args):
        dtypes = getattr(value, "dtype", None)
        if dtypes is not None:
            dtypes = (dtypes,)
        elif isinstance(value, _PYTHON_SCALARS):
            dtypes = (np.asarray(value).dtype,)
        else:
            dtypes = getattr(value, "dtypes", None)        # pandas DataFrame, xarray Dataset
            if isinstance(dtypes, Mapping):
                dtypes = dtypes.values()
            elif not isinstance(dtypes, Iterable):
                continue
        for dtype in dtypes:
            error = bad_dtype(spec.name, f"input {names[position]!r}", dtype)
            if error is not None:
                raise error


def is_device_array(value: Any) -> bool:
    """True for a CUDA device array: CuPy, PyTorch CUDA tensors, Numba device arrays (anything
    with ``__cuda_array_interface__``) and the CUDA simulator's arrays (``__cuda_ndarray__``)."""
    if type(value) in HOST_TYPES:
        return False
    if isinstance(value, (np.ndarray, numbers.Number, np.generic, list, tuple)):
        return False
    try:
        return (hasattr(value, "__cuda_array_interface__")
                or bool(getattr(value, "__cuda_ndarray__", False)))
    except Exception:  # noqa: BLE001 - a CUDA tensor that requires grad refuses to export it
        return bool(getattr(value, "is_cuda", False))


def result_size(values: Iterable) -> int:
    """The number of elements NumPy's broadcasting gives ``values`` (``ndarray`` operands; any
    other value broadcasts to every shape); where their shapes do not broadcast together, the
    largest size (the ufunc then raises NumPy's own error)."""
    shapes = []
    size, first = 1, None
    for value in values:
        if isinstance(value, np.ndarray):
            if first is None:
                first, size = value.shape, value.size
            elif value.shape != first:
                shapes.append(value.shape)
    if not shapes:                  # one shape (or none): the common case, without NumPy's call
        return size
    shapes.append(first)
    try:
        return math.prod(np.broadcast_shapes(*shapes))
    except ValueError:
        return max(map(math.prod, shapes))


def has_ufunc_override(value: Any) -> bool:
    """True if ``value``'s type overrides ``__array_ufunc__`` (Dask, xarray, pandas)."""
    if type(value) in HOST_TYPES:
        return False
    method = getattr(type(value), "__array_ufunc__", None)
    return method is not None and method is not np.ndarray.__array_ufunc__


def any_override(out: Any) -> bool:
    """True if ``out`` (an array or a tuple of them) overrides ``__array_ufunc__``."""
    outs = out if isinstance(out, tuple) else (out,)
    return any(map(has_ufunc_override, outs))
