"""The function table (``numelu._functions.FUNCTIONS``), the reference formulas
(``numelu._reference``), the docstrings and the README's "Functions" table say the same thing.

What adding a function must touch (CONTRIBUTING.md, "Adding a function") is checked here: a row
without a reference, a reference without a row, a formula that says something else in one of the
three places, an example that does not run or a function missing from the README all fail.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import mpmath
import numpy as np
import pytest

import numelu
from numelu import _reference, scalar
from numelu._functions import BY_NAME, FUNCTIONS

README = Path(__file__).resolve().parents[1] / "README.md"
NAMES = [spec.name for spec in FUNCTIONS]
#: Sample points: both branches, both zeros, tiny and large magnitudes.
XS = (-30.0, -3.0, -1.0, -1e-3, -1e-300, -0.0, 0.0, 1e-300, 0.5, 2.0, 700.0)
ALPHAS = (0.5, 1.0, 2.5)
PREC = 120


def readme_rows() -> dict[str, tuple[tuple[str, ...], str]]:
    """``name -> (inputs, formula)`` from the README's "Functions" table (backticks removed)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Functions\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for match in re.finditer(r"^\| `(\w+)\(([^)]*)\)` \| (.+) \|$", section, re.M):
        name, params, formula = match.groups()
        inputs = tuple(p.split("=")[0].strip() for p in params.split(","))
        rows[name] = (inputs, formula.replace("`", "").replace(", one pass", ""))
    return rows


def _namespace(values: dict) -> dict:
    """mpmath's exp/expm1, SELU's constants and every reference function, for ``eval``."""
    functions = {name: (lambda *args, name=name: _reference.mpmath_value(name, args, PREC))
                 for name in _reference.NAMES}
    return {"__builtins__": {}, "exp": mpmath.exp, "expm1": mpmath.expm1,
            "SELU_SCALE": mpmath.mpf(_reference.SELU_SCALE_DECIMAL),
            "SELU_ALPHA": mpmath.mpf(_reference.SELU_ALPHA_DECIMAL), **functions, **values}


def _points(inputs: tuple[str, ...]):
    """Every combination of sample values for ``inputs`` (grad 1.5; alpha from ALPHAS)."""
    choices = {"x": XS, "y": XS, "grad": (1.5,), "alpha": ALPHAS}
    grid = [[]]
    for role in inputs:
        grid = [point + [value] for point in grid for value in choices[role]]
    return grid


def assert_same_as_reference(name: str, formula: str, inputs: tuple[str, ...], where: str):
    for point in _points(inputs):
        with mpmath.workprec(PREC):
            values = dict(zip(inputs, (mpmath.mpf(v) for v in point), strict=True))
            got = mpmath.mpf(eval(formula, _namespace(values)))  # noqa: S307 - our own text
            expected = _reference.mpmath_value(name, point, PREC)
            close = abs(got - expected) <= abs(expected) * mpmath.mpf(2) ** -100
        assert close, f"{where} {name}{tuple(point)}: {got} != reference {expected}"


def test_every_function_has_a_reference_and_every_reference_a_function():
    assert sorted(_reference.NAMES) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_reference_reads_the_same_inputs_as_the_table(name, spec):
    assert _reference.inputs(name) == spec.inputs


@pytest.mark.parametrize("name", NAMES)
def test_table_math_is_the_reference_formula(name, spec):
    """``FunctionSpec.math`` (what the docstrings show) evaluated in mpmath == the reference."""
    assert_same_as_reference(name, spec.math, spec.inputs, "_functions.py math of")


@pytest.mark.parametrize("name", NAMES)
def test_readme_table_lists_the_function_with_the_reference_formula(name, spec):
    rows = readme_rows()
    assert name in rows, f"README.md's Functions table has no row for {name}"
    inputs, formula = rows[name]
    assert inputs == spec.inputs, (name, inputs)
    assert_same_as_reference(name, formula, inputs, "README.md's formula of")


def test_readme_table_has_no_other_function():
    assert sorted(readme_rows()) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_docstring_example_runs(name):
    """The example in ``numelu.<name>.__doc__`` runs and prints what it shows (doctest)."""
    doc = getattr(numelu, name).__doc__
    test = doctest.DocTestParser().get_doctest(doc, {"numelu": numelu, "np": np}, name, None, 0)
    assert test.examples, f"numelu.{name}.__doc__ has no example"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test, out=lambda text: None)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"numelu.{name}.__doc__: {result.failed} example(s) failed"


@pytest.mark.parametrize("name", NAMES)
def test_public_everywhere(name):
    """A public function of the package, a public scalar formula, and in the table by name."""
    assert name in numelu.__all__ and name in scalar.__all__
    assert getattr(numelu, name).spec is BY_NAME[name]
