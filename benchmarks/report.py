"""Render a benchmark JSON as a markdown table of ratios and a PNG plot.

    python benchmarks/report.py results.json --markdown out.md --plot out.png

Reads pytest-benchmark's JSON (``pytest benchmarks --benchmark-json=F``) or the JSON of
``python -m numelu bench --json F``.  The logic is ``numelu._bench.cli.report_main`` (tested by
tests/test_report.py); matplotlib is needed only for ``--plot``.
"""

from __future__ import annotations

import sys

from numelu._bench.cli import report_main

if __name__ == "__main__":
    sys.exit(report_main(sys.argv[1:]))
