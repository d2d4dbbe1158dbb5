"""The NumPy reference: each function's formula written once, and plain NumPy made from it.

``EXPRESSIONS`` is the source that NumPy, numexpr and JAX all evaluate; :func:`numpy_function` is
the plain NumPy contender's function and :func:`reference` the float64 value every contender's
result is checked against.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from numelu.scalar import SELU_ALPHA, SELU_SCALE

#: The ``alpha`` every benchmark passes to the functions that take one (the common default).
ALPHA = 1.0


def array_inputs(function: str) -> tuple[str, ...]:
    """The names of ``function``'s array inputs (its inputs less ``alpha``), in call order."""
    from numelu._table import BY_NAME

    return tuple(name for name in BY_NAME[function].inputs if name != "alpha")


def has_alpha(function: str) -> bool:
    from numelu._table import BY_NAME

    return BY_NAME[function].has_alpha


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
_CONSTANTS = {"scale": SELU_SCALE, "sa": SELU_ALPHA, "sas": SELU_SCALE * SELU_ALPHA}


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
