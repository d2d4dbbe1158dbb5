"""docs/contract.md §4: the ufunc methods ``outer``, ``reduce``, ``accumulate``, ``reduceat``,
``at``.

Every public function has them, as a NumPy ufunc does.  Checked against NumPy itself:

* values against NumPy's own method on an object ufunc (``np.frompyfunc``) whose every step is
  one scalar call of the genuine compiled ufunc: NumPy decides the order of the steps (the
  running result first, left to right; ``reduceat``'s slices; ``at``'s repeated indices), the
  compiled formula each step's value;
* dtypes, scalars and errors against a real NumPy ufunc with the same loop set (``np.arctan2``
  for two inputs, ``np.exp`` for one), and against the genuine ``.cpu`` ufunc (three inputs);
* other libraries' arrays (Dask, xarray) as NumPy's ufuncs treat them.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from ufunc_helpers import BINARY, NAMES, assert_matches, data, outcome

import numelu
from numelu._functions import BY_NAME, FUNCTIONS

UNARY = [spec.name for spec in FUNCTIONS if spec.nin == 1]
TERNARY = [spec.name for spec in FUNCTIONS if spec.nin == 3]
FOLDS = ("reduce", "accumulate", "reduceat")
#: positive, so that every alpha rule holds and the values stay finite along a chain
DATA = st.floats(0.25, 4.0) | st.floats(-4.0, -0.25)


def stepwise(name: str) -> np.ufunc:
    """An object ufunc whose every step is one call of the genuine compiled ufunc."""
    ufunc = getattr(numelu, name).cpu
    return np.frompyfunc(lambda a, b: ufunc(a, b), 2, 1)


def as_objects(array: np.ndarray) -> np.ndarray:
    """``array``'s elements as NumPy scalars of its dtype (``astype(object)`` would make them
    Python floats, that is float64)."""
    objects = np.empty(array.shape, dtype=object)
    objects.ravel()[:] = list(array.ravel())
    return objects


def assert_identical(result, expected, dtype) -> None:
    expected = np.asarray(expected).astype(dtype)
    assert np.asarray(result).dtype == dtype
    np.testing.assert_array_equal(result, expected)


def message(call) -> tuple[type, str]:
    with pytest.raises(Exception) as error:
        call()
    return type(error.value), str(error.value)


# --------------------------------------------------------------------------- values


def fold_case(data, name, dtype, array):
    array = array.astype(dtype)
    axis = data.draw(st.integers(-array.ndim, array.ndim - 1))
    indices = data.draw(st.lists(st.integers(0, array.shape[axis] - 1), min_size=1, max_size=5))
    return getattr(numelu, name), stepwise(name), array, axis, indices


FOLD_CASES = dict(
    name=st.sampled_from(BINARY), dtype=st.sampled_from(["float32", "float64"]),
    array=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                     elements=DATA),
    data=st.data())


@settings(max_examples=60, deadline=None)
@given(**FOLD_CASES)
def test_accumulate_steps_as_numpy_steps(name, dtype, array, data):
    """``accumulate`` along any axis gives what NumPy's own method gives with the genuine
    ufunc as each step: same values bit for bit, same dtype, same shape.  (Values only: a
    chain may overflow, which both report.)"""
    function, reference, array, axis, _ = fold_case(data, name, dtype, array)
    with np.errstate(all="ignore"):
        assert_identical(function.accumulate(array, axis=axis),
                         reference.accumulate(as_objects(array), axis=axis), dtype)


@settings(max_examples=60, deadline=None)
@given(**FOLD_CASES)
def test_reduce_and_reduceat_step_as_numpy_steps(name, dtype, array, data):
    """``reduce`` and ``reduceat`` likewise."""
    function, reference, array, axis, indices = fold_case(data, name, dtype, array)
    objects = as_objects(array)
    with np.errstate(all="ignore"):
        assert_identical(function.reduce(array, axis=axis),
                         reference.reduce(objects, axis=axis), dtype)
        assert_identical(function.reduceat(array, indices, axis=axis),
                         reference.reduceat(objects, indices, axis=axis), dtype)


def test_reduce_of_three_elements():
    """A reduction is a chain: ``elu(elu(-1, 1), -1)`` (the loops once computed every step
    from the first element, as an in-place call)."""
    x = np.array([-1.0, 1.0, -1.0])
    assert numelu.elu.reduce(x) == numelu.elu(numelu.elu(-1.0, 1.0), -1.0)


def test_reduce_runs_the_genuine_ufuncs_reduce():
    """The dispatcher's reduce is the genuine ufunc's: same values."""
    x = np.linspace(-2.0, 1.5, 24).reshape(2, 3, 4)
    for axis in (0, 1, 2, -1):
        np.testing.assert_array_equal(numelu.celu.reduce(x, axis=axis),
                                      numelu.celu.cpu.reduce(x, axis=axis))
        np.testing.assert_array_equal(numelu.celu.reduceat(x, [1, 0, 1], axis=axis),
                                      numelu.celu.cpu.reduceat(x, [1, 0, 1], axis=axis))


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(BINARY), dtype=st.sampled_from(["float32", "float64"]),
       array=hnp.arrays(np.float64, st.integers(1, 12), elements=DATA),
       data=st.data())
def test_at_steps_as_numpy_steps(name, dtype, array, data):
    """``at`` with repeated indices and a scalar or per-index second input: NumPy's order."""
    array = array.astype(dtype)
    indices = data.draw(st.lists(st.integers(-array.size, array.size - 1), max_size=8))
    second = data.draw(st.sampled_from([0.5, "array"]))
    if second == "array":
        second = np.linspace(0.5, 2.0, len(indices)).astype(dtype)
    got = array.copy()
    assert getattr(numelu, name).at(got, indices, second) is None
    # NumPy's ``at`` takes ``b`` as np.asarray(b) (a Python float is a float64 there, not a
    # weak scalar) and casts each result back to ``a``'s dtype
    operand = np.asarray(second)
    ufunc, cast = getattr(numelu, name).cpu, array.dtype.type
    expected = as_objects(array)
    if operand.ndim:
        np.frompyfunc(lambda a, b: cast(ufunc(a, b)), 2, 1).at(expected, indices,
                                                              as_objects(operand))
    else:
        np.frompyfunc(lambda a: cast(ufunc(a, operand[()])), 1, 1).at(expected, indices)
    assert_identical(got, expected, dtype)


