"""Floating-point flags: numelu reports exactly the genuine ones of its results, as NumPy does.

Every check of floating-point flags lives here, in two halves:

* No flag for valid input (docs/contract.md §2): the compiled loops keep the flags that their
  vectorised kernels raise internally (discarded lanes, exp's clamping, compares on NaN) from
  leaking -- edge inputs (zeros, subnormals, +-inf, NaN, huge and very negative values), special
  values on every route, and random finite inputs.
* A *result* that NumPy's own evaluation of the same formula flags is flagged by numelu too, on
  every CPU target, in every loop variant (contiguous, in place, scalar alpha, strided, threaded
  chunks):

* overflow: a result of +-inf from finite inputs (``grad * alpha * exp(x)`` past the largest
  float, SELU's ``SELU_SCALE * x``, a float16 result that rounds to inf);
* invalid: a NaN result from inputs none of which is NaN (``inf * 0``);
* divide by zero: CELU's ``x / alpha`` (``y / alpha``) with ``alpha == 0`` inside an array alpha,
  on the branch that divides (finite ``x < 0``; at ``x == 0`` it is ``0 / 0``, invalid).

The reference is NumPy evaluating ``numelu._reference``'s formula element by element: each
element only on the branch its input selects (as a scalar formula would, and as numelu does), in
the input's dtype.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import (
    ALPHA_MIN,
    CPU_TARGETS,
    FLOAT_WIDTH,
    PROPERTY_SETTINGS,
    QUIET_HYPOTHESIS_REPORTS,
    SELU_SCALE_ALPHA_64,
    alphas_for,
    args_by_role,
    call_at,
    finite_floats,
    large_positive,
    other_values,
    run,
    strict,
    very_negative,
)
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numelu
from numelu._functions import BY_NAME, FUNCTIONS
from numelu._loops import PARALLEL_CHUNK
from numelu._reference import derivative_of, kind_of, numpy_branches

pytestmark = QUIET_HYPOTHESIS_REPORTS
CATEGORIES = ("divide", "over", "invalid")
INF, NAN = math.inf, math.nan


def numpy_formula(name: str, *args: np.ndarray) -> np.ndarray:
    """The reference formula of ``name`` in NumPy, in the inputs' dtype, each element evaluated
    on its own branch only (``numelu._reference.numpy_branches``).

    Raises NumPy's floating-point errors per the current ``np.errstate``."""
    args = np.broadcast_arrays(*args)
    if kind_of(name) == "backward":
        return args[0] * numpy_formula(derivative_of(name), *args[1:])
    test, then, otherwise = numpy_branches(name)
    out = np.empty_like(args[0])
    take = test(*args)
    out[take] = then(*(a[take] for a in args))
    out[~take] = otherwise(*(a[~take] for a in args))
    return out


def raised(compute) -> set[str]:
    """The flag categories ``compute()`` reports: each checked alone under ``"raise"``."""
    found = set()
    for category in CATEGORIES:
        with np.errstate(all="ignore", **{category: "raise"}):
            try:
                compute()
            except FloatingPointError:
                found.add(category)
    return found


def quietly(compute):
    with np.errstate(all="ignore"):
        return compute()


def assert_same_values(got, expected, dtype) -> None:
    eps = float(np.finfo(dtype).eps)
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(expected, np.float64),
                               rtol=4 * eps, atol=0, equal_nan=True)


# --------------------------------------------------------------------------- valid input: no flag

#: The kernel's dtypes (float16 is computed in float32 and rounded once).
dtype_param = pytest.mark.parametrize("dtype", (np.float16, np.float32, np.float64),
                                      ids=lambda d: d.__name__)
CELU_FAMILY = ["celu", "celu_derivative", "celu_backward"]
NAMES = [spec.name for spec in FUNCTIONS]


def flag_alphas(name: str):
    """Every alpha of the value tests; ELU (any real alpha, docs/contract.md §2) also 0 and a
    negative one."""
    extra = (0.0, -0.5) if BY_NAME[name].alpha_rule is None and BY_NAME[name].has_alpha else ()
    return (*alphas_for(name), *extra)


