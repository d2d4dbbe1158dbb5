"""The CUDA target: genuine CUDA ufuncs and the dispatcher's specialised ``@cuda.jit`` kernels.

Nothing here imports ``numba.cuda`` (or CuPy, PyTorch) until the first CUDA call, so ``import
numelu`` works everywhere; a call that needs CUDA where it cannot be had raises ``RuntimeError``
saying why (numba-cuda missing, no driver, no GPU, no NVVM) and how to install it.

Two things are built from the same scalar formulas (``numelu.scalar``, whose ``exp``/``expm1``/
``fma`` compile to libdevice on CUDA, see ``numelu._cuda_math``):

* ``cuda_ufunc(spec)`` -- ``numelu.<name>.cuda``: the genuine ``@vectorize(target="cuda")`` ufunc
  (float32, float64 and, where numba-cuda can compile it, float16 computed in float32), built on
  first use.  It needs a real GPU: Numba's simulator cannot run it (numba issue 7505).
* ``call(function, args, kwargs)`` -- what ``numelu.<name>(...)`` does for device arrays or
  ``target="cuda"``.  Per function, kernels are generated from the formula and compiled on first
  use for the exact argument types (eager signatures, so a launch does no type dispatch):

  - scalar inputs (a Python or NumPy scalar ``alpha``) are kernel arguments passed by value,
    never one-element device arrays;
  - a contiguous fast path: a 1-D grid-stride loop over ``[::1]`` views, taken when every array
    operand covers the whole output with the same contiguous layout (C or F);
  - a general path for everything else (broadcasting, any strides, negative and zero strides,
    ``where=``): NumPy's broadcasting rules are applied on the host to shapes and strides, the
    dimensions are sorted by the output's strides and coalesced, and the kernel unravels a flat
    index over the remaining dimensions;
  - an ``out=`` that partially overlaps an input is computed into a temporary and copied.

Types follow NumPy (NEP 50): the loop is the first of float16/float32/float64 that every input
casts to safely (a Python scalar is weak: it counts as the type it promotes to with the typed
inputs; NumPy scalars and arrays are strong), or ``dtype=``; ``casting=`` is checked for the
inputs and for ``out``.  float16 is computed in float32 and rounded once.

Inputs carrying ``__cuda_array_interface__`` stay on their device: the result is a new array of
the first device input's library (``cupy.empty``, ``torch.empty``, ``numba.cuda.device_array``)
on its device, and the kernel is launched on that library's current stream
(``cupy.cuda.get_current_stream()``, ``torch.cuda.current_stream()``) through
``numba.cuda.external_stream``, so it is ordered with the caller's other work without any
synchronisation; a Numba device array's own stream is used for Numba arrays.  Foreign arrays are
wrapped zero-copy (``numba.cuda.from_cuda_array_interface(..., sync=False)``).  NumPy inputs with
``target="cuda"`` are copied to the device and the result copied back, and given the type NumPy
gives a ufunc's result: a NumPy array, a NumPy scalar for scalar input (as ``np.exp`` returns),
or what the ``__array_wrap__`` of the input NumPy would pick makes of it (``np.matrix`` and
other ndarray subclasses, array-likes such as PyTorch CPU tensors).  A masked array
(``np.ma.MaskedArray``) is a ``TypeError``: its mask would not follow the data to the GPU.  Host
arrays mixed with device arrays are a ``TypeError``.

Launches never use fewer than 128 blocks (numba-cuda's low-occupancy warning threshold): the idle
blocks of a tiny launch exit at once, and callers running with warnings as errors are not broken.
"""

from __future__ import annotations

import importlib.util
import math
import numbers
import threading
import warnings
from typing import Any

import numpy as np

from numelu import _cuda_math
from numelu._operands import BAD_KINDS, LOOP_DTYPES, bad_dtype, is_device_array

_INSTALL = ('pip install "numelu[cuda13]" (NVIDIA driver for CUDA 13) or '
            'pip install "numelu[cuda12]" (CUDA 12)')
_LOOPS = LOOP_DTYPES           # float16, float32, float64
_THREADS = 256
_MIN_BLOCKS = 128          # numba-cuda warns (NumbaPerformanceWarning) below this grid size
_MAX_BLOCKS = 1 << 20      # beyond that the grid-stride loop takes over
_SIM_LAUNCH = (2, 8)       # the simulator runs every thread as a Python thread: keep it small

