"""The CUDA target.

Without a GPU (CI):
* the kernel path runs under Numba's CUDA simulator in a subprocess (tests/cuda_sim_check.py);
* every kernel compiles to PTX for real hardware (tests/cuda_ptx_check.py, needs NVVM);
* the host-side pieces (type resolution, broadcasting and coalescing of strides, the generated
  kernel source, the "CUDA unavailable" errors, lazy imports) are tested directly.
With a GPU (``@pytest.mark.gpu``, skipped when ``numba.cuda.is_available()`` is False): the
``.cuda`` ufuncs, Numba/CuPy/PyTorch inputs returning their own types, streams, ``out=``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import args_by_role

import numelu
from numelu import _cuda
from numelu._functions import FUNCTIONS
from numelu._reference import numpy_reference as reference

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
HAS_NUMBA_CUDA = importlib.util.find_spec("numba_cuda") is not None
NAMES = [spec.name for spec in FUNCTIONS]
SCALE, ALPHA = numelu.SELU_SCALE, numelu.SELU_ALPHA


#: Warnings are errors in the scripts too, but for the one numba-cuda 0.30.4 raises at import
#: under NumPy 2.5 (as in pyproject.toml's filterwarnings).
WARNINGS_AS_ERRORS = ("-W", "error", "-W",
                      "ignore:The 'generic' unit for NumPy timedelta is deprecated:DeprecationWarning")


def _run_script(name: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [environment.get("PYTHONPATH")])])
    environment.update(env or {})
    return subprocess.run([sys.executable, *WARNINGS_AS_ERRORS, str(TESTS / name), *args],
                          env=environment, capture_output=True, text=True, timeout=300,
                          cwd=ROOT)


# ------------------------------------------------------------------------------ no GPU needed


@pytest.mark.slow
@pytest.mark.skipif(not HAS_NUMBA_CUDA, reason='numba-cuda not installed (pip install '
                    '"numba-cuda[cu13]")')
def test_kernel_path_under_the_cuda_simulator():
    """All 12 functions x float32/float64 through the @cuda.jit kernels, simulated."""
    result = _run_script("cuda_sim_check.py", env={"NUMBA_ENABLE_CUDASIM": "1"})
    print(result.stdout[-4000:], result.stderr[-4000:])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "0 failed" in result.stdout


@pytest.mark.skipif(not HAS_NUMBA_CUDA, reason='numba-cuda not installed (pip install '
                    '"numba-cuda[cu13]")')
def test_simulator_device_arrays_go_to_cuda_without_target():
    """docs/contract.md §5, rule 2, for the simulator's device arrays (``__cuda_ndarray__``, no
    ``__cuda_array_interface__``): CUDA, a device array back (cuda_sim_check.py dispatch)."""
    result = _run_script("cuda_sim_check.py", "dispatch", env={"NUMBA_ENABLE_CUDASIM": "1"})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "0 failed" in result.stdout


@pytest.mark.skipif(not HAS_NUMBA_CUDA, reason='numba-cuda not installed (pip install '
                    '"numba-cuda[cu13]")')
def test_host_subclasses_and_masked_arrays_with_target_cuda_under_the_simulator():
    """target="cuda" with np.matrix, a user's subclass, an __array_wrap__ array-like: the type
    the CPU path (NumPy) gives; a masked array: a TypeError (cuda_sim_check.py host)."""
    result = _run_script("cuda_sim_check.py", "host", env={"NUMBA_ENABLE_CUDASIM": "1"})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "0 failed" in result.stdout


@pytest.mark.slow
@pytest.mark.skipif(not HAS_NUMBA_CUDA, reason='numba-cuda not installed (pip install '
                    '"numba-cuda[cu13]")')
def test_every_kernel_compiles_to_ptx():
    """compile_ptx for cc 7.5/9.0: fast path, general path, float16, ints, user kernels, ufuncs."""
    result = _run_script("cuda_ptx_check.py", env={"NUMBA_ENABLE_CUDASIM": "0"})
    if result.returncode == 77:
        pytest.skip(result.stdout.strip())
    print(result.stdout[-4000:], result.stderr[-4000:])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "0 failed" in result.stdout


def test_import_numelu_does_not_import_numba_cuda():
    code = ("import sys, numelu, numelu.scalar, numelu._cuda.math_overloads; "
            "bad = [m for m in ('numba.cuda', 'numba_cuda', 'cupy', 'torch') if m in sys.modules]; "
            "assert not bad, bad")
    result = subprocess.run([sys.executable, *WARNINGS_AS_ERRORS, "-c", code], capture_output=True,
                            text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr


def test_missing_numba_cuda_is_reported(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "numba_cuda" else real(name, *a))
    monkeypatch.setattr(_cuda.availability, "found_usable", False)
    monkeypatch.setattr(_cuda.availability, "simulating", lambda: False)
    reason = _cuda.unavailable_reason()
    assert "numba-cuda is not installed" in reason
    assert 'pip install "numelu[cuda13]"' in reason and '"numelu[cuda12]"' in reason
    with pytest.raises(RuntimeError, match="numba-cuda is not installed"):
        numelu.elu(np.ones(3), target="cuda")
    with pytest.raises(RuntimeError, match="numba-cuda is not installed"):
        _cuda.cuda_ufunc(numelu.elu.spec)


@pytest.mark.skipif(not HAS_NUMBA_CUDA, reason="numba-cuda not installed")
def test_no_gpu_gives_a_clear_error():
    reason = _cuda.unavailable_reason()
    if reason is None:
        pytest.skip("CUDA is usable here")
    with pytest.raises(RuntimeError, match=r"needs CUDA, but .*pip install"):
        numelu.elu(np.ones(3), target="cuda")
    with pytest.raises(RuntimeError, match=r"elu\.cuda needs CUDA"):
        _ = numelu.elu.cuda
    with pytest.raises(RuntimeError, match="needs CUDA"):
        with numelu.config(target="cuda"):
            numelu.selu([1.0, -1.0])


class _FakeDeviceArray:
    """Carries ``__cuda_array_interface__`` (as CuPy/PyTorch arrays do); never dereferenced."""

    def __init__(self, shape, dtype="<f8") -> None:
        self.__cuda_array_interface__ = {"shape": shape, "typestr": dtype, "data": (0, False),
                                         "strides": None, "version": 3}


def test_host_and_device_inputs_mixed_is_a_type_error():
    device = _FakeDeviceArray((3,))
    with pytest.raises(TypeError, match="mixed"):
        numelu.elu_backward(device, np.ones(3), 1.0)
    with pytest.raises(TypeError, match="mixed"):
        numelu.elu(device, out=np.empty(3))
    with pytest.raises(TypeError, match="mixed"):
        numelu.elu(np.ones(3), out=_FakeDeviceArray((3,)), target="cuda")


def test_masked_array_with_target_cuda_is_a_type_error():
    """Its mask cannot follow it to the GPU: refused before CUDA is even looked for, whatever
    input (or out) it is; the CPU targets keep the mask as NumPy does."""
    masked = np.ma.array([-1.0, 2.0, -3.0], mask=[False, True, False])
    out = np.full(3, 7.0)
    calls = [lambda: numelu.elu(masked, 0.5, target="cuda"),
             lambda: numelu.elu(np.ones(3), masked, target="cuda"),
             lambda: numelu.celu_backward(masked, np.ones(3), 2.0, target="cuda"),
             lambda: numelu.selu(masked, out=out, target="cuda")]
    for call in calls:
        with pytest.raises(TypeError, match=r"masked array .* cannot follow .*\.filled\("):
            call()
    with pytest.raises(TypeError, match="out is a masked array"):
        numelu.elu(np.ones(3), out=np.ma.array(out), target="cuda")
    with numelu.config(target="cuda"):
        with pytest.raises(TypeError, match="input 'x' is a masked array"):
            numelu.elu(masked)
    assert (out == 7.0).all()
    assert isinstance(numelu.elu(masked, 0.5, target="cpu"), np.ma.MaskedArray)


# the type resolution is NumPy's: compare with a NumPy ufunc that has e, f, d loops (+ g)
_DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint64, np.float16,
           np.float32, np.float64]


@pytest.mark.parametrize("first", _DTYPES)
@pytest.mark.parametrize("second", [*_DTYPES, 1.5, 2, True])
def test_loop_dtype_follows_numpy(first, second):
    x = np.ones(2, first)
    y = second if not isinstance(second, type) else np.ones(2, second)
    typed = [x.dtype, y if not isinstance(y, np.ndarray) else y.dtype]
    expected = np.arctan2(x, y).dtype          # loops ee->e, ff->f, dd->d (and gg->g)
    assert _cuda._resolve_loop(numelu.elu, typed, None, "same_kind") == expected
    single = _cuda._resolve_loop(numelu.selu, typed[:1], None, "same_kind")
    assert single == np.exp(x).dtype


def test_loop_dtype_nep50_scalars():
    f32 = np.dtype(np.float32)
    resolve = _cuda._resolve_loop
    assert resolve(numelu.elu, [f32, 1.0], None, "same_kind") == f32
    assert resolve(numelu.elu, [f32, np.dtype(np.float64)], None, "same_kind") == np.float64
    assert resolve(numelu.elu, [1.0, 2.0], None, "same_kind") == np.float64
    assert resolve(numelu.elu, [np.dtype(np.float64)], "float32", "same_kind") == f32
    with pytest.raises(TypeError, match="safe"):
        resolve(numelu.elu, [np.dtype(np.float64)], "float32", "safe")
    with pytest.raises(TypeError, match="no loop"):
        resolve(numelu.elu, [np.dtype(np.float64)], "int32", "same_kind")


def test_broadcast_and_coalesce_strides():
    class Op:
        def __init__(self, shape, strides, itemsize=8):
            self.shape, self.strides = shape, strides
            self.dtype = np.dtype(f"f{itemsize}")

    out_shape = (3, 4, 5)
    channel = Op((4, 1), (8, 8))
    assert _cuda._broadcast_strides(channel, out_shape) == (0, 8, 0)
    full = Op((3, 4, 5), (160, 40, 8))
    # a C-contiguous operand and output coalesce to one flat dimension
    shape, strides = _cuda._coalesce(out_shape, [(160, 40, 8), (160, 40, 8)])
    assert shape == (60,) and strides == [(8,), (8,)]
    # a broadcast operand keeps the dimensions it does not span
    shape, strides = _cuda._coalesce(
        out_shape, [(160, 40, 8), _cuda._broadcast_strides(full, out_shape),
                    _cuda._broadcast_strides(channel, out_shape)])
    assert shape == (3, 4, 5) and strides[2] == (0, 8, 0)
    # a Fortran-ordered output sorts the dimensions by its strides: one flat dimension again
    shape, strides = _cuda._coalesce((3, 4), [(8, 24), (8, 24)])
    assert shape == (12,) and strides == [(8,), (8,)]
    # size-1 dimensions and 0-d
    assert _cuda._coalesce((1, 5, 1), [(0, 8, 0)]) == ((5,), [(8,)])
    assert _cuda._coalesce((), [()]) == ((1,), [(0,)])


def test_generated_kernel_source():
    flat = _cuda.kernel_source(2, (True, False), None, False, "k")
    assert "out[i] = formula(cast(a0[i]), a1)" in flat and "cuda.gridsize(1)" in flat
    general = _cuda.kernel_source(3, (True, True, False), 3, True, "k")
    assert "j2 = r % out.shape[2]" in general and "if w[j0, j1, j2]:" in general
    assert "formula(cast(a0[j0, j1, j2]), cast(a1[j0, j1, j2]), a2)" in general
    sig = _cuda.kernel_signature((np.dtype(np.float32), None), np.dtype(np.float32),
                                 np.dtype(np.float16), None, False)
    assert sig == "void(int64, float32[::1], float32, float16[::1])"
    sig = _cuda.kernel_signature((np.dtype(np.bool_),), np.dtype(np.float64),
                                 np.dtype(np.float64), 2, True)
    assert sig == "void(int64, boolean[:, :], float64[:, :], boolean[:, :])"


# ------------------------------------------------------------------------------ real GPU

gpu = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda():
    if not HAS_NUMBA_CUDA:
        pytest.skip("numba-cuda not installed")
    from numba import cuda

    if _cuda.simulating() or not cuda.is_available():
        pytest.skip("no CUDA GPU (numba.cuda.is_available() is False)")
    return cuda


def _rtol(dtype) -> float:
    return {np.float16: 2e-3, np.float32: 2e-6, np.float64: 1e-14}[np.dtype(dtype).type]


def _inputs(spec, dtype, shape, rng):
    def uniform(low):
        return lambda: rng.uniform(low, 3.0, shape).astype(dtype)

    return args_by_role(spec.name, data=uniform(-5.0), y=uniform(-0.9), grad=uniform(-5.0),
                        with_alpha=False)


@gpu
@pytest.mark.filterwarnings("ignore:Grid size")
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("name", NAMES)
def test_gpu_cuda_ufunc(cuda, name, dtype):
    function = getattr(numelu, name)
    spec = function.spec
    rng = np.random.default_rng(1)
    arrays = _inputs(spec, dtype, 1 << 18, rng)
    alpha = (np.full(1 << 18, 1.5, dtype),) if spec.has_alpha else ()
    ufunc = function.cuda
    assert function.cuda is ufunc                       # built once
    got = ufunc(*[cuda.to_device(a) for a in (*arrays, *alpha)]).copy_to_host()
    assert got.dtype == np.dtype(dtype)
    want = reference(name, (*arrays, *alpha))
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=_rtol(dtype),
                               atol=4 * _rtol(dtype))


@gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_gpu_kernel_path_numba_arrays(cuda, name, dtype):
    function = getattr(numelu, name)
    spec = function.spec
    rng = np.random.default_rng(2)
    arrays = _inputs(spec, dtype, (64, 33), rng)
    scalars = (1.5,) if spec.has_alpha else ()
    device = [cuda.to_device(a) for a in arrays]
    cases = {
        "contiguous": ([*device], [*arrays]),
        "transposed": ([d.T for d in device], [a.T for a in arrays]),
        "strided": ([d[::2, ::-3] for d in device], [a[::2, ::-3] for a in arrays]),
        "broadcast": ([d[:1] for d in device[:-1]] + device[-1:],
                      [a[:1] for a in arrays[:-1]] + arrays[-1:]),
    }
    for label, (dev, host) in cases.items():
        result = function(*dev, *scalars)                  # auto: device arrays -> CUDA
        assert type(result).__module__.startswith("numba"), label
        got = result.copy_to_host()
        want = reference(name, (*host, *scalars))
        np.testing.assert_allclose(got, want, rtol=_rtol(dtype), atol=4 * _rtol(dtype),
                                   err_msg=label)
        cpu = function(*host, *scalars, target="cpu")
        np.testing.assert_allclose(got, cpu, rtol=4 * _rtol(dtype), atol=4 * _rtol(dtype),
                                   err_msg=label)
    host_result = function(*arrays, *scalars, target="cuda")
    assert type(host_result) is np.ndarray
    out = cuda.device_array_like(arrays[-1])
    assert function(*device, *scalars, out=out) is out
    function(*device, *scalars, out=device[-1])          # in place
    np.testing.assert_allclose(device[-1].copy_to_host(), out.copy_to_host(), rtol=0, atol=0)


@gpu
def test_gpu_edge_values(cuda):
    x = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, -800.0, 800.0, -20.0], np.float64)
    for dtype in (np.float32, np.float64):
        xd = cuda.to_device(x.astype(dtype))
        elu = numelu.elu(xd, 1.0).copy_to_host()
        assert np.signbit(elu[1]) and elu[0] == 0 and np.isnan(elu[2])
        assert elu[3] == np.inf and elu[4] == -1.0 and elu[5] == -1.0
        deriv = numelu.elu_derivative(xd, 1.0).copy_to_host()
        assert deriv[0] == 1.0 and deriv[4] == 0.0 and np.isnan(deriv[2])
        np.testing.assert_allclose(deriv[7], np.exp(-20.0), rtol=_rtol(dtype))
        celu = numelu.celu(xd, 2.0).copy_to_host()
        assert np.signbit(celu[1]) and np.isnan(celu[2]) and celu[4] == -2.0


@gpu
def test_gpu_user_kernel_calls_numelu_scalar(cuda):
    import numelu.scalar as S

    @cuda.jit
    def kernel(x, alpha, out):
        i = cuda.grid(1)
        if i < x.size:
            out[i] = S.elu(x[i], alpha) + S.celu_backward(x[i], x[i], alpha)

    x = np.linspace(-4, 4, 1 << 15)
    out = cuda.device_array_like(x)
    kernel[128, 256](cuda.to_device(x), 1.5, out)
    want = reference("elu", (x, 1.5)) + reference("celu_backward", (x, x, 1.5))
    np.testing.assert_allclose(out.copy_to_host(), want, rtol=1e-14, atol=1e-14)


@gpu
def test_gpu_cupy_in_cupy_out(cuda):
    cupy = pytest.importorskip("cupy")
    rng = np.random.default_rng(3)
    for dtype in (np.float16, np.float32, np.float64):
        x = rng.uniform(-4, 3, (256, 17)).astype(dtype)
        xc = cupy.asarray(x)
        y = numelu.elu(xc, 0.5)
        assert isinstance(y, cupy.ndarray) and y.dtype == dtype and y.shape == x.shape
        assert y.device.id == xc.device.id
        np.testing.assert_allclose(cupy.asnumpy(y).astype(np.float64),
                                   reference("elu", (x, 0.5)), rtol=_rtol(dtype),
                                   atol=4 * _rtol(dtype))
        out = cupy.empty_like(xc)
        assert numelu.celu(xc, 2.0, out=out) is out
        grad = cupy.asarray(rng.uniform(-1, 1, (1, 17)).astype(dtype))
        g = numelu.selu_backward(grad, xc[:, ::-1])
        assert isinstance(g, cupy.ndarray)
        np.testing.assert_allclose(
            cupy.asnumpy(g).astype(np.float64),
            reference("selu_backward", (cupy.asnumpy(grad), x[:, ::-1])),
            rtol=_rtol(dtype), atol=4 * _rtol(dtype))
    with pytest.raises(TypeError, match="mixed"):
        numelu.elu_backward(xc, x, 1.0)


@gpu
def test_gpu_cupy_current_stream_is_used(cuda):
    """Work queued on a non-blocking CuPy stream is ordered with numelu's launch on it."""
    cupy = pytest.importorskip("cupy")
    n = 1 << 24
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        x = cupy.empty(n, cupy.float32)
        out = cupy.empty(n, cupy.float32)
        for _ in range(3):                       # keep the stream busy before numelu's launch
            x.fill(-1.0)
            x *= 1.0
        numelu.elu(x, 1.0, out=out)             # no synchronisation in between
        y = numelu.elu(x, 2.0)
    stream.synchronize()
    assert float(out[-1]) == pytest.approx(np.expm1(-1.0), rel=1e-6)
    assert float(y[0]) == pytest.approx(2 * np.expm1(-1.0), rel=1e-6)
    # under stream capture, a launch on any other stream would fail or not be captured
    numelu.elu(x, 1.0, out=out)                # warm up (compile, load) outside the capture
    out.fill(0.0)
    stream.synchronize()
    with stream:
        stream.begin_capture()
        numelu.elu(x, 1.0, out=out)
        graph = stream.end_capture()
    stream.synchronize()
    assert float(out[0]) == 0.0                # captured, not run
    graph.launch(stream)
    stream.synchronize()
    assert float(out[0]) == pytest.approx(np.expm1(-1.0), rel=1e-6)


