"""CoCoOp and MaPLe as methods: presets, labels, per-method recipes, and base → new through the protocol
runner (class names change at evaluation, the learned parameters are the trained ones)."""

from __future__ import annotations

import pytest
import torch
from helpers import BASE_CLASSES, NEW_CLASSES

from causalvlm.config_model import ConfigError
from causalvlm.experiments import ExperimentConfig, ProtocolRunner, TrainConfig, method_spec
from causalvlm.experiments import protocols as protocols_module
from causalvlm.experiments.method_specs import METHODS, PRESETS, for_backbone, train_config_for


def test_the_paper_baselines_are_presets():
    assert {"zeroshot", "coop", "cocoop", "maple", "cdc"} <= set(METHODS)
    assert PRESETS["cocoop"]["mediator"] == "cocoop" and PRESETS["maple"]["mediator"] == "maple"
    assert method_spec("cocoop").label == "cocoop"
    assert method_spec("maple").mediator_options["n_ctx"] == 2
    with pytest.raises(ValueError, match="single template"):
        method_spec("cocoop", templates=4)


def test_maple_on_a_resnet_tower_is_its_text_side_with_an_honest_label(tiny_config):
    """The world's tiny CLIP has a ResNet image tower: MaPLe's vision prompts cannot exist there."""
    config = ExperimentConfig(methods=["coop", "maple"])  # the default backbone: the world's tiny CLIP
    maple = config.methods[1]
    assert maple.label == "maple[text-only]"
    assert maple.mediator_options["vision_prompts"] is False
    with pytest.raises(ConfigError, match="ViT image tower"):
        ExperimentConfig(methods=[{"method": "maple", "text_only": False}])
    vit = ExperimentConfig(methods=["maple"], backbone=str(tiny_config), pretrained=None)
    assert vit.methods[0].label == "maple" and vit.methods[0].mediator_options["vision_prompts"] is True
    assert method_spec("maple", text_only=True).label == "maple[text-only]"
    assert for_backbone(method_spec("maple"), None) == method_spec("maple")  # unknown tower: unchanged


def test_method_options_and_recipes_are_checked_and_applied():
    spec = method_spec(
        "maple",
        mediator_options={"depth": 3},
        train={"max_epochs": 5, "batch_size": 4, "optim": {"lr": 0.0035}},
    )
    assert spec.mediator_options["depth"] == 3
    train = train_config_for(spec, TrainConfig(max_epochs=10, batch_size=32))
    assert (train.max_epochs, train.batch_size, train.optim.lr) == (5, 4, 0.0035)
    assert train.optim.warmup_lr == TrainConfig().optim.warmup_lr  # the rest stays the run's
    with pytest.raises(ValueError, match="unknown key"):
        method_spec("maple", mediator_options={"dpeth": 3})
    with pytest.raises(ValueError, match="num_templates"):
        method_spec("cocoop", mediator_options={"num_templates": 2})
    with pytest.raises(ValueError, match="a method may set"):
        method_spec("coop", train={"precision": "64-true"})
    with pytest.raises(ValueError, match="batch_size"):
        method_spec("coop", train={"batch_size": 0})
    with pytest.raises(ValueError, match="text_only"):
        method_spec("cocoop", text_only=True)


@pytest.mark.parametrize("method", ["cocoop", "maple"])
def test_base_to_new_switches_class_names_and_keeps_what_was_learned(
    method, backbone, jpeg_root, tmp_path, monkeypatch
):
    """Every switch of class names is recorded with the parameters the classifier holds at that moment."""
    built, switches = [], []
    build = protocols_module.build_classifier

    def recording_build(*args, **kwargs):
        classifier = build(*args, **kwargs)
        original = classifier.mediator.set_classnames

        def set_classnames(names):
            switches.append((list(names), [p.detach().clone() for p in classifier.trainable_parameters()]))
            original(names)

        classifier.mediator.set_classnames = set_classnames
        built.append((classifier, [p.detach().clone() for p in classifier.trainable_parameters()]))
        return classifier

    monkeypatch.setattr(protocols_module, "build_classifier", recording_build)
    spec = method_spec(method, aug="none")
    config = ExperimentConfig(
        datasets=["imagefolder"],
        dataset_options={"imagefolder": {"root": str(jpeg_root)}},
        shots=2,
        seeds=[1],
        methods=[spec],
        train=TrainConfig(max_epochs=2, batch_size=4, optim={"lr": 0.5, "warmup_epochs": 0}),
        out=str(tmp_path),
    )
    runner = ProtocolRunner(config, backbone, log=lambda _: None)
    base = runner._build("imagefolder", "base", 1)
    new = runner._build("imagefolder", "new", 1)
    results, _ = runner.train_and_evaluate(spec, base, {"base": base, "new": new}, 1, "imagefolder")
    assert results["new"].num_samples == len(new.test)
    ((classifier, initial),) = built
    assert classifier.mediator.image_side_trainable == (method == "maple")  # the micro CLIP is a ViT
    trained = [p.detach() for p in classifier.trainable_parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(initial, trained, strict=True))  # training moved them
    to_new = [params for names, params in switches if names == NEW_CLASSES]
    assert to_new, "the new classes were never evaluated"
    for a, b in zip(to_new[-1], trained, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)  # the final evaluation on new used the trained ones
    assert classifier.classnames == BASE_CLASSES  # and the training names came back
