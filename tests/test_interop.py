"""numelu on xarray and pandas objects: the caller's type, labels and metadata come back.

Both libraries override ``__array_ufunc__``; numelu hands them its genuine ``numpy.ufunc``, so
they treat a numelu function exactly as they treat ``np.exp``: xarray keeps dims, coords, name and
(by default) attrs and aligns inputs on their coordinates; pandas keeps the index (and columns)
and aligns inputs on their labels.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import args_by_role

import numelu
from numelu._functions import BY_NAME, FUNCTIONS

NAMES = [spec.name for spec in FUNCTIONS]
ALPHA_NAMES = [spec.name for spec in FUNCTIONS if spec.has_alpha]


def data_inputs(name: str, shape, seed: int = 0, dtype=np.float64) -> list[np.ndarray]:
    """The array inputs of ``name`` other than alpha."""
    rng = np.random.default_rng(seed)
    arrays = args_by_role(name, data=lambda: rng.uniform(-4.0, 4.0, shape).astype(dtype),
                          grad=lambda: rng.uniform(-4.0, 4.0, shape).astype(dtype),
                          with_alpha=False)
    arrays[-1].flat[:2] = [0.0, -0.0]
    return arrays


def scalar_alpha(name: str) -> tuple:
    return (0.75,) if BY_NAME[name].has_alpha else ()


# =========================================================================== xarray


@pytest.fixture(scope="module")
def xr():
    return pytest.importorskip("xarray")


def data_array(xr, values: np.ndarray, name: str = "activation"):
    batch, channel = values.shape
    return xr.DataArray(
        values,
        dims=("batch", "channel"),
        coords={
            "batch": np.arange(100, 100 + batch),
            "channel": [f"c{i}" for i in range(channel)],
            "run": ("batch", np.arange(batch) % 3),          # a non-index coordinate
            "note": "scalar coordinate",
        },
        attrs={"units": "V", "source": "test"},
        name=name,
    )


@pytest.mark.parametrize("name", NAMES)
def test_dataarray_comes_back_as_a_dataarray_like_np_exp(xr, name):
    function = getattr(numelu, name)
    arrays = data_inputs(name, (6, 4))
    inputs = [data_array(xr, a) for a in arrays]

    result = function(*inputs, *scalar_alpha(name))

    assert isinstance(result, xr.DataArray)
    # metadata exactly as xarray handles a NumPy ufunc, values those of the compiled ufunc
    expected = np.exp(inputs[-1]).copy(data=function.cpu(*arrays, *scalar_alpha(name)))
    xr.testing.assert_identical(result, expected)
    assert result.attrs == {"units": "V", "source": "test"} and result.name == "activation"


@pytest.mark.parametrize("name", ALPHA_NAMES)
def test_dataarray_alpha_per_channel_is_aligned_on_coordinates(xr, name):
    function = getattr(numelu, name)
    arrays = data_inputs(name, (6, 4), seed=1)
    inputs = [data_array(xr, a) for a in arrays]
    alpha_values = np.array([0.5, 1.0, 1.5, 2.0])
    # the same per-channel alphas, listed in reverse channel order: xarray matches the labels
    alpha = xr.DataArray(alpha_values[::-1], dims="channel",
                         coords={"channel": ["c3", "c2", "c1", "c0"]})

    result = function(*inputs, alpha)

    assert isinstance(result, xr.DataArray) and result.dims == ("batch", "channel")
    assert list(result.channel.values) == ["c0", "c1", "c2", "c3"]
    np.testing.assert_array_equal(result.values, function.cpu(*arrays, alpha_values))


def test_dataarray_keep_attrs_option_is_respected(xr):
    x = data_array(xr, data_inputs("elu", (3, 4))[0])
    with xr.set_options(keep_attrs=False):
        result = numelu.elu(x, 0.5)
        expected_attrs = np.exp(x).attrs
    assert result.attrs == expected_attrs == {}


def test_dataarray_float32_stays_float32(xr):
    x = data_array(xr, data_inputs("celu", (5, 3), dtype=np.float32)[0])
    result = numelu.celu(x, 1.5)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result.values, numelu.celu.cpu(x.values, 1.5))


@pytest.mark.parametrize("name", ["elu", "selu", "celu_backward", "selu_derivative_from_output"])
def test_dataset_comes_back_as_a_dataset_like_np_exp(xr, name):
    function = getattr(numelu, name)
    first, second = (data_array(xr, data_inputs(name, (6, 4), seed=s)[-1]) for s in (2, 3))
    dataset = xr.Dataset(
        {"hidden": first, "output": second.isel(batch=0, drop=True),
         "count": ("batch", np.arange(6))},
        attrs={"title": "layer activations"},
    )
    inputs = [dataset] * (function.nin - BY_NAME[name].has_alpha)

    result = function(*inputs, *scalar_alpha(name))

    assert isinstance(result, xr.Dataset)
    expected = np.exp(dataset).copy()
    for variable in dataset.data_vars:
        values = [dataset[variable].values] * len(inputs)
        expected[variable] = expected[variable].copy(
            data=function.cpu(*values, *scalar_alpha(name)))
    xr.testing.assert_identical(result, expected)
    assert result["count"].dtype == np.float64            # integers cast as for np.exp
    assert result.attrs == {"title": "layer activations"}


def test_dask_backed_dataarray_stays_lazy(xr):
    pytest.importorskip("dask.array")
    x = data_array(xr, data_inputs("elu", (8, 6))[0]).chunk({"batch": 2, "channel": 3})

    result = numelu.elu(x, 0.5)

    assert isinstance(result, xr.DataArray)
    assert result.chunks == ((2, 2, 2, 2), (3, 3))        # still a chunked, lazy array
    expected = np.exp(x.compute()).copy(data=numelu.elu.cpu(x.values, 0.5))
    xr.testing.assert_identical(result.compute(), expected)


def test_apply_ufunc_with_dask_parallelized(xr):
    """The pattern of the docs: xr.apply_ufunc over a chunked array with numelu's dispatcher."""
    pytest.importorskip("dask.array")
    x = data_array(xr, data_inputs("celu", (8, 6))[0]).chunk({"batch": 4})
    result = xr.apply_ufunc(numelu.celu, x, 2.0, dask="parallelized", output_dtypes=[x.dtype],
                            keep_attrs=True)
    np.testing.assert_array_equal(result.compute().values, numelu.celu.cpu(x.values, 2.0))
    assert result.attrs == x.attrs


