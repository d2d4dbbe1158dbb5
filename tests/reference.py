"""The float64 NumPy formulas of SPEC section 1, written independently of numelu's code.

The one reference the CUDA tests (in-process and the simulator subprocess script) compare with.
The SELU constants are spelled out from the paper, not imported from numelu.
"""

from __future__ import annotations

import numpy as np

SCALE = 1.0507009873554804934193349852946
ALPHA = 1.6732632423543772848170429916717


def kind_of(name: str) -> str:
    """``"forward"``, ``"derivative"``, ``"from_output"`` or ``"backward"``, from the name."""
    for suffix in ("_backward", "_from_output", "_derivative"):
        if name.endswith(suffix):
            return suffix[1:]
    return "forward"


def reference(name: str, args) -> np.ndarray:
    """``name(*args)`` in float64 NumPy (``*_backward`` = grad times the derivative)."""
    args = [np.asarray(a, dtype=np.float64) for a in args]
    with np.errstate(all="ignore"):
        if name.endswith("_backward"):
            return args[0] * reference(name.replace("_backward", "_derivative"), args[1:])
        x = args[0]
        a = args[1] if len(args) > 1 else None
        return {
            "elu": lambda: np.where(x < 0, a * np.expm1(x), x),
            "selu": lambda: SCALE * np.where(x < 0, ALPHA * np.expm1(x), x),
            "celu": lambda: np.where(x < 0, a * np.expm1(x / a), x),
            "elu_derivative": lambda: np.where(x > 0, 1.0, a * np.exp(x)),
            "selu_derivative": lambda: np.where(x > 0, SCALE, SCALE * ALPHA * np.exp(x)),
            "celu_derivative": lambda: np.where(x > 0, 1.0, np.exp(x / a)),
            "elu_derivative_from_output": lambda: np.where(x > 0, 1.0, x + a),
            "selu_derivative_from_output": lambda: np.where(x > 0, SCALE, x + SCALE * ALPHA),
            "celu_derivative_from_output": lambda: np.where(x > 0, 1.0, x / a + 1.0),
        }[name]()
