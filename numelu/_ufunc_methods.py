"""The five NumPy ufunc methods of numelu's functions: outer, reduce, accumulate, reduceat, at.

Each runs the genuine CPU ufunc's own method, so NumPy does everything as for any ufunc (a
method that needs a binary function is NumPy's ValueError for the others, before any input is
read); numelu adds its dtype ``TypeError`` and the scalar alpha check (``docs/contract.md``
section 6), as for a call, and hands another library's arrays (Dask, xarray) to that library as
NumPy would.  ``reduce``, ``accumulate`` and ``reduceat`` always run the serial ufunc: each
step needs the one before.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import numpy as np

from numelu import _config
from numelu._operands import any_override, check_other_library_inputs, has_ufunc_override


class UfuncMethods:
    """The ufunc methods, for :class:`numelu._dispatch.ElementwiseFunction` (which provides
    ``spec``, ``_ufunc``, ``_checked`` and ``_check_alpha``)."""

    def _method_ufunc(self, method: str, target: str | None, chain: bool = False) -> np.ufunc:
        """The genuine ufunc whose ``method`` runs: ``target=`` > ``config()`` >
        ``NUMELU_TARGET``, "auto" being the serial one (as for another library's arrays).

        ``chain``: a method that folds the function along an axis (``reduce``, ``accumulate``,
        ``reduceat``), whose every step needs the one before: always the serial ufunc (the
        threaded loop would split a long run of such steps over threads).
        """
        chosen = _config.current().target if target is None else _config.check_target(target)
        if chosen == "cuda":
            raise NotImplementedError(f"numelu.{self.spec.name}.{method} runs on the CPU only")
        return self._ufunc("parallel" if chosen == "parallel" and not chain else "cpu")

    def _run_method(self, ufunc: np.ufunc, method: str, args: tuple, kwargs: dict,
                    data: dict[int, str], alpha: int | None = None) -> Any:
        """``ufunc.<method>(*args, **kwargs)`` after numelu's checks (``docs/contract.md``
        section 6) of the operands at the positions ``data`` (position -> name for the error)
        and of a scalar alpha at ``alpha``."""
        positions = [p for p in data if p < len(args)]
        operands = tuple(args[p] for p in positions)
        names = [data[p] for p in positions]
        run = getattr(ufunc, method)
        if any(map(has_ufunc_override, operands)) or any_override(kwargs.get("out")):
            check_other_library_inputs(self.spec, operands, names)
            if alpha is not None and alpha < len(args) and self.spec.alpha_rule is not None:
                self._check_alpha(args[alpha])
            if method == "outer" and _only_dask_overrides(operands):
                return _dask_outer(ufunc, operands, kwargs)
            return run(*args, **kwargs)
        passed = list(args)
        for position, value in zip(positions, self._checked(operands, names)[0], strict=True):
            passed[position] = value
        if alpha is not None and alpha < len(args) and self.spec.alpha_rule is not None:
            self._check_alpha(passed[alpha])
        return run(*passed, **kwargs)

    def outer(self, *args: Any, target: str | None = None, **kwargs: Any):
        """``outer(A, B, /, **kwargs)`` as on a NumPy ufunc (:meth:`numpy.ufunc.outer`): the
        function of every pair of elements of ``A`` and ``B``."""
        ufunc = self._method_ufunc("outer", target)
        if self.spec.nin != 2 or len(args) != 2:
            return ufunc.outer(*args, **kwargs)     # NumPy's own error, before any input is read
        return self._run_method(ufunc, "outer", args, kwargs, dict(enumerate(self.spec.inputs)),
                                alpha=1)

    def _fold(self, method: str, args: tuple, kwargs: dict, target: str | None) -> Any:
        """``reduce``, ``accumulate`` or ``reduceat``: the operand ``array`` (by position or
        keyword) is checked as an input is."""
        ufunc = self._method_ufunc(method, target, chain=True)
        if self.spec.nin != 2:
            return getattr(ufunc, method)(*args, **kwargs)     # NumPy's ValueError
        if not args and "array" in kwargs:
            args = (kwargs.pop("array"),)
        return self._run_method(ufunc, method, args, kwargs, {0: "array"})

    def reduce(self, *args: Any, target: str | None = None, **kwargs: Any):
        """``reduce(array, axis=0, dtype=None, out=None, keepdims=False, initial=<no value>,
        where=True)`` as on a NumPy ufunc (:meth:`numpy.ufunc.reduce`): the function applied
        along ``axis`` in order, ``f(f(a0, a1), a2)...``, the running result as the first input
        (binary functions only; no identity, so an empty axis needs ``initial``)."""
        return self._fold("reduce", args, kwargs, target)

    def accumulate(self, *args: Any, target: str | None = None, **kwargs: Any):
        """``accumulate(array, axis=0, dtype=None, out=None)`` as on a NumPy ufunc
        (:meth:`numpy.ufunc.accumulate`): every intermediate result of :meth:`reduce`."""
        return self._fold("accumulate", args, kwargs, target)

    def reduceat(self, *args: Any, target: str | None = None, **kwargs: Any):
        """``reduceat(array, indices, axis=0, dtype=None, out=None)`` as on a NumPy ufunc
        (:meth:`numpy.ufunc.reduceat`): :meth:`reduce` over the slices that ``indices`` start."""
        return self._fold("reduceat", args, kwargs, target)

    def at(self, *args: Any, target: str | None = None) -> None:
        """``at(a, indices, b=None, /)`` as on a NumPy ufunc (:meth:`numpy.ufunc.at`): ``a``
        updated in place at ``indices`` (repeated indices applied once each, in order), with
        ``b`` as the second input of a binary function."""
        ufunc = self._method_ufunc("at", target)
        if self.spec.nin > 2 or len(args) != self.spec.nin + 1:
            return ufunc.at(*args)              # NumPy's own error, before any input is read
        inputs = self.spec.inputs
        return self._run_method(ufunc, "at", args, {}, {0: inputs[0], 2: inputs[-1]}, alpha=2)


def _only_dask_overrides(values: tuple) -> bool:
    """True if every one of ``values`` that overrides ``__array_ufunc__`` is a Dask array (Dask
    is not imported to find out)."""
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and all(
        isinstance(v, dask_array.Array) for v in values if has_ufunc_override(v))


def _dask_outer(ufunc: np.ufunc, operands: tuple, kwargs: dict) -> Any:
    """``ufunc.outer`` of Dask arrays, lazy, block by block: what Dask gives for NumPy's own
    ufuncs (``np.add.outer(dask_array, x)``).  Dask's ``__array_ufunc__`` refuses ufuncs that
    NumPy does not define (it looks them up by name), so its recipe is followed here."""
    import dask.array

    if "out" in kwargs:
        raise ValueError("`out` kwarg not supported")       # Dask's answer for NumPy's ufuncs
    a, b = (dask.array.asarray(value) for value in operands)
    function = functools.partial(ufunc.outer, **kwargs) if kwargs else ufunc.outer
    dtype = function(np.empty((0,) * a.ndim, a.dtype), np.empty((0,) * b.ndim, b.dtype)).dtype
    index = tuple(range(a.ndim + b.ndim))
    return dask.array.blockwise(function, index, a, index[:a.ndim], b, index[a.ndim:],
                                dtype=dtype, token=f"{ufunc.__name__}.outer")
