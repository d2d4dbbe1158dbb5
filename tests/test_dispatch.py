"""docs/contract.md §5: how each call picks its target, and the overrides.

Which compiled ufunc ran is observed with a spy on both ways the dispatcher reaches one: the
general path's ``ElementwiseFunction._ufunc`` and the fast path's table of built CPU ufuncs
(``_cpu_ufuncs``); results are always checked too (never timings).
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

import numelu
from numelu import _config, _dispatch, _gate

VALID_TARGETS = ("auto", "cpu", "parallel", "cuda")


def elu_reference(x, alpha=1.0):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        return np.where(x < 0, alpha * np.expm1(x), x)


def assert_elu(result, x, alpha=1.0):
    np.testing.assert_allclose(result, elu_reference(x, alpha), rtol=4e-16, atol=1e-300)


class _RecordingUfuncs(dict):
    """A function's ``_cpu_ufuncs`` that records each hit of the fast path's ``get``; ufuncs
    built meanwhile are written through to the real table."""

    def __init__(self, calls: list[str], table: dict) -> None:
        super().__init__(table)
        self.calls, self.table = calls, table

    def get(self, target, default=None):
        ufunc = super().get(target, default)
        if ufunc is not None:
            self.calls.append(target)
        return ufunc

    def __setitem__(self, target, ufunc) -> None:
        super().__setitem__(target, ufunc)
        self.table[target] = ufunc


@pytest.fixture
def spy(monkeypatch):
    """The targets of the compiled ufuncs the dispatcher called, in order."""
    calls: list[str] = []
    original = _dispatch.ElementwiseFunction._ufunc

    def recording(self, target):
        calls.append(target)
        return original(self, target)

    monkeypatch.setattr(_dispatch.ElementwiseFunction, "_ufunc", recording)
    for function in numelu.FUNCTIONS_BY_NAME.values():
        monkeypatch.setattr(function, "_cpu_ufuncs",
                            _RecordingUfuncs(calls, function._cpu_ufuncs))
    return calls


@pytest.fixture
def environment(monkeypatch):
    """Set NUMELU_* variables for one test; the settings are re-read before and after."""

    def set_environment(**variables):
        for name, value in variables.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        return _config.reload_environment()

    monkeypatch.delenv("NUMELU_TARGET", raising=False)
    monkeypatch.delenv("NUMELU_PARALLEL_THRESHOLD", raising=False)
    _config.reload_environment()
    yield set_environment
    monkeypatch.undo()
    _config.reload_environment()


@pytest.fixture
def x_small():
    return np.linspace(-4, 4, 101)


@pytest.fixture
def x_large():
    return np.linspace(-4, 4, 300_007)


# --------------------------------------------------------------------------- target=


@pytest.mark.parametrize("chosen", ["cpu", "parallel"])
def test_target_argument_picks_that_ufunc(spy, x_small, x_large, chosen):
    for x in (x_small, x_large):
        spy.clear()
        assert_elu(numelu.elu(x, 0.5, target=chosen), x, 0.5)
        assert spy == [chosen]


def test_auto_picks_by_size(spy, environment, x_small, x_large):
    assert_elu(numelu.elu(x_small, target="auto"), x_small)
    assert_elu(numelu.elu(x_large, target="auto"), x_large)
    assert spy == ["cpu", "parallel"]


@pytest.mark.parametrize("name", ["elu", "elu_derivative_from_output"])
def test_auto_threshold_boundary_per_kernel_kind(spy, environment, name):
    """Threads from the documented default threshold of the kernel's kind on."""
    function = getattr(numelu, name)
    threshold = _config.DEFAULT_THRESHOLDS[function.spec.kind]
    for size, expected in ((threshold - 1, "cpu"), (threshold, "parallel")):
        spy.clear()
        x = np.linspace(-3, 3, size)
        result = function(x, 0.75)
        assert spy == [expected], size
        np.testing.assert_array_equal(result, function(x, 0.75, target="cpu"))


def test_auto_threshold_uses_the_largest_array_and_broadcast_inputs(spy, environment):
    with numelu.config(parallel_threshold=1000):
        numelu.elu(np.ones(10), np.ones((1000, 1)))
        numelu.elu(np.ones(999), 0.5)
        numelu.elu(0.5, np.ones(1000))
    assert spy == ["parallel", "cpu", "parallel"]


