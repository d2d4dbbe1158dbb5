#!/usr/bin/env bash
# CI without a GPU: benchmarks/gpu_check.sh in its dry mode (Numba's CUDA simulator, tiny sizes):
# the script's phases, the benchmark contenders' values against the NumPy reference, the report.
# The test suite runs the same through tests/test_gpu_bench.py::test_gpu_check_dry_run; this is
# the stand-alone form.  Needs numba-cuda (the simulator) and pytest-benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
PYTHON=${PYTHON:-python} bash benchmarks/gpu_check.sh "$OUT" --dry-run
