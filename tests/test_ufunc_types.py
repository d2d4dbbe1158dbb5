"""docs/contract.md §4, types and layouts: ``dtype=``, ``casting=``, ``order=``, NEP 50 result
dtypes, non-native byte order, unaligned and non-contiguous inputs -- each compared with a real
NumPy ufunc with the same loop set (``np.exp`` for one input, ``np.arctan2`` for two) or, for
three inputs, with NumPy's type-resolution rule (checked against those two here).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import run
from ufunc_helpers import (
    NAMES,
    assert_matches,
    data,
    expected_dtype,
    numpy_twin,
    outcome,
    reference,
    scalar_inputs,
)

import numelu
from numelu._functions import BY_NAME

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