_lock = threading.RLock()
_kernels: dict[tuple, Any] = {}
_streams: dict[tuple, Any] = {}
_ready: list[bool] = []    # [True] once CUDA was found usable (never rechecked after that)


# ------------------------------------------------------------------------------ availability


def simulating() -> bool:
    """True when Numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1`` before import)."""
    from numba.core import config

    return bool(getattr(config, "ENABLE_CUDASIM", False))


def unavailable_reason() -> str | None:
    """None if CUDA can be used (a GPU, or the simulator), else why not and how to fix it."""
    if _ready or simulating():
        return None
    if importlib.util.find_spec("numba_cuda") is None:
        return ("numba-cuda is not installed (Numba's own built-in CUDA target is deprecated and "
                f"not used by numelu); install it with: {_INSTALL}")
    try:
        from numba import cuda
        from numba.cuda.cudadrv import driver, nvvm
    except Exception as error:  # noqa: BLE001 - report whatever went wrong
        return f"numba.cuda cannot be imported ({error}); reinstall it with: {_INSTALL}"
    try:
        driver_ok = driver.driver.is_available
    except Exception:  # noqa: BLE001 - the driver raised while initialising
        driver_ok = False
    if not driver_ok:
        detail = " ".join(str(driver.driver.initialization_error or "").split())
        return (f"no usable CUDA driver was found ({detail or 'driver initialisation failed'}); "
                f"numelu's CUDA target needs an NVIDIA GPU and driver, then: {_INSTALL}")
    try:
        count = driver.driver.get_device_count()
    except Exception as error:  # noqa: BLE001
        return f"the CUDA driver could not list devices ({error})"
    if count == 0:
        return "the CUDA driver is installed but no CUDA GPU is visible (CUDA_VISIBLE_DEVICES?)"
    if not nvvm.is_available():
        return (f"NVVM (the CUDA compiler library) was not found; install it with: {_INSTALL}")
    if not cuda.is_available():
        return f"numba.cuda.is_available() is False; check the driver, then: {_INSTALL}"
    _ready.append(True)
    return None


def _require(what: str):
    """The ``numba.cuda`` module, or RuntimeError saying why CUDA cannot be used."""
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"numelu: {what} needs CUDA, but {reason}")
    from numba import cuda

    return cuda


# ------------------------------------------------------------------------------ CUDA ufuncs


def _ufunc_body(spec):
    args = ", ".join(f"a{k}" for k in range(spec.nin))
    widened = ", ".join(f"widen(a{k})" for k in range(spec.nin))
    source = f"def {spec.name}({args}):\n    return formula({widened})\n"
    namespace = {"formula": spec.formula, "widen": _cuda_math.widen}
    exec(compile(source, f"<numelu.{spec.name}.cuda>", "exec"), namespace)
    body = namespace[spec.name]
    body.__doc__ = spec.formula.__doc__
    return body


def ufunc_signatures(spec, float16: bool = True) -> list[str]:
    """The ``@vectorize`` signatures of ``numelu.<name>.cuda``."""
    types = ("float16", "float32", "float64") if float16 else ("float32", "float64")
    return [f"{t}({', '.join([t] * spec.nin)})" for t in types]


def cuda_ufunc(spec):
    """``numelu.<name>.cuda``: the genuine ``@vectorize(target="cuda")`` ufunc, built now."""
    if simulating():
        raise RuntimeError(
            f"numelu.{spec.name}.cuda: Numba's CUDA simulator cannot build "
            "@vectorize(target='cuda') ufuncs (numba issue 7505); "
            f"use numelu.{spec.name}(..., target='cuda'), which runs under the simulator")
    _require(f"{spec.name}.cuda")
    from numba import vectorize

    body = _ufunc_body(spec)
    try:
        return vectorize(ufunc_signatures(spec), target="cuda")(body)
    except Exception:  # noqa: BLE001 - float16 needs cc >= 5.3 and a recent numba-cuda
        return vectorize(ufunc_signatures(spec, float16=False), target="cuda")(body)


# ------------------------------------------------------------------------------ kernels


def _numba_name(dtype: np.dtype) -> str:
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
        parts.append(f"{_numba_name(dtype)}[{layout}]" if dtype is not None
                     else _numba_name(compute))
    parts.append(f"{_numba_name(out_dtype)}[{layout}]")
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


