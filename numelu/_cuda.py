"""CUDA target (placeholder until the CUDA issue lands): says clearly why it is not available."""

from __future__ import annotations


def unavailable_reason() -> str | None:
    """None if CUDA can be used, else a sentence saying why not and how to fix it."""
    try:
        from numba import cuda
    except ImportError:  # pragma: no cover - numba always has numba.cuda
        return 'numba.cuda cannot be imported; install the CUDA extra: pip install "numelu[cuda13]"'
    try:
        available = cuda.is_available()
    except Exception as error:  # noqa: BLE001 - report whatever the driver said
        return f"the CUDA driver could not be initialised ({error})"
    if not available:
        return ('no usable CUDA GPU/driver was found (numba.cuda.is_available() is False); on a '
                'machine with an NVIDIA GPU install the CUDA extra: pip install "numelu[cuda13]" '
                '(or "numelu[cuda12]")')
    return None


def _fail(what: str) -> None:
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"numelu: {what} needs CUDA, but {reason}")
    raise NotImplementedError(f"numelu: {what}: the CUDA target is not implemented yet")


def cuda_ufunc(spec):
    _fail(f"{spec.name}.cuda")


def call(function, args, kwargs):
    _fail(f"{function.__name__}(target='cuda')")
