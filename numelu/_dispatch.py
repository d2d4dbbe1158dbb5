"""The ufunc-like object behind each public function, and the rules that pick a target.

Per call (``docs/contract.md`` section 5): 1. ``target=`` given -> that target; 2. an input with
``__cuda_array_interface__`` -> CUDA; 3. an input whose type overrides ``__array_ufunc__`` (Dask,
xarray, pandas) -> the genuine ufunc, so that library keeps control; 4. otherwise the serial CPU
ufunc below the parallel threshold, the threaded one above it, by the result's size.  The CPU
ufuncs are genuine ``numpy.ufunc`` objects (``_ufunc.py``), so NumPy itself does broadcasting,
type resolution, casting, ``out=``/``where=`` and overlap, and picks the result's array type;
the dispatcher checks the inputs' dtypes but hands NumPy the caller's own objects wherever
NumPy's result depends on them.  The common call takes a generated fast path (``_fast_path``).
"""

from __future__ import annotations

import importlib
import numbers
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from numelu import _config, _fast_path
from numelu._docstrings import docstring, signature
from numelu._functions import FunctionSpec
from numelu._operands import (
    BAD_KINDS,
    HOST_TYPES,
    LOOP_CHARS,
    any_override,
    bad_dtype,
    check_other_library_inputs,
    has_ufunc_override,
    is_device_array,
    result_size,
)
from numelu._ufunc_methods import UfuncMethods

_build_lock = threading.RLock()
_MISSING = _config.MISSING   # "out" not given at all (NumPy reads an explicit out=None otherwise)
_context_settings = _config.context_settings
_ENVIRONMENT = _config.ENVIRONMENT


def _is_device_backed_dask(value: Any) -> bool:
    """A Dask array whose chunks are device arrays (e.g. CuPy)."""
    meta = getattr(value, "_meta", None)
    return meta is not None and is_device_array(meta)


class _Docstring:
    """A function's docstring, written on first read: it quotes the scalar formula's notes, and
    importing the formulas imports Numba, which ``import numelu`` must not."""

    def __init__(self, spec: FunctionSpec) -> None:
        self._spec, self._text = spec, None

    def __get__(self, instance: object, owner: type | None = None) -> str:
        if self._text is None:
            self._text = docstring(self._spec)
        return self._text


