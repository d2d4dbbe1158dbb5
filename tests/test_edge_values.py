"""Edge values (docs/contract.md §2), exactly, for every function, CPU target, float16/32/64.

The values are checked under ``np.errstate(all="ignore")``; that the same inputs raise no
floating-point flag is checked apart, in ``tests/test_fp_flags.py`` (a leaked flag and a wrong
value show up as different failures).

Expected values are derived here from the contract (exact constants via mpmath), never from numelu.
"""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pytest
from helpers import (
    SELU_SCALE_64,
    SELU_SCALE_ALPHA_64,
    alphas_for,
    call_at,
    large_positive,
    lenient,
    other_values,
    very_negative,
)

import numelu
from numelu._functions import BY_NAME, FUNCTIONS
from numelu._reference import kind_of

DTYPES = (np.float16, np.float32, np.float64)


def family(name: str) -> str:
    return name.split("_")[0]


def names(*kinds: str) -> list[str]:
    return [spec.name for spec in FUNCTIONS if kind_of(spec.name) in kinds]


def selu_scale_alpha(dtype):
    return dtype(SELU_SCALE_ALPHA_64)


def ulps_apart(a, b, dtype) -> np.ndarray:
    """|a - b| in ulps of b (both in dtype)."""
    b64 = np.asarray(b, dtype=np.float64)
    spacing = np.spacing(np.abs(np.asarray(b, dtype=dtype))).astype(np.float64)
    return np.abs(np.asarray(a, dtype=np.float64) - b64) / spacing


dtype_param = pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)


# --------------------------------------------------------------------------- zeros


@dtype_param
@pytest.mark.parametrize("name", names("forward"))
def test_forward_returns_the_zero_itself(name, dtype, target):
    """elu(-0.0) is -0.0, selu(-0.0) is -0.0 (sign kept), for any alpha (PyTorch's CPU kernel)."""
    alphas = (*alphas_for(name), -0.5, 0.0) if BY_NAME[name].alpha_rule is None \
        else alphas_for(name)
    for alpha in alphas:
        for size in (1, 17):
            for zero in (0.0, -0.0):
                out = call_at(name, zero, dtype, target, alpha, size=size)
                assert np.all(out == 0), (alpha, zero, out)
                assert np.all(np.signbit(out) == np.signbit(zero)), (alpha, zero, out)


@dtype_param
@pytest.mark.parametrize("name", names("derivative", "from_output", "backward"))
def test_derivatives_take_the_nonpositive_branch_at_both_zeros(name, dtype, target):
    """elu_derivative(0, a) == a, selu_derivative(0) == SELU_SCALE*SELU_ALPHA,
    celu_derivative(0, a) == 1 exactly, at +0.0 and -0.0; the from_output forms agree (y + alpha
    at y = 0) and backward multiplies by grad (one rounding)."""
    for alpha in alphas_for(name):
        a = dtype(alpha) if alpha is not None else None
        value = {"elu": a, "selu": selu_scale_alpha(dtype), "celu": dtype(1.0)}[family(name)]
        for zero in (0.0, -0.0):
            out = call_at(name, zero, dtype, target, alpha)
            if kind_of(name) == "backward":
                grad = dtype(2.5)
                # grad * value rounded once (the product of two float16 values is exact in
                # float32, of two float32 values exact in float64)
                expected = dtype(np.float64(grad) * np.float64(value)) if dtype != np.float64 \
                    else grad * value
            else:
                expected = value
            np.testing.assert_array_equal(out, np.full(out.shape, expected, dtype),
                                          err_msg=f"alpha={alpha} at {zero!r}")


# --------------------------------------------------------------------------- NaN


@dtype_param
@pytest.mark.parametrize("name", [spec.name for spec in FUNCTIONS])
def test_nan_in_x_y_or_grad_gives_nan(name, dtype, target, spec):
    """NaN in any data input gives NaN: forward, derivatives (PyTorch's backward returns 1 at
    NaN: numelu does not hide a NaN), from_output, backward with a NaN grad or a NaN x."""
    for alpha in alphas_for(name):
        for size in (1, 17):
            out = call_at(name, math.nan, dtype, target, alpha, size=size)
            assert np.all(np.isnan(out)), (alpha, out)
            if "grad" in spec.inputs:
                for x in other_values():
                    out = call_at(name, x, dtype, target, alpha, grad=math.nan, size=size)
                    assert np.all(np.isnan(out)), ("nan grad", x, alpha, out)


