"""docs/contract.md §4: every public function behaves like a NumPy ufunc.

Every case is checked against NumPy itself: values against a float64 NumPy formula, shapes,
dtypes, layouts and errors against a real NumPy ufunc with the same loop set (``np.exp`` for one
input, ``np.arctan2`` for two: both have float16/float32/float64 loops) and, for three inputs,
against NumPy's type-resolution rule (itself checked against ``np.exp``/``np.arctan2`` below).

Every value test runs through the dispatcher on every CPU target and directly on the genuine
``.cpu`` and ``.parallel`` ufuncs (the ``route`` fixture).
"""

from __future__ import annotations

import itertools
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import ROUTES, args_by_role, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numelu
from numelu._reference import numpy_reference
from numelu._table import BY_NAME

# Hypothesis imports libcst to suggest a patch when a property fails; under this project's
# ``filterwarnings = error`` a DeprecationWarning from that import turns the failure report
# into an INTERNALERROR.  Import it once here, quietly.
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

# --------------------------------------------------------------------------- helpers


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


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", NAMES)
def test_values_contiguous(route, name, dtype):
    inputs = scalar_inputs(name, dtype)
    assert_matches(run(route, name, *inputs), name, *inputs, dtype=dtype)
    arrays = data(name, (37,), dtype, seed=1)
    assert_matches(run(route, name, *arrays), name, *arrays, dtype=dtype)


@pytest.mark.parametrize("dtype", ["f", "d"])
@pytest.mark.parametrize("name", NAMES)
def test_values_large_arrays_threaded_path(route, name, dtype):
    """Above the threaded chunk and the auto threshold: contiguous, scalar and array alpha."""
    inputs = scalar_inputs(name, dtype, n=LARGE)
    assert_matches(run(route, name, *inputs), name, *inputs, dtype=dtype)
    arrays = data(name, (LARGE,), dtype, seed=2)
    assert_matches(run(route, name, *arrays), name, *arrays, dtype=dtype)


@pytest.mark.parametrize("name", NAMES)
def test_default_alpha_is_one(target, name):
    inputs = scalar_inputs(name, alpha=1.0)
    if BY_NAME[name].has_alpha:
        assert_matches(getattr(numelu, name)(*inputs[:-1], target=target), name, *inputs)
    else:
        assert_matches(getattr(numelu, name)(*inputs, target=target), name, *inputs)


# --------------------------------------------------------------------------- broadcasting


@pytest.mark.parametrize("name", NAMES)
def test_broadcasting_between_all_inputs(route, name):
    shapes = [(4, 1, 5), (3, 1), (5,)][: BY_NAME[name].nin]
    inputs = data(name, shapes=shapes)
    result = run(route, name, *inputs)
    assert result.shape == np.broadcast_shapes(*shapes)
    assert_matches(result, name, *inputs)
    inputs = data(name, shapes=[(3, 1), (4, 1, 5), (1, 5)][: BY_NAME[name].nin], dtype="f")
    assert_matches(run(route, name, *inputs), name, *inputs)


@pytest.mark.parametrize("name", WITH_ALPHA)
def test_per_channel_alpha(route, name):
    """An (C, 1, 1) alpha against (N, C, H, W) data: one alpha per channel."""
    rng = np.random.default_rng(3)
    inputs = [v.reshape(2, 3, 4, 5) for v in data(name, (120,), "f")[:-1]]
    alpha = rng.uniform(0.5, 2.0, (3, 1, 1)).astype(np.float32)
    result = run(route, name, *inputs, alpha)
    assert result.shape == (2, 3, 4, 5) and result.dtype == np.float32
    assert_matches(result, name, *inputs, alpha)
    for channel in range(3):   # the same as a scalar alpha per channel
        per = [v[:, channel] for v in inputs]
        expected = run(route, name, *per, alpha[channel, 0, 0])
        np.testing.assert_array_equal(result[:, channel], expected)


@pytest.mark.parametrize("name", NAMES)
def test_broadcast_stride_zero_inputs(route, name):
    inputs = [np.broadcast_to(v[:5], (7, 5)) for v in data(name, (5,))]
    assert_matches(run(route, name, *inputs), name, *inputs)


# --------------------------------------------------------------------------- scalars, lists


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["python", "float64", "float32", "float16", "0d"])
def test_scalar_inputs_give_numpy_scalars(route, name, kind):
    """All-scalar (or 0-d) inputs give a NumPy scalar of the dtype np.exp/np.arctan2 give."""
    raw = [float(v[1]) for v in data(name, (4,), seed=5)]
    make = {"python": float, "float64": np.float64, "float32": np.float32,
            "float16": np.float16, "0d": np.array}[kind]
    inputs = [make(v) for v in raw]
    result = run(route, name, *inputs)
    dtype = expected_dtype(*inputs)
    assert isinstance(result, np.generic) and not isinstance(result, np.ndarray)
    assert result.dtype == dtype
    twin = numpy_twin(len(inputs))
    if twin is not None:
        assert type(result) is type(twin(*inputs))
    assert_matches(result, name, *inputs)