class ElementwiseFunction(UfuncMethods):
    """A NumPy-ufunc-like function compiled for serial CPU, threaded CPU and CUDA.

    Each instance is of its own subclass, whose ``__call__`` is written out for the function's
    inputs (``_fast_path``): the common call costs a few attribute checks before the ufunc
    runs; everything else goes through :meth:`_call`.
    """

    def __new__(cls, spec: FunctionSpec) -> ElementwiseFunction:
        specialised = type(cls.__name__, (cls,), {
            "__call__": _fast_path.make_call(spec), "__module__": cls.__module__,
            "__qualname__": cls.__qualname__, "__doc__": _Docstring(spec)})
        return super().__new__(specialised)

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.__name__ = self.__qualname__ = spec.name
        self.__module__ = "numelu"
        self.nin = spec.nin
        self.nout = 1
        self.nargs = spec.nin + 1
        self.ntypes = len(LOOP_CHARS)
        self.types = [c * spec.nin + "->" + c for c in LOOP_CHARS]
        self.identity = None
        self.signature = None
        self._ufuncs: dict[str, np.ufunc] = {}
        self._cpu_ufuncs: dict[str, np.ufunc] = {}    # the built "cpu"/"parallel" ones only
        self._default_alpha = spec.has_alpha
        self.__signature__ = signature(spec)

    # ------------------------------------------------------------------ compiled ufuncs

    def _ufunc(self, target: str) -> np.ufunc:
        ufunc = self._ufuncs.get(target)
        if ufunc is None:
            with _build_lock:
                ufunc = self._ufuncs.get(target)
                if ufunc is None:
                    ufunc = self._build(target)
                    self._ufuncs[target] = ufunc
                    if target != "cuda":
                        self._cpu_ufuncs[target] = ufunc
        return ufunc

    def _build(self, target: str) -> np.ufunc:
        if target == "cuda":
            from numelu import _cuda

            return _cuda.cuda_ufunc(self.spec)
        from numelu._kernels import loops as cpu_loops
        from numelu._ufunc import make_ufunc

        loops = cpu_loops(self.spec, target == "parallel", LOOP_CHARS)
        ufunc = make_ufunc(self.spec.name, self.__doc__, self.spec.nin, loops)
        module = f"numelu._ufuncs_{target}"
        ufunc.__module__ = module          # pickles by reference to numelu._ufuncs_<target>.<name>
        setattr(importlib.import_module(module), self.spec.name, ufunc)
        return ufunc

    @property
    def cpu(self) -> np.ufunc:
        """The genuine serial CPU ``numpy.ufunc`` (compiled on first use, cached on disk)."""
        return self._ufunc("cpu")

    @property
    def parallel(self) -> np.ufunc:
        """The genuine threaded CPU ``numpy.ufunc`` (long contiguous runs split over threads)."""
        return self._ufunc("parallel")

    @property
    def cuda(self):
        """The genuine CUDA ufunc (``@vectorize(target="cuda")``), built on first use."""
        return self._ufunc("cuda")

    # ------------------------------------------------------------------ calling

    def _call(self, args: tuple, out: Any, target: str | None, kwargs: dict):
        spec = self.spec
        nin = self.nin
        if self._default_alpha and "alpha" in kwargs:   # elu(x, alpha=0.5), as in PyTorch
            if len(args) >= nin:
                raise TypeError(f"{spec.name}() got multiple values for argument 'alpha'")
            if len(args) == nin - 1:
                args = (*args, kwargs.pop("alpha"))
        given = len(args)
        if given == nin - 1 and self._default_alpha:
            args = (*args, 1.0)
        elif given == nin + 1 and out is _MISSING:   # out given positionally
            out, args = args[-1], args[:-1]
        elif given != nin:
            raise TypeError(
                f"{spec.name}() takes {nin} positional input(s) "
                f"({', '.join(spec.inputs)}), got {given}"
            )
        if out is not _MISSING:   # an explicit out=None is passed on: NumPy reads it as "allocate"
            kwargs["out"] = out
        else:
            out = None

        settings = _context_settings(_ENVIRONMENT.settings) or _config.current()
        chosen = settings.target if target is None else _config.check_target(target)
        if chosen == "cuda" or not _plain(args, out, kwargs):
            if chosen == "cuda" or (chosen == "auto" and _any_device_operand(args, out, kwargs)):
                from numelu import _cuda

                return _cuda.call(self, args, kwargs)
            if any(map(has_ufunc_override, args)) or (out is not None and any_override(out)):
                return self._call_other_library(args, chosen, kwargs)

        args, arrays = self._checked(args)
        if chosen == "auto":
            if type(out) is np.ndarray:
                size = out.size                     # the result's size: inputs broadcast to it
            elif type(out) is tuple and len(out) == 1 and isinstance(out[0], np.ndarray):
                size = out[0].size
            else:
                size = result_size(arrays)
            chosen = "parallel" if size >= settings.thresholds[spec.cost] else "cpu"
        return self._ufunc(chosen)(*args, **kwargs)

    def _call_other_library(self, args: tuple, chosen: str, kwargs: dict):
        """Dispatch rule 3 (``docs/contract.md`` section 5): an input or ``out`` whose type
        overrides ``__array_ufunc__`` (Dask, xarray, pandas): the genuine ufunc, so that the
        library keeps control."""
        check_other_library_inputs(self.spec, args)   # numelu's TypeError, not the library's
        if self.spec.alpha_rule is not None:
            self._check_alpha(args[-1])   # a bad scalar alpha is an error whatever x is
        if not kwargs and any(map(_is_device_backed_dask, args)):
            # CuPy's __array_ufunc__ refuses ufuncs it does not know: map this dispatcher over
            # the chunks instead, so each CuPy chunk takes the CUDA path.
            import dask.array

            return dask.array.map_blocks(self, *args, dtype=self._result_dtype(args))
        # the genuine ufunc of the CPU target asked for (target=, config(), NUMELU_TARGET);
        # "auto" hands over the serial one: the library calls it once per chunk (Dask, xarray on
        # Dask) and chunks are usually below the parallel threshold, while the size of what it
        # will pass cannot be known here without reading the library's internals.
        return self._ufunc("parallel" if chosen == "parallel" else "cpu")(*args, **kwargs)

    def _result_dtype(self, args: tuple) -> np.dtype:
        """The dtype NumPy's type resolution gives for these inputs (dtypes of any array type)."""
        probes = [np.empty(0, a.dtype) if hasattr(a, "dtype") else a for a in args]
        return self._ufunc("cpu")(*probes).dtype

    def _checked(self, args: tuple, names: Sequence[str] | None = None) -> tuple[tuple, list]:
        """The inputs to hand to the ufunc, and their array conversions (NumPy and Python
        scalars as they are).

        Each input's dtype is checked on its array conversion (``docs/contract.md`` section 6:
        a TypeError naming the function and the dtype; a ValueError for a bad scalar alpha).
        NumPy is then handed the caller's own object where NumPy's result depends on it -- an
        ndarray (subclasses such as ``np.ma.MaskedArray`` and ``np.matrix`` included), a Python
        or NumPy scalar, an array-like with ``__array_wrap__`` (a PyTorch CPU tensor) -- so
        NumPy picks the result's type by its own rules, as for ``np.exp``; other inputs (lists,
        tuples, array-likes without ``__array_wrap__``) are handed over converted, which NumPy
        would do the same way, without converting them a second time.

        ``names``: what the errors call each of ``args`` (a ufunc method's operands); given,
        the scalar ``alpha`` is left to the caller to check.
        """
        passed, arrays = args, list(args)     # copied below only where an input is converted
        for position, value in enumerate(args):
            if type(value) is np.ndarray or isinstance(value, (np.ndarray, np.generic)):
                array = value
            elif isinstance(value, (float, int)):     # Python scalars (bool too): always real
                continue
            else:
                array = arrays[position] = np.asarray(value)
                if not hasattr(value, "__array_wrap__"):
                    if passed is args:
                        passed = list(args)
                    passed[position] = array
            if array.dtype.kind in BAD_KINDS:
                what = (self.spec.inputs if names is None else names)[position]
                raise bad_dtype(self.spec.name, f"input {what!r}", array.dtype)
        if self.spec.alpha_rule is not None and names is None:
            self._check_alpha(arrays[-1])
        return tuple(passed), arrays

    def _check_alpha(self, alpha: Any) -> None:
        if type(alpha) is float and alpha > 0:
            return                              # the common case, valid for every rule
        if isinstance(alpha, np.ndarray):
            if alpha.ndim:
                return
            alpha = alpha[()]
        if not isinstance(alpha, (numbers.Real, np.bool_)):   # np.bool_ is not a numbers.Real
            return
        rule = self.spec.alpha_rule
        bad = ((rule == "nonzero" and alpha == 0) or (rule == "nonnegative" and alpha < 0)
               or (rule == "positive" and not alpha > 0))
        if bad:
            need = {"nonzero": "alpha != 0", "nonnegative": "alpha >= 0",
                    "positive": "alpha > 0"}[rule]
            raise ValueError(f"numelu.{self.spec.name} needs {need}, got alpha={alpha!r}")

    def __repr__(self) -> str:
        return f"<numelu function {self.spec.name!r} ({', '.join(self.spec.inputs)})>"

    def __reduce__(self) -> str:
        return self.spec.name      # pickled by reference: numelu.<name>


def _plain(args: tuple, out: Any, kwargs: dict) -> bool:
    """True if every input, ``out`` and ``where=`` is a NumPy array, a NumPy scalar, a Python
    scalar, a list or a tuple (the usual call): there is no device array or ``__array_ufunc__``
    override to look for."""
    for value in args:
        if type(value) not in HOST_TYPES:
            return False
    if out is not None and type(out) is not np.ndarray:
        if type(out) is not tuple:
            return False
        for value in out:
            if type(value) not in HOST_TYPES:
                return False
    return type(kwargs.get("where")) in HOST_TYPES


def _any_device_operand(args: tuple, out: Any, kwargs: dict) -> bool:
    """Dispatch rule 2 (``docs/contract.md`` section 5): a device array among the inputs,
    ``out`` (an array or a tuple) or ``where=`` (the CUDA path then refuses host arrays beside
    it, with its "mixed" error)."""
    outs = out if isinstance(out, tuple) else (out,)
    return (any(map(is_device_array, args)) or any(map(is_device_array, outs))
            or is_device_array(kwargs.get("where")))
