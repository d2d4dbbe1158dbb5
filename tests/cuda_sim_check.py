"""Run numelu's CUDA kernel path under Numba's CUDA simulator (run by tests/test_cuda.py).

Usage: ``python tests/cuda_sim_check.py [section ...]`` (sections: ``functions``,
``semantics``, ``dispatch``, ``host``, ``user``; all by default).  Sets ``NUMBA_ENABLE_CUDASIM=1`` before Numba is
imported (so run it in its own process), then for all 12 functions, float32 and float64, checks
the dispatcher's CUDA path against a float64 NumPy reference (rtol 1e-6 for float32, 1e-13 for
float64):

* numba device arrays (``cuda.to_device``) through ``numelu._cuda.call`` and ``target="cuda"``;
* NumPy arrays with ``target="cuda"`` (copied in and out);
* contiguous, strided (``[::2]``, ``[::-1]``), 2-D transposed and broadcast inputs (a
  per-channel ``alpha`` array, a broadcast ``grad``), scalar ``alpha`` passed by value;
* ``out=`` (preallocated, in place, partially overlapping an input), ``where=``;
plus type promotion (NEP 50, float16, integers, ``dtype=``, ``casting=``), errors, 0-d and
empty input, and a user's own ``@cuda.jit`` kernel calling ``numelu.scalar.elu``; and the
dispatcher (``dispatch``): simulator device arrays go to CUDA without ``target=`` (as inputs,
``out=`` or ``where=``; beside host arrays, the "mixed" error); and host
inputs with ``target="cuda"`` (``host``) come back as NumPy's ufuncs return them (ndarray
subclasses, array-likes with ``__array_wrap__``), a masked array being refused.

The simulator runs kernels as Python, so it checks the kernel path's indexing, broadcasting,
strides, dtypes and dispatch, not libdevice's arithmetic (tests/cuda_ptx_check.py compiles that).
Prints a summary; exits 1 on any mismatch.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
import warnings

if "numba" in sys.modules:
    raise SystemExit("cuda_sim_check.py must run in a fresh process (NUMBA_ENABLE_CUDASIM)")
os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import numpy as np  # noqa: E402
from helpers import args_by_role  # noqa: E402
from numba import cuda  # noqa: E402

import numelu  # noqa: E402
from numelu import _cuda  # noqa: E402
from numelu._reference import numpy_reference as reference  # noqa: E402

SCALE, ALPHA = numelu.SELU_SCALE, numelu.SELU_ALPHA
RTOL = {np.dtype(np.float16): 1e-3, np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-13}

failures: list[str] = []
checks = 0


def host(value):
    return value.copy_to_host() if hasattr(value, "copy_to_host") else np.asarray(value)


def check(label: str, got, expected: np.ndarray, dtype, rtol: float | None = None) -> None:
    global checks
    checks += 1
    dtype = np.dtype(dtype)
    got_host = host(got)
    if got_host.dtype != dtype:
        failures.append(f"{label}: dtype {got_host.dtype}, expected {dtype}")
        return
    if got_host.shape != expected.shape:
        failures.append(f"{label}: shape {got_host.shape}, expected {expected.shape}")
        return
    rtol = RTOL[dtype] if rtol is None else rtol
    got64 = got_host.astype(np.float64)
    with np.errstate(all="ignore"):
        close = np.isclose(got64, expected, rtol=rtol, atol=4 * rtol, equal_nan=True)
    if not close.all():
        bad = np.argwhere(~close)[0]
        failures.append(f"{label}: at {tuple(bad)} got {got64[tuple(bad)]!r}, expected "
                        f"{expected[tuple(bad)]!r} ({(~close).sum()} of {close.size} differ)")


def expect_error(label: str, error: type, call, match: str = "") -> None:
    global checks
    checks += 1
    try:
        call()
    except error as caught:
        if match and match not in str(caught):
            failures.append(f"{label}: {error.__name__} without {match!r}: {caught}")
    except Exception as caught:  # noqa: BLE001
        failures.append(f"{label}: raised {type(caught).__name__} ({caught}), not "
                        f"{error.__name__}")
    else:
        failures.append(f"{label}: no {error.__name__} raised")


def inputs_for(spec, dtype, rng, shape=(13,)):
    """Arrays for the function's inputs (alpha excluded): x in [-4, 3], grad in [-2, 2]."""
    def uniform(low, high):
        return lambda: rng.uniform(low, high, shape).astype(dtype)

    # y is an output of the forward function: y > -alpha
    arrays = args_by_role(spec.name, data=uniform(-4, 3), y=uniform(-0.9, 3),
                          grad=uniform(-2, 2), with_alpha=False)
    if len(shape) == 1 and shape[0] >= 6:     # the zeros, a very negative and a large value
        arrays[-1][:4] = [0.0, -0.0, -60.0, 40.0]
    return arrays


