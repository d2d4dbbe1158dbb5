"""The dispatcher's fast path (numelu/_fast_path.py) gives exactly what the genuine ufunc gives.

The fast path passes a scalar ``alpha`` as a cached 0-d array of the data's dtype instead of a
Python float.  Every test here compares against the genuine ``.cpu`` ufunc called with the
Python float, i.e. against NumPy's own NEP 50 handling: same values bit for bit (signed zeros
and NaN payload aside), same dtype, same warnings.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numelu
from numelu import _config, _fast_path
from numelu._functions import FUNCTIONS

# Hypothesis imports libcst to suggest a patch when a property fails; under this project's
# ``filterwarnings = error`` a DeprecationWarning from that import turns the failure report
# into an INTERNALERROR (as in tests/helpers.py).  Import it once here, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:  # pragma: no cover - libcst absent: nothing to pre-import
        pass

ALPHA_FUNCTIONS = [spec.name for spec in FUNCTIONS if spec.has_alpha]


def inputs(name: str, dtypes: tuple, n: int = 64) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    data = [name_ for name_ in numelu.FUNCTIONS_BY_NAME[name].spec.inputs if name_ != "alpha"]
    return [(rng.standard_normal(n) * 8).astype(dtypes[i % len(dtypes)])
            for i in range(len(data))]


def assert_same(result: np.ndarray, expected: np.ndarray) -> None:
    assert result.dtype == expected.dtype
    assert result.shape == expected.shape
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(np.signbit(result), np.signbit(expected))


@settings(max_examples=60, deadline=None)
@given(alpha=st.floats(min_value=0.0, exclude_min=True, allow_infinity=True),
       name=st.sampled_from(ALPHA_FUNCTIONS), dtype=st.sampled_from(["float32", "float64"]),
       with_out=st.booleans())
def test_python_float_alpha_gives_what_numpy_gives(alpha, name, dtype, with_out):
    """Any positive alpha, tiny or huge for float32 (where NumPy's cast rounds, underflows or
    overflows): the same result and the same warnings as the genuine ufunc."""
    function = numelu.FUNCTIONS_BY_NAME[name]
    data = inputs(name, (dtype,))
    with warnings.catch_warnings(record=True) as expected_warnings:
        warnings.simplefilter("always")
        expected = function.cpu(*data, alpha)
    with warnings.catch_warnings(record=True) as got_warnings:
        warnings.simplefilter("always")
        if with_out:
            out = np.empty_like(expected)
            assert function(*data, alpha, out=out) is out
            result = out
        else:
            result = function(*data, alpha)
    assert_same(result, expected)
    assert [str(w.message) for w in got_warnings] == [str(w.message) for w in expected_warnings]


@pytest.mark.parametrize("name", ["elu", "elu_backward", "celu_backward"])
def test_mixed_dtypes_keep_the_python_float_alpha(name):
    """float32 grad with float64 x runs the float64 loop: alpha must not be rounded to float32
    on the way (a float32 0-d array of 0.1 would be)."""
    function = numelu.FUNCTIONS_BY_NAME[name]
    data = inputs(name, ("float32", "float64"))
    expected = function.cpu(*data, 0.1)
    assert_same(function(*data, 0.1), expected)
    assert_same(function(*data, 0.1, target="cpu"), expected)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "bool"])
def test_default_and_explicit_alpha_for_every_dtype(dtype):
    x = (np.arange(-20, 20) / 3).astype(dtype)
    for alpha in (1.0, 0.5, 2):
        assert_same(numelu.elu(x, alpha), numelu.elu.cpu(x, alpha))
    assert_same(numelu.elu(x), numelu.elu.cpu(x, 1.0))


def test_signed_zero_alphas_are_not_confused():
    """-0.0 == 0.0 as dict keys: a cache keyed on alpha must not hand one for the other."""
    x = -np.linspace(0.5, 3, 8)
    for alpha in (0.0, -0.0, 0.0):
        assert_same(numelu.elu(x, alpha), numelu.elu.cpu(x, alpha))
        assert_same(numelu.elu(x.astype(np.float32), alpha),
                    numelu.elu.cpu(x.astype(np.float32), alpha))


def test_alpha_cache_is_bounded_and_read_only():
    x = np.linspace(-2, 2, 9)
    for i in range(_fast_path._ALPHA_CACHE_LIMIT + 40):
        alpha = 1.0 + i / 1024
        np.testing.assert_array_equal(numelu.elu(x, alpha), numelu.elu.cpu(x, alpha))
    caches = set(map(id, _fast_path.ALPHA_CACHES.values()))
    assert len(caches) == 3                                  # float32, float64, "never cache"
    for cache in _fast_path.ALPHA_CACHES.values():
        assert len(cache) <= _fast_path._ALPHA_CACHE_LIMIT
        assert all(not value.flags.writeable and value.ndim == 0 and value.dtype.char == cache.char
                   for value in cache.values())
    assert len(_fast_path.ALPHA_CACHES["e"]) == len(_fast_path.ALPHA_CACHES["l"]) == 0


def test_weak_alpha_values():
    caches = _fast_path.ALPHA_CACHES
    assert _fast_path.weak_alpha(0.1, caches["f"]) == np.float32(0.1)
    assert _fast_path.weak_alpha(0.1, caches["f"]).dtype == np.float32
    assert _fast_path.weak_alpha(0.1, caches["d"]) == 0.1
    assert type(_fast_path.weak_alpha(0.1, caches["e"])) is float          # float16: not cached
    assert type(_fast_path.weak_alpha(0.1, caches["l"])) is float          # int64 data
    assert type(_fast_path.weak_alpha(1e39, caches["f"])) is float   # would overflow: NumPy casts
    assert type(_fast_path.weak_alpha(1e-39, caches["f"])) is float  # subnormal in float32


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_signature_names_the_inputs(spec):
    """The data inputs positional only (as a NumPy ufunc's), alpha by position or keyword (as
    in PyTorch): the signature says what the generated ``__call__`` takes."""
    function = numelu.FUNCTIONS_BY_NAME[spec.name]
    signature = inspect.signature(function)
    parameters = signature.parameters
    assert list(parameters)[:spec.nin] == list(spec.inputs)
    data = [name for name in spec.inputs if name != "alpha"]
    assert all(parameters[name].kind is inspect.Parameter.POSITIONAL_ONLY for name in data)
    if spec.has_alpha:
        assert parameters["alpha"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert parameters["alpha"].default == 1.0
        assert signature.bind(*data, alpha=0.5).arguments["alpha"] == 0.5
        assert signature.bind(*data, 0.5).arguments["alpha"] == 0.5
        with pytest.raises(TypeError, match="multiple values"):
            signature.bind(*data, 0.5, alpha=0.5)
    with pytest.raises(TypeError):
        signature.bind(**{name: 1.0 for name in data})
    assert {"out", "where", "casting", "order", "dtype", "target"} <= set(parameters)
    assert type(function).__call__.__qualname__ == spec.name     # named in argument errors
    generated = inspect.signature(type(function).__call__).parameters
    assert [p.kind for name, p in generated.items() if name in spec.inputs] == [
        parameters[name].kind for name in spec.inputs]


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_positional_out_takes_the_general_path(spec):
    """``f(*inputs, out)`` (out positional, as NumPy allows)."""
    function = numelu.FUNCTIONS_BY_NAME[spec.name]
    data = inputs(spec.name, ("float64",))
    args = [*data, 0.5] if spec.has_alpha else data
    expected = function.cpu(*args)
    out = np.empty_like(expected)
    assert function(*args, out) is out
    assert_same(out, expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ALPHA_FUNCTIONS)
def test_keyword_alpha_takes_the_fast_path(name, dtype, monkeypatch):
    """``elu(x, alpha=0.5)`` (PyTorch's spelling) is the positional call, fast path included:
    same result bit for bit, and the general path is never entered."""
    function = numelu.FUNCTIONS_BY_NAME[name]
    data = inputs(name, (dtype,))
    expected = function(*data, 0.5)
    function(*data, 0.5, target="parallel")          # both CPU ufuncs built
    entered = []
    original = type(function)._call
    monkeypatch.setattr(type(function), "_call", lambda self, *a: entered.append(a) or
                        original(self, *a))
    assert_same(function(*data, alpha=0.5), expected)
    out = np.empty_like(expected)
    assert function(*data, alpha=0.5, out=out) is out
    assert_same(out, expected)
    for target in ("cpu", "parallel", "auto"):
        assert_same(function(*data, alpha=0.5, target=target), expected)
    assert_same(function(*data, alpha=np.full(data[0].shape, 0.5, dtype)), expected)
    assert entered == []
    # errors are the positional call's: alpha twice, a data input missing
    with pytest.raises(TypeError, match="multiple values for argument 'alpha'"):
        function(*data, 0.5, alpha=0.5)
    with pytest.raises(TypeError, match="multiple values for argument 'alpha'"):
        function(*[d.tolist() for d in data], 0.5, alpha=0.5)       # general path too
    if len(data) > 1:
        with pytest.raises(TypeError, match="positional input"):
            function(data[0], alpha=0.5)
    # the general path takes a keyword alpha as the positional one
    assert_same(function(*[d.tolist() for d in data], alpha=np.dtype(dtype).type(0.5)),
                function(*[d.tolist() for d in data], np.dtype(dtype).type(0.5)))


def test_general_path_gets_the_callers_own_arguments(monkeypatch):
    """When the fast path cannot finish (here: no built ufunc in its table), the general path
    sees the alpha and target the caller gave, not the fast path's 0-d array or its choice."""
    function = numelu.elu
    seen = []
    original = type(function)._call

    def recording(self, args, out, target, kwargs):
        seen.append((args, target))
        return original(self, args, out, target, kwargs)

    monkeypatch.setattr(type(function), "_call", recording)
    monkeypatch.setattr(function, "_cpu_ufuncs", {})
    x = np.linspace(-3, 3, 11, dtype=np.float32)
    assert_same(function(x, 0.5), function.cpu(x, 0.5))
    assert_same(function(x), function.cpu(x, 1.0))
    (args_given, target_given), (default_args, _) = seen
    assert args_given[0] is x and type(args_given[1]) is float and target_given is None
    assert len(default_args) == 1


def _python_function(name: str):
    """A Python function with the public function's signature and name: the reference for the
    argument errors Python itself raises."""
    namespace: dict = {}
    exec(f"def {name}{inspect.signature(numelu.FUNCTIONS_BY_NAME[name])}: pass", namespace)  # noqa: S102
    return namespace[name]


def _type_error(function, *args, **kwargs) -> str:
    with pytest.raises(TypeError) as error:
        function(*args, **kwargs)
    return str(error.value)


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_argument_errors_name_the_function_as_python_does(spec):
    """``elu(x, 1.0, alpha=2.0)`` says ``elu() got multiple values for argument 'alpha'``, as a
    Python function ``def elu(x, /, alpha=1.0, ...)`` does; no argument error of the fast
    path names ``elu.__call__``."""
    function = numelu.FUNCTIONS_BY_NAME[spec.name]
    reference = _python_function(spec.name)
    data = inputs(spec.name, ("float64",), 4)
    if spec.has_alpha:
        assert (_type_error(function, *data, 0.5, alpha=0.5)
                == _type_error(reference, *data, 0.5, alpha=0.5)
                == f"{spec.name}() got multiple values for argument 'alpha'")
    if len(data) == 1:
        assert _type_error(function) == _type_error(reference)
    for args, kwargs in [((), {}), ((), {"alpha": 0.5}), (data, {"bogus": 1}),
                         (data, {"x": data[0]}), ((*data, 0.5, *data, *data), {}),
                         (data, {"out": None, "where": True, "bogus": 1})]:
        message = _type_error(function, *args, **kwargs)
        _type_error(reference, *args, **kwargs)            # a TypeError for Python too
        assert message.startswith(f"{spec.name}() "), message
        assert "__call__" not in message


# --------------------------------------------------------------------------- scalar inputs

#: scalar types a data input may have on the fast path, and some that take the general path
SCALAR_TYPES = [float, int, bool, np.float64, np.float32, np.float16, np.int8, np.int32,
                np.int64, np.uint16, np.bool_]


def _scalar(kind, value: float):
    if kind is bool or kind is np.bool_:
        return kind(value > 0)
    if kind in (int, np.int8, np.int32, np.int64, np.uint16):
        limit = 100 if kind is not np.uint16 else 0
        return kind(max(-limit, min(100, int(value))) if np.isfinite(value) else 3)
    with np.errstate(over="ignore"):         # a float32 value beyond float16's range: inf
        return kind(value)


def _outcome(function, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = function(*args)
        except Exception as error:  # noqa: BLE001 - compared with the genuine ufunc's
            result = (type(error), str(error))
    return result, sorted({str(w.category) for w in caught})


def assert_same_scalar(result, expected) -> None:
    assert type(result) is type(expected)
    if isinstance(expected, tuple):
        assert result == expected
        return
    assert np.array_equal(result, expected, equal_nan=True)
    assert np.signbit(result) == np.signbit(expected)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(list(numelu.FUNCTIONS_BY_NAME)), data=st.data(),
       kinds=st.lists(st.sampled_from(SCALAR_TYPES), min_size=2, max_size=2),
       values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=2,
                       max_size=2),
       alpha=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                       st.sampled_from([0.5, 2.0, np.float32(0.5), np.float64(-1.0), 3])))
