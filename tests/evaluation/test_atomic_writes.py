"""Atomic writes: usual file mode, named temp files that a later start can find, results.json last."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from matplotlib.figure import Figure

import causalvlm.evaluation.report as report
from causalvlm.evaluation import (
    ResultsCollector,
    atomic_save_figure,
    atomic_write_json,
    atomic_write_text,
    build_payload,
)
from causalvlm.evaluation.atomic import remove_stale_temp_files, stale_temp_files, temp_path_for
from causalvlm.scm import load_graph


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_written_files_get_the_usual_mode_not_0600(tmp_path, umask_022):
    figure = Figure()
    figure.add_subplot().plot([0, 1])
    for path in (
        atomic_write_json(tmp_path / "a.json", {"x": 1}),
        atomic_save_figure(figure, tmp_path / "f.png"),
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_the_umask_is_respected(tmp_path):
    previous = os.umask(0o077)
    try:
        path = atomic_write_json(tmp_path / "private.json", {})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_stale_temp_files_are_found_by_their_name_only(tmp_path):
    leftover = temp_path_for(tmp_path / "results.json")
    leftover.write_text("half")
    assert leftover.name.startswith(".results.json.") and leftover.name.endswith(".tmp")
    keep = [tmp_path / ".notes.tmp", tmp_path / "results.json", tmp_path / ".results.json.tmp"]
    for path in keep:
        path.write_text("keep")
    assert stale_temp_files([tmp_path, tmp_path / "missing"]) == [leftover]
    assert remove_stale_temp_files([tmp_path]) == [leftover]
    assert not leftover.exists() and all(p.exists() for p in keep)


def _payload() -> dict:
    collector = ResultsCollector("base2new")
    metrics = {"base": 50.0, "new": 40.0, "hm": 44.4, "ece_base": 1.0, "ece_new": 2.0}
    collector.add("coop", "colours", 1, {**metrics, "template_base": [50.0], "template_new": [40.0]})
    return build_payload("base2new", collector, [], {"coop": {}}, {"epochs": 1})


@pytest.fixture
def quick_figures(monkeypatch):
    """Every figure of the report as a one-line file, written the same atomic way (order is what matters)."""
    for name in ("plot_accuracy_per_epoch", "plot_reliability", "plot_scm", "plot_template_accuracy"):
        monkeypatch.setattr(report, name, lambda data, path, **options: atomic_write_text(path, "figure"))


def test_results_json_is_written_last(tmp_path, monkeypatch, quick_figures):
    order: list[str] = []
    real = report.write_results

    def recording(out_dir, payload):
        order.extend(sorted(p.name for p in Path(out_dir).iterdir()))  # what exists when results start
        return real(out_dir, payload)

    monkeypatch.setattr(report, "write_results", recording)
    written = report.write_report(tmp_path, _payload(), {}, load_graph("cdc_frontdoor"))
    assert [p.name for p in written][-2:] == ["results.json", "results.md"]
    assert "results.json" not in order and {"scm.png", "accuracy_per_epoch.png"} <= set(order)
    assert (tmp_path / "results.json").stat().st_mtime_ns >= (tmp_path / "results.md").stat().st_mtime_ns


def test_a_failed_figure_leaves_no_results_json_beside_old_figures(tmp_path, monkeypatch, quick_figures):
    atomic_write_json(tmp_path / "results.json", {"from": "the previous run"})

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(report, "plot_scm", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            report.write_report(tmp_path, _payload(), {}, load_graph("cdc_frontdoor"))
    # The old results.json is gone: it would describe figures that are now half replaced.
    assert not (tmp_path / "results.json").exists()
    assert stale_temp_files([tmp_path]) == []
    report.write_report(tmp_path, _payload(), {}, load_graph("cdc_frontdoor"))
    assert json.loads((tmp_path / "results.json").read_text())["protocol"] == "base2new"
