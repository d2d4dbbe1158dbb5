"""Shared test helpers: a function's arguments built role by role, the routes a call can take,
the edge inputs of docs/contract.md §2, and the hypothesis settings of the property tests."""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import numelu
from numelu._functions import BY_NAME
from numelu._reference import SELU_ALPHA_DECIMAL, SELU_SCALE_DECIMAL

_MISSING = object()


def args_by_role(name: str, *, data: Any, grad: Any = _MISSING, alpha: Any = _MISSING,
                 y: Any = _MISSING, with_alpha: bool = True) -> list:
    """``name``'s arguments in call order, each given by its input's role: ``data`` for ``x``
    (and for ``y`` unless ``y`` is given), ``grad``, ``alpha``.

    A callable value is called once per input that takes it, in call order (so random draws keep
    their order); ``with_alpha=False`` leaves ``alpha`` out (the array inputs only).
    """
    values = {"x": data, "y": data if y is _MISSING else y, "grad": grad, "alpha": alpha}
    args = []
    for role in BY_NAME[name].inputs:
        if role == "alpha" and not with_alpha:
            continue
        value = values[role]
        if value is _MISSING:
            raise TypeError(f"{name} takes {role!r}: pass {role}=")
        args.append(value() if callable(value) else value)
    return args


# --------------------------------------------------------------------------- routes

CPU_TARGETS = ("cpu", "parallel", "auto")

#: dispatcher targets (as in conftest's ``target`` fixture) + the genuine compiled ufuncs
ROUTES = ("cpu", "parallel", "auto", "ufunc.cpu", "ufunc.parallel")


def run(route: str, name: str, *args, **kwargs):
    """Call ``numelu.<name>`` through the dispatcher (a target) or a genuine ufunc."""
    function = getattr(numelu, name)
    if route.startswith("ufunc."):
        return getattr(function, route.split(".")[1])(*args, **kwargs)
    return function(*args, target=route, **kwargs)


# --------------------------------------------------------------------------- edge inputs

ALPHAS = (1.0, 0.3, 2.5)

with mpmath.workprec(200):
    _SA = mpmath.mpf(SELU_ALPHA_DECIMAL)
    _SS = mpmath.mpf(SELU_SCALE_DECIMAL)
    SELU_SCALE_ALPHA_64 = float(_SS * _SA)      # SELU_SCALE * SELU_ALPHA, rounded once
    SELU_SCALE_64 = float(_SS)


def strict():
    """No divide/overflow/invalid flag may leak out of a kernel (underflow: NumPy's default)."""
    return np.errstate(divide="raise", over="raise", invalid="raise", under="ignore")


def lenient():
    return np.errstate(all="ignore")


def alphas_for(name: str):
    return ALPHAS if BY_NAME[name].has_alpha else (None,)


def call_at(name: str, main, dtype, target: str, alpha=1.0, grad=None, size: int = 17,
            flags=lenient):
    """``name`` at ``main`` (x or y; a scalar repeated ``size`` times, or a list) in ``dtype``.

    17 elements: a vectorised body and a remainder; also run at size 1 by the callers that care.
    ``alpha`` a scalar (passed as a ``dtype`` scalar) or an array; ``grad`` 2.5 unless given.
    """
    values = np.asarray(main, dtype=np.float64)
    data = np.full(size, values, dtype) if values.ndim == 0 else values.astype(dtype)
    g = 2.5 if grad is None else grad
    args = args_by_role(
        name, data=data,
        grad=lambda: np.full(data.shape, g, dtype) if np.ndim(g) == 0 else np.asarray(g, dtype),
        alpha=lambda: dtype(alpha) if np.ndim(alpha) == 0 else np.asarray(alpha, dtype))
    with flags():
        out = getattr(numelu, name)(*args, target=target)
    assert out.dtype == dtype
    return out


def other_values():
    return (-1.0, -0.0, 0.0, 2.0, -1e4)


def very_negative(dtype, alpha: float) -> list[float]:
    """Finite x whose exact result rounds to -alpha in every dtype: exp(x/alpha) < 2**-60."""
    scale = max(1.0, abs(alpha))
    fmin = float(np.finfo(dtype).min)
    return [v for v in (-42.0 * scale, -100.0 * scale, -800.0 * scale, -1e4 * scale, -1e30,
                        -1e300, fmin, fmin / 2) if v >= fmin]


def large_positive(dtype) -> list[float]:
    info = np.finfo(dtype)
    common = [float(info.max) / 4, float(info.max) / 2]
    return {
        np.float16: [11.5, 12.0, 65504.0 / 2, *common],
        np.float32: [88.5, 88.8, 89.0, 100.0, 1e30, *common],
        np.float64: [709.5, 709.9, 710.0, 800.0, 1e300, *common],
    }[dtype]


# --------------------------------------------------------------------------- property tests

#: Hypothesis formats a failing example with libcst, whose import warns (DeprecationWarning from
#: mypy_extensions) inside pytest's reporting hook: with filterwarnings = error that turns every
#: falsified property into an INTERNALERROR instead of a readable failure (``pytestmark``).
QUIET_HYPOTHESIS_REPORTS = pytest.mark.filterwarnings(
    "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")

FLOAT_WIDTH = {np.float32: 32, np.float64: 64}
ALPHA_MIN = 1 / 16          # alpha in [1/16, 20] (bounds exact in every width hypothesis draws)


def finite_floats(dtype, **kwargs):
    return st.floats(allow_nan=False, allow_infinity=False, width=FLOAT_WIDTH[dtype], **kwargs)


PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.too_slow])