@gpu
def test_gpu_torch_in_torch_out(cuda):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch without CUDA")
    F = torch.nn.functional
    x = torch.linspace(-5, 5, 4097, device="cuda", dtype=torch.float32).reshape(17, 241)
    for function, theirs in [(numelu.elu, lambda t: F.elu(t, 0.7)),
                             (numelu.celu, lambda t: F.celu(t, 0.7))]:
        y = function(x, 0.7)
        assert isinstance(y, torch.Tensor) and y.device == x.device and y.dtype == x.dtype
        torch.testing.assert_close(y, theirs(x), rtol=2e-6, atol=2e-6)
    y = numelu.selu(x.double().t())
    assert y.dtype == torch.float64 and y.shape == (241, 17)
    torch.testing.assert_close(y, F.selu(x.double().t()), rtol=1e-14, atol=1e-14)
    leaf = x.clone().requires_grad_(True)             # read through .detach()
    assert isinstance(numelu.elu(leaf, target="cuda"), torch.Tensor)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        z = torch.full((1 << 22,), -1.0, device="cuda")
        z = z * 1.0
        r = numelu.elu(z)
    stream.synchronize()
    assert r[-1].item() == pytest.approx(np.expm1(-1.0), rel=1e-6)
    out = torch.empty_like(x)
    assert numelu.elu(x, out=out) is out


