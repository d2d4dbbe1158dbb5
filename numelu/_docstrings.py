"""What ``help(numelu.<name>)`` shows: the call signature and the NumPy-style docstring.

Both are generated from the function's row in the table (``FunctionSpec``: inputs, formula
text, notes, example), so a new function documents itself; the genuine ufuncs get the same
docstring.  Nothing here imports the formulas (or Numba).
"""

from __future__ import annotations

import inspect
import textwrap

from numelu._functions import FunctionSpec


def signature(spec: FunctionSpec) -> inspect.Signature:
    """``(x, /, alpha=1.0, out=None, *, where=True, ..., target=None)``, as ``help()`` shows:
    the data inputs positional only, as a NumPy ufunc's; ``alpha`` by position or by keyword,
    as in PyTorch (the generated ``__call__``, ``_fast_path``, takes it both ways)."""
    Parameter = inspect.Parameter
    inputs = [Parameter(name, Parameter.POSITIONAL_OR_KEYWORD, default=1.0) if name == "alpha"
              else Parameter(name, Parameter.POSITIONAL_ONLY) for name in spec.inputs]
    keyword = Parameter.KEYWORD_ONLY
    options = [Parameter("out", Parameter.POSITIONAL_OR_KEYWORD, default=None)]
    options += [Parameter(name, keyword, default=default) for name, default in (
        ("where", True), ("casting", "same_kind"), ("order", "K"), ("dtype", None),
        ("target", None))]
    return inspect.Signature(inputs + options)


def docstring(spec: FunctionSpec) -> str:
    """The NumPy-style docstring of ``numelu.<name>``: call form, formula, parameters, the
    notes and the example, all from the table."""
    params = {
        "x": "x : array_like\n    Input (real; integers and bool are cast as NumPy casts them).",
        "y": "y : array_like\n    The output of the forward function.",
        "grad": "grad : array_like\n    The incoming gradient (of the loss with respect to the "
                "output).",
        "alpha": "alpha : array_like, optional\n    The ELU/CELU parameter (default 1.0); a scalar "
                 "or an array broadcast against the other inputs.",
    }
    inputs = ", ".join([name for name in spec.inputs if name != "alpha"] + ["/"]
                       + (["alpha=1.0"] if spec.has_alpha else []))
    lines = [
        f"{spec.name}({inputs}, out=None, *, where=True, casting='same_kind', "
        f"order='K', dtype=None, target=None)",
        "",
        f"Elementwise ``{spec.math}``.",
        "",
        "A NumPy ufunc compiled by Numba (loops for float16, float32 and float64).",
        "",
        "Parameters",
        "----------",
        *[params[name] for name in spec.inputs],
        "out, where, casting, order, dtype\n    As for any NumPy ufunc.",
        "target : {'auto', 'cpu', 'parallel', 'cuda'}, optional\n    Where to run; 'auto' "
        "(default) picks CUDA for device arrays, threads for large arrays.",
        "",
        "Returns",
        "-------",
        "ndarray or scalar (or the caller's array type for CUDA and __array_ufunc__ inputs)",
    ]
    if spec.notes:
        lines += ["", "Notes", "-----", *textwrap.wrap(spec.notes, 92)]
    if spec.example:
        lines += ["", "Examples", "--------", ">>> import numelu", spec.example]
    return "\n".join(lines) + "\n"
