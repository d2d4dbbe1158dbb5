"""numelu on Dask: lazy chunked arrays, the threaded scheduler, and a real multi-process cluster.

A numelu function handed a ``dask.array.Array`` routes it to the genuine ``numpy.ufunc`` (``.cpu``),
whose ``__array_ufunc__`` protocol lets Dask build a lazy graph; every chunk then runs numelu's
compiled loop.  The ufunc and the dispatcher pickle by reference, so a worker process imports
numelu and loads the kernels from Numba's on-disk cache instead of recompiling them.
"""

from __future__ import annotations

import collections
import itertools
import pickle
import time

import numpy as np
import pytest
from helpers import args_by_role

import numelu
from numelu._functions import BY_NAME, FUNCTIONS
from numelu._reference import numpy_reference

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

# Shutting down a LocalCluster can leave a socket or event loop for the garbage collector; only
# those teardown warnings are tolerated, and only in this module (none were seen on the
# reference machine, but distributed can emit them when a teardown is slow).
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed <socket:ResourceWarning"),
    pytest.mark.filterwarnings("ignore:unclosed event loop:ResourceWarning"),
]

NAMES = [spec.name for spec in FUNCTIONS]
ALPHA_NAMES = [spec.name for spec in FUNCTIONS if spec.has_alpha]

RTOL, ATOL = 1e-13, 1e-15   # float64 reference vs numelu: a few ulp either way


def numpy_inputs(name: str, shape, seed: int = 0, dtype=np.float64) -> list[np.ndarray]:
    """The array inputs of ``name`` (everything but alpha) as NumPy arrays."""
    rng = np.random.default_rng(seed)
    draws = {
        "x": lambda: rng.uniform(-8.0, 6.0, shape),
        "y": lambda: rng.uniform(-1.5, 6.0, shape),     # roughly the range of the outputs
        "grad": lambda: rng.uniform(-2.0, 2.0, shape),
    }
    arrays = [a.astype(dtype) for a in args_by_role(name, data=draws["x"], y=draws["y"],
                                                     grad=draws["grad"], with_alpha=False)]
    arrays[-1].flat[:3] = [0.0, -0.0, 1.0]              # the branch points are included
    return arrays


def alpha_values(shape, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape)


