"""Device arrays of other libraries (CuPy, PyTorch, Numba, any ``__cuda_array_interface__``).

Inputs stay on their device and are wrapped zero-copy (``from_cuda_array_interface(...,
sync=False)``); a result is a new array of the first device input's library on its device; the
kernel runs on that library's current stream (through ``numba.cuda.external_stream``), so it is
ordered with the caller's other work without any synchronisation (a Numba array's own stream
for Numba arrays).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from numelu._cuda import availability
from numelu._cuda.layout import c_strides

_streams: dict[tuple, Any] = {}


def library_of(obj: Any) -> str:
    module = type(obj).__module__ or ""
    if module.startswith("cupy"):
        return "cupy"
    if module.startswith("torch"):
        return "torch"
    if module.startswith("numba"):
        return "sim" if availability.simulating() else "numba"
    return "cai"


class DeviceOperand:
    """A device array operand: where its elements are (pointer, shape, byte strides, dtype)."""

    __slots__ = ("obj", "lib", "ptr", "shape", "strides", "dtype", "readonly", "host")

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.lib = library_of(obj)
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
                        else c_strides(self.shape, self.dtype.itemsize))
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


def stream_from_handle(cuda, handle: int, device: int | None):
    if handle in (0, 1):
        return cuda.legacy_default_stream()
    if handle == 2:
        return cuda.per_thread_default_stream()
    key = (device, handle)
    stream = _streams.get(key)
    if stream is None:
        stream = _streams[key] = cuda.external_stream(handle)
    return stream


def device_index(op: DeviceOperand) -> int | None:
    if op.lib == "cupy":
        return int(op.obj.device.id)
    if op.lib == "torch":
        return int(op.obj.device.index)
    return None


def caller_stream(cuda, op: DeviceOperand, device: int | None):
    """The stream the caller's library orders its work on (for the array ``op``)."""
    if op.lib == "sim":
        return cuda.default_stream()
    if op.lib == "cupy":
        import cupy

        return stream_from_handle(cuda, int(cupy.cuda.get_current_stream().ptr), device)
    if op.lib == "torch":
        import torch

        handle = int(torch.cuda.current_stream(op.obj.device).cuda_stream)
        return stream_from_handle(cuda, handle, device)
    if op.lib == "numba":
        stream = getattr(op.obj, "stream", 0)
        return stream if stream else cuda.default_stream()
    handle = op.obj.__cuda_array_interface__.get("stream")
    return cuda.default_stream() if handle is None else stream_from_handle(cuda, handle, device)


class DeviceScope:
    """``with`` the CUDA context of a device (only switched when it is not the current one)."""

    def __init__(self, cuda, device: int | None) -> None:
        self.scope = None
        if device is not None and not availability.simulating() and len(cuda.gpus) > 1:
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


def allocate(cuda, like: DeviceOperand, shape: tuple, dtype: np.dtype, fortran: bool, stream):
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
            strides = [s // dtype.itemsize for s in c_strides(shape[::-1], dtype.itemsize)][::-1]
            return torch.empty_strided(shape, strides, dtype=torch_dtype, device=like.obj.device)
        return torch.empty(shape, dtype=torch_dtype, device=like.obj.device)
    return cuda.device_array(shape, dtype=dtype, order=order, stream=stream)
