"""Every contender of the benchmark (numelu/_bench/contenders.py ``CONTENDERS``) computes the
function it is timed for: its result agrees with the float64 NumPy reference on small inputs, in
the input's dtype (tolerances: ``numelu._bench.correctness.RTOL``; the benchmarks check the same
before timing).
Peers that are not installed (torch, numexpr, jax) are skipped with the reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numelu._bench.cases import DATA, DTYPES, Case, make_cases, make_inputs
from numelu._bench.contenders import (
    CONTENDERS,
    CONTENDERS_BY_NAME,
    ROLES,
    Contender,
    _bind_numpy,
    select_contenders,
)
from numelu._bench.correctness import mismatch
from numelu._bench.peers import _PEER_PROBLEMS
from numelu._functions import FUNCTIONS
from numelu._reference import NAMES, numpy_label
from numelu.scalar import SELU_ALPHA, SELU_SCALE

VALUE_CONTENDERS = [c for c in CONTENDERS if c.checks_value]
EDGES = [0.0, -0.0, 1e-8, -1e-8, 0.5, -0.5, -20.0, 3.0]


def small_inputs(case: Case) -> tuple[np.ndarray, ...]:
    arrays = make_inputs(case)
    for array in arrays:
        edges = np.array(EDGES, dtype=case.dtype)
        if case.data == "negative":
            edges = -np.abs(edges)
        array[: len(edges)] = edges
    return arrays


def test_table_covers_every_function_once():
    names = [c.name for c in CONTENDERS]
    assert len(names) == len(set(names))
    assert set(NAMES) == {spec.name for spec in FUNCTIONS}
    assert {c.role for c in CONTENDERS} == set(ROLES)
    for spec in FUNCTIONS:
        walls = [c.name for c in CONTENDERS
                 if c.role == "wall" and c.applies_to(spec.name)]
        assert len(walls) == 1, (spec.name, walls)
        assert walls == (["wall-copyto"] if spec.nin - spec.has_alpha == 1 else ["wall-add"])


def test_numpy_contender_is_the_expression_a_user_writes():
    assert numpy_label("elu") == "np.where(x < 0, alpha * np.expm1(x), x)"
    assert numpy_label("elu_backward") == "grad * np.where(x > 0, 1, alpha * np.exp(x))"


def test_inputs_are_seeded_and_shaped():
    case = Case("elu_backward", "float32", 1000, "negative")
    grad, x = make_inputs(case)
    again = make_inputs(case)
    assert np.array_equal(grad, again[0]) and np.array_equal(x, again[1])
    assert grad.dtype == x.dtype == np.float32 and x.shape == (1000,)
    assert (x <= 0).all() and (grad < 0).any() and (grad > 0).any()
    (y,) = make_inputs(Case("selu_derivative_from_output", "float64", 100))
    assert y.min() >= -SELU_SCALE * SELU_ALPHA
    normal = make_inputs(Case("elu", "float64", 10_000))[0]
    assert 0.4 < (normal < 0).mean() < 0.6


def test_make_cases_validates():
    cases = make_cases(["elu"], ["float64"], [100, 1000], ["normal"])
    assert [c.id for c in cases] == ["elu-float64-n100-normal", "elu-float64-n1000-normal"]
    with pytest.raises(ValueError, match="unknown function"):
        make_cases(["gelu"])
    with pytest.raises(ValueError, match="unknown contender"):
        select_contenders(["fastest"])


def test_benchmarks_are_not_collected_by_the_plain_run():
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert 'testpaths = ["tests"]' in pyproject


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("function", [spec.name for spec in FUNCTIONS])
@pytest.mark.parametrize("contender", VALUE_CONTENDERS, ids=lambda c: c.name)
def test_contender_agrees_with_float64_numpy(contender, function, dtype, data):
    reason = contender.unavailable()
    if reason:
        pytest.skip(reason)
    case = Case(function, dtype, 300, data)
    arrays = small_inputs(case)
    out = np.full(case.size, np.nan, dtype=dtype)
    result = contender.bind(case, arrays, out)()
    assert mismatch(case, contender, arrays, result, limit=None) is None
    if contender.name.endswith("-out"):
        assert np.shares_memory(result, out)


def test_mismatch_reports_a_wrong_result():
    case = Case("elu", "float32", 300)
    arrays = small_inputs(case)
    numpy = CONTENDERS_BY_NAME["numpy"]
    right = numpy.bind(case, arrays, None)()
    assert mismatch(case, numpy, arrays, right) is None
    wrong = right.copy()
    wrong[5] *= 1.001
    message = mismatch(case, numpy, arrays, wrong)
    assert message is not None and "1 of 300 elements differ" in message
    assert "float64" in mismatch(case, numpy, arrays, right.astype(np.float64))
    wall = CONTENDERS_BY_NAME["wall-copyto"]
    assert mismatch(case, wall, arrays, arrays[0]) is None      # not a value: unchecked


@pytest.mark.parametrize("contender", [c for c in CONTENDERS if not c.checks_value],
                         ids=lambda c: c.name)
def test_walls_and_floor_touch_the_same_bytes(contender):
    case = Case("elu" if contender.name != "wall-add" else "elu_backward", "float32", 64)
    arrays = make_inputs(case)
    out = np.empty(case.size, dtype=case.dtype)
    result = contender.bind(case, arrays, out)()
    assert result is out or np.shares_memory(result, out)


def test_missing_peer_is_skipped_with_a_reason(monkeypatch):
    monkeypatch.setitem(_PEER_PROBLEMS, "not_a_peer_numelu", None)
    monkeypatch.delitem(_PEER_PROBLEMS, "not_a_peer_numelu")
    ghost = Contender("ghost", "peer", "a peer that is not installed",
                             _bind_numpy, requires="not_a_peer_numelu")
    reason = ghost.unavailable()
    assert reason is not None and "not_a_peer_numelu" in reason and "pip install" in reason