@pytest.mark.parametrize("name", UNARY)
def test_at_of_a_one_input_function(name):
    x = np.linspace(-3, 3, 7)
    got, expected = x.copy(), x.copy()
    getattr(numelu, name).at(got, [0, 0, 5])
    for index in [0, 0, 5]:
        expected[index] = getattr(numelu, name).cpu(expected[index])
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("target", ["auto", "cpu", "parallel"])
def test_long_accumulate_is_one_chain_on_every_target(target):
    """Each step of a fold needs the one before: a run far longer than the threaded loop's chunk
    is still one chain, whatever the target."""
    x = np.linspace(-2.0, -0.5, 100_003)
    with np.errstate(over="ignore"):
        expected = stepwise("celu").accumulate(as_objects(x))
    # the chain overflows at its sixth step (celu(-1.03e42, -1.99994)), as NumPy reports
    with pytest.warns(RuntimeWarning, match="overflow"):
        result = numelu.celu.accumulate(x, target=target)
    np.testing.assert_array_equal(result, expected.astype(np.float64))


@pytest.mark.parametrize("dtype", ["?", "b", "h", "i", "l", "e", "f", "d"])
@pytest.mark.parametrize("name", BINARY)
def test_result_types_like_arctan2(name, dtype):
    """NumPy's type resolution, as for ``np.arctan2`` (the same float16/32/64 loops): integer
    and bool inputs cast as NumPy casts them, a NumPy scalar for a whole reduction."""
    x = np.array([1, 2, 1, 3]).astype(dtype)
    function = getattr(numelu, name)
    for method, args in [("reduce", ()), ("accumulate", ()), ("reduceat", ([0, 2],))]:
        got = getattr(function, method)(x, *args)
        expected = getattr(np.arctan2, method)(x, *args)
        assert type(got) is type(expected) and got.dtype == expected.dtype
        assert np.shape(got) == np.shape(expected)
    got = function.reduce(x.reshape(2, 2), axis=1, keepdims=True)
    assert got.shape == (2, 1) and got.dtype == np.arctan2.reduce(x.reshape(2, 2), axis=1).dtype


