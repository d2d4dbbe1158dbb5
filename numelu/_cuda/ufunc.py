"""``numelu.<name>.cuda``: the genuine ``@vectorize(target="cuda")`` ufunc of a function.

float32, float64 and, where numba-cuda can compile it, float16 computed in float32, built on
first use.  It needs a real GPU: Numba's simulator cannot run it (numba issue 7505).
"""

from __future__ import annotations

from numelu._cuda import availability
from numelu._cuda.math_overloads import widen


def ufunc_body(spec):
    args = ", ".join(f"a{k}" for k in range(spec.nin))
    widened = ", ".join(f"widen(a{k})" for k in range(spec.nin))
    source = f"def {spec.name}({args}):\n    return formula({widened})\n"
    namespace = {"formula": spec.formula, "widen": widen}
    exec(compile(source, f"<numelu.{spec.name}.cuda>", "exec"), namespace)
    body = namespace[spec.name]
    body.__doc__ = spec.formula.__doc__
    return body


def ufunc_signatures(spec, float16: bool = True) -> list[str]:
    """The ``@vectorize`` signatures of ``numelu.<name>.cuda``."""
    types = ("float16", "float32", "float64") if float16 else ("float32", "float64")
    return [f"{t}({', '.join([t] * spec.nin)})" for t in types]


def cuda_ufunc(spec):
    """``numelu.<name>.cuda``: the genuine ``@vectorize(target="cuda")`` ufunc, built now."""
    if availability.simulating():
        raise RuntimeError(
            f"numelu.{spec.name}.cuda: Numba's CUDA simulator cannot build "
            "@vectorize(target='cuda') ufuncs (numba issue 7505); "
            f"use numelu.{spec.name}(..., target='cuda'), which runs under the simulator")
    availability.require(f"{spec.name}.cuda")
    from numba import vectorize

    body = ufunc_body(spec)
    try:
        return vectorize(ufunc_signatures(spec), target="cuda")(body)
    except Exception:  # noqa: BLE001 - float16 needs cc >= 5.3 and a recent numba-cuda
        return vectorize(ufunc_signatures(spec, float16=False), target="cuda")(body)
