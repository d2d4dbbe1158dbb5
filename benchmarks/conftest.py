"""pytest-benchmark suite for numelu on the CPU (method: docs/design.md, Benchmark method).

Not part of the plain ``pytest`` run (``testpaths = ["tests"]``).  The full run (4 functions x
2 dtypes x 4 sizes x 2 inputs x 14-15 contenders, 960 benchmarks) takes about 7 minutes on
2 cores::

    D=$(date +%F)
    python -m pytest benchmarks --benchmark-only --benchmark-min-rounds=5 \
        --benchmark-max-time=0.2 --benchmark-disable-gc --benchmark-json=benchmarks/results/cpu-$D.json
    python benchmarks/report.py benchmarks/results/cpu-$D.json \
        --markdown benchmarks/results/cpu-$D.md --plot benchmarks/results/cpu-$D.png

Each contender is called once and its result checked against NumPy (a wrong result fails the
benchmark, untimed), then called again, before the timed rounds.  Narrow the grid with
options or environment variables (comma-separated):

    --bench-functions / NUMELU_BENCH_FUNCTIONS    default elu,selu,elu_derivative,elu_backward
                                                  ("all": every function)
    --bench-sizes     / NUMELU_BENCH_SIZES        default 100,10000,1000000,10000000
    --bench-dtypes    / NUMELU_BENCH_DTYPES       default float32,float64
    --bench-data      / NUMELU_BENCH_DATA         default normal,negative
    --bench-contenders / NUMELU_BENCH_CONTENDERS  default all (see numelu/_bench/contenders.py)

e.g. a smoke run: ``NUMELU_BENCH_SIZES=100,10000 pytest benchmarks --benchmark-disable``.
Peers that are not installed (torch, numexpr, jax) are skipped with the reason.
"""

from __future__ import annotations

import os

import pytest

from numelu._bench.cases import DATA, DEFAULT_FUNCTIONS, DTYPES, SIZES, function_names, make_cases
from numelu._bench.contenders import select_contenders
from numelu._bench.peers import peer_versions
from numelu._bench.results import compact_benchmark_json

_OPTIONS = {
    "functions": ("NUMELU_BENCH_FUNCTIONS", ",".join(DEFAULT_FUNCTIONS)),
    "sizes": ("NUMELU_BENCH_SIZES", ",".join(map(str, SIZES))),
    "dtypes": ("NUMELU_BENCH_DTYPES", ",".join(DTYPES)),
    "data": ("NUMELU_BENCH_DATA", ",".join(DATA)),
    "contenders": ("NUMELU_BENCH_CONTENDERS", ""),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("numelu-bench", "numelu benchmark grid")
    for name, (variable, default) in _OPTIONS.items():
        group.addoption(f"--bench-{name}", default=None,
                        help=f"comma-separated {name} (env {variable}; default {default or 'all'})")


def _setting(config: pytest.Config, name: str) -> list[str]:
    variable, default = _OPTIONS[name]
    text = config.getoption(f"bench_{name}") or os.environ.get(variable) or default
    return [item.strip() for item in text.split(",") if item.strip()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not {"case", "contender"} <= set(metafunc.fixturenames):
        return
    config = metafunc.config
    functions = _setting(config, "functions")
    if functions == ["all"]:
        functions = list(function_names())
    cases = make_cases(functions, _setting(config, "dtypes"),
                       [int(float(s)) for s in _setting(config, "sizes")],
                       _setting(config, "data"))
    contenders = select_contenders(_setting(config, "contenders") or None)
    # contender innermost: one group's contenders run back to back, on the same arrays
    params = [pytest.param(case, contender, id=f"{case.id}-{contender.name}")
              for case in cases for contender in contenders
              if contender.applies_to(case.function)]
    metafunc.parametrize(("case", "contender"), params)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    machine_info["numelu_versions"] = peer_versions()


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: list, output_json: dict
                                 ) -> None:
    compact_benchmark_json(output_json)     # no per-round data: a small JSON to commit