def test_keywords_reach_numpy():
    """Positional and keyword arguments as NumPy's methods take them: the genuine ufunc's
    result for each."""
    x = np.linspace(-2.0, -0.5, 12).reshape(3, 4)
    genuine = numelu.elu.cpu
    out = np.empty(4)
    assert numelu.elu.reduce(x, 0, None, out) is out
    np.testing.assert_array_equal(out, genuine.reduce(x, 0))
    where = np.array([True, False, True, True])
    for kwargs in [{"axis": 1, "initial": -1.0}, {"axis": 1, "dtype": np.float32},
                   {"axis": 0, "initial": -0.5, "where": where}, {"axis": 1, "keepdims": True}]:
        got = numelu.elu.reduce(array=x, **kwargs)
        expected = genuine.reduce(x, **kwargs)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    out = np.empty_like(x)
    assert numelu.elu.accumulate(x, 1, np.float64, out) is out
    np.testing.assert_array_equal(out, genuine.accumulate(x, axis=1))


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("name", UNARY + TERNARY)
@pytest.mark.parametrize("method", FOLDS)
def test_folds_of_functions_that_are_not_binary_error_like_numpy(name, method):
    """``np.exp.reduce`` says "reduce only supported for binary functions": the same error, for
    one input and for three, whatever the array holds (it is not read)."""
    args = ([1.0, 2.0], [0]) if method == "reduceat" else ([1.0, 2.0],)
    expected = message(lambda: getattr(np.exp, method)(*args))
    assert expected[0] is ValueError
    assert message(lambda: getattr(getattr(numelu, name), method)(*args)) == expected
    complex_args = (np.ones(2, complex), *args[1:])
    assert message(lambda: getattr(getattr(numelu, name), method)(*complex_args)) == expected


@pytest.mark.parametrize("name", BINARY)
def test_fold_errors_like_arctan2(name):
    """No identity, not reorderable: NumPy's errors, as for ``np.arctan2``."""
    function = getattr(numelu, name)
    cases = [
        ("reduce", (np.ones(0),), {}),
        ("reduce", (np.ones((2, 2)),), {"axis": None}),
        ("reduce", (np.ones(3),), {"where": np.array([True, False, True])}),
        ("reduce", (np.ones(3),), {"axis": 1}),
        ("reduce", (), {}),
        ("accumulate", (np.ones(3), 0, None, np.empty(2)), {}),
        ("reduceat", (np.ones(3), [5]), {}),
        ("reduce", (np.ones(3),), {"dtype": np.complex128}),
    ]
    for method, args, kwargs in cases:
        kind, text = message(lambda m=method, a=args, k=kwargs: getattr(np.arctan2, m)(*a, **k))
        got = message(lambda m=method, a=args, k=kwargs: getattr(function, m)(*a, **k))
        assert got == (kind, text.replace("arctan2", name)), (method, kwargs)


def test_at_errors_like_numpy():
    x = np.ones(3)
    assert (message(lambda: numelu.elu.at(x, [0]))
            == message(lambda: np.arctan2.at(x, [0])))            # second operand needed
    assert (message(lambda: numelu.selu.at(x, [0], 1.0))
            == message(lambda: np.exp.at(x, [0], 1.0)))           # provided when unary
    for name in TERNARY:
        function = getattr(numelu, name)
        assert (message(lambda: function.at(x, [0], 1.0))          # noqa: B023
                == message(lambda: function.cpu.at(x, [0], 1.0)))  # noqa: B023


