"""Load numelu's precompiled CPU kernels (built by ``_precompile``) without compiling anything.

A library is used only if all of these hold, else the JIT serves the process (and ``python -m
numelu info`` says why): it was built for this architecture and system, for an ISA level this
CPU runs (``_isa``), in this library format, and from exactly the kernel sources installed
beside it (``_sources`` fingerprint).  ``NUMELU_KERNELS`` picks: ``auto`` (the best level that
passes), ``jit``, or one level by name (an error if that level cannot be used).
``NUMELU_KERNELS_DIR`` points at another folder of libraries.  Importing this module imports
neither Numba nor llvmlite.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

from numelu import _gate, _isa, _sources
from numelu._gate import FORKED_SYMBOL, GATE_SYMBOL

__all__ = ["FORKED_SYMBOL", "GATE_SYMBOL", "Library", "choose"]

#: Bumped whenever the library's entry points or their signatures change.
FORMAT = 1
DEFAULT_FOLDER = _sources.PACKAGE / "precompiled"
MODES = ("auto", "jit", *_isa.LEVELS)


def library_name(level: str) -> str:
    return f"numelu-{level}.so"


def manifest_path(folder: Path, level: str) -> Path:
    return folder / f"numelu-{level}.json"


def kernel_key(name: str, char: str) -> str:
    return f"kernel/{name}/{char}"


def half_key(nin: int) -> str:
    return f"half/{nin}"


def loop_key(nin: int, item: int, parallel: bool) -> str:
    return f"loop/{nin}in/{item}byte/{'parallel' if parallel else 'cpu'}"


@dataclass
class Library:
    """A loaded library: its level, files and manifest, and its entry points' addresses."""

    level: str
    path: Path
    manifest: dict
    handle: ctypes.CDLL

    def address(self, key: str) -> int:
        return ctypes.cast(getattr(self.handle, self.manifest["symbols"][key]),
                           ctypes.c_void_p).value


def refusal(folder: Path, level: str, fingerprint: str | None = None) -> str | None:
    """Why the library of ``level`` in ``folder`` must not be used here (None: it may)."""
    path = manifest_path(folder, level)
    if not path.exists() or not (folder / library_name(level)).exists():
        return f"not built (no {library_name(level)} in {folder}; `python -m numelu compile`)"
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        return f"library format {manifest.get('format')}, this numelu reads {FORMAT}"
    built_for = (manifest.get("machine"), manifest.get("system"))
    if built_for != (_isa.machine(), platform.system()):
        return f"built for {built_for[0]} {built_for[1]}"
    missing = _isa.missing_features(level)
    if missing:
        return f"this CPU lacks {', '.join(missing)}"
    current = fingerprint or _sources.kernel_fingerprint()
    if manifest.get("fingerprint") != current:
        return (f"built from other sources (fingerprint {manifest.get('fingerprint')}; "
                f"the installed sources are {current})")
    return None


def thread_count() -> int:
    """As many threads as Numba would use (``NUMBA_NUM_THREADS``, else the usable CPUs)."""
    configured = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def load(folder: Path, level: str) -> Library:
    path = folder / library_name(level)
    handle = ctypes.CDLL(str(path))
    handle.numelu_threads_init.argtypes = [ctypes.c_int32]
    handle.numelu_threads_init(thread_count())
    _gate.add(ctypes.c_int32.in_dll(handle, GATE_SYMBOL),
              ctypes.c_int32.in_dll(handle, FORKED_SYMBOL))
    manifest = json.loads(manifest_path(folder, level).read_text())
    return Library(level, path, manifest, handle)


def choose() -> tuple[Library | None, str]:
    """The library this process uses (None: the JIT) and a sentence on why."""
    mode = os.environ.get("NUMELU_KERNELS", "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise ValueError(f"NUMELU_KERNELS={mode!r}: use one of {', '.join(MODES)}")
    if mode == "jit":
        return None, "NUMELU_KERNELS=jit"
    folder = Path(os.environ.get("NUMELU_KERNELS_DIR") or DEFAULT_FOLDER)
    fingerprint = _sources.kernel_fingerprint()
    refusals = []
    for level in (_isa.PREFERENCE if mode == "auto" else (mode,)):
        reason = refusal(folder, level, fingerprint)
        if reason is None:
            return load(folder, level), f"precompiled for {level} ({folder})"
        refusals.append(f"{level}: {reason}")
    if mode != "auto":
        raise RuntimeError(f"NUMELU_KERNELS={mode}, but that library cannot be used: "
                           f"{refusals[0]}")
    return None, "JIT, no precompiled library fits: " + "; ".join(refusals)
