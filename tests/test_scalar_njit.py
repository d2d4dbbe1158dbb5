"""``numelu.scalar``: the scalar formulas called from a user's own ``@numba.njit`` code.

The user's compiled code and numelu's ufuncs run the same formulas, so for the same dtype they
agree bit for bit; float32 arguments keep the arithmetic in float32.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from helpers import args_by_role
from numba import njit, types

import numelu
import numelu.scalar as S
from numelu._functions import BY_NAME, FUNCTIONS

NAMES = [spec.name for spec in FUNCTIONS]
DTYPES = [np.float32, np.float64]

EDGE_POINTS = [0.0, -0.0, 1.0, -1.0, 1e-30, -1e-30, 0.5, -0.5, 20.0, -20.0, -40.0, -100.0,
           1e30, -1e30, math.inf, -math.inf, math.nan]


def inputs(name: str, dtype, n: int = 4000, seed: int = 0) -> list[np.ndarray]:
    """Data inputs (not alpha): random values over the whole useful range, plus edge values."""
    rng = np.random.default_rng(seed)
    def draw():
        values = np.concatenate([rng.uniform(-30.0, 10.0, n), rng.normal(0.0, 1.0, n), EDGE_POINTS])
        return values.astype(dtype)

    arrays = args_by_role(name, data=draw, grad=draw, with_alpha=False)
    # every special value meets every other in the two-input forms
    if len(arrays) == 2:
        pairs = np.array(np.meshgrid(EDGE_POINTS, EDGE_POINTS)).reshape(2, -1).astype(dtype)
        arrays = [np.concatenate([a, p]) for a, p in zip(arrays, pairs, strict=True)]
    return arrays


# One user-style kernel per arity, built around whichever numelu.scalar function is asked for:
# a plain loop over arrays, as a user would write it.
def user_kernel(formula, nin: int, has_alpha: bool):
    if nin == 1:
        @njit
        def kernel(a, out):
            for i in range(a.size):
                out[i] = formula(a[i])
    elif nin == 2 and has_alpha:
        @njit
        def kernel(a, alpha, out):
            for i in range(a.size):
                out[i] = formula(a[i], alpha)
    elif nin == 2:
        @njit
        def kernel(a, b, out):
            for i in range(a.size):
                out[i] = formula(a[i], b[i])
    else:
        @njit
        def kernel(a, b, alpha, out):
            for i in range(a.size):
                out[i] = formula(a[i], b[i], alpha)
    return kernel


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_scalar_formula_in_user_njit_matches_the_ufunc(name, dtype, spec):
    formula = getattr(S, name)
    kernel = user_kernel(formula, spec.nin, spec.has_alpha)
    arrays = inputs(name, dtype)
    alphas = [dtype(0.75), dtype(1.0), dtype(2.5)] if spec.has_alpha else [None]

    for alpha in alphas:
        extra = () if alpha is None else (alpha,)
        out = np.empty_like(arrays[0])
        with np.errstate(all="ignore"):     # FP flags are the ufunc's business, not this test's
            kernel(*arrays, *extra, out)
            expected = getattr(numelu, name).cpu(*arrays, *extra)
        assert expected.dtype == dtype
        np.testing.assert_array_equal(out, expected, err_msg=f"{name} alpha={alpha}")

    # float32 in, float32 arithmetic and result: the compiled signature says so
    signature = kernel.nopython_signatures[0]
    assert signature.args[0] == types.Array(types.float32 if dtype is np.float32
                                            else types.float64, 1, "C")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_scalar_functions_return_the_argument_type(dtype):
    @njit
    def forward_and_backward(x, alpha):
        y = S.elu(x, alpha)
        return y, S.elu_derivative_from_output(y, alpha), S.selu(x), S.celu_backward(x, x, alpha)

    forward_and_backward(dtype(-1.5), dtype(0.5))
    numba_type = types.float32 if dtype is np.float32 else types.float64
    assert forward_and_backward.nopython_signatures[0].return_type == types.UniTuple(numba_type, 4)


def test_docstring_example_sum_of_elu():
    @njit
    def my_elu_sum(xs, alpha):
        total = 0.0
        for x in xs:
            total += S.elu(x, alpha)
        return total

    xs = np.linspace(-3.0, 3.0, 1001)
    assert my_elu_sum(xs, 0.5) == pytest.approx(float(np.sum(numelu.elu(xs, 0.5))), rel=1e-13)


def test_scalar_formulas_in_a_user_loss_and_its_gradient():
    """A typical use: a fused forward + backward inside one compiled function."""

    @njit
    def loss_and_grad(x, target, alpha):
        loss = 0.0
        grad = np.empty_like(x)
        for i in range(x.size):
            y = S.celu(x[i], alpha)
            diff = y - target[i]
            loss += diff * diff
            grad[i] = S.celu_backward(2.0 * diff, x[i], alpha)
        return loss, grad

    rng = np.random.default_rng(1)
    x, target = rng.normal(size=500), rng.normal(size=500)
    loss, grad = loss_and_grad(x, target, 1.5)
    y = numelu.celu(x, 1.5)
    assert loss == pytest.approx(float(np.sum((y - target) ** 2)), rel=1e-12)
    np.testing.assert_array_equal(grad, numelu.celu_backward(2.0 * (y - target), x, 1.5))


def test_constants_are_public_and_match_the_spec():
    assert S.SELU_ALPHA == numelu.SELU_ALPHA == 1.6732632423543772848170429916717
    assert S.SELU_SCALE == numelu.SELU_SCALE == 1.0507009873554804934193349852946

    @njit
    def constants():
        return S.SELU_ALPHA, S.SELU_SCALE

    assert constants() == (S.SELU_ALPHA, S.SELU_SCALE)


ARGUMENT_COUNT = {name: BY_NAME[name].nin for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_integer_and_bool_arguments_are_taken_as_float64(name):
    """``S.elu(-1, 1)`` is ``elu(-1.0, 1.0)``, in plain Python and in compiled code: integers and
    bools are cast to float64 as NumPy casts them (they used to truncate the result to an int
    in Python, and to fail to compile)."""
    formula = getattr(S, name)
    compiled = njit(formula)
    for ints in ([-1, 2, 1][: ARGUMENT_COUNT[name]], [2, -3, 2][: ARGUMENT_COUNT[name]],
                 [False, True, True][: ARGUMENT_COUNT[name]]):
        floats = [float(v) for v in ints]
        expected = formula(*floats)
        with np.errstate(all="ignore"):
            ufunc = getattr(numelu, name).cpu(*floats)
        for args in (ints, [np.int64(v) for v in ints]):
            got = formula(*args)
            assert type(got) is float, (name, args, got)
            assert got == expected or (math.isnan(got) and math.isnan(expected)), (name, args)
            assert compiled(*args) == ufunc or (math.isnan(ufunc) and math.isnan(compiled(*args)))


MIXED = [np.float32(-1.25), np.float64(-0.75), np.int64(-2), np.float32(0.5), np.float64(2.5)]


@pytest.mark.parametrize("name", NAMES)
def test_mixed_argument_types_are_promoted_as_numpy_promotes_them(name):
    """float32 beside float64 (or an int64) computes in float64, as the ufunc does for the same
    NumPy scalars, in compiled code and in plain Python; float32 beside a bool or an int8 stays
    float32.  (The CELU family failed to compile; the others computed in the first argument's
    type: a float32 elu typed float64, 5e7 ulp off.)  Plain Python runs on libm's exp: the same
    type, within the contract's 2 ulp (docs/contract.md §3)."""
    formula = getattr(S, name)
    compiled = njit(formula)
    count = ARGUMENT_COUNT[name]
    rng = np.random.default_rng(3)
    for _ in range(40):
        args = [MIXED[i] for i in rng.integers(0, len(MIXED), count)]
        with np.errstate(all="ignore"):
            expected = getattr(numelu, name).cpu(*args)
            got = compiled(*args)
            plain = formula(*args)
        signature = compiled.overloads[tuple(map(numba.typeof, args))].signature
        assert str(signature.return_type) == str(expected.dtype), (name, args)   # boxed: float
        assert got == expected or (np.isnan(got) and np.isnan(expected)), (name, args)
        assert np.dtype(type(plain)) == expected.dtype, (name, args, plain)
        spacing = np.spacing(np.abs(expected)) if np.isfinite(expected) else 0
        assert abs(plain - expected) <= 2 * spacing or plain == expected, (name, args)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", ["celu", "celu_derivative", "celu_backward"])
