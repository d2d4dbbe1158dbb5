"""The kernel of one function for one float type: its formula over elements ``[start, stop)``.

Per call it picks a layout (:func:`choose_layout`): all operands contiguous (a unit-stride loop
LLVM vectorises), contiguous data with a broadcast scalar ``alpha`` (alpha loaded once; the loop
still vectorises; CELU's has a twin for a positive alpha, whose ``x / alpha`` is never
positive), or strided (every stride NumPy hands over, a strided or reversed ``out``
included).  An ``out`` that overlaps an input without being it element for element (a
reduction, an accumulate, ``f(b[1:], out=b[:-1])``) runs element by element, in order.

Floating-point flags: the kernel runs block by block (``BLOCK`` elements); where a block's
arithmetic raised a flag, its results are looked at again, element by element against their
inputs (:func:`make_check`), so that only genuine errors are reported, as NumPy would for the
same formula.  In place, each block's results go to a stack buffer first and are copied to
``out`` after that look, so that the inputs are still there for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from numelu._fpenv import ERROR_FLAGS, clear_fp_flags, raised_fp_flags
from numelu._functions import FunctionSpec
from numelu._kernel_parts import (
    BLOCK,
    INPUTS_APART,
    exception_bits,
    jit,
    stack_block,
)
from numelu._pointers import ACCESSORS

#: The layouts :func:`choose_layout` picks from.
CONTIGUOUS, SCALAR_ALPHA, STRIDED = 0, 1, 2


def _caller(formula: Callable, nin: int, prefix: str):
    """``call(v0, v1, v2)`` that applies ``formula`` to its first ``nin`` values."""
    if nin == 1:
        def call(v0, v1, v2):
            return formula(v0)
    elif nin == 2:
        def call(v0, v1, v2):
            return formula(v0, v1)
    else:
        def call(v0, v1, v2):
            return formula(v0, v1, v2)
    return jit(call, f"{prefix}_call", inline="always")


def make_check(spec: FunctionSpec, char: str, prefix: str):
    """``check(r, v0, v1, v2) -> (overflow, invalid, divide)``: the genuine floating-point
    errors of one result ``r`` of ``spec``'s formula at inputs ``v0, v1, v2`` (the first
    ``spec.nin`` count), as NumPy evaluating the formula for that element reports them:

    * overflow: ``r`` is +-inf and every input is finite (and it is not a division by zero);
    * invalid: ``r`` is NaN and no input is NaN;
    * divide: the formula divides its x (y) by alpha on the branch a negative x takes
      (``spec.divides_by_alpha``), alpha is 0 and x is finite and negative.
    """
    nin = spec.nin
    divides = spec.divides_by_alpha
    real = np.float64 if char == "d" else np.float32
    inf, zero = real(math.inf), real(0.0)

    def check(r, v0, v1, v2):
        # & rather than ``and``: no branch, so that a loop over it vectorises
        finite = abs(v0) < inf
        numbers = v0 == v0
        if nin >= 2:
            finite = finite & (abs(v1) < inf)
            numbers = numbers & (v1 == v1)
        if nin >= 3:
            finite = finite & (abs(v2) < inf)
            numbers = numbers & (v2 == v2)
        divide = False
        if divides:
            x, alpha = (v0, v1) if nin == 2 else (v1, v2)
            divide = (alpha == zero) & (x < zero) & (x > -inf)
        overflow = (abs(r) == inf) & finite & (divide == False)  # noqa: E712
        invalid = (r != r) & numbers
        return overflow, invalid, divide

    return jit(check, f"{prefix}_check", inline="always")


def _make_scalar_alpha(call, nin: int, item: int, load, store):
    """The loop over contiguous data with one alpha, loaded once, running ``call``."""

    def scalar_alpha(a0, a1, a2, out, start, stop):
        alpha = load(a2 if nin == 3 else a1, 0)
        for i in range(start, stop):
            off = i * item
            v1 = alpha if nin == 2 else load(a1, off)
            store(out, off, call(load(a0, off), v1, alpha))

    return scalar_alpha


def _make_scalar_alpha_layout(spec: FunctionSpec, char: str, prefix: str, call):
    """The SCALAR_ALPHA layout's loop: :func:`_make_scalar_alpha`, or, for a function with a
    twin for a positive alpha (``spec.fast_positive_alpha``), two such loops and a test of the
    alpha's sign."""
    load, store, item = ACCESSORS[char]
    nin = spec.nin
    any_alpha = _make_scalar_alpha(call, nin, item, load, store)
    if spec.fast_positive_alpha is None:
        return any_alpha
    any_alpha = jit(any_alpha, f"{prefix}_any_alpha", inline="always")
    call_positive = _caller(spec.fast_positive_alpha, nin, f"{prefix}_positive")
    positive_alpha = jit(_make_scalar_alpha(call_positive, nin, item, load, store),
                         f"{prefix}_positive_alpha", inline="always")

    def scalar_alpha(a0, a1, a2, out, start, stop):
        if load(a2 if nin == 3 else a1, 0) > 0:          # NaN: the loop for any alpha
            positive_alpha(a0, a1, a2, out, start, stop)
        else:
            any_alpha(a0, a1, a2, out, start, stop)

    return scalar_alpha


