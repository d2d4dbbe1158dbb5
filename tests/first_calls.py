"""Count Numba's compilations during the first calls of every function, float type and target.

``python tests/first_calls.py``: prints ``<count> | <which kernels served>``; with precompiled
kernels in use the count must be 0 (``test_precompiled.py``, and CI on the installed wheel).
"""

from __future__ import annotations

import numba.core.event as event
import numpy as np

compiled: list[object] = []


class _Count(event.Listener):
    def on_start(self, e: event.Event) -> None:
        compiled.append(e.data["dispatcher"])

    def on_end(self, e: event.Event) -> None:
        pass


def main() -> None:
    event.register("numba:compile", _Count())     # install_listener is a context manager
    import numelu
    from numelu import _kernels

    for function in numelu.FUNCTIONS_BY_NAME.values():
        for dtype in (np.float16, np.float32, np.float64):
            args = [np.linspace(-3, 3, 70_001, dtype=dtype)] * function.nin
            if function.spec.has_alpha:         # a valid alpha for every alpha rule
                args[-1] = np.linspace(0.5, 2, 70_001, dtype=dtype)
            function(*args)
            function.parallel(*args)
    print(len(compiled), "|", _kernels.choice()[1])


if __name__ == "__main__":
    main()
