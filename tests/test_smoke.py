import numpy as np

import numelu


def test_elu_matches_float64_reference(target):
    x = np.linspace(-5, 5, 101)
    expected = np.where(x > 0, x, 0.5 * np.expm1(x))
    np.testing.assert_allclose(numelu.elu(x, 0.5, target=target), expected, rtol=2e-16, atol=0)