def assert_matches_reference(name, values, *numpy_args):
    expected = numpy_reference(name, numpy_args)
    np.testing.assert_allclose(values, expected, rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- lazy inputs

_LOADS: collections.Counter = collections.Counter()
_TAGS = itertools.count()


def _load(tag: int, block: np.ndarray) -> np.ndarray:
    _LOADS[tag] += 1
    return block


def counted_dask_array(values: np.ndarray, chunk: int) -> tuple[da.Array, int]:
    """A 1-D Dask array built from delayed loads that count their calls (keyed by a tag)."""
    tag = next(_TAGS)
    blocks = [
        da.from_delayed(dask.delayed(_load, pure=False)(tag, values[i:i + chunk]),
                        shape=values[i:i + chunk].shape, dtype=values.dtype)
        for i in range(0, len(values), chunk)
    ]
    return da.concatenate(blocks), tag


def graph_functions(array: da.Array) -> set:
    """The callables that the tasks of ``array``'s graph run."""
    functions = set()
    for task in dict(array.__dask_graph__()).values():
        function = getattr(task, "func", None)              # dask >= 2024.12: Task objects
        if function is None and isinstance(task, tuple) and task and callable(task[0]):
            function = task[0]                                # older dask: (func, *args) tuples
        if function is not None:
            functions.add(function)
    return functions


# --------------------------------------------------------------------------- lazy, local


@pytest.mark.parametrize("name", NAMES)
def test_dask_input_stays_lazy_and_each_chunk_runs_the_compiled_ufunc(name):
    function = getattr(numelu, name)
    n, chunk = 1000, 300                                    # 4 chunks, the last one short
    arrays = numpy_inputs(name, n)
    lazy, tags = zip(*(counted_dask_array(a, chunk) for a in arrays), strict=True)
    alpha = (0.75,) if BY_NAME[name].has_alpha else ()

    result = function(*lazy, *alpha)

    assert isinstance(result, da.Array)
    assert sum(_LOADS[t] for t in tags) == 0, "calling the function computed its input"
    assert result.chunks == ((300, 300, 300, 100),)
    assert result.dtype == np.float64
    assert function.cpu in graph_functions(result)          # the genuine compiled ufunc
    assert isinstance(function.cpu, np.ufunc)

    values = result.compute(scheduler="sync")

    assert [_LOADS[t] for t in tags] == [4] * len(tags)     # each chunk loaded exactly once
    assert type(values) is np.ndarray and values.dtype == np.float64
    assert_matches_reference(name, values, *arrays, *alpha)
    # bit for bit what the compiled ufunc gives on the whole NumPy array
    np.testing.assert_array_equal(values, function.cpu(*arrays, *alpha))


@pytest.mark.parametrize("name", ALPHA_NAMES)
def test_alpha_as_a_dask_array_per_element_with_other_chunks(name):
    function = getattr(numelu, name)
    n = 1000
    arrays = numpy_inputs(name, n)
    alpha = alpha_values(n)
    lazy_arrays = [da.from_array(a, chunks=300) for a in arrays]
    lazy_alpha, tag = counted_dask_array(alpha, 250)       # chunks unlike the data's

    result = function(*lazy_arrays, lazy_alpha)

    assert isinstance(result, da.Array) and _LOADS[tag] == 0
    assert result.npartitions > 1
    values = result.compute(scheduler="sync")
    assert _LOADS[tag] == 4
    assert_matches_reference(name, values, *arrays, alpha)
    np.testing.assert_array_equal(values, function.cpu(*arrays, alpha))


@pytest.mark.parametrize("name", ALPHA_NAMES)
def test_alpha_as_a_dask_array_per_channel_broadcast(name):
    function = getattr(numelu, name)
    shape = (40, 24)                                        # (batch, channel)
    arrays = numpy_inputs(name, shape, seed=3)
    alpha = alpha_values(shape[1], seed=4)                  # one alpha per channel
    lazy_arrays = [da.from_array(a, chunks=(10, 8)) for a in arrays]
    lazy_alpha = da.from_array(alpha, chunks=6)

    result = function(*lazy_arrays, lazy_alpha)

    assert isinstance(result, da.Array)
    assert result.shape == shape and result.numblocks[0] == 4 and result.numblocks[1] > 1
    values = result.compute(scheduler="sync")
    assert_matches_reference(name, values, *arrays, alpha)
    np.testing.assert_array_equal(values, function.cpu(*arrays, alpha))


@pytest.mark.parametrize("name", NAMES)
def test_float32_chunks_stay_float32(name):
    function = getattr(numelu, name)
    arrays = numpy_inputs(name, 500, seed=5, dtype=np.float32)
    alpha = (1.25,) if BY_NAME[name].has_alpha else ()       # a Python float: no upcast (NEP 50)

    result = function(*[da.from_array(a, chunks=128) for a in arrays], *alpha)

    assert result.dtype == np.float32                       # known before computing
    values = result.compute(scheduler="sync")
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values, function.cpu(*arrays, *alpha))
    expected = numpy_reference(name, [*arrays, *alpha])
    np.testing.assert_allclose(values, expected, rtol=2e-6, atol=1e-7)


