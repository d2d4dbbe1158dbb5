"""The side-by-side benchmark of BENCHMARKS.md: one table of contenders, a timer, a report.

Used three ways, always with the same contenders on the same arrays:

* ``python -m numelu bench`` (:func:`main`): timeit-style best-of-N timing, no pytest needed;
* ``pytest benchmarks --benchmark-only`` (``benchmarks/``): the pytest-benchmark suite;
* ``python benchmarks/report.py results.json`` (:func:`report_main`): a pytest-benchmark JSON (or
  the JSON written by ``python -m numelu bench --json``) rendered as a markdown table of ratios and a
  PNG plot.

Every claim is a ratio between contenders measured side by side in one run:

* ``x NumPy`` -- how many times faster than plain NumPy (``t(numpy) / t``; higher is better);
* ``/ peer``  -- time over the fastest installed peer, PyTorch, numexpr or JAX (below 1: faster);
* ``/ wall``  -- time over the memory wall, a copy of the same bytes (1.0 is the bandwidth bound).

The optional peers (PyTorch, numexpr, JAX, matplotlib for the plot) are imported only when a
benchmark asks for them; numelu never depends on them.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ---------------------------------------------------------------------------------------- cases

#: The ``alpha`` every benchmark passes to the functions that take one (the common default).
ALPHA = 1.0
SEED = 20_240_601
SIZES = (10**2, 10**4, 10**6, 10**7)
DTYPES = ("float32", "float64")
#: ``normal``: standard normal input, half negative, so the branch is unpredictable;
#: ``negative``: the same values made non-positive, so every element takes the exp branch.
DATA = ("normal", "negative")
#: The functions benchmarked unless asked otherwise.
DEFAULT_FUNCTIONS = ("elu", "selu", "elu_derivative", "elu_backward")
QUICK_SIZES = (10**2, 10**4, 10**6)

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@dataclass(frozen=True)
class Case:
    """One benchmark group: a function on one kind of input of one dtype and size."""

    function: str
    dtype: str
    size: int
    data: str = "normal"

    @property
    def group(self) -> str:
        return f"{self.function} {self.dtype} n={self.size} {self.data}"

    @property
    def id(self) -> str:
        return f"{self.function}-{self.dtype}-n{self.size}-{self.data}"

    @property
    def info(self) -> dict[str, Any]:
        return {"function": self.function, "dtype": self.dtype, "size": self.size,
                "data": self.data}


def function_names() -> tuple[str, ...]:
    from numelu._table import FUNCTIONS

    return tuple(spec.name for spec in FUNCTIONS)


def array_inputs(function: str) -> tuple[str, ...]:
    """The names of ``function``'s array inputs (its inputs less ``alpha``), in call order."""
    from numelu._table import BY_NAME

    return tuple(name for name in BY_NAME[function].inputs if name != "alpha")


def has_alpha(function: str) -> bool:
    from numelu._table import BY_NAME

    return BY_NAME[function].has_alpha


def make_cases(functions: Iterable[str] = DEFAULT_FUNCTIONS, dtypes: Iterable[str] = DTYPES,
               sizes: Iterable[int] = SIZES, data: Iterable[str] = DATA) -> list[Case]:
    """Every combination, in report order (function, data, dtype, size)."""
    known = function_names()
    functions, dtypes, sizes, data = list(functions), list(dtypes), list(sizes), list(data)
    for name in functions:
        if name not in known:
            raise ValueError(f"unknown function {name!r}; known: {', '.join(known)}")
    for dtype in dtypes:
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; known: {', '.join(DTYPES)}")
    for kind in data:
        if kind not in DATA:
            raise ValueError(f"unknown data kind {kind!r}; known: {', '.join(DATA)}")
    for size in sizes:
        if size < 1:
            raise ValueError(f"sizes must be positive, got {size}")
    return [Case(f, d, s, k) for f in functions for k in data for d in dtypes for s in sizes]


def make_inputs(case: Case) -> tuple[np.ndarray, ...]:
    """The seeded input arrays of ``case``, in the order of the function's array inputs.

    ``x`` is standard normal (``-|x|`` for the ``negative`` case); ``grad`` is an independent
    standard normal; ``y`` (the ``*_from_output`` forms) is the forward function of ``x``.
    """
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal(case.size)
    if case.data == "negative":
        np.negative(np.abs(x), out=x)
    arrays = {"x": x}
    names = array_inputs(case.function)
    if "grad" in names:
        arrays["grad"] = np.random.default_rng(SEED + 1).standard_normal(case.size)
    if "y" in names:
        forward = case.function.split("_")[0]
        arrays["y"] = numpy_function(forward)(x, **({"alpha": ALPHA} if has_alpha(forward) else {}))
    return tuple(np.ascontiguousarray(arrays[name], dtype=case.dtype) for name in names)


# ----------------------------------------------------------------------- the NumPy expressions

