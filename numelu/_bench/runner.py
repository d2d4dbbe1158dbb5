"""``python -m numelu bench``'s run: every contender on every case checked, warmed up and timed,
and the run written as a JSON document in pytest-benchmark's schema."""

from __future__ import annotations

import platform
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from numelu._bench.cases import Case, make_inputs
from numelu._bench.contenders import Contender
from numelu._bench.correctness import mismatch
from numelu._bench.peers import peer_versions
from numelu._bench.report import format_time
from numelu._bench.results import benchmark_entry
from numelu._bench.timing import (
    PEER_SETTLE_SECONDS,
    WARM_UP_SECONDS,
    _stats,
    settle_after,
    time_call,
    warm_up,
)


def run_benchmarks(cases: Sequence[Case], contenders: Sequence[Contender], *, repeats: int,
                   min_time: float, warm_up_seconds: float = WARM_UP_SECONDS,
                   settle_seconds: float = PEER_SETTLE_SECONDS,
                   progress: Callable[[str], None] | None = None,
                   failures: list[str] | None = None) -> list[dict[str, Any]]:
    """Time every applicable, available contender on every case; pytest-benchmark entries.

    Each contender's first call (compiling it) is checked against NumPy (:func:`mismatch`): a
    wrong one is reported in ``failures``, not timed.  A right one runs untimed for
    ``warm_up_seconds`` (:func:`warm_up`), and a contender that follows a peer first waits
    ``settle_seconds`` (:func:`settle_after`).
    """
    entries: list[dict[str, Any]] = []
    failures = [] if failures is None else failures
    runnable = [c for c in contenders if c.unavailable() is None]
    total = sum(c.applies_to(case.function) for case in cases for c in runnable)
    done = 0
    previous_role = None
    for case in cases:
        arrays = make_inputs(case)
        out = np.empty(case.size, dtype=case.dtype)
        for contender in runnable:
            if not contender.applies_to(case.function):
                continue
            done += 1
            settle_after(previous_role, settle_seconds)
            previous_role = contender.role
            fn = contender.bind(case, arrays, out)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")       # a peer's warning must not stop the run
                problem = mismatch(case, contender, arrays, fn())  # compiled, and right?
                if problem:
                    failures.append(problem)
                    if progress:
                        progress(f"WRONG RESULT, not timed: {problem}")
                    continue
                warm_up(fn, warm_up_seconds)
                times, number = time_call(fn, repeats=repeats, min_time=min_time)
            stats = _stats(times, number)
            entries.append(benchmark_entry(case, contender, stats))
            if progress:
                progress(f"[{done}/{total}] {case.group:<36} {contender.name:<20} "
                         f"{format_time(stats['min']):>10}")
        del arrays, out
    return entries


def json_document(entries: list[dict[str, Any]]) -> dict[str, Any]:
    import os

    return {
        "machine_info": {
            "node": platform.node(), "processor": platform.processor(),
            "machine": platform.machine(), "python_version": platform.python_version(),
            "cpu": {"brand_raw": _cpu_name(), "count": os.cpu_count()},
            "numelu_versions": peer_versions(),
        },
        "commit_info": {},
        "benchmarks": entries,
        "datetime": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "version": "numelu-bench-1",
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
