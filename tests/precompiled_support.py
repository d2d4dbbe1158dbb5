"""A folder of precompiled kernel libraries for the tests that need one.

CI builds the wheel first and points ``NUMELU_TEST_KERNELS_DIR`` at the libraries it installed
(they must then be usable here, where the CPU runs a level: a failure, not a skip).  Without it, the x86-64-v3 library is
built once per source fingerprint into the temporary folder (a few minutes), where this CPU
runs that level and a C compiler exists; elsewhere the tests skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from numelu import _isa, _precompiled, _sources

REPO = Path(__file__).resolve().parent.parent


def usable_levels(folder: Path) -> list[str]:
    """Every level in ``folder`` that this CPU and these sources may use, best first."""
    fingerprint = _sources.kernel_fingerprint()
    return [level for level in _isa.PREFERENCE
            if _precompiled.refusal(folder, level, fingerprint) is None]


def kernels_folder() -> tuple[Path, str]:
    """(folder, level) of a usable precompiled library, or skip the calling test."""
    given = os.environ.get("NUMELU_TEST_KERNELS_DIR")
    if not _isa.supported_levels():
        pytest.skip("this CPU runs none of the precompiled levels")
    if given:
        levels = usable_levels(Path(given))
        if not levels:
            pytest.fail(f"NUMELU_TEST_KERNELS_DIR={given} holds no library usable here: "
                        + "; ".join(f"{lv}: {_precompiled.refusal(Path(given), lv)}"
                                    for lv in _isa.PREFERENCE))
        return Path(given), levels[0]
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler to link a precompiled library")
    folder = Path(tempfile.gettempdir()) / f"numelu-test-kernels-{_sources.kernel_fingerprint()}"
    if not usable_levels(folder):
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        subprocess.run([sys.executable, "-m", "numelu", "compile", "--levels", "x86-64-v3",
                        "--out", str(folder)], check=True, env=env, cwd=REPO)
    return folder, "x86-64-v3"


def environment(folder: Path, level: str, **extra: str) -> dict:
    """A child's environment that uses the library of ``level`` in ``folder``."""
    env = {**os.environ, "NUMELU_KERNELS": level, "NUMELU_KERNELS_DIR": str(folder),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                       os.environ.get("PYTHONPATH")]))}
    env.update(extra)
    return env
