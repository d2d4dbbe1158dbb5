"""Where numelu runs: the target and the serial/threaded thresholds.

Precedence, per call: ``target=`` argument > innermost ``numelu.config(...)`` block (per thread
and per asyncio task, via ``contextvars``) > environment (``NUMELU_TARGET``,
``NUMELU_PARALLEL_THRESHOLD``) > defaults.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace

TARGETS = ("auto", "cpu", "parallel", "cuda")


class _Missing:
    """The "argument not given" marker (NumPy reads an explicit ``out=None`` as "allocate")."""

    def __repr__(self) -> str:
        return "<not given>"


MISSING = _Missing()

#: Elements from which "auto" runs the threaded CPU kernels, per kernel kind.  Measured with
#: ``python benchmarks/thresholds.py`` on the 2-core reference machine, idle
#: (benchmarks/results/thresholds-2026-11-23.txt): both kinds gain 1.15-1.8x from 2**16 on and
#: nothing below (a run shorter than two 32,768-element chunks is never split anyway).
DEFAULT_THRESHOLDS = {"exp": 65_536, "cheap": 65_536}


def check_target(target: str) -> str:
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; valid targets are {', '.join(TARGETS)}")
    return target


@dataclass(frozen=True)
class Settings:
    target: str = "auto"
    #: None: per-kind defaults; an int: one threshold for every kind.
    parallel_threshold: int | None = None

    def __post_init__(self) -> None:
        # per kernel kind, looked up on every call (a plain attribute: the fast path is hot)
        thresholds = {kind: (default if self.parallel_threshold is None
                             else self.parallel_threshold)
                      for kind, default in DEFAULT_THRESHOLDS.items()}
        object.__setattr__(self, "thresholds", thresholds)

    def threshold(self, kind: str) -> int:
        """Elements from which ``"auto"`` runs the threaded kernels of this ``kind``."""
        return self.thresholds[kind]


def _from_environment() -> Settings:
    target = check_target(os.environ.get("NUMELU_TARGET", "auto").strip().lower() or "auto")
    raw = os.environ.get("NUMELU_PARALLEL_THRESHOLD", "").strip()
    threshold = None
    if raw:
        try:
            threshold = int(float(raw))
        except ValueError:
            raise ValueError(
                f"NUMELU_PARALLEL_THRESHOLD must be a number of elements, got {raw!r}"
            ) from None
    return Settings(target=target, parallel_threshold=threshold)


_current: contextvars.ContextVar[Settings | None] = contextvars.ContextVar("numelu_settings", default=None)

#: ``context_settings(ENVIRONMENT[0])``: the innermost ``config()`` block's settings, else the
#: environment's once read (else None: call :func:`current`).  The dispatcher's fast path.
context_settings = _current.get
ENVIRONMENT: list[Settings | None] = [None]     # the environment's settings, once read


def current() -> Settings:
    """The settings in force for this thread/task."""
    settings = _current.get()
    if settings is not None:
        return settings
    if ENVIRONMENT[0] is None:
        ENVIRONMENT[0] = _from_environment()
    return ENVIRONMENT[0]


def reload_environment() -> Settings:
    """Re-read ``NUMELU_*`` environment variables (they are read once, on first use)."""
    ENVIRONMENT[0] = None
    return current()


@contextlib.contextmanager
def config(*, target: str | None = None, parallel_threshold: int | None = None) -> Iterator[Settings]:
    """Override the target and/or the parallel threshold inside a ``with`` block.

    Thread-safe: the override is seen only by the thread (or asyncio task) that entered it.

    >>> with numelu.config(target="cpu"):
    ...     numelu.elu(big_array)          # serial even for a large array
    """
    changes = {}
    if target is not None:
        changes["target"] = check_target(target)
    if parallel_threshold is not None:
        if parallel_threshold < 0:
            raise ValueError("parallel_threshold must be >= 0")
        changes["parallel_threshold"] = int(parallel_threshold)
    token = _current.set(replace(current(), **changes))
    try:
        yield _current.get()
    finally:
        _current.reset(token)
