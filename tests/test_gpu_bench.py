"""The GPU benchmark without a GPU: its report on a small hand-made JSON (GB/s, the copy's
fraction, the goals), the formulas of its CuPy kernels and PyTorch calls checked against the
float64 NumPy reference on the CPU, its contender table, and the one-command GPU check in its
dry mode (Numba's CUDA simulator, tiny sizes) end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from numelu._bench import cli, gpu_report
from numelu._bench.cases import ALPHA, DEFAULT_FUNCTIONS, DTYPES, Case, make_inputs
from numelu._bench.correctness import mismatch
from numelu._bench.gpu_contenders import (
    CUPY_CONSTANTS,
    CUPY_FORMULAS,
    GPU_CONTENDERS,
    cupy_parameters,
    cupy_source,
    moved_bytes,
    select_gpu_contenders,
    torch_call,
)
from numelu._reference import has_alpha

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "bench_gpu_small.json"
EDGES = [0.0, -0.0, 1e-8, -1e-8, 0.5, -0.5, -20.0, 3.0, -80.0, 1e4]


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(DATA.read_text())


def _inputs(case: Case) -> tuple[np.ndarray, ...]:
    arrays = make_inputs(case)
    for array in arrays:
        array[: len(EDGES)] = np.array(EDGES, dtype=case.dtype)
    return arrays


# ------------------------------------------------------------------------------ the report


def test_gpu_json_is_recognised(document):
    assert gpu_report.is_gpu_document(document)
    cpu = json.loads((Path(__file__).parent / "data" / "bench_small.json").read_text())
    assert not gpu_report.is_gpu_document(cpu)


def test_bytes_and_bandwidth(document):
    assert moved_bytes("elu", "numelu", 10, "float32") == 80            # x read, out written
    assert moved_bytes("elu_backward", "peer", 10, "float64") == 240    # grad, x, out
    assert moved_bytes("elu_backward", "wall", 10, "float64") == 160    # the copy: x, out
    groups = gpu_report.grouped(gpu_report.gpu_results(document))
    assert len(groups) == 3                           # the foreign entry is ignored
    elu = groups[("elu", "normal", "float32", 10**8)]
    assert [r.result.contender for r in elu] == ["numelu-cupy", "numelu-cupy-out",
                                                  "cupy-kernel", "torch", "wall-copy"]
    wall, out = elu[-1], elu[1]
    assert wall.gbps == pytest.approx(800.0)
    assert out.gbps == pytest.approx(8e8 / 1.1e-3 / 1e9)
    assert gpu_report.copy_fraction(out, elu) == pytest.approx(1 / 1.1)
    backward = groups[("elu_backward", "normal", "float64", 10**8)]
    # three arrays moved in 4 ms against the copy's two in 2 ms: 75%, not the time ratio (50%)
    assert gpu_report.copy_fraction(backward[0], backward) == pytest.approx(0.75)


def test_goals_met_and_unmet(document):
    found = gpu_report.goals(gpu_report.grouped(gpu_report.gpu_results(document)))
    table = {(g.case, g.contender): (g.measured, g.met) for g in found}
    assert table[("elu float32", "numelu-cupy-out")] == ("91% (727 GB/s)", True)
    assert table[("elu_backward float64", "numelu-torch-out")] == ("75% (600 GB/s)", False)
    assert table[("elu float32", "numelu-cupy / cupy-kernel")] == ("2.50× (30 µs vs 12 µs)",
                                                                   False)
    assert table[("elu float32", "numelu-cupy-out / cupy-kernel-out")][1] is True


def test_goals_not_measured_without_the_goal_sizes(document):
    small = {**document, "benchmarks": [e for e in document["benchmarks"]
                                        if (e.get("extra_info") or {}).get("size") == 1000]}
    found = gpu_report.goals(gpu_report.grouped(gpu_report.gpu_results(small)))
    assert [g.met for g in found] == [None, False, True]
    assert "not measured: no n = 10^8 results" in found[0].measured


def test_markdown(document):
    text = gpu_report.render_gpu_markdown(document)
    lines = text.splitlines()
    assert lines[0] == "# numelu GPU benchmark"
    assert "gpu: NVIDIA H100 80GB HBM3 (hand-made test data)" in text and "numpy: 2.5.0" in text
    assert ("| ≥ 85% of the copy's bandwidth at n = 10^8 | elu float32 | numelu-cupy-out "
            "| 91% (727 GB/s) | yes |") in lines
    assert "| ≥ 85% of the copy's bandwidth at n = 10^8 | elu_backward float64 | " \
           "numelu-torch-out | 75% (600 GB/s) | **no** |" in lines
    assert "2 of 4 measured goal rows met; 0 not measured." in lines
    assert ("| elu | float32 | 10^8 | 1 ms, 800 GB/s | numelu-cupy-out 1.1 ms | 91% "
            "| cupy-kernel 1.05 ms | 95% | torch 1.2 ms | 83% | 1.05 |") in lines
    assert "| numelu-cupy | cupy | numelu | 30 µs | 25 µs | 0.267 | 27% | 2.73 |" in lines
    for block in text.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        assert len({line.count("|") for line in rows}) <= 1


def test_report_script_renders_a_gpu_json(tmp_path, capsys):
    out = tmp_path / "gpu.md"
    assert cli.report_main([str(DATA), "--markdown", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# numelu GPU benchmark") and "## Goals" in text
    assert cli.report_main([str(DATA), "--stat", "median"]) == 0
    assert "the median of the rounds" in capsys.readouterr().out
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"machine_info": {"numelu_gpu": {}}, "benchmarks": []}))
    assert cli.report_main([str(empty)]) == 1


def test_report_script_plots_a_gpu_json(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    path = tmp_path / "gpu.png"
    assert cli.report_main([str(DATA), "--markdown", str(tmp_path / "g.md"),
                            "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------ the contenders


def test_contender_table():
    names = [c.name for c in GPU_CONTENDERS]
    assert len(names) == len(set(names))
    assert [c.name for c in GPU_CONTENDERS if c.role == "wall"] == ["wall-copy"]
    assert {c.role for c in GPU_CONTENDERS} == {"numelu", "peer", "wall"}
    for function in DEFAULT_FUNCTIONS:
        assert all(c.applies_to(function) for c in GPU_CONTENDERS)
    assert select_gpu_contenders(["wall-copy"]) == [GPU_CONTENDERS[-1]]
    with pytest.raises(ValueError, match="unknown GPU contender"):
        select_gpu_contenders(["numelu-auto"])


def _evaluate_cupy_formula(case: Case, arrays: tuple[np.ndarray, ...]) -> np.ndarray:
    """The CuPy kernel's C expressions evaluated by NumPy, every operand in the case's dtype."""
    kind = np.dtype(case.dtype).type
    values = dict(zip(cupy_parameters(case.function),
                      [*arrays, *((kind(ALPHA),) if has_alpha(case.function) else ()),
                       *(kind(CUPY_CONSTANTS[c]) for c in CUPY_FORMULAS[case.function][0])],
                      strict=True))
    namespace = {"__builtins__": {}, "exp": np.exp, "expm1": np.expm1, **values}
    _, condition, positive, negative = CUPY_FORMULAS[case.function]
    with np.errstate(over="ignore"):
        result = np.where(eval(condition, namespace), eval(positive, namespace),  # noqa: S307
                          eval(negative, namespace))                            # noqa: S307
    return result.astype(case.dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("function", DEFAULT_FUNCTIONS)
def test_cupy_kernel_formula_is_the_function(function, dtype):
    case = Case(function, dtype, 2000)
    arrays = _inputs(case)
    contender = next(c for c in GPU_CONTENDERS if c.name == "cupy-kernel")
    assert mismatch(case, contender, arrays, _evaluate_cupy_formula(case, arrays)) is None
    in_params, out_params, operation = cupy_source(function)
    assert in_params.startswith("T ") and out_params == "T out"
    assert operation.startswith("out = (x > 0) ? (T)(") and operation.endswith(");")


def test_cupy_kernel_formula_check_catches_a_wrong_formula(monkeypatch):
    """The check above can fail: a wrong constant is caught."""
    monkeypatch.setitem(CUPY_FORMULAS, "selu", (("scale", "sa"), "x > 0", "scale * x",
                                                "scale * (sa * exp(x))"))
    case = Case("selu", "float64", 100)
    arrays = _inputs(case)
    contender = next(c for c in GPU_CONTENDERS if c.name == "cupy-kernel")
    assert "differ" in mismatch(case, contender, arrays, _evaluate_cupy_formula(case, arrays))


@pytest.mark.parametrize("with_out", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("function", DEFAULT_FUNCTIONS)
def test_torch_call_is_the_function_on_cpu_tensors(function, dtype, with_out):
    """The same PyTorch calls the GPU contenders make, on CPU tensors."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    case = Case(function, dtype, 2000)
    arrays = _inputs(case)
    tensors = tuple(torch.from_numpy(a.copy()) for a in arrays)
    out = torch.empty(case.size, dtype=tensors[0].dtype) if with_out else None
    result = torch_call(case, tensors, out, device="cpu")()
    if with_out:
        assert result.data_ptr() == out.data_ptr()
    contender = next(c for c in GPU_CONTENDERS if c.name == "torch")
    assert mismatch(replace(case), contender, arrays, result.numpy()) is None


