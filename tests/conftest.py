"""Shared fixtures: every test that computes runs on every CPU target."""

from __future__ import annotations

import pytest
from helpers import CPU_TARGETS, ROUTES

from numelu._functions import BY_NAME, FunctionSpec


@pytest.fixture(params=CPU_TARGETS)
def target(request) -> str:
    return request.param


@pytest.fixture
def spec(name: str) -> FunctionSpec:
    """The table row (``numelu._functions.BY_NAME``) of the test's parametrized ``name``."""
    return BY_NAME[name]


@pytest.fixture(params=ROUTES)
def route(request) -> str:
    """A dispatcher target or a genuine compiled ufunc (``helpers.run``)."""
    return request.param