@dtype_param
@pytest.mark.parametrize("name", [spec.name for spec in FUNCTIONS if spec.has_alpha])
def test_nan_alpha_gives_nan_where_alpha_is_used(name, dtype, target):
    """NaN alpha gives NaN on the branch that uses alpha (x < 0, or y <= 0; at x = 0 too for
    the ELU forms, whose derivative there is alpha itself).  alpha is an array here: a scalar
    NaN alpha may be refused up front by the forms that check their alpha."""
    points = (-1.0, -20.0, -1e4) if family(name) == "celu" else (-1.0, -20.0, -0.0)
    if kind_of(name) == "from_output":
        points = (-0.5, -0.0)
    if kind_of(name) == "derivative" and family(name) == "elu":
        points = (*points, 0.0)
    for size in (1, 17):
        for x in points:
            if kind_of(name) == "forward" and x == 0:
                continue                                # forward returns the zero itself
            out = call_at(name, x, dtype, target, alpha=np.full(size, math.nan), size=size)
            assert np.all(np.isnan(out)), (x, out)


# --------------------------------------------------------------------------- infinities


def _expected_at_inf(name: str, sign: int, alpha, dtype):
    """docs/contract.md §2 values at x = +/-inf (grad 2.5 for backward); None where not exactly
    fixed."""
    kind, fam = kind_of(name), family(name)
    a = dtype(alpha) if alpha is not None else None
    if kind == "forward":
        if sign > 0:
            return dtype(np.inf)
        return -a if fam != "selu" else -selu_scale_alpha(dtype)
    if kind in ("derivative", "backward"):
        if sign < 0:
            return dtype(0.0)
        one = dtype(1.0) if fam != "selu" else None     # SELU_SCALE: checked to an ulp
        if one is None:
            return None
        return one if kind == "derivative" else dtype(2.5)
    # from_output: y = +inf is the positive branch
    return (dtype(1.0) if fam != "selu" else None) if sign > 0 else None


@dtype_param
@pytest.mark.parametrize("name", [spec.name for spec in FUNCTIONS])
def test_infinities(name, dtype, target):
    """elu(+inf) == inf, elu(-inf) == -alpha, elu_derivative(-inf) == 0; likewise SELU and
    CELU; the derivative at +inf is the positive branch (1, or SELU_SCALE to an ulp)."""
    for alpha in alphas_for(name):
        for sign in (1, -1):
            if kind_of(name) == "from_output" and sign < 0:
                continue                                # y = -inf is below the output range
            for size in (1, 17):
                out = call_at(name, sign * math.inf, dtype, target, alpha, size=size)
                expected = _expected_at_inf(name, sign, alpha, dtype)
                if expected is None:                    # SELU_SCALE (times grad 2.5)
                    scale = SELU_SCALE_64 * (2.5 if kind_of(name) == "backward" else 1.0)
                    assert np.all(ulps_apart(out, dtype(scale), dtype) <= 1), (sign, out)
                else:
                    np.testing.assert_array_equal(out, np.full(out.shape, expected, dtype),
                                                  err_msg=f"alpha={alpha} at {sign}*inf")


# --------------------------------------------------------------------------- very negative x


@dtype_param
@pytest.mark.parametrize("name", names("forward"))
def test_very_negative_x_gives_exactly_minus_alpha(name, dtype, target):
    """docs/contract.md §2: exactly -alpha (SELU: -SELU_SCALE*SELU_ALPHA), no NaN, down to x =
    finfo.min (where x / alpha overflows for alpha < 1: CELU).  "No warning":
    test_fp_flags.py::test_no_flag_for_finite_input."""
    for alpha in alphas_for(name):
        expected = -selu_scale_alpha(dtype) if alpha is None else -dtype(alpha)
        xs = very_negative(dtype, 1.0 if alpha is None else alpha)
        for size in (1, 17):
            for x in xs:
                out = call_at(name, x, dtype, target, alpha, size=size)
                np.testing.assert_array_equal(out, np.full(out.shape, expected, dtype),
                                              err_msg=f"alpha={alpha} x={x}")


