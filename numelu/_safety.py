"""Keep Numba's thread pool out of the two ways it can kill a process (DESIGN.md section 4).

* The ``workqueue`` layer aborts when two Python threads enter parallel code at once: the
  threaded path is taken only by the thread that wins a non-blocking lock; the others run the
  serial kernels (which release the GIL, so Python threads still scale).
* GNU OpenMP kills a child that uses it after ``fork()``: in a forked child the threaded path is
  switched off for good.
"""

from __future__ import annotations

import os
import threading

_parallel_lock = threading.Lock()
_forked_child = False


def _after_fork_in_child() -> None:
    global _forked_child, _parallel_lock
    _forked_child = True
    _parallel_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def try_enter_parallel() -> bool:
    """True if this call may use the thread pool now; then call :func:`leave_parallel` after."""
    if _forked_child:
        return False
    return _parallel_lock.acquire(blocking=False)


def leave_parallel() -> None:
    _parallel_lock.release()


def in_forked_child() -> bool:
    return _forked_child
