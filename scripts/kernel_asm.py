"""The machine code of numelu's contiguous loop for a function and dtype, and its hottest
vector loop summarised: instructions per iteration, vector instructions, fused multiply-adds,
lanes.  Run it with an empty ``NUMBA_CACHE_DIR`` (it makes one): code loaded from Numba's cache
cannot be disassembled.

usage: python scripts/kernel_asm.py [--function elu] [--dtypes d,f] [--save DIR]
       python scripts/kernel_asm.py --read FILE.s ...     (summarise saved assembly)

A loop counts as a contiguous vector loop when it loads and stores whole vector registers
(``ldr q``/``ldp q``/``ld1 {v.2d}`` on AArch64, ``vmovupd``/``vmovups`` on x86-64): the
strided loop, which LLVM also vectorises behind a run-time check that every stride is one *byte*
(never true for floats), loads one lane at a time and is left out.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile

# Numba reads its cache directory when it is imported: an empty one forces compilation here.
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="numelu-asm-")

LABEL = re.compile(r"^([.\w$]+):")
BRANCH = re.compile(r"^\s*(b\.\w+|b|cbnz|cbz|tbnz|tbz|j\w+)\s+.*?([.\w$]+)\s*$")
VECTOR_ARM = re.compile(r"\bv\d+\.(2d|4s|8h|16b|2s|4h|8b|d|s)\b|\bq\d+\b")
VECTOR_X86 = re.compile(r"%[xyz]mm\d+")
FULL_LOAD = re.compile(r"^\s*(ldr\s+q\d+|ldp\s+q\d+|ld1\s+\{ v\d+\.(2d|4s) \}|"
                       r"vmovu[ps][sd]\s+-?\w*\(.*%[xyz]mm)")
FULL_STORE = re.compile(r"^\s*(str\s+q\d+|stp\s+q\d+|st1\s+\{ v\d+\.(2d|4s) \}|"
                        r"vmovu[ps][sd]\s+%[xyz]mm\d+, -?\w*\()")
FMA = re.compile(r"^\s*(fmla|fmls|fmadd|fmsub|fnmadd|fnmsub|vfn?m(add|sub)\w*)\b")


def instructions(asm: str) -> list[str]:
    """Labels and instructions, without directives and comments."""
    lines = []
    for line in asm.splitlines():
        line = line.split("//")[0].split(";")[0].split("#")[0].rstrip()
        if not line.strip() or line.strip().startswith("."):
            if LABEL.match(line.strip()):
                lines.append(line.strip())
            continue
        lines.append(line.strip() if LABEL.match(line.strip()) else "\t" + line.strip())
    return lines


def loops(lines: list[str]) -> list[list[str]]:
    """Every backward branch's body: from its target label to the branch."""
    where = {LABEL.match(line).group(1): i for i, line in enumerate(lines) if LABEL.match(line)}
    found = []
    for i, line in enumerate(lines):
        match = BRANCH.match(line)
        if match and match.group(2) in where and where[match.group(2)] < i:
            found.append([x for x in lines[where[match.group(2)]:i + 1] if x.startswith("\t")])
    return found


def summary(body: list[str]) -> dict:
    vector = [x for x in body if VECTOR_ARM.search(x) or VECTOR_X86.search(x)]
    lanes = sorted({m.group(1) for x in body for m in VECTOR_ARM.finditer(x) if m.group(1)}
                   | {m.group(0)[1] + "mm" for x in body for m in VECTOR_X86.finditer(x)})
    return {"instructions": len(body), "vector": len(vector),
            "fma": sum(bool(FMA.match(x.strip())) for x in body),
            "vector loads": sum(bool(FULL_LOAD.match(x)) for x in body),
            "vector stores": sum(bool(FULL_STORE.match(x)) for x in body), "lanes": lanes}


def contiguous_vector_loops(asm: str) -> list[dict]:
    """The innermost loops that load and store whole vector registers, largest first."""
    bodies = loops(instructions(asm))
    found = [summary(b) for b in bodies if any(FULL_LOAD.match(x) for x in b)
             and any(FULL_STORE.match(x) for x in b)]
    inner = [f for f in found if f["instructions"] < 200]      # not an outer loop around one
    return sorted(inner, key=lambda f: f["vector"], reverse=True)


def report(label: str, asm: str) -> None:
    found = contiguous_vector_loops(asm)
    print(f"{label}: {len(found)} contiguous vector loops (per iteration):")
    for entry in found:
        print(f"  {entry}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--function", default="elu")
    parser.add_argument("--dtypes", default="d,f")
    parser.add_argument("--save", help="a folder for the whole assembly of each kernel")
    parser.add_argument("--read", nargs="+", help="summarise these saved .s files instead")
    args = parser.parse_args(argv)
    if args.read:
        for path in args.read:
            with open(path) as file:
                report(os.path.basename(path), file.read())
        return 0

    import platform

    import llvmlite.binding as llvm

    from numelu import _loops
    from numelu._functions import BY_NAME

    print(f"{platform.machine()}, LLVM CPU {llvm.get_host_cpu_name()!r}")
    for char in args.dtypes.split(","):
        asm = _loops.function_kernel(BY_NAME[args.function], char)._library.get_asm_str()
        if args.save:
            os.makedirs(args.save, exist_ok=True)
            path = os.path.join(args.save, f"{args.function}-{char}-{platform.machine()}.s")
            with open(path, "w") as file:
                file.write(asm)
        report(f"{args.function} {char}", asm)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