#: Each function written once, in the syntax that NumPy (``where``/``exp``/``expm1`` bound to
#: NumPy's), numexpr and JAX all evaluate.  ``scale``/``sa``/``sas`` are SELU's constants.
EXPRESSIONS: dict[str, str] = {
    "elu": "where(x > 0, x, alpha * expm1(x))",
    "selu": "scale * where(x > 0, x, sa * expm1(x))",
    "celu": "where(x > 0, x, alpha * expm1(x / alpha))",
    "elu_derivative": "where(x > 0, 1, alpha * exp(x))",
    "selu_derivative": "where(x > 0, scale, sas * exp(x))",
    "celu_derivative": "where(x > 0, 1, exp(x / alpha))",
    "elu_derivative_from_output": "where(y > 0, 1, y + alpha)",
    "selu_derivative_from_output": "where(y > 0, scale, y + sas)",
    "celu_derivative_from_output": "where(y > 0, 1, y / alpha + 1)",
    "elu_backward": "grad * where(x > 0, 1, alpha * exp(x))",
    "selu_backward": "grad * where(x > 0, scale, sas * exp(x))",
    "celu_backward": "grad * where(x > 0, 1, exp(x / alpha))",
}
_CONSTANTS = {"scale": _SELU_SCALE, "sa": _SELU_ALPHA, "sas": _SELU_SCALE * _SELU_ALPHA}


def numpy_label(function: str) -> str:
    """The NumPy expression as a user writes it, e.g. ``np.where(x > 0, x, alpha * np.expm1(x))``."""
    return re.sub(r"\b(where|expm1|exp)\(", r"np.\1(", EXPRESSIONS[function])


def _lambda(function: str, namespace: dict[str, Any]) -> Callable:
    """``EXPRESSIONS[function]`` as a real function of the array inputs (and ``alpha``) whose
    globals are ``namespace`` -- as cheap to call as the lambda a user would write."""
    params = ", ".join(array_inputs(function) + (("alpha",) if has_alpha(function) else ()))
    return eval(f"lambda {params}: {EXPRESSIONS[function]}",  # noqa: S307 - our own table
                {"__builtins__": {}, **_CONSTANTS, **namespace})


def numpy_function(function: str) -> Callable:
    """Plain NumPy ``function``: Python-float constants, so a float32 input stays float32."""
    return _lambda(function, {"where": np.where, "exp": np.exp, "expm1": np.expm1})


def reference(function: str, arrays: Sequence[np.ndarray], alpha: float = ALPHA) -> np.ndarray:
    """The float64 NumPy value of ``function`` (the correctness reference)."""
    args = [np.asarray(a, dtype=np.float64) for a in arrays]
    if has_alpha(function):
        args.append(alpha)
    with np.errstate(over="ignore"):
        return np.asarray(numpy_function(function)(*args), dtype=np.float64)


# --------------------------------------------------------------------------------- contenders

Bound = Callable[[], np.ndarray]


@dataclass(frozen=True)
class Contender:
    """One way of computing a function (or a floor under it).

    ``bind(case, arrays, out)`` returns a zero-argument callable that does the whole job once, as
    a user with NumPy arrays would (conversions to and from the peer's arrays included) and
    returns the result as a NumPy array.  ``role`` is ``numelu``, ``numpy``, ``peer``, ``wall``
    (the memory wall) or ``floor`` (the ufunc call floor).
    """

    name: str
    role: str
    label: str
    bind: Callable[[Case, tuple[np.ndarray, ...], np.ndarray], Bound]
    requires: str | None = None
    #: None: every function; else a predicate on the function's name.
    applies: Callable[[str], bool] | None = None

    def applies_to(self, function: str) -> bool:
        return self.applies is None or self.applies(function)

    def unavailable(self) -> str | None:
        """Why this contender cannot run here (its package is missing), or None."""
        return None if self.requires is None else _peer_problem(self.requires)

    @property
    def checks_value(self) -> bool:
        """Whether its result is the function's value (walls and floors compute something else)."""
        return self.role in ("numelu", "numpy", "peer")


def _alpha_args(case: Case) -> tuple[float, ...]:
    return (ALPHA,) if has_alpha(case.function) else ()


def _bind_numelu(target: str, with_out: bool):
    def bind(case: Case, arrays: tuple[np.ndarray, ...], out: np.ndarray) -> Bound:
        import numelu

        fn = numelu.FUNCTIONS_BY_NAME[case.function]
        args = (*arrays, *_alpha_args(case))
        if with_out:
            def run() -> np.ndarray:
                return fn(*args, out=out, target=target)
        else:
            def run() -> np.ndarray:
                return fn(*args, target=target)
        return run
    return bind


def _bind_ufunc(case: Case, arrays: tuple[np.ndarray, ...], out: np.ndarray) -> Bound:
    import numelu

    ufunc = numelu.FUNCTIONS_BY_NAME[case.function].cpu        # the genuine np.ufunc
    args = (*arrays, *_alpha_args(case))
    return lambda: ufunc(*args, out=out)


def _bind_numpy(case: Case, arrays: tuple[np.ndarray, ...], out: np.ndarray) -> Bound:
    fn = numpy_function(case.function)
    args = (*arrays, *_alpha_args(case))
    return lambda: fn(*args)


def _bind_copyto(case: Case, arrays: tuple[np.ndarray, ...], out: np.ndarray) -> Bound:
    x = arrays[-1]

    def run() -> np.ndarray:
        np.copyto(out, x)
        return out
    return run


def _bind_add(case: Case, arrays: tuple[np.ndarray, ...], out: np.ndarray) -> Bound:
    a, b = arrays

    def run() -> np.ndarray:
        return np.add(a, b, out=out)
    return run


def _bind_negative(case: Case, arrays: tuple[np.ndarray, ...], out: np.ndarray) -> Bound:
    x = arrays[-1]
    return lambda: np.negative(x, out=out)


# -- PyTorch: F.elu/selu/celu forward; aten's elu_backward for derivatives and backward passes.

