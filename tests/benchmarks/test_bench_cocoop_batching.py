"""The CoCoOp batching benchmark at its smallest scale on CPU: batched and looped loss agree; ratios."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_cocoop_batching.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("bench_cocoop_batching", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_quick_scale_compares_batched_and_looped_steps(capsys):
    rows = load_benchmark().main(["--scale", "quick", "--device", "cpu"])
    out = capsys.readouterr().out
    assert len(rows) == 1
    row = rows[0]
    # one text pass over B×C prompts computes the loss of B separate passes
    assert row["loss_diff"] < 1e-4
    for name in ("batched", "loop", "loop77"):
        assert row[f"{name}_ms"] > 0 and row[f"{name}_MiB"] > 0
    assert math.isclose(row["loop_ratio"], row["loop_ms"] / row["batched_ms"], rel_tol=1e-9)
    assert math.isclose(row["loop77_ratio"], row["loop77_ms"] / row["batched_ms"], rel_tol=1e-9)
    # the full 77-token context keeps more activations for backward than the truncated prompts
    assert row["loop77_MiB"] > row["loop_MiB"]
    assert "loop / batched" in out and "images/s" in out