@pytest.mark.parametrize("route", ["fast", "general"])
def test_auto_threshold_uses_the_result_size(spy, environment, route):
    """Serial or threaded by the size of the result, as NumPy's broadcasting gives it: out='s
    where given (inputs broadcast into it: a 1-element array or a NumPy scalar, a (1, n) row
    into (m, n)), else the inputs' broadcast (a column beside a row), the threshold included."""
    extra = {} if route == "fast" else {"where": True}      # where= takes the general path
    threshold = _config.DEFAULT_THRESHOLDS["exp"]
    side = math.isqrt(threshold)             # a square of row x column sits on the threshold
    assert side * side == threshold
    row = np.linspace(-3, 3, side)[None, :]
    cases = [  # (function, inputs, out shape or None, expected target)
        (numelu.elu, (np.array([-1.5]), 0.5), (threshold,), "parallel"),
        (numelu.elu, (np.array([-1.5]), 0.5), (threshold - 1,), "cpu"),
        (numelu.elu, (np.float64(-1.5), 0.5), (threshold,), "parallel"),
        (numelu.elu, (row, 0.5), (threshold // side, side), "parallel"),
        (numelu.elu, (row, 0.5), (threshold // side - 1, side), "cpu"),
        (numelu.elu_backward, (row, row, 0.5), (threshold // side, side), "parallel"),
        (numelu.elu, (row, np.linspace(0.5, 2, side)[:, None]), None, "parallel"),
        (numelu.elu, (row[:, :side - 1], np.linspace(0.5, 2, side)[:, None]), None, "cpu"),
        (numelu.elu_backward, (row, row.T, 0.5), None, "parallel"),
        (numelu.elu_backward, (row, row.T, np.full((2, 1, 1), 0.5)), None, "parallel"),
        (numelu.elu_backward, (row[:, :side - 1], row.T, 0.5), None, "cpu"),
        (numelu.elu, (row, 0.5), None, "cpu"),
    ]
    for function, inputs, shape, expected in cases:
        spy.clear()
        if shape is None:
            result = function(*inputs, **extra)
        else:
            result = np.empty(shape)
            assert function(*inputs, out=result, **extra) is result
        assert spy[-1] == expected, (function.__name__, shape, [np.shape(v) for v in inputs])
        assert result.size == (np.prod(shape) if shape else np.broadcast(*inputs).size)
        np.testing.assert_array_equal(result, np.broadcast_to(function.cpu(*inputs),
                                                              result.shape))


def test_auto_above_threshold_zero_threshold_results_are_right(spy, environment):
    """parallel_threshold=0: every call takes the threaded ufunc, and is still right."""
    rng = np.random.default_rng(0)
    with numelu.config(parallel_threshold=0):
        for shape in [(1,), (7,), (3, 5), (0,), (40_000,)]:
            x = rng.uniform(-5, 5, shape)
            assert_elu(numelu.elu(x, 0.3), x, 0.3)
            assert_elu(numelu.elu(x[::-1], 0.3), x[::-1], 0.3)
        assert_elu(numelu.elu(-0.5), -0.5)
    assert set(spy) == {"parallel"}


def test_threaded_loop_runs_serially_while_the_gate_is_taken(x_large):
    """The gate (docs/design.md, Threads): a threaded loop that finds it taken runs the serial
    kernel."""
    gates = [gate for gate, _ in _gate.every_pair()]   # the JIT's and a precompiled library's
    for gate in gates:
        gate.value = 1                   # as if another call were using the thread pool
    try:
        assert _gate.parallel_busy()
        assert_elu(numelu.elu(x_large, target="parallel"), x_large)
        assert_elu(numelu.elu.parallel(x_large, 1.0), x_large)
    finally:
        for gate in gates:
            gate.value = 0
    assert_elu(numelu.elu(x_large, target="parallel"), x_large)
    assert not _gate.parallel_busy()     # a threaded call releases the gate


def test_forked_child_flag_means_serial(x_large):
    flags = [forked for _, forked in _gate.every_pair()]
    for forked in flags:
        forked.value = 1
    try:
        assert _gate.in_forked_child()
        assert_elu(numelu.elu(x_large, target="parallel"), x_large)
    finally:
        for forked in flags:
            forked.value = 0


# --------------------------------------------------------------------------- precedence


def test_precedence_argument_over_config_over_environment(spy, environment, x_small):
    settings = environment(NUMELU_TARGET="parallel")
    assert settings.target == "parallel"
    numelu.elu(x_small)                                   # environment
    with numelu.config(target="cpu"):
        numelu.elu(x_small)                               # config beats environment
        numelu.elu(x_small, target="parallel")            # argument beats config
        with numelu.config(target="parallel"):
            numelu.elu(x_small)                           # innermost config wins
        numelu.elu(x_small)                               # restored on exit
    numelu.elu(x_small)
    assert spy == ["parallel", "cpu", "parallel", "parallel", "cpu", "parallel"]


def test_environment_variables(spy, environment, x_small):
    environment(NUMELU_TARGET=" CPU ")
    numelu.elu(x_small)
    environment(NUMELU_TARGET="auto", NUMELU_PARALLEL_THRESHOLD="50")
    assert _config.current().threshold("exp") == 50
    numelu.elu(x_small)                                   # 101 >= 50: threads
    with numelu.config(parallel_threshold=10**9):         # config beats the environment
        numelu.elu(x_small)
    environment(NUMELU_PARALLEL_THRESHOLD="1e6")
    assert _config.current().threshold("cheap") == 1_000_000
    numelu.elu(x_small)
    assert spy == ["cpu", "parallel", "cpu", "cpu"]


def test_environment_is_read_once(spy, environment, monkeypatch, x_small):
    environment(NUMELU_TARGET="cpu")
    monkeypatch.setenv("NUMELU_TARGET", "parallel")       # not re-read until reload
    numelu.elu(x_small)
    _config.reload_environment()
    numelu.elu(x_small)
    assert spy == ["cpu", "parallel"]


def test_config_yields_settings_and_restores_after_an_error(environment):
    before = _config.current()
    with pytest.raises(ZeroDivisionError):
        with numelu.config(target="cpu", parallel_threshold=5) as settings:
            assert settings.target == "cpu" and settings.threshold("exp") == 5
            assert _config.current() == settings
            1 / 0  # noqa: B018
    assert _config.current() == before


# --------------------------------------------------------------------------- unknown targets


@pytest.mark.parametrize("bad", ["gpu", "CPU-threads", "", "bogus"])
def test_unknown_target_in_call(bad, x_small):
    with pytest.raises(ValueError) as error:
        numelu.elu(x_small, target=bad)
    for valid in VALID_TARGETS:
        assert valid in str(error.value)
    with pytest.raises(ValueError):
        numelu.elu.outer(x_small, x_small, target=bad)


# --------------------------------------------------------------------------- threads


def test_config_is_thread_local(spy, environment, x_small):
    """A thread inside ``config(target="cpu")`` does not change another thread's target."""
    entered, release = threading.Event(), threading.Event()
    seen = {}

    def inside():
        with numelu.config(target="cpu", parallel_threshold=0):
            seen["inside"] = _config.current()
            entered.set()
            release.wait(30)
            seen["inside_result"] = numelu.elu(x_small)

    with numelu.config(target="parallel"):
        thread = threading.Thread(target=inside)
        thread.start()
        try:
            assert entered.wait(30)
            assert _config.current().target == "parallel"
            assert _config.current().parallel_threshold is None
            numelu.elu(x_small)
        finally:
            release.set()
            thread.join(30)
    assert seen["inside"].target == "cpu"
    assert_elu(seen["inside_result"], x_small)
    assert sorted(spy) == ["cpu", "parallel"]


def test_new_threads_start_from_the_environment_not_the_callers_config(environment):
    environment(NUMELU_TARGET="cpu")
    seen = []
    with numelu.config(target="parallel"):
        thread = threading.Thread(target=lambda: seen.append(_config.current().target))
        thread.start()
        thread.join(30)
    assert seen == ["cpu"]


def test_config_in_asyncio_tasks_is_separate(environment):
    import asyncio

    async def task(target, started, other_started):
        with numelu.config(target=target):
            started.set()
            await other_started.wait()
            return _config.current().target

    async def main():
        a, b = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(task("cpu", a, b), task("parallel", b, a))

    assert asyncio.run(main()) == ["cpu", "parallel"]


# --------------------------------------------------------------------------- __array_ufunc__


class Recorder:
    """A minimal array-like library object: records how NumPy hands it a ufunc."""

    calls: list = []

    def __init__(self, values):
        self.values = np.asarray(values, dtype=np.float64)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        Recorder.calls.append((ufunc, method, inputs, dict(kwargs)))
        unwrapped = [v.values if isinstance(v, Recorder) else v for v in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(o.values if isinstance(o, Recorder) else o
                                  for o in kwargs["out"])
        return Recorder(getattr(ufunc, method)(*unwrapped, **kwargs))


@pytest.fixture
def recorder():
    Recorder.calls = []
    return Recorder


@pytest.mark.parametrize("target", [None, "auto", "cpu", "parallel"])
def test_array_ufunc_override_gets_the_genuine_ufunc(recorder, target):
    x = recorder([-1.0, 0.0, 2.0])
    kwargs = {} if target is None else {"target": target}
    result = numelu.elu(x, 0.5, **kwargs)
    assert isinstance(result, recorder)
    assert_elu(result.values, x.values, 0.5)
    [(ufunc, method, inputs, _)] = recorder.calls
    assert isinstance(ufunc, np.ufunc) and method == "__call__"
    # the serial genuine ufunc (the library runs it on its own chunks), the threaded one when
    # target="parallel" is asked for
    assert ufunc is (numelu.elu.parallel if target == "parallel" else numelu.elu.cpu)
    assert inputs[0] is x and inputs[1] == 0.5


@pytest.mark.parametrize("target", ["cpu", "parallel", "auto"])
def test_array_ufunc_override_follows_the_configured_cpu_target(recorder, environment, target):
    """numelu.config(target=...) and NUMELU_TARGET pick the ufunc handed over, as target= does
    ("auto" hands over the serial one: the library calls it per chunk)."""
    kind = "parallel" if target == "parallel" else "cpu"
    x = recorder([-1.0, 0.0, 2.0])
    with numelu.config(target=target):
        assert_elu(numelu.elu(x, 0.5).values, x.values, 0.5)
        numelu.elu_backward(np.ones(3), x, 0.5)
    environment(NUMELU_TARGET=target)
    numelu.selu(x)
    handed = [call[0] for call in recorder.calls]
    expected = [getattr(f, kind) for f in (numelu.elu, numelu.elu_backward, numelu.selu)]
    assert all(a is b for a, b in zip(handed, expected, strict=True))
    with numelu.config(target="cpu"):
        numelu.elu(x, target="parallel")                 # the argument wins
    assert recorder.calls[-1][0] is numelu.elu.parallel


def test_array_ufunc_override_in_any_position_and_in_out(recorder):
    x = np.array([-1.0, 2.0])
    alpha = recorder([0.5, 0.5])
    assert_elu(numelu.elu(x, alpha).values, x, 0.5)
    grad = recorder([1.0, 1.0])
    numelu.elu_backward(grad, x, 0.5)
    out = recorder([0.0, 0.0])
    numelu.elu(x, 0.5, out=out)
    assert_elu(out.values, x, 0.5)
    assert len(recorder.calls) == 3
    assert all(call[0] is getattr(numelu, name).cpu
               for call, name in zip(recorder.calls, ["elu", "elu_backward", "elu"], strict=True))
    assert recorder.calls[2][3]["out"][0] is out


def test_array_ufunc_override_keywords_are_forwarded(recorder):
    x = recorder([-1.0, 2.0, -3.0])
    out = recorder([7.0, 7.0, 7.0])
    numelu.elu(x, 0.5, where=np.array([True, False, True]), out=out, dtype=np.float64,
               casting="same_kind", order="K")
    [(_, _, _, kwargs)] = recorder.calls
    for key in ("where", "dtype", "casting", "order", "out"):
        assert key in kwargs
    assert out.values[1] == 7.0
    assert_elu(out.values[[0, 2]], [-1.0, -3.0], 0.5)


def test_array_ufunc_override_outer(recorder):
    x = recorder([-1.0, 2.0])
    result = numelu.elu.outer(x, np.array([0.5, 1.0, 2.0]))
    [(ufunc, method, _, _)] = recorder.calls
    assert ufunc is numelu.elu.cpu and method == "outer"
    assert result.values.shape == (2, 3)


def test_array_ufunc_override_still_checks_scalar_alpha(recorder):
    with pytest.raises(ValueError):
        numelu.celu(recorder([-1.0]), 0.0)


def test_masked_arrays_keep_their_mask_like_numpy():
    m = np.ma.array([-1.0, 2.0, -3.0, 4.0], mask=[False, True, False, False])
    for target in ("auto", "cpu", "parallel"):
        result = numelu.elu(m, 0.5, target=target)
        twin = np.arctan2(m, 0.5)
        assert type(result) is type(twin) is np.ma.MaskedArray
        np.testing.assert_array_equal(np.ma.getmaskarray(result), np.ma.getmaskarray(twin))
        assert_elu(result.compressed(), m.compressed(), 0.5)
        single = numelu.selu(m, target=target)
        assert type(single) is type(np.exp(m))
        np.testing.assert_array_equal(np.ma.getmaskarray(single), m.mask)


def test_ndarray_subclass_is_kept_like_numpy():
    class Tagged(np.ndarray):
        pass

    x = np.linspace(-2, 2, 5).view(Tagged)
    assert type(np.exp(x)) is Tagged
    for target in ("auto", "cpu", "parallel"):
        result = numelu.elu(x, 0.5, target=target)
        assert type(result) is Tagged
        assert_elu(np.asarray(result), np.asarray(x), 0.5)


# --------------------------------------------------------------------------- array-likes


class Wrapped:
    """A minimal array-like that is not an ndarray: ``__array__`` and ``__array_wrap__`` (no
    ``__array_ufunc__``), as PyTorch CPU tensors and other libraries' arrays are."""

    __array_priority__ = 5.0
    contexts: list = []

    def __init__(self, values, dtype=None):
        self.values = np.asarray(values, dtype=dtype)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        Wrapped.contexts.append((context, return_scalar))
        return type(self)(array)


class WrappedHigher(Wrapped):
    __array_priority__ = 50.0


class PlainArrayLike:
    """``__array__`` only: NumPy gives an ndarray back."""

    def __init__(self, values):
        self.values = np.asarray(values)

    def __array__(self, dtype=None, copy=None):
        return self.values


def _same_as_numpy(result, twin):
    assert type(result) is type(twin), (type(result), type(twin))
    values = np.asarray(getattr(result, "values", result))
    expected = np.asarray(getattr(twin, "values", twin))
    assert values.dtype == expected.dtype and values.shape == expected.shape
    if isinstance(twin, np.ma.MaskedArray):
        np.testing.assert_array_equal(np.ma.getmaskarray(result), np.ma.getmaskarray(twin))


def test_array_wrap_of_an_array_like_is_applied_like_numpy(target):
    x = Wrapped([-1.0, 2.0, -3.0])
    for result, twin in [(numelu.elu(x, 0.5, target=target), np.arctan2(x, 0.5)),
                         (numelu.selu(x, target=target), np.exp(x)),
                         (numelu.elu(np.array([-1.0, 2.0, -3.0]), x, target=target),
                          np.arctan2(np.array([-1.0, 2.0, -3.0]), x)),
                         (numelu.elu_backward(np.ones(3), x, target=target),
                          np.arctan2(np.ones(3), x))]:
        _same_as_numpy(result, twin)
    assert_elu(numelu.elu(x, 0.5, target=target).values, x.values, 0.5)
    # NumPy's context: (the ufunc that ran, the caller's own inputs, output index)
    Wrapped.contexts = []
    numelu.elu(x, 0.5, target=target)
    [((ufunc, inputs, index), return_scalar)] = Wrapped.contexts
    assert ufunc in (numelu.elu.cpu, numelu.elu.parallel)
    assert inputs[0] is x and index == 0 and return_scalar is False
    # 0-d: return_scalar=True is passed to the wrapper, as np.exp does
    Wrapped.contexts = []
    zero_d = numelu.elu(Wrapped(-1.0), target=target)
    _same_as_numpy(zero_d, np.exp(Wrapped(-1.0)))
    assert Wrapped.contexts[-1][1] is True
    assert_elu(zero_d.values, -1.0)
    # out= given: out comes back, unwrapped, as NumPy does
    out = np.empty(3)
    assert numelu.elu(x, 0.5, out=out, target=target) is out
    assert type(np.exp(x, out=np.empty(3))) is np.ndarray
    assert_elu(out, x.values, 0.5)


def test_array_wrap_priority_between_array_likes_like_numpy(target):
    low, high = Wrapped([-1.0, 2.0]), WrappedHigher([0.5, 0.25])
    for args in [(low, high), (high, low)]:
        _same_as_numpy(numelu.elu(*args, target=target), np.arctan2(*args))
        assert type(numelu.elu(*args, target=target)) is WrappedHigher
    masked = np.ma.array([-1.0, 2.0], mask=[False, True])       # __array_priority__ 15
    _same_as_numpy(numelu.elu(low, masked, target=target), np.arctan2(low, masked))
    _same_as_numpy(numelu.elu(masked, high, target=target), np.arctan2(masked, high))


@pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning")
def test_torch_cpu_tensor_comes_back_as_a_tensor_like_np_exp(target):
    torch = pytest.importorskip("torch")
    t = torch.tensor([-1.0, 2.0], dtype=torch.float64)
    assert type(np.exp(t)) is torch.Tensor
    result = numelu.elu(t, 0.5, target=target)
    assert type(result) is torch.Tensor and result.dtype == torch.float64
    torch.testing.assert_close(result, torch.nn.functional.elu(t, 0.5))
    t32 = torch.tensor([-1.0, 2.0], dtype=torch.float32)
    assert numelu.selu(t32, target=target).dtype == torch.float32
    torch.testing.assert_close(numelu.selu(t32, target=target), torch.nn.functional.selu(t32))


_ARRAY_LIKES = {
    "list": [-1.0, 0.5, 2.0],
    "nested list": [[-1.0, 0.5], [2.0, -3.0]],
    "tuple": (-1.0, 0.5, 2.0),
    "int list": [-1, 0, 2],
    "bool list": [True, False],
    "python float": -1.5,
    "python int": -2,
    "python bool": True,
    "np.float32": np.float32(-1.5),
    "np.int8": np.int8(-3),
    "0-d array": np.array(-1.5),
    "float32 array": np.array([-1.0, 2.0], np.float32),
    "matrix": "matrix",
    "masked": np.ma.array([-1.0, 2.0, -3.0], mask=[False, True, False]),
    "masked float32": np.ma.array([-1.0, 2.0], mask=[True, False], dtype=np.float32),
    "array-like without __array_wrap__": PlainArrayLike([-1.0, 2.0]),
    "memoryview": memoryview(np.array([-1.0, 2.0])),
    "wrapped": Wrapped([-1.0, 2.0, 3.0]),
    "wrapped float32": Wrapped([-1.0, 2.0, 3.0], np.float32),
}


def _array_like(key):
    if key == "matrix":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return np.matrix([[-1.0, 2.0, 0.5]])
    return _ARRAY_LIKES[key]


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
@pytest.mark.parametrize("key", list(_ARRAY_LIKES))
def test_inputs_of_every_kind_come_back_as_a_numpy_ufunc_returns_them(key, target):
    """Type, dtype, shape (and mask) of the result as np.exp / np.arctan2 give them, for the
    input in each position and with a Python float, a NumPy float32 scalar or itself beside it."""
    value = _array_like(key)
    _same_as_numpy(numelu.selu(value, target=target), np.exp(value))
    for other in (0.5, np.float32(0.5), value):
        _same_as_numpy(numelu.elu(value, other, target=target), np.arctan2(value, other))
        _same_as_numpy(numelu.elu(other, value, target=target), np.arctan2(other, value))
    values = np.asarray(np.ma.getdata(value) if isinstance(value, np.ma.MaskedArray) else value)
    got = numelu.elu(value, 0.5, target=target)
    got = np.ma.getdata(got) if isinstance(got, np.ma.MaskedArray) else got
    got = np.asarray(getattr(got, "values", got), dtype=np.float64)
    expected = elu_reference(values, 0.5)
    if isinstance(value, np.ma.MaskedArray):
        keep = ~np.ma.getmaskarray(value)
        got, expected = got[keep], expected[keep]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


# --------------------------------------------------------------------------- keywords


def test_alpha_as_keyword_like_pytorch(target):
    x = np.linspace(-3, 3, 13)
    assert_elu(numelu.elu(x, alpha=0.5, target=target), x, 0.5)
    out = np.empty_like(x)
    assert numelu.elu(x, alpha=0.5, out=out, target=target) is out
    assert_elu(out, x, 0.5)
    np.testing.assert_array_equal(numelu.celu_backward(x, x, alpha=2.0, target=target),
                                  numelu.celu_backward(x, x, 2.0, target=target))
    with pytest.raises(TypeError):
        numelu.elu(x, 0.5, alpha=0.5)
    with pytest.raises(TypeError):
        numelu.selu(x, alpha=0.5)
    with pytest.raises(TypeError):
        numelu.elu(alpha=0.5)


def test_unknown_keyword_is_a_type_error_like_numpy():
    x = np.ones(3)
    with pytest.raises(TypeError):
        np.arctan2(x, 1.0, bogus=1)
    with pytest.raises(TypeError):
        numelu.elu(x, 1.0, bogus=1)


# --------------------------------------------------------------------------- CUDA without a GPU


def _cuda_available():
    try:
        from numba import cuda

        return cuda.is_available()
    except Exception:  # noqa: BLE001 - no CUDA at all
        return False


needs_no_gpu = pytest.mark.skipif(_cuda_available(), reason="a CUDA GPU is available here")


def _assert_says_why_and_how(error):
    message = str(error.value)
    assert 'pip install "numelu[cuda13]"' in message
    assert any(word in message.lower() for word in ("driver", "gpu", "device", "not installed"))


@needs_no_gpu
def test_cuda_target_without_gpu_says_why_and_how():
    x = np.ones(4)
    with pytest.raises(RuntimeError) as error:
        numelu.elu(x, target="cuda")
    _assert_says_why_and_how(error)
    with numelu.config(target="cuda"):
        with pytest.raises(RuntimeError) as error:
            numelu.elu(x)
    _assert_says_why_and_how(error)
    with pytest.raises(RuntimeError) as error:
        numelu.elu.cuda  # noqa: B018
    _assert_says_why_and_how(error)


@needs_no_gpu
def test_cuda_environment_target_without_gpu(environment):
    environment(NUMELU_TARGET="cuda")
    with pytest.raises(RuntimeError) as error:
        numelu.elu(np.ones(4))
    _assert_says_why_and_how(error)
    assert_elu(numelu.elu(np.ones(4), target="cpu"), np.ones(4))   # the argument still wins


class FakeDeviceArray:
    """Carries ``__cuda_array_interface__`` like a CuPy array (points at nothing)."""

    __cuda_array_interface__ = {"shape": (3,), "typestr": "<f8", "data": (0, False),
                                "version": 3, "strides": None}


@needs_no_gpu
def test_device_array_goes_to_cuda(spy):
    with pytest.raises(RuntimeError) as error:
        numelu.elu(FakeDeviceArray())
    _assert_says_why_and_how(error)
    assert spy == []                     # never handed to a CPU ufunc


class FakeSimulatorArray:
    """Marked as Numba's CUDA simulator marks its device arrays: ``__cuda_ndarray__`` and no
    ``__cuda_array_interface__`` (points at nothing)."""

    __cuda_ndarray__ = True
    shape, dtype = (3,), np.dtype(np.float64)


def test_one_definition_of_a_device_array(monkeypatch):
    """Rule 2 routes what the CUDA path treats as a device array, simulator arrays included,
    and nothing else (lists, ndarrays, scalars, CPU tensors never look one up)."""
    from numelu import _cuda, _operands

    assert _cuda.is_device_array is _operands.is_device_array
    assert _dispatch.is_device_array is _operands.is_device_array
    seen = []
    monkeypatch.setattr(_cuda, "call", lambda function, args, kwargs: seen.append(args) or "cuda")
    for device in (FakeDeviceArray(), FakeSimulatorArray()):
        assert numelu.elu(device) == "cuda"
        assert numelu.elu_backward(np.float64(1.0), device, 0.5) == "cuda"
    assert len(seen) == 4
    for host in ([1.0], (1.0,), np.ones(2), 1.0, np.float32(1.0), None):
        assert not _operands.is_device_array(host)


def test_a_device_out_or_where_beside_host_inputs_goes_to_the_cuda_path(monkeypatch):
    """The general path's shortcut for NumPy-only calls still sees a device array given only as
    ``out`` (alone or in a tuple) or ``where=`` (the CUDA path then gives its "mixed" error)."""
    from numelu import _cuda

    seen = []
    monkeypatch.setattr(_cuda, "call", lambda function, args, kwargs: seen.append(kwargs) or "cuda")
    x = np.ones(3)
    assert numelu.elu(x, 0.5, FakeDeviceArray()) == "cuda"
    assert numelu.elu(x, out=(FakeDeviceArray(),)) == "cuda"
    assert numelu.elu(x, where=FakeSimulatorArray()) == "cuda"
    assert numelu.elu_backward(x, [1.0, 2.0, 3.0], where=FakeDeviceArray()) == "cuda"
    assert len(seen) == 4


@pytest.mark.parametrize("shapes", [[(3,)], [(3,), (3,)], [(3, 1), (4,)], [(2, 1, 5), (1, 4, 1), (5,)],
                                    [(0, 3), (3,)], [(3,), (4,)], [(1,), ()], []])
def test_result_size_is_numpys_broadcast_size(shapes):
    from numelu._operands import result_size

    arrays = [np.zeros(shape) for shape in shapes]
    try:
        expected = math.prod(np.broadcast_shapes(*shapes)) if shapes else 1
    except ValueError:              # no broadcast: the largest size (NumPy raises in the ufunc)
        expected = max(math.prod(shape) for shape in shapes)
    assert result_size([*arrays, 0.5]) == expected
    assert result_size([0.5, *arrays[::-1]]) == expected


class _GradTensor:
    """A CUDA tensor that requires grad: PyTorch refuses to export its interface."""

    is_cuda = True

    @property
    def __cuda_array_interface__(self):
        raise RuntimeError("Can't get __cuda_array_interface__ on Variable that requires grad")


def test_a_device_array_that_refuses_its_interface_is_still_one(monkeypatch):
    from numelu import _cuda

    monkeypatch.setattr(_cuda, "call", lambda function, args, kwargs: "cuda")
    assert numelu.elu(_GradTensor(), 0.5) == "cuda"


def test_loop_types_and_refused_kinds_are_defined_once():
    from numelu import _cuda, _operands

    assert _cuda._LOOPS == tuple(np.dtype(c) for c in _operands.LOOP_CHARS)
    assert numelu.elu.types == ["ee->e", "ff->f", "dd->d"]
    assert numelu.elu_backward.types == ["eee->e", "fff->f", "ddd->d"]
    assert numelu.elu.cpu.types == numelu.elu.types
    for module in (_dispatch, _cuda):
        assert not hasattr(module, "_BAD_KINDS") and not hasattr(module, "_LOOP_CHARS")
    assert not hasattr(_cuda, "_bad_dtype")


def test_device_out_or_where_goes_to_cuda(monkeypatch):
    """Rule 2 for a device ``out=`` (array or 1-tuple) or ``where=`` beside host inputs: the
    CUDA path, which refuses the mix with its "mixed" error (tests/cuda_sim_check.py dispatch
    checks that error under the simulator); NumPy's error was "return arrays must be of
    ArrayType".  An explicit host target still hands them to NumPy."""
    from numelu import _cuda

    seen = []
    monkeypatch.setattr(_cuda, "call", lambda function, args, kwargs: seen.append(
        dict(kwargs)) or "cuda-result")
    x, device = np.ones(3), FakeDeviceArray()
    assert numelu.elu(x, out=device) == "cuda-result"
    assert numelu.elu(x, 0.5, out=(device,)) == "cuda-result"
    assert numelu.elu_backward(x, x, out=device) == "cuda-result"
    assert numelu.elu(x, where=device) == "cuda-result"
    assert numelu.elu(x, device) == "cuda-result"
    assert seen[0]["out"] is device and seen[1]["out"] == (device,)
    assert seen[3]["where"] is device
    with pytest.raises(TypeError, match="return arrays must be of ArrayType"):
        np.exp(x, out=device)
    with pytest.raises(TypeError, match="return arrays must be of ArrayType"):
        numelu.elu(x, out=device, target="cpu")
    assert len(seen) == 5


def test_device_array_routing_is_decided_before_cpu(monkeypatch):
    """Rule 2: auto + a __cuda_array_interface__ input -> the CUDA path (whatever it does)."""
    from numelu import _cuda

    seen = []
    monkeypatch.setattr(_cuda, "call", lambda function, args, kwargs: seen.append(
        (function.__name__, len(args), dict(kwargs))) or "cuda-result")
    assert numelu.elu(FakeDeviceArray(), 0.5, out=None) == "cuda-result"
    assert numelu.elu(np.ones(3), target="cuda") == "cuda-result"
    assert seen[0][:2] == ("elu", 2) and seen[1][:2] == ("elu", 2)
    with numelu.config(target="cpu"):        # an explicit host target is not overridden
        with pytest.raises(Exception):  # noqa: B017 - NumPy cannot read the fake array
            numelu.elu(FakeDeviceArray())
    assert len(seen) == 2