def run_function(function, dtype, rng) -> None:
    spec = function.spec
    name = spec.name
    alpha = 1.7 if spec.has_alpha else None
    tag = f"{name}[{np.dtype(dtype).name}]"
    arrays = inputs_for(spec, dtype, rng)
    scalars = (alpha,) if spec.has_alpha else ()
    expected = reference(name, (*arrays, *scalars))

    # 1. numba device arrays through the internal kernel path, scalar alpha by value
    dev = [cuda.to_device(a) for a in arrays]
    check(f"{tag} device contiguous (_cuda.call)",
          _cuda.call(function, (*dev, *scalars), {}), expected, dtype)
    # 2. the public call, target="cuda", device and host inputs
    check(f"{tag} device target=cuda", function(*dev, *scalars, target="cuda"), expected, dtype)
    result = function(*arrays, *scalars, target="cuda")
    if type(result) is not np.ndarray:
        failures.append(f"{tag} host target=cuda returned {type(result).__name__}")
    check(f"{tag} host target=cuda", result, expected, dtype)

    # 3. strided device views: every other element, and reversed
    big = [rng.uniform(-3, 3, 26).astype(dtype) for _ in arrays]
    big_dev = [cuda.to_device(b) for b in big]
    check(f"{tag} device strided [::2]",
          _cuda.call(function, (*[b[::2] for b in big_dev], *scalars), {}),
          reference(name, (*[b[::2] for b in big], *scalars)), dtype)
    check(f"{tag} device reversed [::-1]",
          _cuda.call(function, (*[b[::-1] for b in big_dev], *scalars), {}),
          reference(name, (*[b[::-1] for b in big], *scalars)), dtype)

    # 4. 2-D: transposed (F-ordered) inputs, host and device
    mats = [rng.uniform(-3, 3, (4, 5)).astype(dtype) for _ in arrays]
    check(f"{tag} host transposed",
          function(*[m.T for m in mats], *scalars, target="cuda"),
          reference(name, (*[m.T for m in mats], *scalars)), dtype)
    check(f"{tag} device transposed",
          _cuda.call(function, (*[cuda.to_device(m).T for m in mats], *scalars), {}),
          reference(name, (*[m.T for m in mats], *scalars)), dtype)

    # 5. broadcasting: a per-channel alpha array, or the first input broadcast along rows
    x2 = rng.uniform(-3, 3, (3, 4)).astype(dtype)
    if spec.has_alpha:
        channel = np.array([0.5, 1.0, 1.7, 3.0], dtype)
        others = [rng.uniform(-2, 2, (3, 1)).astype(dtype) for _ in arrays[:-1]]
        args = (*others, x2, channel)
    else:
        args = (*[rng.uniform(-2, 2, (1, 4)).astype(dtype) for _ in arrays[:-1]], x2)
    want = reference(name, args)
    check(f"{tag} host broadcast", function(*args, target="cuda"), want, dtype)
    check(f"{tag} device broadcast",
          _cuda.call(function, tuple(cuda.to_device(a) for a in args), {}), want, dtype)
    if spec.has_alpha:        # scalar alpha with broadcast arrays (general path + by-value alpha)
        args = (*args[:-1], alpha)
        check(f"{tag} device broadcast, scalar alpha",
              _cuda.call(function, tuple(cuda.to_device(a) if isinstance(a, np.ndarray) else a
                                         for a in args), {}),
              reference(name, args), dtype)

    # 6. out=: a preallocated device array, in place (out = last array input), where=
    out = cuda.device_array(arrays[0].shape, dtype)
    returned = _cuda.call(function, (*dev, *scalars), {"out": out})
    if returned is not out:
        failures.append(f"{tag} out=: did not return out")
    check(f"{tag} device out=", out, expected, dtype)
    inplace = [cuda.to_device(a) for a in arrays]
    function(*inplace, *scalars, out=inplace[-1], target="cuda")
    check(f"{tag} device in place (out=x)", inplace[-1], expected, dtype)
    mask = np.arange(arrays[0].size) % 3 == 0
    out = cuda.to_device(np.full(arrays[0].shape, 7.0, dtype))
    function(*dev, *scalars, out=out, where=cuda.to_device(mask), target="cuda")
    check(f"{tag} device where=", out, np.where(mask, expected, 7.0), dtype)


