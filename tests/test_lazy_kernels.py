"""The JIT compiles a function's kernel for a float type on the first call of that type only
(``numelu._lazy``): counted with Numba's compile events, in fresh processes on the JIT."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def _run(code: str, cache: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, NUMELU_KERNELS="jit", PYTHONPATH=str(REPOSITORY))
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=900)


_COUNTING = """
    import numba.core.event as event
    import numpy as np
    import numelu

    bodies = []

    class Count(event.Listener):
        def on_start(self, e):
            name = e.data["dispatcher"].py_func.__name__
            if name.endswith("_kernel_body") or name.startswith("numelu_half"):
                bodies.append(name)

        def on_end(self, e):
            pass

    event.register("numba:compile", Count())

    def step(dtype, target="cpu"):
        bodies.clear()
        x = np.linspace(-3, 3, 70_001, dtype=dtype)
        got = getattr(numelu.elu, target)(x, dtype(0.5))
        want = numelu.elu.cpu(x.astype(np.float64), 0.5).astype(dtype)
        assert np.array_equal(got, want) or dtype is not np.float64, target
        print(dtype.__name__, target, sorted(set(bodies)))
"""


def test_first_call_of_a_type_compiles_only_that_types_kernel(tmp_path):
    result = _run(_COUNTING + """
    step(np.float64)
    step(np.float64, "parallel")
    step(np.float32, "parallel")
    step(np.float16)
    step(np.float32)
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "float64 cpu ['numelu_elu_d_kernel_body']",
        "float64 parallel []",                       # the same kernel serves both loops
        "float32 parallel ['numelu_elu_f_kernel_body']",
        "float16 cpu ['numelu_half_overflowed']",    # the float16 kernel, on float32's
        "float32 cpu []",
    ]


_FAILING = """
    import warnings
    import numpy as np
    import numelu
    from numelu import _loops

    real = _loops.function_kernel

    def broken(spec, char):
        raise {error}

    _loops.function_kernel = broken
    x = np.linspace(-3, 3, {size})
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            numelu.elu.{target}(x, 1.0)
        print("returned", sorted({{str(w.message) for w in caught}}))
    except KeyboardInterrupt:
        print("KeyboardInterrupt")
    _loops.function_kernel = real
    want = np.where(x < 0, np.expm1(np.minimum(x, 0)), x)
    print("then", np.allclose(numelu.elu.{target}(x, 1.0), want, rtol=1e-15, atol=0))
"""


def _failing(error: str, target: str, size: int) -> tuple[list[str], str]:
    result = _run(_FAILING.format(error=error, target=target, size=size))
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines(), result.stderr


def test_ctrl_c_while_compiling_raises_keyboard_interrupt_after_the_call():
    for target, size in (("cpu", 10), ("parallel", 100_001)):
        lines, _ = _failing("KeyboardInterrupt", target, size)
        assert lines[0] == "KeyboardInterrupt", target
        assert lines[1] == "then True", target    # compiled on the next call


def test_an_error_while_compiling_is_reported_and_the_next_call_compiles_again():
    lines, stderr = _failing("RuntimeError('no compiler')", "cpu", 10)
    assert lines[0] == "returned ['invalid value encountered in elu']"
    assert "RuntimeError: no compiler" in stderr
    assert lines[1] == "then True"
