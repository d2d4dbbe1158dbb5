"""The two process-wide flags that keep threaded loops safe (no Numba needed to read them).

* ``numelu_parallel_gate``: taken (atomic compare-and-swap, in compiled code) by the one call
  that uses a thread pool; a call that finds it taken runs its serial kernel instead, so two
  threads never enter a pool at once (Numba's ``workqueue`` layer aborts when they do);
* ``numelu_forked_child``: set in a child after ``fork()``, from then on only serial kernels run
  (GNU OpenMP kills a child that uses it after a fork).

JIT-compiled loops link the flags defined here (``_safety``); a precompiled library defines its
own pair, registered with :func:`add` when it is loaded.  A fork sets every registered pair.
"""

from __future__ import annotations

import ctypes
import os

GATE_SYMBOL = "numelu_parallel_gate"
FORKED_SYMBOL = "numelu_forked_child"

#: (gate, forked) of the JIT-compiled loops.
JIT_FLAGS = (ctypes.c_int32(0), ctypes.c_int32(0))

_pairs: list[tuple[ctypes.c_int32, ctypes.c_int32]] = [JIT_FLAGS]


def add(gate: ctypes.c_int32, forked: ctypes.c_int32) -> None:
    """Register a precompiled library's flags (marked forked if this process is a child)."""
    forked.value = JIT_FLAGS[1].value
    _pairs.append((gate, forked))


def every_pair() -> list[tuple[ctypes.c_int32, ctypes.c_int32]]:
    """Every registered (gate, forked) pair: the JIT's, and a loaded library's."""
    return list(_pairs)


def _after_fork_in_child() -> None:
    for gate, forked in _pairs:
        forked.value = 1
        gate.value = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def in_forked_child() -> bool:
    return bool(JIT_FLAGS[1].value)


def parallel_busy() -> bool:
    """True while some call is using a thread pool through a numelu loop."""
    return any(gate.value for gate, _ in _pairs)
