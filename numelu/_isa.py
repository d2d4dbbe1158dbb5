"""The x86-64 ISA levels numelu ships precompiled kernels for, and which of them this CPU runs.

A level is a fixed set of instructions (the psABI's x86-64-v3: AVX2, FMA, F16C, BMI1/2, LZCNT,
MOVBE; x86-64-v4: v3 plus AVX-512 F/CD/BW/DQ/VL): code generated for a level runs on every CPU
that has all of its features, whatever else it has.  The features are read from NumPy's own CPU
dispatch table, which also checks that the operating system saves the wide registers.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

#: Level -> the NumPy CPU features it needs (BMI1/2, LZCNT and MOVBE are read from
#: /proc/cpuinfo where it exists: NumPy does not list them).
LEVELS: dict[str, frozenset[str]] = {
    "x86-64-v4": frozenset({"AVX", "AVX2", "FMA3", "F16C", "AVX512F", "AVX512CD", "AVX512BW",
                            "AVX512DQ", "AVX512VL"}),
    "x86-64-v3": frozenset({"AVX", "AVX2", "FMA3", "F16C"}),
}
#: LLVM features added to each level's code: x86-64-v4's tuning prefers 256-bit vectors, which
#: halves the speed of every kernel on CPUs with full-width AVX-512 units (Zen 5, recent Intel);
#: lifted, the level's code is as fast as code tuned for such a host.
LLVM_FEATURES: dict[str, str] = {"x86-64-v4": "-prefer-256-bit", "x86-64-v3": ""}

#: Flags of /proc/cpuinfo every level above also needs.
_CPUINFO_FLAGS = frozenset({"bmi1", "bmi2", "abm", "movbe"})

#: Best first.
PREFERENCE = ("x86-64-v4", "x86-64-v3")


def machine() -> str:
    """``x86_64`` or ``aarch64``, ..., as the precompiled libraries name architectures."""
    name = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(name, name)


def numpy_features() -> dict[str, bool]:
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__
    return __cpu_features__


@functools.cache
def _cpuinfo_flags() -> frozenset[str] | None:
    """The first CPU's flags in ``/proc/cpuinfo`` (read once: the file grows with the cores)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return None


def missing_features(level: str, features: dict[str, bool] | None = None,
                     cpuinfo: frozenset[str] | None = None) -> list[str]:
    """The features ``level`` needs that this CPU lacks (empty: it runs that level's code)."""
    if machine() != "x86_64":
        return [f"an x86-64 CPU (this is {machine()})"]
    features = numpy_features() if features is None else features
    missing = sorted(name for name in LEVELS[level] if not features.get(name))
    flags = _cpuinfo_flags() if cpuinfo is None else cpuinfo
    if flags is not None:
        missing += sorted(flag for flag in _CPUINFO_FLAGS if flag not in flags)
    return missing


def supported_levels() -> list[str]:
    """The levels this CPU runs, best first."""
    return [level for level in PREFERENCE if not missing_features(level)]
