"""``numelu.<name>(...)`` on the GPU: for device arrays, or for any input with ``target="cuda"``.

:func:`call` reads the keywords, checks that host and device arrays are not mixed, resolves the
loop type as NumPy would (``numpy_rules``) and hands over to :func:`call_device` (inputs stay on
their device; the result is an array of the caller's library) or :func:`call_host` (NumPy
inputs copied to the device and the result back, typed as NumPy types a ufunc's result).
:func:`execute` runs the kernel (``kernels``) over the broadcast shape (``layout``), through a
temporary where ``out`` partially overlaps an input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from numelu._cuda import availability
from numelu._cuda.foreign import (
    DeviceOperand,
    DeviceScope,
    allocate,
    caller_stream,
    device_index,
)
from numelu._cuda.kernels import compiled_kernel, compute_dtype, launch
from numelu._cuda.layout import (
    broadcast_strides,
    coalesce,
    fortran_order,
    is_contiguous,
    needs_temporary,
)
from numelu._cuda.numpy_rules import (
    apply_wrap,
    array_wrap,
    check_dtype,
    check_out,
    is_scalar,
    refuse_masked,
    resolve_loop,
    scalar_args,
)
from numelu._operands import is_device_array

_CASTINGS = ("no", "equiv", "safe", "same_kind", "unsafe")


@dataclass
class _Keywords:
    """The ufunc keywords a CUDA call takes."""

    out: Any = None
    where: Any = True
    dtype: Any = None
    casting: str = "same_kind"
    order: str = "K"


def _keywords(name: str, kwargs: dict) -> _Keywords:
    """``kwargs`` checked as NumPy checks a ufunc's (``subok`` is accepted and ignored)."""
    kwargs = dict(kwargs)
    kwargs.pop("subok", None)
    given = {key: kwargs.pop(key) for key in ("out", "where", "dtype", "casting", "order")
             if key in kwargs}
    if kwargs:
        raise TypeError(f"numelu.{name}: keyword(s) {', '.join(sorted(kwargs))} not supported "
                        "on the CUDA target")
    keywords = _Keywords(**given)
    if keywords.casting not in _CASTINGS:
        raise ValueError(f"casting must be one of 'no', 'equiv', 'safe', 'same_kind', or "
                         f"'unsafe' (got {keywords.casting!r})")
    if keywords.order not in ("K", "A", "C", "F"):
        raise ValueError(f"order must be one of 'K', 'A', 'C', 'F' (got {keywords.order!r})")
    if isinstance(keywords.out, tuple):
        if len(keywords.out) != 1:
            raise ValueError(f"numelu.{name}: out must be one array or a 1-tuple")
        keywords.out = keywords.out[0]
    return keywords


def _check_placement(spec, args: tuple, on_device: list[bool], kw: _Keywords) -> bool:
    """True for a call on device arrays; a ``TypeError`` if host and device arrays are mixed,
    or for a masked host array (whose mask cannot follow its data to the GPU)."""
    name = spec.name
    if not (any(on_device) or is_device_array(kw.out) or is_device_array(kw.where)):
        for position, value in enumerate(args):
            refuse_masked(name, f"input {spec.inputs[position]!r}", value)
        refuse_masked(name, "out", kw.out)
        return False
    host = [k for k, a in enumerate(args) if not on_device[k] and not is_scalar(a)]
    if kw.out is not None and not is_device_array(kw.out):
        host.append("out")
    if not is_device_array(kw.where) and not is_scalar(kw.where) and kw.where is not True:
        host.append("where")
    if host:
        names = [spec.inputs[k] if isinstance(k, int) else k for k in host]
        raise TypeError(
            f"numelu.{name}: host (NumPy) and device (CUDA) arrays mixed: {', '.join(names)} "
            "on the host, other operands on the GPU; move them to the GPU first (e.g. "
            "cupy.asarray, torch.as_tensor(..., device='cuda'), numba.cuda.to_device); "
            "Python and NumPy scalars are fine")
    return True


