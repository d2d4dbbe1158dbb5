"""docs/contract.md §6 (and the alpha rules of section 2): a clear error, nothing half-written.

Where NumPy has an opinion, the exception type is the one NumPy raises for the equivalent call
of a NumPy ufunc with the same loop set (``np.exp`` for one input, ``np.arctan2`` for two).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import args_by_role, run

import numelu
from numelu._functions import BY_NAME

NAMES = [spec.name for spec in numelu.FUNCTIONS]
CELU_FAMILY = ["celu", "celu_derivative", "celu_backward"]
FROM_OUTPUT_WITH_ALPHA = ["elu_derivative_from_output", "celu_derivative_from_output"]


def good_inputs(name, n=6):
    return args_by_role(name, data=np.linspace(-2, 2, n), y=np.linspace(-0.5, 2, n),
                        grad=np.linspace(1, 2, n), alpha=0.5)


def numpy_twin(nin):
    return np.exp if nin == 1 else np.arctan2


def numpy_exception(function, *args, **kwargs):
    try:
        function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return type(error)
    raise AssertionError(f"NumPy accepted {function.__name__}{args}")


# --------------------------------------------------------------------------- bad dtypes

BAD_INPUTS = {
    "complex": (np.array([1 + 1j, -1.0]), "complex"),
    "complex64": (np.array([1 + 1j, -1.0], dtype=np.complex64), "complex"),
    "python complex": (1 + 2j, "complex"),
    "object": (np.array([1.0, -1.0], dtype=object), "object"),
    "string": (np.array(["a", "b"]), "<U1"),
    "python str": ("abc", "<U3"),
    "bytes": (np.array([b"a", b"b"]), "S1"),
    "datetime": (np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]"), "datetime64"),
    "timedelta": (np.array([1, 2], dtype="timedelta64[s]"), "timedelta64"),
}


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
@pytest.mark.parametrize("name", NAMES)
def test_bad_dtype_is_a_type_error_naming_function_and_dtype(target, name, kind):
    bad, dtype_text = BAD_INPUTS[kind]
    for position in range(BY_NAME[name].nin):
        inputs = good_inputs(name, n=2)
        inputs[position] = bad
        with pytest.raises(TypeError) as error:
            getattr(numelu, name)(*inputs, target=target)
        message = str(error.value)
        assert name in message, message
        assert dtype_text in message, message


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
@pytest.mark.parametrize("name", NAMES)
def test_bad_dtype_on_the_genuine_ufuncs_is_a_type_error(name, kind):
    bad, _ = BAD_INPUTS[kind]
    inputs = good_inputs(name, n=2)
    inputs[0] = bad
    for genuine in (getattr(numelu, name).cpu, getattr(numelu, name).parallel):
        with pytest.raises(TypeError) as error:
            genuine(*inputs)
        assert name in str(error.value)


def test_bad_dtype_leaves_out_untouched(route):
    out = np.full(2, 7.0)
    with pytest.raises(TypeError):
        run(route, "elu", np.array([1 + 1j, 2.0]), 0.5, out=out)
    with pytest.raises(TypeError):
        run(route, "elu", np.array([1.0, 2.0]), np.array([1j, 1j]), out=out)
    assert (out == 7.0).all()


class LibraryArray:
    """Another library's array (Dask, xarray, pandas): a ``dtype`` and ``__array_ufunc__``,
    which here refuses everything, as a library does for a dtype it cannot handle."""

    def __init__(self, dtype):
        self.dtype = dtype

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return NotImplemented


class ExtensionDtype:
    """A dtype of another library (as pandas' ``DatetimeTZDtype``): a ``kind``, a name."""

    def __init__(self, kind, name):
        self.kind, self.name = kind, name

    def __str__(self):
        return self.name


@pytest.mark.parametrize("kind", [k for k, (bad, _) in BAD_INPUTS.items()
                                  if isinstance(bad, np.ndarray)])
@pytest.mark.parametrize("name", NAMES)
def test_bad_dtype_of_another_librarys_array_is_the_same_type_error(target, name, kind):
    """docs/contract.md §6 on the __array_ufunc__ path: the ndarray path's TypeError (function and
    dtype named), not the library's or NumPy's generic one; for every input and with any input of
    the other library beside it (the bad one included)."""
    bad, dtype_text = BAD_INPUTS[kind]
    for position in range(BY_NAME[name].nin):
        for library_position in range(BY_NAME[name].nin):
            inputs = good_inputs(name, n=2)
            inputs[library_position] = LibraryArray(np.dtype(np.float64))
            inputs[position] = LibraryArray(bad.dtype)
            with pytest.raises(TypeError) as error:
                getattr(numelu, name)(*inputs, target=target)
            ndarray_inputs = good_inputs(name, n=2)
            ndarray_inputs[position] = bad
            with pytest.raises(TypeError) as ndarray_error:
                getattr(numelu, name)(*ndarray_inputs, target=target)
            assert str(error.value) == str(ndarray_error.value)
            assert name in str(error.value) and dtype_text in str(error.value)
            # an ndarray or a Python complex beside the library's array is checked too
            inputs[position] = bad if position != library_position else inputs[position]
            if position != library_position:
                with pytest.raises(TypeError, match=name):
                    getattr(numelu, name)(*inputs, target=target)


def test_bad_extension_dtype_of_another_librarys_array_is_a_type_error(target):
    for kind, text in [("M", "datetime64[ns, UTC]"), ("O", "category"), ("c", "complex"),
                       ("O", "str")]:
        with pytest.raises(TypeError) as error:
            numelu.elu(LibraryArray(ExtensionDtype(kind, text)), 0.5, target=target)
        assert "numelu.elu" in str(error.value) and text in str(error.value)
        with pytest.raises(TypeError, match="numelu.elu_backward"):
            numelu.elu_backward(np.ones(2), LibraryArray(ExtensionDtype(kind, text)),
                                target=target)
    with pytest.raises(TypeError, match=r"numelu\.elu: input 'alpha' has complex"):
        numelu.elu(LibraryArray(np.dtype(np.float64)), 1j, target=target)
    # real dtypes (pandas' nullable ones have kinds f, i, u, b) and dtypes without a kind are
    # the library's to handle: here it refuses with NumPy's generic error
    for dtype in (np.dtype(np.float32), ExtensionDtype("f", "Float64"),
                  ExtensionDtype("b", "boolean"), ExtensionDtype("i", "Int64"), "float64",
                  None):
        with pytest.raises(TypeError, match="NotImplemented"):
            numelu.elu(LibraryArray(dtype), 0.5, target=target)


# --------------------------------------------------------------------------- alpha rules


ZERO_ALPHAS = [0.0, -0.0, 0, False, np.float32(0), np.float16(0), np.float64(-0.0),
               np.array(0.0), np.array(0, dtype=np.int8), np.False_, np.array(False)]


@pytest.mark.parametrize("alpha", ZERO_ALPHAS, ids=repr)
@pytest.mark.parametrize("name", CELU_FAMILY)
def test_celu_zero_scalar_alpha_is_a_value_error(target, name, alpha):
    inputs = good_inputs(name)[:-1]
    out = np.full(6, 7.0)
    with pytest.raises(ValueError, match="alpha"):
        getattr(numelu, name)(*inputs, alpha, target=target)
    with pytest.raises(ValueError, match="alpha"):
        getattr(numelu, name)(*inputs, alpha, out=out, target=target)
    assert (out == 7.0).all()       # nothing half-written


@pytest.mark.parametrize("alpha", [-1.0, -1e-300, -np.inf, np.float32(-0.5), np.array(-2.0), -3],
                         ids=repr)
@pytest.mark.parametrize("name", FROM_OUTPUT_WITH_ALPHA)
def test_from_output_negative_scalar_alpha_is_a_value_error(target, name, alpha):
    y = np.linspace(-0.5, 1, 6)
    out = np.full(6, 7.0)
    with pytest.raises(ValueError, match="alpha"):
        getattr(numelu, name)(y, alpha, target=target)
    with pytest.raises(ValueError, match="alpha"):
        getattr(numelu, name)(y, alpha, out=out, target=target)
    assert (out == 7.0).all()


def test_allowed_alphas(target):
    """Any real alpha for elu (negative, zero, arrays); alpha >= 0 for elu's from_output form."""
    x = np.linspace(-2, 2, 5)
    for alpha in (-1.5, 0.0, np.array([0.0, -1.0, 2.0, 0.5, 1.0])):
        expected = np.where(x < 0, alpha * np.expm1(x), x)
        np.testing.assert_allclose(numelu.elu(x, alpha, target=target), expected, rtol=1e-15)
        numelu.elu_derivative(x, alpha, target=target)
    assert numelu.elu_derivative_from_output(-0.25, 0.0, target=target) == -0.25
    assert numelu.celu(x, -2.0, target=target).shape == (5,)   # celu: only 0 is refused


def test_zero_alpha_inside_an_array_is_not_a_half_finished_loop(route, capfd):
    """An array alpha is not checked (docs/contract.md §2), but a zero in it must not abort the
    inner loop: every other element is still computed, and nothing is printed to stderr."""
    x = np.array([-1.0, 1.0, -2.0, 3.0, -0.5])
    alpha = np.array([1.0, 0.0, 2.0, 0.0, 0.5])
    with np.errstate(all="ignore"):
        result = run(route, "celu", x, alpha)
        derivative = run(route, "celu_derivative", x, alpha)
    ok = alpha != 0
    np.testing.assert_allclose(result[ok], (alpha * np.expm1(x / np.where(ok, alpha, 1)))[ok],
                               rtol=1e-15)
    np.testing.assert_array_equal(result[[1, 3]], x[[1, 3]])      # x > 0: x, whatever alpha
    np.testing.assert_allclose(derivative[ok], np.where(x > 0, 1.0, np.exp(x / np.where(ok, alpha, 1)))[ok])
    np.testing.assert_array_equal(derivative[[1, 3]], [1.0, 1.0])
    captured = capfd.readouterr()
    assert "Exception" not in captured.err and "ZeroDivisionError" not in captured.err


# --------------------------------------------------------------------------- out= errors


def _out_error_cases(nin):
    n = 6
    read_only = np.zeros(n)
    read_only.flags.writeable = False
    return {
        "short": np.zeros(n - 1),
        "2-D": np.zeros((2, n - 1)),
        "too small to broadcast": np.zeros(1),
        "int": np.zeros(n, dtype=np.int64),
        "bool": np.zeros(n, dtype=bool),
        "read-only": read_only,
        "broadcast view": np.broadcast_to(np.zeros(1), (n,)),
        "list": [0.0] * n,
        "two outputs": (np.zeros(n), np.zeros(n)),
    }


@pytest.mark.parametrize("case", list(_out_error_cases(1)))
@pytest.mark.parametrize("name", NAMES)
def test_bad_out_raises_numpys_exception_before_writing(route, name, case):
    out = _out_error_cases(1)[case]
    nin = BY_NAME[name].nin
    inputs = good_inputs(name)
    twin_inputs = [np.linspace(-2, 2, 6)] * min(nin, 2)
    expected = numpy_exception(numpy_twin(min(nin, 2)), *twin_inputs, out=out)
    before = [np.array(o, copy=True) for o in (out if isinstance(out, tuple) else (out,))]
    with pytest.raises(expected):
        run(route, name, *inputs, out=out)
    after = out if isinstance(out, tuple) else (out,)
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(np.asarray(new), old)


def test_out_dtype_errors_follow_casting(route):
    x = np.linspace(-2, 2, 6)
    out = np.zeros(6, dtype=np.float32)
    run(route, "elu", x, 0.5, out=out)                      # same_kind: float64 -> float32 ok
    for casting in ("safe", "equiv", "no"):
        expected = numpy_exception(np.arctan2, x, 0.5, out=np.zeros(6, np.float32),
                                   casting=casting)
        out[...] = 7
        with pytest.raises(expected):
            run(route, "elu", x, 0.5, out=out, casting=casting)
        assert (out == 7).all()
    int_out = np.zeros(6, dtype=np.int32)
    run(route, "elu", x, 0.5, out=int_out, casting="unsafe")   # as NumPy allows
    expected = np.where(x < 0, 0.5 * np.expm1(x), x).astype(np.int32)
    np.testing.assert_array_equal(int_out, expected)


def test_large_bad_out_is_untouched(route):
    """The threaded kernel is never started on a bad call."""
    x = np.linspace(-2, 2, 200_001)
    out = np.full(200_001, 7.0)
    out.flags.writeable = False
    with pytest.raises(ValueError):
        run(route, "elu", x, 0.5, out=out)
    bad_shape = np.full(200_000, 7.0)
    with pytest.raises(ValueError):
        run(route, "elu", x, 0.5, out=bad_shape)
    assert (bad_shape == 7.0).all()


# --------------------------------------------------------------------------- argument count


@pytest.mark.parametrize("name", NAMES)
def test_wrong_number_of_inputs_is_a_type_error(route, name):
    nin = BY_NAME[name].nin
    x = np.linspace(-1, 1, 4)
    for count in (0, nin + 2, nin + 3):
        with pytest.raises(TypeError):
            run(route, name, *([x] * count))
    if not BY_NAME[name].has_alpha and nin > 1:
        with pytest.raises(TypeError):
            run(route, name, *([x] * (nin - 1)))
    if route.startswith("ufunc.") and BY_NAME[name].has_alpha:
        with pytest.raises(TypeError):    # the genuine ufunc has no default alpha
            run(route, name, *([x] * (nin - 1)))


def test_out_both_positional_and_keyword_is_a_type_error(route):
    x = np.linspace(-1, 1, 4)
    with pytest.raises(TypeError):
        np.arctan2(x, 0.5, np.empty(4), out=np.empty(4))
    with pytest.raises(TypeError):
        run(route, "elu", x, 0.5, np.empty(4), out=np.empty(4))


# --------------------------------------------------------------------------- warnings


