"""The cross-dataset and cross-domain protocols end to end on the world (tiny settings: 1 image per class)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.experiment import run_experiment
from causalvlm.worlds import WORLD_CROSS_DOMAIN_TARGETS

TINY_WORLD = {"n_train_per_class": 2, "n_val_per_class": 1, "n_test_per_class": 1, "style": "silhouette"}
TINY_TRAIN = {"max_epochs": 1, "batch_size": 48, "view_bank": 0, "val_every_n_epochs": 1}


def _run(tmp_path: Path, protocol: str, targets: list[str], methods: list) -> dict:
    config = ExperimentConfig(
        protocol=protocol,
        datasets=["shapeworld"],
        targets=targets,
        data_root=str(tmp_path / "data"),
        out=str(tmp_path / protocol),
        world=TINY_WORLD,
        methods=methods,
        seeds=[1, 2],
        shots=2,
        train=TINY_TRAIN,
        compute_templates=[1],
    )
    out = run_experiment(config, log=lambda message: None)
    return json.loads((out / "results.json").read_text())


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


@pytest.fixture(scope="module")
def cross_domain(tmp_path_factory) -> tuple[Path, dict]:
    tmp_path = tmp_path_factory.mktemp("cross-domain")
    methods = ["zeroshot", "coop", {"method": "cdc", "templates": 2}]
    return tmp_path, _run(tmp_path, "cross-domain", list(WORLD_CROSS_DOMAIN_TARGETS), methods)


def test_cross_domain_reports_every_target_and_their_average(cross_domain):
    tmp_path, payload = cross_domain
    assert payload["protocol"] == "cross-domain"
    for method, by_set in payload["results"].items():
        assert set(by_set) == {"shapeworld", *WORLD_CROSS_DOMAIN_TARGETS}
        targets = [by_set[t]["acc"]["mean"] for t in WORLD_CROSS_DOMAIN_TARGETS]
        assert payload["average"][method]["acc"]["mean"] == pytest.approx(_mean(targets))
    markdown = (tmp_path / "cross-domain" / "results.md").read_text()
    assert "Average (targets)" in markdown and all(t in markdown for t in WORLD_CROSS_DOMAIN_TARGETS)
    for figure in payload["figures"].values():
        assert (tmp_path / "cross-domain" / figure).is_file()


def test_cross_domain_records_each_target_world(cross_domain):
    tmp_path, payload = cross_domain
    targets = payload["world_datasets"]
    assert set(targets) == set(WORLD_CROSS_DOMAIN_TARGETS)
    assert targets["shapeworld-sketch"]["world_options"]["style"] == "sketch"
    assert targets["shapeworld-r"]["shift"] == "renditions" and targets["shapeworld-a"]["shift"] == "hard"
    assert targets["shapeworld-v2"]["seed"] != payload["world"]["seed"]
    assert payload["world"]["world_options"]["style"] == "silhouette"
    folders = {Path(p).parent for p in (tmp_path / "data" / "worlds").glob("*/shapeworld/task.json")}
    assert len(folders) == 5  # the source and its four targets, each in its own keyed folder
    markdown = (tmp_path / "cross-domain" / "results.md").read_text()
    assert "shapeworld-sketch: style = sketch." in markdown


def test_zero_shot_reads_a_target_of_the_same_classes_as_the_source_classifier(cross_domain):
    """On a redrawn sample of the same world, every method keeps its class set: accuracies are percentages
    of the same 24 classes, and zero-shot's source and V2 accuracy differ only by the draw."""
    _, payload = cross_domain
    zero = payload["results"]["zeroshot"]
    assert 0 <= zero["shapeworld-v2"]["acc"]["mean"] <= 100
    assert zero["shapeworld"]["acc"]["std"] == 0.0  # zero-shot does not depend on the seed


def test_cross_dataset_on_the_world(tmp_path):
    """Targets with their own class vocabularies: each read with its own class names and template."""
    targets = ["colourworld", "iconworld"]
    payload = _run(tmp_path, "cross-dataset", targets, ["zeroshot", "coop"])
    assert payload["protocol"] == "cross-dataset"
    for method in ("zeroshot", "coop"):
        accs = [payload["results"][method][t]["acc"]["mean"] for t in targets]
        assert payload["average"][method]["acc"]["mean"] == pytest.approx(_mean(accs))
    assert set(payload["world_datasets"]) == set(targets)
    assert payload["world_datasets"]["colourworld"]["dataset"] == "colourworld"
    assert payload["world_datasets"]["iconworld"]["n_test_per_class"] == TINY_WORLD["n_test_per_class"]
