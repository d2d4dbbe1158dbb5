"""The reference formulas: each function written once, independently of ``numelu.scalar``.

Every row is ``where(test, then, otherwise)`` over the function's inputs (NaN fails every test,
so it takes ``otherwise``); ``*_backward`` is derived as ``grad * <its derivative>``.  The same
text is evaluated by NumPy (in float64 for a reference, or in the inputs' dtype as a user would
write it), by mpmath (exact references for float64), and handed to numexpr and JAX by the
benchmarks.  The SELU constants are the paper's decimals, not numelu's floats.  Tests compare
numelu's compiled kernels with these; ``tests/test_table_consistency.py`` keeps the two tables
in step (docs/contract.md section 1 states the formulas).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SELU_SCALE_DECIMAL = "1.0507009873554804934193349852946"
SELU_ALPHA_DECIMAL = "1.6732632423543772848170429916717"


@dataclass(frozen=True)
class Formula:
    """``then if test else otherwise``, in the syntax NumPy, numexpr, JAX and mpmath all read.

    Names: the inputs (``x``/``y``, ``alpha``), ``exp``/``expm1``, and SELU's ``scale`` and
    ``sas`` (``scale * alpha``)."""

    test: str
    then: str
    otherwise: str

    @property
    def expression(self) -> str:
        return f"where({self.test}, {self.then}, {self.otherwise})"


#: The nine formulas; the three ``*_backward`` follow from the derivatives (:func:`formula`).
FORMULAS: dict[str, Formula] = {
    "elu": Formula("x < 0", "alpha * expm1(x)", "x"),
    "selu": Formula("x < 0", "sas * expm1(x)", "scale * x"),
    "celu": Formula("x < 0", "alpha * expm1(x / alpha)", "x"),
    "elu_derivative": Formula("x > 0", "1", "alpha * exp(x)"),
    "selu_derivative": Formula("x > 0", "scale", "sas * exp(x)"),
    "celu_derivative": Formula("x > 0", "1", "exp(x / alpha)"),
    "elu_derivative_from_output": Formula("y > 0", "1", "y + alpha"),
    "selu_derivative_from_output": Formula("y > 0", "scale", "y + sas"),
    "celu_derivative_from_output": Formula("y > 0", "1", "y / alpha + 1"),
}
#: Every function with a reference: the nine above and a backward pass per derivative.
NAMES: tuple[str, ...] = (*FORMULAS, *(name.replace("_derivative", "_backward")
                                       for name in FORMULAS if name.endswith("_derivative")))


def kind_of(name: str) -> str:
    """``"forward"``, ``"derivative"``, ``"from_output"`` or ``"backward"``, from the name."""
    for suffix in ("_backward", "_from_output", "_derivative"):
        if name.endswith(suffix):
            return suffix[1:]
    return "forward"


def derivative_of(name: str) -> str:
    """``elu_backward`` -> ``elu_derivative`` (the factor a backward pass multiplies grad by)."""
    return name.replace("_backward", "_derivative")


def _check(name: str) -> None:
    if name not in NAMES:
        raise KeyError(f"no reference formula for {name!r}; known: {', '.join(NAMES)}")


def expression(name: str) -> str:
    """The whole function as one expression, e.g. ``where(x < 0, alpha * expm1(x), x)``."""
    _check(name)
    if kind_of(name) == "backward":
        return f"grad * {FORMULAS[derivative_of(name)].expression}"
    return FORMULAS[name].expression


def inputs(name: str) -> tuple[str, ...]:
    """The inputs in call order, read off the formula: ``grad``, then ``x`` or ``y``, then
    ``alpha`` where the formula uses it."""
    text = expression(name)
    own = FORMULAS[derivative_of(name)]
    main = "y" if own.test.startswith("y") else "x"
    return (("grad",) if kind_of(name) == "backward" else ()) + (main,) \
        + (("alpha",) if "alpha" in text else ())


def array_inputs(name: str) -> tuple[str, ...]:
    """:func:`inputs` less ``alpha``."""
    return tuple(n for n in inputs(name) if n != "alpha")


def has_alpha(name: str) -> bool:
    return inputs(name)[-1] == "alpha"


# ----------------------------------------------------------------------------- NumPy and peers

#: SELU's constants as Python floats: a float32 array times one stays float32 (NEP 50).
NUMPY_CONSTANTS: dict[str, float] = {
    "scale": float(SELU_SCALE_DECIMAL),
    "sas": float(SELU_SCALE_DECIMAL) * float(SELU_ALPHA_DECIMAL),
}
_NUMPY = {"where": np.where, "exp": np.exp, "expm1": np.expm1}


def compile_function(name: str, namespace: dict[str, Any], text: str | None = None) -> Callable:
    """``text`` (default: the whole function) as a real function of :func:`inputs`, whose
    globals are ``namespace`` (``where``/``exp``/``expm1`` of some library) and the constants --
    as cheap to call as the lambda a user would write."""
    params = ", ".join(inputs(name))
    body = expression(name) if text is None else text
    return eval(f"lambda {params}: {body}",  # noqa: S307 - our own table
                {"__builtins__": {}, **NUMPY_CONSTANTS, **namespace})


def numpy_function(name: str) -> Callable:
    """Plain NumPy ``name``, evaluated in the inputs' dtype (Python-float constants)."""
    return compile_function(name, _NUMPY)


