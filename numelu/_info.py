"""``python -m numelu info``: what numelu will run with on this machine."""

from __future__ import annotations

import platform
import sys


def simd_width() -> tuple[str, int]:
    """The widest vector extension LLVM targets here and its width in bits."""
    from llvmlite import binding

    features = binding.get_host_cpu_features()
    for name, bits in (("avx512f", 512), ("avx2", 256), ("avx", 256), ("sse2", 128),
                       ("neon", 128), ("asimd", 128)):
        if features.get(name):
            return name, bits
    return "none", 64


def _threading() -> tuple[str, str]:
    """(the pool the threaded loops use, its threads) for the kernels in use."""
    import numba

    from numelu import _kernels, _precompiled

    library, _ = _kernels.choice()
    if library is not None:
        started = library.handle.numelu_threads_started()
        return ("numelu's own thread pool (precompiled kernels)",
                f"{started} started of {_precompiled.thread_count()}")
    try:
        layer = f"{numba.threading_layer()} (configured: {numba.config.THREADING_LAYER})"
    except ValueError:
        layer = "not started yet (first threaded call starts it)"
    return layer, f"{numba.get_num_threads()} of {numba.config.NUMBA_NUM_THREADS}"


def report() -> list[tuple[str, str]]:
    import numba
    import numpy as np
    from llvmlite import binding

    import numelu
    from numelu import _config, _cuda, _isa, _kernels, _safety

    settings = _config.current()
    name, bits = simd_width()
    layer, threads = _threading()
    rows = [
        ("numelu", numelu.__version__),
        ("python", f"{sys.version.split()[0]} ({platform.machine()}, {platform.system()})"),
        ("numpy", np.__version__),
        ("numba", numba.__version__),
        ("cpu", binding.get_host_cpu_name()),
        ("isa levels", ", ".join(_isa.supported_levels()) or "none of the precompiled ones"),
        ("kernels", _kernels.choice()[1]),
        ("simd", f"{name}: {bits}-bit vectors = {bits // 64} x float64, {bits // 32} x float32"),
        ("threading layer", layer),
        ("threads", threads),
        ("target", settings.target),
        ("parallel threshold",
         ", ".join(f"{kind} kernels: {settings.threshold(kind):,} elements"
                   for kind in _config.DEFAULT_THRESHOLDS)),
        ("forked child", str(_safety.in_forked_child())),
    ]
    reason = _cuda.unavailable_reason()
    if reason is None:
        from numba import cuda

        devices = ", ".join(f"{d.id}: {d.name.decode() if isinstance(d.name, bytes) else d.name}"
                            for d in cuda.gpus)
        rows.append(("cuda", f"available: {devices}"))
    else:
        rows.append(("cuda", f"not available: {reason}"))
    return rows


def main(argv: list[str]) -> int:
    if argv:
        print("usage: python -m numelu info", file=sys.stderr)
        return 2
    rows = report()
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0