def test_threaded_scheduler_many_chunks_at_once():
    """Chunks run concurrently in Dask's thread pool (the compiled loops release the GIL)."""
    n = 1 << 20
    x = np.random.default_rng(6).uniform(-10.0, 10.0, n)
    lazy = da.from_array(x, chunks=n // 32)
    results = dask.compute(numelu.elu(lazy, 0.5), numelu.celu_backward(lazy, lazy, 1.5),
                           numelu.selu(lazy), scheduler="threads", num_workers=4)
    assert_matches_reference("elu", results[0], x, 0.5)
    assert_matches_reference("celu_backward", results[1], x, x, 1.5)
    assert_matches_reference("selu", results[2], x)


def test_dask_result_feeds_further_dask_operations():
    x = np.linspace(-4.0, 4.0, 4001)
    lazy = da.from_array(x, chunks=1000)
    y = numelu.elu(lazy, 1.0)
    grad = numelu.elu_derivative_from_output(y, 1.0)
    total = (grad * numelu.elu_derivative(lazy, 1.0)).sum()
    expected = np.sum(numpy_reference("elu_derivative", [x, 1.0]) ** 2)
    np.testing.assert_allclose(total.compute(scheduler="sync"), expected, rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_functions_and_ufuncs_pickle_by_reference(name):
    cloudpickle = pytest.importorskip("cloudpickle")
    function = getattr(numelu, name)
    for dumps in (pickle.dumps, cloudpickle.dumps):
        assert pickle.loads(dumps(function)) is function
        payload = dumps(function.cpu)
        assert b"numelu._ufuncs_cpu" in payload and len(payload) < 200   # a name, not code
        assert pickle.loads(payload) is function.cpu


def test_scalar_alpha_is_checked_for_dask_input():
    lazy = da.from_array(np.linspace(-1.0, 1.0, 10), chunks=5)
    with pytest.raises(ValueError, match="alpha"):
        numelu.celu(lazy, 0.0)
    with pytest.raises(ValueError, match="alpha"):
        numelu.elu_derivative_from_output(lazy, -1.0)


@pytest.mark.parametrize("values, text", [
    (np.array([1j, 2.0]), "complex dtype complex128"),
    (np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]"), "datetime dtype datetime64"),
    (np.array([1, 2], dtype="timedelta64[s]"), "timedelta dtype timedelta64"),
    (np.array(["a", "b"]), "string dtype <U1"),
], ids=["complex", "datetime", "timedelta", "string"])
@pytest.mark.parametrize("target", ["auto", "cpu", "parallel"])
def test_bad_dtype_dask_array_is_numelus_type_error(values, text, target):
    """docs/contract.md §6 for Dask input: the ndarray path's TypeError, raised at once (not Dask's
    "operand type(s) all returned NotImplemented"), for every input position."""
    lazy = da.from_array(values, chunks=1)
    good = da.from_array(np.array([-1.0, 2.0]), chunks=1)
    with pytest.raises(TypeError, match=rf"numelu\.elu: input 'x' has {text}"):
        numelu.elu(lazy, 0.5, target=target)
    with pytest.raises(TypeError, match=rf"numelu\.elu: input 'alpha' has {text}"):
        numelu.elu(good, lazy, target=target)
    with pytest.raises(TypeError, match=rf"numelu\.celu_backward: input 'grad' has {text}"):
        numelu.celu_backward(lazy, good, 2.0, target=target)
    with pytest.raises(TypeError, match=rf"numelu\.selu: input 'x' has {text}"):
        numelu.selu(lazy, target=target)
    with pytest.raises(TypeError, match=rf"numelu\.elu: input 'x' has {text}"):
        numelu.elu.outer(lazy, np.ones(2), target=target)


@pytest.mark.parametrize("target", ["auto", "cpu", "parallel"])
def test_target_picks_the_ufunc_dask_gets(target, monkeypatch):
    """target="parallel" (argument, config() or NUMELU_TARGET) hands Dask the threaded ufunc;
    "auto" and "cpu" the serial one (Dask calls it once per chunk)."""
    handed = []
    original = da.Array.__array_ufunc__

    def recording(self, ufunc, method, *inputs, **kwargs):
        handed.append(ufunc)
        return original(self, ufunc, method, *inputs, **kwargs)

    monkeypatch.setattr(da.Array, "__array_ufunc__", recording)
    expected = numelu.elu.parallel if target == "parallel" else numelu.elu.cpu
    x = np.linspace(-3, 3, 1000)
    lazy = da.from_array(x, chunks=250)
    results = [numelu.elu(lazy, 0.5, target=target)]
    with numelu.config(target=target):
        results.append(numelu.elu(lazy, 0.5))
    monkeypatch.setenv("NUMELU_TARGET", target)
    numelu._config.reload_environment()
    try:
        results.append(numelu.elu(lazy, 0.5))
    finally:
        monkeypatch.delenv("NUMELU_TARGET")
        numelu._config.reload_environment()
    assert len(handed) == 3 and all(ufunc is expected for ufunc in handed)
    for result in results:
        np.testing.assert_array_equal(result.compute(), numelu.elu.cpu(x, 0.5))


@pytest.mark.parametrize("name", NAMES)
def test_loops_accept_any_values_as_dask_dtype_inference_feeds_them(name, monkeypatch):
    """Dask infers a result dtype by calling the ufunc on ``np.empty`` data -- any bits at all,
    zeros included -- under ``np.errstate(all="ignore")``.  The compiled loop must not raise: an
    exception inside a Numba cfunc is only printed ("Exception ignored") and the loop stops
    with its output unwritten."""
    function = getattr(numelu, name)
    special = [0.0, -0.0, 1.0, -1.0, -0.5, np.inf, -np.inf, np.nan, 1e308, -1e308, 5e-324]
    grid = [g.ravel() for g in np.meshgrid(*[np.array(special)] * function.nin, indexing="ij")]
    sentinel = 12345.678                       # no input combination gives this value
    out = np.full(grid[0].shape, sentinel)
    unraisable = []
    monkeypatch.setattr("sys.unraisablehook", unraisable.append)

    with np.errstate(all="ignore"):
        function.cpu(*grid, out=out)

    assert [str(u.exc_value) for u in unraisable] == []
    assert not np.any(out == sentinel), "the loop stopped before writing all of its output"


@pytest.mark.gpu
def test_cupy_backed_dask_array():
    cupy = pytest.importorskip("cupy")
    from numba import cuda

    if not cuda.is_available():
        pytest.skip("no usable CUDA GPU")
    x = np.linspace(-5.0, 5.0, 4000)
    lazy = da.from_array(cupy.asarray(x), chunks=1000, asarray=False)
    assert isinstance(lazy._meta, cupy.ndarray)

    for name in NAMES:
        function = getattr(numelu, name)
        arrays = numpy_inputs(name, x.size)
        alpha = (0.75,) if BY_NAME[name].has_alpha else ()
        lazy_arrays = [da.from_array(cupy.asarray(a), chunks=1000, asarray=False) for a in arrays]
        result = function(*lazy_arrays, *alpha)
        assert isinstance(result, da.Array)
        values = result.compute(scheduler="sync")
        assert isinstance(values, cupy.ndarray), name      # stays on the device
        assert_matches_reference(name, cupy.asnumpy(values), *arrays, *alpha)


# --------------------------------------------------------------------------- a real cluster


def _worker_functions():
    """Functions run on the workers with ``client.run``.

    They are defined locally so that cloudpickle ships them by value: shipping a reference to this
    test module would make a worker import it -- and numelu with it -- before the measurement.
    """

    def loaded_modules():
        import sys

        return {name: name in sys.modules for name in ("numba", "numelu")}

    def build_report():
        import sys
        import time

        from numba.core import event

        import numelu

        # a built cpu ufunc is published as numelu._ufuncs_cpu.<name> (where pickle finds it)
        published = vars(sys.modules["numelu._ufuncs_cpu"])
        before = {name: name in published for name in numelu.FUNCTIONS_BY_NAME}
        with event.install_recorder("numba:compile") as recorder:
            start = time.perf_counter()
            ufuncs = [function.cpu for function in numelu.FUNCTIONS_BY_NAME.values()]
            seconds = time.perf_counter() - start
        assert len(ufuncs) == 12
        return {"already_built": sorted(name for name, done in before.items() if done),
                "build_seconds": seconds, "compile_events": len(recorder.buffer)}

    return loaded_modules, build_report


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two worker processes on loopback, and the first-task latency on it."""
    distributed = pytest.importorskip("distributed")
    # Compile (or load) every kernel here first, so that the on-disk cache is warm.
    assert all(isinstance(function.cpu, np.ufunc) for function in numelu.FUNCTIONS_BY_NAME.values())
    loaded_modules, build_report = _worker_functions()

    local_cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, worker_dashboard_address=None,
    )
    try:
        client = distributed.Client(local_cluster, timeout="60s")
        try:
            client.wait_for_workers(2, timeout=60)
            fresh = client.run(loaded_modules)
            da.ones(8, chunks=2).sum().compute()             # connections set up, no numelu

            def timed_elu(start):
                lazy = da.from_array(np.linspace(start, 5.0, 80_000), chunks=10_000)
                began = time.perf_counter()
                values = numelu.elu(lazy, 0.5).compute()
                return time.perf_counter() - began, values

            first, values = timed_elu(-5.0)                  # imports numelu, loads kernels
            second, _ = timed_elu(-4.0)                      # warm
            yield {
                "client": client,
                "fresh_modules": fresh,
                "first_seconds": first,
                "second_seconds": second,
                "first_values": values,
                "after_first": client.run(loaded_modules),
                "build_report": client.run(build_report),
            }
        finally:
            client.close(timeout=30)
    finally:
        local_cluster.close(timeout=30)


def test_first_task_on_fresh_workers_is_fast(cluster):
    fresh = cluster["fresh_modules"]
    assert len(fresh) == 2
    latency = cluster["first_seconds"] - cluster["second_seconds"]
    print(f"\nfresh workers had numba/numelu imported: {fresh}")
    assert not any(state["numelu"] for state in fresh.values()), "workers were not fresh"
    print(f"first numelu compute {cluster['first_seconds']:.3f} s, warm one "
          f"{cluster['second_seconds']:.3f} s: first-task latency {latency:.3f} s")
    np.testing.assert_allclose(cluster["first_values"],
                               numpy_reference("elu", [np.linspace(-5.0, 5.0, 80_000), 0.5]),
                               rtol=RTOL, atol=ATOL)
    assert all(state["numelu"] for state in cluster["after_first"].values())
    assert latency < 10.0, f"first task on fresh workers took {latency:.1f} s extra"


def test_workers_load_kernels_from_the_disk_cache(cluster):
    for worker, report in cluster["build_report"].items():
        print(f"\n{worker}: built {12 - len(report['already_built'])} more cpu ufuncs in "
              f"{report['build_seconds']:.3f} s with {report['compile_events']} Numba compiles "
              f"(already built by the first task: {report['already_built']})")
        assert report["compile_events"] == 0, f"{worker} recompiled numelu's kernels"
        assert "elu" in report["already_built"]


@pytest.mark.parametrize("name", NAMES)
def test_every_function_on_the_cluster(cluster, name):
    client = cluster["client"]
    function = getattr(numelu, name)
    n = 6000
    arrays = numpy_inputs(name, n, seed=7)
    lazy = [da.from_array(a, chunks=1500) for a in arrays]
    if BY_NAME[name].has_alpha:
        alpha = alpha_values(n, seed=8)
        results = client.compute([function(*lazy, 0.75),
                                  function(*lazy, da.from_array(alpha, chunks=2000))])
        scalar_alpha, array_alpha = client.gather(results, errors="raise")
        assert_matches_reference(name, scalar_alpha, *arrays, 0.75)
        assert_matches_reference(name, array_alpha, *arrays, alpha)
    else:
        values = client.compute(function(*lazy)).result(timeout=60)
        assert_matches_reference(name, values, *arrays)


def test_functions_submitted_to_workers_pickle_by_reference(cluster):
    client = cluster["client"]
    x = np.linspace(-3.0, 3.0, 101)
    futures = [client.submit(getattr(numelu, name), *numpy_inputs(name, 101, seed=9), pure=False)
               for name in NAMES]
    for name, future in zip(NAMES, futures, strict=True):
        values = future.result(timeout=60)
        arrays = numpy_inputs(name, 101, seed=9)
        alpha = (1.0,) if BY_NAME[name].has_alpha else ()   # the default alpha
        assert_matches_reference(name, values, *arrays, *alpha)
    ufunc_future = client.submit(numelu.celu.cpu, x, 2.0)
    assert_matches_reference("celu", ufunc_future.result(timeout=60), x, 2.0)