@pytest.mark.parametrize("dtype", ["complex128", "object", "U3", "datetime64[s]"])
@pytest.mark.parametrize("name", BINARY)
def test_bad_dtypes_are_numelus_type_error(name, dtype):
    """docs/contract.md §6, as for a call: a TypeError naming the function and the dtype; nothing
    written."""
    bad = np.zeros(3, dtype=dtype)
    function = getattr(numelu, name)
    for method, args in [("reduce", ()), ("accumulate", ()), ("reduceat", ([0],))]:
        with pytest.raises(TypeError, match=rf"numelu\.{name}: input 'array' has .*{re.escape(str(bad.dtype))}"):
            getattr(function, method)(bad, *args)
    with pytest.raises(TypeError, match=rf"numelu\.{name}: input 'array' has"):
        function.reduce(array=bad)
    x = np.linspace(-1, 1, 3)
    before = x.copy()
    with pytest.raises(TypeError, match=rf"numelu\.{name}: input '{BY_NAME[name].inputs[1]}'"):
        function.at(x, [0, 1], bad[:2])
    with pytest.raises(TypeError, match=rf"numelu\.{name}: input '{BY_NAME[name].inputs[0]}'"):
        function.at(bad, [0], 1.0)
    np.testing.assert_array_equal(x, before)


def test_scalar_alpha_rules_hold_for_at_and_outer():
    """A bad scalar alpha is a ValueError, as for a call (celu: alpha != 0; the *_from_output
    forms: alpha >= 0), before anything is written."""
    x = np.linspace(-1, 1, 3)
    before = x.copy()
    with pytest.raises(ValueError, match="alpha != 0"):
        numelu.celu.at(x, [0], 0.0)
    with pytest.raises(ValueError, match="alpha >= 0"):
        numelu.elu_derivative_from_output.at(x, [0], -1.0)
    with pytest.raises(ValueError, match="alpha != 0"):
        numelu.celu.outer(x, 0.0)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("method", ["reduce", "accumulate", "reduceat", "at", "outer"])
def test_target_argument(method):
    x = np.linspace(-1, 1, 4)
    args = {"reduceat": (x, [0]), "at": (x.copy(), [0], 0.5), "outer": (x, x)}.get(method, (x,))
    with pytest.raises(ValueError, match="valid targets are auto, cpu, parallel, cuda"):
        getattr(numelu.elu, method)(*args, target="gpu")
    with pytest.raises(NotImplementedError, match=f"numelu.elu.{method} runs on the CPU only"):
        getattr(numelu.elu, method)(*args, target="cuda")
    with numelu.config(target="cuda"):
        with pytest.raises(NotImplementedError):
            getattr(numelu.elu, method)(*args)


class Recorder(np.lib.mixins.NDArrayOperatorsMixin):
    """An array type with its own ``__array_ufunc__``: records the ufunc and method handed over."""

    calls: list = []

    def __init__(self, values):
        self.values = np.asarray(values, dtype=float)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        Recorder.calls.append((ufunc, method))
        unwrapped = [v.values if isinstance(v, Recorder) else v for v in inputs]
        return getattr(ufunc, method)(*unwrapped, **kwargs)


@pytest.mark.parametrize("target", ["auto", "cpu", "parallel"])
def test_other_array_types_get_the_genuine_ufunc(target):
    """An ``__array_ufunc__`` input gets the genuine ufunc's method, as NumPy hands it its own:
    the threaded one where ``target="parallel"`` asks for it, except for the folds (a chain)."""
    Recorder.calls = []
    x = Recorder([-1.0, 0.5, -2.0])
    numelu.elu.outer(x, [1.0, 2.0], target=target)
    numelu.elu.at(x, [0], 0.5, target=target)
    for method in ("reduce", "accumulate"):
        getattr(numelu.elu, method)(x, target=target)
    numelu.elu.reduceat(x, [0, 1], target=target)
    chosen = numelu.elu.parallel if target == "parallel" else numelu.elu.cpu
    assert Recorder.calls == [(chosen, "outer"), (chosen, "at"), (numelu.elu.cpu, "reduce"),
                              (numelu.elu.cpu, "accumulate"), (numelu.elu.cpu, "reduceat")]


