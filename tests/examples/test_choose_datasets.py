"""The selection rule of examples/cdc/choose_datasets.py, on made-up rows (no world, no model)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

STUDIES = Path(__file__).resolve().parents[2] / "examples" / "cdc"


@pytest.fixture
def choose_datasets(monkeypatch):
    monkeypatch.syspath_prepend(str(STUDIES))  # the study imports its neighbour world_validation
    yield importlib.import_module("choose_datasets")
    sys.modules.pop("choose_datasets", None)


def row(style: str, noise: float, zero: float, gap: float) -> dict:
    return {"world": {"style": style, "noise_max": noise}, "zero_base": zero, "gap": gap}


def test_the_largest_gap_in_the_window_wins_and_ties_go_to_less_noise(choose_datasets):
    rows = [row("filled", 0.08, 90.0, 30.0), row("outline", 0.3, 60.0, 14.5), row("sketch", 0.08, 70.0, 14.0)]
    chosen, verdict = choose_datasets.choose(rows)
    assert chosen["world"]["style"] == "sketch" and verdict == "meets the regime"  # 90 is outside the window
    assert choose_datasets.meets(chosen)


def test_a_small_gap_misses_and_no_candidate_in_the_window_takes_the_nearest(choose_datasets):
    chosen, verdict = choose_datasets.choose([row("filled", 0.08, 50.0, 4.0)])
    assert verdict.startswith("misses the regime") and not choose_datasets.meets(chosen)
    chosen, verdict = choose_datasets.choose([row("filled", 0.08, 99.0, 9.0), row("pattern", 0.3, 80.0, 1.0)])
    assert chosen["world"]["style"] == "pattern" and verdict.startswith("outside the regime")


def test_stage_two_adds_object_sizes_to_the_label_styles(choose_datasets):
    first, second = choose_datasets.candidates("colourworld", 1), choose_datasets.candidates("colourworld", 2)
    assert {c["style"] for c in first} == {"filled", "pattern", "outline"}
    assert {c["size_scale"] for c in second} == {0.6, 1.3} and len(second) == 2 * len(first)
