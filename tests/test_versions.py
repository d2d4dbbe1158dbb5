"""The lower bounds of pyproject.toml's dependencies are the versions .ci/versions.sh installs as
"oldest", so that the oldest claimed versions are the ones CI tests."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lower_bounds() -> dict[str, str]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    dependencies = re.search(r"^dependencies = \[(.*?)\]", text, re.M | re.S).group(1)
    return dict(re.findall(r'"([a-z0-9_-]+)>=([0-9.]+)"', dependencies))


def _release(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def test_ci_tests_the_oldest_versions_pyproject_accepts():
    bounds = _lower_bounds()
    assert set(bounds) == {"numpy", "numba"}, bounds
    script = (ROOT / ".ci" / "versions.sh").read_text(encoding="utf-8")
    oldest = re.search(r"oldest\) check oldest .*?\n(.*?);;", script, re.S).group(1)
    pinned = dict(re.findall(r'"([a-z0-9_-]+)==([0-9.]+)"', oldest))
    assert {name: _release(v) for name, v in pinned.items()} == \
        {name: _release(v) for name, v in bounds.items()}
    python = re.search(r'requires-python = ">=([0-9.]+)"',
                       (ROOT / "pyproject.toml").read_text(encoding="utf-8")).group(1)
    assert re.search(rf'oldest\) check oldest "\$\(need {re.escape(python)} ', script)
