"""The GPU array libraries of the GPU benchmark (CuPy, PyTorch CUDA, Numba device arrays): whether
each is usable here, moving arrays to and from the device, waiting for the device, and a
description of the GPU and the versions for the report.

Nothing here is imported by ``import numelu``; CuPy and PyTorch are imported only when asked for.
Under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, the dry run without a GPU) only Numba's
(simulated) device arrays are usable: CuPy and PyTorch need a real GPU.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The libraries in the order the memory wall picks one (the first usable).
LIBRARIES = ("cupy", "torch", "numba")
_PROBLEMS: dict[str, str | None] = {}


def simulating() -> bool:
    """True when Numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1`` before Numba's import)."""
    from numba.core import config

    return bool(getattr(config, "ENABLE_CUDASIM", False))


def _import(module: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(module)


def _cupy_problem() -> str | None:
    if simulating():
        return "CuPy needs a real GPU (this is Numba's CUDA simulator)"
    try:
        cupy = _import("cupy")
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # noqa: BLE001 - not installed, no driver, no device
        return f"CuPy is not usable here ({type(error).__name__}: {error})"
    return None if count > 0 else "CuPy sees no CUDA device"


def _torch_problem() -> str | None:
    if simulating():
        return "PyTorch CUDA needs a real GPU (this is Numba's CUDA simulator)"
    try:
        torch = _import("torch")
    except Exception as error:  # noqa: BLE001
        return f"PyTorch is not usable here ({type(error).__name__}: {error})"
    if not torch.cuda.is_available():
        return f"PyTorch {torch.__version__} has no usable CUDA device (torch.cuda.is_available())"
    return None


def _numba_problem() -> str | None:
    from numelu import _cuda

    reason = _cuda.unavailable_reason()
    return None if reason is None else f"Numba CUDA is not usable here: {reason}"


def problem(library: str) -> str | None:
    """Why ``library`` ("cupy", "torch" or "numba") cannot be used here, or None (cached)."""
    if library not in _PROBLEMS:
        check = {"cupy": _cupy_problem, "torch": _torch_problem, "numba": _numba_problem}
        _PROBLEMS[library] = check[library]()
    return _PROBLEMS[library]


def usable_library() -> str | None:
    """The first usable library of :data:`LIBRARIES`, or None."""
    return next((name for name in LIBRARIES if problem(name) is None), None)


@dataclass(frozen=True)
class Library:
    """How one library makes, copies back and waits for device arrays."""

    name: str
    to_device: Callable[[np.ndarray], Any]
    empty: Callable[[int, str], Any]
    to_host: Callable[[Any], np.ndarray]
    synchronize: Callable[[], None]
    #: ``copy(out, x)``: a device-to-device copy of ``x`` into ``out`` (the memory wall).
    copy: Callable[[Any, Any], Any]


def _cupy() -> Library:
    cupy = _import("cupy")

    def copy(out, x):
        # cudaMemcpyAsync on the current stream: the copy engine's device-to-device bandwidth
        out.data.copy_from_device_async(x.data, x.nbytes)
        return out

    return Library("cupy", cupy.asarray, lambda n, dtype: cupy.empty(n, dtype=dtype),
                   cupy.asnumpy, cupy.cuda.Device().synchronize, copy)


def _torch() -> Library:
    torch = _import("torch")

    def empty(n: int, dtype: str):
        return torch.empty(n, dtype=getattr(torch, dtype), device="cuda")

    return Library("torch", lambda a: torch.from_numpy(a).to("cuda"), empty,
                   lambda t: t.cpu().numpy(), torch.cuda.synchronize,
                   lambda out, x: out.copy_(x))


def _numba() -> Library:
    from numba import cuda

    def copy(out, x):
        out.copy_to_device(x)                  # cuMemcpyDtoD for two device arrays
        return out

    return Library("numba", cuda.to_device,
                   lambda n, dtype: cuda.device_array(n, dtype=np.dtype(dtype)),
                   lambda a: a.copy_to_host(), cuda.synchronize, copy)


_LIBRARIES: dict[str, Library] = {}


def library(name: str) -> Library:
    """The :class:`Library` of ``name`` (its module imported now; check :func:`problem` first)."""
    if name not in _LIBRARIES:
        _LIBRARIES[name] = {"cupy": _cupy, "torch": _torch, "numba": _numba}[name]()
    return _LIBRARIES[name]


def _device_description() -> dict[str, str]:
    if simulating():
        return {"gpu": "none: Numba's CUDA simulator (dry run)"}
    if problem("numba") is not None:
        return {"gpu": f"none ({problem('numba')})"}
    from numba import cuda

    device = cuda.get_current_device()
    name = device.name.decode() if isinstance(device.name, bytes) else str(device.name)
    info = {"gpu": name, "compute capability": ".".join(map(str, device.compute_capability))}
    try:
        free, total = cuda.current_context().get_memory_info()
        info["gpu memory"] = f"{total / 2**30:.1f} GiB"
    except Exception:  # noqa: BLE001 - only descriptive
        pass
    try:
        from numba.cuda.cudadrv import driver

        version = driver.driver.get_version()
        info["cuda driver"] = ".".join(map(str, version))
    except Exception:  # noqa: BLE001
        pass
    return info


def gpu_info() -> dict[str, str]:
    """The GPU (or the simulator) and the versions of everything timed, for the report header."""
    import numba

    import numelu

    info = _device_description()
    info.update({"numelu": numelu.__version__, "numpy": np.__version__,
                 "numba": numba.__version__})
    for module, key in (("numba_cuda", "numba-cuda"), ("cupy", "cupy"), ("torch", "torch")):
        try:
            info[key] = str(getattr(_import(module), "__version__", "?"))
        except Exception:  # noqa: BLE001 - not installed: not listed
            continue
    for name in ("cupy", "torch"):
        if problem(name) is not None:
            info[f"{name} usable"] = "no"
    return info
