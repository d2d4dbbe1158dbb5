"""Floating-point exception flags of numelu's compiled loops: the genuine ones, nothing else.

NumPy reads the FPU's exception flags after every ufunc call and turns them into
``RuntimeWarning``s (or ``FloatingPointError`` under ``np.errstate(...="raise")``).  The
vectorised kernels compute every branch for every lane and select afterwards, and x86 vector
compares signal "invalid" on a quiet NaN; so a valid input (a NaN, an inf, a large positive x
with a tiny alpha) raises flags inside a kernel for results that are exactly right.  Each inner
loop therefore saves the flags on entry and, on exit, puts back the saved ones plus exactly the
flags its *results* call for.  The kernels run block by block.  A block whose own arithmetic
raised an error flag (read with :func:`raised_fp_flags`: the arithmetic behind any genuine error
raises one, so a clean block needs no further look; a float16 result is also tested itself, as
its rounding may be done in software) is looked at again element by element, each stored result
against its inputs (``_kernel_body.make_check``), as NumPy evaluating the same formula element by
element reports them:

* overflow: a result of +-inf where every input of that element is finite (``grad * alpha *
  exp(x)`` or ``SELU_SCALE * x`` past the largest float, a float16 result that rounds to inf);
* invalid: a NaN result where no input of that element is NaN (``inf * 0``, ``0 / 0``);
* divide by zero: a formula that divides by ``alpha`` (CELU's ``x / alpha``) on the branch it
  takes, with ``alpha == 0`` (possible inside an array ``alpha``) and a finite ``x < 0``;
  an infinite result there is reported as the division, not as an overflow, as NumPy does.

Underflow and inexact are never reported (tiny derivatives legitimately round to subnormals or
0; NumPy ignores underflow by default).  Whatever NumPy's own casting loops raised in the same
call is kept.

On x86-64 the kernels' arithmetic is SSE/AVX only, so its flags live in the MXCSR register:
saving is one ``stmxcsr``, reading the flags after a block one more, and restoring one
``ldmxcsr`` of the saved word with the results' bits ORed in (rounding mode and masks cannot
have changed in between).  That costs a few cycles, where the C library's ``feclearexcept``
also saves and reloads the whole x87 environment (about 0.1 us per call, which is a third of a
100-element call).  On 64-bit Arm (Linux, macOS, Windows) the C library's ``fetestexcept`` /
``feclearexcept`` / ``feraiseexcept`` are used, with its ``FE_*`` values (:func:`fenv_layout`);
on any other CPU the first compilation raises a RuntimeError that says so.
"""

from __future__ import annotations

import ctypes.util
import platform
from dataclasses import dataclass

from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.core.extending import intrinsic


@dataclass(frozen=True)
class FenvLayout:
    """How the flags are read and written on one platform.

    ``use_mxcsr``: straight from the SSE register (x86-64); otherwise through the C library's
    fenv functions, found in ``library`` (a name for ``ctypes.util.find_library``, then
    ``fallback``, a file name the dynamic loader finds), with that library's ``FE_*`` values.
    """

    use_mxcsr: bool
    invalid: int
    divbyzero: int
    overflow: int
    all_except: int
    library: str = ""
    fallback: str = ""


#: MXCSR's exception bits (0 invalid, 2 divide by zero, 3 overflow) are also x86's fenv.h values.
_X86 = FenvLayout(True, 0x01, 0x04, 0x08, 0x3D)

#: The FPSR's cumulative bits of AArch64, which glibc's and musl's <fenv.h> and Apple's use.
_AARCH64 = dict(invalid=0x01, divbyzero=0x02, overflow=0x04, all_except=0x1F)

#: Microsoft's <fenv.h> uses its own _SW_* status bits on every CPU (an Arm64 build included).
_MSVC = dict(invalid=0x10, divbyzero=0x08, overflow=0x04, all_except=0x1F)


