#!/usr/bin/env bash
# The whole GPU check in one command, for a machine with an NVIDIA GPU and no network:
#
#   benchmarks/gpu_check.sh OUTDIR [--wheels DIR] [--dry-run]
#
# Run from anywhere (it works in the repository root).  Installs nothing from the network: numelu
# is imported from this checkout (PYTHONPATH); --wheels DIR installs wheels prepared beforehand
# (pip install --no-index --find-links DIR "dask[array]"; README, "Running on a GPU"), so that the
# CuPy-backed Dask test runs too.  Phases, each under its own time budget in seconds (environment
# variable, default); the budgets add up to 440 s (470 s with --wheels), under 8 minutes even if
# every phase ran out:
#
#   wheels      --wheels DIR only: Dask from DIR               NUMELU_GPU_WHEELS_BUDGET    30
#   versions    the interpreter, the packages, the GPU found   NUMELU_GPU_VERSIONS_BUDGET  30
#   gpu tests   pytest -m gpu tests/ (CUDA ufuncs, CuPy, PyTorch and Numba arrays, streams,
#               Dask on CuPy)                                  NUMELU_GPU_TESTS_BUDGET    130
#   cuda tests  tests/test_cuda.py without a GPU: PTX, host side NUMELU_CUDA_TESTS_BUDGET  50
#   cpu tests   the smoke test on this machine's NumPy, Numba  NUMELU_CPU_TESTS_BUDGET     40
#   benchmark   benchmarks/test_bench_gpu.py, 10^3..10^8       NUMELU_GPU_BENCH_BUDGET    170
#   report      markdown with the goals; PNG plot (matplotlib) NUMELU_GPU_REPORT_BUDGET    20
#
# A failing or timed-out phase does not stop the next.  OUTDIR receives gpu_check.log (everything
# printed), versions.txt, gpu-tests.xml, cuda-tests.xml, gpu-<device>-<date>.json/.md/.png and
# summary.txt.  The exit status is 0 only if every phase passed (a test that skips is not a
# failure; its reason is in the log).
#
# --dry-run: for CI without a GPU.  The gpu tests run (and skip), the quick CUDA tests run, and
# the benchmark runs under Numba's CUDA simulator at tiny sizes: the contenders that can run there
# are checked against the NumPy reference and timed (the times mean nothing), those that cannot
# (CuPy, PyTorch CUDA, the raw .cuda ufunc) skip with the reason; then the report is rendered.
set -uo pipefail

usage() {
    echo "usage: $0 OUTDIR [--wheels DIR] [--dry-run]" >&2
    exit 2
}

OUT="" WHEELS="" DRY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --wheels) [ $# -ge 2 ] || usage; WHEELS=$2; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        -h|--help) usage ;;
        -*) echo "unknown option $1" >&2; usage ;;
        *) [ -z "$OUT" ] || usage; OUT=$1; shift ;;
    esac
done
[ -n "$OUT" ] || usage

ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || { echo "cannot create $OUT" >&2; exit 2; }
if [ -n "$WHEELS" ]; then
    [ -d "$WHEELS" ] || { echo "no wheel folder $WHEELS" >&2; exit 2; }
    WHEELS=$(cd "$WHEELS" && pwd)
fi
cd "$ROOT"
exec > >(tee -a "$OUT/gpu_check.log") 2>&1

# the interpreter: $PYTHON, else the first of python3 and python that has Numba
PY=${PYTHON:-}
if [ -z "$PY" ]; then
    for candidate in python3 python; do
        if "$candidate" -c "import numba" 2>/dev/null; then PY=$candidate; break; fi
    done
    PY=${PY:-python3}
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
PYTEST=("$PY" -m pytest -p no:cacheprovider -q -rfEs)
START=$(date +%s)
STATUS=0
SUMMARY=()

elapsed() { echo $(( $(date +%s) - START )); }

# run_phase NAME BUDGET COMMAND...: the command under `timeout` (SIGINT first, so pytest still
# writes its reports; SIGKILL 15 s later), its result recorded in the summary.
run_phase() {
    local name=$1 budget=$2 rc
    shift 2
    echo
    echo "=== $name (budget ${budget} s, at $(elapsed) s) ==="
    timeout -s INT -k 15 "$budget" "$@"
    rc=$?
    case $rc in
        0) SUMMARY+=("$name: ok") ;;
        124|130|137) SUMMARY+=("$name: TIMED OUT after ${budget} s (rc $rc)"); STATUS=1 ;;
        *) SUMMARY+=("$name: FAILED (rc $rc)"); STATUS=1 ;;
    esac
    echo "=== $name: rc $rc, at $(elapsed) s ==="
}

echo "numelu GPU check: $(date -u +%FT%TZ), $ROOT -> $OUT$( [ $DRY = 1 ] && echo ' (dry run)')"

# -- optional wheels (Dask for the CuPy-backed Dask test), never from the network
if [ -n "$WHEELS" ]; then
    # only what is missing is installed; an "externally managed" system Python (PEP 668) is
    # told that this is meant
    run_phase "wheels" "${NUMELU_GPU_WHEELS_BUDGET:-30}" bash -c '
        "$0" -m pip install --no-index --find-links "$1" "dask[array]" && exit 0
        echo "retrying with --break-system-packages"
        "$0" -m pip install --no-index --find-links "$1" --break-system-packages "dask[array]"
    ' "$PY" "$WHEELS"
fi

