"""The text of the report: times, rates, ratios and sizes formatted, and the markdown tables."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from numelu._bench.results import Result, _best, group_results, ratios


def format_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if float(f"{seconds / scale:.3g}") >= 1:       # 999.7 ns rounds to 1 µs, not "1e+03 ns"
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_rate(per_second: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if per_second >= scale:
            return f"{per_second / scale:.3g} {unit}/s"
    return f"{per_second:.3g} /s"


def format_ratio(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def format_size(size: int) -> str:
    exponent = round(math.log10(size)) if size > 0 else 0
    return f"10^{exponent}" if 10**exponent == size else f"{size:,}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def summary_rows(groups: dict[tuple, list[Result]]) -> list[list[str]]:
    """One row per group: numelu's dispatcher (best of allocating and out=) against the rest."""
    rows = []
    for key, group in groups.items():
        g = ratios(group)
        auto = _best(r for r in group if r.contender.startswith("numelu-auto")) or \
            _best(r for r in group if r.role == "numelu")
        best = _best(r for r in group if r.role == "numelu")
        function, data, dtype, size = key
        cells = [function, data, dtype, format_size(size),
                 format_time(g.numpy) if g.numpy else "–"]
        if auto is None:
            cells += ["–"] * 6
        else:
            r = g.ratios[auto.contender]
            cells += [f"{format_time(auto.seconds)}", format_ratio(r["x_numpy"]),
                      f"{g.peer.contender} {format_time(g.peer.seconds)}" if g.peer else "–",
                      format_ratio(r["vs_peer"]), format_ratio(r["vs_wall"]),
                      format_ratio(r["vs_floor"])]
        cells.append(f"{best.contender} {format_time(best.seconds)}" if best else "–")
        rows.append(cells)
    return rows


def render_markdown(results: Sequence[Result], *, title: str = "numelu CPU benchmark",
                    meta: dict[str, Any] | None = None, stat: str = "min",
                    details: bool = True) -> str:
    """A markdown report: a summary row per group, then each group's contenders."""
    groups = group_results(results)
    lines = [f"# {title}", ""]
    if meta:
        lines += [" · ".join(f"{k}: {v}" for k, v in meta.items() if v not in (None, "")), ""]
    lines += [
        f"Time per call: the {'best' if stat == 'min' else stat} of the rounds. "
        "`× NumPy` = t(NumPy) / t (speed-up over plain NumPy); `/ peer` = t / t(fastest of "
        "PyTorch, numexpr, JAX) (below 1: numelu is faster); `/ wall` = t / t(memory wall: "
        "`np.copyto(out, x)`, or `np.add(grad, x, out=out)` for two inputs; single-threaded, so "
        "threaded code can go below 1); `/ floor` = t / t(ufunc call floor: "
        "`np.negative(x, out=out)`). `numelu-ufunc-out` is the raw serial `np.ufunc` "
        "(`numelu.f.cpu`), without the dispatcher.",
        "",
        "## Summary: numelu's dispatcher (`target='auto'`, best of allocating and `out=`)",
        "",
    ]
    lines += _table(["function", "data", "dtype", "n", "NumPy", "numelu", "× NumPy",
                     "best peer", "/ peer", "/ wall", "/ floor", "fastest numelu"],
                    summary_rows(groups), "lllrrrrlrrrl")
    if details:
        for key, group in groups.items():
            function, data, dtype, size = key
            g = ratios(group)
            lines += ["", f"### {function}, {dtype}, n = {format_size(size)}, {data} input", ""]
            rows = []
            for r in group:
                q = g.ratios[r.contender]
                rows.append([r.contender, r.role, format_time(r.seconds),
                             format_rate(size / r.seconds) if r.seconds > 0 else "–",
                             format_ratio(q["x_numpy"]), format_ratio(q["vs_peer"]),
                             format_ratio(q["vs_wall"]), format_ratio(q["vs_floor"])])
            lines += _table(["contender", "role", "time", "elements/s", "× NumPy", "/ peer",
                             "/ wall", "/ floor"], rows, "llrrrrrr")
    return "\n".join(lines) + "\n"
