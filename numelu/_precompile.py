"""Build numelu's precompiled CPU kernels: one shared library per x86-64 ISA level.

``python -m numelu compile [--levels x86-64-v3,x86-64-v4] [--out DIR]`` (and the wheel build)
compiles, for each level in a process of its own with Numba generating code for exactly that
level (``NUMBA_CPU_NAME=<level>``, ``NUMBA_CPU_FEATURES`` from ``_isa.LLVM_FEATURES``), not for
the build machine's CPU:

* every function's float32 and float64 kernel, the float16 kernels, and the generic serial and
  threaded inner loops (the same Numba code the JIT compiles, see ``_loops``);
* the threaded loops call numelu's C thread pool (``_precompiled_threads.c``) instead of
  Numba's, which precompiled code cannot link.

Each compiled piece's optimised LLVM module is emitted as a position-independent object with
every symbol but its C entry point made internal; the dead error path of Numba's C wrappers
(Python C API, Numba runtime) is renamed to stubs that abort, so the library needs nothing but
the C library.  The objects are linked with the system C compiler, the library is checked to
have no other undefined symbol, and a manifest records the entry points, the level, and the
fingerprint of the sources (``_sources``) that the loader compares before using it.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from numelu import _isa, _precompiled, _sources

#: Symbols a library may leave to the C library (everything else must be defined in it).
_C_LIBRARY = frozenset({
    "abort", "fprintf", "stderr", "memcpy", "memset", "__stack_chk_fail",
    "pthread_atfork", "__register_atfork", "pthread_attr_destroy", "pthread_attr_init",
    "pthread_attr_setdetachstate", "pthread_cond_broadcast", "pthread_cond_wait",
    "pthread_create", "pthread_mutex_lock", "pthread_mutex_unlock",
    "fetestexcept", "feclearexcept", "feraiseexcept",
})
_THREADS_SOURCE = _sources.PACKAGE / "_precompiled_threads.c"
_DEAD_PREFIX = "numelu_dead_"


def compile_pieces() -> dict[str, object]:
    """Every piece a precompiled library holds, compiled in this process: manifest key ->
    Numba ``CFunc`` (keys as :mod:`numelu._precompiled` reads them)."""
    from numelu import _loops
    from numelu._functions import FUNCTIONS

    pieces: dict[str, object] = {}
    for spec in FUNCTIONS:
        for char in "fd":
            pieces[_precompiled.kernel_key(spec.name, char)] = _loops.function_kernel(spec, char)
    for nin in (1, 2, 3):
        pieces[_precompiled.half_key(nin)] = _loops.half_kernel(nin)
        for item in (2, 4, 8):
            pieces[_precompiled.loop_key(nin, item, False)] = _loops.generic_loop(nin, item, False)
            pieces[_precompiled.loop_key(nin, item, True)] = _loops.pool_loop(nin, item)
    return pieces


def _internalised(module_text: str, entry: str):
    """The module parsed, with every definition but ``entry`` internal and every reference to
    the Python C API or Numba's runtime renamed to an aborting stub; returns (module, stubs)."""
    from llvmlite import binding

    module = binding.parse_assembly(module_text)
    stubs: dict[str, str] = {}
    for kind, values in (("function", module.functions), ("data", module.global_variables)):
        for value in values:
            if not value.is_declaration:
                if value.name != entry:
                    value.linkage = "internal"
            elif _is_dead_reference(value.name):
                stubs[value.name] = kind
                value.name = _DEAD_PREFIX + value.name
    module.verify()
    return module, stubs


def _is_dead_reference(name: str) -> bool:
    return (name.startswith(("Py", "_Py", "numba_", "NRT_"))
            and name not in (_precompiled.GATE_SYMBOL, _precompiled.FORKED_SYMBOL))


def _stub_source(stubs: dict[str, str]) -> str:
    lines = ["#include <stdio.h>", "#include <stdlib.h>",
             "static void dead(const char *name) {",
             '    fprintf(stderr, "numelu: a precompiled kernel reached %s, on a Numba error '
             'path numelu never takes; aborting\\n", name);',
             "    abort();", "}"]
    for name, kind in sorted(stubs.items()):
        if kind == "function":
            lines.append(f'void {_DEAD_PREFIX}{name}(void) {{ dead("{name}"); }}')
        else:
            lines.append(f"void *{_DEAD_PREFIX}{name}[4];")
    return "\n".join(lines) + "\n"


def _target_machine(level: str):
    from llvmlite import binding

    target = binding.Target.from_triple(binding.get_process_triple())
    return target.create_target_machine(cpu=level, features=_isa.LLVM_FEATURES[level], opt=3,
                                        reloc="pic", codemodel="default")


def _cc() -> str:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise RuntimeError("building precompiled kernels needs a C compiler (cc or gcc, or $CC)")
    return cc