def test_celu_negative_alpha_past_exps_overflow_in_user_code(name, dtype):
    """The public CELU formulas are exact over the whole domain in a user's compiled code too
    (the ufunc loops run a fast twin and recompute its early infs with them): a negative alpha
    below 1 in magnitude brings ``alpha * expm1(x / alpha)`` back into range past exp's own
    overflow.  Compiled: the ufunc's bits; plain Python: within 2 ulp."""
    formula = getattr(S, name)
    compiled = njit(formula)
    alpha = dtype(-0.5)
    top = 88.7 if dtype is np.float32 else 709.78
    for q in np.linspace(top - 2.0, top + 1.0, 25):
        x = dtype(q * float(alpha))
        args = (x, alpha) if name != "celu_backward" else (dtype(1.0), x, alpha)
        with np.errstate(all="ignore"):
            expected = getattr(numelu, name).cpu(*args)
            got, plain = compiled(*args), formula(*args)
        assert got == expected, (name, q)
        spacing = np.spacing(np.abs(expected)) if np.isfinite(expected) else 0
        assert plain == expected or abs(plain - expected) <= 2 * spacing, (name, q, plain)


@pytest.mark.parametrize(("name", "args"), [
    ("elu_derivative", (-745.0, 1e300)),          # exp(-745) is subnormal, the product is not
    ("elu_derivative", (-740.0, 3e10)),
    ("elu_backward", (1.0, -745.0, 1e300)),
])
def test_plain_python_rounds_a_subnormal_exp_product_once(name, args):
    """``alpha * exp(x)`` in plain Python: ``exp(x)`` rounded to the subnormal grid first and
    then multiplied was off by 40% (4.94e-24 for 2.82e-24); now within 2 ulp of the ufunc."""
    got = getattr(S, name)(*args)
    expected = getattr(numelu, name).cpu(*args)
    assert abs(got - expected) <= 2 * np.spacing(expected), (got, expected)


def test_plain_python_celu_far_past_the_decimal_exponent_range_is_inf():
    """x / alpha past the default decimal exponent range (about 2.3e6) overflows to -inf, as
    the ufunc gives it, instead of raising decimal.Overflow."""
    for args in ((-2302585.5, -1.0), (-1e7, -1.0), (np.float32(-1e7), np.float32(-1.0))):
        assert S.celu(*args) == -math.inf
        with np.errstate(over="ignore"):
            assert numelu.celu(*args) == -math.inf
