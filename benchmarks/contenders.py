"""The contenders of the benchmark suite; ``python benchmarks/contenders.py`` lists them.

The table itself lives in ``numelu._bench.contenders`` (``CONTENDERS``) so that
``python -m numelu bench`` uses it without pytest; the pytest-benchmark suite
(``test_bench_cpu.py``) and the correctness test (``tests/test_contenders.py``) use the same
table.
"""

from __future__ import annotations

import sys

from numelu._bench.cases import Case, make_cases, make_inputs
from numelu._bench.contenders import CONTENDERS, CONTENDERS_BY_NAME, Contender
from numelu._reference import NAMES, numpy_label

__all__ = ["CONTENDERS", "CONTENDERS_BY_NAME", "Case", "Contender", "make_cases", "make_inputs",
           "numpy_label"]


def main() -> int:
    width = max(len(c.name) for c in CONTENDERS)
    for contender in CONTENDERS:
        reason = contender.unavailable()
        state = "ok" if reason is None else f"unavailable: {reason}"
        print(f"{contender.name:<{width}}  {contender.role:<6}  {contender.label}  [{state}]")
    print("\nplain NumPy expressions:")
    for name in NAMES:
        print(f"  {name:<28} {numpy_label(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
