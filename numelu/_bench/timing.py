"""Timing one call: timeit-style best-of-N rounds and their statistics, the untimed warm-up
before them, and the pause that lets a peer's threads go idle."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from typing import Any


def _loop(fn: Callable[[], Any], number: int) -> float:
    timer = time.perf_counter
    start = timer()
    for _ in range(number):
        fn()
    return timer() - start


def time_call(fn: Callable[[], Any], *, repeats: int = 5, min_time: float = 0.02
              ) -> tuple[list[float], int]:
    """Seconds per call of each of ``repeats`` rounds, timeit-style, and the calls per round.

    Calls per round grow until a round lasts ``min_time``; the garbage collector is off while
    timing.  The caller warms ``fn`` up (compiles it) first.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        number = 1
        while True:
            elapsed = _loop(fn, number)
            if elapsed >= min_time or number >= 1 << 24:
                break
            guess = int(number * min_time / max(elapsed, 1e-9) * 1.1) + 1
            number = min(max(guess, number * 2), number * 100, 1 << 24)
        times = [elapsed / number]
        times += [_loop(fn, number) / number for _ in range(repeats - 1)]
    finally:
        if enabled:
            gc.enable()
    return times, number


def _stats(times: Sequence[float], number: int) -> dict[str, float]:
    ordered = sorted(times)
    mean = sum(ordered) / len(ordered)
    stddev = (math.sqrt(sum((t - mean) ** 2 for t in ordered) / (len(ordered) - 1))
              if len(ordered) > 1 else 0.0)
    middle = len(ordered) // 2
    median = (ordered[middle] if len(ordered) % 2
              else (ordered[middle - 1] + ordered[middle]) / 2)
    return {"min": ordered[0], "max": ordered[-1], "mean": mean, "median": median,
            "stddev": stddev, "rounds": len(ordered), "iterations": number,
            "ops": 1.0 / mean if mean else 0.0}


#: Seconds of idle time before a contender that follows a peer.  On the 2-core machine a core
#: still busy with a peer's worker threads (JAX/XLA's, PyTorch's, numexpr's) halves a threaded
#: contender timed right after: numelu's threaded ELU (float64, 10^6) once measured 943 us, its
#: serial speed, where the same run's explicit ``target="parallel"`` call measured 508 us.
PEER_SETTLE_SECONDS = 0.5


#: Seconds each contender runs untimed before its timed rounds: caches, branch predictors and
#: the core's clock reach their steady state (the first contender of a group, right after the
#: previous group's peers, was otherwise up to 1.5x slower than the same call timed later).
WARM_UP_SECONDS = 0.1


def settle_after(role: str | None, seconds: float = PEER_SETTLE_SECONDS) -> None:
    """Give a peer's threads time to go idle before the next contender is timed."""
    if role == "peer":
        time.sleep(seconds)


def warm_up(fn: Callable[[], Any], seconds: float = WARM_UP_SECONDS) -> None:
    """Call ``fn`` untimed for ``seconds`` (at least twice)."""
    deadline = time.perf_counter() + seconds
    fn()
    fn()
    while time.perf_counter() < deadline:
        fn()