def run_semantics(rng) -> None:
    f32, f64 = np.float32, np.float64
    x = rng.uniform(-3, 3, 9)
    x32 = x.astype(f32)
    d32 = cuda.to_device(x32)

    # NEP 50 type promotion, as the CPU ufunc
    check("NEP50 f32 + python float", numelu.elu(d32, 0.5, target="cuda"),
          reference("elu", (x32, 0.5)), f32)
    check("NEP50 f32 + np.float64", numelu.elu(d32, np.float64(0.5), target="cuda"),
          reference("elu", (x32, 0.5)), f64)
    check("NEP50 f32 + f64 array alpha",
          numelu.elu(d32, cuda.to_device(np.full(9, 0.5)), target="cuda"),
          reference("elu", (x32, 0.5)), f64)
    ints = np.arange(-4, 5, dtype=np.int32)
    check("int32 -> float64", numelu.elu(ints, target="cuda"),
          reference("elu", (ints, 1.0)), f64)
    int8 = np.arange(-4, 5, dtype=np.int8)
    check("int8 -> float16", numelu.selu(int8, target="cuda"),
          reference("selu", (int8,)), np.float16)
    x16 = x.astype(np.float16)
    check("float16 in float16 out", numelu.celu(cuda.to_device(x16), 2.0, target="cuda"),
          reference("celu", (x16, 2.0)), np.float16)
    check("dtype=float32", numelu.elu(x, dtype=f32, target="cuda"),
          reference("elu", (x.astype(f32), 1.0)), f32)
    check("bool input", numelu.elu(np.array([True, False]), target="cuda"),
          np.array([1.0, 0.0]), f64)

    # 0-d and scalars: a NumPy scalar back, as np.exp gives
    scalar = numelu.elu(-1.0, target="cuda")
    if not isinstance(scalar, np.float64):
        failures.append(f"scalar input gave {type(scalar).__name__}, not numpy.float64")
    check("python scalar", np.asarray(scalar), reference("elu", (-1.0, 1.0)), f64)
    scalar32 = numelu.elu(np.float32(-1.0), 2.0, target="cuda")
    if not isinstance(scalar32, np.float32):
        failures.append(f"np.float32 input gave {type(scalar32).__name__}, not numpy.float32")
    check("0-d array", np.asarray(numelu.selu(np.array(-2.0), target="cuda")),
          reference("selu", (-2.0,)), f64)
    check("empty", numelu.elu(np.zeros((0, 3), f32), target="cuda"), np.zeros((0, 3)), f32)
    check("empty device", _cuda.call(numelu.elu, (cuda.to_device(np.zeros(0)), 1.0), {}),
          np.zeros(0), f64)

    # more dimensions than coalesce away: a 4-D general kernel
    a4 = rng.uniform(-3, 3, (2, 3, 4, 5))
    view = a4.transpose(2, 0, 3, 1)[:, ::-1, ::2]
    alpha4 = rng.uniform(0.5, 2, (1, 2, 1, 1))
    check("4-D strided + broadcast alpha (host)",
          numelu.celu(view, alpha4, target="cuda"), reference("celu", (view, alpha4)), f64)
    dview = cuda.to_device(a4).transpose((2, 0, 3, 1))[:, ::-1, ::2]
    check("4-D strided + broadcast alpha (device)",
          numelu.celu(dview, cuda.to_device(alpha4), target="cuda"),
          reference("celu", (view, alpha4)), f64)

    # out= partially overlapping its input: computed as if no overlap
    buf = rng.uniform(-3, 3, 12)
    dbuf = cuda.to_device(buf)
    numelu.elu(dbuf[:-1], 0.5, out=dbuf[1:], target="cuda")
    check("overlapping out=", dbuf[1:], reference("elu", (buf[:-1], 0.5)), f64)
    dbuf = cuda.to_device(buf)
    numelu.elu(dbuf[1:], 0.5, out=dbuf[:-1], target="cuda")
    check("overlapping out= (other way)", dbuf[:-1], reference("elu", (buf[1:], 0.5)), f64)
    # out= of another dtype, and host out= with where=
    out64 = cuda.device_array(9, f64)
    numelu.elu(d32, out=out64, target="cuda")
    check("f32 loop into f64 out", out64, reference("elu", (x32, 1.0)), f64, rtol=1e-6)
    hout = np.full(9, 5.0)
    numelu.elu(x, out=hout, where=x < 0, target="cuda")
    check("host out= where=", hout, np.where(x < 0, reference("elu", (x, 1.0)), 5.0), f64)
    hout = np.full(9, 5.0)
    numelu.elu(x, out=(hout[::-1],), target="cuda")
    check("host reversed out= tuple", hout[::-1], reference("elu", (x, 1.0)), f64)
    dout = cuda.to_device(np.full(9, 5.0))
    numelu.elu(cuda.to_device(x), out=dout, where=False, target="cuda")
    check("where=False leaves out", dout, np.full(9, 5.0), f64)
    fortran = np.asfortranarray(rng.uniform(-3, 3, (3, 4)))
    result = numelu.selu(fortran, target="cuda")
    if not result.flags.f_contiguous:
        failures.append("order='K' of a Fortran input did not give a Fortran result")
    check("order K Fortran", result, reference("selu", (fortran,)), f64)

    # errors: clear, and nothing written
    expect_error("mixed host/device", TypeError,
                 lambda: numelu.elu_backward(d32, x32, 1.0, target="cuda"), "mixed")
    expect_error("host out with device input", TypeError,
                 lambda: numelu.elu(d32, out=np.empty(9, f32), target="cuda"), "mixed")
    expect_error("celu alpha=0", ValueError, lambda: numelu.celu(d32, 0.0, target="cuda"))
    expect_error("from_output alpha<0", ValueError,
                 lambda: numelu.elu_derivative_from_output(d32, -1.0, target="cuda"))
    expect_error("complex input", TypeError,
                 lambda: numelu.elu(np.ones(3, complex), target="cuda"), "complex")
    expect_error("casting=safe", TypeError,
                 lambda: numelu.elu(x, dtype=f32, casting="safe", target="cuda"), "safe")
    expect_error("out casting", TypeError,
                 lambda: numelu.elu(x, out=np.empty(9, np.int64), target="cuda"), "Cannot cast")
    expect_error("out shape", ValueError,
                 lambda: numelu.elu(x, out=np.empty(4), target="cuda"), "shape")
    readonly = np.empty(9)
    readonly.flags.writeable = False
    expect_error("read-only out", ValueError,
                 lambda: numelu.elu(x, out=readonly, target="cuda"), "read-only")
    expect_error("unknown keyword", TypeError,
                 lambda: numelu.elu(x, signature="dd->d", target="cuda"), "signature")
    expect_error("broadcast mismatch", ValueError,
                 lambda: numelu.elu(cuda.to_device(np.ones(3)), cuda.to_device(np.ones(4)),
                                    target="cuda"))
    expect_error(".cuda under the simulator", RuntimeError, lambda: numelu.elu.cuda, "7505")


