"""The contenders of the GPU benchmark: numelu's dispatcher on CuPy arrays, PyTorch CUDA tensors
and Numba device arrays (allocating and ``out=``), the raw ``.cuda`` ufunc, a CuPy
``ElementwiseKernel`` of the same formula, PyTorch's own ELU kernels, and a device-to-device copy
(the memory wall).

Each contender is bound to a case's device arrays (:class:`DeviceData`, one copy of the inputs
per library, made before timing) and gives a :class:`GpuCall`: ``call()`` launches the work and
returns its device result; ``synchronize()`` waits for the device.  The benchmark times
``call(); synchronize()`` (so each timed call ends with the device idle) and also the pipelined
rate of calls issued back to back.  Names, roles and case groups are those of the CPU table
(``numelu._bench.contenders``), so the same results code reads both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from numelu._bench.cases import ALPHA, Case
from numelu._bench.contenders import _torch_coefficients
from numelu._bench.gpu_libraries import library, problem, simulating, usable_library
from numelu._reference import array_inputs, has_alpha
from numelu.scalar import SELU_ALPHA, SELU_SCALE

#: Sizes of the GPU benchmark (10^8 float64 is 800 MB per array).
GPU_SIZES = (10**3, 10**4, 10**5, 10**6, 10**7, 10**8)
#: The sizes the goals are judged at (and timed first, in case the time budget runs out).
GOAL_SMALL, GOAL_LARGE = 10**3, 10**8


@dataclass(frozen=True)
class GpuCall:
    """One bound contender: ``call()`` launches it (returns the device result), ``synchronize()``
    waits for the device, ``to_host(result)`` copies a device result back."""

    call: Callable[[], Any]
    synchronize: Callable[[], None]
    to_host: Callable[[Any], np.ndarray]

    def __call__(self) -> Any:
        result = self.call()
        self.synchronize()
        return result


class DeviceData:
    """A case's host inputs, and per library their device copies and an output array (made on
    first use, kept while the case is benchmarked)."""

    def __init__(self, case: Case, host: tuple[np.ndarray, ...]) -> None:
        self.case, self.host = case, host
        self._inputs: dict[str, tuple] = {}
        self._out: dict[str, Any] = {}

    def inputs(self, name: str) -> tuple:
        if name not in self._inputs:
            lib = library(name)
            self._inputs[name] = tuple(lib.to_device(a) for a in self.host)
            lib.synchronize()
        return self._inputs[name]

    def out(self, name: str) -> Any:
        if name not in self._out:
            self._out[name] = library(name).empty(self.case.size, self.case.dtype)
        return self._out[name]


def _scalars(case: Case) -> tuple:
    """``alpha`` in the case's dtype (a NumPy scalar: a Python float would pick float64 loops)."""
    return (np.dtype(case.dtype).type(ALPHA),) if has_alpha(case.function) else ()


def _gpu_call(name: str, call: Callable[[], Any], device: str = "cuda") -> GpuCall:
    lib = library(name)
    sync = lib.synchronize if device == "cuda" else (lambda: None)
    return GpuCall(call, sync, lib.to_host)


def _bind_numelu(name: str, with_out: bool) -> Callable[[Case, DeviceData], GpuCall]:
    def bind(case: Case, data: DeviceData) -> GpuCall:
        import numelu

        fn = numelu.FUNCTIONS_BY_NAME[case.function]
        args = (*data.inputs(name), *_scalars(case))
        if with_out:
            out = data.out(name)
            return _gpu_call(name, lambda: fn(*args, out=out))
        return _gpu_call(name, lambda: fn(*args))
    return bind


def _bind_cuda_ufunc(with_out: bool) -> Callable[[Case, DeviceData], GpuCall]:
    def bind(case: Case, data: DeviceData) -> GpuCall:
        import numelu

        ufunc = numelu.FUNCTIONS_BY_NAME[case.function].cuda   # @vectorize(target="cuda")
        args = (*data.inputs("numba"), *_scalars(case))
        if with_out:
            out = data.out("numba")
            return _gpu_call("numba", lambda: ufunc(*args, out=out))
        return _gpu_call("numba", lambda: ufunc(*args))
    return bind


# -- CuPy ElementwiseKernel: each function's formula as (condition, x > 0 branch, other branch),
# C expressions that are also Python expressions (tests/test_gpu_bench.py evaluates them with
# NumPy against the reference, so the kernel's formula is checked where there is no GPU).
# Every operand is a parameter of the array type T, so float32 is computed in float32.