# ------------------------------------------------------------------------------ the one command


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                    reason="needs bash and coreutils' timeout")
def test_gpu_check_dry_run(tmp_path):
    """``benchmarks/gpu_check.sh OUT --dry-run``: versions, the gpu-marked tests (skipped here),
    the benchmark under Numba's CUDA simulator (values checked), the report from its JSON."""
    pytest.importorskip("numba_cuda", reason='numba-cuda not installed (pip install '
                        '"numba-cuda[cu13]"); the simulator comes with it')
    env = {**os.environ, "PYTHON": os.environ.get("PYTHON", "") or _python()}
    result = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), str(tmp_path),
                             "--dry-run"], capture_output=True, text=True, timeout=300,
                            cwd=ROOT, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    names = {p.name for p in tmp_path.iterdir()}
    assert "gpu_check.log" in names and "summary.txt" in names, names
    json_files = [n for n in names if n.endswith(".json")]
    assert len(json_files) == 1, names
    document = json.loads((tmp_path / json_files[0]).read_text())
    results = gpu_report.gpu_results(document)
    timed = {r.result.contender for r in results}
    assert {"numelu-numba", "numelu-numba-out", "wall-copy"} <= timed, timed
    assert all(r.result.seconds > 0 for r in results)
    markdown = (tmp_path / json_files[0].replace(".json", ".md")).read_text(encoding="utf-8")
    assert "## Goals" in markdown and "simulator" in markdown
    summary = (tmp_path / "summary.txt").read_text()
    assert "dry run" in summary and "benchmark: ok" in summary, summary


def _python() -> str:
    import sys

    return sys.executable
