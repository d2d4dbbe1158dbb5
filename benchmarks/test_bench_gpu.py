"""numelu on the GPU against CuPy, PyTorch CUDA and a device-to-device copy (pytest-benchmark).

Marked ``gpu``; skipped without a CUDA GPU, except under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``), where the contenders that can run there (numelu on Numba's simulated
device arrays, the copy) run at tiny sizes: the dry run of ``benchmarks/gpu_check.sh --dry-run``.
The whole prepared run (tests, this benchmark, the report) is ``benchmarks/gpu_check.sh OUTDIR``;
by hand::

    python -m pytest benchmarks/test_bench_gpu.py --benchmark-only --benchmark-min-rounds=5 \\
        --benchmark-max-time=0.05 --benchmark-warmup=off --benchmark-disable-gc \\
        --benchmark-json=gpu.json
    python benchmarks/report.py gpu.json --markdown gpu.md --plot gpu.png

One benchmark per (case, contender); ``benchmark.group`` is the case, as in the CPU suite.  Each
timed call is ``call(); synchronize()``: it starts and ends with the device idle.  Before timing,
each contender is run once and its first 4096 elements are checked against the float64 NumPy
reference (a wrong result fails, untimed); ``extra_info`` also records the pipelined time per call
(calls issued back to back, one synchronize at the end).  The grid (comma-separated environment
variables):

    NUMELU_GPU_BENCH_FUNCTIONS    default elu,selu,elu_derivative,elu_backward
    NUMELU_GPU_BENCH_SIZES        default 1000,...,100000000 (10^3 .. 10^8)
    NUMELU_GPU_BENCH_DTYPES       default float32,float64
    NUMELU_GPU_BENCH_CONTENDERS   default all (numelu/_bench/gpu_contenders.py)
    NUMELU_GPU_BENCH_DEADLINE     a Unix time after which the remaining benchmarks skip, so a
                                  time budget still ends with a JSON of what was timed

The goal sizes (10^3 and the largest) run first, so a budget that runs out loses the middle.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

import numpy as np
import pytest

from numelu._bench.cases import DEFAULT_FUNCTIONS, DTYPES, Case, make_cases, make_inputs
from numelu._bench.correctness import mismatch
from numelu._bench.gpu_contenders import (
    GOAL_SMALL,
    GPU_SIZES,
    DeviceData,
    GpuCall,
    GpuContender,
    moved_bytes,
    select_gpu_contenders,
)
from numelu._bench.gpu_libraries import gpu_info, problem, simulating, usable_library
from numelu._bench.timing import warm_up
from numelu._reference import array_inputs

pytestmark = [
    pytest.mark.gpu,
    # numba-cuda warns about small grids (the raw .cuda ufunc at 10^3 elements)
    pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaPerformanceWarning"),
]

CHECKED = 4096            # elements of each result compared with the reference
WARM_UP_SECONDS = 0.02
PIPELINE_SECONDS = 0.02


def _setting(name: str, default: str) -> list[str]:
    text = os.environ.get(f"NUMELU_GPU_BENCH_{name}") or default
    return [item.strip() for item in text.split(",") if item.strip()]


def gpu_cases() -> list[Case]:
    """The grid, goal sizes first, then by size; same-size, same-dtype cases run together."""
    sizes = [int(float(s)) for s in _setting("SIZES", ",".join(map(str, GPU_SIZES)))]
    cases = make_cases(_setting("FUNCTIONS", ",".join(DEFAULT_FUNCTIONS)),
                       _setting("DTYPES", ",".join(DTYPES)), sizes, _setting("DATA", "normal"))
    first = {GOAL_SMALL, max(sizes)}
    order = {name: i for i, name in enumerate(DEFAULT_FUNCTIONS)}
    return sorted(cases, key=lambda c: (c.size not in first, c.size, c.dtype, c.data,
                                        array_inputs(c.function), order.get(c.function, 99),
                                        c.function))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not {"gpu_case", "gpu_contender"} <= set(metafunc.fixturenames):
        return
    contenders = select_gpu_contenders(_setting("CONTENDERS", ""))
    params = [pytest.param(case, contender, id=f"{case.id}-{contender.name}")
              for case in gpu_cases() for contender in contenders
              if contender.applies_to(case.function)]
    metafunc.parametrize(("gpu_case", "gpu_contender"), params)


class _MachineInfo:
    """Adds the GPU and the versions to the JSON's ``machine_info`` (as ``numelu_gpu``)."""

    @pytest.hookimpl
    def pytest_benchmark_update_machine_info(self, config, machine_info) -> None:
        machine_info["numelu_gpu"] = gpu_info()


@pytest.fixture(scope="session")
def gpu_session(request) -> None:
    if not simulating() and usable_library() is None:
        pytest.skip(f"no CUDA GPU: {problem('numba')}")
    manager = request.config.pluginmanager
    if not manager.has_plugin("numelu-gpu-machine-info"):
        manager.register(_MachineInfo(), "numelu-gpu-machine-info")


_current: dict = {}


def _data(case: Case) -> DeviceData:
    """The case's inputs (host and device), shared by its contenders and by the next cases of
    the same size, dtype and inputs; the previous ones are dropped."""
    key = (case.size, case.dtype, case.data, array_inputs(case.function))
    if _current.get("key") != key:
        _current.clear()
        _current.update(key=key, data=DeviceData(case, make_inputs(case)))
    return _current["data"]


def _check(case: Case, contender: GpuContender, data: DeviceData, bound: GpuCall,
           result) -> str | None:
    """Why the result is wrong (its first elements against the reference), or None."""
    k = min(case.size, CHECKED)
    host = np.asarray(bound.to_host(result[:k]))
    if contender.role == "wall":
        same = np.array_equal(host, data.host[-1][:k])
        return None if same else f"{contender.name}: the copy differs from its input"
    return mismatch(replace(case, size=k), contender, [a[:k] for a in data.host], host)


def pipelined_seconds(bound: GpuCall, seconds: float = PIPELINE_SECONDS) -> float:
    """Seconds per call of calls issued back to back and waited for once (the device's rate,
    or the host's launch rate where that is slower)."""
    number = 1
    while True:
        bound.synchronize()
        start = time.perf_counter()
        for _ in range(number):
            bound.call()
        bound.synchronize()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds or number >= 1 << 14:
            return elapsed / number
        number = min(number * 4, 1 << 14)


def test_gpu(benchmark, gpu_session, gpu_case: Case, gpu_contender: GpuContender) -> None:
    deadline = float(os.environ.get("NUMELU_GPU_BENCH_DEADLINE") or "inf")
    if time.time() > deadline:
        pytest.skip("the benchmark's time budget is spent (NUMELU_GPU_BENCH_DEADLINE)")
    reason = gpu_contender.unavailable()
    if reason:
        pytest.skip(f"{gpu_contender.name}: {reason}")
    data = _data(gpu_case)
    bound = gpu_contender.bind(gpu_case, data)
    problem_ = _check(gpu_case, gpu_contender, data, bound, bound())     # compiles; right?
    if problem_:
        pytest.fail(f"wrong result, not timed: {problem_}")
    warm_up(bound, WARM_UP_SECONDS)
    library = gpu_contender.library or usable_library()
    benchmark.group = gpu_case.group
    benchmark.extra_info.update(
        gpu_case.info, contender=gpu_contender.name, role=gpu_contender.role, target="gpu",
        library=library, simulator=simulating(), pipelined_seconds=pipelined_seconds(bound),
        bytes=moved_bytes(gpu_case.function, gpu_contender.role, gpu_case.size, gpu_case.dtype))
    benchmark(bound)
