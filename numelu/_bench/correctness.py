"""Whether a contender's result is the value of the function it is timed for (checked before
timing, against the float64 NumPy reference)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from numelu._bench.cases import ALPHA, Case
from numelu._bench.contenders import Contender
from numelu._reference import has_alpha, numpy_reference

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
    alpha = (ALPHA,) if has_alpha(case.function) else ()
    expected = numpy_reference(case.function, [*(a[part] for a in arrays), *alpha])
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
