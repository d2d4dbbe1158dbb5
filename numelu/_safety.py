"""The compiled side of the thread-safety flags of ``_gate``: taking and leaving the gate
inside a threaded loop, for the loops this process compiles (their flags are linked by name;
why the gate exists: docs/design.md, Threads).

The guard lives inside the compiled loops themselves, so it also protects users who call the
genuine ``.parallel`` ufuncs directly (or hand them to Dask).  Addresses are resolved when a loop
is linked, so loops cached on disk stay valid in every process.
"""

from __future__ import annotations

import ctypes

from llvmlite import binding, ir
from numba import types
from numba.core.extending import intrinsic

from numelu._gate import FORKED_SYMBOL, GATE_SYMBOL, JIT_FLAGS, in_forked_child, parallel_busy

__all__ = ["in_forked_child", "leave_parallel_region", "parallel_busy", "try_enter_parallel_region"]

binding.add_symbol(GATE_SYMBOL, ctypes.addressof(JIT_FLAGS[0]))
binding.add_symbol(FORKED_SYMBOL, ctypes.addressof(JIT_FLAGS[1]))


def _flag(module: ir.Module, name: str) -> ir.GlobalVariable:
    try:
        return module.get_global(name)
    except KeyError:
        return ir.GlobalVariable(module, ir.IntType(32), name)   # external: resolved at link


@intrinsic
def try_enter_parallel_region(typingctx):
    """In compiled code: take the gate (False if it is taken or this is a forked child)."""

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        forked = builder.load_atomic(_flag(builder.module, FORKED_SYMBOL), "monotonic", 4)
        result = builder.alloca(ir.IntType(1))
        builder.store(ir.Constant(ir.IntType(1), 0), result)
        with builder.if_then(builder.icmp_signed("==", forked, ir.Constant(i32, 0))):
            pair = builder.cmpxchg(_flag(builder.module, GATE_SYMBOL), ir.Constant(i32, 0),
                                   ir.Constant(i32, 1), "acquire", "monotonic")
            builder.store(builder.extract_value(pair, 1), result)
        return builder.load(result)

    return types.boolean(), codegen


@intrinsic
def leave_parallel_region(typingctx):
    """In compiled code: release the gate taken by :func:`try_enter_parallel_region`."""

    def codegen(context, builder, signature, args):
        builder.store_atomic(ir.Constant(ir.IntType(32), 0), _flag(builder.module, GATE_SYMBOL),
                             "release", 4)
        return context.get_dummy_value()

    return types.void(), codegen
