"""Helpers of the ufunc-protocol tests (``tests/test_ufunc_*.py``): float64 references, inputs,
and NumPy's own rules (result dtype, a NumPy ufunc with the same loops) to compare with."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from helpers import args_by_role

import numelu
from numelu._functions import BY_NAME
from numelu._reference import numpy_reference

# Hypothesis imports libcst to suggest a patch when a property fails; under this project's
# ``filterwarnings = error`` a DeprecationWarning from that import turns the failure report
# into an INTERNALERROR.  Import it once here, quietly (every tests/test_ufunc_*.py imports this).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:  # pragma: no cover - libcst absent: nothing to pre-import
        pass

NAMES = [spec.name for spec in numelu.FUNCTIONS]
BINARY = [name for name in NAMES if BY_NAME[name].nin == 2]
WITH_ALPHA = [name for name in NAMES if BY_NAME[name].has_alpha]
FLOATS = ("e", "f", "d")
REPO = Path(numelu.__file__).resolve().parent.parent
#: above the threaded loop's chunk and the "auto" thresholds, not a multiple of a SIMD width
LARGE = 100_003


def reference(name, *inputs, dtype):
    """The float64 NumPy value of ``name`` for inputs first cast to the loop type ``dtype``."""
    return numpy_reference(name, [np.asarray(v).astype(dtype) for v in inputs])


def assert_matches(got, name, *inputs, dtype=None):
    """``got`` equals the float64 reference to a few ulp of its own dtype (shape too)."""
    got = np.asarray(got)
    dtype = np.dtype(got.dtype if dtype is None else dtype)
    assert got.dtype == dtype
    ref = reference(name, *inputs, dtype=dtype)
    assert got.shape == ref.shape
    eps = float(np.finfo(dtype).eps)
    scale = 1.0
    for value in inputs:
        finite = np.abs(np.asarray(value, dtype=np.float64))
        finite = finite[np.isfinite(finite)]
        scale *= 1.0 + (finite.max() if finite.size else 0.0)
    np.testing.assert_allclose(got.astype(np.float64), ref, rtol=4 * eps, atol=4 * eps * scale,
                               equal_nan=True, err_msg=f"{name} {dtype}")


def data(name, shape=(37,), dtype="d", seed=0, shapes=None):
    """Inputs for ``name`` (values in each input's natural range, zeros included in x/y)."""
    rng = np.random.default_rng(seed)
    sizes = iter([shape] * BY_NAME[name].nin if shapes is None else shapes)

    def uniform(low, high, zeros=False):
        def draw():
            values = rng.uniform(low, high, next(sizes))
            if zeros:
                values.flat[:: max(1, values.size // 5)] = 0.0
            return values.astype(dtype)
        return draw

    return args_by_role(name, data=uniform(-6.0, 4.0, zeros=True), grad=uniform(-3.0, 3.0),
                        alpha=uniform(0.25, 3.0))


def scalar_inputs(name, dtype="d", n=37, alpha=0.75, seed=0):
    """Array inputs with a Python-float ``alpha`` (the common case)."""
    inputs = data(name, (n,), dtype, seed)
    if BY_NAME[name].has_alpha:
        inputs[-1] = alpha
    return inputs


_PY = (bool, int, float)
_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2}


def expected_dtype(*inputs):
    """NumPy's result dtype for a ufunc whose loops are e, f, d (NEP 50 weak Python scalars).

    The first loop every input casts to safely; a Python scalar constrains the choice only
    where it is of a higher category than every array/NumPy-scalar input (then it counts as
    its promoted dtype).  Checked against np.exp and np.arctan2 in
    ``test_expected_dtype_rule_is_numpys``.
    """
    strong = [np.asarray(v).dtype for v in inputs if type(v) not in _PY]
    top = max((_CATEGORY[d.kind] for d in strong), default=-1)
    needed = list(strong)
    for value in inputs:
        if type(value) in _PY:
            promoted = np.result_type(value, *strong)
            if _CATEGORY[promoted.kind] > top:
                needed.append(promoted)
    for char in FLOATS:
        if all(np.can_cast(d, char, "safe") for d in needed):
            return np.dtype(char)
    return None


def numpy_twin(nin):
    """A NumPy ufunc with the same loop set (e, f, d) and arity, where there is one."""
    return {1: np.exp, 2: np.arctan2}.get(nin)


def outcome(function, *args, **kwargs):
    """(result or exception type, warning categories) of a call."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - compared with NumPy's
            result = type(error)
    return result, sorted({w.category.__name__ for w in caught})