class Tagged(np.ndarray):
    """A user's ndarray subclass whose metadata follows it through ufuncs."""

    def __array_finalize__(self, obj):
        self.info = getattr(obj, "info", None)


class Wrapped:
    """An array-like that is not an ndarray: ``__array__`` and ``__array_wrap__`` only."""

    __array_priority__ = 5.0
    seen: list = []

    def __init__(self, values):
        self.values = np.asarray(values)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        Wrapped.seen.append((context, return_scalar))
        return Wrapped(array)


def same_type_as_cpu(label: str, got, cpu) -> None:
    """``got`` (target="cuda") is of the CPU path's type (NumPy's ufunc rules), same values."""
    global checks
    checks += 1
    if type(got) is not type(cpu):
        failures.append(f"{label}: {type(got).__name__}, the CPU path gives {type(cpu).__name__}")
        return
    got_values = np.asarray(getattr(got, "values", got))
    cpu_values = np.asarray(getattr(cpu, "values", cpu))
    if got_values.dtype != cpu_values.dtype or got_values.shape != cpu_values.shape:
        failures.append(f"{label}: {got_values.dtype}{got_values.shape}, the CPU path gives "
                        f"{cpu_values.dtype}{cpu_values.shape}")
    elif not np.allclose(got_values, cpu_values, rtol=1e-13, atol=1e-13):
        failures.append(f"{label}: values differ from the CPU path's")