# -- versions and the GPU
if [ $DRY = 1 ]; then export NUMBA_ENABLE_CUDASIM=1; fi
run_phase "versions" "${NUMELU_GPU_VERSIONS_BUDGET:-30}" bash -c '
    set -o pipefail
    "$0" benchmarks/gpu_versions.py | tee "$1/versions.txt" || exit 1
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv |
            tee -a "$1/versions.txt"
    fi
    exit 0' "$PY" "$OUT"
unset NUMBA_ENABLE_CUDASIM

# -- the tests that need a GPU (they skip without one), then the CUDA tests that do not
# (the dry run collects only the files that hold them: collecting every test file takes a while)
GPU_FILES=(tests)
if [ $DRY = 1 ]; then GPU_FILES=(tests/test_cuda.py tests/test_dask.py); fi
run_phase "gpu tests" "${NUMELU_GPU_TESTS_BUDGET:-130}" \
    "${PYTEST[@]}" -m gpu "${GPU_FILES[@]}" --junitxml="$OUT/gpu-tests.xml"
# the CUDA tests that need no GPU: PTX for real hardware, the host side (the simulator runs are
# CPU-only and slow: the CI suite has them; the dry run takes two quick tests, for the plumbing)
CUDA_K="not simulator"
if [ $DRY = 1 ]; then CUDA_K="generated_kernel_source or coalesce_strides"; fi
run_phase "cuda tests" "${NUMELU_CUDA_TESTS_BUDGET:-50}" \
    "${PYTEST[@]}" tests/test_cuda.py -m "not gpu" -k "$CUDA_K" \
    --junitxml="$OUT/cuda-tests.xml"
# numelu on this machine's NumPy and Numba: the CPU loops compiled and run (the GPU tests above
# ran the CUDA side on them)
run_phase "cpu tests" "${NUMELU_CPU_TESTS_BUDGET:-40}" \
    "${PYTEST[@]}" -x "tests/test_ufunc_values.py::test_values_contiguous[cpu-elu-d]" \
    "tests/test_ufunc_values.py::test_values_contiguous[parallel-elu-f]" \
    "tests/test_ufunc_values.py::test_values_contiguous[auto-elu-e]" \
    --junitxml="$OUT/cpu-tests.xml"

# -- the benchmark: a deadline inside, so the JSON holds what was timed when the budget ends
BUDGET=${NUMELU_GPU_BENCH_BUDGET:-170}
if [ $DRY = 1 ]; then
    export NUMBA_ENABLE_CUDASIM=1
    export NUMELU_GPU_BENCH_SIZES=${NUMELU_GPU_BENCH_SIZES:-16,100}
    MAX_TIME=0.005 ROUNDS=2 DEVICE=simulator
else
    MAX_TIME=0.03 ROUNDS=5
    DEVICE=$("$PY" -c '
import re
from numelu._bench.gpu_libraries import gpu_info
name = gpu_info()["gpu"]
name = re.sub(r"^nvidia[ -]", "", name.lower())
print(re.sub(r"[^a-z0-9]+", "-", name).strip("-")[:40] or "gpu")' 2>/dev/null || echo gpu)
fi
BASE="$OUT/gpu-$DEVICE-$(date -u +%F)"
export NUMELU_GPU_BENCH_DEADLINE=$(( $(date +%s) + BUDGET - 30 ))
run_phase "benchmark" "$BUDGET" "$PY" -m pytest -p no:cacheprovider -q -W default \
    benchmarks/test_bench_gpu.py --benchmark-only --benchmark-warmup=off \
    --benchmark-disable-gc --benchmark-min-rounds=$ROUNDS --benchmark-max-time=$MAX_TIME \
    --benchmark-columns=min,median,rounds --benchmark-json="$BASE.json"
unset NUMBA_ENABLE_CUDASIM

# -- the report: markdown (with the goals) and the plot where matplotlib is installed
if [ -s "$BASE.json" ]; then
    if "$PY" -c "import matplotlib" 2>/dev/null; then
        PLOT=(--plot "$BASE.png")
    else
        PLOT=()
        SUMMARY+=("plot: not drawn, matplotlib is not installed here; on any machine with it:"
                  "  python benchmarks/report.py $(basename "$BASE").json --plot $(basename "$BASE").png")
    fi
    run_phase "report" "${NUMELU_GPU_REPORT_BUDGET:-20}" \
        "$PY" benchmarks/report.py "$BASE.json" --markdown "$BASE.md" "${PLOT[@]}"
    [ -s "$BASE.md" ] && grep -E "measured goal rows met" "$BASE.md" | sed 's/^/goals: /' \
        >> "$OUT/goals.txt"
else
    SUMMARY+=("report: FAILED, no benchmark JSON was written"); STATUS=1
fi

{
    echo "numelu GPU check$( [ $DRY = 1 ] && echo ' (dry run: Numba CUDA simulator, no GPU)'), $(date -u +%FT%TZ)"
    head -n 1 "$OUT/versions.txt" 2>/dev/null
    grep -E "^  gpu: " "$OUT/versions.txt" 2>/dev/null
    printf '%s\n' "${SUMMARY[@]}"
    cat "$OUT/goals.txt" 2>/dev/null
    echo "total: $(elapsed) s; exit status $STATUS"
} > "$OUT/summary.txt"
rm -f "$OUT/goals.txt"
echo
cat "$OUT/summary.txt"
exit $STATUS