def _operands(spec, args: tuple, on_device: list[bool]) -> tuple[list, list]:
    """The inputs as device operands, host arrays or Python scalars, and the type of each for
    type resolution (a dtype, or the Python scalar itself: weak, NEP 50)."""
    name = spec.name
    operands: list[Any] = []
    typed: list[Any] = []
    for position, value in enumerate(args):
        what = f"input {spec.inputs[position]!r}"
        if on_device[position]:
            op = DeviceOperand(value)
            check_dtype(name, what, op.dtype)
            if not op.dtype.isnative:
                raise TypeError(f"numelu.{name}: {what} has non-native byte order")
            operands.append(op)
            typed.append(op.dtype)
        elif isinstance(value, (bool, int, float)) and not isinstance(value, np.generic):
            operands.append(value)
            typed.append(value)
        else:
            array = np.asarray(value)
            check_dtype(name, what, array.dtype)
            operands.append(array)
            typed.append(array.dtype)
    return operands, typed


def call(function, args: tuple, kwargs: dict):
    """``numelu.<name>(*args, **kwargs)`` on the GPU (device arrays or ``target="cuda"``)."""
    spec = function.spec
    kw = _keywords(spec.name, kwargs)
    on_device = [is_device_array(a) for a in args]
    device_mode = _check_placement(spec, args, on_device, kw)
    cuda = availability.require(f"{spec.name}(target='cuda')")
    if spec.alpha_rule is not None and not on_device[-1]:
        function._check_alpha(args[-1])
    operands, typed = _operands(spec, args, on_device)
    loop = resolve_loop(function, typed, kw.dtype, kw.casting)
    compute = compute_dtype(loop)
    shapes = [op.shape for op in operands if isinstance(op, (DeviceOperand, np.ndarray))]
    shape = tuple(np.broadcast_shapes(*shapes)) if shapes else ()
    if device_mode:
        return call_device(cuda, function, operands, loop, compute, shape, kw.out, kw.where,
                           kw.casting, kw.order)
    result = call_host(cuda, function, operands, loop, compute, shape, kw.out, kw.where,
                       kw.casting, kw.order)
    # the result's type, as NumPy gives a ufunc's: out itself if given, else what the chosen
    # input's __array_wrap__ makes of it (its context names this function, where NumPy's names
    # the ufunc that ran, and holds the caller's own inputs), else an ndarray or a NumPy scalar
    if kw.out is not None:
        return result
    all_scalar = all(len(s) == 0 for s in shapes)
    wrap = array_wrap(args)
    if wrap is None:
        return result[()] if all_scalar else result
    return apply_wrap(wrap, result, (function, args, 0), all_scalar)


def execute(cuda, spec, loop: np.dtype, inputs: list, out: DeviceOperand,
            where: DeviceOperand | None, shape: tuple, stream) -> None:
    """Run the function over ``shape``: inputs are ``DeviceOperand`` or scalars of the compute
    type."""
    n = math.prod(shape)
    if n == 0:
        return
    arrays = [op for op in inputs if isinstance(op, DeviceOperand)]
    if needs_temporary(out, arrays, shape):
        temp = DeviceOperand(cuda.device_array(shape, out.dtype, stream=stream))
        execute(cuda, spec, loop, inputs, temp, None, shape, stream)
        run_kernel(cuda, None, loop, [temp], out, where, shape, stream, copy=True)
        return
    run_kernel(cuda, spec, loop, inputs, out, where, shape, stream)


def run_kernel(cuda, spec, loop, inputs, out, where, shape, stream, copy=False) -> None:
    n = math.prod(shape)
    in_types = tuple(op.dtype if isinstance(op, DeviceOperand) else None for op in inputs)
    arrays = [op for op in inputs if isinstance(op, DeviceOperand)]
    if where is None:
        for fortran in (False, True):
            if all(op.shape == shape
                   and is_contiguous(op.shape, op.strides, op.dtype.itemsize, fortran)
                   for op in (out, *arrays)):
                args = [op.view(cuda, (n,), (op.dtype.itemsize,)) if isinstance(op, DeviceOperand)
                        else op for op in inputs]
                args.append(out.view(cuda, (n,), (out.dtype.itemsize,)))
                kernel = compiled_kernel(spec, in_types, loop, out.dtype, None, False, copy)
                launch(kernel, n, tuple(args), stream)
                return
    operands = [out, *arrays] + ([where] if where is not None else [])
    cshape, cstrides = coalesce(shape, [broadcast_strides(op, shape) for op in operands])
    views = {id(op): op.view(cuda, cshape, s) for op, s in zip(operands, cstrides, strict=True)}
    flat = where is None and len(cshape) == 1 and all(
        s[0] == op.dtype.itemsize for op, s in zip(operands, cstrides, strict=True))
    ndim = None if flat else len(cshape)
    args = [views[id(op)] if isinstance(op, DeviceOperand) else op for op in inputs]
    args.append(views[id(out)])
    if where is not None:
        args.append(views[id(where)])
    kernel = compiled_kernel(spec, in_types, loop, out.dtype, ndim, where is not None, copy)
    launch(kernel, n, tuple(args), stream)


