"""A finished run loads back: the classifier rebuilt from its folder predicts exactly what the run reported.

One 2-epoch run of CDC (M = 2) and CoOp on the world with the shipped tiny CLIP, made once for the module;
the run's own first-seed test results (probabilities included) are captured from the report writer.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import causalvlm
from causalvlm.commands import evaluate as eval_command
from causalvlm.data import DATASETS
from causalvlm.experiments import experiment
from causalvlm.experiments.layers import build_experiment
from causalvlm.experiments.method_parts import build_classifier
from causalvlm.experiments.run_records import slug
from causalvlm.experiments.saved_run import evaluate_saved, open_run

LABELS = ("coop", "cdc[M=2]")


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory):
    """(config, the run's EvalResults by label → "shapeworld/base|new") of one finished experiment."""
    root = tmp_path_factory.mktemp("saved")
    settings = {
        "methods": [{"method": "coop"}, {"method": "cdc", "templates": 2}],
        "seeds": [1],
        "shots": 2,
        "world": {"n_test_per_class": 3, "n_val_per_class": 0},
        "compute_templates": [1],
        "train": {"max_epochs": 2, "batch_size": 8, "eval_batch_size": 32, "view_bank": 0},
        "data_root": str(root / "data"),
        "out": str(root / "out"),
    }
    config = build_experiment(None, settings)
    captured = {}
    write = experiment._write_report

    def capture(config, protocol, specs, output, *args, **kwargs):
        captured.update(output.evaluations)
        return write(config, protocol, specs, output, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(experiment, "_write_report", capture)
        experiment.run_experiment(config, log=lambda message: None)
    return config, captured


def _run_dir(config, label: str) -> Path:
    return Path(config.out) / "runs" / slug(label) / "shapeworld" / "seed1"


@pytest.mark.parametrize("label", LABELS)
def test_a_loaded_run_predicts_exactly_what_the_run_reported(finished, label):
    config, reported = finished
    saved = open_run(_run_dir(config, label))
    assert saved.spec.label == label
    record = saved.record
    for half in ("base", "new"):
        splits = DATASETS.build("shapeworld", root=record["data_root"], num_shots=2, seed=1, subsample=half)
        result = evaluate_saved(saved, splits.test, splits.classnames)
        run = reported[label][f"shapeworld/{half}"]
        assert torch.equal(result.probs, run.probs), f"{label} on {half}: other probabilities"
        assert torch.equal(result.labels, run.labels)
        assert result.accuracy == run.accuracy
        # the trained prompts were loaded: the untrained classifier of the same method predicts otherwise
        fresh = build_classifier(saved.spec, saved.backbone, record["classnames"], record["template"])
        untrained = evaluate_saved(
            type(saved)(saved.path, fresh.eval(), saved.spec, saved.config, saved.record),
            splits.test,
            splits.classnames,
        )
        assert not torch.equal(untrained.probs, run.probs)


def test_load_run_is_the_package_api(finished):
    config, _ = finished
    classifier = causalvlm.load_run(_run_dir(config, "coop"))
    assert isinstance(classifier, causalvlm.FrontDoorClassifier)
    assert not classifier.training


def test_eval_command_reproduces_results_json(finished, tmp_path, capsys, monkeypatch):
    import causalvlm.experiments.saved_run as saved_run

    config, _ = finished
    out = tmp_path / "scores.json"
    loads = []
    load = saved_run.load_backbone
    monkeypatch.setattr(saved_run, "load_backbone", lambda *key: loads.append(key) or load(*key))
    assert eval_command.main(["--run", config.out, "--out", str(out)]) == 0
    assert len(loads) == 1  # both runs record the same backbone: it is loaded once
    scores = json.loads(out.read_text())["runs"]
    results = json.loads((Path(config.out) / "results.json").read_text())["results"]
    assert len(scores) == len(LABELS)
    for run_dir, rows in scores.items():
        label = json.loads((Path(run_dir) / "config.json").read_text())["config"]["method"]["label"]
        for half in ("base", "new"):
            assert rows[f"shapeworld/{half}"]["accuracy"] == results[label]["shapeworld"][half]["values"][0]
    assert "| Run | Set | Accuracy |" in capsys.readouterr().out


def test_eval_command_names_the_file_it_cannot_write_and_exits_1(finished, tmp_path, monkeypatch, capsys):
    config, _ = finished
    out = tmp_path / "scores.json"

    def full_disk(path, payload):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(eval_command, "atomic_write_json", full_disk)
    assert eval_command.main(["--run", config.out, "--out", str(out)]) == 1  # a fault, not a refused input
    assert "scores.json" in capsys.readouterr().err
    assert not out.exists()


def test_a_run_trained_on_other_weights_is_refused(finished, tmp_path):
    config, _ = finished
    run_dir = tmp_path / "run"
    shutil.copytree(_run_dir(config, "coop"), run_dir)
    stored = json.loads((run_dir / "config.json").read_text())
    stored["config"]["backbone"]["weights"] = "file sha256 0000"
    (run_dir / "config.json").write_text(json.dumps(stored))
    with pytest.raises(ValueError, match="not the one it was trained with"):
        open_run(run_dir)


def test_eval_refuses_a_folder_without_runs_before_loading(tmp_path, capsys):
    assert eval_command.main(["--run", str(tmp_path)]) == 2
    assert "neither a run directory" in capsys.readouterr().err


def test_eval_scores_a_run_on_all_classes_of_a_dataset(finished, tmp_path):
    """--dataset/--protocol: the base-to-new run scored on every class of the world (cross-dataset style)."""
    config, _ = finished
    out = tmp_path / "all.json"
    run_dir = _run_dir(config, "coop")
    argv = ["--run", str(run_dir), "--dataset", "shapeworld", "--protocol", "cross-dataset"]
    assert eval_command.main([*argv, "--out", str(out)]) == 0
    (rows,) = json.loads(out.read_text())["runs"].values()
    saved = open_run(run_dir)
    splits = DATASETS.build("shapeworld", root=saved.record["data_root"], num_shots=2, seed=1)
    assert list(rows) == ["shapeworld"] and rows["shapeworld"]["images"] == len(splits.test)
    expected = evaluate_saved(saved, splits.test, splits.classnames)
    assert rows["shapeworld"]["accuracy"] == expected.accuracy
    assert len(splits.classnames) > len(saved.record["classnames"])  # more classes than it was trained on