#: function -> (extra scalar parameters after alpha, condition, positive branch, other branch)
CUPY_FORMULAS: dict[str, tuple[tuple[str, ...], str, str, str]] = {
    "elu": ((), "x > 0", "x", "alpha * expm1(x)"),
    "selu": (("scale", "sa"), "x > 0", "scale * x", "scale * (sa * expm1(x))"),
    "elu_derivative": ((), "x > 0", "1", "alpha * exp(x)"),
    "elu_backward": ((), "x > 0", "grad", "grad * (alpha * exp(x))"),
}
CUPY_CONSTANTS = {"scale": SELU_SCALE, "sa": SELU_ALPHA}


def cupy_parameters(function: str) -> tuple[str, ...]:
    """The kernel's input parameter names, in call order: arrays, alpha, constants."""
    constants = CUPY_FORMULAS[function][0]
    return (*array_inputs(function), *(("alpha",) if has_alpha(function) else ()), *constants)


def cupy_source(function: str) -> tuple[str, str, str]:
    """``(in_params, out_params, operation)`` of the ``cupy.ElementwiseKernel`` of ``function``."""
    _, condition, positive, negative = CUPY_FORMULAS[function]
    params = ", ".join(f"T {name}" for name in cupy_parameters(function))
    return params, "T out", f"out = ({condition}) ? (T)({positive}) : (T)({negative});"


def _cupy_scalars(case: Case) -> tuple:
    kind = np.dtype(case.dtype).type
    return (*_scalars(case), *(kind(CUPY_CONSTANTS[c]) for c in CUPY_FORMULAS[case.function][0]))


_CUPY_KERNELS: dict[str, Any] = {}


def _bind_cupy_kernel(with_out: bool) -> Callable[[Case, DeviceData], GpuCall]:
    def bind(case: Case, data: DeviceData) -> GpuCall:
        import cupy

        kernel = _CUPY_KERNELS.get(case.function)
        if kernel is None:
            kernel = cupy.ElementwiseKernel(*cupy_source(case.function),
                                            name=f"cupy_{case.function}")
            _CUPY_KERNELS[case.function] = kernel
        args = (*data.inputs("cupy"), *_cupy_scalars(case))
        if with_out:
            out = data.out("cupy")
            return _gpu_call("cupy", lambda: kernel(*args, out))
        return _gpu_call("cupy", lambda: kernel(*args))
    return bind


# -- PyTorch: F.elu/F.selu forward; aten's elu_backward for derivatives and backward passes.

def torch_call(case: Case, inputs: tuple, out: Any | None, device: str = "cuda"
               ) -> Callable[[], Any]:
    """PyTorch's own kernel for ``case`` on ``inputs`` (tensors on ``device``): allocating, or
    into ``out``.  Separate from the binding so that tests can check it on the CPU."""
    import torch

    functional = torch.nn.functional
    function = case.function
    alpha, scale, input_scale = _torch_coefficients(function)
    if "_" not in function:                                 # elu, selu, celu
        (x,) = inputs
        if out is not None:
            elu_out = torch._C._nn.elu
            return lambda: elu_out(x, alpha, scale, input_scale, out=out)
        if function == "selu":
            return lambda: functional.selu(x)
        forward = functional.elu if function == "elu" else functional.celu
        return lambda: forward(x, ALPHA)
    if function.endswith("_backward"):
        grad, value = inputs
    else:                                      # derivative = backward of a gradient of ones
        (value,) = inputs
        grad = torch.ones(case.size, dtype=value.dtype, device=device)
    is_result = function.endswith("_from_output")
    if out is not None:
        backward_out = torch.ops.aten.elu_backward.grad_input
        return lambda: backward_out(grad, alpha, scale, input_scale, is_result, value,
                                    grad_input=out)
    backward = torch.ops.aten.elu_backward.default
    return lambda: backward(grad, alpha, scale, input_scale, is_result, value)


def _bind_torch(with_out: bool) -> Callable[[Case, DeviceData], GpuCall]:
    def bind(case: Case, data: DeviceData) -> GpuCall:
        out = data.out("torch") if with_out else None
        return _gpu_call("torch", torch_call(case, data.inputs("torch"), out))
    return bind


def _bind_copy(case: Case, data: DeviceData) -> GpuCall:
    name = usable_library()
    if name is None:
        raise RuntimeError("no usable GPU library for the memory wall")
    x, out = data.inputs(name)[-1], data.out(name)
    copy = library(name).copy
    return _gpu_call(name, lambda: copy(out, x))


def _no_simulator() -> str | None:
    if simulating():
        return ("Numba's CUDA simulator cannot run @vectorize(target='cuda') ufuncs "
                "(numba issue 7505)")
    return None