def make_compute_block(spec: FunctionSpec, char: str, prefix: str):
    """``compute_block(layout, a0, a1, a2, out, s0, s1, s2, so, start, stop)``: the formula
    stored for elements ``[start, stop)`` by the loop of ``layout`` (each inlined: one copy of
    the formula per layout, and one more for a positive scalar alpha where the function has a
    twin for it)."""
    load, store, item = ACCESSORS[char]
    call = _caller(spec.fast, spec.nin, prefix)

    def contiguous(a0, a1, a2, out, start, stop):
        for i in range(start, stop):
            off = i * item
            v0, v1, v2 = load(a0, off), load(a1, off), load(a2, off)
            store(out, off, call(v0, v1, v2))

    scalar_alpha = _make_scalar_alpha_layout(spec, char, prefix, call)

    def strided(a0, a1, a2, out, s0, s1, s2, so, start, stop):
        for i in range(start, stop):
            v0, v1, v2 = load(a0, i * s0), load(a1, i * s1), load(a2, i * s2)
            store(out, i * so, call(v0, v1, v2))

    contiguous = jit(contiguous, f"{prefix}_contiguous", inline="always")
    scalar_alpha = jit(scalar_alpha, f"{prefix}_scalar_alpha", inline="always")
    strided = jit(strided, f"{prefix}_strided", inline="always")

    def compute_block(layout, a0, a1, a2, out, s0, s1, s2, so, start, stop):
        if layout == CONTIGUOUS:
            contiguous(a0, a1, a2, out, start, stop)
        elif layout == SCALAR_ALPHA:
            scalar_alpha(a0, a1, a2, out, start, stop)
        else:
            strided(a0, a1, a2, out, s0, s1, s2, so, start, stop)

    return jit(compute_block, f"{prefix}_compute_block", nogil=True)


def make_checked_result(spec: FunctionSpec, char: str, prefix: str):
    """``checked_result(r, v0, v1, v2, out, off) -> (overflow, invalid, divide)``: the flags of
    the result ``r`` stored at ``out + off`` (:func:`make_check`); an inf or NaN result of a
    formula with a wide form (``spec.exact``: CELU, whose fast kernels return inf 0.35 before
    exp's overflow) is first computed again with it and stored."""
    load, store, _ = ACCESSORS[char]
    exact = _caller(spec.exact or spec.formula, spec.nin, f"{prefix}_exact")
    has_exact = spec.exact is not None
    check = make_check(spec, char, prefix)
    zero = (np.float64 if char == "d" else np.float32)(0.0)

    def checked_result(r, v0, v1, v2, out, off):
        if has_exact and r - r != zero:
            store(out, off, exact(v0, v1, v2))
            r = load(out, off)
        return check(r, v0, v1, v2)

    return jit(checked_result, f"{prefix}_checked_result", inline="always")


def make_block_flags(spec: FunctionSpec, char: str, prefix: str, checked_result):
    """``block_flags(a0, ..., start, stop)``: the flag bits of the results in ``[start, stop)``,
    element by element (only for a block where the kernel's test fired).  Only a result that
    is inf or NaN, or whose alpha is 0 in a formula that divides by it, can be an error: the
    others are passed over with one compare (NaN data leaves most of a block to pass over)."""
    load, _, _ = ACCESSORS[char]
    nin, divides = spec.nin, spec.divides_by_alpha
    zero = (np.float64 if char == "d" else np.float32)(0.0)

    def block_flags(a0, a1, a2, out, s0, s1, s2, so, start, stop):
        overflow = invalid = divide = False
        for i in range(start, stop):
            r = load(out, i * so)
            alpha = load(a2, i * s2) if nin == 3 else load(a1, i * s1)
            if r - r == zero and not (divides and alpha == zero):
                continue
            v0, v1, v2 = load(a0, i * s0), load(a1, i * s1), load(a2, i * s2)
            o, n, d = checked_result(r, v0, v1, v2, out, i * so)
            overflow |= o
            invalid |= n
            divide |= d
        return exception_bits(overflow, invalid, divide)

    return jit(block_flags, f"{prefix}_block_flags", nogil=True)


