"""The GPU benchmark's report: every contender's bandwidth (GB/s) and its fraction of the
device-to-device copy's, the goals and whether the run meets them, and the plot.

``python benchmarks/report.py gpu.json`` renders a GPU JSON (one whose ``machine_info`` has
``numelu_gpu``, or whose benchmarks have ``target: gpu``) with :func:`report_gpu`.

Bandwidth counts the bytes a call must move: each array input read once and the output written
once (``elu``: 2 arrays of n elements; ``elu_backward``: 3; the copy: 2).  The fraction of the
copy's bandwidth is ``GB/s(contender) / GB/s(copy)``, so for a two-input function it is not the
time ratio.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from numelu._bench.gpu_contenders import (
    GOAL_LARGE,
    GOAL_SMALL,
    GPU_CONTENDER_ORDER,
    GPU_CONTENDERS_BY_NAME,
    moved_bytes,
)
from numelu._bench.report import _table, format_ratio, format_size, format_time
from numelu._bench.results import Result, entries_from_json, group_results

#: At least this fraction of the copy's bandwidth at GOAL_LARGE elements.
BANDWIDTH_GOAL = 0.85
#: A GOAL_SMALL-element call at most this many times CuPy's ElementwiseKernel call.
SMALL_CALL_GOAL = 2.0
#: (numelu contender, the CuPy contender it is held against) for the small-call goal.
SMALL_CALL_PAIRS = (("numelu-cupy", "cupy-kernel"), ("numelu-cupy-out", "cupy-kernel-out"))
TITLE = "numelu GPU benchmark"


@dataclass(frozen=True)
class GpuResult:
    """One contender's time in one group, with the bytes it moves and its pipelined time."""

    result: Result
    bytes: int
    pipelined: float | None = None
    library: str | None = None

    @property
    def gbps(self) -> float:
        return self.bytes / self.result.seconds / 1e9 if self.result.seconds > 0 else 0.0


def is_gpu_document(document: dict[str, Any]) -> bool:
    if "numelu_gpu" in (document.get("machine_info") or {}):
        return True
    return any((entry.get("extra_info") or {}).get("target") == "gpu"
               for entry in document.get("benchmarks", []))


def gpu_results(document: dict[str, Any], stat: str = "min") -> list[GpuResult]:
    """The GPU results of a pytest-benchmark JSON (entries without numelu's ``extra_info`` are
    ignored)."""
    return [GpuResult(result, moved_bytes(result.function, result.role, result.size,
                                          result.dtype),
                      info.get("pipelined_seconds"), info.get("library"))
            for result, info in entries_from_json(document, GPU_CONTENDERS_BY_NAME, stat)]


def grouped(rows: Iterable[GpuResult]) -> dict[tuple, list[GpuResult]]:
    """By group (function, data, dtype, size) in report order; contenders in table order."""
    by_result = {id(r.result): r for r in rows}
    groups = group_results(r.result for r in by_result.values())
    return {key: sorted((by_result[id(r)] for r in group),
                        key=lambda g: (GPU_CONTENDER_ORDER.get(g.result.contender, 99),
                                       g.result.contender))
            for key, group in groups.items()}


def _best(rows: Iterable[GpuResult]) -> GpuResult | None:
    return min(rows, key=lambda r: r.result.seconds, default=None)


def _named(group: list[GpuResult], name: str) -> GpuResult | None:
    return next((r for r in group if r.result.contender == name), None)


def _dispatcher(group: list[GpuResult]) -> GpuResult | None:
    """The fastest call of numelu's dispatcher (any library, allocating or ``out=``)."""
    return _best(r for r in group if r.result.contender.startswith("numelu-"))


def copy_fraction(row: GpuResult, group: list[GpuResult]) -> float | None:
    wall = _best(r for r in group if r.result.role == "wall")
    return row.gbps / wall.gbps if wall and wall.gbps > 0 else None


@dataclass(frozen=True)
class Goal:
    goal: str
    case: str
    contender: str
    measured: str
    met: bool | None               # None: not measured in this run


def _bandwidth_goals(groups: dict[tuple, list[GpuResult]]) -> list[Goal]:
    goal = f"≥ {BANDWIDTH_GOAL:.0%} of the copy's bandwidth at n = {format_size(GOAL_LARGE)}"
    found = []
    for (function, _data, dtype, size), group in groups.items():
        if size != GOAL_LARGE:
            continue
        best = _dispatcher(group)
        fraction = copy_fraction(best, group) if best else None
        if fraction is None:
            found.append(Goal(goal, f"{function} {dtype}", "–", "no dispatcher or copy result",
                              None))
            continue
        found.append(Goal(goal, f"{function} {dtype}", best.result.contender,
                          f"{fraction:.0%} ({best.gbps:.3g} GB/s)", fraction >= BANDWIDTH_GOAL))
    return found or [Goal(goal, "–", "–", f"not measured: no n = {format_size(GOAL_LARGE)} "
                          "results in this run", None)]


def _small_call_goals(groups: dict[tuple, list[GpuResult]]) -> list[Goal]:
    goal = (f"n = {format_size(GOAL_SMALL)} call ≤ {SMALL_CALL_GOAL:g}× CuPy's "
            "ElementwiseKernel call")
    found = []
    for (function, _data, dtype, size), group in groups.items():
        if size != GOAL_SMALL:
            continue
        for mine, theirs in SMALL_CALL_PAIRS:
            a, b = _named(group, mine), _named(group, theirs)
            if a is None or b is None:
                continue
            ratio = a.result.seconds / b.result.seconds
            found.append(Goal(goal, f"{function} {dtype}", f"{mine} / {theirs}",
                              f"{ratio:.2f}× ({format_time(a.result.seconds)} vs "
                              f"{format_time(b.result.seconds)})", ratio <= SMALL_CALL_GOAL))
    return found or [Goal(goal, "–", "–", f"not measured: no n = {format_size(GOAL_SMALL)} "
                          "results of both numelu-cupy and cupy-kernel in this run", None)]


