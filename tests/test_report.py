"""The benchmark report (numelu._bench, benchmarks/report.py) on a small hand-made JSON, and a
tiny run of ``python -m numelu bench`` whose JSON the report renders."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from numelu._bench import cli
from numelu._bench.report import (
    format_rate,
    format_ratio,
    format_size,
    format_time,
    render_markdown,
)
from numelu._bench.results import (
    compact_benchmark_json,
    group_results,
    meta_from_json,
    ratios,
    results_from_json,
)

DATA = Path(__file__).parent / "data" / "bench_small.json"
GROUP = ("elu", "normal", "float64", 1_000_000)
SMALL = ("elu_backward", "negative", "float32", 100)


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(DATA.read_text())


def test_results_from_json_reads_extra_info_and_skips_foreign_entries(document):
    results = results_from_json(document)
    assert len(results) == 11                      # the 12th entry is not a numelu benchmark
    first = results[0]
    assert (first.function, first.dtype, first.size, first.data) == ("elu", "float64",
                                                                       1_000_000, "normal")
    assert (first.contender, first.role, first.seconds) == ("numelu-auto", "numelu", 0.002)


def test_groups_in_report_order(document):
    groups = group_results(results_from_json(document))
    assert list(groups) == [GROUP, SMALL]             # function order of numelu's table
    names = [r.contender for r in groups[GROUP]]
    assert names == ["numelu-auto", "numelu-auto-out", "numelu-cpu", "numpy", "wall-copyto",
                     "floor-negative", "torch", "jax"]


def test_ratios_best_of_rounds(document):
    groups = group_results(results_from_json(document))
    g = ratios(groups[GROUP])
    assert g.numpy == 0.010
    assert g.peer.contender == "torch" and g.peer.seconds == 0.003
    assert g.wall.contender == "wall-copyto" and g.wall.seconds == 0.001
    assert g.floor.contender == "floor-negative" and g.floor.seconds == 0.0011
    auto, out = g.ratios["numelu-auto"], g.ratios["numelu-auto-out"]
    assert auto["vs_floor"] == pytest.approx(2 / 1.1)
    assert out["vs_floor"] == pytest.approx(1.5 / 1.1)
    assert auto["x_numpy"] == pytest.approx(5.0)
    assert auto["vs_peer"] == pytest.approx(2 / 3)
    assert auto["vs_wall"] == pytest.approx(2.0)
    assert out["x_numpy"] == pytest.approx(20 / 3)
    assert out["vs_peer"] == pytest.approx(0.5)
    assert out["vs_wall"] == pytest.approx(1.5)
    assert g.ratios["numpy"]["x_numpy"] == pytest.approx(1.0)
    assert g.ratios["torch"]["vs_peer"] == pytest.approx(1.0)
    assert g.ratios["jax"]["vs_peer"] == pytest.approx(4 / 3)


def test_ratios_without_a_peer(document):
    groups = group_results(results_from_json(document))
    g = ratios(groups[SMALL])
    assert g.peer is None
    r = g.ratios["numelu-auto"]
    assert r["x_numpy"] == pytest.approx(0.5)
    assert r["vs_peer"] is None
    assert r["vs_wall"] == pytest.approx(8.0)      # against the two-input wall, np.add
    assert g.floor is None and r["vs_floor"] is None


def test_ratios_on_the_median(document):
    groups = group_results(results_from_json(document, stat="median"))
    g = ratios(groups[GROUP])
    assert g.peer.contender == "jax"                 # the fastest peer by median
    out = g.ratios["numelu-auto-out"]
    assert (out["x_numpy"], out["vs_peer"], out["vs_wall"]) == pytest.approx((4.0, 1.5, 3.0))


def test_markdown_summary_and_details(document):
    results = results_from_json(document)
    text = render_markdown(results, meta=meta_from_json(document))
    lines = text.splitlines()
    assert "Test CPU" in text and "2026-01-02" in text and "numelu: 0.1.0" in text
    summary = [line for line in lines if line.startswith("| elu | normal | float64 | 10^6 |")]
    assert summary == ["| elu | normal | float64 | 10^6 | 10 ms | 1.5 ms | 6.67 | torch 3 ms "
                       "| 0.5 | 1.5 | 1.36 | numelu-auto-out 1.5 ms |"]
    small = [line for line in lines if line.startswith("| elu_backward | negative |")]
    assert small == ["| elu_backward | negative | float32 | 10^2 | 2 µs | 4 µs | 0.5 | – | – "
                     "| 8 | – | numelu-auto 4 µs |"]
    assert "### elu, float64, n = 10^6, normal input" in lines
    assert "| numelu-auto | numelu | 2 ms | 500 M/s | 5 | 0.667 | 2 | 1.82 |" in lines
    assert "| jax | peer | 4 ms | 250 M/s | 2.5 | 1.33 | 4 | 3.64 |" in lines
    # every table row has as many cells as its header
    for block in text.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        assert len({line.count("|") for line in rows}) <= 1


def test_formatting():
    assert format_time(1.5e-3) == "1.5 ms"
    assert format_time(2.5) == "2.5 s"
    assert format_time(3.2e-7) == "320 ns"
    assert format_time(9.997e-7) == "1 µs" and format_time(9.994e-7) == "999 ns"
    assert format_rate(2.5e9) == "2.5 G/s"
    assert format_size(10**7) == "10^7" and format_size(1234) == "1,234"
    assert format_ratio(None) == "–" and format_ratio(123.4) == "123"


def test_report_main_writes_markdown(tmp_path, capsys):
    out = tmp_path / "report.md"
    assert cli.report_main([str(DATA), "--markdown", str(out)]) == 0
    assert "| elu | normal | float64 | 10^6 |" in out.read_text(encoding="utf-8")
    assert cli.report_main([str(DATA)]) == 0
    assert "## Summary" in capsys.readouterr().out


def test_report_main_rejects_a_json_without_results(tmp_path, capsys):
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"benchmarks": []}))
    assert cli.report_main([str(empty)]) == 1
    assert "no numelu benchmark results" in capsys.readouterr().err
    assert cli.report_main(["--no-such-option"]) == 2


def test_plot_writes_a_png(tmp_path, document):
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        pytest.skip(f"matplotlib is not installed ({error})")
    path = tmp_path / "plot.png"
    assert cli.report_main([str(DATA), "--markdown", str(tmp_path / "r.md"),
                               "--plot", str(path)]) == 0
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_bench_cli_json_renders(tmp_path, capsys):
    """``python -m numelu bench`` without pytest: best-of-N timing, progress on stderr, a table on
    stdout, and a JSON that the report reads back."""
    path = tmp_path / "bench.json"
    code = cli.main(["--functions", "elu,elu_backward", "--sizes", "100,1e3",
                        "--dtypes", "float32", "--data", "normal",
                        "--contenders", "numelu-auto,numelu-cpu-out,numpy,wall-copyto,wall-add",
                        "--repeats", "2", "--min-time", "0.0005", "--json", str(path)])
    captured = capsys.readouterr()
    assert code == 0
    assert "[1/" in captured.err and "done in" in captured.err
    assert "| elu | normal | float32 | 10^3 |" in captured.out
    results = results_from_json(json.loads(path.read_text()))
    groups = group_results(results)
    assert list(groups) == [("elu", "normal", "float32", 100), ("elu", "normal", "float32", 1000),
                            ("elu_backward", "normal", "float32", 100),
                            ("elu_backward", "normal", "float32", 1000)]
    for key, group in groups.items():
        wall = "wall-copyto" if key[0] == "elu" else "wall-add"
        assert [r.contender for r in group] == ["numelu-auto", "numelu-cpu-out", "numpy", wall]
        assert all(r.seconds > 0 and math.isfinite(r.seconds) for r in group)


@pytest.mark.parametrize("argv", [["--functions", "nope"], ["--dtypes", "float16"],
                                  ["--contenders", "fastest"], ["--sizes", "many"]])
def test_bench_cli_rejects_bad_arguments(argv, capsys):
    assert cli.main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_compact_json_drops_per_round_data(document):
    doc = json.loads(json.dumps(document))
    doc["benchmarks"][0]["stats"]["data"] = [0.002] * 1000
    doc["benchmarks"][0]["params"] = {"case": "UNSERIALIZABLE[Case(...)]"}
    small = compact_benchmark_json(doc)
    first = small["benchmarks"][0]
    assert "data" not in first["stats"] and first["stats"]["min"] == 0.002
    assert first["params"] == {"function": "elu", "dtype": "float64", "size": 1_000_000,
                               "data": "normal", "contender": "numelu-auto"}
    assert results_from_json(small) == results_from_json(document)