@gpu
@pytest.mark.slow
def test_gpu_more_than_2_to_the_31_elements(cuda):
    cupy = pytest.importorskip("cupy")
    n = (1 << 31) + 33
    x = cupy.full(n, -1.0, cupy.float16)
    x[-1] = 2.0
    y = numelu.elu(x)
    assert float(y[-1]) == 2.0
    assert float(y[-2]) == pytest.approx(np.expm1(-1.0), rel=1e-3)
    assert float(y[0]) == pytest.approx(np.expm1(-1.0), rel=1e-3)


@pytest.mark.parametrize("combo", [
    (np.int8, np.uint8, 2.0), (np.float16, np.int8, 1.5), (np.bool_, np.bool_, True),
    (np.int16, np.float16, 2), (np.float32, np.float32, np.float64(1.0)), (np.int64, 1.5, 1),
])
def test_three_input_loop_matches_the_cpu_ufunc(combo):
    args = [np.ones(3, t) if isinstance(t, type) else t for t in combo]
    typed = [a.dtype if isinstance(a, np.ndarray) else
             (a.dtype if isinstance(a, np.generic) else a) for a in args]
    expected = numelu.elu_backward(*args, target="cpu").dtype
    assert _cuda._resolve_loop(numelu.elu_backward, typed, None, "same_kind") == expected