def run_dispatch(rng) -> None:
    x = rng.uniform(-3, 3, 8)
    g = rng.uniform(-2, 2, 8)
    dx, dg = cuda.to_device(x), cuda.to_device(g)

    # docs/contract.md §5, rule 2, without target=: a simulator device array goes to CUDA and stays
    # there
    for label, result, expected in [
            ("auto elu(device)", numelu.elu(dx), reference("elu", (x, 1.0))),
            ("auto elu(device, 0.5)", numelu.elu(dx, 0.5), reference("elu", (x, 0.5))),
            ("auto elu_backward(device, device, alpha=0.5)",
             numelu.elu_backward(dg, dx, alpha=0.5), reference("elu_backward", (g, x, 0.5))),
            ("auto selu(device[::-1])", numelu.selu(dx[::-1]), reference("selu", (x[::-1],)))]:
        if not type(result).__module__.startswith("numba"):
            failures.append(f"{label}: returned {type(result).__name__}, not a device array")
        check(label, result, expected, np.float64)
    with numelu.config(target="auto"):
        out = cuda.device_array(8)
        if numelu.elu(dx, 0.5, out=out) is not out:
            failures.append("auto elu(device, out=device) did not return out")
        check("auto out=device", out, reference("elu", (x, 0.5)), np.float64)
    expect_error("auto: device and host inputs mixed", TypeError,
                 lambda: numelu.elu_backward(dg, x, 1.0), "mixed")
    # a device out= or where= beside host inputs: the same "mixed" error (NumPy's own was
    # "return arrays must be of ArrayType"; a device where= gave uninitialised memory)
    for label, call in [
            ("host input, device out=", lambda: numelu.elu(x, out=cuda.device_array(8))),
            ("host input, device out= tuple",
             lambda: numelu.elu(x, 0.5, out=(cuda.device_array(8),))),
            ("host inputs, device out=", lambda: numelu.elu_backward(g, x, 0.5,
                                                                     out=cuda.device_array(8))),
            ("host input, device where=", lambda: numelu.elu(x, where=cuda.to_device(x > 0))),
            ("host input and out=, device where=",
             lambda: numelu.elu(x, out=np.empty(8), where=cuda.to_device(x > 0)))]:
        expect_error(f"auto: {label}", TypeError, call, "host (NumPy) and device (CUDA) arrays "
                     "mixed")
    out = cuda.device_array(())
    if numelu.elu(-1.0, 0.5, out=out) is not out:
        failures.append("auto elu(python scalar, out=device) did not return out")
    check("auto scalar input, out=device", out, reference("elu", (-1.0, 0.5)), np.float64)