def fenv_layout(system: str, machine: str) -> FenvLayout | str:
    """The :class:`FenvLayout` for ``platform.system()`` and ``platform.machine()``, or why
    numelu cannot keep the flags there (a sentence for the error at first use)."""
    machine = machine.lower()
    if machine in ("x86_64", "amd64", "x64"):
        return _X86
    if machine in ("aarch64", "arm64"):
        if system == "Linux":
            return FenvLayout(False, **_AARCH64, library="m", fallback="libm.so.6")
        if system == "Darwin":
            return FenvLayout(False, **_AARCH64, library="System",
                              fallback="/usr/lib/libSystem.B.dylib")
        if system == "Windows":
            return FenvLayout(False, **_MSVC, library="ucrtbase", fallback="ucrtbase.dll")
    return (f"numelu's compiled loops support x86-64 and 64-bit Arm (Linux, macOS, Windows); "
            f"this is {system} on {machine!r}, where the C library's FE_* flag values are not "
            f"known to numelu, so it cannot report floating-point errors as NumPy does. "
            f"numelu.scalar works here")


_LAYOUT = fenv_layout(platform.system(), platform.machine())
_KNOWN = _LAYOUT if isinstance(_LAYOUT, FenvLayout) else FenvLayout(False, 0x01, 0x02, 0x04, 0x07)

#: The loops save and restore the SSE control/status register directly (x86-64 only).
USE_MXCSR = _KNOWN.use_mxcsr

#: FE_ALL_EXCEPT of the C library (fenv.h).
FE_ALL_EXCEPT = _KNOWN.all_except

#: The exception bits of the flags word that :func:`save_fp_flags` returns and
#: :func:`restore_fp_flags` takes: MXCSR's bits 0, 2 and 3 on x86-64 (the same values as x86's
#: fenv.h), the C library's ``FE_INVALID``, ``FE_DIVBYZERO``, ``FE_OVERFLOW`` elsewhere.
FE_INVALID, FE_DIVBYZERO, FE_OVERFLOW = _KNOWN.invalid, _KNOWN.divbyzero, _KNOWN.overflow

#: The flags that NumPy reports and numelu decides for its results.
ERROR_FLAGS = FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW

_I32 = ir.IntType(32)
_FENV_FUNCTIONS = ("fetestexcept", "feclearexcept", "feraiseexcept")


def load_fenv_functions(layout: FenvLayout | str, find_library=ctypes.util.find_library,
                        load=binding.load_library_permanently,
                        address_of=binding.address_of_symbol) -> None:
    """Make the C library's fenv functions known to LLVM's JIT, or raise a RuntimeError that
    says what is missing (called when a kernel that needs them is compiled, not at import).

    ``find_library("m")`` gives nothing in a root without ldconfig's cache, so the loader's own
    file name is the fallback; the functions are also looked for among those the process has
    loaded already (the Python binary links the C math library on Linux).
    """
    if isinstance(layout, str):
        raise RuntimeError(layout)
    if layout.use_mxcsr:
        return
    tried = []
    for name in (find_library(layout.library), layout.fallback):
        if not name or name in tried:
            continue
        tried.append(name)
        try:
            load(name)
            break
        except RuntimeError:
            continue
    missing = [f for f in _FENV_FUNCTIONS if not address_of(f)]
    if missing:
        raise RuntimeError(
            f"numelu needs the C library's {', '.join(missing)} to keep the floating-point "
            f"flags on {platform.system()} {platform.machine()}; not found (libraries tried: "
            f"{', '.join(tried) or 'none found'})")


_loaded = False


def _require_fenv() -> None:
    """:func:`load_fenv_functions` once per process, at the first compilation that needs it."""
    global _loaded
    if not _loaded:
        load_fenv_functions(_LAYOUT)
        _loaded = True