@dataclass(frozen=True)
class GpuContender:
    """One way of computing a function on the GPU (or the memory wall under it).

    ``library`` is the array library its inputs and output belong to (``None``: the first usable
    one); ``role`` is ``numelu``, ``peer`` or ``wall`` as in the CPU table.
    """

    name: str
    role: str
    label: str
    library: str | None
    bind: Callable[[Case, DeviceData], GpuCall]
    applies: Callable[[str], bool] | None = None
    extra_problem: Callable[[], str | None] | None = field(default=None)

    def applies_to(self, function: str) -> bool:
        return self.applies is None or self.applies(function)

    def unavailable(self) -> str | None:
        """Why this contender cannot run here, or None."""
        if self.library is None:
            return None if usable_library() else "no usable GPU library (CuPy, PyTorch, Numba)"
        reason = problem(self.library)
        if reason is None and self.extra_problem is not None:
            reason = self.extra_problem()
        return reason

    @property
    def checks_value(self) -> bool:
        return self.role in ("numelu", "peer")


def _has_cupy_formula(function: str) -> bool:
    return function in CUPY_FORMULAS


#: THE table of the GPU benchmark, in report order.
GPU_CONTENDERS: tuple[GpuContender, ...] = (
    GpuContender("numelu-cupy", "numelu", "numelu.f(x) on CuPy arrays (dispatcher)", "cupy",
                 _bind_numelu("cupy", False)),
    GpuContender("numelu-cupy-out", "numelu", "numelu.f(x, out=out) on CuPy arrays", "cupy",
                 _bind_numelu("cupy", True)),
    GpuContender("numelu-torch", "numelu", "numelu.f(x) on PyTorch CUDA tensors", "torch",
                 _bind_numelu("torch", False)),
    GpuContender("numelu-torch-out", "numelu", "numelu.f(x, out=out) on PyTorch CUDA tensors",
                 "torch", _bind_numelu("torch", True)),
    GpuContender("numelu-numba", "numelu", "numelu.f(x) on Numba device arrays", "numba",
                 _bind_numelu("numba", False)),
    GpuContender("numelu-numba-out", "numelu", "numelu.f(x, out=out) on Numba device arrays",
                 "numba", _bind_numelu("numba", True)),
    GpuContender("cuda-ufunc", "numelu", "numelu.f.cuda(x, alpha): the raw "
                 "@vectorize(target='cuda') ufunc on Numba device arrays", "numba",
                 _bind_cuda_ufunc(False), extra_problem=_no_simulator),
    GpuContender("cuda-ufunc-out", "numelu", "numelu.f.cuda(x, alpha, out=out)", "numba",
                 _bind_cuda_ufunc(True), extra_problem=_no_simulator),
    GpuContender("cupy-kernel", "peer", "cupy.ElementwiseKernel of the same formula", "cupy",
                 _bind_cupy_kernel(False), applies=_has_cupy_formula),
    GpuContender("cupy-kernel-out", "peer", "cupy.ElementwiseKernel(..., out)", "cupy",
                 _bind_cupy_kernel(True), applies=_has_cupy_formula),
    GpuContender("torch", "peer", "PyTorch CUDA: F.elu/F.selu; aten.elu_backward", "torch",
                 _bind_torch(False)),
    GpuContender("torch-out", "peer", "PyTorch CUDA with out=", "torch", _bind_torch(True)),
    GpuContender("wall-copy", "wall", "memory wall: a device-to-device copy of x (cudaMemcpy "
                 "of the first usable library: CuPy, PyTorch, Numba)", None, _bind_copy),
)
GPU_CONTENDERS_BY_NAME = {c.name: c for c in GPU_CONTENDERS}
GPU_CONTENDER_ORDER = {c.name: i for i, c in enumerate(GPU_CONTENDERS)}


def select_gpu_contenders(names: list[str] | None = None) -> list[GpuContender]:
    if not names:
        return list(GPU_CONTENDERS)
    unknown = [n for n in names if n not in GPU_CONTENDERS_BY_NAME]
    if unknown:
        raise ValueError(f"unknown GPU contender(s) {', '.join(unknown)}; known: "
                         f"{', '.join(GPU_CONTENDERS_BY_NAME)}")
    return [GPU_CONTENDERS_BY_NAME[n] for n in names]


def moved_bytes(function: str, role: str, size: int, dtype: str) -> int:
    """Bytes one call reads and writes: each array input and the output (the copy: x and out)."""
    arrays = 1 if role == "wall" else len(array_inputs(function))
    return (arrays + 1) * size * np.dtype(dtype).itemsize
