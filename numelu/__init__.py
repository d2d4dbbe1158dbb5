"""numelu: the ELU family of activations (ELU, SELU, CELU, derivatives, backward passes) as
NumPy ufuncs compiled by Numba for serial CPU, threaded CPU and CUDA.

>>> import numpy as np, numelu
>>> numelu.elu(np.array([-1.0, 0.0, 2.0]), 1.0)
array([-0.63212056,  0.        ,  2.        ])
"""

from __future__ import annotations

import importlib

from numelu._config import config
from numelu._constants import SELU_ALPHA, SELU_SCALE
from numelu._dispatch import ElementwiseFunction
from numelu._functions import BY_NAME, FUNCTIONS
from numelu._version import __version__

elu = ElementwiseFunction(BY_NAME["elu"])
selu = ElementwiseFunction(BY_NAME["selu"])
celu = ElementwiseFunction(BY_NAME["celu"])
elu_derivative = ElementwiseFunction(BY_NAME["elu_derivative"])
selu_derivative = ElementwiseFunction(BY_NAME["selu_derivative"])
celu_derivative = ElementwiseFunction(BY_NAME["celu_derivative"])
elu_derivative_from_output = ElementwiseFunction(BY_NAME["elu_derivative_from_output"])
selu_derivative_from_output = ElementwiseFunction(BY_NAME["selu_derivative_from_output"])
celu_derivative_from_output = ElementwiseFunction(BY_NAME["celu_derivative_from_output"])
elu_backward = ElementwiseFunction(BY_NAME["elu_backward"])
selu_backward = ElementwiseFunction(BY_NAME["selu_backward"])
celu_backward = ElementwiseFunction(BY_NAME["celu_backward"])

#: The twelve public functions, in the order of docs/contract.md §1.
FUNCTIONS_BY_NAME = {spec.name: globals()[spec.name] for spec in FUNCTIONS}

__all__ = [
    "SELU_ALPHA", "SELU_SCALE", "__version__", "config", "scalar", *FUNCTIONS_BY_NAME,
]


def __getattr__(name: str):
    """``numelu.scalar`` on first use: it imports Numba, which the CPU ufuncs do not need when
    their kernels are precompiled."""
    if name == "scalar":
        return importlib.import_module("numelu.scalar")
    raise AttributeError(f"module 'numelu' has no attribute {name!r}")
