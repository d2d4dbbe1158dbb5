"""docs/contract.md §4, values: every public function gives the float64 NumPy reference's value
for every kind of input -- contiguous and large arrays, broadcasting, per-channel alpha, scalars,
0-d, nested lists, empty arrays, more than 2**31 elements, and random layouts (hypothesis).

Every value test runs through the dispatcher on every CPU target and directly on the genuine
``.cpu`` and ``.parallel`` ufuncs (the ``route`` fixture).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ROUTES, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from ufunc_helpers import (
    FLOATS,
    LARGE,
    NAMES,
    WITH_ALPHA,
    assert_matches,
    data,
    expected_dtype,
    numpy_twin,
    reference,
    scalar_inputs,
)

import numelu
from numelu._functions import BY_NAME

# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", NAMES)
def test_values_contiguous(route, name, dtype):
    inputs = scalar_inputs(name, dtype)
    assert_matches(run(route, name, *inputs), name, *inputs, dtype=dtype)
    arrays = data(name, (37,), dtype, seed=1)
    assert_matches(run(route, name, *arrays), name, *arrays, dtype=dtype)


@pytest.mark.parametrize("dtype", ["f", "d"])
@pytest.mark.parametrize("name", NAMES)
def test_values_large_arrays_threaded_path(route, name, dtype):
    """Above the threaded chunk and the auto threshold: contiguous, scalar and array alpha."""
    inputs = scalar_inputs(name, dtype, n=LARGE)
    assert_matches(run(route, name, *inputs), name, *inputs, dtype=dtype)
    arrays = data(name, (LARGE,), dtype, seed=2)
    assert_matches(run(route, name, *arrays), name, *arrays, dtype=dtype)


@pytest.mark.parametrize("name", NAMES)
def test_default_alpha_is_one(target, name):
    inputs = scalar_inputs(name, alpha=1.0)
    if BY_NAME[name].has_alpha:
        assert_matches(getattr(numelu, name)(*inputs[:-1], target=target), name, *inputs)
    else:
        assert_matches(getattr(numelu, name)(*inputs, target=target), name, *inputs)


# --------------------------------------------------------------------------- broadcasting


@pytest.mark.parametrize("name", NAMES)
def test_broadcasting_between_all_inputs(route, name):
    shapes = [(4, 1, 5), (3, 1), (5,)][: BY_NAME[name].nin]
    inputs = data(name, shapes=shapes)
    result = run(route, name, *inputs)
    assert result.shape == np.broadcast_shapes(*shapes)
    assert_matches(result, name, *inputs)
    inputs = data(name, shapes=[(3, 1), (4, 1, 5), (1, 5)][: BY_NAME[name].nin], dtype="f")
    assert_matches(run(route, name, *inputs), name, *inputs)


@pytest.mark.parametrize("name", WITH_ALPHA)
def test_per_channel_alpha(route, name):
    """An (C, 1, 1) alpha against (N, C, H, W) data: one alpha per channel."""
    rng = np.random.default_rng(3)
    inputs = [v.reshape(2, 3, 4, 5) for v in data(name, (120,), "f")[:-1]]
    alpha = rng.uniform(0.5, 2.0, (3, 1, 1)).astype(np.float32)
    result = run(route, name, *inputs, alpha)
    assert result.shape == (2, 3, 4, 5) and result.dtype == np.float32
    assert_matches(result, name, *inputs, alpha)
    for channel in range(3):   # the same as a scalar alpha per channel
        per = [v[:, channel] for v in inputs]
        expected = run(route, name, *per, alpha[channel, 0, 0])
        np.testing.assert_array_equal(result[:, channel], expected)


@pytest.mark.parametrize("name", NAMES)
def test_broadcast_stride_zero_inputs(route, name):
    inputs = [np.broadcast_to(v[:5], (7, 5)) for v in data(name, (5,))]
    assert_matches(run(route, name, *inputs), name, *inputs)


# --------------------------------------------------------------------------- scalars, lists


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["python", "float64", "float32", "float16", "0d"])
def test_scalar_inputs_give_numpy_scalars(route, name, kind):
    """All-scalar (or 0-d) inputs give a NumPy scalar of the dtype np.exp/np.arctan2 give."""
    raw = [float(v[1]) for v in data(name, (4,), seed=5)]
    make = {"python": float, "float64": np.float64, "float32": np.float32,
            "float16": np.float16, "0d": np.array}[kind]
    inputs = [make(v) for v in raw]
    result = run(route, name, *inputs)
    dtype = expected_dtype(*inputs)
    assert isinstance(result, np.generic) and not isinstance(result, np.ndarray)
    assert result.dtype == dtype
    twin = numpy_twin(len(inputs))
    if twin is not None:
        assert type(result) is type(twin(*inputs))
    assert_matches(result, name, *inputs)


@pytest.mark.parametrize("name", NAMES)
def test_zero_d_input_like_np_exp(route, name):
    inputs = [np.array(v[0]) for v in data(name, (1,), seed=6)]
    result = run(route, name, *inputs)
    assert type(result) is np.float64
    out = np.empty(())
    returned = run(route, name, *inputs, out=out)
    assert returned is out and out.shape == ()
    assert_matches(out, name, *inputs)


@pytest.mark.parametrize("name", NAMES)
def test_nested_lists(route, name):
    inputs = [v.reshape(2, 3).tolist() for v in data(name, (6,))]
    result = run(route, name, *inputs)
    assert type(result) is np.ndarray and result.shape == (2, 3) and result.dtype == np.float64
    assert_matches(result, name, *[np.array(v) for v in inputs])


def test_mixed_python_and_array_inputs(route):
    x = data("elu_backward", (6,), "f")
    result = run(route, "elu_backward", 2, x[1], 0.5)     # Python int grad, Python float alpha
    assert result.dtype == np.float32
    assert_matches(result, "elu_backward", np.float32(2), x[1], np.float32(0.5))
    result = run(route, "elu_backward", [1.0, 2.0], np.float32(-0.5), 1.5)
    assert result.dtype == np.float64 and result.shape == (2,)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shapes", [[(0,)], [(3, 0)], [(0,), (1,)], [(3, 1), (0,)],
                                    [(2, 0, 4), (4,)]])
def test_empty_arrays(route, name, shapes):
    nin = BY_NAME[name].nin
    shapes = (shapes * 3)[:nin]
    inputs = [np.zeros(s, dtype="f") for s in shapes]
    result = run(route, name, *inputs)
    assert result.shape == np.broadcast_shapes(*shapes) and result.dtype == np.float32
    out = np.empty(result.shape, dtype=np.float64)
    assert run(route, name, *inputs, out=out) is out


# --------------------------------------------------------------------------- properties


def _layout(draw, values):
    """``values`` as a view with random steps (negative too), maybe Fortran-ordered."""
    if values.ndim == 0:
        return values.copy()
    steps = [draw(st.sampled_from([1, 1, 2, 3, -1, -2])) for _ in values.shape]
    base_shape = tuple(max(1, n * abs(s)) for n, s in zip(values.shape, steps, strict=True))
    base = np.zeros(base_shape, dtype=values.dtype)
    view = base[tuple(slice(None, None, s) for s in steps)]
    view = view[tuple(slice(0, n) for n in values.shape)]
    if draw(st.booleans()):
        view = np.asfortranarray(view)
    view[...] = values
    return view


@st.composite
def call_cases(draw, name):
    spec = BY_NAME[name]
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=spec.nin, min_dims=0,
                                                    max_dims=4, max_side=5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    inputs = []
    for role, shape in zip(spec.inputs, shapes.input_shapes, strict=True):
        python_ok = role == "alpha" and shape == ()   # a Python float has no shape
        kind = draw(st.sampled_from(["e", "f", "d", "d", "python"] if python_ok
                                    else ["e", "f", "d", "d"]))
        if role == "alpha":
            values = rng.uniform(0.25, 3.0, shape)
        elif role == "grad":
            values = rng.uniform(-3.0, 3.0, shape)
        else:
            values = rng.uniform(-8.0, 5.0, shape) * (rng.random(shape) < 0.9)
        if kind == "python":
            inputs.append(float(rng.uniform(0.25, 3.0)))
        else:
            inputs.append(_layout(draw, np.asarray(values, dtype=kind)))
    return inputs, shapes.result_shape


_PROPERTY = settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("route", ROUTES)
@_PROPERTY
@given(case=st.data())
def test_property_matches_float64_reference(route, case):
    name = case.draw(st.sampled_from(NAMES))
    inputs, shape = case.draw(call_cases(name))
    result = run(route, name, *inputs)
    assert np.shape(result) == shape
    assert np.asarray(result).dtype == expected_dtype(*inputs)
    assert_matches(result, name, *inputs)


@pytest.mark.parametrize("route", ROUTES)
@_PROPERTY
@given(case=st.data())
def test_property_strided_out_and_where(route, case):
    name = case.draw(st.sampled_from(NAMES))
    inputs, shape = case.draw(call_cases(name))
    dtype = expected_dtype(*inputs)
    out = _layout(case.draw, np.full(shape, -7.0, dtype=dtype))
    use_where = case.draw(st.booleans())
    mask = np.random.default_rng(0).random(shape) < 0.5 if use_where else True
    returned = run(route, name, *inputs, out=out, where=mask)
    assert returned is out
    mask = np.broadcast_to(mask, shape)
    selected = [np.broadcast_to(np.asarray(v, dtype=np.float64), shape)[mask] for v in inputs]
    assert_matches(np.asarray(out)[mask], name, *selected, dtype=dtype)
    assert (np.asarray(out)[~mask] == -7.0).all()


@pytest.mark.parametrize("route", ROUTES)
@_PROPERTY
@given(case=st.data())
def test_property_in_place(route, case):
    name = case.draw(st.sampled_from(NAMES))
    inputs, shape = case.draw(call_cases(name))
    candidates = [i for i, v in enumerate(inputs)
                  if isinstance(v, np.ndarray) and v.shape == shape
                  and v.dtype == expected_dtype(*inputs)]
    if not candidates:
        return
    position = case.draw(st.sampled_from(candidates))
    originals = [v.copy() if isinstance(v, np.ndarray) else v for v in inputs]
    run(route, name, *inputs, out=inputs[position])
    assert_matches(inputs[position], name, *originals)


# --------------------------------------------------------------------------- > 2**31 elements


def _available_memory_bytes() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@pytest.mark.slow
@pytest.mark.skipif(_available_memory_bytes() < 40 * 2**30,
                    reason="needs ~20 GiB free memory (runs on a large machine)")
@pytest.mark.parametrize("route", ["cpu", "parallel", "ufunc.cpu", "ufunc.parallel"])
def test_more_than_2_31_elements(route):
    """Indices past 2**31 (int32 overflow) are computed, in place and into a new array."""
    n = 2**31 + 37
    x = np.full(n, -1.0, dtype=np.float32)
    probe = np.array([0, 1, 2**31 - 2, 2**31 - 1, 2**31, 2**31 + 1, n - 1])
    x[probe] = np.linspace(-3, 2, probe.size, dtype=np.float32)
    expected = reference("elu", x[probe], 0.5, dtype="f")
    result = run(route, "elu", x, 0.5)
    assert_matches(result[probe], "elu", x[probe], 0.5)
    del result
    run(route, "elu", x, 0.5, out=x)
    np.testing.assert_allclose(x[probe], expected, rtol=4e-7)
    np.testing.assert_allclose(x[n // 2], 0.5 * np.expm1(-1.0), rtol=4e-7)
