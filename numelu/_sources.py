"""The fingerprint of the sources that end up in numelu's compiled CPU code.

It keys the on-disk Numba cache and is recorded in every precompiled library, so that neither a
cached nor a shipped kernel is ever used with sources other than the ones it was built from.
Every ``.py`` and ``.c`` file of the package's top folder counts, except the modules listed
below, which only call or load compiled code; a new module therefore counts until it is listed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE = Path(__file__).parent

#: Modules whose text never reaches compiled CPU code (dispatch, configuration, loading,
#: command line, CUDA, reports).
NOT_IN_KERNELS = frozenset({
    "__init__.py", "__main__.py", "_accuracy.py", "_config.py", "_dispatch.py",
    "_docstrings.py", "_fast_path.py", "_gate.py", "_info.py", "_isa.py", "_kernels.py",
    "_operands.py", "_precompiled.py", "_reference.py", "_sources.py", "_ufunc.py",
    "_ufunc_methods.py", "_ufuncs_cpu.py", "_ufuncs_parallel.py", "_version.py",
})


def kernel_sources() -> list[Path]:
    """The files hashed by :func:`kernel_fingerprint`, in a fixed order."""
    files = [*PACKAGE.glob("*.py"), *PACKAGE.glob("*.c")]
    return sorted((f for f in files if f.name not in NOT_IN_KERNELS), key=lambda f: f.name)


def kernel_fingerprint() -> str:
    """A short SHA-256 over the names and bytes of :func:`kernel_sources`."""
    digest = hashlib.sha256()
    for source in kernel_sources():
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
