"""The optional peers (PyTorch, numexpr, JAX): imported once, quietly, only when asked for,
configured for a fair comparison; why one is unusable here; the versions for the report."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

_PEERS: dict[str, Any] = {}
_PEER_PROBLEMS: dict[str, str | None] = {}


def _peer_problem(module: str) -> str | None:
    if module not in _PEER_PROBLEMS:
        try:
            _peer(module)
        except Exception as error:                 # noqa: BLE001 - any import failure: skip it
            _PEER_PROBLEMS[module] = (
                f"{module} is not usable here ({type(error).__name__}: {error}); "
                f"pip install {module} to compare against it")
        else:
            _PEER_PROBLEMS[module] = None
    return _PEER_PROBLEMS[module]


def _peer(module: str) -> Any:
    """Import an optional peer once (quietly), configured for a fair comparison."""
    if module in _PEERS:
        return _PEERS[module]
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imported = importlib.import_module(module)
        if module == "jax":
            imported.config.update("jax_enable_x64", True)      # float64 stays float64
            imported.config.update("jax_platforms", "cpu")
            importlib.import_module("jax.numpy")
            importlib.import_module("jax.nn")
    _PEERS[module] = imported
    return imported


#: Environment variables that limit a peer's vector width (PyTorch's kernel choice, XLA's
#: code generation): the report names them where set.
PEER_ISA_VARIABLES = ("ATEN_CPU_CAPABILITY", "XLA_FLAGS")


def peer_versions() -> dict[str, str]:
    """Versions of numelu, NumPy, Numba and every importable peer (for the report header)."""
    import numba

    import numelu
    from numelu import _kernels

    versions = {"numelu": numelu.__version__, "numpy": np.__version__,
                "numba": numba.__version__}
    try:
        versions["threading layer"] = numba.threading_layer()
    except ValueError:
        pass
    versions["threads"] = str(numba.get_num_threads())
    library, _ = _kernels.choice()
    versions["kernels"] = f"precompiled {library.level}" if library is not None else "JIT"
    for variable in PEER_ISA_VARIABLES:     # a peer held to a narrower vector width
        if os.environ.get(variable):
            versions[variable] = os.environ[variable]
    for module in ("torch", "numexpr", "jax"):
        if _peer_problem(module) is None:
            versions[module] = str(getattr(_peer(module), "__version__", "?"))
    return versions
