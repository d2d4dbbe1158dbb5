#!/usr/bin/env bash
# Run numelu's tests on 64-bit Arm (AArch64) Linux under qemu-user emulation.
#
# usage: sudo scripts/arm64_check.sh OUTDIR [--subset|--full] [--budget SECONDS] [-- PYTEST ARGS]
#
#   --subset  (default) the tests listed in scripts/arm64_subset.txt: numerics in float16/32/64
#             (every float32 through elu: scripts/float32_digest.py), edge values, floating-point flags, where=/out=/overlap,
#             threads and the fork guard, numelu.scalar in a user's @njit.  Budget 3600 s.
#   --full    the whole suite (tests/), with the dask/xarray/pandas extras.  Budget 14400 s.
#   -- ARGS   run pytest on ARGS (test ids, -k ...; paths relative to the checkout) instead.
#
# Builds (or reuses) an arm64 Debian root in $ARM64_ROOT (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/numelu-arm64-root), installs the host's versions of NumPy,
# Numba, llvmlite and the test dependencies there from aarch64 wheels, copies this checkout
# (tracked files, uncommitted changes included) in, and runs pytest under `timeout`.
# Writes OUTDIR/arm64-check.log (pytest's output) and OUTDIR/arm64-summary.md (versions,
# counts, time).  Exit status: pytest's (124 when the budget ran out).
#
# Emulation is 10-40x slower than native and Numba compiles every kernel under it (about a
# minute per function and dtype); the Numba cache stays in the root, so a second run is faster.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=scripts/arm64_env.sh
source "$here/arm64_env.sh"

outdir=${1:-}
[ -n "$outdir" ] && [ "${outdir#-}" = "$outdir" ] || {
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
shift
mode=subset budget=
while [ $# -gt 0 ]; do
    case $1 in
        --subset) mode=subset ;;
        --full) mode=full ;;
        --budget) budget=$2; shift ;;
        --) shift; break ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$budget" ] || { [ $mode = full ] && budget=14400 || budget=3600; }
extra=$mode
root=${ARM64_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/numelu-arm64-root}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
log=$outdir/arm64-check.log summary=$outdir/arm64-summary.md

# The host's versions, so that a difference is the platform's and not a version's.
HOST_PYTHON=${HOST_PYTHON:-python3}
pins=$("$HOST_PYTHON" - "$extra" <<'EOF'
import importlib.metadata as md, sys
names = ["numpy", "numba", "llvmlite", "pytest", "hypothesis", "mpmath"]
if sys.argv[1] == "full":
    names += ["dask", "distributed", "xarray", "pandas", "cloudpickle", "pytest-benchmark"]
pins = []
for name in names:
    try:
        pins.append(f"{name}=={md.version(name)}")
    except md.PackageNotFoundError:
        pins.append(name)
print(" ".join(pins))
EOF
) || exit 1
select=()
if [ $# -gt 0 ]; then
    mode=chosen
    tests=()
    for arg in "$@"; do
        case $arg in tests*) tests+=("$arg") ;; *) select+=("$arg") ;; esac
    done
elif [ "$mode" = full ]; then
    tests=(tests)
else
    mapfile -t tests < <(grep -v -e '^#' -e '^$' -e '^-k ' "$here/arm64_subset.txt")
    expression=$(sed -n 's/^-k //p' "$here/arm64_subset.txt")
    [ -z "$expression" ] || select=(-k "$expression")
fi

arm64_ensure_qemu || exit 1
trap arm64_unmount EXIT
started=$(date +%s)
arm64_build_root "$root" || exit 1
# shellcheck disable=SC2086
arm64_install "$root" $pins || exit 1
arm64_copy_checkout "$root" "$repo"
arm64_mount "$root"
ready=$(date +%s)

arm64_log "running pytest ($mode, ${#tests[@]} entries) under a budget of $budget s; log: $log"
tests=("${tests[@]/#/$ARM64_SRC/}")
ARM64_TIMEOUT=$budget arm64_run "$root" "$ARM64_VENV/bin/python" -m pytest -p no:cacheprovider -q -rfEs --durations=25 \
    --rootdir="$ARM64_SRC" -c "$ARM64_SRC/pyproject.toml" "${select[@]}" "${tests[@]}" > "$log" 2>&1
status=$?
finished=$(date +%s)

versions=$(arm64_run "$root" "$ARM64_VENV/bin/python" -c '
import platform, numpy, numba, llvmlite, llvmlite.binding as b
llvm = ".".join(map(str, b.llvm_version_info))
print(f"- Python {platform.python_version()} on {platform.machine()}, NumPy {numpy.__version__}, "
      f"Numba {numba.__version__}, llvmlite {llvmlite.__version__} (LLVM {llvm}), "
      f"LLVM host CPU {b.get_host_cpu_name()!r}")
' 2>&1)
{
    echo "# numelu on AArch64 under qemu-user ($mode, $(date -u +%Y-%m-%d))"
    echo
    echo "- commit $(cat "$root$ARM64_SRC/.commit"); Debian $ARM64_SUITE arm64 root"
    echo "$versions"
    echo "- $(qemu-aarch64-static --version | head -1); host $(uname -m), $(nproc) cores"
    echo "- setup (root, wheels, checkout): $((ready - started)) s; pytest: $((finished - ready)) s of a $budget s budget"
    echo "- pytest exit status $status$([ $status = 124 ] && echo ' (budget ran out)')"
    echo "- result: $(grep -E '^(=+ )?[0-9]+ (passed|failed)|(passed|failed|error).* in [0-9.]+s' "$log" | tail -1)"
} > "$summary"
cat "$summary"
exit $status
