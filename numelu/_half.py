"""float16 <-> float32 conversions in LLVM IR that need no F16C and no helper library.

On x86-64 without F16C (x86-64-v2 and older), LLVM lowers ``fpext``/``fptrunc`` between half
and float to calls of ``__extendhfsf2``/``__truncsfhf2``, which Numba's JIT cannot resolve: the
process aborted ("LLVM ERROR: Symbol not found").  There the conversions are done on the bits
instead, branch-free (selects), so loops over them still vectorise; both round to nearest even
and keep NaN payloads as the hardware does (quiet bit set, low bits dropped).
"""

from __future__ import annotations

from llvmlite import ir

_I16, _I32, _F32 = ir.IntType(16), ir.IntType(32), ir.FloatType()


def native_half(context) -> bool:
    """Do ``fpext``/``fptrunc`` of half compile to instructions on ``context``'s target?"""
    from llvmlite import binding

    if "x86" not in binding.get_process_triple().lower():
        return True                     # AArch64 and others convert half natively
    codegen = context.codegen()
    features = codegen._tm_features
    if "+f16c" in features:
        return True
    if "-f16c" in features:
        return False
    return codegen._get_host_cpu_name() in ("x86-64-v3", "x86-64-v4")


def _const(value: int) -> ir.Constant:
    return ir.Constant(_I32, value)


def half_to_float(builder: ir.IRBuilder, half: ir.Value) -> ir.Value:
    """The float32 of the float16 bits ``half`` (exact)."""
    h = builder.zext(half, _I32)
    magnitude = builder.and_(h, _const(0x7FFF))
    sign = builder.shl(builder.and_(h, _const(0x8000)), _const(16))
    shifted = builder.add(builder.shl(magnitude, _const(13)), _const((127 - 15) << 23))
    special = builder.icmp_unsigned(">=", magnitude, _const(0x7C00))       # inf or NaN
    normal_bits = builder.select(special, builder.add(shifted, _const((128 - 16) << 23)),
                                 shifted)
    normal = builder.bitcast(normal_bits, _F32)
    # zeros and subnormals: mantissa * 2**-24, exact in float32
    tiny = builder.fmul(builder.uitofp(magnitude, _F32), ir.Constant(_F32, 2.0**-24))
    value = builder.select(builder.icmp_unsigned("<", magnitude, _const(0x0400)), tiny, normal)
    return builder.bitcast(builder.or_(builder.bitcast(value, _I32), sign), _F32)


def float_to_half(builder: ir.IRBuilder, value: ir.Value) -> ir.Value:
    """The float16 bits of the float32 ``value`` rounded to nearest even (inf past the range)."""
    f = builder.bitcast(value, _I32)
    sign = builder.lshr(builder.and_(f, _const(0x80000000)), _const(16))
    magnitude = builder.and_(f, _const(0x7FFFFFFF))
    nan = builder.or_(_const(0x7E00), builder.and_(builder.lshr(magnitude, _const(13)),
                                                   _const(0x3FF)))
    overflow = builder.select(builder.icmp_unsigned(">", magnitude, _const(0x7F800000)), nan,
                              _const(0x7C00))
    # below 2**-14 (the float16 subnormals): the float sum with 0.5 rounds the low bits away
    magic = (127 - 15 + 23 - 10 + 1) << 23
    summed = builder.fadd(builder.bitcast(magnitude, _F32), builder.bitcast(_const(magic), _F32))
    small = builder.sub(builder.bitcast(summed, _I32), _const(magic))
    odd = builder.and_(builder.lshr(magnitude, _const(13)), _const(1))
    rebiased = builder.add(magnitude, _const(((15 - 127) << 23) + 0xFFF))
    normal = builder.lshr(builder.add(rebiased, odd), _const(13))
    bits = builder.select(builder.icmp_unsigned("<", magnitude, _const(113 << 23)), small,
                          normal)
    bits = builder.select(builder.icmp_unsigned(">=", magnitude, _const((127 + 16) << 23)),
                          overflow, bits)
    return builder.trunc(builder.or_(bits, sign), _I16)