@dtype_param
@pytest.mark.parametrize("name", names("derivative", "backward"))
def test_very_negative_x_derivative_is_zero(name, dtype, target):
    """The true derivative at x <= -800*alpha underflows every dtype to exactly 0."""
    for alpha in alphas_for(name):
        xs = [x for x in very_negative(dtype, 1.0 if alpha is None else alpha) if x <= -800]
        for x in xs:
            out = call_at(name, x, dtype, target, alpha)
            assert np.all(out == 0), (alpha, x, out)


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", names("derivative", "backward"))
def test_derivative_keeps_its_tiny_true_value(name, dtype, target):
    """elu_derivative(-20.0) is about 2.06e-9 in float32 and float64 (relative 1e-6), where
    the from_output forms have already rounded to 0; likewise SELU and CELU (alpha = 1)."""
    exact = math.exp(-20.0)
    factor = {"elu": 1.0, "celu": 1.0, "selu": SELU_SCALE_ALPHA_64}[family(name)]
    grad = 2.5 if kind_of(name) == "backward" else 1.0
    out = call_at(name, -20.0, dtype, target, alpha=1.0)
    np.testing.assert_allclose(out.astype(np.float64), exact * factor * grad, rtol=1e-6)
    assert abs(exact - 2.06e-9) < 0.01e-9


@dtype_param
@pytest.mark.parametrize("name", names("from_output"))
def test_from_output_is_zero_once_y_is_minus_alpha(name, dtype, target):
    """The forward output at very negative x is -alpha exactly; from_output(-alpha) == 0.
    (Round trip through the forward function, so SELU uses numelu's -SELU_SCALE*SELU_ALPHA.)
    The from_output forms lose the derivative's tiny true value there (docs/contract.md §2)."""
    forward = family(name)
    for alpha in alphas_for(name):
        y = call_at(forward, -1e4 if dtype != np.float16 else -6e4, dtype, target,
                 alpha if alpha is not None else 1.0)
        a = dtype(alpha) if alpha is not None else None
        if a is not None:
            np.testing.assert_array_equal(y, np.full(y.shape, -a, dtype))
        out = call_at(name, y, dtype, target, alpha if alpha is not None else 1.0)
        if family(name) == "selu" and dtype == np.float16:
            # float16 rounds -SELU_SCALE*SELU_ALPHA to -1.7578125, 2.9e-4 short of the constant
            # the formula adds (in float32): y + SELU_SCALE*SELU_ALPHA is 2.9e-4, not 0.
            expected = dtype(float(y[0]) + SELU_SCALE_ALPHA_64)
            assert expected != 0
            assert np.all(ulps_apart(out, expected, dtype) <= 1), (out, expected)
            continue
        np.testing.assert_array_equal(out, np.zeros(y.shape, dtype), err_msg=f"alpha={alpha}")


# --------------------------------------------------------------------------- large positive x


@dtype_param
@pytest.mark.parametrize("name", [spec.name for spec in FUNCTIONS])
def test_large_positive_x_is_the_positive_branch(name, dtype, target):
    """x > 0 up to half the largest float: x itself (SELU: SELU_SCALE*x to 2 ulp), derivative 1
    (SELU_SCALE), backward grad * that, although the exp branch, computed for every lane, would
    overflow there (its flags: test_fp_flags.py::test_no_flag_for_finite_input)."""
    kind, fam = kind_of(name), family(name)
    for alpha in alphas_for(name):
        for size in (1, 17):
            for x in large_positive(dtype):
                out = call_at(name, x, dtype, target, alpha if alpha is not None else 1.0,
                           size=size)
                if kind == "forward":
                    expected = dtype(x) if fam != "selu" else dtype(SELU_SCALE_64 * x)
                elif kind == "backward":
                    expected = dtype(2.5 * (1.0 if fam != "selu" else SELU_SCALE_64))
                else:
                    expected = dtype(1.0 if fam != "selu" else SELU_SCALE_64)
                if fam == "selu":
                    assert np.all(ulps_apart(out, expected, dtype) <= 2), (x, out, expected)
                else:
                    np.testing.assert_array_equal(out, np.full(out.shape, expected, dtype),
                                                  err_msg=f"alpha={alpha} x={x}")


# --------------------------------------------------------------------------- flags


# --------------------------------------------------------------------------- array alpha == 0


@dtype_param
@pytest.mark.parametrize("name", [spec.name for spec in FUNCTIONS
                                  if spec.alpha_rule == "nonzero"])