def _compute_dtype(loop: np.dtype) -> np.dtype:
    return _LOOPS[1] if loop == _LOOPS[0] else loop


def _kernel(spec, in_types: tuple, loop: np.dtype, out_dtype: np.dtype, ndim: int | None,
            where: bool, copy: bool = False):
    """The compiled kernel for these exact types and layout (compiled once, then cached)."""
    key = (None if copy else spec.name, in_types, loop, out_dtype, ndim, where)
    kernel = _kernels.get(key)
    if kernel is None:
        with _lock:
            kernel = _kernels.get(key)
            if kernel is None:
                from numba import cuda

                compute = _compute_dtype(loop)
                arrays = tuple(t is not None for t in in_types)
                pyfunc = kernel_pyfunc(spec, arrays, ndim, where, compute, copy)
                sig = kernel_signature(in_types, compute, out_dtype, ndim, where)
                kernel = cuda.jit(sig)(pyfunc)
                _kernels[key] = kernel
    return kernel


def _launch(kernel, n: int, args: tuple, stream) -> None:
    if simulating():
        blocks, threads = _SIM_LAUNCH
    else:
        threads = _THREADS
        blocks = min(max(-(-n // threads), _MIN_BLOCKS), _MAX_BLOCKS)
    kernel[blocks, threads, stream](n, *args)


# ------------------------------------------------------------------------------ operands


def _c_strides(shape: tuple, itemsize: int) -> tuple:
    strides, step = [], itemsize
    for extent in reversed(shape):
        strides.append(step)
        step *= max(extent, 1)
    return tuple(reversed(strides))


def _is_contiguous(shape: tuple, strides: tuple, itemsize: int, fortran: bool) -> bool:
    step = itemsize
    for k in (range(len(shape)) if fortran else range(len(shape) - 1, -1, -1)):
        if shape[k] != 1:
            if strides[k] != step:
                return False
            step *= shape[k]
    return True


def _library(obj: Any) -> str:
    module = type(obj).__module__ or ""
    if module.startswith("cupy"):
        return "cupy"
    if module.startswith("torch"):
        return "torch"
    if module.startswith("numba"):
        return "sim" if simulating() else "numba"
    return "cai"


class _Array:
    """A device array operand: where its elements are (pointer, shape, byte strides, dtype)."""

    __slots__ = ("obj", "lib", "ptr", "shape", "strides", "dtype", "readonly", "host")

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.lib = _library(obj)
        if self.lib == "sim":                 # the simulator's arrays wrap a NumPy array
            host = obj._ary
            self.host = host
            self.ptr = host.__array_interface__["data"][0]
            self.shape, self.strides, self.dtype = host.shape, host.strides, host.dtype
            self.readonly = not host.flags.writeable
            return
        self.host = None
        if self.lib == "torch" and getattr(obj, "requires_grad", False):
            obj = obj.detach()
        cai = obj.__cuda_array_interface__
        if cai.get("mask") is not None:
            raise TypeError("numelu: masked CUDA arrays are not supported")
        self.dtype = np.dtype(cai["typestr"])
        self.shape = tuple(int(s) for s in cai["shape"])
        strides = cai.get("strides")
        self.strides = (tuple(int(s) for s in strides) if strides is not None
                        else _c_strides(self.shape, self.dtype.itemsize))
        self.ptr, self.readonly = int(cai["data"][0]), bool(cai["data"][1])

    def extent(self) -> tuple[int, int]:
        low = high = self.ptr
        for extent, stride in zip(self.shape, self.strides, strict=True):
            if extent == 0:
                return self.ptr, self.ptr
            if stride < 0:
                low += stride * (extent - 1)
            else:
                high += stride * (extent - 1)
        return low, high + self.dtype.itemsize

    def view(self, cuda, shape: tuple, strides: tuple):
        """A kernel argument: this array seen with ``shape`` and byte ``strides``, zero-copy."""
        if self.lib == "sim":
            view = np.lib.stride_tricks.as_strided(self.host, shape, strides)
            return type(self.obj)(view)
        if self.lib == "numba" and self.obj.shape == shape and self.obj.strides == strides:
            return self.obj
        desc = {"shape": shape, "strides": strides, "data": (self.ptr, False),
                "typestr": self.dtype.str, "version": 3}
        return cuda.from_cuda_array_interface(desc, owner=self.obj, sync=False)


def _broadcast_strides(op: _Array, shape: tuple) -> tuple:
    lead = len(shape) - len(op.shape)
    strides = [0] * lead
    for k, (extent, stride) in enumerate(zip(op.shape, op.strides, strict=True)):
        strides.append(0 if extent == 1 and shape[lead + k] != 1 else stride)
    return tuple(strides)


def _coalesce(shape: tuple, strides: list[tuple]) -> tuple[tuple, list[tuple]]:
    """Drop unit dimensions, sort by the output's strides (``strides[0]``), merge what is flat."""
    dims = [k for k in range(len(shape)) if shape[k] != 1]
    dims.sort(key=lambda k: -abs(strides[0][k]))
    new_shape: list[int] = []
    new_strides: list[list[int]] = [[] for _ in strides]
    for k in dims:
        if new_shape and all(ns[-1] == s[k] * shape[k] for ns, s in zip(new_strides, strides, strict=True)):
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


def _execute(cuda, spec, loop: np.dtype, inputs: list, out: _Array, where: _Array | None,
             shape: tuple, stream) -> None:
    """Run the function over ``shape``: inputs are ``_Array`` or scalars of the compute type."""
    n = math.prod(shape)
    if n == 0:
        return
    arrays = [op for op in inputs if isinstance(op, _Array)]
    if _needs_temporary(out, arrays, shape):
        temp = _Array(cuda.device_array(shape, out.dtype, stream=stream))
        _execute(cuda, spec, loop, inputs, temp, None, shape, stream)
        _run(cuda, None, loop, [temp], out, where, shape, stream, copy=True)
        return
    _run(cuda, spec, loop, inputs, out, where, shape, stream)


def _run(cuda, spec, loop, inputs, out, where, shape, stream, copy=False) -> None:
    n = math.prod(shape)
    in_types = tuple(op.dtype if isinstance(op, _Array) else None for op in inputs)
    arrays = [op for op in inputs if isinstance(op, _Array)]
    if where is None:
        for fortran in (False, True):
            if all(op.shape == shape
                   and _is_contiguous(op.shape, op.strides, op.dtype.itemsize, fortran)
                   for op in (out, *arrays)):
                args = [op.view(cuda, (n,), (op.dtype.itemsize,)) if isinstance(op, _Array)
                        else op for op in inputs]
                args.append(out.view(cuda, (n,), (out.dtype.itemsize,)))
                kernel = _kernel(spec, in_types, loop, out.dtype, None, False, copy)
                _launch(kernel, n, tuple(args), stream)
                return
    operands = [out, *arrays] + ([where] if where is not None else [])
    cshape, cstrides = _coalesce(shape, [_broadcast_strides(op, shape) for op in operands])
    views = {id(op): op.view(cuda, cshape, s) for op, s in zip(operands, cstrides, strict=True)}
    flat = where is None and len(cshape) == 1 and all(
        s[0] == op.dtype.itemsize for op, s in zip(operands, cstrides, strict=True))
    ndim = None if flat else len(cshape)
    args = [views[id(op)] if isinstance(op, _Array) else op for op in inputs]
    args.append(views[id(out)])
    if where is not None:
        args.append(views[id(where)])
    kernel = _kernel(spec, in_types, loop, out.dtype, ndim, where is not None, copy)
    _launch(kernel, n, tuple(args), stream)


def _needs_temporary(out: _Array, arrays: list[_Array], shape: tuple) -> bool:
    """True if ``out`` shares memory with an input other than element-for-element."""
    low, high = out.extent()
    out_strides = _broadcast_strides(out, shape)
    for op in arrays:
        op_low, op_high = op.extent()
        if op_low < high and low < op_high:
            same = (op.ptr == out.ptr and op.dtype.itemsize == out.dtype.itemsize and all(
                a == b for a, b, e in zip(_broadcast_strides(op, shape), out_strides, shape,
                                      strict=True)
                if e != 1))
            if not same:
                return True
    return False


# ------------------------------------------------------------------------------ streams, devices


def _stream_from_handle(cuda, handle: int, device: int | None):
    if handle in (0, 1):
        return cuda.legacy_default_stream()
    if handle == 2:
        return cuda.per_thread_default_stream()
    key = (device, handle)
    stream = _streams.get(key)
    if stream is None:
        stream = _streams[key] = cuda.external_stream(handle)
    return stream


def _device_index(op: _Array) -> int | None:
    if op.lib == "cupy":
        return int(op.obj.device.id)
    if op.lib == "torch":
        return int(op.obj.device.index)
    return None


def _caller_stream(cuda, op: _Array, device: int | None):
    """The stream the caller's library orders its work on (for the array ``op``)."""
    if op.lib == "sim":
        return cuda.default_stream()
    if op.lib == "cupy":
        import cupy

        return _stream_from_handle(cuda, int(cupy.cuda.get_current_stream().ptr), device)
    if op.lib == "torch":
        import torch

        handle = int(torch.cuda.current_stream(op.obj.device).cuda_stream)
        return _stream_from_handle(cuda, handle, device)
    if op.lib == "numba":
        stream = getattr(op.obj, "stream", 0)
        return stream if stream else cuda.default_stream()
    handle = op.obj.__cuda_array_interface__.get("stream")
    return cuda.default_stream() if handle is None else _stream_from_handle(cuda, handle, device)


class _DeviceScope:
    """``with`` the CUDA context of a device (only switched when it is not the current one)."""

    def __init__(self, cuda, device: int | None) -> None:
        self.scope = None
        if device is not None and not simulating() and len(cuda.gpus) > 1:
            if cuda.get_current_device().id != device:
                self.scope = cuda.gpus[device]

    def __enter__(self):
        if self.scope is not None:
            self.scope.__enter__()
        return self

    def __exit__(self, *exc):
        if self.scope is not None:
            return self.scope.__exit__(*exc)
        return None


_TORCH_DTYPES = {"float16": "float16", "float32": "float32", "float64": "float64"}


def _allocate(cuda, like: _Array, shape: tuple, dtype: np.dtype, fortran: bool, stream):
    """A new device array of the caller's library (``like``'s), on its device."""
    order = "F" if fortran else "C"
    if like.lib == "cupy":
        import cupy

        with cupy.cuda.Device(like.obj.device.id):
            return cupy.empty(shape, dtype=dtype, order=order)
    if like.lib == "torch":
        import torch

        torch_dtype = getattr(torch, _TORCH_DTYPES[dtype.name])
        if fortran and len(shape) > 1:
            strides = [s // dtype.itemsize for s in _c_strides(shape[::-1], dtype.itemsize)][::-1]
            return torch.empty_strided(shape, strides, dtype=torch_dtype, device=like.obj.device)
        return torch.empty(shape, dtype=torch_dtype, device=like.obj.device)
    return cuda.device_array(shape, dtype=dtype, order=order, stream=stream)


# ------------------------------------------------------------------------------ the call


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (numbers.Number, np.generic)) or (
        isinstance(value, np.ndarray) and value.ndim == 0)


def _check_dtype(name: str, what: str, dtype: Any) -> None:
    error = bad_dtype(name, what, dtype)
    if error is not None:
        raise error


def _refuse_masked(name: str, what: str, value: Any) -> None:
    """A masked host array cannot go to the GPU: its mask would be dropped on the way."""
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray and isinstance(
            value, np.ma.MaskedArray):
        raise TypeError(
            f"numelu.{name}(target='cuda'): {what} is a masked array (numpy.ma.MaskedArray), "
            "whose mask cannot follow its data to the GPU; run it on the CPU (target='cpu' or "
            "'parallel'), which keeps the mask as NumPy does, or pass its .filled(fill_value) "
            "to compute every element on the GPU")


def _array_wrap(inputs: tuple):
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


def _apply_wrap(wrap, result: np.ndarray, context: tuple, return_scalar: bool):
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


def _resolve_loop(function, typed: list, dtype: Any, casting: str) -> np.dtype:
    """The loop dtype NumPy's type resolution would pick for a ufunc with e, f, d loops."""
    name = function.spec.name
    if dtype is not None:
        loop = np.dtype(dtype)
        if loop not in _LOOPS:
            raise TypeError(f"numelu.{name}: no loop for dtype={loop} (loops: float16, "
                            "float32, float64)")
    else:
        # NumPy's legacy loop search with NEP 50 weak Python scalars: a Python scalar takes the
        # type it promotes to with the typed operands, then the first loop that every operand
        # casts to safely wins (so int8 with uint8 gives float16, as np.arctan2 does)
        strong = [t for t in typed if isinstance(t, np.dtype)]
        dtypes = [t if isinstance(t, np.dtype) else np.result_type(*strong, t) for t in typed]
        loop = next((d for d in _LOOPS if all(np.can_cast(t, d, "safe") for t in dtypes)),
                    None)
        if loop is None:
            raise TypeError(f"numelu.{name}: no loop for inputs of dtype "
                            f"{', '.join(map(str, dtypes))} (loops: float16, float32, float64)")
    for position, item in enumerate(typed):
        if isinstance(item, np.dtype) and not np.can_cast(item, loop, casting):
            raise TypeError(f"Cannot cast ufunc '{name}' input {position} from {item!r} to "
                            f"{loop!r} with casting rule {casting!r}")
    return loop


def call(function, args: tuple, kwargs: dict):
    """``numelu.<name>(*args, **kwargs)`` on the GPU (device arrays or ``target="cuda"``)."""
    spec = function.spec
    name = spec.name
    kwargs = dict(kwargs)
    out = kwargs.pop("out", None)
    where = kwargs.pop("where", True)
    dtype = kwargs.pop("dtype", None)
    casting = kwargs.pop("casting", "same_kind")
    order = kwargs.pop("order", "K")
    kwargs.pop("subok", None)
    if kwargs:
        raise TypeError(f"numelu.{name}: keyword(s) {', '.join(sorted(kwargs))} not supported "
                        "on the CUDA target")
    if casting not in ("no", "equiv", "safe", "same_kind", "unsafe"):
        raise ValueError(f"casting must be one of 'no', 'equiv', 'safe', 'same_kind', or "
                         f"'unsafe' (got {casting!r})")
    if order not in ("K", "A", "C", "F"):
        raise ValueError(f"order must be one of 'K', 'A', 'C', 'F' (got {order!r})")
    if isinstance(out, tuple):
        if len(out) != 1:
            raise ValueError(f"numelu.{name}: out must be one array or a 1-tuple")
        out = out[0]

    on_device = [is_device_array(a) for a in args]
    device_mode = any(on_device) or is_device_array(out) or is_device_array(where)
    if not device_mode:
        for position, value in enumerate(args):
            _refuse_masked(name, f"input {spec.inputs[position]!r}", value)
        _refuse_masked(name, "out", out)
    else:
        host = [k for k, a in enumerate(args) if not on_device[k] and not _is_scalar(a)]
        if out is not None and not is_device_array(out):
            host.append("out")
        if not is_device_array(where) and not _is_scalar(where) and where is not True:
            host.append("where")
        if host:
            names = [spec.inputs[k] if isinstance(k, int) else k for k in host]
            raise TypeError(
                f"numelu.{name}: host (NumPy) and device (CUDA) arrays mixed: {', '.join(names)} "
                "on the host, other operands on the GPU; move them to the GPU first (e.g. "
                "cupy.asarray, torch.as_tensor(..., device='cuda'), numba.cuda.to_device); "
                "Python and NumPy scalars are fine")
    cuda = _require(f"{name}(target='cuda')")

    if spec.alpha_rule is not None and not on_device[-1]:
        function._check_alpha(args[-1])

    # inputs: device arrays, host arrays, strong scalars (NumPy) and weak ones (Python)
    operands: list[Any] = []
    typed: list[Any] = []
    for position, value in enumerate(args):
        what = f"input {spec.inputs[position]!r}"
        if on_device[position]:
            op = _Array(value)
            _check_dtype(name, what, op.dtype)
            if not op.dtype.isnative:
                raise TypeError(f"numelu.{name}: {what} has non-native byte order")
            operands.append(op)
            typed.append(op.dtype)
            continue
        if isinstance(value, (bool, int, float)) and not isinstance(value, np.generic):
            operands.append(value)
            typed.append(value)
            continue
        array = np.asarray(value)
        _check_dtype(name, what, array.dtype)
        operands.append(array)
        typed.append(array.dtype)
    loop = _resolve_loop(function, typed, dtype, casting)
    compute = _compute_dtype(loop)

    shapes = [op.shape for op in operands if isinstance(op, (_Array, np.ndarray))]
    shape = tuple(np.broadcast_shapes(*shapes)) if shapes else ()
    all_scalar = all(len(s) == 0 for s in shapes)

    if device_mode:
        return _call_device(cuda, function, operands, loop, compute, shape, out, where,
                            casting, order)
    result = _call_host(cuda, function, operands, loop, compute, shape, out, where, casting,
                        order)
    # the result's type, as NumPy gives a ufunc's: out itself if given, else what the chosen
    # input's __array_wrap__ makes of it (its context names this function, where NumPy's names
    # the ufunc that ran, and holds the caller's own inputs), else an ndarray or a NumPy scalar
    if out is not None:
        return result
    wrap = _array_wrap(args)
    if wrap is None:
        return result[()] if all_scalar else result
    return _apply_wrap(wrap, result, (function, args, 0), all_scalar)


def _check_out(name: str, out_shape: tuple, out_dtype: np.dtype, readonly: bool, shape: tuple,
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


def _fortran_order(order: str, arrays: list, shape: tuple) -> bool:
    if order == "F":
        return True
    if order == "C" or len(shape) < 2:
        return False
    full = [a for a in arrays if tuple(a.shape) == shape]
    return bool(full) and all(
        _is_contiguous(a.shape, a.strides, a.dtype.itemsize, True)
        and not _is_contiguous(a.shape, a.strides, a.dtype.itemsize, False) for a in full)


def _scalar_args(operands: list, compute: np.dtype) -> list:
    cast = compute.type
    with np.errstate(all="ignore"):
        return [op if isinstance(op, _Array) else cast(op) for op in operands]


def _call_device(cuda, function, operands, loop, compute, shape, out, where, casting, order):
    name = function.spec.name
    arrays = [op for op in operands if isinstance(op, _Array)]
    out_op = _Array(out) if out is not None else None
    where_op = None
    if is_device_array(where):
        where_op = _Array(where)
        if where_op.dtype.kind != "b":
            raise TypeError(f"numelu.{name}: where= must be a boolean array, got "
                            f"{where_op.dtype}")
    first = next(op for op in (*arrays, out_op, where_op) if op is not None)
    device = _device_index(first)
    with _DeviceScope(cuda, device):
        stream = _caller_stream(cuda, first, device)
        if out_op is not None:
            _check_out(name, out_op.shape, out_op.dtype, out_op.readonly, shape, loop, casting)
            result, shape = out, out_op.shape
        else:
            result = _allocate(cuda, first, shape, loop, _fortran_order(order, arrays, shape),
                               stream)
            out_op = _Array(result)
        if where_op is not None:
            if np.broadcast_shapes(where_op.shape, shape) != shape:
                raise ValueError(f"numelu.{name}: where= of shape {where_op.shape} does not "
                                 f"broadcast to the output shape {shape}")
        elif not where:
            return result                  # where=False: nothing is written
        _execute(cuda, function.spec, loop, _scalar_args(operands, compute), out_op,
                 where_op, shape, stream)
    return result


def _call_host(cuda, function, operands, loop, compute, shape, out, where, casting, order):
    """Host inputs through the GPU: the result as an ndarray (``out`` itself, if given)."""
    name = function.spec.name
    if out is not None:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"numelu.{name}: out must be a NumPy array (or a device array), "
                            f"got {type(out).__name__}")
        _check_out(name, out.shape, out.dtype.newbyteorder("="), not out.flags.writeable,
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
            inputs.append(_Array(cuda.to_device(op, stream=stream)))
        elif isinstance(op, np.ndarray):
            inputs.append(op[()])
        else:
            inputs.append(op)
    arrays = [op for op in inputs if isinstance(op, _Array)]
    out_dtype = loop if out is None else out.dtype.newbyteorder("=")
    fortran = _fortran_order(order if out is None else "C", arrays, shape)
    device_out = cuda.device_array(shape, dtype=out_dtype, order="F" if fortran else "C",
                                   stream=stream)
    _execute(cuda, function.spec, loop, _scalar_args(inputs, compute), _Array(device_out),
             None, shape, stream)
    result = device_out.copy_to_host(stream=stream)
    stream.synchronize()
    if out is not None:
        np.copyto(out, result, casting="unsafe",
                  where=True if where_host is None else where_host)
        return out
    return result
