"""The results in pytest-benchmark's JSON schema (both producers write it): the entry of one
timed contender, the document read back as :class:`Result` (and compacted), the results grouped
in report order, and each group's ratios against NumPy, the fastest peer, the memory wall and the
ufunc call floor."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from numelu._bench.cases import DATA, Case, function_names
from numelu._bench.contenders import CONTENDER_ORDER, CONTENDERS_BY_NAME, Contender


@dataclass(frozen=True)
class Result:
    """One contender's time (seconds per call) in one group."""

    function: str
    dtype: str
    size: int
    data: str
    contender: str
    role: str
    seconds: float

    @property
    def key(self) -> tuple:
        return (self.function, self.data, self.dtype, self.size)


def compact_benchmark_json(document: dict[str, Any]) -> dict[str, Any]:
    """Drop what pytest-benchmark stores that the report does not need (every round's time,
    unserialisable params): a full run's JSON shrinks from ~300 MB to under 2 MB."""
    for entry in document.get("benchmarks", []):
        (entry.get("stats") or {}).pop("data", None)
        info = entry.get("extra_info") or {}
        if "contender" in info:
            entry["params"] = {key: info[key] for key in ("function", "dtype", "size", "data",
                                                          "contender") if key in info}
    return document


def benchmark_entry(case: Case, contender: Contender, stats: dict[str, float]) -> dict[str, Any]:
    """One entry of the ``benchmarks`` list, in pytest-benchmark's JSON schema."""
    name = f"test_cpu[{case.id}-{contender.name}]"
    return {"group": case.group, "name": name, "fullname": f"numelu bench::{name}",
            "params": None, "param": f"{case.id}-{contender.name}",
            "extra_info": {**case.info, "contender": contender.name, "role": contender.role},
            "stats": stats}


def results_from_json(document: dict[str, Any], stat: str = "min") -> list[Result]:
    """The results in a pytest-benchmark JSON document (or one written by ``numelu bench``).

    Each benchmark must carry ``extra_info`` with function, dtype, size, data, contender and role
    (both producers here write them); other entries are ignored.
    """
    return [result for result, _ in entries_from_json(document, CONTENDERS_BY_NAME, stat)]


def entries_from_json(document: dict[str, Any], contenders: dict[str, Any],
                      stat: str = "min") -> Iterator[tuple[Result, dict[str, Any]]]:
    """(result, its ``extra_info``) for each benchmark of ``document`` that has numelu's
    ``extra_info``; a contender's role is its own, else ``contenders``' entry's, else "peer"."""
    for entry in document.get("benchmarks", []):
        info = entry.get("extra_info") or {}
        if not {"function", "dtype", "size", "contender"} <= info.keys():
            continue
        contender = info["contender"]
        role = info.get("role") or (contenders[contender].role if contender in contenders
                                    else "peer")
        yield (Result(info["function"], info["dtype"], int(info["size"]),
                      info.get("data", "normal"), contender, role,
                      float(entry["stats"][stat])), info)


def _function_order(name: str) -> tuple[int, str]:
    try:
        return (function_names().index(name), name)
    except ValueError:
        return (len(function_names()), name)


def group_results(results: Iterable[Result]) -> dict[tuple, list[Result]]:
    """Results by group (function, data, dtype, size), groups and contenders in report order."""
    groups: dict[tuple, list[Result]] = {}
    for result in results:
        groups.setdefault(result.key, []).append(result)
    data_order = {kind: i for i, kind in enumerate(DATA)}
    ordered = sorted(groups, key=lambda k: (_function_order(k[0]), data_order.get(k[1], 9), k[1],
                                            k[2], k[3]))
    return {key: sorted(groups[key], key=lambda r: (CONTENDER_ORDER.get(r.contender, 99),
                                                    r.contender))
            for key in ordered}


@dataclass
class GroupRatios:
    """The reference times of one group and every contender's ratios against them."""

    key: tuple
    results: list[Result]
    numpy: float | None = None
    peer: Result | None = None
    wall: Result | None = None
    floor: Result | None = None
    ratios: dict[str, dict[str, float | None]] = field(default_factory=dict)


def _best(results: Iterable[Result]) -> Result | None:
    return min(results, key=lambda r: r.seconds, default=None)


def ratios(group: list[Result]) -> GroupRatios:
    """``x_numpy`` = t(numpy)/t, ``vs_peer`` = t/t(fastest peer), ``vs_wall`` = t/t(wall),
    ``vs_floor`` = t/t(ufunc call floor)."""
    numpy = _best(r for r in group if r.role == "numpy")
    peer = _best(r for r in group if r.role == "peer")
    wall = _best(r for r in group if r.role == "wall")
    floor = _best(r for r in group if r.role == "floor")
    out = GroupRatios(group[0].key, group, numpy.seconds if numpy else None, peer, wall, floor)
    for r in group:
        out.ratios[r.contender] = {
            "x_numpy": numpy.seconds / r.seconds if numpy else None,
            "vs_peer": r.seconds / peer.seconds if peer else None,
            "vs_wall": r.seconds / wall.seconds if wall else None,
            "vs_floor": r.seconds / floor.seconds if floor else None,
        }
    return out


def meta_from_json(document: dict[str, Any]) -> dict[str, Any]:
    """A one-line description of the machine and versions, from the JSON's ``machine_info``."""
    machine = document.get("machine_info") or {}
    cpu = machine.get("cpu") or {}
    meta: dict[str, Any] = {
        "date": (document.get("datetime") or "")[:10],
        "cpu": cpu.get("brand_raw") or machine.get("processor"),
        "cores": cpu.get("count"),
        "python": machine.get("python_version"),
    }
    for key, value in (machine.get("numelu_versions") or {}).items():
        meta[key] = value
    return meta