@pytest.mark.parametrize("name", NAMES)
def test_zero_d_input_like_np_exp(route, name):
    inputs = [np.array(v[0]) for v in data(name, (1,), seed=6)]
    result = run(route, name, *inputs)
    assert type(result) is np.float64
    out = np.empty(())
    returned = run(route, name, *inputs, out=out)
    assert returned is out and out.shape == ()
    assert_matches(out, name, *inputs)


@pytest.mark.parametrize("name", NAMES)
def test_nested_lists(route, name):
    inputs = [v.reshape(2, 3).tolist() for v in data(name, (6,))]
    result = run(route, name, *inputs)
    assert type(result) is np.ndarray and result.shape == (2, 3) and result.dtype == np.float64
    assert_matches(result, name, *[np.array(v) for v in inputs])


def test_mixed_python_and_array_inputs(route):
    x = data("elu_backward", (6,), "f")
    result = run(route, "elu_backward", 2, x[1], 0.5)     # Python int grad, Python float alpha
    assert result.dtype == np.float32
    assert_matches(result, "elu_backward", np.float32(2), x[1], np.float32(0.5))
    result = run(route, "elu_backward", [1.0, 2.0], np.float32(-0.5), 1.5)
    assert result.dtype == np.float64 and result.shape == (2,)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shapes", [[(0,)], [(3, 0)], [(0,), (1,)], [(3, 1), (0,)],
                                    [(2, 0, 4), (4,)]])
def test_empty_arrays(route, name, shapes):
    nin = BY_NAME[name].nin
    shapes = (shapes * 3)[:nin]
    inputs = [np.zeros(s, dtype="f") for s in shapes]
    result = run(route, name, *inputs)
    assert result.shape == np.broadcast_shapes(*shapes) and result.dtype == np.float32
    out = np.empty(result.shape, dtype=np.float64)
    assert run(route, name, *inputs, out=out) is out


# --------------------------------------------------------------------------- out=


@pytest.mark.parametrize("name", NAMES)
def test_out_array_tuple_and_positional(route, name):
    inputs = scalar_inputs(name)
    expected = run(route, name, *inputs)
    for how in ("keyword", "tuple", "positional"):
        out = np.full(37, np.nan)
        if how == "keyword":
            returned = run(route, name, *inputs, out=out)
        elif how == "tuple":
            returned = run(route, name, *inputs, out=(out,))
        else:
            returned = run(route, name, *inputs, out)
        assert returned is out, how
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("name", NAMES)
def test_out_none_and_none_tuple_allocate(route, name):
    inputs = scalar_inputs(name)
    expected = run(route, name, *inputs)
    np.testing.assert_array_equal(run(route, name, *inputs, out=None), expected)
    np.testing.assert_array_equal(run(route, name, *inputs, out=(None,)), expected)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", NAMES)
def test_in_place_on_every_array_input(route, name, dtype):
    for position in range(BY_NAME[name].nin):
        inputs = data(name, (41,), dtype, seed=position)
        originals = [v.copy() for v in inputs]
        target_array = inputs[position]
        returned = run(route, name, *inputs, out=target_array)
        assert returned is target_array
        assert_matches(target_array, name, *originals)


@pytest.mark.parametrize("name", NAMES)
def test_in_place_large(route, name):
    inputs = scalar_inputs(name, "f", n=LARGE)
    original = inputs[0].copy()
    run(route, name, *inputs, out=inputs[0])
    assert_matches(inputs[0], name, original, *inputs[1:])