def run_host_types(rng) -> None:
    """docs/contract.md §§4-5, target="cuda" with host inputs: the result type NumPy's ufuncs give."""
    x = rng.uniform(-3, 3, 8)
    g = rng.uniform(-2, 2, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        matrix = np.matrix([[-1.0, 2.0, -0.5]])
    tagged = x.view(Tagged)
    tagged.info = "metadata"
    zero_d = np.array(-1.5).view(Tagged)
    zero_d.info = "zero-d"
    wrapped = Wrapped(x)
    cases = {
        "matrix": lambda f, t: f.elu(matrix, 0.5, target=t),
        "matrix alpha": lambda f, t: f.elu(np.ones(3), matrix, target=t),
        "matrix selu": lambda f, t: f.selu(matrix, target=t),
        "subclass": lambda f, t: f.elu(tagged, 0.5, target=t),
        "subclass grad": lambda f, t: f.elu_backward(g.view(Tagged), x, 0.5, target=t),
        "0-d subclass": lambda f, t: f.selu(zero_d, target=t),
        "array-like": lambda f, t: f.elu(wrapped, 0.5, target=t),
        "array-like x": lambda f, t: f.elu_backward(g, wrapped, target=t),
        "0-d array-like": lambda f, t: f.elu(Wrapped(-1.0), target=t),
        "array-like beside matrix": lambda f, t: f.elu(Wrapped([[1.0, -1.0, 2.0]]), matrix,
                                                       target=t),
        "subclass beside array-like": lambda f, t: f.elu(tagged, wrapped, target=t),
        "list": lambda f, t: f.elu([-1.0, 2.0], target=t),
        "python float": lambda f, t: f.elu(-1.0, 0.5, target=t),
        "np.float32": lambda f, t: f.selu(np.float32(-1.0), target=t),
        "0-d ndarray": lambda f, t: f.selu(np.array(-1.0), target=t),
    }
    for label, call in cases.items():
        try:
            same_type_as_cpu(f"target=cuda {label}", call(numelu, "cuda"), call(numelu, "cpu"))
        except Exception as error:  # noqa: BLE001
            failures.append(f"target=cuda {label}: raised {type(error).__name__}: {error}")
    result = numelu.elu(tagged, 0.5, target="cuda")
    if getattr(result, "info", None) != "metadata":
        failures.append(f"target=cuda subclass: info {getattr(result, 'info', None)!r} was "
                        "not carried over by __array_finalize__")
    if getattr(numelu.selu(zero_d, target="cuda"), "info", None) != "zero-d":
        failures.append("target=cuda 0-d subclass: info not carried over")
    Wrapped.seen = []
    numelu.elu(wrapped, 0.5, target="cuda")
    numelu.elu(Wrapped(-1.0), target="cuda")
    if len(Wrapped.seen) != 2:
        failures.append(f"target=cuda array-like: __array_wrap__ called {len(Wrapped.seen)} "
                        "times for 2 calls")
    else:
        [(context, return_scalar), (_, scalar_flag)] = Wrapped.seen
        if context[0] is not numelu.elu or context[1][0] is not wrapped or context[2] != 0:
            failures.append(f"target=cuda array-like: __array_wrap__ context {context!r}")
        if return_scalar is not False or scalar_flag is not True:
            failures.append(f"target=cuda array-like: return_scalar {return_scalar}, "
                            f"{scalar_flag}")
    out = np.zeros((1, 3)).view(np.matrix)
    if numelu.elu(matrix, 0.5, out=out, target="cuda") is not out:
        failures.append("target=cuda out=matrix did not return out")
    same_type_as_cpu("target=cuda out=matrix", out, numelu.elu(matrix, 0.5, target="cpu"))

    # a masked array cannot go to the GPU with its mask: a clear error, nothing written
    masked = np.ma.array([-1.0, 2.0, -3.0], mask=[False, True, False])
    expect_error("masked x, target=cuda", TypeError,
                 lambda: numelu.elu(masked, 0.5, target="cuda"), ".filled(")
    expect_error("masked alpha, target=cuda", TypeError,
                 lambda: numelu.elu(np.ones(3), masked, target="cuda"), "input 'alpha'")
    expect_error("masked grad, target=cuda", TypeError,
                 lambda: numelu.elu_backward(masked, np.ones(3), target="cuda"), "'grad'")
    with numelu.config(target="cuda"):
        expect_error("masked x, config(target='cuda')", TypeError,
                     lambda: numelu.selu(masked), "mask")
    host_out = np.full(3, 7.0)
    expect_error("masked out, target=cuda", TypeError,
                 lambda: numelu.elu(np.ones(3), out=np.ma.array(host_out), target="cuda"),
                 "out is a masked array")
    expect_error("masked x with out=, target=cuda", TypeError,
                 lambda: numelu.elu(masked, out=host_out, target="cuda"), "mask")
    if not (host_out == 7.0).all():
        failures.append("masked x with out=, target=cuda: out was written")
    cpu = numelu.elu(masked, 0.5, target="cpu")          # the CPU target keeps the mask
    if not isinstance(cpu, np.ma.MaskedArray) or not cpu.mask[1]:
        failures.append("masked x, target=cpu: the mask was not kept")


def run_user_kernel() -> None:
    """A user's own @cuda.jit kernel calling numelu.scalar formulas (docs/contract.md §4)."""
    import numelu.scalar as S

    @cuda.jit
    def my_kernel(x, alpha, out):
        i = cuda.grid(1)
        if i < x.size:
            out[i] = S.elu(x[i], alpha) + S.celu_derivative(x[i], alpha)

    x = np.linspace(-3, 3, 10)
    out = cuda.device_array(10)
    my_kernel[2, 8](cuda.to_device(x), 1.5, out)
    check("user @cuda.jit kernel (numelu.scalar.elu + celu_derivative)", out,
          reference("elu", (x, 1.5)) + reference("celu_derivative", (x, 1.5)), np.float64)


def main() -> int:
    start = time.perf_counter()
    if not _cuda.simulating():
        print("FAIL: the CUDA simulator is not on")
        return 1
    rng = np.random.default_rng(20240607)
    every = {"functions", "semantics", "dispatch", "host", "user"}
    chosen = set(sys.argv[1:]) or every
    unknown = chosen - every
    if unknown:
        print(f"FAIL: unknown section(s) {', '.join(sorted(unknown))}")
        return 1
    sections = []
    if "functions" in chosen:
        sections += [(f"{f.spec.name} {np.dtype(t).name}", run_function, (f, t, rng))
                     for f in numelu.FUNCTIONS_BY_NAME.values()
                     for t in (np.float32, np.float64)]
    if "semantics" in chosen:
        sections.append(("semantics", run_semantics, (rng,)))
    if "dispatch" in chosen:
        sections.append(("dispatch", run_dispatch, (rng,)))
    if "host" in chosen:
        sections.append(("host types", run_host_types, (rng,)))
    if "user" in chosen:
        sections.append(("user kernel", run_user_kernel, ()))
    for label, run, args in sections:
        try:
            run(*args)
        except Exception:  # noqa: BLE001 - report and carry on with the next section
            failures.append(f"{label}: crashed\n{traceback.format_exc()}")
    for failure in failures:
        print("FAIL:", failure)
    print(f"CUDA simulator: {checks} checks over {len(numelu.FUNCTIONS_BY_NAME)} functions x "
          f"float32/float64, {len(_cuda._kernels)} kernels generated, {len(failures)} failed, "
          f"{time.perf_counter() - start:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
