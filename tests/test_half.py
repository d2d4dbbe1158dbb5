"""float16 conversions without F16C (``numelu._half``) against NumPy's, and the float16 loops of a
CPU level that lacks F16C (x86-64-v2: compiling them aborted the process before)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from llvmlite import binding, ir

from numelu import _half

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _compiled_converters():
    """``widen(in u16*, out f32*, n)`` and ``narrow(in f32*, out u16*, n)`` built from the IR of
    ``_half`` alone, compiled by llvmlite for this machine."""
    module = ir.Module("half_test")
    module.triple = binding.get_process_triple()
    i64, i16, f32 = ir.IntType(64), ir.IntType(16), ir.FloatType()
    for name, source, target, convert in (("widen", i16, f32, _half.half_to_float),
                                          ("narrow", f32, i16, _half.float_to_half)):
        function = ir.Function(module, ir.FunctionType(ir.VoidType(), [
            source.as_pointer(), target.as_pointer(), i64]), name)
        entry, body, done = (function.append_basic_block(n) for n in ("entry", "body", "done"))
        builder = ir.IRBuilder(entry)
        source_ptr, target_ptr, n = function.args
        builder.cbranch(builder.icmp_signed(">", n, ir.Constant(i64, 0)), body, done)
        builder.position_at_end(body)
        index = builder.phi(i64)
        index.add_incoming(ir.Constant(i64, 0), entry)
        value = builder.load(builder.gep(source_ptr, [index]))
        builder.store(convert(builder, value), builder.gep(target_ptr, [index]))
        following = builder.add(index, ir.Constant(i64, 1))
        index.add_incoming(following, body)
        builder.cbranch(builder.icmp_signed("<", following, n), body, done)
        builder.position_at_end(done)
        builder.ret_void()
    binding.initialize_native_target()
    binding.initialize_native_asmprinter()
    machine = binding.Target.from_default_triple().create_target_machine()
    engine = binding.create_mcjit_compiler(binding.parse_assembly(str(module)), machine)
    engine.finalize_object()
    pointer = ctypes.c_void_p
    kind = ctypes.CFUNCTYPE(None, pointer, pointer, ctypes.c_int64)
    return engine, (kind(engine.get_function_address("widen")),
                    kind(engine.get_function_address("narrow")))


@pytest.fixture(scope="module")
def converters():
    engine, functions = _compiled_converters()
    yield functions
    del engine


def _apply(function, values: np.ndarray, result_dtype) -> np.ndarray:
    values = np.ascontiguousarray(values)
    out = np.empty(values.shape, result_dtype)
    function(values.ctypes.data, out.ctypes.data, values.size)
    return out


def test_every_float16_widens_exactly(converters):
    widen, _ = converters
    bits = np.arange(1 << 16, dtype=np.uint16)
    got = _apply(widen, bits, np.float32)
    want = bits.view(np.float16).astype(np.float32)
    nan = np.isnan(want)
    assert np.array_equal(got[~nan].view(np.uint32), want[~nan].view(np.uint32))
    assert np.isnan(got[nan]).all()


def _narrowing_inputs() -> np.ndarray:
    """Every float32 exponent and top 10 mantissa bits, with the low bits at each rounding
    boundary (ties, just below, just above), plus random bit patterns (NaNs included)."""
    high = np.arange(1 << 19, dtype=np.uint32) << np.uint32(13)
    low = np.array([0, 1, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0x0800, 0x17FF], dtype=np.uint32)
    structured = (high[:, None] | low[None, :]).ravel()
    randoms = np.random.default_rng(16).integers(0, 1 << 32, 1 << 22, dtype=np.uint32)
    bits = np.concatenate([structured, randoms])
    return np.concatenate([bits, bits | np.uint32(0x80000000)]).view(np.float32)


def test_float32_narrows_to_nearest_even_float16(converters):
    _, narrow = converters
    values = _narrowing_inputs()
    got = _apply(narrow, values, np.uint16)
    with np.errstate(all="ignore"):
        want = values.astype(np.float16).view(np.uint16)
    nan = np.isnan(values)
    assert np.array_equal(got[~nan], want[~nan])
    # NaN stays NaN, sign kept, quiet bit set (what F16C's vcvtps2ph gives)
    assert np.all((got[nan] & 0x7E00) == 0x7E00)
    assert np.array_equal(got[nan] >> 15, values[nan].view(np.uint32) >> 31)


def test_float16_loops_compile_and_round_once_without_f16c(tmp_path):
    """Code for x86-64-v2 (no F16C): the float16 loops compile, and equal the float32 loop's
    results rounded by NumPy, on every float16 value."""
    code = """
        import numpy as np, numelu
        halves = np.arange(65536, dtype=np.uint16).view(np.float16)
        with np.errstate(all="ignore"):
            for function, extra in ((numelu.elu, [1.5]), (numelu.selu, []),
                                    (numelu.celu_backward, [2.0])):
                args = ([np.float16(-0.75)] if function.nin == 3 else []) + [halves]
                got = function.cpu(*args, *[np.float16(a) for a in extra])
                wide = function.cpu(*[np.float32(a) if np.ndim(a) == 0 else a.astype(np.float32)
                                      for a in args], *[np.float32(a) for a in extra])
                want = wide.astype(np.float16)
                same = (got.view(np.uint16) == want.view(np.uint16)) | (np.isnan(got) & np.isnan(want))
                print(function.__name__, int((~same).sum()))
    """
    env = {**os.environ, "NUMBA_CPU_NAME": "x86-64-v2", "NUMBA_CPU_FEATURES": "",
           "NUMBA_CACHE_DIR": str(tmp_path), "NUMELU_KERNELS": "jit",
           "PYTHONPATH": os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")]))}
    if "x86" not in binding.get_process_triple():
        pytest.skip("x86-64 levels only")
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    counts = dict(line.split() for line in done.stdout.split("\n") if line)
    assert counts == {"elu": "0", "selu": "0", "celu_backward": "0"}