def test_scalar_inputs_give_what_the_genuine_ufunc_gives(name, data, kinds, values, alpha):
    """Python and NumPy scalars of every real kind, alpha missing or of any value and type: the
    NumPy scalar the genuine ufunc returns (type, dtype, bits), its warnings, or its error
    (the errors of docs/contract.md §6 and the alpha rules included, which the general path
    raises)."""
    function = numelu.FUNCTIONS_BY_NAME[name]
    spec = function.spec
    args = [_scalar(kind, value) for kind, value in zip(kinds, values, strict=True)]
    args = args[:spec.nin - spec.has_alpha] + ([] if alpha is None else [alpha])
    got = _outcome(function, *args)
    general = _outcome(lambda *a: function._call(a, _config.MISSING, None, {}), *args)
    assert_same_scalar(got[0], general[0])       # the general path: the contract's checks in full
    assert got[1] == general[1]
    if not (isinstance(general[0], tuple) and general[0][0] is ValueError):   # alpha rules
        genuine = args if alpha is not None or not spec.has_alpha else [*args, 1.0]
        expected = _outcome(function.cpu, *genuine)
        assert_same_scalar(got[0], expected[0])
        assert got[1] == expected[1]


@pytest.mark.parametrize("name", list(numelu.FUNCTIONS_BY_NAME))
def test_scalar_calls_take_the_fast_path(name, monkeypatch):
    """The common scalar calls never reach the general path; each gives the genuine ufunc's
    NumPy scalar."""
    function = numelu.FUNCTIONS_BY_NAME[name]
    spec = function.spec
    function(*[np.ones(2)] * (spec.nin - spec.has_alpha), target="cpu")     # built
    function(*[np.ones(2)] * (spec.nin - spec.has_alpha), target="parallel")
    entered = []
    original = type(function)._call
    monkeypatch.setattr(type(function), "_call", lambda self, *a: entered.append(a) or
                        original(self, *a))
    data = spec.nin - spec.has_alpha
    calls = [[-1.0] * data, [-1] * data, [np.float64(-1.5)] * data, [np.float32(-1.5)] * data,
             [np.float16(-0.5)] * data, [np.int8(-2)] * data, [True] * data,
             [-1.0, np.float32(2.0)][:data]]
    for args in calls:
        alphas = [(), (0.5,)] if spec.has_alpha else [()]
        for alpha in alphas:
            for target in (None, "cpu", "parallel", "auto"):
                kwargs = {} if target is None else {"target": target}
                result = function(*args, *alpha, **kwargs)
                expected = function.cpu(*args, *(alpha or ((1.0,) if spec.has_alpha else ())))
                assert_same_scalar(result, expected)
    if spec.has_alpha:
        assert_same_scalar(function(*calls[0], alpha=0.5), function.cpu(*calls[0], 0.5))
    assert entered == []


