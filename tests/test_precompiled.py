"""Precompiled kernels: used only where they fit, compile nothing, and equal the JIT bit for bit.

The loader's refusals are tested on fabricated folders (a library it refuses is never opened: a
file of garbage bytes would fail to load).  The rest needs a real library
(``precompiled_support``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from precompiled_support import REPO, environment, kernels_folder, usable_levels

from numelu import _isa, _precompiled, _sources

CHILD_TIMEOUT = 600


def _fake_library(folder: Path, level: str, **manifest) -> None:
    """A library file of garbage bytes and a manifest that fits this machine unless overridden."""
    (folder / _precompiled.library_name(level)).write_bytes(b"not a shared library")
    fields = {"format": _precompiled.FORMAT, "level": level, "machine": _isa.machine(),
              "system": __import__("platform").system(),
              "fingerprint": _sources.kernel_fingerprint(), "symbols": {}}
    fields.update(manifest)
    _precompiled.manifest_path(folder, level).write_text(json.dumps(fields))


def _choose(monkeypatch, folder: Path, mode: str = "auto"):
    monkeypatch.setenv("NUMELU_KERNELS", mode)
    monkeypatch.setenv("NUMELU_KERNELS_DIR", str(folder))
    return _precompiled.choose()


def test_levels_need_every_feature_of_theirs():
    v4 = dict.fromkeys(_isa.LEVELS["x86-64-v4"], True)
    flags = frozenset({"bmi1", "bmi2", "abm", "movbe"})
    if _isa.machine() != "x86_64":
        assert _isa.missing_features("x86-64-v3", v4, flags)
        return
    assert _isa.missing_features("x86-64-v4", v4, flags) == []
    assert _isa.missing_features("x86-64-v3", v4, flags) == []
    assert _isa.missing_features("x86-64-v4", {**v4, "AVX512BW": False}, flags) == ["AVX512BW"]
    assert _isa.missing_features("x86-64-v3", {**v4, "FMA3": False}, flags) == ["FMA3"]
    assert _isa.missing_features("x86-64-v3", v4, flags - {"bmi2"}) == ["bmi2"]


def test_nothing_built_means_the_jit(monkeypatch, tmp_path):
    library, reason = _choose(monkeypatch, tmp_path)
    assert library is None
    assert "not built" in reason and "python -m numelu compile" in reason


def test_stale_library_is_refused_and_never_opened(monkeypatch, tmp_path):
    for level in _isa.LEVELS:
        _fake_library(tmp_path, level, fingerprint="0123456789abcdef")
    library, reason = _choose(monkeypatch, tmp_path)
    assert library is None
    assert reason.count("built from other sources") == len(_isa.LEVELS)


@pytest.mark.parametrize("field, value, words", [
    ("format", -1, "library format"),
    ("machine", "riscv64", "built for riscv64"),
    ("system", "Plan9", "built for"),
])
def test_library_for_another_machine_is_refused(monkeypatch, tmp_path, field, value, words):
    for level in _isa.LEVELS:
        _fake_library(tmp_path, level, **{field: value})
    library, reason = _choose(monkeypatch, tmp_path)
    assert library is None and words in reason


def test_level_this_cpu_cannot_run_is_refused(monkeypatch, tmp_path):
    for level in _isa.LEVELS:
        _fake_library(tmp_path, level)
    monkeypatch.setattr(_isa, "missing_features", lambda level: ["AVX512F"])
    library, reason = _choose(monkeypatch, tmp_path)
    assert library is None
    assert reason.count("this CPU lacks AVX512F") == len(_isa.LEVELS)


def test_a_level_asked_for_by_name_must_be_usable(monkeypatch, tmp_path):
    with pytest.raises(RuntimeError, match="NUMELU_KERNELS=x86-64-v3.*not built"):
        _choose(monkeypatch, tmp_path, "x86-64-v3")
    with pytest.raises(ValueError, match="NUMELU_KERNELS='avx9'.*auto, jit"):
        _choose(monkeypatch, tmp_path, "avx9")
    assert _choose(monkeypatch, tmp_path, "jit") == (None, "NUMELU_KERNELS=jit")


def _run(code: str, env: dict) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_first_calls_compile_nothing():
    """Every function, every float type, serial and threaded: not one Numba compilation."""
    folder, level = kernels_folder()
    done = subprocess.run([sys.executable, str(REPO / "tests" / "first_calls.py")],
                          env=environment(folder, level), capture_output=True, text=True,
                          timeout=CHILD_TIMEOUT, check=True)
    count, reason = done.stdout.strip().rsplit("\n", 1)[-1].split("|")
    assert reason.strip().startswith(f"precompiled for {level}")
    assert int(count) == 0


@pytest.mark.parametrize("level", list(_isa.PREFERENCE))
def test_precompiled_equals_the_jit_for_its_level_bit_for_bit(tmp_path, level):
    """Results and warnings of the library of a level equal those of the JIT generating code for
    that level (same sources), on edge values, random data and every layout."""
    folder, _ = kernels_folder()
    if level not in usable_levels(folder):
        pytest.skip(f"no usable {level} library in {folder} (this CPU, or not built)")
    names = ["selu", "celu", "elu_derivative_from_output", "celu_backward"]
    script = str(REPO / "tests" / "precompiled_cases.py")
    shipped, jit = tmp_path / "shipped.npz", tmp_path / "jit.npz"
    subprocess.run([sys.executable, script, str(shipped), *names], check=True,
                   env=environment(folder, level), timeout=CHILD_TIMEOUT)
    jit_env = environment(folder, "jit", NUMBA_CPU_NAME=level,
                          NUMBA_CPU_FEATURES=_isa.LLVM_FEATURES[level],
                          NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    subprocess.run([sys.executable, script, str(jit), *names], check=True, env=jit_env,
                   timeout=CHILD_TIMEOUT)
    with np.load(shipped) as a, np.load(jit) as b:
        assert sorted(a.files) == sorted(b.files) and len(a.files) > 250
        different = [key for key in a.files if not np.array_equal(a[key], b[key])]
    assert not different, different[:20]


def test_info_names_the_kernels_in_use():
    folder, level = kernels_folder()
    env = environment(folder, level)
    out = subprocess.run([sys.executable, "-m", "numelu", "info"], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=CHILD_TIMEOUT).stdout
    assert f"precompiled for {level}" in out
    out = subprocess.run([sys.executable, "-m", "numelu", "info"], cwd=REPO, timeout=CHILD_TIMEOUT,
                         env={**env, "NUMELU_KERNELS": "jit"}, capture_output=True,
                         text=True).stdout
    assert "NUMELU_KERNELS=jit" in out


def test_fork_after_the_pool_ran_stays_serial_in_the_child():
    """The precompiled pool's fork guard: a child after fork() computes serially and right."""
    folder, level = kernels_folder()
    code = """
        import os
        import numpy as np, numelu
        from numelu import _gate
        x = np.linspace(-6, 6, 1_000_003)
        expected = numelu.elu.cpu(x, 0.5)
        assert np.array_equal(numelu.elu.parallel(x, 0.5), expected)
        pid = os.fork()
        if pid == 0:
            ok = _gate.in_forked_child() and np.array_equal(numelu.elu.parallel(x, 0.5), expected)
            os._exit(0 if ok else 3)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        print("ok")
    """
    assert _run(code, environment(folder, level)).strip().endswith("ok")