def numpy_label(name: str) -> str:
    """The NumPy expression as a user writes it, e.g. ``np.where(x < 0, ..., x)``."""
    import re

    return re.sub(r"\b(where|expm1|exp)\(", r"np.\1(", expression(name))


def numpy_reference(name: str, args: Sequence[Any]) -> np.ndarray:
    """The float64 NumPy value of ``name(*args)`` (``args`` in :func:`inputs` order)."""
    args64 = [np.asarray(a, dtype=np.float64) for a in args]
    with np.errstate(all="ignore"):
        return np.asarray(numpy_function(name)(*args64), dtype=np.float64)


def numpy_branches(name: str) -> tuple[Callable, Callable, Callable]:
    """``(test, then, otherwise)`` of a non-backward ``name`` as NumPy functions of its inputs,
    to evaluate each element on its own branch only (as a scalar formula does)."""
    if kind_of(name) == "backward":
        raise ValueError(f"{name} is grad * {derivative_of(name)}: take that one's branches")
    row = FORMULAS[name]
    return tuple(compile_function(name, _NUMPY, part)       # type: ignore[return-value]
                 for part in (row.test, row.then, row.otherwise))


# ----------------------------------------------------------------------------- mpmath


@functools.cache
def _code(name: str) -> tuple[Any, Any, Any]:
    """A non-backward row's three parts, compiled once (mpmath evaluates them per element)."""
    row = FORMULAS[name]
    return tuple(compile(part, f"<reference {name}>", "eval")   # type: ignore[return-value]
                 for part in (row.test, row.then, row.otherwise))


def mpmath_value(name: str, values: Sequence[Any], prec: int = 120):
    """The value of ``name`` at ``values`` (floats or mpf, :func:`inputs` order) in mpmath,
    at ``prec`` bits: an ``mpf``."""
    import mpmath

    _check(name)
    with mpmath.workprec(prec):
        scale = mpmath.mpf(SELU_SCALE_DECIMAL)
        namespace = {"exp": mpmath.exp, "expm1": mpmath.expm1, "scale": scale,
                     "sas": scale * mpmath.mpf(SELU_ALPHA_DECIMAL)}
        args = dict(zip(inputs(name), (mpmath.mpf(v) for v in values), strict=True))
        test, then, otherwise = _code(derivative_of(name))
        scope = {"__builtins__": {}, **namespace, **args}
        value = mpmath.mpf(eval(then if eval(test, scope) else otherwise, scope))  # noqa: S307
        return args["grad"] * value if kind_of(name) == "backward" else value
