"""The two command lines: ``python -m numelu bench`` (:func:`main`) and
``python benchmarks/report.py`` (:func:`report_main`)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from numelu._bench.cases import (
    DATA,
    DEFAULT_FUNCTIONS,
    DTYPES,
    QUICK_SIZES,
    SIZES,
    function_names,
    make_cases,
)
from numelu._bench.contenders import CONTENDERS_BY_NAME, select_contenders
from numelu._bench.plot import plot
from numelu._bench.report import render_markdown
from numelu._bench.results import meta_from_json, results_from_json
from numelu._bench.runner import json_document, run_benchmarks
from numelu._bench.timing import PEER_SETTLE_SECONDS, WARM_UP_SECONDS


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _sizes(text: str) -> list[int]:
    try:
        return [int(float(item)) for item in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be numbers, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m numelu bench",
        description="Time numelu side by side with plain NumPy, the memory wall, the ufunc call "
                    "floor and the installed peers (PyTorch, numexpr, JAX) on the same arrays, "
                    "and print the times and ratios.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="sizes 10^2..10^6, normal input only, 3 short rounds (under a minute)")
    parser.add_argument("--json", metavar="FILE",
                        help="write the results as JSON (pytest-benchmark's schema; "
                             "benchmarks/report.py renders it)")
    parser.add_argument("--plot", metavar="FILE.png", help="write a PNG plot (needs matplotlib)")
    parser.add_argument("--markdown", metavar="FILE.md", help="write the markdown report")
    parser.add_argument("--functions", type=_csv, default=list(DEFAULT_FUNCTIONS),
                        help=f"comma-separated (default {','.join(DEFAULT_FUNCTIONS)}; "
                             "'all' for every function)")
    parser.add_argument("--sizes", type=_sizes, default=None,
                        help="comma-separated element counts (default 100,10000,1000000,10000000)")
    parser.add_argument("--dtypes", type=_csv, default=list(DTYPES), help="float32,float64")
    parser.add_argument("--data", type=_csv, default=None,
                        help="input kinds: normal,negative (default both; --quick: normal)")
    parser.add_argument("--contenders", type=_csv, default=None,
                        help=f"comma-separated subset of: {', '.join(CONTENDERS_BY_NAME)}")
    parser.add_argument("--repeats", type=int, default=None,
                        help="rounds per contender; the best is reported (default 5, quick 3)")
    parser.add_argument("--min-time", type=float, default=None,
                        help="seconds per round (default 0.02, quick 0.002)")
    parser.add_argument("--details", action="store_true",
                        help="also print each group's table (always in --markdown)")
    return parser


def main(argv: list[str]) -> int:
    """``python -m numelu bench``: time the contenders, print the table; 0 on success."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    functions = list(function_names()) if args.functions == ["all"] else args.functions
    sizes = args.sizes or list(QUICK_SIZES if args.quick else SIZES)
    data = args.data or (["normal"] if args.quick else list(DATA))
    repeats = args.repeats or (3 if args.quick else 5)
    min_time = args.min_time if args.min_time is not None else (0.002 if args.quick else 0.02)
    try:
        cases = make_cases(functions, args.dtypes, sizes, data)
        contenders = select_contenders(args.contenders)
    except ValueError as error:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    for contender in contenders:
        reason = contender.unavailable()
        if reason:
            print(f"skipping {contender.name}: {reason}", file=sys.stderr)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    started = time.perf_counter()
    failures: list[str] = []
    entries = run_benchmarks(cases, contenders, repeats=repeats, min_time=min_time,
                             warm_up_seconds=0.02 if args.quick else WARM_UP_SECONDS,
                             settle_seconds=0.1 if args.quick else PEER_SETTLE_SECONDS,
                             progress=progress,
                             failures=failures)
    progress(f"done in {time.perf_counter() - started:.1f} s")
    document = json_document(entries)
    results = results_from_json(document)
    meta = meta_from_json(document)
    print(render_markdown(results, meta=meta, details=args.details), end="")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(render_markdown(results, meta=meta))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=1)
    if args.plot:
        try:
            plot(results, args.plot)
        except ImportError as error:
            print(f"cannot plot: {error} (pip install matplotlib)", file=sys.stderr)
            return 1
    if failures:
        print(f"\n{len(failures)} contender(s) computed a wrong result and were not timed:",
              *failures, sep="\n  ", file=sys.stderr)
        return 1
    return 0


def report_main(argv: list[str]) -> int:
    """``python benchmarks/report.py results.json [--markdown F.md] [--plot F.png]``."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/report.py",
        description="Render a pytest-benchmark JSON (or `python -m numelu bench --json`) as a "
                    "markdown table of ratios and a PNG plot.")
    parser.add_argument("json", help="the results JSON")
    parser.add_argument("--markdown", metavar="FILE.md", help="write the markdown here "
                        "(default: print it)")
    parser.add_argument("--plot", metavar="FILE.png", help="write the plot here")
    parser.add_argument("--stat", default="min", choices=("min", "median", "mean"),
                        help="which statistic of the rounds (default min: the best)")
    parser.add_argument("--title", default="numelu CPU benchmark")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    with open(args.json, encoding="utf-8") as f:
        document = json.load(f)
    from numelu._bench import gpu_report  # a GPU run: GB/s, the copy's fraction, goals

    if gpu_report.is_gpu_document(document):
        return gpu_report.report_gpu(document, args.markdown, args.plot, args.stat, args.title)
    results = results_from_json(document, args.stat)
    if not results:
        print(f"{args.json}: no numelu benchmark results in it", file=sys.stderr)
        return 1
    text = render_markdown(results, title=args.title, meta=meta_from_json(document),
                           stat=args.stat)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text, end="")
    if args.plot:
        try:
            plot(results, args.plot, title=args.title)
        except ImportError as error:
            print(f"cannot plot: {error} (pip install matplotlib)", file=sys.stderr)
            return 1
    return 0
