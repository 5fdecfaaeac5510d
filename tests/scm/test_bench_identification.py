"""benchmarks/bench_identification.py at a tiny scale: its counts add up and every verdict checks out."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_identification.py"


def test_tiny_sweep_counts_add_up(capsys):
    spec = importlib.util.spec_from_file_location("bench_identification", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    rows = module.main(["--sizes", "5", "--graphs", "6", "--rows", "3000", "--repeats", "1"])
    assert [row["kind"] for row in rows] == ["single", "set", "conditional"]
    for row in rows:
        assert row["identified"] + row["hedged"] == row["queries"] == 6
        assert row["exact"] == row["identified"] and row["valid_hedge"] == row["hedged"]
        assert row["max_error"] < 1e-9
    assert "ratio" in capsys.readouterr().out
