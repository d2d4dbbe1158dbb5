"""Print the interpreter, the packages the GPU check uses and the GPU found (or why none).

    python benchmarks/gpu_versions.py        # run by benchmarks/gpu_check.sh as its first phase
"""

from __future__ import annotations

import importlib
import platform
import sys

MODULES = ("numpy", "numba", "numba_cuda", "llvmlite", "cupy", "torch", "pytest",
           "pytest_benchmark", "hypothesis", "mpmath", "dask", "matplotlib")


def main() -> int:
    print("python", sys.version.split()[0], sys.executable, platform.platform())
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - a missing package is reported, not fatal
            print(f"{name:17} MISSING ({type(error).__name__}: {error})")
            continue
        print(f"{name:17} {getattr(module, '__version__', '?')}")
    from numelu import _cuda
    from numelu._bench.gpu_libraries import gpu_info, problem

    print("numelu CUDA:", _cuda.unavailable_reason() or "usable")
    for key, value in gpu_info().items():
        print(f"  {key}: {value}")
    for library in ("cupy", "torch", "numba"):
        print(f"  {library} arrays: {problem(library) or 'usable'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