def call_device(cuda, function, operands, loop, compute, shape, out, where, casting, order):
    name = function.spec.name
    arrays = [op for op in operands if isinstance(op, DeviceOperand)]
    out_op = DeviceOperand(out) if out is not None else None
    where_op = None
    if is_device_array(where):
        where_op = DeviceOperand(where)
        if where_op.dtype.kind != "b":
            raise TypeError(f"numelu.{name}: where= must be a boolean array, got "
                            f"{where_op.dtype}")
    first = next(op for op in (*arrays, out_op, where_op) if op is not None)
    device = device_index(first)
    with DeviceScope(cuda, device):
        stream = caller_stream(cuda, first, device)
        if out_op is not None:
            check_out(name, out_op.shape, out_op.dtype, out_op.readonly, shape, loop, casting)
            result, shape = out, out_op.shape
        else:
            result = allocate(cuda, first, shape, loop, fortran_order(order, arrays, shape),
                               stream)
            out_op = DeviceOperand(result)
        if where_op is not None:
            if np.broadcast_shapes(where_op.shape, shape) != shape:
                raise ValueError(f"numelu.{name}: where= of shape {where_op.shape} does not "
                                 f"broadcast to the output shape {shape}")
        elif not where:
            return result                  # where=False: nothing is written
        execute(cuda, function.spec, loop, scalar_args(operands, compute), out_op,
                 where_op, shape, stream)
    return result


def call_host(cuda, function, operands, loop, compute, shape, out, where, casting, order):
    """Host inputs through the GPU: the result as an ndarray (``out`` itself, if given)."""
    name = function.spec.name
    if out is not None:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"numelu.{name}: out must be a NumPy array (or a device array), "
                            f"got {type(out).__name__}")
        check_out(name, out.shape, out.dtype.newbyteorder("="), not out.flags.writeable,
                   shape, loop, casting)
        shape = out.shape
    where_host = None
    if where is not True:
        where_host = np.asarray(where)
        if where_host.dtype.kind != "b":
            raise TypeError(f"numelu.{name}: where= must be boolean, got {where_host.dtype}")
        np.broadcast_shapes(where_host.shape, shape)
        if not where_host.any():
            return out if out is not None else np.empty(shape, loop)
    stream = cuda.default_stream()
    inputs = []
    for op in operands:
        if isinstance(op, np.ndarray) and op.ndim > 0:
            if not op.dtype.isnative:
                op = op.astype(op.dtype.newbyteorder("="))
            if not (op.flags.c_contiguous or op.flags.f_contiguous):
                op = np.ascontiguousarray(op)
            inputs.append(DeviceOperand(cuda.to_device(op, stream=stream)))
        elif isinstance(op, np.ndarray):
            inputs.append(op[()])
        else:
            inputs.append(op)
    arrays = [op for op in inputs if isinstance(op, DeviceOperand)]
    out_dtype = loop if out is None else out.dtype.newbyteorder("=")
    fortran = fortran_order(order if out is None else "C", arrays, shape)
    device_out = cuda.device_array(shape, dtype=out_dtype, order="F" if fortran else "C",
                                   stream=stream)
    execute(cuda, function.spec, loop, scalar_args(inputs, compute), DeviceOperand(device_out),
             None, shape, stream)
    result = device_out.copy_to_host(stream=stream)
    stream.synchronize()
    if out is not None:
        np.copyto(out, result, casting="unsafe",
                  where=True if where_host is None else where_host)
        return out
    return result