def test_scalar_calls_keep_every_check():
    """What the fast path does not take goes to the general path, with the contract's errors."""
    with pytest.raises(TypeError, match="numelu.elu: input 'x' has complex"):
        numelu.elu(1j)
    with pytest.raises(TypeError, match="numelu.elu_backward: input 'x' has complex"):
        numelu.elu_backward(1.0, 1j)
    with pytest.raises(ValueError, match="alpha != 0"):
        numelu.celu(-1.0, 0.0)
    with pytest.raises(ValueError, match="alpha >= 0"):
        numelu.elu_derivative_from_output(-0.5, -1.0)
    with pytest.raises(ValueError, match="valid targets"):
        numelu.elu(-1.0, target="gpu")
    with pytest.raises(TypeError, match="got multiple values for argument 'alpha'"):
        numelu.elu(-1.0, 0.5, alpha=0.5)
    with pytest.raises(TypeError, match="unexpected keyword"):
        numelu.elu(-1.0, bogus=1)
    out = np.empty(())
    assert numelu.elu(-1.0, out=out) is out and out == numelu.elu.cpu(-1.0, 1.0)
    assert (_outcome(numelu.elu, np.longdouble(-1.0))        # no loop: NumPy's answer
            == _outcome(numelu.elu.cpu, np.longdouble(-1.0), 1.0))
    assert numelu.elu(-1.0, np.array([1.0, 2.0])).shape == (2,)