def make_in_order(char: str, prefix: str, compute_block, checked_result):
    """``in_order(a0, ..., start, stop)``: element by element, each result stored before the
    next element's inputs are loaded and its flags decided on the spot.  For an ``out`` that
    overlaps an input without being it element for element, which NumPy passes for a reduction
    (``out`` of stride 0, also the first input: the running value) and where ``out`` runs
    behind an input (``accumulate``; ``f(b[1:], out=b[:-1])``): a block computed first would
    have overwritten inputs before their second look."""
    load, _, _ = ACCESSORS[char]

    def in_order(a0, a1, a2, out, s0, s1, s2, so, start, stop):
        overflow = invalid = divide = False
        for i in range(start, stop):
            v0, v1, v2 = load(a0, i * s0), load(a1, i * s1), load(a2, i * s2)
            # through compute_block, not a loop of its own: no further copy of the formula
            compute_block(STRIDED, a0, a1, a2, out, s0, s1, s2, so, i, i + 1)
            o, n, d = checked_result(load(out, i * so), v0, v1, v2, out, i * so)
            overflow |= o
            invalid |= n
            divide |= d
        return exception_bits(overflow, invalid, divide)

    return jit(in_order, f"{prefix}_in_order", nogil=True)


def make_choose_layout(spec: FunctionSpec, char: str, prefix: str):
    """``choose_layout(s0, s1, s2, so) -> layout`` from the strides (see the module's text)."""
    item = ACCESSORS[char][2]
    nin, has_alpha = spec.nin, spec.has_alpha

    def choose_layout(s0, s1, s2, so):
        data_contiguous = s0 == item and (nin < 3 or s1 == item)
        alpha_stride = s2 if nin == 3 else s1
        if so == item and data_contiguous and (nin == 1 or alpha_stride == item):
            return CONTIGUOUS
        if has_alpha and so == item and data_contiguous and alpha_stride == 0:
            return SCALAR_ALPHA
        return STRIDED

    return jit(choose_layout, f"{prefix}_choose_layout", inline="always")


def make_copy_block(char: str, prefix: str):
    """``copy_block(results, out, so, start, stop)``: a stack block of results into ``out``."""
    load, store, item = ACCESSORS[char]

    def copy_block(results, out, so, start, stop):
        if so == item:                      # a constant stride: this loop vectorises
            for i in range(start, stop):
                store(out, i * item, load(results, i * item))
        else:
            for i in range(start, stop):
                store(out, i * so, load(results, i * item))

    return jit(copy_block, f"{prefix}_copy", inline="always")


def make_kernel_body(spec: FunctionSpec, char: str, prefix: str):
    """``kernel_body(a0, a1, a2, out, s0, s1, s2, so, start, stop, saved) -> bits``: ``spec``'s
    formula over elements ``[start, stop)`` and the flag bits its results call for; ``saved``
    is the thread's floating-point state on entry (the caller restores it)."""
    item = ACCESSORS[char][2]
    nin = spec.nin
    inputs_apart = INPUTS_APART[item, nin]
    compute_block = make_compute_block(spec, char, prefix)
    checked_result = make_checked_result(spec, char, prefix)
    block_flags = make_block_flags(spec, char, prefix, checked_result)
    in_order = make_in_order(char, prefix, compute_block, checked_result)
    choose_layout = make_choose_layout(spec, char, prefix)
    copy_block = make_copy_block(char, prefix)

    def kernel_body(a0, a1, a2, out, s0, s1, s2, so, start, stop, saved):
        if not inputs_apart(a0, a1, a2, s0, s1, s2, out, so, start, stop - start):
            return in_order(a0, a1, a2, out, s0, s1, s2, so, start, stop)
        layout = choose_layout(s0, s1, s2, so)
        # in place (out is an input, element for element): results to a stack block first
        in_place = ((a0 == out and s0 == so) or (nin >= 2 and a1 == out and s1 == so)
                    or (nin >= 3 and a2 == out and s2 == so))
        buffer = stack_block()
        if saved & ERROR_FLAGS:             # raised before (NumPy's casting): start clean
            clear_fp_flags(saved)
        bits = 0
        for block in range(start, stop, BLOCK):
            end = min(block + BLOCK, stop)
            results, step = (buffer - block * item, item) if in_place else (out, so)
            compute_block(layout, a0, a1, a2, results, s0, s1, s2, step, block, end)
            if raised_fp_flags() != 0:
                bits |= block_flags(a0, a1, a2, results, s0, s1, s2, step, block, end)
                clear_fp_flags(saved)       # the test itself raises "invalid" on a NaN
            if in_place:
                copy_block(results, out, so, block, end)
        return bits

    return jit(kernel_body, f"{prefix}_kernel_body", nogil=True)
