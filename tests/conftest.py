"""Shared fixtures: every test that computes runs on every CPU target."""

from __future__ import annotations

import pytest

CPU_TARGETS = ("cpu", "parallel", "auto")


@pytest.fixture(params=CPU_TARGETS)
def target(request) -> str:
    return request.param