# =========================================================================== pandas


@pytest.fixture(scope="module")
def pd():
    return pytest.importorskip("pandas")


def series(pd, values: np.ndarray, name="activation"):
    return pd.Series(values, index=[f"r{i}" for i in range(len(values))], name=name)


@pytest.mark.parametrize("name", NAMES)
def test_series_comes_back_as_a_series_with_its_index(pd, name):
    function = getattr(numelu, name)
    arrays = data_inputs(name, 10)
    inputs = [series(pd, a) for a in arrays]

    result = function(*inputs, *scalar_alpha(name))

    assert isinstance(result, pd.Series)
    expected = pd.Series(function.cpu(*arrays, *scalar_alpha(name)), index=inputs[0].index,
                         name="activation")
    pd.testing.assert_series_equal(result, expected)
    assert result.name == np.exp(inputs[-1]).name


def test_series_inputs_are_aligned_on_their_labels(pd):
    x = series(pd, np.array([-1.0, 0.0, 2.0, -3.0]), name="x")
    grad = series(pd, np.array([1.0, 2.0, 3.0, 4.0]), name="grad").iloc[::-1]   # other order
    alpha = series(pd, np.array([0.5, 1.0, 1.5, 2.0]), name="alpha").iloc[[2, 0, 3, 1]]

    result = numelu.elu_backward(grad, x, alpha)

    assert list(result.index) == ["r0", "r1", "r2", "r3"]
    expected = numelu.elu_backward.cpu(np.array([1.0, 2.0, 3.0, 4.0]), x.values,
                                       np.array([0.5, 1.0, 1.5, 2.0]))
    np.testing.assert_array_equal(result.values, expected)
    assert result.name is None                            # names differ: pandas drops it


def test_series_dtypes_follow_numpy_rules(pd):
    assert numelu.selu(pd.Series([1, -2, 3])).dtype == np.float64              # int -> float64
    assert numelu.elu(pd.Series([1.0, -2.0], dtype=np.float32), 0.5).dtype == np.float32
    assert numelu.elu(pd.Series([1.0, -2.0], dtype=np.float32),
                      np.float64(0.5)).dtype == np.float64   # NEP 50: a float64 scalar upcasts


def test_nullable_float_series_keeps_its_missing_values(pd):
    s = pd.Series(pd.array([-1.0, None, 2.0], dtype="Float64"), index=list("abc"))
    result = numelu.elu(s, 0.5)
    assert str(result.dtype) == "Float64"
    assert result.isna().tolist() == [False, True, False]
    np.testing.assert_allclose(result.dropna().to_numpy(dtype=float), [0.5 * np.expm1(-1.0), 2.0])


def test_nullable_and_sparse_series_keep_working(pd):
    """pandas' nullable Float64, Int64 and boolean dtypes (kinds f, i, b) and sparse floats
    pass the dtype check that runs before pandas gets the call."""
    cases = [(pd.array([-1.0, None, 2.0], dtype="Float64"), "Float64"),
             (pd.array([-1, None, 2], dtype="Int64"), "Float64"),
             (pd.array([True, None, False], dtype="boolean"), "Float64"),
             (pd.arrays.SparseArray([0.0, -1.0, 2.0]), "Sparse[float64, nan]")]
    for values, dtype in cases:
        s = pd.Series(values)
        result = numelu.elu(s, 0.5)
        assert str(result.dtype) == dtype
        assert result.isna().tolist() == s.isna().tolist()
        plain = s.dropna().to_numpy(dtype=getattr(s.dtype, "numpy_dtype", float))
        np.testing.assert_array_equal(result.dropna().to_numpy(dtype=float),
                                      numelu.elu.cpu(plain, 0.5))
        np.testing.assert_array_equal(numelu.selu(s).dropna().to_numpy(dtype=float),
                                      numelu.selu.cpu(plain))


