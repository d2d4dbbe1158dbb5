"""Compile every numelu CUDA kernel to PTX, with no GPU needed (run by tests/test_cuda.py).

Usage: ``python tests/cuda_ptx_check.py [--quick]``.  Prints one line per group and a summary;
exits 0 if everything compiled, 1 on any failure, 77 if NVVM (numba-cuda[cu13]) is missing.

What is compiled, for each of the 12 functions and float32/float64 (numba.cuda.compile_ptx):
* the contiguous fast-path kernel (array x, scalar alpha) for cc 7.5 (the oldest CUDA 13's
  NVVM accepts) and 9.0 (H100);
* the general strided kernel (2-D, every input an array, ``where=``) for cc 9.0;
* the float16 loop (float16 arrays, computed in float32) and integer/bool inputs for cc 9.0;
* a user's own ``@cuda.jit``-style kernel calling ``numelu.scalar.<name>`` directly;
plus the copy kernel, and (unless --quick) the ``@vectorize(target="cuda")`` ufuncs' kernels.

numba-cuda 0.30 compiles a device function (every ``numelu.scalar`` formula is one) for "the
current device", even inside ``compile_ptx(..., cc=...)``, and so fails without a GPU.  This
script therefore stands in a device of the requested compute capability while it compiles
(``numba.cuda.dispatcher.get_current_device``); the kernels themselves are exactly numelu's.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import types

import numpy as np

QUIET_SKIP = 77


@contextlib.contextmanager
def fake_device(cc: tuple[int, int]):
    import numba.cuda.dispatcher as dispatcher

    saved = dispatcher.get_current_device
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=cc, id=0)
    try:
        yield
    finally:
        dispatcher.get_current_device = saved


def _first(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " / ".join(lines[:3])[:400]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the @vectorize ufunc build")
    options = parser.parse_args()
    start = time.perf_counter()

    from numba import cuda
    from numba.cuda.cudadrv import nvvm

    if not nvvm.is_available():
        print('SKIP: NVVM not found; install it with: pip install "numba-cuda[cu13]"')
        return QUIET_SKIP

    import numelu
    from numelu import _cuda

    f32, f64, f16 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16)
    failures: list[str] = []
    counts: dict[str, int] = {}

    def compile_one(group: str, pyfunc, sig: str, cc: tuple[int, int], expect=()) -> None:
        try:
            with fake_device(cc):
                ptx, _ = cuda.compile_ptx(pyfunc, sig, cc=cc)
            missing = [s for s in (".visible .entry", f".target sm_{cc[0]}{cc[1]}", *expect)
                       if s not in ptx]
            if missing:
                failures.append(f"{group} {sig} cc{cc}: PTX lacks {missing}")
            else:
                counts[group] = counts.get(group, 0) + 1
        except Exception as error:  # noqa: BLE001 - report every failure, then exit 1
            failures.append(f"{group} {sig} cc{cc}: {type(error).__name__}: {_first(error)}")

    for spec in numelu._functions.FUNCTIONS:
        nin = spec.nin
        # libdevice's exp/expm1 are inlined: no call remains; CELU's quotient uses an fma
        expect = ("fma.rn",) if spec.name.startswith("celu") and "output" not in spec.name else ()
        for loop in (f32, f64):
            scalar_alpha = tuple(loop if k < nin - 1 or not spec.has_alpha else None
                                 for k in range(nin))
            arrays = tuple(t is not None for t in scalar_alpha)
            for cc in ((7, 5), (9, 0)):
                compile_one("fast path", _cuda.kernel_pyfunc(spec, arrays, None, False, loop),
                            _cuda.kernel_signature(scalar_alpha, loop, loop, None, False),
                            cc, expect)
            every = (loop,) * nin
            compile_one("general 2-D + where",
                        _cuda.kernel_pyfunc(spec, (True,) * nin, 2, True, loop),
                        _cuda.kernel_signature(every, loop, loop, 2, True), (9, 0), expect)
        compile_one("float16 loop", _cuda.kernel_pyfunc(spec, (True,) * nin, None, False, f32),
                    _cuda.kernel_signature((f16,) * nin, f32, f16, None, False), (9, 0))
        ints = (np.dtype(np.int32),) + (np.dtype(np.bool_),) * (nin - 1)
        compile_one("int/bool inputs", _cuda.kernel_pyfunc(spec, (True,) * nin, 1, False, f64),
                    _cuda.kernel_signature(ints, f64, f64, 1, False), (9, 0))
        # a user's kernel: numelu.scalar.<name> called directly from @cuda.jit code
        names = ", ".join(f"a{k}" for k in range(nin))
        source = (f"def user_kernel({names}, out):\n    i = cuda.grid(1)\n"
                  f"    if i < out.size:\n"
                  f"        out[i] = S.{spec.name}({', '.join(f'a{k}[i]' for k in range(nin))})\n")
        namespace = {"cuda": cuda, "S": numelu.scalar}
        exec(source, namespace)
        compile_one("user @cuda.jit kernel", namespace["user_kernel"],
                    f"void({', '.join(['float32[::1]'] * (nin + 1))})", (9, 0), expect)

    compile_one("copy kernel", _cuda.kernel_pyfunc(None, (True,), 3, True, f64, copy=True),
                _cuda.kernel_signature((f64,), f64, f32, 3, True), (9, 0))

    if not options.quick:
        # What numelu.<name>.cuda builds: @vectorize compiles the formula as a device function
        # per signature (float16 too) at once, and its launcher kernels on first call.
        from numba.cuda.vectorizers import CUDAVectorize

        for spec in numelu._functions.FUNCTIONS:
            try:
                with fake_device((9, 0)):
                    builder = CUDAVectorize(_cuda._ufunc_body(spec))
                    for sig in _cuda.ufunc_signatures(spec):
                        builder.add(sig)
            except Exception as error:  # noqa: BLE001
                failures.append(f"@vectorize {spec.name}: {type(error).__name__}: {_first(error)}")
                continue
            for argdtypes, (resdtype, kernel) in builder.kernelmap.items():
                names = [_cuda._numba_name(np.dtype(d)) for d in (*argdtypes, resdtype)]
                compile_one("@vectorize ufunc kernel", kernel.py_func,
                            f"void({', '.join(n + '[:]' for n in names)})", (9, 0))

    for group, count in counts.items():
        print(f"compiled to PTX: {count:3d}  {group}")
    for failure in failures:
        print("FAIL:", failure)
    total = sum(counts.values())
    print(f"{total} compiled, {len(failures)} failed in {time.perf_counter() - start:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
