"""The dispatcher's fast path: a ``__call__`` generated per function, for the common call.

A 100-element call is dominated by fixed costs, so each function gets a ``__call__`` written
out for its own inputs (``elu(x, /, alpha=1.0, ...)``): no ``*args`` tuple to walk, and
Python's own argument errors name the function.  It handles exact ``ndarray`` data of a real
dtype (or real scalars), ``alpha`` missing, a positive Python float or an alpha array, and no
keyword but ``alpha=``, ``out=`` (an ``ndarray``) and ``target=`` ("auto", "cpu", "parallel"),
and calls the serial or threaded ufunc by the result's size; everything else goes to the
general path, ``ElementwiseFunction._call``.  A scalar ``alpha`` is passed as a cached 0-d array
of the data's float dtype, saving NumPy's conversion (the same value by NEP 50, the same loop).
A plain function taking ``*args`` was measured slower (CHANGELOG.md), hence the generator.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from numelu import _config
from numelu._functions import FunctionSpec
from numelu._operands import result_size

#: dtype characters the fast path accepts for data inputs: bool, integers, float16/32/64.
FAST_CHARS = frozenset("?bBhHiIlLqQefd")


class AlphaCache(dict):
    """Scalar alphas as 0-d arrays of one float dtype (``char``), keyed by the Python float;
    ``char`` None: a dtype whose alpha is passed as the Python float (never filled)."""

    def __init__(self, char: str | None) -> None:
        super().__init__()
        self.char = char
        #: the default alpha, 1.0, as passed
        self.one: np.ndarray | float = 1.0
        if char is not None:
            info = np.finfo(char)
            self.low, self.high = float(info.tiny), float(info.max)
            self.one = np.array(1.0, dtype=char)
            self.one.flags.writeable = False


_NO_CACHE = AlphaCache(None)

#: Per data dtype character: the alpha cache the fast path uses (float32, float64: one each;
#: the other accepted dtypes: the never-filled one).  A character not here is not fast.
ALPHA_CACHES: dict[str, AlphaCache] = {char: _NO_CACHE for char in FAST_CHARS}
ALPHA_CACHES.update(f=AlphaCache("f"), d=AlphaCache("d"))
_ALPHA_CACHE_LIMIT = 256

#: The same, per dtype (what the fast path looks up: a native-byte-order dtype of FAST_CHARS).
DTYPE_CACHES: dict[np.dtype, AlphaCache] = {np.dtype(char): cache
                                            for char, cache in ALPHA_CACHES.items()}

#: Per scalar type the fast path accepts as a data input: the alpha cache it uses.  Python
#: float, int and bool are weak (NEP 50): alone, or beside np.float64, the loop is float64, so
#: they share np.float64's cache; data of two different caches pass alpha as given.
SCALAR_CACHES: dict[type, AlphaCache] = {np.dtype(char).type: ALPHA_CACHES[char]
                                         for char in FAST_CHARS}
SCALAR_CACHES.update({float: ALPHA_CACHES["d"], int: ALPHA_CACHES["d"],
                      bool: ALPHA_CACHES["d"]})


def weak_alpha(alpha: float, cache: AlphaCache) -> np.ndarray | float:
    """``alpha`` as NumPy would use it next to data of ``cache.char``: a 0-d array of that dtype.

    Only positive values that stay normal numbers in that dtype are cached (so ``-0.0`` and
    ``0.0``, which compare equal as dict keys, never share an entry, and a cast that would
    overflow or underflow is left to NumPy, with its warnings); anything else is returned as is.
    """
    value = cache.get(alpha)
    if value is not None:
        return value
    if cache.char is None or not cache.low <= alpha <= cache.high:
        return alpha
    if len(cache) >= _ALPHA_CACHE_LIMIT:
        cache.clear()
    value = np.array(alpha, dtype=cache.char)
    value.flags.writeable = False
    cache[alpha] = value
    return value


def _given(values: tuple, more: tuple, kwargs: dict) -> tuple:
    """The positional arguments the caller actually passed."""
    if values[-1] is not _config.MISSING:          # all of them (the usual case)
        return values + more
    return tuple(v for v in values if v is not _config.MISSING) + more


def _given_alpha(values: tuple, more: tuple, kwargs: dict) -> tuple:
    """:func:`_given` where the last of ``values`` is ``alpha``, which may have come by keyword.

    With every data input given, a keyword alpha is the positional one; with one missing
    (``elu_backward(grad, alpha=0.5)``) alpha cannot have come by position (it follows them), so
    it goes back into ``kwargs`` as the caller wrote it, for the general path to refuse the call
    for the missing input.
    """
    *data, alpha = values
    if data[-1] is not _config.MISSING:             # every data input (the usual case)
        return values + more if alpha is not _config.MISSING else tuple(data) + more
    given = tuple(v for v in data if v is not _config.MISSING)
    if alpha is _config.MISSING:
        return given + more
    if len(given) < len(data):
        kwargs["alpha"] = alpha
        return given
    return (*given, alpha, *more)


def _data_checks(first: str, others: list[str], count_size: bool) -> list[str]:
    """Array inputs: ``cache`` (the alpha cache of ``first``'s dtype, None if the call is not
    for the fast path) and, where ``count_size``, ``size`` (the largest input's)."""
    lines = [f"dtype = {first}.dtype",
             "cache = _DTYPE_CACHES.get(dtype)      # None: not a dtype for the fast path"]
    if count_size:
        lines.append(f"size = {first}.size")
    grow = ["    if {name}.size > size:", "        size = {name}.size"] if count_size else []
    for name in others:
        template = [
            "if type({name}) is _ndarray and {name}.dtype is dtype:     # the common case",
            *(grow or ["    pass"]),
            "elif type({name}) is _ndarray and {name}.dtype.char in _FAST_CHARS:",
            *grow,
            "    if cache is not None:",
            "        cache = _NO_CACHE       # mixed dtypes: alpha stays a Python float",
            "else:",
            "    cache = None",
        ]
        lines += [line.format(name=name) for line in template]
    return lines


def _scalar_checks(first: str, others: list[str]) -> list[str]:
    """Scalar inputs: ``cache`` as in :func:`_data_checks`; ``size`` is 1."""
    lines = [f"cache = _SCALAR_CACHES[type({first})]", "size = 1"]
    for name in others:
        lines += [
            f"if type({name}) in _SCALAR_CACHES:",
            f"    if _SCALAR_CACHES[type({name})] is not cache and cache is not None:",
            "        cache = _NO_CACHE       # e.g. a Python float beside np.float32: alpha as given",
            "else:",
            "    cache = None",
        ]
    return lines


def _alpha_checks(count_size: bool) -> list[str]:
    """``fast_alpha``: the default 1.0 or a positive Python float as a cached 0-d array of the
    data's dtype, or an alpha array as given (counted in ``size`` where ``count_size``)."""
    return [
        "if alpha is _MISSING:",
        "    if cache is not None:",
        "        fast_alpha = cache.one                          # 1.0, as NumPy would use it",
        "elif type(alpha) is float and alpha > 0.0:              # valid for every alpha rule",
        "    if cache is not None:",
        "        fast_alpha = cache.get(alpha)",
        "        if fast_alpha is None:",
        "            fast_alpha = _weak_alpha(alpha, cache)",
        "elif type(alpha) is _ndarray and alpha.ndim and alpha.dtype.char in _FAST_CHARS:",
        "    fast_alpha = alpha",
        *(["    if alpha.size > size:", "        size = alpha.size"] if count_size else []),
        "else:",
        "    cache = None",
    ]


def _choice(spec: FunctionSpec, broadcast_size: str | None) -> list[str]:
    """``chosen``, for target "auto": serial or threaded by ``size``.  ``broadcast_size``: the
    exact result size where ``size`` is only the largest input's; inputs of different shapes
    may broadcast together beyond it, which matters only where its square reaches the
    threshold (three inputs broadcasting from under sqrt(threshold) each are not looked for)."""
    cost = repr(spec.cost)
    if broadcast_size is None:
        return [f"chosen = \"parallel\" if size >= settings.thresholds[{cost}] else \"cpu\""]
    return [
        f"if size < settings.square_roots[{cost}]:",
        "    chosen = \"cpu\"",
        "else:",
        f"    threshold = settings.thresholds[{cost}]",
        "    if size < threshold:",
        f"        size = {broadcast_size}",
        "    chosen = \"parallel\" if size >= threshold else \"cpu\"",
    ]


def _run(choice: list[str], arguments: str) -> list[str]:
    """Call the serial or threaded ufunc, where the checks left a ``cache`` and it is built."""
    return [
        "if cache is not None:",
        "    settings = _context_settings(_ENVIRONMENT.settings) or _settings()",
        "    chosen = settings.target if target is None else target",
        "    if chosen == \"auto\":",
        *("        " + line for line in choice),
        "    ufunc = self._cpu_ufuncs.get(chosen)      # None: not built yet, or not a CPU target",
        "    if ufunc is not None:",
        f"        return ufunc({arguments})",
    ]


def _indent(depth: int, lines: list[str]) -> list[str]:
    return [" " * depth + line for line in lines]


def _broadcast_size(spec: FunctionSpec, first: str) -> str | None:
    """The expression of the exact result size without ``out`` (None for one input)."""
    rest = [name for name in spec.inputs if name != first]
    if not rest:
        return None
    same = " and ".join(f"(type({name}) is not _ndarray or {name}.shape == {first}.shape)"
                        for name in rest)
    return f"{first}.size if {same} else _result_size(({', '.join([first, *rest])}))"


def call_source(spec: FunctionSpec) -> str:
    """The Python source of ``spec``'s ``__call__`` (see the module docstring): three cases
    (arrays, scalars, arrays with ``out``), each checks then the ufunc call; else the general
    path with the caller's own arguments."""
    data = [name for name in spec.inputs if name != "alpha"]
    first, others = data[0], data[1:]
    params = ", ".join([first, *(f"{name}=_MISSING" for name in others)]) + ", /, "
    if spec.has_alpha:
        params += "alpha=_MISSING, "
    arguments = ", ".join("fast_alpha" if name == "alpha" else name for name in spec.inputs)
    alpha = _alpha_checks(count_size=True) if spec.has_alpha else []
    plain = _choice(spec, None)
    arrays = (_data_checks(first, others, count_size=True) + alpha
              + _run(_choice(spec, _broadcast_size(spec, first)), arguments))
    scalars = _scalar_checks(first, others) + alpha + _run(plain, arguments)
    with_out = (_data_checks(first, others, count_size=False)
                + ["size = out.size      # the result's size: inputs broadcast to it"]
                + (_alpha_checks(count_size=False) if spec.has_alpha else [])
                + _run(plain, arguments + ", out"))
    given = "_given_alpha" if spec.has_alpha else "_given"
    values = ", ".join(spec.inputs) + ("," if spec.nin == 1 else "")
    simple = "not kwargs and not more"
    lines = [
        f"def __call__(self, {params}*more, out=_MISSING, target=None, **kwargs):",
        "    if out is _MISSING:",
        f"        if type({first}) is _ndarray and {simple}:",
        *_indent(12, arrays),
        f"        elif type({first}) in _SCALAR_CACHES and {simple}:",
        *_indent(12, scalars),
        f"    elif type(out) is _ndarray and type({first}) is _ndarray and {simple}:",
        *_indent(8, with_out),
        "    # everything else, with the caller's own arguments",
        f"    return self._call({given}(({values}), more, kwargs), out, target, kwargs)",
    ]
    return "\n".join(lines) + "\n"


def make_call(spec: FunctionSpec) -> Callable:
    """Compile :func:`call_source` into a function, named for the error messages it may raise.

    Its ``__qualname__`` is the public name: Python's own argument errors (``elu() got multiple
    values for argument 'alpha'``, ``elu() missing 1 required positional argument: 'x'``) name
    the function as they would a Python function's, not ``elu.__call__``.
    """
    namespace = {"_MISSING": _config.MISSING, "_ndarray": np.ndarray, "_FAST_CHARS": FAST_CHARS,
                 "_DTYPE_CACHES": DTYPE_CACHES, "_SCALAR_CACHES": SCALAR_CACHES,
                 "_NO_CACHE": _NO_CACHE, "_weak_alpha": weak_alpha,
                 "_settings": _config.current, "_context_settings": _config.context_settings,
                 "_ENVIRONMENT": _config.ENVIRONMENT, "_given": _given,
                 "_result_size": result_size,
                 "_given_alpha": _given_alpha}
    exec(compile(call_source(spec), f"<numelu.{spec.name}.__call__>", "exec"), namespace)  # noqa: S102
    call = namespace["__call__"]
    call.__qualname__ = spec.name
    return call
