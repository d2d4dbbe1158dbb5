# shellcheck shell=bash
# Shared steps for running numelu under qemu-user emulation of 64-bit Arm (sourced, not run).
#
# A bare arm64 Debian root is made with `mmdebstrap --variant=extract`: the .debs of python3 and
# its libraries are unpacked on the host without running any maintainer script under emulation,
# which takes seconds (an installed `--variant=apt` root takes minutes).  Python's own `venv`
# (without pip) gets numelu's dependencies from aarch64 wheels that the host's pip unpacks into
# it, so nothing inside the root needs the network or runs pip under emulation.
#
# Needs root (chroot, mount).  Every function prints what it does on stderr.

ARM64_SUITE=${ARM64_SUITE:-bookworm}
# libgomp1: Numba's "omp" threading layer (its wheels do not carry the OpenMP runtime)
ARM64_PACKAGES=${ARM64_PACKAGES:-python3,libstdc++6,libgomp1}
ARM64_VENV=/opt/numelu-venv
ARM64_SRC=/opt/numelu-src
ARM64_CACHE=/opt/numelu-numba-cache
_ARM64_MOUNTS=()

arm64_log() { printf '[arm64 %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Register qemu-aarch64 with binfmt_misc (installing qemu-user-static when apt-get can).
# Returns 1 (with a message) when emulation cannot be made to work here.
arm64_ensure_qemu() {
    local conf=/usr/lib/binfmt.d/qemu-aarch64.conf binfmt=/proc/sys/fs/binfmt_misc
    if [ "$(id -u)" != 0 ]; then arm64_log "needs root (chroot, mount)"; return 1; fi
    if [ ! -e "$conf" ] || ! command -v mmdebstrap >/dev/null; then
        command -v apt-get >/dev/null || { arm64_log "no apt-get to install qemu-user-static"; return 1; }
        arm64_log "installing qemu-user-static and mmdebstrap"
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            qemu-user-static mmdebstrap; } >/dev/null 2>&1 \
            || { arm64_log "apt-get could not install qemu-user-static mmdebstrap"; return 1; }
    fi
    if [ ! -e "$binfmt/register" ]; then
        mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null \
            || { arm64_log "cannot mount binfmt_misc (no privilege for it here)"; return 1; }
    fi
    if [ ! -e "$binfmt/qemu-aarch64" ]; then
        # the F flag opens the emulator now, so it works inside a chroot without a copy there
        cat "$conf" > "$binfmt/register" 2>/dev/null \
            || { arm64_log "cannot register qemu-aarch64 with binfmt_misc"; return 1; }
    fi
    grep -q enabled "$binfmt/qemu-aarch64" || { arm64_log "qemu-aarch64 is registered but disabled"; return 1; }
}

# Build the root filesystem in $1 unless it is there already (a marker file names its packages;
# packages added since are unpacked beside what is there, keeping the venv and Numba's cache).
arm64_build_root() {
    local root=$1 started target=$1
    if [ -e "$root/.numelu-arm64-root" ]; then
        if [ "$(cat "$root/.numelu-arm64-root")" = "$ARM64_PACKAGES" ]; then
            arm64_log "reusing root $root"; return 0
        fi
        target=$root.update
        arm64_remove_root "$target" || return 1
    else
        arm64_remove_root "$root" || return 1
    fi
    started=$(date +%s)
    arm64_log "unpacking $ARM64_SUITE arm64 packages into $target ($ARM64_PACKAGES)"
    mmdebstrap --quiet --arch=arm64 --variant=extract --include="$ARM64_PACKAGES" \
        "$ARM64_SUITE" "$target" >&2 || return 1
    if [ "$target" != "$root" ]; then
        # files that are there already stay (a shared library two packages ship alike)
        (cd "$target" && tar -c --exclude=./dev --exclude=./proc .) \
            | (cd "$root" && tar -x --skip-old-files) && rm -rf --one-file-system "$target"
    fi
    mkdir -p "$root/proc" "$root/dev" "$root/tmp" "$root/opt"
    chmod 1777 "$root/tmp"
    chroot "$root" /usr/bin/python3 -c 'import sys; print(sys.version)' >&2 \
        || { arm64_log "python3 does not run in the root"; return 1; }
    arm64_log "root ready in $(( $(date +%s) - started )) s ($(du -sh "$root" | cut -f1))"
    echo "$ARM64_PACKAGES" > "$root/.numelu-arm64-root"
}

