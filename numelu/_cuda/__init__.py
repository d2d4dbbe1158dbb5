"""The CUDA target: genuine CUDA ufuncs and the dispatcher's ``@cuda.jit`` kernels.

Nothing here imports ``numba.cuda`` (or CuPy, PyTorch) until the first CUDA call, so ``import
numelu`` works everywhere; a call that needs CUDA where it cannot be had raises ``RuntimeError``
saying why and how to install it (``availability``).  Both paths compile the scalar formulas of
``numelu.scalar``, whose exponentials compile to libdevice on CUDA (``math_overloads``):
``ufunc`` builds ``numelu.<name>.cuda``; ``calls`` runs ``numelu.<name>(...)`` for device arrays
or ``target="cuda"``, with the kernels of ``kernels``, the stride arithmetic of ``layout``,
NumPy's typing rules (``numpy_rules``) and other libraries' arrays and streams (``foreign``).
"""

from __future__ import annotations

from numelu._cuda import availability
from numelu._cuda.availability import simulating, unavailable_reason
from numelu._cuda.calls import call
from numelu._cuda.kernels import _kernels, kernel_pyfunc, kernel_signature, kernel_source
from numelu._cuda.kernels import numba_name as _numba_name
from numelu._cuda.layout import broadcast_strides as _broadcast_strides
from numelu._cuda.layout import coalesce as _coalesce
from numelu._cuda.numpy_rules import resolve_loop as _resolve_loop
from numelu._cuda.ufunc import cuda_ufunc, ufunc_signatures
from numelu._cuda.ufunc import ufunc_body as _ufunc_body
from numelu._operands import LOOP_DTYPES as _LOOPS
from numelu._operands import is_device_array

__all__ = [
    "_LOOPS", "_broadcast_strides", "_coalesce", "_kernels", "_numba_name", "_resolve_loop",
    "_ufunc_body", "availability", "call", "cuda_ufunc", "is_device_array", "kernel_pyfunc",
    "kernel_signature", "kernel_source", "simulating", "ufunc_signatures", "unavailable_reason",
]
