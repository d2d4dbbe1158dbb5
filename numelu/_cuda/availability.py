"""Whether numelu's CUDA target can be used here, and if not, why and how to fix it.

Nothing here imports ``numba.cuda`` until asked, so ``import numelu`` works everywhere.  The
answer is looked for once per process: once CUDA was found usable it is not checked again.
Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) counts as usable.
"""

from __future__ import annotations

import importlib.util

INSTALL = ('pip install "numelu[cuda13]" (NVIDIA driver for CUDA 13) or '
            'pip install "numelu[cuda12]" (CUDA 12)')


#: True once CUDA was found usable (never checked again after that).
found_usable = False


def simulating() -> bool:
    """True when Numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1`` before import)."""
    from numba.core import config

    return bool(getattr(config, "ENABLE_CUDASIM", False))


def unavailable_reason() -> str | None:
    """None if CUDA can be used (a GPU, or the simulator), else why not and how to fix it."""
    global found_usable
    if found_usable or simulating():
        return None
    if importlib.util.find_spec("numba_cuda") is None:
        return ("numba-cuda is not installed (Numba's own built-in CUDA target is deprecated and "
                f"not used by numelu); install it with: {INSTALL}")
    try:
        from numba import cuda
        from numba.cuda.cudadrv import driver, nvvm
    except Exception as error:  # noqa: BLE001 - report whatever went wrong
        return f"numba.cuda cannot be imported ({error}); reinstall it with: {INSTALL}"
    try:
        driver_ok = driver.driver.is_available
    except Exception:  # noqa: BLE001 - the driver raised while initialising
        driver_ok = False
    if not driver_ok:
        detail = " ".join(str(driver.driver.initialization_error or "").split())
        return (f"no usable CUDA driver was found ({detail or 'driver initialisation failed'}); "
                f"numelu's CUDA target needs an NVIDIA GPU and driver, then: {INSTALL}")
    try:
        count = driver.driver.get_device_count()
    except Exception as error:  # noqa: BLE001
        return f"the CUDA driver could not list devices ({error})"
    if count == 0:
        return "the CUDA driver is installed but no CUDA GPU is visible (CUDA_VISIBLE_DEVICES?)"
    if not nvvm.is_available():
        return (f"NVVM (the CUDA compiler library) was not found; install it with: {INSTALL}")
    if not cuda.is_available():
        return f"numba.cuda.is_available() is False; check the driver, then: {INSTALL}"
    found_usable = True
    return None


def require(what: str):
    """The ``numba.cuda`` module, or RuntimeError saying why CUDA cannot be used."""
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"numelu: {what} needs CUDA, but {reason}")
    from numba import cuda

    return cuda