@pytest.mark.parametrize("shift", [1, -1, 3])
@pytest.mark.parametrize("name", NAMES)
def test_out_overlapping_an_input(route, name, shift):
    """``out`` overlapping the first input, shifted: the result is as if there were no overlap."""
    n = 50
    for position in range(BY_NAME[name].nin):
        inputs = data(name, (n + abs(shift),), seed=7)
        base = inputs[position]
        if shift > 0:
            view, out = base[shift:], base[:-shift]
        else:
            view, out = base[:shift], base[-shift:]
        inputs = [v[: n] for v in inputs]
        inputs[position] = view
        copies = [v.copy() for v in inputs]
        expected = run(route, name, *copies)
        run(route, name, *inputs, out=out)
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("n", [11, 64, LARGE])
@pytest.mark.parametrize("name", NAMES)
def test_strided_and_reversed_out_with_contiguous_inputs(route, name, n):
    """The fault of Numba's own ufunc loops (docs/design.md, Numba's ufuncs) must not be here."""
    for dtype in ("f", "d"):
        inputs = scalar_inputs(name, dtype, n=n)
        for step in (2, -1, -3):
            z = np.full(n * abs(step), -7.0, dtype=dtype)
            view = z[::step] if step > 0 else z[::step][:n]
            returned = run(route, name, *inputs, out=view)
            assert returned is view
            assert_matches(view, name, *inputs, dtype=dtype)
            untouched = np.ones(z.shape, bool)
            untouched[np.arange(z.size)[::step][:n]] = False
            assert (z[untouched] == -7.0).all(), f"wrote outside out (step {step})"
        arrays = data(name, (n,), dtype, seed=8)        # array alpha, strided out
        z = np.full(2 * n, -7.0, dtype=dtype)
        run(route, name, *arrays, out=z[::2])
        assert_matches(z[::2], name, *arrays, dtype=dtype)
        assert (z[1::2] == -7.0).all()


@pytest.mark.parametrize("name", NAMES)
def test_fortran_and_transposed_out(route, name):
    inputs = [v.reshape(6, 7) for v in data(name, (42,))]
    out = np.zeros((7, 6)).T
    assert run(route, name, *inputs, out=out) is out
    assert_matches(out, name, *inputs)


# --------------------------------------------------------------------------- where=


@pytest.mark.parametrize("name", NAMES)
def test_where_with_out_keeps_untouched_elements(route, name):
    inputs = data(name, (3, 37))
    mask = np.random.default_rng(9).random(37) < 0.5       # broadcast against (3, 37)
    out = np.full((3, 37), -7.0)
    returned = run(route, name, *inputs, out=out, where=mask)
    assert returned is out
    full = reference(name, *inputs, dtype="d")
    np.testing.assert_allclose(out[:, mask], full[:, mask], rtol=1e-14, atol=1e-14)
    assert (out[:, ~mask] == -7.0).all()
    out[...] = -7.0
    run(route, name, *inputs, out=out, where=False)
    assert (out == -7.0).all()
    run(route, name, *inputs, out=out, where=True)
    assert_matches(out, name, *inputs)


@pytest.mark.parametrize("name", NAMES)
def test_where_without_out_like_numpy(route, name):
    """Only the selected elements are defined; NumPy's warning (if any) is the same."""
    inputs = scalar_inputs(name, n=40)
    mask = np.arange(40) % 3 == 0
    twin = numpy_twin(min(BY_NAME[name].nin, 2))
    _, numpy_warnings = outcome(twin, *inputs[:2], where=mask)
    result, our_warnings = outcome(run, route, name, *inputs, where=mask)
    assert our_warnings == numpy_warnings
    assert_matches(np.asarray(result)[mask], name, *[np.asarray(v)[mask] if np.ndim(v) else v
                                                     for v in inputs])
    # out=None given explicitly: NumPy's documented way to say "uninitialised is intended"
    _, numpy_warnings = outcome(twin, *inputs[:2], where=mask, out=None)
    result, our_warnings = outcome(run, route, name, *inputs, where=mask, out=None)
    assert our_warnings == numpy_warnings == []


@pytest.mark.parametrize("name", NAMES)
def test_where_large_strided(route, name):
    inputs = scalar_inputs(name, "f", n=LARGE)
    mask = np.random.default_rng(10).random(LARGE) < 0.7
    z = np.full(2 * LARGE, -7.0, dtype=np.float32)
    run(route, name, *inputs, out=z[::2], where=mask)
    selected = [np.asarray(v)[mask] if np.ndim(v) else v for v in inputs]
    assert_matches(z[::2][mask], name, *selected, dtype="f")
    assert (z[::2][~mask] == -7.0).all() and (z[1::2] == -7.0).all()


# --------------------------------------------------------------------------- dtype=, casting=


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, "f4", "d"])
@pytest.mark.parametrize("name", NAMES)
def test_dtype_keyword(route, name, dtype):
    for source in ("f", "d"):
        inputs = scalar_inputs(name, source)
        result = run(route, name, *inputs, dtype=dtype)
        twin = numpy_twin(min(BY_NAME[name].nin, 2))
        assert result.dtype == twin(*inputs[:2], dtype=dtype).dtype == np.dtype(dtype)
        assert_matches(result, name, *inputs)


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.complex128, object])
@pytest.mark.parametrize("name", NAMES)
def test_dtype_keyword_without_a_loop_errors_like_numpy(route, name, dtype):
    inputs = scalar_inputs(name)
    twin = numpy_twin(min(BY_NAME[name].nin, 2))
    if dtype in (np.complex128, object):   # np.exp/arctan2 have complex/object loops: we don't
        with pytest.raises(TypeError):
            run(route, name, *inputs, dtype=dtype)
        return
    expected, _ = outcome(twin, *inputs[:2], dtype=dtype)
    assert isinstance(expected, type) and issubclass(expected, Exception)
    with pytest.raises(expected):
        run(route, name, *inputs, dtype=dtype)


