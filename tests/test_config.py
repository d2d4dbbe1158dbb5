"""docs/contract.md §5, overrides: how ``NUMELU_TARGET``, ``NUMELU_PARALLEL_THRESHOLD``,
``numelu.config(parallel_threshold=...)`` are validated.

Which target a call picks, precedence, reading the environment once and thread safety are tested
in test_dispatch.py; this file holds what is valid and what is an error, and the error messages.
"""

from __future__ import annotations

import numpy as np
import pytest

import numelu
from numelu import _config

VALID_TARGETS = ("auto", "cpu", "parallel", "cuda")
THRESHOLD = "NUMELU_PARALLEL_THRESHOLD"


@pytest.fixture
def environment(monkeypatch):
    """``environment(name, value)`` sets one NUMELU_* variable and re-reads the environment;
    the variables and the settings read from them are restored after the test."""

    def set_environment(name, value):
        monkeypatch.setenv(name, value)
        return _config.reload_environment()

    monkeypatch.delenv("NUMELU_TARGET", raising=False)
    monkeypatch.delenv(THRESHOLD, raising=False)
    _config.reload_environment()
    yield set_environment
    monkeypatch.undo()
    _config.reload_environment()


def _threshold_error(environment, raw):
    with pytest.raises(ValueError) as error:
        environment(THRESHOLD, raw)
    return str(error.value)


# --------------------------------------------------------------------------- NUMELU_PARALLEL_THRESHOLD


def test_environment_threshold_whole_number_spellings(environment):
    spellings = {
        "65536": 65_536, " 65536 ": 65_536, "65_536": 65_536, "+7": 7, "0": 0, "-0": 0,
        "1e6": 1_000_000, "1E3": 1000, "2.0": 2, "1_000.0": 1000,
        "9007199254740993": 2**53 + 1,        # exact, not rounded through a float
        "": None, "   ": None,                # unset: the per-kind defaults
    }
    for raw, expected in spellings.items():
        settings = environment(THRESHOLD, raw)
        assert settings.parallel_threshold == expected, raw
        assert type(settings.parallel_threshold) is (int if expected is not None else type(None))
        for kind, default in _config.DEFAULT_THRESHOLDS.items():
            assert settings.threshold(kind) == (default if expected is None else expected)


def test_environment_threshold_not_finite_is_an_error_that_names_the_variable(environment):
    """``inf`` used to raise OverflowError (not a ValueError) from every call."""
    x = np.linspace(-1, 1, 11)
    for raw in ("inf", "-inf", "Infinity", "1e400", "nan", "-nan"):
        message = _threshold_error(environment, raw)
        assert THRESHOLD in message and repr(raw) in message, message
        with pytest.raises(ValueError, match=THRESHOLD):   # and so does every call meanwhile
            numelu.elu(x)


def test_environment_threshold_negative_or_fractional_is_an_error(environment):
    """``-5`` used to be accepted, ``1.5`` and ``-0.5`` silently truncated."""
    for raw in ("-5", "-1", "-1e6", "1.5", "-0.5", "0.25", "1e-3", "65536.5"):
        message = _threshold_error(environment, raw)
        assert THRESHOLD in message and repr(raw) in message, message
        assert "whole number" in message and ">= 0" in message, message


def test_environment_threshold_bad_value_fails_until_fixed(environment, monkeypatch):
    """A bad value is not cached as "defaults": every call fails until it is fixed."""
    x = np.linspace(-1, 1, 11)
    for raw in ("many", "1.5", "inf"):
        monkeypatch.setenv(THRESHOLD, raw)
        with pytest.raises(ValueError, match=THRESHOLD):
            _config.reload_environment()
        for _ in range(2):
            with pytest.raises(ValueError, match=THRESHOLD):
                numelu.elu(x)
            with pytest.raises(ValueError, match=THRESHOLD):
                with numelu.config(target="cpu"):
                    pass  # pragma: no cover
    assert environment(THRESHOLD, "100").threshold("exp") == 100
    np.testing.assert_array_equal(numelu.elu(x), numelu.elu(x, target="cpu"))


# --------------------------------------------------------------------------- NUMELU_TARGET


def test_environment_unknown_target_names_the_variable(environment, monkeypatch):
    """The error used to read only "unknown target 'gpu'", whichever way it was set."""
    x = np.linspace(-1, 1, 11)
    for raw in ("gpu", "threads", "cpu,parallel"):
        monkeypatch.setenv("NUMELU_TARGET", raw)
        with pytest.raises(ValueError) as error:
            _config.reload_environment()
        message = str(error.value)
        assert "NUMELU_TARGET" in message and repr(raw) in message, message
        for valid in VALID_TARGETS:
            assert valid in message
        with pytest.raises(ValueError, match="NUMELU_TARGET"):   # the first call says the same
            numelu.elu(x)
    for raw, expected in {" CPU ": "cpu", "Parallel": "parallel", "": "auto"}.items():
        assert environment("NUMELU_TARGET", raw).target == expected


# --------------------------------------------------------------------------- config()


@pytest.mark.parametrize("bad", [True, False, np.True_, 1.5, 0.5, -0.5, -1, -1.0,
                                 float("inf"), float("-inf"), float("nan"), np.float64("nan")])
def test_config_threshold_rejects_what_is_not_a_whole_number_of_elements(bad):
    """``True`` and ``1.5`` used to become 1, ``inf`` raised OverflowError."""
    with pytest.raises(ValueError) as error:
        with numelu.config(parallel_threshold=bad):
            pass  # pragma: no cover
    message = str(error.value)
    assert "parallel_threshold" in message and "NUMELU" not in message, message
    assert repr(bad) in message, message


def test_config_threshold_rejects_other_types():
    for bad in ([1], object(), b"1000", 1 + 0j, np.array([5])):
        with pytest.raises(TypeError, match="parallel_threshold"):
            with numelu.config(parallel_threshold=bad):
                pass  # pragma: no cover
    with numelu.config(parallel_threshold=" 65_536 ") as settings:   # text as in the environment
        assert settings.parallel_threshold == 65_536


def test_config_and_environment_agree(environment, monkeypatch):
    """One rule for both: the same values are accepted (as the same int) or rejected."""
    values = [0, 7, 65_536, 2**53 + 1, 2.0, 1e6, np.int64(9), np.uint8(3), np.float32(4.0),
              -1, -5, 1.5, 0.5, float("inf"), float("nan")]
    for value in values:
        outcomes = []
        for source in ("config", "environment"):
            try:
                if source == "config":
                    monkeypatch.delenv(THRESHOLD, raising=False)
                    _config.reload_environment()
                    with numelu.config(parallel_threshold=value) as settings:
                        threshold = settings.parallel_threshold
                else:
                    threshold = environment(THRESHOLD, str(value)).parallel_threshold
                outcomes.append((type(threshold), threshold))
            except ValueError:
                outcomes.append("error")
        assert outcomes[0] == outcomes[1], (value, outcomes)
        if outcomes[0] != "error":
            assert outcomes[0] == (int, int(value)), (value, outcomes)


def test_config_unknown_target_lists_the_valid_ones():
    with pytest.raises(ValueError) as error:
        with numelu.config(target="gpu"):
            pass  # pragma: no cover
    message = str(error.value)
    assert "gpu" in message, message
    for valid in VALID_TARGETS:
        assert valid in message
