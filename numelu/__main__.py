"""Command line: ``python -m numelu {info,bench,accuracy,compile} ...``."""

from __future__ import annotations

import sys

USAGE = """usage: python -m numelu COMMAND [options]

commands:
  info       versions, threading layer and threads, SIMD width, CUDA devices, thresholds
  bench      side-by-side benchmark against NumPy and installed peers (--help for options)
  accuracy   maximum ulp error of every function and dtype (--help for options)
  compile    build the precompiled kernels for x86-64 ISA levels (--help for options)
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "info":
        from numelu._info import main as run
    elif command == "bench":
        from numelu._bench.cli import main as run
    elif command == "accuracy":
        from numelu._accuracy import main as run
    elif command == "compile":
        from numelu._precompile import main as run
    else:
        print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    return run(rest)


if __name__ == "__main__":
    sys.exit(main())
