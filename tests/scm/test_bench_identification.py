"""The identification benchmarks at a tiny scale: their counts add up and every verdict checks out."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_tiny_sweep_counts_add_up(capsys):
    rows = load("bench_identification").main(
        ["--sizes", "5", "--graphs", "6", "--rows", "3000", "--repeats", "1"]
    )
    assert [row["kind"] for row in rows] == ["single", "set", "conditional"]
    for row in rows:
        assert row["identified"] + row["hedged"] == row["queries"] == 6
        assert row["exact"] == row["identified"] and row["valid_hedge"] == row["hedged"]
        assert row["max_error"] < 1e-9
    assert "ratio" in capsys.readouterr().out


def test_y0_comparison_verifies_every_disagreement(capsys):
    pytest.importorskip("y0")
    counts = load("bench_vs_y0").main(["--graphs", "8"])
    assert counts["agree"] + counts["y0_raised"] + counts["disagree"] == counts["queries"] == 24
    assert counts["ours_verified"] == counts["disagree"]
    assert "ratio y0 / causalvlm" in capsys.readouterr().out
