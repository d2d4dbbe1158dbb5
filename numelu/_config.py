"""Where numelu runs: the target and the serial/threaded thresholds.

Precedence, per call: ``target=`` argument > innermost ``numelu.config(...)`` block (per thread
and per asyncio task, via ``contextvars``) > environment (``NUMELU_TARGET``,
``NUMELU_PARALLEL_THRESHOLD``) > defaults.  The environment is read once, on first use (not at
import); :func:`reload_environment` re-reads it.  A bad value is a ``ValueError`` naming the
variable, raised by every use until it is fixed and re-read, never replaced by the default.
``NUMELU_TARGET``: one of :data:`TARGETS`, any case; a threshold, from the environment or
``config(parallel_threshold=...)``, is a whole number of elements >= 0 (one rule for both,
:func:`check_threshold`; empty or unset: :data:`DEFAULT_THRESHOLDS`).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers
import operator
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

TARGETS = ("auto", "cpu", "parallel", "cuda")


class _Missing:
    """The "argument not given" marker (NumPy reads an explicit ``out=None`` as "allocate")."""

    def __repr__(self) -> str:
        return "<not given>"


MISSING = _Missing()

#: Elements from which "auto" runs the threaded CPU kernels, per cost class
#: (``FunctionSpec.cost``: "exp" for the exp-based functions, "cheap" for the few-flop
#: ``*_from_output`` ones), measured with ``python benchmarks/thresholds.py`` on both
#: precompiled ISA levels (benchmarks/results/thresholds-2026-12-06.txt): the exp kernels gain
#: from 2**14 elements on, the cheap ones from 2**16.
DEFAULT_THRESHOLDS = {"exp": 16_384, "cheap": 65_536}


def check_target(target: str, source: str | None = None) -> str:
    """``target`` if it is one of :data:`TARGETS`, else a ``ValueError`` listing them.

    ``source``: the environment variable the value came from, named in the error.
    """
    if target not in TARGETS:
        where = "" if source is None else f" in the environment variable {source}"
        raise ValueError(f"unknown target {target!r}{where}; "
                         f"valid targets are {', '.join(TARGETS)}")
    return target


def check_threshold(value: object, source: str = "parallel_threshold") -> int:
    """``value`` as a parallel threshold: a whole number of elements >= 0, as an ``int``.

    Accepted: integers (``int``, NumPy integers), floats with an integral value (``1e6``), and
    text spelling either (``"65536"``, ``"65_536"``, ``"1e6"``; the environment's form).
    A ``ValueError`` naming ``source`` (``parallel_threshold``, or the environment variable) for
    a bool, a negative, fractional or non-finite number or unreadable text; a ``TypeError`` for
    anything else.
    """
    def bad(why: str) -> ValueError:
        return ValueError(f"{source} must be a whole number of elements >= 0, got {value!r}"
                          f" ({why})")

    if isinstance(value, (bool, np.bool_)):
        raise bad("a bool, not a number")
    number: object = value
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text)            # exact, however large; takes "65_536" and "+7"
        except ValueError:
            try:
                number = float(text)      # "1e6", "65536.0"; also "inf" and "nan", refused below
            except ValueError:
                raise bad("not a number") from None
    try:
        count = operator.index(number)    # int, NumPy integers
    except TypeError:
        if not isinstance(number, numbers.Real):
            raise TypeError(f"{source} must be a whole number of elements >= 0, got "
                            f"{value!r} of type {type(value).__name__}") from None
        if not math.isfinite(number):
            raise bad("not finite") from None
        if number != math.floor(number):
            raise bad("not a whole number") from None
        count = int(number)
    if count < 0:
        raise bad("negative")
    return count


@dataclass(frozen=True)
class Settings:
    target: str = "auto"
    #: None: the defaults per cost class; an int: one threshold for every class.
    parallel_threshold: int | None = None

    def __post_init__(self) -> None:
        # per cost class, looked up on every call (a plain attribute: the fast path is hot)
        thresholds = {cost: (default if self.parallel_threshold is None
                             else self.parallel_threshold)
                      for cost, default in DEFAULT_THRESHOLDS.items()}
        object.__setattr__(self, "thresholds", thresholds)
        # the fewest elements whose square reaches each threshold: below it, inputs cannot
        # broadcast together (two of them) to the threshold (the fast path, without out=)
        object.__setattr__(self, "square_roots", {
            cost: math.isqrt(threshold - 1) + 1 if threshold > 0 else 0
            for cost, threshold in thresholds.items()})

    def threshold(self, cost: str) -> int:
        """Elements from which ``"auto"`` runs the threaded kernels of this cost class."""
        return self.thresholds[cost]


def _from_environment() -> Settings:
    """The settings of the ``NUMELU_*`` variables (see the module docstring for their values)."""
    raw_target = os.environ.get("NUMELU_TARGET", "")
    target = check_target(raw_target.strip().lower() or "auto", "NUMELU_TARGET")
    raw = os.environ.get("NUMELU_PARALLEL_THRESHOLD", "")
    threshold = check_threshold(raw, "NUMELU_PARALLEL_THRESHOLD") if raw.strip() else None
    return Settings(target=target, parallel_threshold=threshold)


_current: contextvars.ContextVar[Settings | None] = contextvars.ContextVar("numelu_settings", default=None)


class EnvironmentSettings:
    """The settings of the ``NUMELU_*`` variables: ``settings`` is None until they are read."""

    __slots__ = ("settings",)

    def __init__(self) -> None:
        self.settings: Settings | None = None


ENVIRONMENT = EnvironmentSettings()

#: ``context_settings(ENVIRONMENT.settings)``: the innermost ``config()`` block's settings, else
#: the environment's once read (else None: call :func:`current`).  The dispatcher's fast path.
context_settings = _current.get


def current() -> Settings:
    """The settings in force for this thread/task."""
    settings = _current.get()
    if settings is not None:
        return settings
    if ENVIRONMENT.settings is None:
        ENVIRONMENT.settings = _from_environment()
    return ENVIRONMENT.settings


def reload_environment() -> Settings:
    """Re-read ``NUMELU_*`` environment variables (they are read once, on first use)."""
    ENVIRONMENT.settings = None
    return current()


@contextlib.contextmanager
def config(*, target: str | None = None, parallel_threshold: int | None = None) -> Iterator[Settings]:
    """Override the target and/or the parallel threshold inside a ``with`` block.

    Thread-safe: the override is seen only by the thread (or asyncio task) that entered it.
    ``parallel_threshold``: a whole number of elements >= 0 (see :func:`check_threshold`).

    >>> big = np.ones(10**6)
    >>> with numelu.config(target="cpu"):
    ...     y = numelu.elu(big)          # serial even for a large array
    """
    changes = {}
    if target is not None:
        changes["target"] = check_target(target)
    if parallel_threshold is not None:
        changes["parallel_threshold"] = check_threshold(parallel_threshold)
    token = _current.set(replace(current(), **changes))
    try:
        yield _current.get()
    finally:
        _current.reset(token)
