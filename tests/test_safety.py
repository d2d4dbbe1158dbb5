"""docs/contract.md §6 / docs/design.md, Threads: threads and fork() never abort or hang a process.

Each scenario runs in a fresh interpreter (``sys.executable -c ...``) with a timeout, under each
of Numba's threading layers, so that an abort or a hang fails the test instead of killing pytest.
A negative return code is the signal that killed the child (-6: SIGABRT, -9: SIGKILL, ...).
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from precompiled_support import kernels_folder

import numelu

REPO = Path(numelu.__file__).resolve().parent.parent
TIMEOUT = 120

pytestmark = pytest.mark.slow


#: The ``layer`` of the precompiled kernels: their own thread pool, not one of Numba's.
POOL = "numelu-pool"


def _environment(layer: str) -> dict:
    env = dict(os.environ)
    if layer == POOL:
        folder, level = kernels_folder()
        env.update(NUMELU_KERNELS=level, NUMELU_KERNELS_DIR=str(folder))
    else:
        env.update(NUMBA_THREADING_LAYER=layer, NUMELU_KERNELS="jit")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("NUMELU_TARGET", None)
    env.pop("NUMELU_PARALLEL_THRESHOLD", None)
    return env


def run_child(code: str, layer: str, *args: str, timeout: int = TIMEOUT):
    """Run ``code`` in a new interpreter; fail (not crash) on an abort, a hang or an error."""
    try:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                              env=_environment(layer), capture_output=True, text=True,
                              timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"HANG: the child did not finish in {timeout} s (layer {layer}, {args})\n"
                    f"{(error.stderr or b'')[-3000:]!r}")
    if done.returncode != 0:
        how = (f"killed by {signal.Signals(-done.returncode).name}" if done.returncode < 0
               else f"exit status {done.returncode}")
        pytest.fail(f"child {how} (layer {layer}, {args})\nstdout: {done.stdout[-2000:]}\n"
                    f"stderr: {done.stderr[-3000:]}")
    return done.stdout


@functools.cache
def _layer_loads(layer: str) -> bool:
    code = """
        import numba
        from numba import njit, prange

        @njit(parallel=True)
        def total(n):
            s = 0
            for i in prange(n):
                s += i
            return s

        assert total(1000) == 499500
        print(numba.threading_layer())
    """
    try:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                              env=_environment(layer), capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0 and done.stdout.strip() == layer


LAYERS = [
    "omp",
    "workqueue",
    pytest.param("tbb", marks=pytest.mark.skipif("not _layer_loads('tbb')",
                                                 reason="Numba's tbb layer cannot load here")),
    POOL,
]


@pytest.fixture(params=LAYERS)
def layer(request):
    return request.param


# --------------------------------------------------------------------------- many threads

THREADS = """
    import sys, threading
    import numpy as np, numba, numelu
    from numelu._kernels import threading_in_use

    mode = sys.argv[1]
    n_threads, repeats = 8, 6
    x = np.linspace(-6, 6, 1_000_003)                # far above every parallel threshold
    alphas = [0.25 + 0.25 * i for i in range(n_threads)]
    expected = [numelu.elu(x, a, target="cpu") for a in alphas]
    expected32 = numelu.elu(x.astype(np.float32), 0.5, target="cpu")
    barrier = threading.Barrier(n_threads)
    failures = []

    def call(i, values, alpha, out=None):
        kwargs = {} if out is None else {"out": out}
        if mode == "ufunc":                          # the genuine threaded ufunc, directly
            return numelu.elu.parallel(values, alpha, **kwargs)
        return numelu.elu(values, alpha, target=mode, **kwargs)

    def work(i):
        try:
            barrier.wait()
            out = np.empty_like(x)
            for _ in range(repeats):
                if not np.array_equal(call(i, x, alphas[i]), expected[i]):
                    failures.append(("value", i))
                call(i, x, alphas[i], out=out)
                if not np.array_equal(out, expected[i]):
                    failures.append(("out", i))
                if i % 2 and not np.array_equal(call(i, x.astype(np.float32), 0.5), expected32):
                    failures.append(("float32", i))
        except BaseException as error:
            failures.append(("raised", i, repr(error)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    numelu.elu(x, 0.5, target="parallel")            # the pool still works afterwards
    print(threading_in_use())
"""


@pytest.mark.parametrize("mode", ["auto", "parallel"])
def test_many_threads_at_once(layer, mode):
    """8 Python threads, large arrays, all at once: exact results, no abort, no hang."""
    assert run_child(THREADS, layer, mode).split()[-1] == layer


def test_many_threads_calling_the_genuine_parallel_ufunc(layer):
    """``numelu.elu.parallel`` is public: the same must hold when it is called directly."""
    assert run_child(THREADS, layer, "ufunc").split()[-1] == layer


def test_many_threads_under_config_threshold_zero(layer):
    """``config(parallel_threshold=0)`` sends every call, even a small one, to the threaded
    loops: 8 threads racing for the thread pool's gate stay exact, and the pool is really used.

    A threaded loop splits only runs longer than one ``PARALLEL_CHUNK``: the sizes are a tiny
    run (the threaded loop's serial fallback), one chunk plus one (two tasks, and below the
    default thresholds: threaded only because of the zero threshold) and three chunks plus five
    (four tasks).  A watcher thread polls ``_safety.parallel_busy()`` (the gate of the threaded
    region) to check that the threaded region was entered at all.
    """
    code = """
        import threading
        import numpy as np, numba, numelu
        from numelu._kernels import threading_in_use
        from numelu import _safety
        from numelu._loops import PARALLEL_CHUNK

        xs = [np.linspace(-3, 3, n) for n in (1001, PARALLEL_CHUNK + 1, 3 * PARALLEL_CHUNK + 5)]
        expected = [numelu.elu(x, 0.5, target="cpu") for x in xs]
        failures, seen_busy = [], []
        finished = threading.Event()

        def work():
            try:
                with numelu.config(parallel_threshold=0):
                    for _ in range(100):
                        for x, e in zip(xs, expected):
                            if not np.array_equal(numelu.elu(x, 0.5), e):
                                failures.append(x.size)
            except BaseException as error:
                failures.append(repr(error))

        def watch():
            while not finished.is_set():
                if _safety.parallel_busy():
                    seen_busy.append(True)
                    return

        watcher = threading.Thread(target=watch)
        watcher.start()
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        finished.set()
        watcher.join()
        assert not failures, failures
        assert seen_busy, "no call ever entered the threaded region"
        assert not _safety.parallel_busy()
        print(threading_in_use())
    """
    assert run_child(code, layer).split()[-1] == layer


def test_dask_threaded_scheduler(layer):
    """Dask's threaded scheduler calls numelu from its worker threads (docs/design.md, Threads)."""
    pytest.importorskip("dask.array")
    code = """
        import numpy as np, dask, dask.array as da, numelu

        x = np.linspace(-6, 6, 2_000_000)
        expected = numelu.elu(x, 0.5, target="cpu")
        dx = da.from_array(x, chunks=250_000)        # chunks above the threshold
        with dask.config.set(scheduler="threads", num_workers=8):
            lazy = numelu.elu(dx, 0.5)                # __array_ufunc__: stays lazy
            assert isinstance(lazy, da.Array)
            assert np.array_equal(lazy.compute(), expected)
            blocks = dx.map_blocks(numelu.elu, 0.5)   # the dispatcher on every chunk
            assert np.array_equal(blocks.compute(), expected)
            with numelu.config(target="parallel"):    # (config is per thread: workers: auto)
                assert np.array_equal(dx.map_blocks(numelu.elu, 0.5).compute(), expected)
        print("ok")
    """
    run_child(code, layer)


# --------------------------------------------------------------------------- fork()

FORK = """
    import os, sys, time
    import numpy as np, numba, numelu
    from numelu._kernels import threading_in_use

    mode = sys.argv[1]
    x = np.linspace(-6, 6, 1_000_003)
    expected = numelu.elu(x, 0.5, target="cpu")
    # the parent has used the thread pool before forking
    assert np.array_equal(numelu.elu(x, 0.5, target="parallel"), expected)
    layer = threading_in_use()

    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            if mode == "ufunc":
                result = numelu.elu.parallel(x, 0.5)
            else:
                result = numelu.elu(x, 0.5, target=mode)
            status = 0 if np.array_equal(result, expected) else 3
        finally:
            os._exit(status)

    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            sys.exit("the forked child hung")
        time.sleep(0.05)
    code = os.waitstatus_to_exitcode(status)
    assert code == 0, f"forked child: exit code {code} (negative: killed by that signal)"
    assert np.array_equal(numelu.elu(x, 0.5, target="parallel"), expected)   # parent still fine
    print(layer)
"""


@pytest.mark.parametrize("mode", ["auto", "parallel"])
def test_call_in_forked_child_after_parallel_call(layer, mode):
    assert run_child(FORK, layer, mode).split()[-1] == layer


def test_genuine_parallel_ufunc_in_forked_child(layer):
    """The public ``.parallel`` ufunc called directly in a forked child."""
    assert run_child(FORK, layer, "ufunc").split()[-1] == layer


def test_multiprocessing_fork_pool(layer):
    """multiprocessing with the fork start method, after the parent used threads."""
    code = """
        import multiprocessing
        import numpy as np, numba, numelu
        from numelu._kernels import threading_in_use

        x = np.linspace(-6, 6, 500_001)
        expected = numelu.elu(x, 1.0, target="cpu")
        assert np.array_equal(numelu.elu(x, target="parallel"), expected)
        with multiprocessing.get_context("fork").Pool(2) as pool:
            results = pool.map(numelu.elu, [x, x[::-1], x])      # pickled by reference
        assert np.array_equal(results[0], expected)
        assert np.array_equal(results[1], expected[::-1])
        print(threading_in_use())
    """
    assert run_child(code, layer).split()[-1] == layer