def _torch_coefficients(function: str) -> tuple[float, float, float]:
    """PyTorch's ``(alpha, scale, input_scale)`` for the ELU kernel of ``function``'s family."""
    family = function.split("_")[0]
    if family == "selu":
        return _SELU_ALPHA, _SELU_SCALE, 1.0
    if family == "celu":
        return ALPHA, 1.0, 1.0 / ALPHA
    return ALPHA, 1.0, 1.0


def _bind_torch(with_out: bool):
    def bind(case: Case, arrays: tuple[np.ndarray, ...], out: np.ndarray) -> Bound:
        torch = _peer("torch")
        functional = torch.nn.functional
        function = case.function
        alpha, scale, input_scale = _torch_coefficients(function)
        from_numpy = torch.from_numpy
        if "_" not in function:                                 # elu, selu, celu
            if with_out:
                elu_out = torch._C._nn.elu

                def run() -> np.ndarray:
                    elu_out(from_numpy(arrays[0]), alpha, scale, input_scale,
                            out=from_numpy(out))
                    return out
                return run
            forward = {"elu": lambda t: functional.elu(t, alpha),
                       "selu": functional.selu,
                       "celu": lambda t: functional.celu(t, alpha)}[function]
            return lambda: forward(from_numpy(arrays[0])).numpy()

        is_result = function.endswith("_from_output")
        if function.endswith("_backward"):
            grad_array, value = arrays
            get_grad = lambda: from_numpy(grad_array)  # noqa: E731
        else:                                    # derivative = backward of a gradient of ones
            value = arrays[0]
            ones = torch.ones(case.size, dtype=from_numpy(value).dtype)
            get_grad = lambda: ones  # noqa: E731
        if with_out:
            backward_out = torch.ops.aten.elu_backward.grad_input

            def run() -> np.ndarray:
                backward_out(get_grad(), alpha, scale, input_scale, is_result,
                             from_numpy(value), grad_input=from_numpy(out))
                return out
            return run
        backward = torch.ops.aten.elu_backward.default
        return lambda: backward(get_grad(), alpha, scale, input_scale, is_result,
                                from_numpy(value)).numpy()
    return bind


# -- numexpr: the same expression, constants typed like the arrays (a Python float would upcast).

def _bind_numexpr(with_out: bool):
    def bind(case: Case, arrays: tuple[np.ndarray, ...], out: np.ndarray) -> Bound:
        numexpr = _peer("numexpr")
        kind = np.dtype(case.dtype).type
        local = {name: kind(value) for name, value in _CONSTANTS.items()}
        local["alpha"] = kind(ALPHA)
        local.update(zip(array_inputs(case.function), arrays, strict=True))
        expression = EXPRESSIONS[case.function]
        evaluate = numexpr.evaluate
        if with_out:
            return lambda: evaluate(expression, local_dict=local, out=out)
        return lambda: evaluate(expression, local_dict=local)
    return bind


# -- JAX: jax.jit of jax.nn's functions; derivatives and backward passes through jax.vjp.

def _bind_jax(case: Case, arrays: tuple[np.ndarray, ...], out: np.ndarray) -> Bound:
    jax = _peer("jax")
    jnp = jax.numpy
    function = case.function
    family = function.split("_")[0]
    forward = {"elu": lambda x: jax.nn.elu(x, ALPHA), "selu": jax.nn.selu,
               "celu": lambda x: jax.nn.celu(x, ALPHA)}[family]
    if function == family:
        compiled = jax.jit(forward)
    elif function.endswith("_from_output"):
        expression = _lambda(function, {"where": jnp.where, "exp": jnp.exp, "expm1": jnp.expm1})
        alpha = _alpha_args(case)
        compiled = jax.jit(lambda y: expression(y, *alpha))
    elif function.endswith("_backward"):
        compiled = jax.jit(lambda g, x: jax.vjp(forward, x)[1](g)[0])
    else:                                           # derivative: the backward of ones
        compiled = jax.jit(lambda x: jax.vjp(forward, x)[1](jnp.ones_like(x))[0])
    # np.asarray waits for the result and hands it back as a NumPy array, as a user needs it.
    return lambda: np.asarray(compiled(*arrays))


def _single_input(function: str) -> bool:
    return len(array_inputs(function)) == 1


#: THE table: what the benchmark suite, ``python -m numelu bench`` and the correctness test run.
CONTENDERS: tuple[Contender, ...] = (
    Contender("numelu-auto", "numelu", "numelu.f(x) (dispatcher, target='auto')",
              _bind_numelu("auto", False)),
    Contender("numelu-auto-out", "numelu", "numelu.f(x, out=out)", _bind_numelu("auto", True)),
    Contender("numelu-cpu", "numelu", "numelu.f(x, target='cpu')", _bind_numelu("cpu", False)),
    Contender("numelu-cpu-out", "numelu", "numelu.f(x, out=out, target='cpu')",
              _bind_numelu("cpu", True)),
    Contender("numelu-parallel", "numelu", "numelu.f(x, target='parallel')",
              _bind_numelu("parallel", False)),
    Contender("numelu-parallel-out", "numelu", "numelu.f(x, out=out, target='parallel')",
              _bind_numelu("parallel", True)),
    Contender("numelu-ufunc-out", "numelu", "numelu.f.cpu(x, out=out): the raw serial np.ufunc, "
              "no dispatcher", _bind_ufunc),
    Contender("numpy", "numpy", "plain NumPy: np.where(...) expression", _bind_numpy),
    Contender("wall-copyto", "wall", "memory wall: np.copyto(out, x)", _bind_copyto,
              applies=_single_input),
    Contender("wall-add", "wall", "memory wall for two inputs: np.add(grad, x, out=out)",
              _bind_add, applies=lambda f: not _single_input(f)),
    Contender("floor-negative", "floor", "ufunc call floor: np.negative(x, out=out)",
              _bind_negative),
    Contender("torch", "peer", "PyTorch CPU: F.elu/selu/celu; aten.elu_backward",
              _bind_torch(False), requires="torch"),
    Contender("torch-out", "peer", "PyTorch CPU with out=", _bind_torch(True), requires="torch"),
    Contender("numexpr", "peer", "numexpr.evaluate('where(x > 0, x, alpha*expm1(x))')",
              _bind_numexpr(False), requires="numexpr"),
    Contender("numexpr-out", "peer", "numexpr.evaluate(..., out=out)", _bind_numexpr(True),
              requires="numexpr"),
    Contender("jax", "peer", "JAX CPU: np.asarray(jax.jit(jax.nn.elu)(x))", _bind_jax,
              requires="jax"),
)
CONTENDERS_BY_NAME = {c.name: c for c in CONTENDERS}
CONTENDER_ORDER = {c.name: i for i, c in enumerate(CONTENDERS)}
ROLES = ("numelu", "numpy", "peer", "wall", "floor")


