"""docs/contract.md §4, the function as an object: attributes and docstrings, public names,
pickling (in process and in a fresh subprocess), and the on-disk kernel cache shared by processes.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from ufunc_helpers import FLOATS, NAMES, REPO, assert_matches, numpy_twin, scalar_inputs

import numelu

# --------------------------------------------------------------------------- attributes


@pytest.mark.parametrize("name", NAMES)
def test_attributes(name, spec):
    function = getattr(numelu, name)
    twin = numpy_twin(spec.nin)
    assert function.__name__ == name
    assert function.nin == spec.nin and function.nout == 1 and function.nargs == spec.nin + 1
    assert function.types == ["e" * spec.nin + "->e", "f" * spec.nin + "->f",
                              "d" * spec.nin + "->d"]
    assert function.ntypes == 3 == len(function.types)
    assert function.identity is None
    if twin is not None:
        assert function.identity == twin.identity
        assert function.nargs == twin.nargs and function.nout == twin.nout
    doc = function.__doc__
    assert spec.math in doc
    assert ">>>" in doc and f"numelu.{name}(" in doc
    assert "Parameters" in doc and all(role in doc for role in spec.inputs)
    assert name in repr(function)
    for genuine in (function.cpu, function.parallel):
        assert isinstance(genuine, np.ufunc)
        assert genuine.__name__ == name
        assert genuine.types == function.types
        assert genuine.nin == function.nin and genuine.nout == 1
        assert genuine.nargs == function.nargs and genuine.ntypes == function.ntypes
        assert genuine.identity is None and genuine.signature is None
        assert name in repr(genuine)
        assert spec.math in genuine.__doc__
    assert function.cpu is function.cpu and function.cpu is not function.parallel


def test_doc_examples_run():
    """The example in every docstring prints what it claims."""
    for name in NAMES:
        doc = getattr(numelu, name).__doc__
        lines = doc.split("Examples", 1)[1].splitlines()
        call = next(line[4:] for line in lines if line.startswith(">>> numelu."))
        shown = "\n".join(lines[lines.index(">>> " + call) + 1:]).strip()
        claimed = eval(shown, {"array": np.array})
        got = eval(call, {"numelu": numelu, "np": np})
        np.testing.assert_allclose(got, claimed, rtol=5e-8, atol=5e-9, err_msg=name)


def test_public_names():
    assert set(NAMES) <= set(numelu.__all__)
    for name in NAMES:
        assert numelu.FUNCTIONS_BY_NAME[name] is getattr(numelu, name)


# --------------------------------------------------------------------------- pickling


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip_in_process(name, protocol):
    function = getattr(numelu, name)
    for obj in (function, function.cpu, function.parallel):
        assert pickle.loads(pickle.dumps(obj, protocol=protocol)) is obj


def _subprocess_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@pytest.mark.slow
def test_pickle_round_trip_in_fresh_subprocess(tmp_path):
    """Pickled here, unpickled and called in a new interpreter (as Dask/multiprocessing do)."""
    names = ["elu", "selu", "celu_backward"]
    objects = []
    for name in names:
        function = getattr(numelu, name)
        objects += [(name, "dispatcher", function), (name, "cpu", function.cpu),
                    (name, "parallel", function.parallel)]
    inputs = {name: scalar_inputs(name, n=9) for name in names}
    payload = pickle.dumps([(name, kind, obj, inputs[name]) for name, kind, obj in objects])
    (tmp_path / "in.pkl").write_bytes(payload)
    code = (
        "import pickle, sys\n"
        "items = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "import numpy as np, numelu\n"
        "results = []\n"
        "for name, kind, obj, args in items:\n"
        "    expected = getattr(numelu, name) if kind == 'dispatcher' else "
        "getattr(getattr(numelu, name), kind)\n"
        "    assert obj is expected, (name, kind)\n"
        "    results.append(obj(*args))\n"
        "open(sys.argv[2], 'wb').write(pickle.dumps(results))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "in.pkl"),
                           str(tmp_path / "out.pkl")], capture_output=True, text=True,
                          timeout=300, env=_subprocess_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    results = pickle.loads((tmp_path / "out.pkl").read_bytes())
    for (name, _kind, _obj), result in zip(objects, results, strict=True):
        assert_matches(result, name, *inputs[name])


# --------------------------------------------------------------------------- cache hygiene


@pytest.mark.slow
def test_loops_cached_by_different_processes_do_not_mix(tmp_path):
    """Kernels compiled into one on-disk cache by separate processes stay distinct.

    Numba names a compiled function by its qualified name plus a per-process counter; two
    closures with the same qualified name compiled by two processes can get the same symbol,
    and a third process loading both from the cache then runs one kernel in place of the other.
    """
    env = _subprocess_env()
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "cache")
    for name in ("elu", "selu"):
        done = subprocess.run([sys.executable, "-c", f"import numelu; numelu.{name}.cpu"],
                              capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
    code = (
        "import numpy as np, numelu\n"
        "x = np.linspace(-3, 3, 7)\n"
        "for dtype in ('e', 'f', 'd'):\n"
        "    xs = x.astype(dtype)\n"
        "    print(repr(numelu.elu.cpu(xs, np.array(0.5, dtype)).tolist()))\n"
        "    print(repr(numelu.selu.cpu(xs).tolist()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.split("\n")
    x = np.linspace(-3, 3, 7)
    for i, dtype in enumerate(FLOATS):
        xs = x.astype(dtype)
        assert_matches(np.array(eval(lines[2 * i]), dtype=dtype), "elu", xs, 0.5)
        assert_matches(np.array(eval(lines[2 * i + 1]), dtype=dtype), "selu", xs)
