"""CDC over CoCoOp's and MaPLe's prompts (cdc+cocoop, cdc+maple): from the command line and YAML, labelled,
trained with L_de and L_con through the classifier."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
import yaml

from causalvlm.experiments import build_classifier, method_spec
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.method_specs import for_backbone

RUN_PY = Path(__file__).parents[2] / "examples" / "cdc" / "run.py"
CLASSES = ["dog", "cat", "bird"]


def load_run_module():
    spec = importlib.util.spec_from_file_location("cdc_run_for_cdc_plus", RUN_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("name", "mediator"), [("cdc+cocoop", "cocoop"), ("cdc+maple", "maple")])
def test_cdc_over_a_prompt_learner_is_cdcs_recipe_with_its_prompts(name, mediator):
    spec, cdc = method_spec(name, templates=2, beta=0.5), method_spec("cdc", templates=2, beta=0.5)
    assert spec.mediator == mediator and spec.mediator_options["num_templates"] == 2
    fields = ("templates", "aggregator", "weights", "augmentation", "shared_view")
    assert [getattr(spec, f) for f in fields] == [getattr(cdc, f) for f in fields]
    assert spec.label == f"{name}[M=2,beta=0.5]"


def test_on_a_resnet_tower_cdc_over_maple_says_text_only():
    assert for_backbone(method_spec("cdc+maple", templates=2), False).label == "cdc+maple[M=2,text-only]"


@pytest.mark.parametrize("name", ["cdc+cocoop", "cdc+maple"])
def test_its_objective_is_l_tce_plus_beta_l_de_plus_gamma_l_con(name, backbone):
    torch.manual_seed(0)
    spec = method_spec(name, templates=2, beta=0.5, gamma=2.0)
    classifier = build_classifier(spec, backbone, CLASSES, "a photo of a {}.")
    images, labels = torch.randn(2, 2, 3, 32, 32), torch.tensor([0, 2])
    terms = classifier.loss_terms(images, labels)
    assert set(terms) == {"loss", "L_t-ce", "L_de", "L_con"}
    expected = terms["L_t-ce"] + 0.5 * terms["L_de"] + 2.0 * terms["L_con"]
    torch.testing.assert_close(terms["loss"], expected)


def test_it_runs_from_the_command_line_and_yaml(micro_clip_path, jpeg_root, tmp_path):
    run = load_run_module()
    config = tmp_path / "fast.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "compute_templates": [1],
                "train": {"batch_size": 4, "eval_batch_size": 64},
                "methods": [{"method": "cdc+maple", "templates": 2, "gamma": 0.5}],
            }  # fmt: skip
        )
    )
    out = tmp_path / "out"
    argv = [
        "--config", str(config), "--dataset", "imagefolder", "--data-root", str(jpeg_root),
        "--backbone", str(micro_clip_path), "--pretrained", "none", "--shots", "2", "--epochs", "1",
        "--seeds", "1",
    ]  # fmt: skip
    assert run.main([*argv, "--out", str(out / "yaml")]) == 0
    payload = json.loads((out / "yaml" / "results.json").read_text())
    assert list(payload["results"]) == ["cdc+maple[M=2,gamma=0.5]"]
    assert run.main([*argv, "--out", str(out / "cli"), "--method", "cdc+cocoop", "--templates", "2"]) == 0
    payload = json.loads((out / "cli" / "results.json").read_text())
    assert list(payload["results"]) == ["cdc+cocoop[M=2]"]
    assert ExperimentConfig(methods=["cdc+cocoop"]).methods[0].label == "cdc+cocoop"
