"""The genuine parallel-target ``numpy.ufunc`` objects, by function name (built on first access).

They live here so that they pickle by reference (``numelu._ufuncs_parallel.elu``).
"""

from __future__ import annotations


def __getattr__(name: str):
    import numelu

    function = getattr(numelu, name, None)
    if function is None or not hasattr(function, "spec"):
        raise AttributeError(name)
    return function.parallel