def select_contenders(names: Iterable[str] | None = None) -> list[Contender]:
    if names is None:
        return list(CONTENDERS)
    chosen = []
    for name in names:
        if name not in CONTENDERS_BY_NAME:
            raise ValueError(f"unknown contender {name!r}; known: {', '.join(CONTENDERS_BY_NAME)}")
        chosen.append(CONTENDERS_BY_NAME[name])
    return chosen


_PEERS: dict[str, Any] = {}
_PEER_PROBLEMS: dict[str, str | None] = {}


def _peer_problem(module: str) -> str | None:
    if module not in _PEER_PROBLEMS:
        try:
            _peer(module)
        except Exception as error:                 # noqa: BLE001 - any import failure: skip it
            _PEER_PROBLEMS[module] = (
                f"{module} is not usable here ({type(error).__name__}: {error}); "
                f"pip install {module} to compare against it")
        else:
            _PEER_PROBLEMS[module] = None
    return _PEER_PROBLEMS[module]


def _peer(module: str) -> Any:
    """Import an optional peer once (quietly), configured for a fair comparison."""
    if module in _PEERS:
        return _PEERS[module]
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imported = importlib.import_module(module)
        if module == "jax":
            imported.config.update("jax_enable_x64", True)      # float64 stays float64
            imported.config.update("jax_platforms", "cpu")
            importlib.import_module("jax.numpy")
            importlib.import_module("jax.nn")
    _PEERS[module] = imported
    return imported


def peer_versions() -> dict[str, str]:
    """Versions of numelu, NumPy, Numba and every importable peer (for the report header)."""
    import numba

    import numelu

    versions = {"numelu": numelu.__version__, "numpy": np.__version__,
                "numba": numba.__version__}
    try:
        versions["threading layer"] = numba.threading_layer()
    except ValueError:
        pass
    versions["threads"] = str(numba.get_num_threads())
    for module in ("torch", "numexpr", "jax"):
        if _peer_problem(module) is None:
            versions[module] = str(getattr(_peer(module), "__version__", "?"))
    return versions


#: float32: a few ulp (PyTorch's, numexpr's and XLA's exp/expm1 are not correctly rounded);
#: float64: the same, scaled.  A wrong constant, branch or kernel is off by far more.
RTOL = {"float32": 1e-5, "float64": 1e-13}


def mismatch(case: Case, contender: Contender, arrays: Sequence[np.ndarray], result: Any,
             limit: int | None = 4096) -> str | None:
    """Why ``result`` (of ``contender`` on ``arrays``) is not ``case``'s value, or None.

    Compares the first ``limit`` elements with the float64 NumPy reference, in the input's dtype;
    walls and floors are not checked.
    """
    if not contender.checks_value:
        return None
    if not isinstance(result, np.ndarray) or result.shape != (case.size,):
        return f"{contender.name}: got {type(result).__name__} {getattr(result, 'shape', '')}"
    if result.dtype != np.dtype(case.dtype):
        return f"{contender.name}: {result.dtype} result for {case.dtype} input"
    part = slice(None, limit)
    expected = reference(case.function, [a[part] for a in arrays])
    atol = 0.0
    if contender.name == "jax" and case.function.endswith(("_derivative", "_backward")):
        # JAX differentiates expm1 as expm1(x) + 1: exp(x) for very negative x keeps only an
        # absolute accuracy (elu_derivative(-20) is 0 in float32), like the *_from_output forms.
        scale = float(np.abs(arrays[0][part]).max()) if case.function.endswith("_backward") else 1
        atol = 8 * float(np.finfo(case.dtype).eps) * scale
    got = result[part].astype(np.float64)
    bad = ~np.isclose(got, expected, rtol=RTOL[case.dtype], atol=atol, equal_nan=True)
    if bad.any():
        i = int(np.argmax(bad))
        inputs = ", ".join(f"{a[i]!r}" for a in arrays)
        return (f"{contender.name} {case.function} {case.dtype}: {int(bad.sum())} of "
                f"{bad.size} elements differ from NumPy's float64 value, e.g. f({inputs}) = "
                f"{got[i]!r}, expected {expected[i]!r}")
    return None


# ------------------------------------------------------------------------------------- timing

def _loop(fn: Callable[[], Any], number: int) -> float:
    timer = time.perf_counter
    start = timer()
    for _ in range(number):
        fn()
    return timer() - start


