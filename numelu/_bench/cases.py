"""What is benchmarked: the grid of cases (function, data, dtype, size) and their seeded inputs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from numelu._reference import array_inputs, has_alpha, numpy_function

SEED = 20_240_601
#: The ``alpha`` every benchmark passes to the functions that take one (the common default).
ALPHA = 1.0
SIZES = (10**2, 10**4, 10**6, 10**7)
DTYPES = ("float32", "float64")
#: ``normal``: standard normal input, half negative, so the branch is unpredictable;
#: ``negative``: the same values made non-positive, so every element takes the exp branch.
DATA = ("normal", "negative")
#: The functions benchmarked unless asked otherwise.
DEFAULT_FUNCTIONS = ("elu", "selu", "elu_derivative", "elu_backward")
QUICK_SIZES = (10**2, 10**4, 10**6)


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
    from numelu._functions import FUNCTIONS

    return tuple(spec.name for spec in FUNCTIONS)


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
