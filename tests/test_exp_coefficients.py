"""The polynomial of the CPU exponentials is what its generator makes, and is as accurate as
the generator says (independently of the kernels that use it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest

from numelu import _exp_coefficients

ROOT = Path(__file__).resolve().parent.parent


def test_module_is_the_generators_output():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "exp_coefficients.py"),
                           "--check"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("coefficients", "dtype", "bound"), [
    (_exp_coefficients.FLOAT32, np.float32, 2.0**-28),
    (_exp_coefficients.FLOAT64, np.float64, 2.0**-59),
])
def test_expm1_from_the_polynomial(coefficients, dtype, bound):
    """``r + r**2 * Q(r)`` with Q's coefficients rounded to the float type, evaluated exactly
    (mpmath), is ``expm1(r)`` to within ``bound`` relative, over the reduced range: a small
    fraction of the float's unit roundoff (2**-24, 2**-53).  For float32 the rounding of the
    coefficients themselves dominates the fit's own error."""
    mpmath.mp.dps = 50
    rounded = [mpmath.mpf(float(dtype(c))) for c in coefficients]
    worst = mpmath.mpf(0)
    for r in mpmath.linspace(-0.35, 0.35, 701):
        if r == 0:
            continue
        q = mpmath.mpf(0)
        for c in rounded:
            q = q * r + c
        worst = max(worst, abs((r + r * r * q) / mpmath.expm1(r) - 1))
    assert worst < bound