def _bad_pandas_values(pd):
    return {
        "complex": (pd.Series([1j, 2.0]), "complex128"),
        "datetime": (pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02"])), "datetime64"),
        "tz datetime": (pd.Series(pd.to_datetime(["2024-01-01"]).tz_localize("UTC")),
                        "datetime64"),
        "timedelta": (pd.Series(pd.to_timedelta(["1s", "2s"])), "timedelta64"),
        "str": (pd.Series(["a", "b"]), str(pd.Series(["a", "b"]).dtype)),
        "object": (pd.Series([object(), 1.0], dtype=object), "object"),
        "category": (pd.Series([1.0, -2.0], dtype="category"), "category"),
        "period": (pd.Series(pd.period_range("2024", periods=2, freq="D")), "period"),
        "dataframe with a complex column": (pd.DataFrame({"a": [1.0], "b": [1j]}), "complex128"),
    }


@pytest.mark.parametrize("case", ["complex", "datetime", "tz datetime", "timedelta", "str",
                                  "object", "category", "period",
                                  "dataframe with a complex column"])
def test_bad_dtype_series_is_numelus_type_error(pd, case, target):
    """docs/contract.md §6 for pandas input: the TypeError names the function and the dtype (pandas
    and NumPy would raise their own generic messages), in any input position."""
    bad, dtype_text = _bad_pandas_values(pd)[case]
    with pytest.raises(TypeError) as error:
        numelu.elu(bad, 0.5, target=target)
    assert "numelu.elu" in str(error.value) and dtype_text in str(error.value)
    assert "input 'x'" in str(error.value)
    with pytest.raises(TypeError) as error:
        numelu.elu_backward(np.ones(2), bad, target=target)
    assert "numelu.elu_backward: input 'x'" in str(error.value)
    with pytest.raises(TypeError, match="numelu.selu"):
        numelu.selu(bad, target=target)


def test_bad_dtype_dataarray_is_numelus_type_error(xr, target):
    bad = xr.DataArray(np.array([1j, 2.0]), dims="t")
    with pytest.raises(TypeError, match=r"numelu\.elu: input 'x' has complex dtype complex128"):
        numelu.elu(bad, 0.5, target=target)
    with pytest.raises(TypeError, match=r"numelu\.elu: input 'alpha' has complex"):
        numelu.elu(xr.DataArray(np.array([-1.0, 2.0]), dims="t"), bad, target=target)
    dataset = xr.Dataset({"a": ("t", [1.0, -1.0]), "b": ("t", [1j, 2.0])})
    with pytest.raises(TypeError, match=r"numelu\.selu: input 'x' has complex"):
        numelu.selu(dataset, target=target)
    with pytest.raises(TypeError, match=r"numelu\.elu: input 'x' has datetime"):
        numelu.elu(xr.DataArray(np.array(["2024-01-01"], dtype="datetime64[D]")),
                   target=target)


@pytest.mark.parametrize("name", NAMES)
def test_dataframe_comes_back_as_a_dataframe(pd, name):
    function = getattr(numelu, name)
    arrays = data_inputs(name, (5, 3), seed=4)
    frames = [pd.DataFrame(a, index=[10, 20, 30, 40, 50], columns=["p", "q", "r"])
              for a in arrays]

    result = function(*frames, *scalar_alpha(name))

    expected = pd.DataFrame(function.cpu(*arrays, *scalar_alpha(name)),
                            index=frames[0].index, columns=frames[0].columns)
    pd.testing.assert_frame_equal(result, expected)


def test_dataframe_per_column_alpha_and_label_alignment(pd):
    x = pd.DataFrame({"p": [-1.0, 0.0, 1.0], "q": [2.0, -2.0, -0.5]}, index=[5, 6, 7])
    grad = x[::-1] * 2.0                                    # rows in the other order
    alpha = np.array([0.5, 2.0])                            # one alpha per column

    result = numelu.elu_backward(grad, x, alpha)

    expected = numelu.elu_backward.cpu(2.0 * x.to_numpy(), x.to_numpy(), alpha)
    pd.testing.assert_frame_equal(result, pd.DataFrame(expected, index=x.index,
                                                       columns=x.columns))


def test_dataframe_of_mixed_dtypes(pd):
    frame = pd.DataFrame({"i": [1, -2, 3], "f": np.array([1.0, -2.0, 3.0], np.float32)})
    result = numelu.selu(frame)
    assert result.dtypes.to_dict() == {"i": np.float64, "f": np.float32}
    np.testing.assert_array_equal(result["f"].to_numpy(),
                                  numelu.selu.cpu(frame["f"].to_numpy()))
