"""Strides and shapes on the host: contiguity, NumPy broadcasting, coalescing, overlap.

The general kernel path applies NumPy's broadcasting rules to shapes and byte strides here,
sorts the dimensions by the output's strides and merges those that are flat in every operand, so
the kernel unravels as few dimensions as possible.  An ``out=`` that partially overlaps an input
is detected here (it is computed into a temporary and copied).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numelu._cuda.foreign import DeviceOperand


def c_strides(shape: tuple, itemsize: int) -> tuple:
    strides, step = [], itemsize
    for extent in reversed(shape):
        strides.append(step)
        step *= max(extent, 1)
    return tuple(reversed(strides))


def is_contiguous(shape: tuple, strides: tuple, itemsize: int, fortran: bool) -> bool:
    step = itemsize
    for k in (range(len(shape)) if fortran else range(len(shape) - 1, -1, -1)):
        if shape[k] != 1:
            if strides[k] != step:
                return False
            step *= shape[k]
    return True


def broadcast_strides(op: DeviceOperand, shape: tuple) -> tuple:
    lead = len(shape) - len(op.shape)
    strides = [0] * lead
    for k, (extent, stride) in enumerate(zip(op.shape, op.strides, strict=True)):
        strides.append(0 if extent == 1 and shape[lead + k] != 1 else stride)
    return tuple(strides)


def coalesce(shape: tuple, strides: list[tuple]) -> tuple[tuple, list[tuple]]:
    """Drop unit dimensions, sort by the output's strides (``strides[0]``), merge what is flat."""
    dims = [k for k in range(len(shape)) if shape[k] != 1]
    dims.sort(key=lambda k: -abs(strides[0][k]))
    new_shape: list[int] = []
    new_strides: list[list[int]] = [[] for _ in strides]
    for k in dims:
        if new_shape and all(ns[-1] == s[k] * shape[k]
                             for ns, s in zip(new_strides, strides, strict=True)):
            new_shape[-1] *= shape[k]
            for ns, s in zip(new_strides, strides, strict=True):
                ns[-1] = s[k]
        else:
            new_shape.append(shape[k])
            for ns, s in zip(new_strides, strides, strict=True):
                ns.append(s[k])
    if not new_shape:
        return (1,), [(0,) for _ in strides]
    return tuple(new_shape), [tuple(ns) for ns in new_strides]


def needs_temporary(out: DeviceOperand, arrays: list[DeviceOperand], shape: tuple) -> bool:
    """True if ``out`` shares memory with an input other than element-for-element."""
    low, high = out.extent()
    out_strides = broadcast_strides(out, shape)
    for op in arrays:
        op_low, op_high = op.extent()
        if op_low < high and low < op_high:
            same = (op.ptr == out.ptr and op.dtype.itemsize == out.dtype.itemsize and all(
                a == b for a, b, e in zip(broadcast_strides(op, shape), out_strides, shape,
                                      strict=True)
                if e != 1))
            if not same:
                return True
    return False


def fortran_order(order: str, arrays: list, shape: tuple) -> bool:
    if order == "F":
        return True
    if order == "C" or len(shape) < 2:
        return False
    full = [a for a in arrays if tuple(a.shape) == shape]
    return bool(full) and all(
        is_contiguous(a.shape, a.strides, a.dtype.itemsize, True)
        and not is_contiguous(a.shape, a.strides, a.dtype.itemsize, False) for a in full)