def time_call(fn: Callable[[], Any], *, repeats: int = 5, min_time: float = 0.02
              ) -> tuple[list[float], int]:
    """Seconds per call of each of ``repeats`` rounds, timeit-style, and the calls per round.

    Calls per round grow until a round lasts ``min_time``; the garbage collector is off while
    timing.  The caller warms ``fn`` up (compiles it) first.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        number = 1
        while True:
            elapsed = _loop(fn, number)
            if elapsed >= min_time or number >= 1 << 24:
                break
            guess = int(number * min_time / max(elapsed, 1e-9) * 1.1) + 1
            number = min(max(guess, number * 2), number * 100, 1 << 24)
        times = [elapsed / number]
        times += [_loop(fn, number) / number for _ in range(repeats - 1)]
    finally:
        if enabled:
            gc.enable()
    return times, number


def _stats(times: Sequence[float], number: int) -> dict[str, float]:
    ordered = sorted(times)
    mean = sum(ordered) / len(ordered)
    stddev = (math.sqrt(sum((t - mean) ** 2 for t in ordered) / (len(ordered) - 1))
              if len(ordered) > 1 else 0.0)
    middle = len(ordered) // 2
    median = (ordered[middle] if len(ordered) % 2
              else (ordered[middle - 1] + ordered[middle]) / 2)
    return {"min": ordered[0], "max": ordered[-1], "mean": mean, "median": median,
            "stddev": stddev, "rounds": len(ordered), "iterations": number,
            "ops": 1.0 / mean if mean else 0.0}


# -------------------------------------------------------------------------------- results

@dataclass(frozen=True)
class Result:
    """One contender's time (seconds per call) in one group."""

    function: str
    dtype: str
    size: int
    data: str
    contender: str
    role: str
    seconds: float

    @property
    def key(self) -> tuple:
        return (self.function, self.data, self.dtype, self.size)


def compact_benchmark_json(document: dict[str, Any]) -> dict[str, Any]:
    """Drop what pytest-benchmark stores that the report does not need (every round's time,
    unserialisable params): a full run's JSON shrinks from ~300 MB to under 2 MB."""
    for entry in document.get("benchmarks", []):
        (entry.get("stats") or {}).pop("data", None)
        info = entry.get("extra_info") or {}
        if "contender" in info:
            entry["params"] = {key: info[key] for key in ("function", "dtype", "size", "data",
                                                          "contender") if key in info}
    return document


def benchmark_entry(case: Case, contender: Contender, stats: dict[str, float]) -> dict[str, Any]:
    """One entry of the ``benchmarks`` list, in pytest-benchmark's JSON schema."""
    name = f"test_cpu[{case.id}-{contender.name}]"
    return {"group": case.group, "name": name, "fullname": f"numelu bench::{name}",
            "params": None, "param": f"{case.id}-{contender.name}",
            "extra_info": {**case.info, "contender": contender.name, "role": contender.role},
            "stats": stats}


def results_from_json(document: dict[str, Any], stat: str = "min") -> list[Result]:
    """The results in a pytest-benchmark JSON document (or one written by ``numelu bench``).

    Each benchmark must carry ``extra_info`` with function, dtype, size, data, contender and role
    (both producers here write them); other entries are ignored.
    """
    results = []
    for entry in document.get("benchmarks", []):
        info = entry.get("extra_info") or {}
        if not {"function", "dtype", "size", "contender"} <= info.keys():
            continue
        contender = info["contender"]
        role = info.get("role") or (CONTENDERS_BY_NAME[contender].role
                                    if contender in CONTENDERS_BY_NAME else "peer")
        results.append(Result(info["function"], info["dtype"], int(info["size"]),
                              info.get("data", "normal"), contender, role,
                              float(entry["stats"][stat])))
    return results


def _function_order(name: str) -> tuple[int, str]:
    try:
        return (function_names().index(name), name)
    except ValueError:
        return (len(function_names()), name)


def group_results(results: Iterable[Result]) -> dict[tuple, list[Result]]:
    """Results by group (function, data, dtype, size), groups and contenders in report order."""
    groups: dict[tuple, list[Result]] = {}
    for result in results:
        groups.setdefault(result.key, []).append(result)
    data_order = {kind: i for i, kind in enumerate(DATA)}
    ordered = sorted(groups, key=lambda k: (_function_order(k[0]), data_order.get(k[1], 9), k[1],
                                            k[2], k[3]))
    return {key: sorted(groups[key], key=lambda r: (CONTENDER_ORDER.get(r.contender, 99),
                                                    r.contender))
            for key in ordered}


@dataclass
class GroupRatios:
    """The reference times of one group and every contender's ratios against them."""

    key: tuple
    results: list[Result]
    numpy: float | None = None
    peer: Result | None = None
    wall: Result | None = None
    floor: Result | None = None
    ratios: dict[str, dict[str, float | None]] = field(default_factory=dict)


def _best(results: Iterable[Result]) -> Result | None:
    return min(results, key=lambda r: r.seconds, default=None)


def ratios(group: list[Result]) -> GroupRatios:
    """``x_numpy`` = t(numpy)/t, ``vs_peer`` = t/t(fastest peer), ``vs_wall`` = t/t(wall),
    ``vs_floor`` = t/t(ufunc call floor)."""
    numpy = _best(r for r in group if r.role == "numpy")
    peer = _best(r for r in group if r.role == "peer")
    wall = _best(r for r in group if r.role == "wall")
    floor = _best(r for r in group if r.role == "floor")
    out = GroupRatios(group[0].key, group, numpy.seconds if numpy else None, peer, wall, floor)
    for r in group:
        out.ratios[r.contender] = {
            "x_numpy": numpy.seconds / r.seconds if numpy else None,
            "vs_peer": r.seconds / peer.seconds if peer else None,
            "vs_wall": r.seconds / wall.seconds if wall else None,
            "vs_floor": r.seconds / floor.seconds if floor else None,
        }
    return out