# --------------------------------------------------------------------------- Dask, xarray


def _outcome(call):
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - compared with NumPy's
        return type(error)


@pytest.mark.parametrize("name", BINARY)
def test_dask_arrays_as_numpys_ufuncs_get_them(name):
    """``np.ldexp.outer(dask_array, x)`` is a lazy Dask array: so is ``outer`` here, computed
    chunk by chunk by the genuine ufunc; Dask refuses the other methods for NumPy's ufuncs
    (``np.arctan2.reduce(dask_array)`` is a TypeError) and for these alike."""
    da = pytest.importorskip("dask.array")
    x = np.linspace(-2.0, 2.0, 6)
    lazy = da.from_array(x, chunks=4)
    function = getattr(numelu, name)
    assert isinstance(np.ldexp.outer(lazy, np.arange(3)), da.Array)
    for args in [(lazy, x[:4]), (x[:4], lazy), (lazy.reshape(2, 3), lazy), (lazy, 0.5)]:
        result = function.outer(*args)
        assert isinstance(result, da.Array)
        expected = function.cpu.outer(*[np.asarray(a) for a in args])
        assert result.shape == expected.shape and result.dtype == expected.dtype
        np.testing.assert_array_equal(result.compute(), expected)
    assert function.outer(lazy, x, dtype=np.float32).compute().dtype == np.float32
    assert _outcome(lambda: function.outer(lazy, x, out=np.empty((6, 6)))) is _outcome(
        lambda: np.arctan2.outer(lazy, x, out=np.empty((6, 6))))
    for method, args in [("reduce", ()), ("accumulate", ()), ("reduceat", ([0, 2],)),
                         ("at", ([0], 1.0))]:
        expected = _outcome(lambda: getattr(np.arctan2, method)(lazy, *args))  # noqa: B023
        assert expected is TypeError
        assert _outcome(lambda: getattr(function, method)(lazy, *args)) is expected  # noqa: B023


def test_xarray_as_numpys_ufuncs_get_it():
    """xarray supports only ``__call__`` for NumPy's ufuncs: the same refusal here."""
    xr = pytest.importorskip("xarray")
    array = xr.DataArray(np.linspace(-2.0, 2.0, 4))
    for method, args in [("outer", (array, np.ones(2))), ("reduce", (array,)),
                         ("accumulate", (array,))]:
        expected = _outcome(lambda: getattr(np.arctan2, method)(*args))  # noqa: B023
        assert expected is NotImplementedError
        assert _outcome(lambda: getattr(numelu.elu, method)(*args)) is expected  # noqa: B023


@pytest.mark.parametrize("target", ["cpu", "parallel"])
def test_long_folds_of_the_genuine_ufuncs_are_chains(target):
    """Runs longer than a thread chunk: ``reduce`` and ``accumulate`` of ``.cpu`` and
    ``.parallel`` are the chain a Python loop of scalar calls gives (the threaded loop must not
    split them), bit for bit, and a genuine overflow inside the chain is reported."""
    from numelu._loops import PARALLEL_CHUNK

    ufunc = getattr(numelu.elu_derivative_from_output, target)
    rng = np.random.default_rng(7)
    x = rng.uniform(0.0, 1.0, 2 * PARALLEL_CHUNK + 5)
    expected = [x[0]]
    for value in x[1:]:
        expected.append(float(numelu.elu_derivative_from_output.cpu(expected[-1], value)))
    np.testing.assert_array_equal(ufunc.accumulate(x), expected)
    assert ufunc.reduce(x) == expected[-1]
    big = np.full(PARALLEL_CHUNK * 2 + 5, -0.5)
    big[0], big[1] = -1e308, -1e308          # y + alpha = -2e308: overflow, then -inf + a
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        ufunc.reduce(big)


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
