"""Keep Numba's thread pool out of the two ways it can kill a process (docs/design.md, Threads).

* The ``workqueue`` layer aborts when two threads enter parallel code at once.
* GNU OpenMP kills a child that uses it after ``fork()``.

The guard lives inside the compiled threaded loops themselves, so it also protects users who
call the genuine ``.parallel`` ufuncs directly (or hand them to Dask): two process-wide flags,
exported to Numba's JIT linker as symbols, are read by every threaded loop:

* ``numelu_parallel_gate``: taken with an atomic compare-and-swap by the call that uses the
  thread pool; a call that finds it taken runs the serial SIMD kernel instead (no waiting, no
  oversubscription; the serial loops release the GIL, so Python threads still scale);
* ``numelu_forked_child``: set in a child after ``fork()``; from then on only serial kernels run.

Addresses are resolved when a loop is linked, so loops cached on disk stay valid in every process.
"""

from __future__ import annotations

import ctypes
import os

from llvmlite import binding, ir
from numba import types
from numba.core.extending import intrinsic

GATE_SYMBOL = "numelu_parallel_gate"
FORKED_SYMBOL = "numelu_forked_child"

_gate = ctypes.c_int32(0)
_forked = ctypes.c_int32(0)
binding.add_symbol(GATE_SYMBOL, ctypes.addressof(_gate))
binding.add_symbol(FORKED_SYMBOL, ctypes.addressof(_forked))


def _after_fork_in_child() -> None:
    _forked.value = 1
    _gate.value = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def in_forked_child() -> bool:
    return bool(_forked.value)


def parallel_busy() -> bool:
    """True while some call is using the thread pool through a numelu loop."""
    return bool(_gate.value)


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