# ------------------------------------------------------------------------------ formatting

def format_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if float(f"{seconds / scale:.3g}") >= 1:       # 999.7 ns rounds to 1 µs, not "1e+03 ns"
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_rate(per_second: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if per_second >= scale:
            return f"{per_second / scale:.3g} {unit}/s"
    return f"{per_second:.3g} /s"


def format_ratio(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def format_size(size: int) -> str:
    exponent = round(math.log10(size)) if size > 0 else 0
    return f"10^{exponent}" if 10**exponent == size else f"{size:,}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def summary_rows(groups: dict[tuple, list[Result]]) -> list[list[str]]:
    """One row per group: numelu's dispatcher (best of allocating and out=) against the rest."""
    rows = []
    for key, group in groups.items():
        g = ratios(group)
        auto = _best(r for r in group if r.contender.startswith("numelu-auto")) or \
            _best(r for r in group if r.role == "numelu")
        best = _best(r for r in group if r.role == "numelu")
        function, data, dtype, size = key
        cells = [function, data, dtype, format_size(size),
                 format_time(g.numpy) if g.numpy else "–"]
        if auto is None:
            cells += ["–"] * 6
        else:
            r = g.ratios[auto.contender]
            cells += [f"{format_time(auto.seconds)}", format_ratio(r["x_numpy"]),
                      f"{g.peer.contender} {format_time(g.peer.seconds)}" if g.peer else "–",
                      format_ratio(r["vs_peer"]), format_ratio(r["vs_wall"]),
                      format_ratio(r["vs_floor"])]
        cells.append(f"{best.contender} {format_time(best.seconds)}" if best else "–")
        rows.append(cells)
    return rows


def render_markdown(results: Sequence[Result], *, title: str = "numelu CPU benchmark",
                    meta: dict[str, Any] | None = None, stat: str = "min",
                    details: bool = True) -> str:
    """A markdown report: a summary row per group, then each group's contenders."""
    groups = group_results(results)
    lines = [f"# {title}", ""]
    if meta:
        lines += [" · ".join(f"{k}: {v}" for k, v in meta.items() if v not in (None, "")), ""]
    lines += [
        f"Time per call: the {'best' if stat == 'min' else stat} of the rounds. "
        "`× NumPy` = t(NumPy) / t (speed-up over plain NumPy); `/ peer` = t / t(fastest of "
        "PyTorch, numexpr, JAX) (below 1: numelu is faster); `/ wall` = t / t(memory wall: "
        "`np.copyto(out, x)`, or `np.add(grad, x, out=out)` for two inputs; single-threaded, so "
        "threaded code can go below 1); `/ floor` = t / t(ufunc call floor: "
        "`np.negative(x, out=out)`). `numelu-ufunc-out` is the raw serial `np.ufunc` "
        "(`numelu.f.cpu`), without the dispatcher.",
        "",
        "## Summary: numelu's dispatcher (`target='auto'`, best of allocating and `out=`)",
        "",
    ]
    lines += _table(["function", "data", "dtype", "n", "NumPy", "numelu", "× NumPy",
                     "best peer", "/ peer", "/ wall", "/ floor", "fastest numelu"],
                    summary_rows(groups), "lllrrrrlrrrl")
    if details:
        for key, group in groups.items():
            function, data, dtype, size = key
            g = ratios(group)
            lines += ["", f"### {function}, {dtype}, n = {format_size(size)}, {data} input", ""]
            rows = []
            for r in group:
                q = g.ratios[r.contender]
                rows.append([r.contender, r.role, format_time(r.seconds),
                             format_rate(size / r.seconds) if r.seconds > 0 else "–",
                             format_ratio(q["x_numpy"]), format_ratio(q["vs_peer"]),
                             format_ratio(q["vs_wall"]), format_ratio(q["vs_floor"])])
            lines += _table(["contender", "role", "time", "elements/s", "× NumPy", "/ peer",
                             "/ wall", "/ floor"], rows, "llrrrrrr")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------- plot

_STYLE = {"numelu": "-", "numpy": "-", "peer": "--", "wall": ":", "floor": ":"}
#: tab20 colour pairs: dark for the allocating call, light for its ``-out`` variant.
_PAIRS = {"numelu-auto": 0, "numelu-cpu": 2, "numelu-parallel": 4, "torch": 6, "numexpr": 8,
          "jax": 10, "numelu-ufunc": 18}


def _colour(name: str, role: str, index: int) -> Any:
    from matplotlib import colormaps

    tab20 = colormaps["tab20"].colors
    if role == "numpy":
        return "black"
    if role == "wall":
        return "dimgrey"
    if role == "floor":
        return "darkgrey"
    base = name.removesuffix("-out")
    if base in _PAIRS:
        return tab20[_PAIRS[base] + (base != name)]
    return tab20[(16 + index) % len(tab20)]


def plot(results: Sequence[Result], path: str, *, title: str = "numelu CPU benchmark") -> None:
    """Elements/s against size, log-log; one panel per (function, data) row and dtype column,
    one line per contender.  Needs matplotlib (imported here, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = group_results(results)
    rows = list(dict.fromkeys((k[0], k[1]) for k in groups))
    columns = sorted({k[2] for k in groups})
    contenders = sorted({r.contender for r in results},
                        key=lambda n: (CONTENDER_ORDER.get(n, 99), n))
    roles = {r.contender: r.role for r in results}
    colour = {name: _colour(name, roles[name], i) for i, name in enumerate(contenders)}
    figure, axes = plt.subplots(len(rows), len(columns), squeeze=False, sharex=True,
                                figsize=(5.5 * len(columns), 3.4 * len(rows)))
    for i, (function, data) in enumerate(rows):
        for j, dtype in enumerate(columns):
            ax = axes[i][j]
            for name in contenders:
                points = sorted((r.size, r.size / r.seconds) for r in results
                                if (r.function, r.data, r.dtype, r.contender)
                                == (function, data, dtype, name) and r.seconds > 0)
                if points:
                    ax.plot(*zip(*points, strict=True), _STYLE.get(roles[name], "-"),
                            marker="o", markersize=3, color=colour[name], label=name,
                            linewidth=2.2 if name == "numelu-auto" else 1.2)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{function} · {dtype} · {data} input", fontsize=10)
            ax.grid(True, which="both", alpha=0.3)
            if j == 0:
                ax.set_ylabel("elements / s")
            if i == len(rows) - 1:
                ax.set_xlabel("elements")
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    labels = sorted(handles, key=lambda n: (CONTENDER_ORDER.get(n, 99), n))
    figure.legend([handles[label] for label in labels], labels, loc="center left",
                  bbox_to_anchor=(1.0, 0.5), fontsize=9, frameon=False)
    figure.suptitle(title, fontsize=12)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.5 / figure.get_figheight()))
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)


def meta_from_json(document: dict[str, Any]) -> dict[str, Any]:
    """A one-line description of the machine and versions, from the JSON's ``machine_info``."""
    machine = document.get("machine_info") or {}
    cpu = machine.get("cpu") or {}
    meta: dict[str, Any] = {
        "date": (document.get("datetime") or "")[:10],
        "cpu": cpu.get("brand_raw") or machine.get("processor"),
        "cores": cpu.get("count"),
        "python": machine.get("python_version"),
    }
    for key, value in (machine.get("numelu_versions") or {}).items():
        meta[key] = value
    return meta


# ---------------------------------------------------------------------------------- the CLI

def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _sizes(text: str) -> list[int]:
    try:
        return [int(float(item)) for item in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be numbers, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m numelu bench",
        description="Time numelu side by side with plain NumPy, the memory wall, the ufunc call "
                    "floor and the installed peers (PyTorch, numexpr, JAX) on the same arrays, "
                    "and print the times and ratios.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="sizes 10^2..10^6, normal input only, 3 short rounds (under a minute)")
    parser.add_argument("--json", metavar="FILE",
                        help="write the results as JSON (pytest-benchmark's schema; "
                             "benchmarks/report.py renders it)")
    parser.add_argument("--plot", metavar="FILE.png", help="write a PNG plot (needs matplotlib)")
    parser.add_argument("--markdown", metavar="FILE.md", help="write the markdown report")
    parser.add_argument("--functions", type=_csv, default=list(DEFAULT_FUNCTIONS),
                        help=f"comma-separated (default {','.join(DEFAULT_FUNCTIONS)}; "
                             "'all' for every function)")
    parser.add_argument("--sizes", type=_sizes, default=None,
                        help="comma-separated element counts (default 100,10000,1000000,10000000)")
    parser.add_argument("--dtypes", type=_csv, default=list(DTYPES), help="float32,float64")
    parser.add_argument("--data", type=_csv, default=None,
                        help="input kinds: normal,negative (default both; --quick: normal)")
    parser.add_argument("--contenders", type=_csv, default=None,
                        help=f"comma-separated subset of: {', '.join(CONTENDERS_BY_NAME)}")
    parser.add_argument("--repeats", type=int, default=None,
                        help="rounds per contender; the best is reported (default 5, quick 3)")
    parser.add_argument("--min-time", type=float, default=None,
                        help="seconds per round (default 0.02, quick 0.002)")
    parser.add_argument("--details", action="store_true",
                        help="also print each group's table (always in --markdown)")
    return parser


#: Seconds of idle time before a contender that follows a peer.  On the 2-core machine a core
#: still busy with a peer's worker threads (JAX/XLA's, PyTorch's, numexpr's) halves a threaded
#: contender timed right after: numelu's threaded ELU (float64, 10^6) once measured 943 us, its
#: serial speed, where the same run's explicit ``target="parallel"`` call measured 508 us.
PEER_SETTLE_SECONDS = 0.5


#: Seconds each contender runs untimed before its timed rounds: caches, branch predictors and
#: the core's clock reach their steady state (the first contender of a group, right after the
#: previous group's peers, was otherwise up to 1.5x slower than the same call timed later).
WARM_UP_SECONDS = 0.1


def settle_after(role: str | None, seconds: float = PEER_SETTLE_SECONDS) -> None:
    """Give a peer's threads time to go idle before the next contender is timed."""
    if role == "peer":
        time.sleep(seconds)


def warm_up(fn: Callable[[], Any], seconds: float = WARM_UP_SECONDS) -> None:
    """Call ``fn`` untimed for ``seconds`` (at least twice)."""
    deadline = time.perf_counter() + seconds
    fn()
    fn()
    while time.perf_counter() < deadline:
        fn()


def run_benchmarks(cases: Sequence[Case], contenders: Sequence[Contender], *, repeats: int,
                   min_time: float, warm_up_seconds: float = WARM_UP_SECONDS,
                   settle_seconds: float = PEER_SETTLE_SECONDS,
                   progress: Callable[[str], None] | None = None,
                   failures: list[str] | None = None) -> list[dict[str, Any]]:
    """Time every applicable, available contender on every case; pytest-benchmark entries.

    Each contender's first call (compiling it) is checked against NumPy (:func:`mismatch`): a
    wrong one is reported in ``failures``, not timed.  A right one runs untimed for
    ``warm_up_seconds`` (:func:`warm_up`), and a contender that follows a peer first waits
    ``settle_seconds`` (:func:`settle_after`).
    """
    entries: list[dict[str, Any]] = []
    failures = [] if failures is None else failures
    runnable = [c for c in contenders if c.unavailable() is None]
    total = sum(c.applies_to(case.function) for case in cases for c in runnable)
    done = 0
    previous_role = None
    for case in cases:
        arrays = make_inputs(case)
        out = np.empty(case.size, dtype=case.dtype)
        for contender in runnable:
            if not contender.applies_to(case.function):
                continue
            done += 1
            settle_after(previous_role, settle_seconds)
            previous_role = contender.role
            fn = contender.bind(case, arrays, out)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")       # a peer's warning must not stop the run
                problem = mismatch(case, contender, arrays, fn())  # compiled, and right?
                if problem:
                    failures.append(problem)
                    if progress:
                        progress(f"WRONG RESULT, not timed: {problem}")
                    continue
                warm_up(fn, warm_up_seconds)
                times, number = time_call(fn, repeats=repeats, min_time=min_time)
            stats = _stats(times, number)
            entries.append(benchmark_entry(case, contender, stats))
            if progress:
                progress(f"[{done}/{total}] {case.group:<36} {contender.name:<20} "
                         f"{format_time(stats['min']):>10}")
        del arrays, out
    return entries


def json_document(entries: list[dict[str, Any]]) -> dict[str, Any]:
    import os

    return {
        "machine_info": {
            "node": platform.node(), "processor": platform.processor(),
            "machine": platform.machine(), "python_version": platform.python_version(),
            "cpu": {"brand_raw": _cpu_name(), "count": os.cpu_count()},
            "numelu_versions": peer_versions(),
        },
        "commit_info": {},
        "benchmarks": entries,
        "datetime": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "version": "numelu-bench-1",
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str]) -> int:
    """``python -m numelu bench``: time the contenders, print the table; 0 on success."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    functions = list(function_names()) if args.functions == ["all"] else args.functions
    sizes = args.sizes or list(QUICK_SIZES if args.quick else SIZES)
    data = args.data or (["normal"] if args.quick else list(DATA))
    repeats = args.repeats or (3 if args.quick else 5)
    min_time = args.min_time if args.min_time is not None else (0.002 if args.quick else 0.02)
    try:
        cases = make_cases(functions, args.dtypes, sizes, data)
        contenders = select_contenders(args.contenders)
    except ValueError as error:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    for contender in contenders:
        reason = contender.unavailable()
        if reason:
            print(f"skipping {contender.name}: {reason}", file=sys.stderr)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    started = time.perf_counter()
    failures: list[str] = []
    entries = run_benchmarks(cases, contenders, repeats=repeats, min_time=min_time,
                             warm_up_seconds=0.02 if args.quick else WARM_UP_SECONDS,
                             settle_seconds=0.1 if args.quick else PEER_SETTLE_SECONDS,
                             progress=progress,
                             failures=failures)
    progress(f"done in {time.perf_counter() - started:.1f} s")
    document = json_document(entries)
    results = results_from_json(document)
    meta = meta_from_json(document)
    print(render_markdown(results, meta=meta, details=args.details), end="")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(render_markdown(results, meta=meta))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=1)
    if args.plot:
        try:
            plot(results, args.plot)
        except ImportError as error:
            print(f"cannot plot: {error} (pip install matplotlib)", file=sys.stderr)
            return 1
    if failures:
        print(f"\n{len(failures)} contender(s) computed a wrong result and were not timed:",
              *failures, sep="\n  ", file=sys.stderr)
        return 1
    return 0


# ------------------------------------------------------------------------- the report CLI

def report_main(argv: list[str]) -> int:
    """``python benchmarks/report.py results.json [--markdown F.md] [--plot F.png]``."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/report.py",
        description="Render a pytest-benchmark JSON (or `python -m numelu bench --json`) as a "
                    "markdown table of ratios and a PNG plot.")
    parser.add_argument("json", help="the results JSON")
    parser.add_argument("--markdown", metavar="FILE.md", help="write the markdown here "
                        "(default: print it)")
    parser.add_argument("--plot", metavar="FILE.png", help="write the plot here")
    parser.add_argument("--stat", default="min", choices=("min", "median", "mean"),
                        help="which statistic of the rounds (default min: the best)")
    parser.add_argument("--title", default="numelu CPU benchmark")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    with open(args.json, encoding="utf-8") as f:
        document = json.load(f)
    results = results_from_json(document, args.stat)
    if not results:
        print(f"{args.json}: no numelu benchmark results in it", file=sys.stderr)
        return 1
    text = render_markdown(results, title=args.title, meta=meta_from_json(document),
                           stat=args.stat)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text, end="")
    if args.plot:
        try:
            plot(results, args.plot, title=args.title)
        except ImportError as error:
            print(f"cannot plot: {error} (pip install matplotlib)", file=sys.stderr)
            return 1
    return 0
