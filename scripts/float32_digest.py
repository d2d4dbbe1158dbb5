"""Digest of a numelu function over every float32 input, to compare two machines bit for bit.

usage: python scripts/float32_digest.py [--function elu] [--alpha 1.0] [--target cpu] [--negative]

Prints one line per block of 2**24 consecutive bit patterns: the first pattern (hex) and a
BLAKE2b digest of the results' bits, NaN results written as one canonical NaN (the payload a
NaN input carries through is not part of the contract; that the result is NaN is).  Two machines
that print the same lines give the same float32 result for every input, so where one of them is
checked exhaustively against a reference (``NUMELU_EXHAUSTIVE=1`` in the tests, or
``python -m numelu accuracy --exhaustive``), the other is too.  Emulation makes a full check
against the float64 reference too slow on the emulated machine; this costs the function alone.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import warnings

import numpy as np

BLOCK = 1 << 24
CANONICAL_NAN = np.uint32(0x7FC00000)


def digests(name: str, alpha: float | None, target: str, first: int, stop: int):
    """Yield ``(start, hex digest)`` per block of bit patterns in ``[first, stop)``."""
    import numelu

    function = getattr(numelu, name)
    offsets = np.arange(BLOCK, dtype=np.uint32)
    for start in range(first, stop, BLOCK):
        x = (offsets + np.uint32(start)).view(np.float32)
        args = (x,) if alpha is None else (x, alpha)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)    # overflow/invalid are expected
            y = function(*args, target=target)
        bits = y.view(np.uint32).copy()
        bits[np.isnan(y)] = CANONICAL_NAN
        yield start, hashlib.blake2b(bits.tobytes(), digest_size=16).hexdigest()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--function", default="elu")
    parser.add_argument("--alpha", default="1.0", help="'none' for a function without alpha")
    parser.add_argument("--target", default="cpu")
    parser.add_argument("--negative", action="store_true",
                        help="only the negative half (sign bit set), as the exhaustive test")
    args = parser.parse_args(argv)
    alpha = None if args.alpha.lower() == "none" else float(args.alpha)
    first = 0x80000000 if args.negative else 0
    started = time.perf_counter()
    total = hashlib.blake2b(digest_size=16)
    for start, digest in digests(args.function, alpha, args.target, first, 1 << 32):
        total.update(digest.encode())
        print(f"{start:08x} {digest}", flush=True)
    print(f"# {args.function} alpha={alpha} target={args.target}: all {total.hexdigest()} "
          f"in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