def _link(objects: list[Path], stubs: dict[str, str], library: Path, work: Path) -> None:
    (work / "stubs.c").write_text(_stub_source(stubs))
    sources = [str(_THREADS_SOURCE), str(work / "stubs.c")]
    command = [_cc(), "-shared", "-fPIC", "-O2", "-o", str(library), *sources,
               *map(str, objects), "-lpthread", "-lm"]
    subprocess.run(command, check=True)


def undefined_symbols(library: Path) -> set[str]:
    """The dynamic symbols ``library`` needs from elsewhere (``nm -D --undefined-only``)."""
    out = subprocess.run(["nm", "-D", "--undefined-only", str(library)], check=True,
                         capture_output=True, text=True).stdout
    names = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}
    return {name for name in names if not name.startswith("_ITM_") and name not in (
        "__cxa_finalize", "__gmon_start__")}


def build_level(level: str, out: Path) -> dict:
    """Compile and link the library of ``level`` into ``out`` (run in a process whose Numba
    targets ``level``: see :func:`build`); returns its manifest."""
    from numelu import _loops

    _loops.DISK_CACHE = False
    _provide_pool_symbol_for_the_jit()
    started = time.perf_counter()
    pieces = compile_pieces()
    machine = _target_machine(level)
    symbols, stubs, objects = {}, {}, []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for index, (key, piece) in enumerate(pieces.items()):
            entry = piece._wrapper_name
            module, dead = _internalised(str(piece._library._final_module), entry)
            module.triple = machine.triple
            objects.append(work / f"piece{index}.o")
            objects[-1].write_bytes(machine.emit_object(module))
            symbols[key] = entry
            stubs.update(dead)
        library = out / _precompiled.library_name(level)
        _link(objects, stubs, library, work)
    leftover = undefined_symbols(library) - _C_LIBRARY
    if leftover:
        library.unlink()
        raise RuntimeError(f"{library.name} needs symbols it does not define: {sorted(leftover)}")
    manifest = _manifest(level, symbols, time.perf_counter() - started)
    _precompiled.manifest_path(out, level).write_text(json.dumps(manifest, indent=1))
    return manifest


def _provide_pool_symbol_for_the_jit() -> None:
    """The threaded loops built here name the C pool, which this process's JIT never runs but
    must resolve to finalise them: give it an address that is never called."""
    from llvmlite import binding

    from numelu._loops import POOL_SYMBOL

    binding.add_symbol(POOL_SYMBOL, ctypes.cast(ctypes.CDLL(None).abort, ctypes.c_void_p).value)


def _manifest(level: str, symbols: dict[str, str], seconds: float) -> dict:
    import llvmlite
    import numba

    from numelu import _loops

    return {
        "format": _precompiled.FORMAT, "level": level, "machine": _isa.machine(),
        "system": platform.system(), "fingerprint": _loops.FINGERPRINT,   # as imported
        "numba": numba.__version__, "llvmlite": llvmlite.__version__,
        "parallel_chunk": _loops.PARALLEL_CHUNK, "build_seconds": round(seconds, 1),
        "symbols": symbols,
    }


def build(levels: list[str], out: Path, jobs: int = 2) -> list[dict]:
    """Build each level in a fresh process (Numba reads its target CPU once, at import), at
    most ``jobs`` at a time; returns the manifests."""
    out.mkdir(parents=True, exist_ok=True)

    def one(level: str) -> dict:
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CPU_NAME": level,
                   "NUMBA_CPU_FEATURES": _isa.LLVM_FEATURES[level],
                   "NUMBA_CACHE_DIR": cache, "NUMELU_KERNELS": "jit"}
            subprocess.run([sys.executable, "-m", "numelu._precompile", "--one-level", level,
                            "--out", str(out)], env=env, check=True)
        return json.loads(_precompiled.manifest_path(out, level).read_text())

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, levels))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m numelu compile", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--levels", default=",".join(_isa.PREFERENCE),
                        help="comma-separated ISA levels (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=_precompiled.DEFAULT_FOLDER,
                        help="folder of the libraries (default: the package's own)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--one-level", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_level:
        build_level(args.one_level, args.out)
        return 0
    levels = [level for level in args.levels.split(",") if level]
    unknown = [level for level in levels if level not in _isa.LEVELS]
    if unknown:
        parser.error(f"unknown level(s) {unknown}; known: {', '.join(_isa.LEVELS)}")
    if _isa.machine() != "x86_64" or platform.system() != "Linux":
        # the libraries are linked and checked with Linux's toolchain (cc -shared, nm -D)
        print(f"numelu: no precompiled kernels for {platform.system()} {_isa.machine()}; the "
              "JIT serves this machine")
        return 0
    for manifest in build(levels, args.out, args.jobs):
        print(f"{manifest['level']}: {len(manifest['symbols'])} entry points, "
              f"built in {manifest['build_seconds']} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
