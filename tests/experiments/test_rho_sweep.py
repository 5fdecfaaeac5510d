"""The ρ sweep on the world: one experiment per ρ, a table and a figure; bad values fail before any run."""

from __future__ import annotations

import json

import pytest

from causalvlm.experiments.experiment import ExperimentConfig, build_experiment
from causalvlm.experiments.rho_sweep import check_rhos, sweep_rho, sweep_table


@pytest.mark.parametrize("rhos, match", [([], "at least one"), ([0.2, 1.5], "1.5"), ([0.5, 0.5], "distinct")])
def test_bad_rho_values_are_named(rhos, match):
    with pytest.raises(ValueError, match=match):
        check_rhos(rhos)


def test_sweep_refuses_a_dataset_other_than_the_world(tmp_path):
    config = ExperimentConfig(datasets=["imagefolder"], out=str(tmp_path / "out"))
    with pytest.raises(ValueError, match="shapeworld"):
        sweep_rho(config, [0.0])
    assert not (tmp_path / "out").exists()


def test_sweep_table_shows_mean_and_std():
    row = {"rho": 0.5, "method": "coop", "base": 50.0, "new": 40.0, "hm": 44.44}
    row |= {"base_std": 1.0, "new_std": 2.0, "hm_std": 1.5}
    assert "| 0.5 | coop | 50.0 ± 1.0 | 40.0 ± 2.0 | 44.4 ± 1.5 |" in sweep_table([row])


def test_small_sweep_writes_one_run_per_rho_and_the_figure(micro_clip_path, tmp_path):
    settings = {
        "backbone": str(micro_clip_path),
        "pretrained": None,
        "methods": [{"method": "zeroshot"}, {"method": "coop"}],
        "seeds": [1],
        "shots": 1,
        "world": {"n_test_per_class": 1, "n_val_per_class": 0},
        "compute_templates": [1],
        "train": {"max_epochs": 1, "batch_size": 4, "eval_batch_size": 64},
        "data_root": str(tmp_path / "data"),
        "out": str(tmp_path / "sweep"),
    }
    rows = sweep_rho(build_experiment(None, settings), [0.0, 0.9], log=lambda message: None)
    assert [(r["rho"], r["method"]) for r in rows] == [
        (0.0, "zeroshot"),
        (0.0, "coop"),
        (0.9, "zeroshot"),
        (0.9, "coop"),
    ]
    for row in rows:
        assert 0.0 <= row["new"] <= 100.0 and row["hm_std"] == 0.0  # one seed → no spread
    saved = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert saved["rhos"] == [0.0, 0.9] and saved["rows"] == rows
    assert (tmp_path / "sweep" / "rho_sweep.png").stat().st_size > 0
    # each ρ has its own world with the asked-for strength, in a folder keyed by the world's parameters
    tasks = sorted((tmp_path / "data" / "worlds").glob("*/shapeworld/task.json"))
    assert sorted(json.loads(path.read_text())["rho"] for path in tasks) == [0.0, 0.9]
    # A second sweep into the same folder is refused before its first run, naming the way on.
    before = (tmp_path / "sweep" / "sweep.json").stat().st_mtime_ns
    with pytest.raises(ValueError, match=r"rho_0 already holds the runs of an earlier experiment.*--resume"):
        sweep_rho(build_experiment(None, settings), [0.0, 0.9], log=lambda message: None)
    assert (tmp_path / "sweep" / "sweep.json").stat().st_mtime_ns == before