# Delete a root, refusing while anything is still mounted inside it (a bound /dev above all).
arm64_remove_root() {
    local root=$1
    [ -e "$root" ] || return 0
    root=$(cd "$root" && pwd -P)
    if awk -v r="$root/" 'index($2 "/", r) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
        arm64_log "not deleting $root: something is still mounted inside it"; return 1
    fi
    rm -rf --one-file-system "$root"
}

# Mount /proc and /dev in the root; arm64_unmount undoes it (call it from an EXIT trap).
arm64_mount() {
    local root=$1
    mount -t proc proc "$root/proc" && _ARM64_MOUNTS+=("$root/proc")
    mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" && _ARM64_MOUNTS+=("$root/dev")
}

arm64_unmount() {
    local m
    for m in "${_ARM64_MOUNTS[@]}"; do umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
    _ARM64_MOUNTS=()
}

# The Python version (X.Y) of the root.
arm64_python_version() {
    chroot "$1" /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

# Install the requirements "$2..." (pins such as numpy==X) from aarch64 wheels into a venv in the
# root.  The host's pip ($HOST_PYTHON) resolves, downloads and unpacks them straight into the
# venv's site-packages (`--target` with `--platform`): nothing runs under emulation but the
# venv's creation.  Skipped when the same requirements are installed already.
arm64_install() {
    local root=$1 pyver started site stamp
    shift
    pyver=$(arm64_python_version "$root") || return 1
    site=$root$ARM64_VENV/lib/python$pyver/site-packages
    stamp=$root$ARM64_VENV/.numelu-requirements
    if [ -e "$stamp" ] && [ "$(cat "$stamp")" = "$*" ]; then
        arm64_log "reusing $ARM64_VENV ($*)"; return 0
    fi
    started=$(date +%s)
    rm -rf "${root:?}$ARM64_VENV"
    chroot "$root" /usr/bin/python3 -m venv --without-pip "$ARM64_VENV" || return 1
    arm64_log "installing aarch64 wheels for Python $pyver into $ARM64_VENV: $*"
    "${HOST_PYTHON:-python3}" -m pip install --quiet --disable-pip-version-check \
        --only-binary=:all: --python-version "$pyver" --implementation cp \
        --platform manylinux_2_28_aarch64 --platform manylinux_2_27_aarch64 \
        --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 \
        --target "$site" "$@" 2>&1 | grep -v "^WARNING: Location" >&2
    [ "${PIPESTATUS[0]}" = 0 ] || return 1
    echo "$*" > "$stamp"
    arm64_log "installed in $(( $(date +%s) - started )) s"
}

# Copy the checkout at $2 (tracked files, with uncommitted changes) to $ARM64_SRC in the root.
# A file whose content is unchanged keeps the copy already there, with its time stamp: Numba's
# cache throws away what it compiled from a source file whose time stamp changed.
arm64_copy_checkout() {
    local root=$1 repo=$2 tree new file
    tree=$(git -C "$repo" stash create 2>/dev/null)
    tree=${tree:-HEAD}
    new=$root$ARM64_SRC.new
    rm -rf "$new"
    mkdir -p "$new" "$root$ARM64_SRC"
    git -C "$repo" archive "$tree" | tar -x -C "$new"
    git -C "$repo" describe --always --dirty 2>/dev/null > "$new/.commit"
    (cd "$new" && find . -type f) | while read -r file; do
        cmp -s "$new/$file" "$root$ARM64_SRC/$file" || {
            mkdir -p "$(dirname "$root$ARM64_SRC/$file")"; cp -p "$new/$file" "$root$ARM64_SRC/$file"; }
    done
    # files no longer in the checkout
    (cd "$root$ARM64_SRC" && find . -type f -not -path '*/__pycache__/*') | while read -r file; do
        [ -e "$new/$file" ] || rm -f "$root$ARM64_SRC/$file"
    done
    rm -rf "$new"
}

# Run "$2..." inside the root (working directory /) with numelu's source on PYTHONPATH and a
# persistent Numba cache; extra VAR=value settings in $ARM64_ENV; with $ARM64_TIMEOUT set, a
# SIGINT after that many seconds (pytest then still reports).  The root has no shell.
arm64_run() {
    local root=$1
    shift
    # shellcheck disable=SC2086
    ${ARM64_TIMEOUT:+timeout --signal=INT --kill-after=60 "$ARM64_TIMEOUT"} env -i HOME=/root PATH="$ARM64_VENV/bin:/usr/bin:/bin" LANG=C.UTF-8 \
        PYTHONPATH="$ARM64_SRC" NUMBA_CACHE_DIR="$ARM64_CACHE" \
        ${ARM64_ENV:-} "$(command -v chroot)" "$root" "$@"
}
