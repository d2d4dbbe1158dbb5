"""The dispatcher's fast path: a ``__call__`` generated per function, for the common call.

A 100-element call is dominated by fixed costs, not by arithmetic: a bare NumPy ufunc call
(``np.negative(x, out=out)``) takes about 0.27 us here, and a Python-level ``__call__`` alone
adds about 0.3 us.  So each public function gets a ``__call__`` written out for its own
inputs (``elu(x, /, alpha=1.0, ...)``, ``elu_backward(grad, x, /, alpha=1.0, ...)``): no
``*args`` tuple to walk, no per-call tables.  ``alpha`` may be passed by position or, as in
PyTorch, by keyword (``elu(x, alpha=0.5)``); the data inputs are positional only, as a NumPy
ufunc's are.  It handles exactly the common case

* every data input an exact ``numpy.ndarray`` of a real dtype (float, integer, bool),
* ``alpha`` missing, a positive Python ``float`` or an ndarray with at least one dimension,
* no keyword but ``alpha=``, ``out=`` (an exact ``ndarray``) and ``target=`` ("auto", "cpu",
  "parallel"),

and calls the serial or threaded ufunc directly.  Scalar calls (``elu(-1.0)``,
``elu_backward(0.5, -1.0, 2.0)``) are fast too: every data input a Python float, int or bool or a
NumPy scalar of a real dtype, no ``out=``, the same ``alpha`` and keywords; the ufunc returns the
NumPy scalar it returns for them.  Every other call (other array types, arrays mixed with
scalars, CUDA, ``where=``/``dtype=``/..., errors) goes to the general path,
``ElementwiseFunction._call``, which applies the same rules in full.

Serial or threaded is decided by the result's size: ``out``'s where given (inputs broadcast
into it); without ``out``, the largest input's, unless inputs of different shapes may broadcast
together to the threshold (only where that size's square reaches it: a shape comparison then).

One more fixed cost is avoided: NumPy converts a Python float operand to an array on every call
(about 0.2 us).  When the data inputs are all float32 or all float64, the scalar ``alpha`` is
passed as a cached read-only 0-d array of that dtype instead.  The result is identical: NEP 50
casts a Python float to the other operands' float dtype, which is exactly the cached value, and
the same loop runs.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import numpy as np

from numelu import _config
from numelu._operands import result_size
from numelu._table import FunctionSpec

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


_TEMPLATE = '''\
def __call__(self, {params}*more, out=_MISSING, target=None, **kwargs):
    if out is _MISSING:
        if type({first}) is _ndarray and not kwargs and not more:
{array_body}
        elif type({first}) in _SCALAR_CACHES and not kwargs and not more:
{scalar_body}
    elif type(out) is _ndarray and type({first}) is _ndarray and not kwargs and not more:
{out_body}
    # everything else, with the caller's own arguments
    return self._call({given}(({params_tuple}), more, kwargs), out, target, kwargs)
'''

#: The body for array inputs (``{size}``: the result's size, or a bound from below).
_ARRAY_BODY = '''\
dtype = {first}.dtype
cache = _DTYPE_CACHES.get(dtype)      # None: not a dtype for the fast path
size = {size}
{others}{alpha}
if cache is not None:
    settings = _context_settings(_ENVIRONMENT[0]) or _settings()
    chosen = settings.target if target is None else target
    if chosen == "auto":
{choose}
    ufunc = self._cpu_ufuncs.get(chosen)      # None: not built yet, or not a CPU target
    if ufunc is not None:
        return ufunc({arguments})
'''

#: The body for scalar inputs: ``{others}`` are the scalar checks.
_SCALAR_BODY = _ARRAY_BODY.replace(
    "dtype = {first}.dtype\ncache = _DTYPE_CACHES.get(dtype)      # None: not a dtype for the "
    "fast path\n", "cache = _SCALAR_CACHES[type({first})]\n")

#: Serial or threaded by the result's size (with ``out``, or a scalar call: ``size`` is it).
_CHOOSE = '''\
chosen = "parallel" if size >= settings.thresholds[{kind!r}] else "cpu"
'''

#: Without ``out``: ``size`` is the largest input's; inputs of different shapes may broadcast
#: together beyond it, which matters only where its square reaches the threshold (three inputs
#: broadcasting together from under sqrt(threshold) elements each are not looked for).
_CHOOSE_BROADCAST = '''\
if size < settings.square_roots[{kind!r}]:
    chosen = "cpu"
else:
    threshold = settings.thresholds[{kind!r}]
    if size < threshold:
        size = {exact_size}
    chosen = "parallel" if size >= threshold else "cpu"
'''

_OTHER = '''\
if type({name}) is _ndarray and {name}.dtype is dtype:     # the common case
    if {name}.size > size:
        size = {name}.size
elif type({name}) is _ndarray and {name}.dtype.char in _FAST_CHARS:
    if {name}.size > size:
        size = {name}.size
    if cache is not None:
        cache = _NO_CACHE       # mixed dtypes: alpha stays a Python float
else:
    cache = None
'''

#: With ``out``: the same checks, no sizes (``out``'s is the result's).
_OTHER_OUT = _OTHER.replace(
    "    if {name}.size > size:\n        size = {name}.size\n", "").replace(
    "# the common case\nelif", "# the common case\n    pass\nelif")

_SCALAR_OTHER = '''\
if type({name}) in _SCALAR_CACHES:
    if _SCALAR_CACHES[type({name})] is not cache and cache is not None:
        cache = _NO_CACHE       # e.g. a Python float beside np.float32: alpha as given
else:
    cache = None
'''

_ALPHA = '''\
if alpha is _MISSING:
    if cache is not None:
        fast_alpha = cache.one                          # 1.0, as NumPy would use it
elif type(alpha) is float and alpha > 0.0:              # valid for every alpha rule
    if cache is not None:
        fast_alpha = cache.get(alpha)
        if fast_alpha is None:
            fast_alpha = _weak_alpha(alpha, cache)
elif type(alpha) is _ndarray and alpha.ndim and alpha.dtype.char in _FAST_CHARS:
    fast_alpha = alpha
    if alpha.size > size:
        size = alpha.size
else:
    cache = None
'''

_ALPHA_OUT = _ALPHA.replace("    if alpha.size > size:\n        size = alpha.size\n", "    pass\n")


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


def call_source(spec: FunctionSpec) -> str:
    """The Python source of ``spec``'s ``__call__`` (see the module docstring)."""
    data = [name for name in spec.inputs if name != "alpha"]
    first, others = data[0], data[1:]
    params = ", ".join([first, *(f"{name}=_MISSING" for name in others)]) + ", /, "
    if spec.has_alpha:
        params += "alpha=_MISSING, "
    arrays = [name for name in spec.inputs if name != first]
    exact_size = f"{first}.size"
    if arrays:
        same = " and ".join(f"(type({name}) is not _ndarray or {name}.shape == {first}.shape)"
                            for name in arrays)
        exact_size += f" if {same} else _result_size(({', '.join([first, *arrays])}))"
    arguments = ", ".join("fast_alpha" if name == "alpha" else name for name in spec.inputs)
    alpha, alpha_out = (_ALPHA, _ALPHA_OUT) if spec.has_alpha else ("", "")

    def body(template: str, size: str, other: str, alpha: str, choose: str, call: str,
             depth: int) -> str:
        code = template.format(
            first=first, size=size, others="".join(other.format(name=name) for name in others),
            alpha=alpha, arguments=call,
            choose=textwrap.indent(choose.format(kind=spec.kind, exact_size=exact_size), " " * 8))
        return textwrap.indent(code, " " * depth).rstrip("\n")

    no_out_choose = _CHOOSE_BROADCAST if arrays else _CHOOSE
    return _TEMPLATE.format(
        params=params, first=first,
        array_body=body(_ARRAY_BODY, f"{first}.size", _OTHER, alpha, no_out_choose, arguments,
                        12),
        scalar_body=body(_SCALAR_BODY, "1", _SCALAR_OTHER, alpha, _CHOOSE, arguments, 12),
        out_body=body(_ARRAY_BODY, "out.size      # the result's size: inputs broadcast to it",
                      _OTHER_OUT, alpha_out, _CHOOSE, arguments + ", out", 8),
        given="_given_alpha" if spec.has_alpha else "_given",
        params_tuple=", ".join(spec.inputs) + ("," if spec.nin == 1 else ""),
    )


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