CASTINGS = ("no", "equiv", "safe", "same_kind", "unsafe")


@pytest.mark.parametrize("casting", CASTINGS)
def test_casting_like_arctan2(route, casting):
    x32 = np.linspace(-3, 3, 8, dtype=np.float32)
    x64 = x32.astype(np.float64)
    cases = [
        ((x32, 0.5), {}), ((x32, np.float64(0.5)), {}), ((x32, np.full(8, 0.5)), {}),
        ((x32, np.float32(0.5)), {}), ((x64, 0.5), {"dtype": np.float32}),
        ((x32, 0.5), {"dtype": np.float64}), ((x64, 0.5), {"out": np.empty(8, np.float32)}),
        ((x32, 0.5), {"out": np.empty(8, np.float64)}), ((x64, 0.5), {"out": np.empty(8, int)}),
        ((x64, 0.5), {"dtype": np.float16}),
    ]
    for args, kwargs in cases:
        expected, _ = outcome(np.arctan2, *args, casting=casting, **_fresh(kwargs))
        got, _ = outcome(run, route, "elu", *args, casting=casting, **_fresh(kwargs))
        _assert_same_outcome(got, expected, (args, kwargs, casting))


@pytest.mark.parametrize("casting", CASTINGS)
def test_casting_like_exp(route, casting):
    x32 = np.linspace(-3, 3, 8, dtype=np.float32)
    x64 = x32.astype(np.float64)
    cases = [((x32,), {}), ((x64,), {"dtype": np.float32}), ((x32,), {"dtype": np.float64}),
             ((x64,), {"out": np.empty(8, np.float32)}), ((np.arange(8),), {}),
             ((np.arange(8, dtype=np.int8),), {"dtype": np.float16})]
    for args, kwargs in cases:
        expected, _ = outcome(np.exp, *args, casting=casting, **_fresh(kwargs))
        got, _ = outcome(run, route, "selu", *args, casting=casting, **_fresh(kwargs))
        _assert_same_outcome(got, expected, (args, kwargs, casting))


