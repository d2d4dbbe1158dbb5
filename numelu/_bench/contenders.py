"""THE table of contenders: every way of computing a function (numelu, NumPy, the peers) and the
floors under it (memory wall, ufunc call floor), each bound to a case's arrays as a user would
call it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from numelu._bench.cases import ALPHA, Case
from numelu._bench.peers import _peer, _peer_problem
from numelu._reference import (
    NUMPY_CONSTANTS,
    array_inputs,
    compile_function,
    expression,
    has_alpha,
    numpy_function,
)
from numelu.scalar import SELU_ALPHA, SELU_SCALE

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
        return SELU_ALPHA, SELU_SCALE, 1.0
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
        local = {name: kind(value) for name, value in NUMPY_CONSTANTS.items()}
        local["alpha"] = kind(ALPHA)
        local.update(zip(array_inputs(case.function), arrays, strict=True))
        text = expression(case.function)
        evaluate = numexpr.evaluate
        if with_out:
            return lambda: evaluate(text, local_dict=local, out=out)
        return lambda: evaluate(text, local_dict=local)
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
        formula = compile_function(function, {"where": jnp.where, "exp": jnp.exp,
                                              "expm1": jnp.expm1})
        alpha = _alpha_args(case)
        compiled = jax.jit(lambda y: formula(y, *alpha))
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
    Contender("numexpr", "peer", "numexpr.evaluate('where(x < 0, alpha * expm1(x), x)')",
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
