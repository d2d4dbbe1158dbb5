"""The table of numelu's public functions: every target and every test is generated from it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


def _scalar():
    """``numelu.scalar``, imported on first use: it imports Numba, which the precompiled CPU
    path never needs."""
    return importlib.import_module("numelu.scalar")


@dataclass(frozen=True)
class FunctionSpec:
    """One public function: its inputs, the text of its formula and the checks on its scalar
    parameter; the formula itself is ``numelu.scalar.<name>``."""

    name: str
    inputs: tuple[str, ...]
    math: str
    #: What an element costs, which picks the parallel threshold (``_config.DEFAULT_THRESHOLDS``):
    #: "exp" (an exponential) or "cheap" (a few flops).
    cost: str = "exp"
    alpha_rule: str | None = None  # None | "nonzero" | "nonnegative" | "positive" (scalar alpha)
    #: The branch taken for a negative x (or y) divides it by alpha: with alpha == 0 (inside an
    #: array alpha) that is a division by zero, reported as NumPy reports it (``_loops``).
    divides_by_alpha: bool = False
    example: str = ""
    #: What the user must know beyond the formula (the docstring's Notes section).
    notes: str = ""

    @property
    def formula(self) -> Callable:
        """The scalar formula, ``numelu.scalar.<name>``."""
        return getattr(_scalar(), self.name)

    @property
    def fast(self) -> Callable:
        """What the compiled CPU loops run: ``formula`` itself, or a fast twin of it that may
        return inf early (CELU's ``x / alpha`` past exp's range, for a negative alpha), whose
        non-finite results from finite inputs the loops compute again with ``formula``."""
        return _scalar().FAST.get(self.name, self.formula)

    @property
    def fast_positive_alpha(self) -> Callable | None:
        """A faster twin for a loop over one positive alpha, where there is one (CELU's: its
        ``x / alpha`` is never positive there), else None; its non-finite results are looked at
        again as :attr:`fast`'s are."""
        return _scalar().FAST_POSITIVE_ALPHA.get(self.name)

    @property
    def exact(self) -> Callable | None:
        """``formula`` where :attr:`fast` is a twin that needs a second look, else None."""
        return self.formula if self.name in _scalar().FAST else None

    @property
    def kind(self) -> str:
        """The old name of :attr:`cost`."""
        return self.cost

    @property
    def nin(self) -> int:
        return len(self.inputs)

    @property
    def has_alpha(self) -> bool:
        return self.inputs[-1] == "alpha"


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("elu", ("x", "alpha"),
                 "alpha * expm1(x) if x < 0 else x",
                 example=">>> numelu.elu([-1.0, 0.0, 2.0], 1.0)\narray([-0.63212056,  0.        ,  2.        ])"),
    FunctionSpec("selu", ("x",),
                 "SELU_SCALE * (SELU_ALPHA * expm1(x) if x < 0 else x)",
                 example=">>> numelu.selu([-1.0, 0.0, 2.0])\narray([-1.11133074,  0.        ,  2.10140197])"),
    FunctionSpec("celu", ("x", "alpha"),
                 "alpha * expm1(x / alpha) if x < 0 else x", alpha_rule="nonzero",
                 divides_by_alpha=True,
                 example=">>> numelu.celu([-1.0, 0.0, 2.0], 2.0)\narray([-0.78693868,  0.        ,  2.        ])"),
    FunctionSpec("elu_derivative", ("x", "alpha"),
                 "1 if x > 0 else alpha * exp(x)",
                 example=">>> numelu.elu_derivative([-1.0, 0.0, 2.0], 1.0)\narray([0.36787944, 1.        , 1.        ])"),
    FunctionSpec("selu_derivative", ("x",),
                 "SELU_SCALE if x > 0 else SELU_SCALE * SELU_ALPHA * exp(x)",
                 example=">>> numelu.selu_derivative([-1.0, 0.0, 2.0])\narray([0.6467686 , 1.75809934, 1.05070099])"),
    FunctionSpec("celu_derivative", ("x", "alpha"),
                 "1 if x > 0 else exp(x / alpha)", alpha_rule="nonzero",
                 divides_by_alpha=True,
                 example=">>> numelu.celu_derivative([-1.0, 0.0, 2.0], 2.0)\narray([0.60653066, 1.        , 1.        ])"),
    FunctionSpec("elu_derivative_from_output", ("y", "alpha"),
                 "1 if y > 0 else y + alpha", cost="cheap", alpha_rule="nonnegative",
                 notes="Needs ``alpha >= 0``.  Exact where ``y + alpha`` is; returns 0 once ``y`` "
                       "has rounded to ``-alpha`` (x below about -17.3 in float32, -37.4 in "
                       "float64, for alpha = 1), where ``elu_derivative(x)`` still has its true "
                       "tiny value.",
                 example=">>> numelu.elu_derivative_from_output([-0.5, 0.0, 2.0], 1.0)\narray([0.5, 1. , 1. ])"),
    FunctionSpec("selu_derivative_from_output", ("y",),
                 "SELU_SCALE if y > 0 else y + SELU_SCALE * SELU_ALPHA", cost="cheap",
                 notes="Returns 0 once ``y`` has rounded to ``-SELU_SCALE*SELU_ALPHA`` (very "
                       "negative x).",
                 example=">>> numelu.selu_derivative_from_output([-1.0, 0.0, 2.0])\narray([0.75809934, 1.75809934, 1.05070099])"),
    FunctionSpec("celu_derivative_from_output", ("y", "alpha"),
                 "1 if y > 0 else y / alpha + 1", cost="cheap", alpha_rule="positive",
                 notes="Needs ``alpha > 0``.  Returns 0 once ``y`` has rounded to ``-alpha`` "
                       "(very negative x).",
                 divides_by_alpha=True,
                 example=">>> numelu.celu_derivative_from_output([-0.5, 0.0, 2.0], 2.0)\narray([0.75, 1.  , 1.  ])"),
    FunctionSpec("elu_backward", ("grad", "x", "alpha"),
                 "grad * (1 if x > 0 else alpha * exp(x))",
                 example=">>> numelu.elu_backward([2.0, 2.0], [-1.0, 3.0], 1.0)\narray([0.73575888, 2.        ])"),
    FunctionSpec("selu_backward", ("grad", "x"),
                 "grad * (SELU_SCALE if x > 0 else SELU_SCALE * SELU_ALPHA * exp(x))",
                 example=">>> numelu.selu_backward([2.0, 2.0], [-1.0, 3.0])\narray([1.29353721, 2.10140197])"),
    FunctionSpec("celu_backward", ("grad", "x", "alpha"),
                 "grad * (1 if x > 0 else exp(x / alpha))", alpha_rule="nonzero",
                 divides_by_alpha=True,
                 example=">>> numelu.celu_backward([2.0, 2.0], [-1.0, 3.0], 2.0)\narray([1.21306132, 2.        ])"),
)

BY_NAME = {spec.name: spec for spec in FUNCTIONS}