def _fresh(kwargs):
    return {k: (np.empty_like(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}


def _assert_same_outcome(got, expected, context):
    if isinstance(expected, type):
        assert got is expected or (isinstance(got, type) and issubclass(got, expected)), context
    else:
        assert not isinstance(got, type), (context, got)
        assert got.dtype == expected.dtype and got.shape == expected.shape, context


def test_casting_no_errors_with_numpys_exception(route):
    x32 = np.ones(4, np.float32)
    expected, _ = outcome(np.arctan2, x32, np.float64(2.0), casting="no")
    assert issubclass(expected, TypeError)
    with pytest.raises(expected):
        run(route, "elu", x32, np.float64(2.0), casting="no")
    with pytest.raises(expected):
        run(route, "elu_backward", x32, x32, np.float64(2.0), casting="no")
    expected, _ = outcome(np.exp, np.ones(4), dtype=np.float32, casting="no")
    with pytest.raises(expected):
        run(route, "selu", np.ones(4), dtype=np.float32, casting="no")


# --------------------------------------------------------------------------- order=, layouts


@pytest.mark.parametrize("order", ["C", "F", "A", "K"])
@pytest.mark.parametrize("name", NAMES)
def test_order_like_numpy(route, name, order):
    base = [v.reshape(5, 6) for v in data(name, (30,))]
    for layout in ("C", "F", "mixed"):
        if layout == "C":
            inputs = base
        elif layout == "F":
            inputs = [np.asfortranarray(v) for v in base]
        else:
            inputs = [np.asfortranarray(base[0]), *base[1:]]
        result = run(route, name, *inputs, order=order)
        if len(inputs) == 3:   # no 3-input NumPy ufunc: NumPy's iterator via the genuine one
            expected = getattr(numelu, name).cpu(*inputs, order=order)
        else:
            expected = numpy_twin(len(inputs))(*inputs, order=order)
        assert result.flags.c_contiguous == expected.flags.c_contiguous, (layout, order)
        assert result.flags.f_contiguous == expected.flags.f_contiguous, (layout, order)
        assert_matches(result, name, *inputs)


@pytest.mark.parametrize("name", NAMES)
def test_non_contiguous_negative_strides_fortran(route, name):
    big = [v.reshape(8, 9, 10) for v in data(name, (720,))]
    views = {
        "slices": lambda v: v[1::2, ::3, 2:7],
        "negative": lambda v: v[::-1, ::-2, ::-3],
        "fortran": np.asfortranarray,
        "transposed": lambda v: v.transpose(2, 0, 1),
        "mixed": lambda v: v[::-2, 1:, ::2].T,
    }
    for label, make in views.items():
        inputs = [make(v) for v in big]
        result = run(route, name, *inputs)
        assert_matches(result, name, *inputs)
        if label == "negative":   # one input reversed, the others contiguous
            mixed = [np.ascontiguousarray(v) for v in inputs]
            mixed[0] = inputs[0]
            assert_matches(run(route, name, *mixed), name, *mixed)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [">f8", ">f4", ">f2", "<f8"])
def test_non_native_byte_order(route, name, dtype):
    inputs = [v.astype(dtype) for v in data(name, (40,))]
    result = run(route, name, *inputs)
    twin = np.exp if len(inputs) == 1 else np.arctan2
    assert result.dtype == twin(*inputs[:2]).dtype
    assert result.dtype.isnative
    assert_matches(result, name, *inputs)
    out = np.zeros(40, dtype=">f8")
    run(route, name, *inputs, out=out)
    np.testing.assert_array_equal(out, result)


def test_unaligned_input(route):
    raw = np.zeros(8 * 21 + 1, dtype=np.uint8)
    x = raw[1:].view(np.float64)
    x[:] = np.linspace(-3, 3, 21)
    assert not x.flags.aligned
    assert_matches(run(route, "elu", x, 0.5), "elu", x, 0.5)
    out = raw[1:].view(np.float64)
    run(route, "elu", x.copy(), 0.5, out=out)
    assert_matches(out, "elu", np.linspace(-3, 3, 21), 0.5)


# --------------------------------------------------------------------------- NEP 50 / dtypes


def test_expected_dtype_rule_is_numpys():
    """The rule used for three inputs gives exactly np.exp's and np.arctan2's dtypes."""
    samples = []
    for char in "?bBhHiIlLefd":
        samples += [np.zeros(2, char), np.zeros((), char)[()]]
    samples += [True, 1, 1.0]
    for twin, nin in ((np.exp, 1), (np.arctan2, 2)):
        for args in itertools.product(samples, repeat=nin):
            assert twin(*args).dtype == expected_dtype(*args), args


_DTYPE_SAMPLES = ["?", "i1", "u1", "i2", "u2", "i4", "i8", "u8", "e", "f", "d"]


def _typed_inputs(name, kinds):
    inputs = []
    for role, kind in zip(BY_NAME[name].inputs, kinds, strict=True):
        value = 1 if role == "alpha" else 2
        if kind == "py":
            inputs.append(value)
        elif kind == "pyfloat":
            inputs.append(float(value))
        else:
            values = np.array([value, 0, 1], dtype=np.float64)
            if role == "alpha":
                values = np.array([1, 1, 2])
            inputs.append(values.astype(kind))
    return inputs


@pytest.mark.parametrize("name", NAMES)
def test_result_dtypes_like_numpy(route, name):
    """Every combination of input dtypes (arrays, Python scalars) resolves as NumPy does."""
    nin = BY_NAME[name].nin
    kinds = _DTYPE_SAMPLES + ["py", "pyfloat"]
    twin = numpy_twin(nin)
    rng = np.random.default_rng(11)
    combos = list(itertools.product(kinds, repeat=nin))
    if len(combos) > 200:
        combos = [combos[i] for i in rng.choice(len(combos), 200, replace=False)]
    for combo in combos:
        if all(kind in ("py", "pyfloat") for kind in combo):
            continue
        inputs = _typed_inputs(name, combo)
        result = run(route, name, *inputs)
        expected = expected_dtype(*inputs)
        assert result.dtype == expected, combo
        if twin is not None:
            assert result.dtype == twin(*inputs).dtype, combo
        assert_matches(result, name, *inputs)


def test_nep50_examples(route):
    x32 = np.linspace(-3, 3, 7, dtype=np.float32)
    assert run(route, "elu", x32, 0.5).dtype == np.float32          # Python float: weak
    assert run(route, "elu", x32, np.full(7, 0.5)).dtype == np.float64   # float64 array: upcast
    assert run(route, "elu", x32, np.float64(0.5)).dtype == np.float64   # NumPy scalar: strong
    assert run(route, "elu", x32, np.float32(0.5)).dtype == np.float32
    x16 = x32.astype(np.float16)
    result = run(route, "elu", x16, 0.5)
    assert result.dtype == np.float16
    # computed in float32 and rounded once: within 1 ulp of the correctly rounded value
    exact = reference("elu", x16, 0.5, dtype="e")
    ulp = np.abs(np.spacing(exact.astype(np.float16))).astype(np.float64)
    assert np.all(np.abs(result.astype(np.float64) - exact) <= ulp)
    assert run(route, "selu", np.arange(5, dtype=np.int8)).dtype == np.exp(np.int8(1)).dtype
    assert run(route, "selu", np.arange(5, dtype=np.int32)).dtype == np.float64
    assert run(route, "selu", np.arange(5, dtype=np.int64)).dtype == np.float64
    assert run(route, "selu", np.array([True, False])).dtype == np.exp(np.array([True])).dtype
    assert run(route, "elu", np.arange(5, dtype=np.int8), 0.5).dtype == \
        np.arctan2(np.arange(5, dtype=np.int8), 0.5).dtype


def test_longdouble_input_like_a_ufunc_without_that_loop(route):
    """No float128 loop: NumPy refuses to cast it down (a TypeError), as it would for us."""
    x = np.linspace(-1, 1, 5).astype(np.longdouble)
    if np.dtype(np.longdouble) == np.dtype(np.float64):
        pytest.skip("longdouble is float64 here")
    with pytest.raises(TypeError):
        run(route, "elu", x, 0.5)


# --------------------------------------------------------------------------- outer


@pytest.mark.parametrize("name", BINARY)
def test_outer(route, name):
    a = data(name, (2, 3), seed=12)[0]
    alpha = np.array([0.5, 1.0, 2.5, 3.0])
    if route.startswith("ufunc."):
        result = getattr(getattr(numelu, name), route.split(".")[1]).outer(a, alpha)
    else:
        result = getattr(numelu, name).outer(a, alpha, target=route)
    assert result.shape == np.arctan2.outer(a, alpha).shape == (2, 3, 4)
    assert_matches(result, name, a[..., None], alpha)
    out = np.empty((2, 3, 4))
    getattr(numelu, name).outer(a, alpha, out=out)
    np.testing.assert_array_equal(out, result)


@pytest.mark.parametrize("name", [n for n in NAMES if BY_NAME[n].nin != 2])
def test_outer_non_binary_errors_like_numpy(name):
    expected, _ = outcome(np.exp.outer, [1.0], [2.0])
    function = getattr(numelu, name)
    args = [[1.0]] * BY_NAME[name].nin
    with pytest.raises(expected):
        function.outer(*args)
    with pytest.raises(expected):
        function.cpu.outer(*args)


@pytest.mark.parametrize("count", [0, 1, 3, 4])
@pytest.mark.parametrize("name", NAMES)
def test_outer_argument_count_errors_like_numpy(name, count):
    """``outer`` takes exactly two arrays, as ``np.ldexp.outer`` (a binary ufunc) does: NumPy's
    own TypeError for any other count, whatever the extra arguments hold (a complex one is not
    read); a function that is not binary gives NumPy's ValueError first, as ``np.exp.outer``."""
    args = [np.ones(2)] * (count - 1) + [np.ones(2, complex)] if count else []
    reference = np.ldexp if BY_NAME[name].nin == 2 else np.exp
    with pytest.raises(Exception) as expected:
        reference.outer(*args)
    with pytest.raises(type(expected.value)) as got:
        getattr(numelu, name).outer(*args)
    assert str(got.value) == str(expected.value)
    with pytest.raises(type(expected.value)):
        getattr(numelu, name).cpu.outer(*args)


# --------------------------------------------------------------------------- attributes


@pytest.mark.parametrize("name", NAMES)
def test_attributes(name, spec):
    function = getattr(numelu, name)
    twin = numpy_twin(spec.nin)
    assert function.__name__ == name
    assert function.nin == spec.nin and function.nout == 1 and function.nargs == spec.nin + 1
    assert function.types == ["e" * spec.nin + "->e", "f" * spec.nin + "->f",
                              "d" * spec.nin + "->d"]
    assert function.ntypes == 3 == len(function.types)
    assert function.identity is None
    if twin is not None:
        assert function.identity == twin.identity
        assert function.nargs == twin.nargs and function.nout == twin.nout
    doc = function.__doc__
    assert spec.math in doc
    assert ">>>" in doc and f"numelu.{name}(" in doc
    assert "Parameters" in doc and all(role in doc for role in spec.inputs)
    assert name in repr(function)
    for genuine in (function.cpu, function.parallel):
        assert isinstance(genuine, np.ufunc)
        assert genuine.__name__ == name
        assert genuine.types == function.types
        assert genuine.nin == function.nin and genuine.nout == 1
        assert genuine.nargs == function.nargs and genuine.ntypes == function.ntypes
        assert genuine.identity is None and genuine.signature is None
        assert name in repr(genuine)
        assert spec.math in genuine.__doc__
    assert function.cpu is function.cpu and function.cpu is not function.parallel


def test_doc_examples_run():
    """The example in every docstring prints what it claims."""
    for name in NAMES:
        doc = getattr(numelu, name).__doc__
        lines = doc.split("Examples", 1)[1].splitlines()
        call = next(line[4:] for line in lines if line.startswith(">>> numelu."))
        shown = "\n".join(lines[lines.index(">>> " + call) + 1:]).strip()
        claimed = eval(shown, {"array": np.array})
        got = eval(call, {"numelu": numelu, "np": np})
        np.testing.assert_allclose(got, claimed, rtol=5e-8, atol=5e-9, err_msg=name)


def test_public_names():
    assert set(NAMES) <= set(numelu.__all__)
    for name in NAMES:
        assert numelu.FUNCTIONS_BY_NAME[name] is getattr(numelu, name)


# --------------------------------------------------------------------------- pickling


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip_in_process(name, protocol):
    function = getattr(numelu, name)
    for obj in (function, function.cpu, function.parallel):
        assert pickle.loads(pickle.dumps(obj, protocol=protocol)) is obj


def _subprocess_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@pytest.mark.slow
def test_pickle_round_trip_in_fresh_subprocess(tmp_path):
    """Pickled here, unpickled and called in a new interpreter (as Dask/multiprocessing do)."""
    names = ["elu", "selu", "celu_backward"]
    objects = []
    for name in names:
        function = getattr(numelu, name)
        objects += [(name, "dispatcher", function), (name, "cpu", function.cpu),
                    (name, "parallel", function.parallel)]
    inputs = {name: scalar_inputs(name, n=9) for name in names}
    payload = pickle.dumps([(name, kind, obj, inputs[name]) for name, kind, obj in objects])
    (tmp_path / "in.pkl").write_bytes(payload)
    code = (
        "import pickle, sys\n"
        "items = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "import numpy as np, numelu\n"
        "results = []\n"
        "for name, kind, obj, args in items:\n"
        "    expected = getattr(numelu, name) if kind == 'dispatcher' else "
        "getattr(getattr(numelu, name), kind)\n"
        "    assert obj is expected, (name, kind)\n"
        "    results.append(obj(*args))\n"
        "open(sys.argv[2], 'wb').write(pickle.dumps(results))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "in.pkl"),
                           str(tmp_path / "out.pkl")], capture_output=True, text=True,
                          timeout=300, env=_subprocess_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    results = pickle.loads((tmp_path / "out.pkl").read_bytes())
    for (name, _kind, _obj), result in zip(objects, results, strict=True):
        assert_matches(result, name, *inputs[name])


# --------------------------------------------------------------------------- properties


def _layout(draw, values):
    """``values`` as a view with random steps (negative too), maybe Fortran-ordered."""
    if values.ndim == 0:
        return values.copy()
    steps = [draw(st.sampled_from([1, 1, 2, 3, -1, -2])) for _ in values.shape]
    base_shape = tuple(max(1, n * abs(s)) for n, s in zip(values.shape, steps, strict=True))
    base = np.zeros(base_shape, dtype=values.dtype)
    view = base[tuple(slice(None, None, s) for s in steps)]
    view = view[tuple(slice(0, n) for n in values.shape)]
    if draw(st.booleans()):
        view = np.asfortranarray(view)
    view[...] = values
    return view


@st.composite
def call_cases(draw, name):
    spec = BY_NAME[name]
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=spec.nin, min_dims=0,
                                                    max_dims=4, max_side=5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    inputs = []
    for role, shape in zip(spec.inputs, shapes.input_shapes, strict=True):
        python_ok = role == "alpha" and shape == ()   # a Python float has no shape
        kind = draw(st.sampled_from(["e", "f", "d", "d", "python"] if python_ok
                                    else ["e", "f", "d", "d"]))
        if role == "alpha":
            values = rng.uniform(0.25, 3.0, shape)
        elif role == "grad":
            values = rng.uniform(-3.0, 3.0, shape)
        else:
            values = rng.uniform(-8.0, 5.0, shape) * (rng.random(shape) < 0.9)
        if kind == "python":
            inputs.append(float(rng.uniform(0.25, 3.0)))
        else:
            inputs.append(_layout(draw, np.asarray(values, dtype=kind)))
    return inputs, shapes.result_shape


_PROPERTY = settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("route", ROUTES)
@_PROPERTY
@given(case=st.data())
def test_property_matches_float64_reference(route, case):
    name = case.draw(st.sampled_from(NAMES))
    inputs, shape = case.draw(call_cases(name))
    result = run(route, name, *inputs)
    assert np.shape(result) == shape
    assert np.asarray(result).dtype == expected_dtype(*inputs)
    assert_matches(result, name, *inputs)


@pytest.mark.parametrize("route", ROUTES)
@_PROPERTY
@given(case=st.data())
def test_property_strided_out_and_where(route, case):
    name = case.draw(st.sampled_from(NAMES))
    inputs, shape = case.draw(call_cases(name))
    dtype = expected_dtype(*inputs)
    out = _layout(case.draw, np.full(shape, -7.0, dtype=dtype))
    use_where = case.draw(st.booleans())
    mask = np.random.default_rng(0).random(shape) < 0.5 if use_where else True
    returned = run(route, name, *inputs, out=out, where=mask)
    assert returned is out
    mask = np.broadcast_to(mask, shape)
    selected = [np.broadcast_to(np.asarray(v, dtype=np.float64), shape)[mask] for v in inputs]
    assert_matches(np.asarray(out)[mask], name, *selected, dtype=dtype)
    assert (np.asarray(out)[~mask] == -7.0).all()


@pytest.mark.parametrize("route", ROUTES)
@_PROPERTY
@given(case=st.data())
def test_property_in_place(route, case):
    name = case.draw(st.sampled_from(NAMES))
    inputs, shape = case.draw(call_cases(name))
    candidates = [i for i, v in enumerate(inputs)
                  if isinstance(v, np.ndarray) and v.shape == shape
                  and v.dtype == expected_dtype(*inputs)]
    if not candidates:
        return
    position = case.draw(st.sampled_from(candidates))
    originals = [v.copy() if isinstance(v, np.ndarray) else v for v in inputs]
    run(route, name, *inputs, out=inputs[position])
    assert_matches(inputs[position], name, *originals)


# --------------------------------------------------------------------------- cache hygiene


@pytest.mark.slow
def test_loops_cached_by_different_processes_do_not_mix(tmp_path):
    """Kernels compiled into one on-disk cache by separate processes stay distinct.

    Numba names a compiled function by its qualified name plus a per-process counter; two
    closures with the same qualified name compiled by two processes can get the same symbol,
    and a third process loading both from the cache then runs one kernel in place of the other.
    """
    env = _subprocess_env()
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "cache")
    for name in ("elu", "selu"):
        done = subprocess.run([sys.executable, "-c", f"import numelu; numelu.{name}.cpu"],
                              capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
    code = (
        "import numpy as np, numelu\n"
        "x = np.linspace(-3, 3, 7)\n"
        "for dtype in ('e', 'f', 'd'):\n"
        "    xs = x.astype(dtype)\n"
        "    print(repr(numelu.elu.cpu(xs, np.array(0.5, dtype)).tolist()))\n"
        "    print(repr(numelu.selu.cpu(xs).tolist()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.split("\n")
    x = np.linspace(-3, 3, 7)
    for i, dtype in enumerate(FLOATS):
        xs = x.astype(dtype)
        assert_matches(np.array(eval(lines[2 * i]), dtype=dtype), "elu", xs, 0.5)
        assert_matches(np.array(eval(lines[2 * i + 1]), dtype=dtype), "selu", xs)


# --------------------------------------------------------------------------- > 2**31 elements


def _available_memory_bytes() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@pytest.mark.slow
@pytest.mark.skipif(_available_memory_bytes() < 40 * 2**30,
                    reason="needs ~20 GiB free memory (runs on a large machine)")
@pytest.mark.parametrize("route", ["cpu", "parallel", "ufunc.cpu", "ufunc.parallel"])
def test_more_than_2_31_elements(route):
    """Indices past 2**31 (int32 overflow) are computed, in place and into a new array."""
    n = 2**31 + 37
    x = np.full(n, -1.0, dtype=np.float32)
    probe = np.array([0, 1, 2**31 - 2, 2**31 - 1, 2**31, 2**31 + 1, n - 1])
    x[probe] = np.linspace(-3, 2, probe.size, dtype=np.float32)
    expected = reference("elu", x[probe], 0.5, dtype="f")
    result = run(route, "elu", x, 0.5)
    assert_matches(result[probe], "elu", x[probe], 0.5)
    del result
    run(route, "elu", x, 0.5, out=x)
    np.testing.assert_allclose(x[probe], expected, rtol=4e-7)
    np.testing.assert_allclose(x[n // 2], 0.5 * np.expm1(-1.0), rtol=4e-7)
