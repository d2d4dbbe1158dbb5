"""The CPU fast path allocates nothing but the result (nothing at all with out=)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import numelu


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_path_allocates_only_the_result(target, dtype):
    x = np.random.default_rng(0).standard_normal(1_000_000).astype(dtype)
    out = np.empty_like(x)
    numelu.elu(x, 0.5, out=out, target=target)             # compile and warm up outside
    numelu.elu_backward(x, x, 0.5, out=out, target=target)
    tracemalloc.start()
    try:
        numelu.elu(x, 0.5, out=out, target=target)
        numelu.elu_backward(x, x, 0.5, out=out, target=target)
        _, peak_with_out = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = numelu.elu(x, 0.5, target=target)
        _, peak_allocating = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_with_out < 4096                      # no temporary array, only Python objects
    assert result.nbytes <= peak_allocating < result.nbytes + 4096
