#!/usr/bin/env bash
# CI smoke test of numelu on 64-bit Arm Linux under qemu-user emulation: import, one function of
# each kind on a few values (NaN, infinities, signed zeros), and the floating-point warnings as
# NumPy's (scripts/arm64_smoke.py).  The whole suite on Arm is scripts/arm64_check.sh.
#
# Fails (exit 1) only when numelu itself gives a wrong result or warning on Arm.  Where the
# emulator cannot run here (not root, no binfmt_misc, no network for the packages) or the run
# takes longer than ARM_SMOKE_BUDGET seconds (default 480), it says why and exits 0.
# Uses the Python on PATH (the CI venv) to download the aarch64 wheels of its own NumPy and Numba.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/arm64_env.sh
source scripts/arm64_env.sh
started=$(date +%s)
budget=${ARM_SMOKE_BUDGET:-480}

skip() { echo "arm smoke: SKIPPED ($*) after $(( $(date +%s) - started )) s"; exit 0; }

arm64_ensure_qemu || skip "the arm64 emulator cannot be set up here"
work=$(mktemp -d "${TMPDIR:-/tmp}/numelu-arm-smoke.XXXXXX")
root=$work/root
cleanup() { arm64_unmount; arm64_remove_root "$root" && rm -rf "$work"; }
trap cleanup EXIT

arm64_build_root "$root" || skip "could not build the arm64 root filesystem"
pins=$(python3 -c '
import importlib.metadata as md
print(" ".join(f"{n}=={md.version(n)}" for n in ("numpy", "numba", "llvmlite")))') \
    || skip "the host Python has no numpy/numba/llvmlite to match"
# shellcheck disable=SC2086
HOST_PYTHON=python3 arm64_install "$root" $pins || skip "could not install the aarch64 wheels"
arm64_copy_checkout "$root" "$PWD"
arm64_mount "$root"
ready=$(date +%s)
echo "arm smoke: emulator, root and wheels ready in $(( ready - started )) s"

ARM64_TIMEOUT=$budget arm64_run "$root" "$ARM64_VENV/bin/python" "$ARM64_SRC/scripts/arm64_smoke.py"
status=$?
case $status in
    0) echo "arm smoke: passed in $(( $(date +%s) - started )) s (smoke $(( $(date +%s) - ready )) s)" ;;
    124|130|137) skip "the emulated run did not finish in $budget s (exit $status): too slow here" ;;
    *) echo "arm smoke: FAILED (exit $status) in $(( $(date +%s) - started )) s"; exit 1 ;;
esac