def _declare(module: ir.Module, name: str, return_type: ir.Type, argument: ir.Type
             ) -> ir.Function:
    try:
        return module.get_global(name)
    except KeyError:
        return ir.Function(module, ir.FunctionType(return_type, [argument]), name)


def _mxcsr_slot(builder: ir.IRBuilder) -> tuple[ir.Value, ir.Value]:
    """A 4-byte stack slot for the register and the ``i8*`` the intrinsics take."""
    slot = cgutils.alloca_once(builder, _I32)      # in the entry block
    return slot, builder.bitcast(slot, ir.IntType(8).as_pointer())


def _mxcsr_call(builder: ir.IRBuilder, name: str, pointer: ir.Value) -> None:
    builder.call(_declare(builder.module, f"llvm.x86.sse.{name}", ir.VoidType(),
                          ir.IntType(8).as_pointer()), [pointer])


@intrinsic
def save_fp_flags(typingctx):
    """The floating-point state to restore on exit: MXCSR on x86-64, else
    ``fetestexcept(FE_ALL_EXCEPT)``."""

    _require_fenv()

    def codegen(context, builder, signature, args):
        if USE_MXCSR:
            slot, pointer = _mxcsr_slot(builder)
            _mxcsr_call(builder, "stmxcsr", pointer)
            return builder.load(slot)
        mask = ir.Constant(_I32, FE_ALL_EXCEPT)
        return builder.call(_declare(builder.module, "fetestexcept", _I32, _I32), [mask])

    return types.int32(), codegen


@intrinsic
def clear_fp_flags(typingctx, saved):
    """Lower every exception flag, keeping the rest of the state ``saved`` (from
    :func:`save_fp_flags`: on x86-64 one ``ldmxcsr``, no read)."""
    if saved != types.int32:
        return None

    def codegen(context, builder, signature, args):
        if USE_MXCSR:
            slot, pointer = _mxcsr_slot(builder)
            builder.store(builder.and_(args[0], ir.Constant(_I32, ~0x3F)), slot)
            _mxcsr_call(builder, "ldmxcsr", pointer)
        else:
            mask = ir.Constant(_I32, FE_ALL_EXCEPT)
            builder.call(_declare(builder.module, "feclearexcept", _I32, _I32), [mask])
        return context.get_dummy_value()

    return types.void(saved), codegen


@intrinsic
def raised_fp_flags(typingctx):
    """Which of ``FE_INVALID``, ``FE_DIVBYZERO``, ``FE_OVERFLOW`` are raised now."""

    def codegen(context, builder, signature, args):
        mask = ir.Constant(_I32, ERROR_FLAGS)
        if USE_MXCSR:
            slot, pointer = _mxcsr_slot(builder)
            _mxcsr_call(builder, "stmxcsr", pointer)
            return builder.and_(builder.load(slot), mask)
        return builder.call(_declare(builder.module, "fetestexcept", _I32, _I32), [mask])

    return types.int32(), codegen


@intrinsic
def restore_fp_flags(typingctx, saved, raised):
    """Put back the exception flags of ``saved`` (from :func:`save_fp_flags`) and raise those
    of ``raised`` (a combination of ``FE_INVALID``, ``FE_DIVBYZERO``, ``FE_OVERFLOW``), dropping
    any other raised since."""
    if not isinstance(raised, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        bits = context.cast(builder, args[1], signature.args[1], types.int32)
        word = builder.or_(args[0], bits)
        if USE_MXCSR:
            slot, pointer = _mxcsr_slot(builder)
            builder.store(word, slot)
            _mxcsr_call(builder, "ldmxcsr", pointer)
        else:
            mask = ir.Constant(_I32, FE_ALL_EXCEPT)
            builder.call(_declare(builder.module, "feclearexcept", _I32, _I32), [mask])
            builder.call(_declare(builder.module, "feraiseexcept", _I32, _I32), [word])
        return context.get_dummy_value()

    return types.void(types.int32, raised), codegen
