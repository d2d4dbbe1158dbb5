"""``python -m numelu accuracy``'s error measure (numelu/_accuracy.py): ulps of the exact value."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from numelu._accuracy import _ulp_error_f32, _ulp_error_f64


def test_float32_error_is_in_ulps_of_the_exact_value_below_a_power_of_two():
    """1 - 2**-30 rounds up to 1.0 in float32, whose spacing (2**-23) is twice the ulp of the
    exact value (2**-24): measured against the rounded value, the error would read 0.49."""
    got = _ulp_error_f32(np.array([1 - 2**-24], np.float32), np.array([1 - 2**-30]))
    assert got == pytest.approx(1 - 2**-6)


def test_float64_error_is_in_ulps_of_the_exact_value_below_a_power_of_two():
    with mpmath.workprec(120):
        exact = mpmath.mpf(1) - mpmath.mpf(2) ** -60
    got = _ulp_error_f64(np.array([1 - 2**-53]), [exact])
    assert got == pytest.approx(1 - 2**-7)


@pytest.mark.parametrize(("result", "reference", "expected"), [
    (2.0**-149, 0.0, 1.0),                      # a zero's ulp is the smallest subnormal
    (2.0**-148, 2.0**-149, 1.0),                # subnormal: a fixed grid
    (1.5, 1.5, 0.0),
    (np.float32(3.0) + np.float32(2.0**-22), 3.0, 1.0),
])
def test_float32_error_in_ulps(result, reference, expected):
    got = _ulp_error_f32(np.array([result], np.float32), np.array([reference]))
    assert got == pytest.approx(expected)
