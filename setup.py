"""Wheel builds compile numelu's CPU kernels ahead of time (``python -m numelu compile``).

The wheel then ships one shared library per x86-64 ISA level and becomes a platform wheel
(``py3-none-<platform>``: the libraries need no particular Python).  Editable installs and
``NUMELU_PRECOMPILE=0`` skip the step: the JIT serves them, as it serves every CPU and every
source tree that no shipped library fits.
"""

import os
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py


class BuildWithKernels(build_py):
    def run(self):
        super().run()
        if self.editable_mode or os.environ.get("NUMELU_PRECOMPILE", "1") == "0":
            return
        build_lib = Path(self.build_lib).resolve()
        env = {**os.environ, "PYTHONPATH": str(build_lib)}
        subprocess.run([sys.executable, "-m", "numelu", "compile", "--out",
                        str(build_lib / "numelu" / "precompiled")], env=env, check=True)


class WithLibraries(Distribution):
    """The package ships shared libraries: a platform wheel, installed into platlib."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(distclass=WithLibraries,
      cmdclass={"build_py": BuildWithKernels, "bdist_wheel": PlatformWheel})
