"""The PNG plot of the results: elements/s against size, one line per contender (matplotlib,
imported only when a plot is drawn)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from numelu._bench.contenders import CONTENDER_ORDER
from numelu._bench.results import Result, group_results

_STYLE = {"numelu": "-", "numpy": "-", "peer": "--", "wall": ":", "floor": ":"}
#: tab20 colour pairs: dark for the allocating call, light for its ``-out`` variant.
_PAIRS = {"numelu-auto": 0, "numelu-cpu": 2, "numelu-parallel": 4, "torch": 6, "numexpr": 8,
          "jax": 10, "numelu-ufunc": 18}


def _colour(name: str, role: str, index: int) -> Any:
    from matplotlib import colormaps

    tab20 = colormaps["tab20"].colors
    if role == "numpy":
        return "black"
    if role == "wall":
        return "dimgrey"
    if role == "floor":
        return "darkgrey"
    base = name.removesuffix("-out")
    if base in _PAIRS:
        return tab20[_PAIRS[base] + (base != name)]
    return tab20[(16 + index) % len(tab20)]


def plot(results: Sequence[Result], path: str, *, title: str = "numelu CPU benchmark") -> None:
    """Elements/s against size, log-log; one panel per (function, data) row and dtype column,
    one line per contender.  Needs matplotlib (imported here, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = group_results(results)
    rows = list(dict.fromkeys((k[0], k[1]) for k in groups))
    columns = sorted({k[2] for k in groups})
    contenders = sorted({r.contender for r in results},
                        key=lambda n: (CONTENDER_ORDER.get(n, 99), n))
    roles = {r.contender: r.role for r in results}
    colour = {name: _colour(name, roles[name], i) for i, name in enumerate(contenders)}
    figure, axes = plt.subplots(len(rows), len(columns), squeeze=False, sharex=True,
                                figsize=(5.5 * len(columns), 3.4 * len(rows)))
    for i, (function, data) in enumerate(rows):
        for j, dtype in enumerate(columns):
            ax = axes[i][j]
            for name in contenders:
                points = sorted((r.size, r.size / r.seconds) for r in results
                                if (r.function, r.data, r.dtype, r.contender)
                                == (function, data, dtype, name) and r.seconds > 0)
                if points:
                    ax.plot(*zip(*points, strict=True), _STYLE.get(roles[name], "-"),
                            marker="o", markersize=3, color=colour[name], label=name,
                            linewidth=2.2 if name == "numelu-auto" else 1.2)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{function} · {dtype} · {data} input", fontsize=10)
            ax.grid(True, which="both", alpha=0.3)
            if j == 0:
                ax.set_ylabel("elements / s")
            if i == len(rows) - 1:
                ax.set_xlabel("elements")
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    labels = sorted(handles, key=lambda n: (CONTENDER_ORDER.get(n, 99), n))
    figure.legend([handles[label] for label in labels], labels, loc="center left",
                  bbox_to_anchor=(1.0, 0.5), fontsize=9, frameon=False)
    figure.suptitle(title, fontsize=12)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.5 / figure.get_figheight()))
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
