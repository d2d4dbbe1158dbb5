"""docs/contract.md §4, ``out=`` and ``where=``: as NumPy's ufuncs take them -- tuples, in place
on every input, overlapping an input, strided, reversed and Fortran-ordered outputs, masks.

Checked against the float64 reference and against a NumPy ufunc with the same loops.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import run
from ufunc_helpers import (
    FLOATS,
    LARGE,
    NAMES,
    assert_matches,
    data,
    numpy_twin,
    outcome,
    reference,
    scalar_inputs,
)

from numelu._functions import BY_NAME

# --------------------------------------------------------------------------- out=


@pytest.mark.parametrize("name", NAMES)
def test_out_array_tuple_and_positional(route, name):
    inputs = scalar_inputs(name)
    expected = run(route, name, *inputs)
    for how in ("keyword", "tuple", "positional"):
        out = np.full(37, np.nan)
        if how == "keyword":
            returned = run(route, name, *inputs, out=out)
        elif how == "tuple":
            returned = run(route, name, *inputs, out=(out,))
        else:
            returned = run(route, name, *inputs, out)
        assert returned is out, how
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("name", NAMES)
def test_out_none_and_none_tuple_allocate(route, name):
    inputs = scalar_inputs(name)
    expected = run(route, name, *inputs)
    np.testing.assert_array_equal(run(route, name, *inputs, out=None), expected)
    np.testing.assert_array_equal(run(route, name, *inputs, out=(None,)), expected)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", NAMES)
def test_in_place_on_every_array_input(route, name, dtype):
    for position in range(BY_NAME[name].nin):
        inputs = data(name, (41,), dtype, seed=position)
        originals = [v.copy() for v in inputs]
        target_array = inputs[position]
        returned = run(route, name, *inputs, out=target_array)
        assert returned is target_array
        assert_matches(target_array, name, *originals)


@pytest.mark.parametrize("name", NAMES)
def test_in_place_large(route, name):
    inputs = scalar_inputs(name, "f", n=LARGE)
    original = inputs[0].copy()
    run(route, name, *inputs, out=inputs[0])
    assert_matches(inputs[0], name, original, *inputs[1:])


@pytest.mark.parametrize("shift", [1, -1, 3])
@pytest.mark.parametrize("name", NAMES)
def test_out_overlapping_an_input(route, name, shift):
    """``out`` overlapping the first input, shifted: the result is as if there were no overlap."""
    n = 50
    for position in range(BY_NAME[name].nin):
        inputs = data(name, (n + abs(shift),), seed=7)
        base = inputs[position]
        if shift > 0:
            view, out = base[shift:], base[:-shift]
        else:
            view, out = base[:shift], base[-shift:]
        inputs = [v[: n] for v in inputs]
        inputs[position] = view
        copies = [v.copy() for v in inputs]
        expected = run(route, name, *copies)
        run(route, name, *inputs, out=out)
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("n", [11, 64, LARGE])
@pytest.mark.parametrize("name", NAMES)
def test_strided_and_reversed_out_with_contiguous_inputs(route, name, n):
    """The fault of Numba's own ufunc loops (docs/design.md, Numba's ufuncs) must not be here."""
    for dtype in ("f", "d"):
        inputs = scalar_inputs(name, dtype, n=n)
        for step in (2, -1, -3):
            z = np.full(n * abs(step), -7.0, dtype=dtype)
            view = z[::step] if step > 0 else z[::step][:n]
            returned = run(route, name, *inputs, out=view)
            assert returned is view
            assert_matches(view, name, *inputs, dtype=dtype)
            untouched = np.ones(z.shape, bool)
            untouched[np.arange(z.size)[::step][:n]] = False
            assert (z[untouched] == -7.0).all(), f"wrote outside out (step {step})"
        arrays = data(name, (n,), dtype, seed=8)        # array alpha, strided out
        z = np.full(2 * n, -7.0, dtype=dtype)
        run(route, name, *arrays, out=z[::2])
        assert_matches(z[::2], name, *arrays, dtype=dtype)
        assert (z[1::2] == -7.0).all()


@pytest.mark.parametrize("name", NAMES)
def test_fortran_and_transposed_out(route, name):
    inputs = [v.reshape(6, 7) for v in data(name, (42,))]
    out = np.zeros((7, 6)).T
    assert run(route, name, *inputs, out=out) is out
    assert_matches(out, name, *inputs)


# --------------------------------------------------------------------------- where=


@pytest.mark.parametrize("name", NAMES)
def test_where_with_out_keeps_untouched_elements(route, name):
    inputs = data(name, (3, 37))
    mask = np.random.default_rng(9).random(37) < 0.5       # broadcast against (3, 37)
    out = np.full((3, 37), -7.0)
    returned = run(route, name, *inputs, out=out, where=mask)
    assert returned is out
    full = reference(name, *inputs, dtype="d")
    np.testing.assert_allclose(out[:, mask], full[:, mask], rtol=1e-14, atol=1e-14)
    assert (out[:, ~mask] == -7.0).all()
    out[...] = -7.0
    run(route, name, *inputs, out=out, where=False)
    assert (out == -7.0).all()
    run(route, name, *inputs, out=out, where=True)
    assert_matches(out, name, *inputs)


@pytest.mark.parametrize("name", NAMES)
def test_where_without_out_like_numpy(route, name):
    """Only the selected elements are defined; NumPy's warning (if any) is the same."""
    inputs = scalar_inputs(name, n=40)
    mask = np.arange(40) % 3 == 0
    twin = numpy_twin(min(BY_NAME[name].nin, 2))
    _, numpy_warnings = outcome(twin, *inputs[:2], where=mask)
    result, our_warnings = outcome(run, route, name, *inputs, where=mask)
    assert our_warnings == numpy_warnings
    assert_matches(np.asarray(result)[mask], name, *[np.asarray(v)[mask] if np.ndim(v) else v
                                                     for v in inputs])
    # out=None given explicitly: NumPy's documented way to say "uninitialised is intended"
    _, numpy_warnings = outcome(twin, *inputs[:2], where=mask, out=None)
    result, our_warnings = outcome(run, route, name, *inputs, where=mask, out=None)
    assert our_warnings == numpy_warnings == []


@pytest.mark.parametrize("name", NAMES)
def test_where_large_strided(route, name):
    inputs = scalar_inputs(name, "f", n=LARGE)
    mask = np.random.default_rng(10).random(LARGE) < 0.7
    z = np.full(2 * LARGE, -7.0, dtype=np.float32)
    run(route, name, *inputs, out=z[::2], where=mask)
    selected = [np.asarray(v)[mask] if np.ndim(v) else v for v in inputs]
    assert_matches(z[::2][mask], name, *selected, dtype="f")
    assert (z[::2][~mask] == -7.0).all() and (z[1::2] == -7.0).all()
