"""The floating-point environment's platform logic: which flag values and which C library, on
platforms this machine can only simulate, and on this one checked against the C library itself."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys

import pytest

from numelu import _fpenv
from numelu._fpenv import FenvLayout, fenv_layout, load_fenv_functions


@pytest.mark.parametrize(("system", "machine"), [
    ("Linux", "x86_64"), ("Darwin", "x86_64"), ("Windows", "AMD64"), ("FreeBSD", "amd64"),
])
def test_x86_64_keeps_the_flags_in_mxcsr_everywhere(system, machine):
    layout = fenv_layout(system, machine)
    assert layout.use_mxcsr
    # MXCSR bit 0 invalid, bit 2 divide by zero, bit 3 overflow
    assert (layout.invalid, layout.divbyzero, layout.overflow) == (1 << 0, 1 << 2, 1 << 3)


@pytest.mark.parametrize(("system", "machine", "library", "fallback"), [
    ("Linux", "aarch64", "m", "libm.so.6"),
    ("Darwin", "arm64", "System", "/usr/lib/libSystem.B.dylib"),
])
def test_arm64_uses_the_fpsr_bits_through_the_c_library(system, machine, library, fallback):
    layout = fenv_layout(system, machine)
    assert not layout.use_mxcsr
    # AArch64 FPSR: IOC bit 0, DZC bit 1, OFC bit 2 (Arm ARM, FPSR); fenv.h passes them through
    assert (layout.invalid, layout.divbyzero, layout.overflow) == (1 << 0, 1 << 1, 1 << 2)
    assert (layout.library, layout.fallback) == (library, fallback)


def test_windows_on_arm_uses_microsofts_own_values_from_the_ucrt():
    layout = fenv_layout("Windows", "ARM64")
    assert not layout.use_mxcsr
    # Microsoft's fenv.h: FE_INVALID = _SW_INVALID 0x10, FE_DIVBYZERO = _SW_ZERODIVIDE 0x08,
    # FE_OVERFLOW = _SW_OVERFLOW 0x04, on every CPU
    assert (layout.invalid, layout.divbyzero, layout.overflow) == (0x10, 0x08, 0x04)
    assert layout.library == "ucrtbase"


@pytest.mark.parametrize(("system", "machine"), [
    ("Linux", "ppc64le"), ("Linux", "s390x"), ("Linux", "riscv64"), ("Linux", "armv7l"),
    ("Linux", "i686"),
])
def test_other_cpus_are_a_sentence_not_guessed_values(system, machine):
    reason = fenv_layout(system, machine)
    assert isinstance(reason, str)
    assert machine in reason and "numelu.scalar" in reason
    with pytest.raises(RuntimeError, match=machine):
        load_fenv_functions(reason)


def _libc_layout() -> FenvLayout:
    return FenvLayout(False, 1, 2, 4, 7, library="m", fallback="libm.so.6")


def test_missing_find_library_result_falls_back_to_the_loaders_name():
    loaded = []
    load_fenv_functions(_libc_layout(), find_library=lambda name: None, load=loaded.append,
                        address_of=lambda name: 1)
    assert loaded == ["libm.so.6"]


def test_library_that_does_not_load_is_skipped_for_the_next():
    loaded = []

    def load(name):
        if name == "/broken/libm.so":
            raise RuntimeError("cannot open")
        loaded.append(name)

    load_fenv_functions(_libc_layout(), find_library=lambda name: "/broken/libm.so", load=load,
                        address_of=lambda name: 1)
    assert loaded == ["libm.so.6"]


def test_missing_functions_are_a_clear_error_naming_them_and_the_libraries():
    def load(name):
        raise RuntimeError("cannot open")

    with pytest.raises(RuntimeError, match=r"fetestexcept, feclearexcept, feraiseexcept.*"
                                           r"/usr/lib/x/libm\.so, libm\.so\.6"):
        load_fenv_functions(_libc_layout(), find_library=lambda name: "/usr/lib/x/libm.so",
                            load=load, address_of=lambda name: 0)


def test_mxcsr_layout_needs_no_library():
    def refuse(*args):
        raise AssertionError("no library is needed for MXCSR")

    load_fenv_functions(fenv_layout("Windows", "AMD64"), find_library=refuse, load=refuse,
                        address_of=refuse)


def test_this_platform_is_supported():
    layout = fenv_layout(platform.system(), platform.machine())
    assert isinstance(layout, FenvLayout)
    assert (_fpenv.FE_INVALID, _fpenv.FE_DIVBYZERO, _fpenv.FE_OVERFLOW) == (
        layout.invalid, layout.divbyzero, layout.overflow)


@pytest.mark.skipif(sys.platform != "linux", reason="checks glibc's fenv functions")
@pytest.mark.parametrize(("function", "argument", "flag"), [
    ("exp", 1000.0, "FE_OVERFLOW"), ("log", 0.0, "FE_DIVBYZERO"), ("acos", 2.0, "FE_INVALID"),
])
def test_flag_values_are_what_the_c_library_raises(function, argument, flag):
    """An independent check of numelu's FE_* value on this machine: a C math function that
    raises exactly that exception, then the C library's own ``fetestexcept``."""
    libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    call = getattr(libm, function)
    call.restype, call.argtypes = ctypes.c_double, [ctypes.c_double]
    libm.feclearexcept(_fpenv.FE_ALL_EXCEPT)
    call(argument)
    raised = libm.fetestexcept(_fpenv.ERROR_FLAGS)
    libm.feclearexcept(_fpenv.FE_ALL_EXCEPT)
    assert raised == getattr(_fpenv, flag)