def finite_edge_inputs(name: str, dtype, alpha) -> list[float]:
    """The finite inputs of the value tests: zeros, tiny, very negative, large positive."""
    info = np.finfo(dtype)
    tiny = [float(info.smallest_subnormal), float(info.tiny)]
    values = [0.0, -0.0, *tiny, *[-t for t in tiny], -1.0, -20.0, *large_positive(dtype)]
    if kind_of(name) == "from_output":
        a = SELU_SCALE_ALPHA_64 if alpha is None else abs(alpha)
        return [*values, -a]                             # y stays in the output range
    scale = 1.0 if alpha is None else max(1.0, abs(alpha))
    return [*values, *very_negative(dtype, scale)]


def assert_no_flag(name, values, dtype, target, alpha, grad=None, flags=strict):
    for x in values:
        for size in (1, 17):
            try:
                call_at(name, x, dtype, target, alpha if alpha is not None else 1.0, grad=grad,
                     size=size, flags=flags)
            except FloatingPointError as error:
                raise AssertionError(f"{name}({x!r}, alpha={alpha}, grad={grad}) "
                                     f"{np.dtype(dtype).name} size {size}: {error}") from None


@dtype_param
@pytest.mark.parametrize("name", [spec.name for spec in FUNCTIONS])
def test_no_flag_for_finite_input(name, dtype, target):
    """docs/contract.md §2: no floating-point warning for valid input -- zeros, subnormals, x down
    to finfo.min (where x / alpha or SELU_SCALE * x of the discarded branch would overflow), x up to
    half the largest float (where exp(x) would), and elu's alpha == 0 (0 * exp(big))."""
    for alpha in flag_alphas(name):
        if alpha == 0 and kind_of(name) == "from_output":
            continue
        assert_no_flag(name, finite_edge_inputs(name, dtype, alpha), dtype, target, alpha)


@dtype_param
@pytest.mark.parametrize("name", [spec.name for spec in FUNCTIONS])
def test_no_flag_for_infinite_input(name, dtype, target):
    """elu(+-inf) and every other function at +-inf: a value (docs/contract.md §2), not a
    warning."""
    points = [math.inf] + ([] if kind_of(name) == "from_output" else [-math.inf])
    for alpha in alphas_for(name):
        assert_no_flag(name, points, dtype, target, alpha)


@dtype_param
@pytest.mark.parametrize("name", [spec.name for spec in FUNCTIONS])
def test_no_flag_for_nan_input(name, dtype, target):
    """NaN in gives NaN out without an "invalid value" warning, as np.exp(nan) does: NaN x/y,
    and (backward) a NaN grad with any x."""
    for alpha in alphas_for(name):
        assert_no_flag(name, [math.nan], dtype, target, alpha)
        if "grad" in BY_NAME[name].inputs:
            assert_no_flag(name, other_values(), dtype, target, alpha, grad=math.nan)


@dtype_param
@pytest.mark.parametrize("name", [spec.name for spec in FUNCTIONS])
def test_special_inputs_raise_no_flag_at_all(name, dtype, target):
    """NaN and +/-inf inputs raise no floating-point flag at all, underflow included (as
    np.exp(nan) and np.exp(-inf) don't): the exp of a discarded lane must stay silent."""
    points = [math.nan, math.inf] + ([] if kind_of(name) == "from_output" else [-math.inf])
    for alpha in alphas_for(name):
        assert_no_flag(name, points, dtype, target, alpha,
                       flags=lambda: np.errstate(all="raise"))


UNUSUAL_VALUES = {
    "nan": [np.nan, -np.nan],
    "non-nan": [np.inf, -np.inf, 1e4, -1e4, 0.0, -0.0, 700.0, -800.0, 1e-310, -1e-310],
}


@pytest.mark.parametrize("values", list(UNUSUAL_VALUES))
@pytest.mark.parametrize("dtype", ["e", "f", "d"])
@pytest.mark.parametrize("name", NAMES)
def test_no_floating_point_warnings_for_valid_input(route, name, dtype, values):
    """docs/contract.md §2: no warnings for valid input (NaN in gives NaN out, silently, as
    np.exp(nan) does; inf, huge and subnormal values too).  pyproject: filterwarnings = error."""
    with np.errstate(over="ignore", under="ignore"):
        x = np.array(UNUSUAL_VALUES[values] * 4).astype(dtype)
    inputs = args_by_role(name, data=x, grad=np.ones_like(x), alpha=np.array(1.5, dtype=dtype))
    result = run(route, name, *inputs)
    np.testing.assert_array_equal(np.isnan(result), np.isnan(x))