def test_celu_array_alpha_zero_is_no_silent_garbage(name, dtype, target, monkeypatch, spec):
    """A scalar alpha == 0 is a ValueError (docs/contract.md §2); an array alpha holding a 0 cannot
    be refused per element by a ufunc loop, so it must give a clear error or NumPy's IEEE answer at
    the limit (celu -> 0, derivative -> exp(-inf) = 0), never an exception swallowed inside the
    compiled loop with whatever the output buffer held."""
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    x = np.full(17, -1.0, dtype)
    alpha = np.zeros(17, dtype)
    args = [alpha if n == "alpha" else (np.full(17, 2.5, dtype) if n == "grad" else x)
            for n in spec.inputs]
    try:
        with np.errstate(all="ignore"):
            out = getattr(numelu, name)(*args, target=target)
    except (ValueError, ZeroDivisionError, FloatingPointError):
        out = None
    assert not unraisable, [str(u.exc_value) for u in unraisable]
    if out is not None:
        np.testing.assert_array_equal(out, np.zeros(17, dtype))


# --------------------------------------------------------------------------- special scalar alpha


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [math.inf, -math.inf, 0.0, -0.0, math.nan])
@pytest.mark.parametrize("name", ["elu", "elu_derivative", "elu_backward"])
def test_special_alpha_gives_what_the_formula_gives(name, alpha, dtype, target):
    """``alpha * expm1(x)`` / ``alpha * exp(x)`` with alpha = +-inf, +-0 or NaN, for x < 0 down
    to -inf (through exp's subnormal range and past its underflow): +-inf, a zero of the
    product's sign, NaN, exactly as the formula evaluates in ``dtype`` (a fused
    ``s*alpha + t*alpha`` alone would give NaN for inf and +0 for -0; a kernel that returns a
    constant 0 where exp underflows, 0 instead of NaN for inf and -0).

    Skipped: the few binades where exp(x) itself rounds to 0 in ``dtype`` but ``alpha *
    exp(x)`` need not (x in about [-110, -104] in float32, [-752, -745] in float64); the kernel
    keeps exp's unrounded value there, so alpha = inf gives inf, the true value, not NaN."""
    subnormal, underflowed = (100.0, 120.0) if dtype == np.float32 else (740.0, 800.0)
    x = -np.concatenate([np.linspace(0.01, 5.0, 301), np.geomspace(5.0, subnormal, 61),
                         [underflowed, 1e4, np.inf]]).astype(dtype)
    with lenient():
        got = call_at(name, x, dtype, target, alpha)
        core = np.expm1(x) if name == "elu" else np.exp(x)
        expected = dtype(alpha) * core * (dtype(2.5) if name == "elu_backward" else dtype(1))
    same = (got == expected) & (np.signbit(got) == np.signbit(expected))
    assert np.all(same | (np.isnan(got) & np.isnan(expected))), (got[~same][:4], expected[~same][:4])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [-0.5, -3.0, 2.0])
@pytest.mark.parametrize("name", ["elu_derivative", "elu_backward"])
def test_derivative_keeps_the_sign_of_alpha_where_exp_underflows(name, alpha, dtype, target):
    """``alpha * exp(x)`` for x so negative that exp(x) underflows is a zero of alpha's sign."""
    x = -np.array([800.0, 1000.0, 1e4, 1e30, np.inf]) if dtype == np.float64 else \
        -np.array([120.0, 200.0, 1e4, 1e30, np.inf])
    with lenient():
        got = call_at(name, x, dtype, target, alpha)
    np.testing.assert_array_equal(got, 0.0)
    assert np.all(np.signbit(got) == (alpha < 0)), got


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["celu", "celu_derivative", "celu_backward"])
@pytest.mark.parametrize("scale", [0.25, 0.5, 1.0])
@pytest.mark.parametrize("target", ["cpu", "parallel"])
def test_celu_with_a_subnormal_alpha(dtype, name, scale, target):
    """An alpha so small that ``1/alpha`` overflows: ``x / alpha`` is still an ordinary number
    for x of alpha's size, and the results are the formula's (to 1e-4 relative: a subnormal
    alpha carries few bits, and the bound is about gross errors, not ulps), computed in float64
    or long double from the same inputs."""
    tiny = np.finfo(dtype).smallest_subnormal
    alpha = dtype(tiny * 2**20 * scale)                 # 1/alpha overflows in both dtypes
    with np.errstate(over="ignore"):
        assert np.isinf(np.array(1, dtype) / alpha)
    x = -alpha * np.linspace(0.0, 12.0, 3 * 16_384 + 7).astype(dtype)
    call = getattr(getattr(numelu, name), target)
    with np.errstate(all="ignore"):
        got = call(np.ones_like(x), x, alpha) if name.endswith("backward") else call(x, alpha)
        wide, a = x.astype(np.longdouble), np.longdouble(alpha)
        want = a * np.expm1(wide / a) if name == "celu" else np.exp(wide / a)
    want = np.where(wide < 0, want, wide if name == "celu" else 1).astype(dtype)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=0)


