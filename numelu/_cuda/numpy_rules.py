"""What NumPy would do, applied to a CUDA call: loop type resolution, output checks, result type.

Types follow NumPy (NEP 50): the loop is the first of float16/float32/float64 that every input
casts to safely (a Python scalar is weak, NumPy scalars and arrays are strong), or ``dtype=``;
``casting=`` is checked for the inputs and for ``out``.  float16 is computed in float32.  Host
results get the type NumPy gives a ufunc's result (``__array_wrap__``).  A masked array is a
``TypeError``: its mask would not follow the data to the GPU.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from numelu._cuda.foreign import DeviceOperand
from numelu._operands import BAD_KINDS, LOOP_DTYPES, bad_dtype


def is_scalar(value: Any) -> bool:
    return isinstance(value, (numbers.Number, np.generic)) or (
        isinstance(value, np.ndarray) and value.ndim == 0)


def check_dtype(name: str, what: str, dtype: Any) -> None:
    error = bad_dtype(name, what, dtype)
    if error is not None:
        raise error


def refuse_masked(name: str, what: str, value: Any) -> None:
    """A masked host array cannot go to the GPU: its mask would be dropped on the way."""
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray and isinstance(
            value, np.ma.MaskedArray):
        raise TypeError(
            f"numelu.{name}(target='cuda'): {what} is a masked array (numpy.ma.MaskedArray), "
            "whose mask cannot follow its data to the GPU; run it on the CPU (target='cpu' or "
            "'parallel'), which keeps the mask as NumPy does, or pass its .filled(fill_value) "
            "to compute every element on the GPU")


def array_wrap(inputs: tuple):
    """The ``__array_wrap__`` NumPy calls on a ufunc's result for these ``inputs``, or None.

    NumPy's rule (``npy_find_array_wrap``): of the inputs that are neither exact ndarrays nor
    scalars and have an ``__array_wrap__`` (ndarray subclasses, array-likes), the first with the
    highest ``__array_priority__``; an exact ndarray counts as priority 0 and a scalar as -1e6,
    both without a wrap, and an input with a wrap at priority 0 still wins over them.
    """
    wrap, priority, found = None, 0.0, False
    for value in inputs:
        if type(value) is np.ndarray:
            if not found or priority < 0.0:
                wrap, priority, found = None, 0.0, True
        elif isinstance(value, (int, float, complex, str, bytes, np.generic)):
            if not found or priority < -1e6:
                wrap, priority, found = None, -1e6, True
        else:
            candidate = getattr(value, "__array_wrap__", None)
            if candidate is None:
                continue
            try:
                current = float(getattr(type(value), "__array_priority__", 0.0))
            except (TypeError, ValueError):
                current = 0.0
            if not found or priority < current or (current == 0.0 and wrap is None):
                wrap, priority, found = candidate, current, True
    return wrap


def apply_wrap(wrap, result: np.ndarray, context: tuple, return_scalar: bool):
    """``wrap(result, context, return_scalar)``, with NumPy's fallbacks (and its warning) for
    an ``__array_wrap__`` written before NumPy 2.0, which takes fewer arguments."""
    try:
        return wrap(result, context, return_scalar)
    except TypeError as error:
        try:
            wrapped = wrap(result, context)
        except TypeError:
            try:
                wrapped = wrap(result)
            except TypeError:
                raise error from None
        warnings.warn("__array_wrap__ must accept context and return_scalar arguments "
                      "(positionally) in the future. (Deprecated NumPy 2.0)",
                      DeprecationWarning, stacklevel=4)
        return wrapped


def resolve_loop(function, typed: list, dtype: Any, casting: str) -> np.dtype:
    """The loop dtype NumPy's type resolution would pick for a ufunc with e, f, d loops."""
    name = function.spec.name
    if dtype is not None:
        loop = np.dtype(dtype)
        if loop not in LOOP_DTYPES:
            raise TypeError(f"numelu.{name}: no loop for dtype={loop} (loops: float16, "
                            "float32, float64)")
    else:
        # NumPy's legacy loop search with NEP 50 weak Python scalars: a Python scalar takes the
        # type it promotes to with the typed operands, then the first loop that every operand
        # casts to safely wins (so int8 with uint8 gives float16, as np.arctan2 does)
        strong = [t for t in typed if isinstance(t, np.dtype)]
        dtypes = [t if isinstance(t, np.dtype) else np.result_type(*strong, t) for t in typed]
        loop = next((d for d in LOOP_DTYPES if all(np.can_cast(t, d, "safe") for t in dtypes)),
                    None)
        if loop is None:
            raise TypeError(f"numelu.{name}: no loop for inputs of dtype "
                            f"{', '.join(map(str, dtypes))} (loops: float16, float32, float64)")
    for position, item in enumerate(typed):
        if isinstance(item, np.dtype) and not np.can_cast(item, loop, casting):
            raise TypeError(f"Cannot cast ufunc '{name}' input {position} from {item!r} to "
                            f"{loop!r} with casting rule {casting!r}")
    return loop


def check_out(name: str, out_shape: tuple, out_dtype: np.dtype, readonly: bool, shape: tuple,
               loop: np.dtype, casting: str) -> None:
    if readonly:
        raise ValueError("output array is read-only")
    if np.broadcast_shapes(shape, out_shape) != tuple(out_shape):
        raise ValueError(f"non-broadcastable output operand with shape {tuple(out_shape)} "
                         f"doesn't match the broadcast shape {shape}")
    if out_dtype.kind in BAD_KINDS or not out_dtype.isnative:
        raise TypeError(f"numelu.{name}: cannot write to an output of dtype {out_dtype}")
    if not np.can_cast(loop, out_dtype, casting):
        raise TypeError(f"Cannot cast ufunc '{name}' output from {loop!r} to {out_dtype!r} "
                        f"with casting rule {casting!r}")


def scalar_args(operands: list, compute: np.dtype) -> list:
    cast = compute.type
    with np.errstate(all="ignore"):
        return [op if isinstance(op, DeviceOperand) else cast(op) for op in operands]