@pytest.mark.parametrize("dtype, x, alpha", [("e", 3.617, 0.2695), ("e", 60000.0, 0.01),
                                             ("f", 1e30, 1e-3), ("d", 1e300, 1e-5)])
@pytest.mark.parametrize("name", CELU_FAMILY)
def test_no_overflow_warning_when_x_over_alpha_overflows(route, name, dtype, x, alpha):
    """``x / alpha`` overflowing is no reason for a warning: x > 0 takes the ``x`` branch, and a
    very negative x gives exactly ``-alpha`` "(no overflow, no NaN, no warning)"
    (docs/contract.md §2)."""
    inputs = [np.array([x, -x], dtype=dtype)] * (BY_NAME[name].nin - 1) + [np.array(alpha, dtype)]
    result = run(route, name, *inputs)
    assert np.isfinite(result).all()


@pytest.mark.parametrize("dtype", (np.float16, np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", [s.name for s in FUNCTIONS], ids=str)
@settings(PROPERTY_SETTINGS, phases=[Phase.explicit, Phase.reuse, Phase.generate])  # no shrink:
@given(data=st.data())                                  # the flag names the problem well enough
def test_no_flag_for_random_finite_input(name, dtype, data):
    """docs/contract.md §2: no floating-point warning for valid input.  Random finite inputs (alpha
    in [1/16, 20]) where the exact result is finite: no divide/overflow/invalid flag (underflow is
    NumPy's default "ignore": derivatives legitimately underflow to subnormals and 0)."""
    if dtype == np.float16:
        elements = st.floats(allow_nan=False, allow_infinity=False, width=16)
        fmax = float(np.finfo(np.float16).max)
    else:
        elements = finite_floats(dtype)
        fmax = float(np.finfo(dtype).max)
    if kind_of(name) == "from_output":
        elements = st.floats(-20.0, fmax, width=FLOAT_WIDTH.get(dtype, 16))   # output range
    elif name.startswith("selu") and kind_of(name) == "forward":
        elements = st.floats(-fmax, fmax / 2, width=FLOAT_WIDTH.get(dtype, 16))
    main = data.draw(hnp.arrays(dtype, st.integers(1, 24), elements=elements), label="x")
    alpha = data.draw(st.floats(ALPHA_MIN, 20.0, width=FLOAT_WIDTH.get(dtype, 16)), label="alpha")
    args = args_by_role(name, data=main, grad=np.full(main.shape, 1.5, dtype), alpha=dtype(alpha))
    target = data.draw(st.sampled_from(CPU_TARGETS), label="target")
    with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
        getattr(numelu, name)(*args, target=target)


# --------------------------------------------------------------------------- the cases

TINY = "smallest_subnormal"     # placeholders resolved per dtype
BIG = "max/2"
MAX = "max"


def _resolve(value, dtype):
    info = np.finfo(dtype)
    return {TINY: float(info.smallest_subnormal), BIG: float(info.max) / 2, MAX: float(info.max)}.get(value, value)


#: (name, inputs in call order (grad, x or y, alpha), the flags NumPy reports, dtypes)
ALL = ("float16", "float32", "float64")
WIDE = ("float32", "float64")
GENUINE = [
    # overflow: a finite product past the largest float
    ("elu_backward", (BIG, -0.0, 10.0), {"over"}, WIDE),
    ("elu_backward", (BIG, 0.0, -10.0), {"over"}, WIDE),
    ("elu_backward", (BIG, -0.1, 10.0), {"over"}, WIDE),
    ("elu_backward", (60000.0, -0.0, 2.0), {"over"}, ("float16",)),   # inf only once rounded
    ("selu_backward", (MAX, 1.0), {"over"}, ALL),
    ("selu", (MAX,), {"over"}, WIDE),
    ("selu", (65000.0,), {"over"}, ("float16",)),                     # float16 result
    ("celu_derivative_from_output", (-1.0, TINY), {"over"}, ALL),    # y / alpha
    # a negative alpha takes x / alpha past exp's overflow
    ("celu", (-1000.0, -1.0), {"over"}, ALL),
    ("celu", (-100.0, -0.5), {"over"}, ("float16", "float32")),     # -0.5 * expm1(200)
    ("celu_derivative", (-1000.0, -1.0), {"over"}, ALL),
    ("celu_backward", (1.0, -1000.0, -1.0), {"over"}, ALL),
    # invalid: inf * 0 from inputs none of which is NaN
    ("elu_backward", (INF, -1.0, 0.0), {"invalid"}, ALL),
    ("elu_backward", (2.5, -1000.0, INF), {"invalid"}, ALL),
    ("elu_backward", (0.0, -1.0, INF), {"invalid"}, ALL),
    ("elu_derivative", (-1000.0, INF), {"invalid"}, ALL),
    ("elu_derivative", (-1000.0, -INF), {"invalid"}, ALL),
    ("selu_backward", (INF, -1000.0), {"invalid"}, ALL),
    ("celu_backward", (INF, -1000.0, 1.0), {"invalid"}, ALL),
    ("elu_derivative_from_output", (-INF, INF), {"invalid"}, ALL),
    # divide by zero: CELU's x / alpha with alpha == 0 inside an array alpha
    ("celu", (-1.0, 0.0), {"divide"}, ALL),
    ("celu", (-1.0, -0.0), {"divide", "invalid"}, ALL),              # -0 * expm1(+inf)
    ("celu_derivative", (-1.0, 0.0), {"divide"}, ALL),
    ("celu_derivative", (-1.0, -0.0), {"divide"}, ALL),               # exp(+inf): no overflow
    ("celu_derivative", (0.0, 0.0), {"invalid"}, ALL),                # exp(0 / 0)
    ("celu_backward", (2.5, -1.0, 0.0), {"divide"}, ALL),
    ("celu_backward", (INF, -1.0, 0.0), {"divide", "invalid"}, ALL),  # inf * exp(-inf)
    ("celu_derivative_from_output", (-0.5, 0.0), {"divide"}, ALL),   # -inf: not overflow
    ("celu_derivative_from_output", (0.0, 0.0), {"invalid"}, ALL),
]

#: Inputs whose results are inf or NaN (or would be, on the discarded branch) but not errors.
QUIET = [
    ("elu", (-1.0, INF), set(), ALL),                     # -inf from an infinite alpha
    ("elu", (INF, 1.0), set(), ALL),
    ("selu", (INF,), set(), ALL),
    ("elu_backward", (INF, 1.0, 1.0), set(), ALL),
    ("elu_backward", (NAN, -1.0, 0.0), set(), ALL),
    ("elu_backward", (INF, -1.0, NAN), set(), ALL),
    ("elu_derivative", (-1.0, INF), set(), ALL),          # inf * exp(-1) = inf
    ("celu", (2.0, 0.0), set(), ALL),                     # the branch that does not divide
    ("celu", (0.0, 0.0), set(), ALL),
    ("celu", (-INF, 0.0), set(), ALL),                    # -inf / 0 is exact
    ("celu_derivative", (2.0, 0.0), set(), ALL),
    ("celu_derivative", (-INF, 0.0), set(), ALL),
    ("celu_derivative_from_output", (2.0, 0.0), set(), ALL),
    ("selu_backward", (BIG, -1.0), set(), WIDE),
    ("elu_backward", (BIG, 1.0, 10.0), set(), WIDE),      # the discarded branch would overflow
]


def _case_id(case) -> str:
    name, inputs, flags, _ = case
    return f"{name}{inputs}->{'+'.join(sorted(flags)) or 'none'}"


def _expand(cases):
    return [pytest.param(name, inputs, flags, dtype, id=f"{_case_id((name, inputs, flags, 0))}"
                         f"-{dtype}")
            for name, inputs, flags, dtypes in cases for dtype in dtypes]


#: Valid inputs around the element under test: a vector body before and after it.
_FILLER = {"grad": 1.5, "x": -0.5, "y": -0.25, "alpha": 1.25}


def _arrays(name: str, inputs, dtype, size: int, at: int) -> list[np.ndarray]:
    values = iter(inputs)

    def filled(role):
        def make():
            array = np.full(size, _FILLER[role], dtype)
            array[at] = _resolve(next(values), dtype)
            return array
        return make

    return args_by_role(name, data=filled("x"), y=filled("y"), grad=filled("grad"),
                        alpha=filled("alpha"))


def _check(name, arrays, flags, dtype, target) -> None:
    def call():
        return getattr(numelu, name)(*arrays, target=target)

    expected = quietly(lambda: numpy_formula(name, *arrays))
    assert raised(lambda: numpy_formula(name, *arrays)) == flags   # the table is right
    got = quietly(call)
    assert_same_values(got, expected, dtype)
    assert raised(call) == flags


@pytest.mark.parametrize(("name", "inputs", "flags", "dtype"), _expand(GENUINE))
def test_genuine_flags_are_reported_as_numpy_reports_them(name, inputs, flags, dtype, target):
    """A result NumPy's formula flags is flagged alike (same categories, same values), alone
    (size 1) and inside a vectorised run (its first, a middle and its last element)."""
    dtype = np.dtype(dtype).type
    for size, at in ((1, 0), (41, 0), (41, 21), (41, 40)):
        arrays = _arrays(name, inputs, dtype, size, at)
        _check(name, arrays, flags, dtype, target)


@pytest.mark.parametrize(("name", "inputs", "flags", "dtype"), _expand(QUIET))
def test_no_flag_where_numpy_reports_none(name, inputs, flags, dtype, target):
    """Infinite and NaN results from infinite or NaN inputs, and the divisions and overflows of
    a branch not taken, are no error (a guard against over-reporting)."""
    dtype = np.dtype(dtype).type
    for size, at in ((1, 0), (41, 21)):
        arrays = _arrays(name, inputs, dtype, size, at)
        _check(name, arrays, flags, dtype, target)


# --------------------------------------------------------------------------- every loop variant


def _layouts(arrays: list[np.ndarray], has_alpha: bool):
    """(label, make) pairs: ``make()`` gives fresh (arguments, keywords) holding the same
    elements in another loop variant (fresh each time: an in-place call overwrites them)."""
    n = arrays[0].size

    def in_place(i):
        def make():
            copies = [a.copy() for a in arrays]
            return copies, {"out": copies[i]}
        return make

    yield "contiguous", lambda: (arrays, {})
    yield "out", lambda: (arrays, {"out": np.empty_like(arrays[0])})
    for i in range(len(arrays)):              # in place on each operand (NumPy passes it as is)
        yield f"in place on input {i}", in_place(i)
    yield "strided", lambda: ([np.repeat(a, 3)[::3] for a in arrays], {})

    def strided_in_place():
        views = [np.repeat(a, 3)[::3] for a in arrays]
        return views, {"out": views[0]}

    yield "strided in place", strided_in_place
    yield "reversed", lambda: ([a[::-1].copy()[::-1] for a in arrays],
                               {"out": np.empty(n, arrays[0].dtype)[::-1]})
    yield "2-d fortran", lambda: ([np.asfortranarray(np.stack([a, a])) for a in arrays], {})
    if has_alpha:      # the element's alpha as a broadcast scalar (stride 0) for every element
        yield "scalar alpha", lambda: ([*arrays[:-1], arrays[-1][21]], {})
        yield "scalar alpha in place", lambda: (lambda c: (c, {"out": c[0]}))(
            [*(a.copy() for a in arrays[:-1]), arrays[-1][21]])


@pytest.mark.parametrize(("name", "inputs", "flags"), [
    ("elu_backward", (BIG, -0.0, 10.0), {"over"}),
    ("elu_derivative", (-1000.0, INF), {"invalid"}),
    ("celu_derivative_from_output", (-0.5, 0.0), {"divide"}),
    ("celu", (-1.0, -0.0), {"divide", "invalid"}),
    ("selu", (MAX,), {"over"}),
])
@pytest.mark.parametrize("dtype", (np.float16, np.float32, np.float64), ids=lambda d: d.__name__)
def test_every_loop_variant_reports(name, inputs, flags, dtype, target):
    """Contiguous, a separate out, in place on every operand, strided, reversed, 2-d, scalar
    alpha (the genuine ``.cpu``/``.parallel`` ufunc: the dispatcher refuses a scalar alpha == 0
    for CELU), and ``where=`` (a masked-out element is not computed, so it raises nothing)."""
    if dtype == np.float16 and name in ("elu_backward", "selu"):
        inputs = (60000.0, -0.0, 2.0) if name == "elu_backward" else (65000.0,)
    function = getattr(numelu, name)
    ufunc = function.cpu if target == "cpu" else function.parallel
    arrays = _arrays(name, inputs, dtype, 41, 21)
    assert raised(lambda: numpy_formula(name, *arrays)) == flags
    for label, make in _layouts(arrays, BY_NAME[name].has_alpha):
        def call(make=make, label=label):
            args, kwargs = make()
            if target == "auto" and "scalar alpha" not in label:
                return function(*args, **kwargs)
            return ufunc(*args, **kwargs)
        assert raised(call) == flags, label
    # where=: the offending element masked out raises nothing, masked in raises its flags
    mask = np.ones(41, bool)
    mask[21] = False
    assert raised(lambda: function(*arrays, where=mask, out=np.zeros_like(arrays[0]),
                                   target=target)) == set()
    assert raised(lambda: function(*arrays, where=~mask, out=np.zeros_like(arrays[0]),
                                   target=target)) == flags


# --------------------------------------------------------------------------- threaded chunks


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("where", ["first chunk", "middle chunk", "last chunk", "last element"])
def test_a_flag_in_any_chunk_is_reported(where, dtype, target):
    """More than two chunks of the threaded loop: a flag raised in any one chunk is reported
    (the chunks' flags are merged), and none when every chunk is clean."""
    n = 2 * PARALLEL_CHUNK + 1001
    at = {"first chunk": 5, "middle chunk": PARALLEL_CHUNK + 7,
          "last chunk": 2 * PARALLEL_CHUNK + 500, "last element": n - 1}[where]
    big = float(np.finfo(dtype).max) / 2
    grad = np.full(n, 1.5, dtype)
    x = np.linspace(-3.0, 3.0, n).astype(dtype)
    alpha = np.full(n, 1.25, dtype)
    assert raised(lambda: numelu.elu_backward(grad, x, alpha, target=target)) == set()
    grad[at], x[at], alpha[at] = big, -0.0, 10.0          # overflow
    assert raised(lambda: numelu.elu_backward(grad, x, alpha, target=target)) == {"over"}
    assert raised(lambda: numelu.elu_backward(grad, x, 1.0, target=target)) == set()
    grad[at], x[at], alpha[at] = 2.5, -1000.0, INF        # inf * 0
    assert raised(lambda: numelu.elu_backward(grad, x, alpha, target=target)) == {"invalid"}
    y = np.full(n, -0.5, dtype)
    a = np.full(n, 2.0, dtype)
    a[at] = 0.0                                           # y / 0
    assert raised(lambda: numelu.celu_derivative_from_output(y, a, target=target)) == {"divide"}
    out = quietly(lambda: numelu.celu_derivative_from_output(y, a, target=target))
    assert out[at] == -INF and np.all(np.delete(out, at) == dtype(0.75))


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("where", ["first chunk", "last chunk", "last element"])
def test_in_place_over_many_blocks_and_chunks(where, dtype, target):
    """In place (``out`` is grad, or x), the inputs a flag depends on are gone from memory once
    the result is stored: the flag of one element in any block, in any chunk, is still exact;
    a NaN elsewhere (its NaN result is no error) hides nothing and adds nothing."""
    n = 2 * PARALLEL_CHUNK + 1001
    at = {"first chunk": 1500, "last chunk": 2 * PARALLEL_CHUNK + 700, "last element": n - 1}[where]
    big = float(np.finfo(dtype).max) / 2

    def inputs(grad_at, x_at, nan_at=None):
        grad = np.full(n, 1.5, dtype)
        x = np.linspace(-3.0, 3.0, n).astype(dtype)
        grad[at], x[at] = grad_at, x_at
        if nan_at is not None:
            grad[nan_at] = NAN
        return grad, x

    for nan_at in (None, 3, n - 2):
        grad, x = inputs(big, -0.0, nan_at)               # grad * 10 overflows
        assert raised(lambda grad=grad, x=x: numelu.elu_backward(
            grad, x, 10.0, target=target)) == {"over"}
        for overwritten in (0, 1):
            def in_place(grad=grad, x=x, overwritten=overwritten):
                args = [grad.copy(), x.copy()]
                return numelu.elu_backward(*args, 10.0, out=args[overwritten], target=target)
            assert raised(in_place) == {"over"}, (nan_at, overwritten)
        grad, x = inputs(INF, -1.0, nan_at)               # inf * 0 (alpha 0)
        for overwritten in (0, 1):
            def in_place(grad=grad, x=x, overwritten=overwritten):
                args = [grad.copy(), x.copy()]
                return numelu.elu_backward(*args, 0.0, out=args[overwritten], target=target)
            assert raised(in_place) == {"invalid"}, (nan_at, overwritten)
        grad, x = inputs(INF, 1.0, nan_at)                # inf * 1: no error
        g = grad.copy()
        assert raised(lambda g=g, x=x: numelu.elu_backward(g, x, 0.0, out=g,
                                                           target=target)) == set()


@pytest.mark.parametrize("dtype", (np.float16, np.float32, np.float64), ids=lambda d: d.__name__)
def test_every_input_is_out(dtype, target):
    """One array as every input and as out: each input is kept before it is overwritten."""
    big = float(np.finfo(dtype).max)
    g = np.full(37, 0.5, dtype)
    g[20] = big                                            # SELU_SCALE * max
    assert raised(lambda: numelu.selu_backward(g.copy(), g.copy())) == {"over"}
    def same(g=g):
        a = g.copy()
        return numelu.selu_backward(a, a, out=a, target=target)
    assert raised(same) == {"over"}
    a = np.full(37, -0.5, dtype)
    a[5] = NAN                                             # NaN in, NaN out: no error
    def same_nan(a=a):
        b = a.copy()
        return numelu.elu_backward(b, b, b, out=b, target=target)
    assert raised(same_nan) == set()


@pytest.mark.parametrize("dtype", (np.float16, np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("size", [3, 2000, 3 * PARALLEL_CHUNK + 5])
def test_out_one_element_behind_an_input(size, dtype, target):
    """``f(b[1:], out=b[:-1])``: NumPy hands the loop this overlap as it is (the input runs
    ahead of out); each result must be checked against its own input, not against the result
    that overwrote it.  A NaN or inf input is quiet; a genuine overflow is reported."""
    def shifted(values, name="elu", extra=()):
        def call():
            b = np.array(values, dtype)
            getattr(numelu, name)(*extra, b[1:], out=b[:-1], target=target)
            return b
        return call

    for at in (1, size // 2, size - 1):
        quiet = np.full(size, -0.5)
        quiet[at] = NAN
        quiet[at - 1] = INF if at > 1 else 0.0
        assert raised(shifted(quiet)) == set()
        assert raised(shifted(quiet, "elu_backward", (np.ones(size - 1, dtype),))) == set()
        expected = quietly(lambda q=quiet: numpy_formula("elu", np.array(q[1:], dtype),
                                                         np.ones(size - 1, dtype)))
        got = quietly(shifted(quiet))
        assert_same_values(got[:-1], expected, dtype)
        loud = np.full(size, -0.5)
        loud[at] = float(np.finfo(dtype).max)             # SELU_SCALE * max overflows
        loud[at - 1] = INF
        assert raised(shifted(loud, "selu")) == {"over"}


def test_the_table_says_which_formulas_divide_by_alpha():
    """``divides_by_alpha`` (what the loops report a division by zero for) matches the math."""
    for spec in BY_NAME.values():
        assert spec.divides_by_alpha == ("/ alpha" in spec.math), spec.name


@pytest.mark.parametrize("target", ["cpu", "parallel"])
def test_flags_of_numpys_own_casts_are_kept(target):
    """NumPy's casting around the loop raises its own flags (float64 to float16 past 65504,
    before the loop; the float32 result cast to an int out, after it): numelu keeps them, as
    NumPy's own ufuncs do, and adds none for the inf the loop then receives."""
    ufunc = getattr(numelu.elu, target)
    big = np.array([-1.0, 1e10, 2.0])
    expected = raised(lambda: np.negative(big, dtype=np.float16, casting="unsafe"))
    assert expected == {"over"}
    assert raised(lambda: ufunc(big, 1.0, dtype=np.float16, casting="unsafe")) == expected
    nan_in = np.array([np.nan, -1.0], np.float32)
    to_int = np.empty(2, np.int64)
    expected = raised(lambda: np.negative(nan_in, out=to_int, casting="unsafe"))
    assert expected == {"invalid"}
    assert raised(lambda: ufunc(nan_in, 1.0, out=to_int, casting="unsafe")) == expected