def _celu_edge_arguments(dtype) -> np.ndarray:
    """Negative x across every range of CELU's kernels, both zeros, NaN and the infinities,
    shuffled into a run long enough for the vector loops and their remainders."""
    info = np.finfo(dtype)
    magnitudes = [0.0, float(info.smallest_subnormal), 1e-30, 1e-7, 0.5, 1.0, 20.0, 87.0, 100.0,
                  104.0, 110.0, 700.0, 746.0, 800.0, 1e30, float(info.max), math.inf]
    x = np.array([-m for m in magnitudes] + [0.0, 1.0, math.inf, math.nan], dtype=dtype)
    return np.random.default_rng(5).permutation(np.tile(x, 9))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", ["celu", "celu_derivative", "celu_backward"])
@pytest.mark.parametrize("alpha", [0.3, 1.0, 7.5, 1e30, "tiny", "subnormal", "max", math.inf,
                                   -0.3, -7.5, -math.inf, math.nan])
@pytest.mark.parametrize("target", ["cpu", "parallel"])
def test_celu_scalar_alpha_loop_matches_the_general_loop(dtype, name, alpha, target):
    """One alpha for the whole call runs its own loop (for a positive alpha a twin with no
    upper clamp: ``x / alpha <= 0``); it gives the bits and the floating-point warnings of the
    loop that reads alpha per element, whose values the other tests check."""
    info = np.finfo(dtype)
    alpha = dtype({"tiny": info.tiny, "subnormal": info.smallest_subnormal * 2**10,
                   "max": info.max}.get(alpha, alpha))
    x = _celu_edge_arguments(dtype)
    call = getattr(getattr(numelu, name), target)
    results = {}
    for layout, a in (("scalar", alpha), ("array", np.full_like(x, alpha))):
        args = (np.ones_like(x), x, a) if name.endswith("backward") else (x, a)
        with np.errstate(all="warn"), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = call(*args)
        results[layout] = got, sorted({str(w.message) for w in caught})
    np.testing.assert_array_equal(results["scalar"][0], results["array"][0])
    assert results["scalar"][1] == results["array"][1]


def _celu_formula(name: str, grad, x, alpha):
    """CELU's formulas as NumPy evaluates them in x's dtype (no numelu code)."""
    if name == "celu":
        return np.where(x < 0, alpha * np.expm1(x / alpha), x)
    derivative = np.where(x > 0, x.dtype.type(1), np.exp(x / alpha))
    return derivative if name == "celu_derivative" else grad * derivative


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [math.inf, -math.inf, math.nan, 0.0, -0.0])
@pytest.mark.parametrize("name", ["celu", "celu_derivative", "celu_backward"])
def test_celu_special_alpha_gives_what_the_formula_gives(name, alpha, dtype, target):
    """``alpha * expm1(x / alpha)`` / ``exp(x / alpha)`` with alpha = +-inf or NaN (a scalar),
    +-0 (an array: a scalar zero is refused), for x of every size, both zeros, +-inf and NaN:
    the formula's value in ``dtype``, NaN included (``inf * expm1(-0.0)``), not its limit."""
    x = np.concatenate([-np.geomspace(1e-30, 1e30, 61), [-np.inf, -0.0, 0.0, 3.0, np.inf, np.nan]])
    x = x.astype(dtype)
    grad = np.full_like(x, 2.5)
    a = np.full_like(x, alpha) if alpha == 0 else dtype(alpha)
    args = (grad, x, a) if name == "celu_backward" else (x, a)
    with np.errstate(all="ignore"):
        got = getattr(numelu, name)(*args, target=target)
        expected = _celu_formula(name, grad, x, dtype(alpha))
    same = (got == expected) & (np.signbit(got) == np.signbit(expected))
    bad = ~(same | (np.isnan(got) & np.isnan(expected)))
    assert not bad.any(), (x[bad][:4], got[bad][:4], expected[bad][:4])