def goals(groups: dict[tuple, list[GpuResult]]) -> list[Goal]:
    return _bandwidth_goals(groups) + _small_call_goals(groups)


def _verdict(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "not measured"}[met]


def _fraction(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _cell(row: GpuResult | None, group: list[GpuResult]) -> list[str]:
    if row is None:
        return ["–", "–"]
    return [f"{row.result.contender} {format_time(row.result.seconds)}",
            _fraction(copy_fraction(row, group))]


def summary_rows(groups: dict[tuple, list[GpuResult]]) -> list[list[str]]:
    rows = []
    for (function, _data, dtype, size), group in groups.items():
        wall = _best(r for r in group if r.result.role == "wall")
        cupy = _best(r for r in group if r.result.contender.startswith("cupy-"))
        torch = _best(r for r in group if r.result.contender.startswith("torch"))
        mine = _dispatcher(group)
        versus = (format_ratio(mine.result.seconds / cupy.result.seconds)
                  if mine and cupy else "–")
        rows.append([function, dtype, format_size(size),
                     f"{format_time(wall.result.seconds)}, {wall.gbps:.3g} GB/s" if wall else "–",
                     *_cell(mine, group), *_cell(cupy, group), *_cell(torch, group), versus])
    return rows


def _detail_rows(group: list[GpuResult]) -> list[list[str]]:
    cupy = _best(r for r in group if r.result.contender.startswith("cupy-"))
    rows = []
    for r in group:
        rows.append([r.result.contender, r.library or "–", r.result.role,
                     format_time(r.result.seconds),
                     format_time(r.pipelined) if r.pipelined else "–", f"{r.gbps:.3g}",
                     _fraction(copy_fraction(r, group)),
                     format_ratio(r.result.seconds / cupy.result.seconds) if cupy else "–"])
    return rows


def _meta_line(document: dict[str, Any]) -> str:
    machine = document.get("machine_info") or {}
    meta = {"date": (document.get("datetime") or "")[:10],
            "python": machine.get("python_version"), **(machine.get("numelu_gpu") or {})}
    return " · ".join(f"{k}: {v}" for k, v in meta.items() if v not in (None, ""))


def render_gpu_markdown(document: dict[str, Any], *, stat: str = "min", title: str = TITLE,
                        details: bool = True) -> str:
    groups = grouped(gpu_results(document, stat))
    lines = [f"# {title}", "", _meta_line(document), ""]
    if any((entry.get("extra_info") or {}).get("simulator")
           for entry in document.get("benchmarks", [])):
        lines += ["**A dry run on Numba's CUDA simulator, without a GPU: these times say nothing "
                  "about a GPU; the run checked the contenders' values and the plumbing.**", ""]
    lines += [f"Time per call: the {'best' if stat == 'min' else stat} of the rounds, each call "
              "followed by a device synchronize; `pipelined`: calls issued back to back, one "
              "synchronize at the end. GB/s counts each input read and the output written "
              "once; `of copy` is that over the device-to-device copy's GB/s (100% is the "
              "memory bound). `numelu-*` go through numelu's dispatcher; `cuda-ufunc` is the "
              "raw `@vectorize(target='cuda')` ufunc.", "", "## Goals", ""]
    found = goals(groups)
    lines += _table(["goal", "case", "contender", "measured", "met"],
                    [[g.goal, g.case, g.contender, g.measured, _verdict(g.met)] for g in found],
                    "lllrl")
    measured = [g for g in found if g.met is not None]
    lines += ["", f"{sum(g.met for g in measured)} of {len(measured)} measured goal rows met; "
              f"{len(found) - len(measured)} not measured.", "",
              "## Summary: the fastest numelu dispatcher call, CuPy's kernel and PyTorch", ""]
    lines += _table(["function", "dtype", "n", "copy", "numelu", "of copy", "CuPy kernel",
                     "of copy", "PyTorch", "of copy", "numelu / CuPy"],
                    summary_rows(groups), "llrrlrlrlrr")
    if details:
        for (function, data, dtype, size), group in groups.items():
            lines += ["", f"### {function}, {dtype}, n = {format_size(size)}, {data} input", ""]
            lines += _table(["contender", "library", "role", "time", "pipelined", "GB/s",
                             "of copy", "/ CuPy kernel"], _detail_rows(group), "lllrrrrr")
    return "\n".join(lines) + "\n"


def report_gpu(document: dict[str, Any], markdown: str | None, plot_path: str | None,
               stat: str = "min", title: str | None = None) -> int:
    """Write (or print) the GPU markdown and the plot; 1 if there is nothing to report or the
    plot cannot be drawn."""
    import sys

    if title in (None, "numelu CPU benchmark"):         # the CPU report's default title
        title = TITLE
    rows = gpu_results(document, stat)
    if not rows:
        print("no numelu GPU benchmark results in this JSON", file=sys.stderr)
        return 1
    text = render_gpu_markdown(document, stat=stat, title=title)
    if markdown:
        with open(markdown, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text, end="")
    if plot_path:
        from numelu._bench.plot import plot

        try:
            plot([r.result for r in rows], plot_path, title=title)
        except ImportError as error:
            print(f"cannot plot: {error} (pip install matplotlib, or render the plot on another "
                  "machine from the JSON with benchmarks/report.py)", file=sys.stderr)
            return 1
    return 0
