"""numelu against plain NumPy, the memory wall, the ufunc call floor and the installed peers.

One benchmark per (case, contender); ``benchmark.group`` is the case (function, dtype, size,
input), so pytest-benchmark and ``benchmarks/report.py`` compare contenders within a group.
The contenders are numelu/_bench/contenders.py's ``CONTENDERS`` (also used by ``python -m numelu
bench`` and checked for correctness by tests/test_contenders.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from numelu._bench.cases import Case, make_inputs
from numelu._bench.contenders import Contender
from numelu._bench.correctness import mismatch
from numelu._bench.timing import settle_after, warm_up

_current: dict = {}
_previous_role: list[str | None] = [None]    # the role of the contender timed last


def _inputs(case: Case) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The case's arrays, made once and shared by its contenders (the previous case's freed)."""
    if _current.get("case") != case:
        _current.clear()
        _current.update(case=case, arrays=make_inputs(case),
                        out=np.empty(case.size, dtype=case.dtype))
    return _current["arrays"], _current["out"]


def test_cpu(benchmark, case: Case, contender: Contender) -> None:
    reason = contender.unavailable()
    if reason:
        pytest.skip(reason)
    arrays, out = _inputs(case)
    settle_after(_previous_role[0])     # a peer's threads idle before the next is timed
    _previous_role[0] = contender.role
    run = contender.bind(case, arrays, out)
    problem = mismatch(case, contender, arrays, run())   # compiles; is it right?
    if problem:
        pytest.fail(f"wrong result, not timed: {problem}")
    warm_up(run)           # compiled (numelu, JAX) and warm before the timed rounds
    benchmark.group = case.group
    benchmark.extra_info.update(case.info, contender=contender.name, role=contender.role)
    benchmark(run)
