"""Method presets (a name plus one dict), their labels, and the test-time view policy."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest
import torch
from fake_mediators import VisionPromptFakeMediator

from causalvlm.aggregators import TMC_LOSS_OPTIONS
from causalvlm.data import DATASETS
from causalvlm.experiments import (
    METHODS,
    ExperimentConfig,
    MethodSpec,
    ProtocolRunner,
    TrainConfig,
    build_test_transform,
    method_spec,
    uses_cached_features,
)
from causalvlm.experiments import compute_report as compute_report_module
from causalvlm.experiments.method_specs import PRESETS, TEST_VIEW_POLICIES
from causalvlm.mediators import MEDIATORS


def test_every_method_is_its_preset_dict():
    assert METHODS == tuple(PRESETS) and {"zeroshot", "coop", "cdc", "cdc-tmc"} <= set(METHODS)
    for name in METHODS:
        spec = method_spec(name)
        assert spec.label == name
        for key, value in PRESETS[name].items():
            assert getattr(spec, key) == value, (name, key)


def test_cdc_tmc_is_cdc_plus_tmcs_loss_terms():
    cdc, tmc = method_spec("cdc"), method_spec("cdc-tmc")
    assert tmc.aggregator_options == TMC_LOSS_OPTIONS == {"fuse_loss": True, "kl_weight": 1.0}
    assert replace(tmc, method="cdc", aggregator_options={}, label="") == cdc
    # options given by the user win over the preset's, key by key
    assert method_spec("cdc-tmc", aggregator_options={"kl_weight": 0.5}).aggregator_options == {
        "fuse_loss": True,
        "kl_weight": 0.5,
    }
    assert method_spec("cdc-tmc", templates=2).label == "cdc-tmc[M=2]"


@pytest.mark.parametrize(
    ("options", "label"),
    [
        ({"beta": 0, "gamma": 0}, "cdc[beta=0,gamma=0]"),
        ({"beta": 0.5}, "cdc[beta=0.5]"),
        ({"gamma": 2}, "cdc[gamma=2]"),
        ({"beta": 1, "gamma": 1}, "cdc"),
        ({"no_vsd": True}, "cdc[no-vsd]"),
        ({"templates": 2, "aggregator": "mean"}, "cdc[M=2,agg=mean]"),
        ({"test_views": "per-template"}, "cdc[test=per-template]"),
        ({"test_views": "shared"}, "cdc"),
    ],
)
def test_labels_name_every_setting_that_differs_from_the_preset(options, label):
    assert method_spec("cdc", **options).label == label


def test_distinct_settings_give_distinct_rows():
    specs = [
        method_spec("cdc"),
        method_spec("cdc", beta=0, gamma=0),
        method_spec("cdc", no_vsd=True),
        method_spec("cdc", no_vsd=True, aug="aug1"),
        method_spec("cdc", test_views="per-template"),
        method_spec("cdc-tmc"),
        method_spec("coop"),
        method_spec("zeroshot"),
    ]
    assert len({s.label for s in specs}) == len(specs)
    assert method_spec("coop", aug="none").label == "coop"  # single-template rows keep their bare name


def test_test_view_policy_is_checked():
    assert TEST_VIEW_POLICIES == ("shared", "per-template")
    assert method_spec("cdc").test_views == "shared"  # the documented default
    with pytest.raises(ValueError, match="test_views"):
        method_spec("cdc", test_views="ten-crop")


def test_test_transform_follows_the_policy(backbone, jpeg_root):
    splits = DATASETS.build("imagefolder", root=str(jpeg_root), num_shots=2, seed=1)
    image = splits.test[0]
    from PIL import Image

    with Image.open(image.impath) as pil:
        shared = build_test_transform(method_spec("cdc", templates=3), backbone)(pil.convert("RGB"))
        per_template = build_test_transform(
            method_spec("cdc", templates=3, test_views="per-template"), backbone
        )(pil.convert("RGB"))
    assert shared.shape == (3, 32, 32)
    assert per_template.shape == (3, 3, 32, 32)
    torch.testing.assert_close(per_template[0], shared)  # aug1's view 0 is the clean view
    assert not torch.equal(per_template[1], shared)


def _runner(backbone, jpeg_root, *specs, out):
    config = ExperimentConfig(
        out=str(out),
        datasets=["imagefolder"],
        dataset_options={"imagefolder": {"root": str(jpeg_root)}},
        shots=2,
        seeds=[1],
        methods=list(specs),
        train=TrainConfig(max_epochs=1, batch_size=4),
        compute_templates=[2],
        compute_batch=3,
    )
    return ProtocolRunner(config, backbone, log=lambda _: None)


def test_per_template_test_views_are_cached_per_policy_and_repeat(backbone, jpeg_root, tmp_path):
    shared, per_template = (
        method_spec("cdc", templates=2),
        method_spec("cdc", templates=2, test_views="per-template"),
    )
    runner = _runner(backbone, jpeg_root, shared, per_template, out=tmp_path)
    test = DATASETS.build("imagefolder", root=str(jpeg_root), num_shots=2, seed=1).test
    clean, labels = runner._test_features(shared, test)
    views, same_labels = runner._test_features(per_template, test)
    assert clean.shape == (len(test), backbone.embed_dim)
    assert views.shape == (len(test), 2, backbone.embed_dim)
    assert torch.equal(labels, same_labels)
    torch.testing.assert_close(views[:, 0], clean)  # view 0 of aug1 is the clean view
    fresh = _runner(backbone, jpeg_root, per_template, out=tmp_path)._test_features(per_template, test)[0]
    torch.testing.assert_close(fresh, views, rtol=0, atol=0)  # fixed seed: the same views every time


def test_compute_report_times_inference_on_the_test_views(backbone, jpeg_root, monkeypatch, tmp_path):
    seen = {}

    def record(classifier, images, labels, test_images=None):
        seen[classifier.num_templates, len(seen)] = (tuple(images.shape), tuple(test_images.shape))
        return {"templates": classifier.num_templates}

    monkeypatch.setattr(compute_report_module, "measure_throughput", record)
    shared = method_spec("cdc", templates=2)
    per_template = method_spec("cdc", templates=2, test_views="per-template")
    _runner(backbone, jpeg_root, shared, per_template, out=tmp_path).compute_report()
    (shared_train, shared_test), (per_train, per_test) = list(seen.values())[:2]
    assert shared_train == per_train == (3, 2, 3, 32, 32)  # training: view m for template m
    assert shared_test == (3, 3, 32, 32)  # one clean view, as the accuracy is measured
    assert per_test == (3, 2, 3, 32, 32)


def test_default_dataset_is_known_in_a_fresh_interpreter_that_imported_only_experiments():
    code = (
        "import causalvlm.experiments as t; "
        "print(t.ExperimentConfig(methods=[t.method_spec('coop')]).datasets)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["['shapeworld']"]


def test_the_data_layer_knows_the_world_dataset_before_the_world_package_is_imported():
    code = (
        "import sys, causalvlm.data as d; "
        "print('shapeworld' in d.DATASETS, 'causalvlm.worlds' in sys.modules, "
        "d.DATASETS.get('shapeworld').__module__)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "causalvlm.worlds.task"]


def test_protocol_trains_and_evaluates_an_image_side_mediator_on_images(
    backbone, jpeg_root, monkeypatch, tmp_path
):
    """A mediator whose image features learn cannot use the feature cache: the runner feeds it images, for
    training, per-epoch validation and the final evaluation, and asks the classifier which it needs."""
    monkeypatch.setitem(MEDIATORS._factories, "vision-fake", VisionPromptFakeMediator)
    spec = MethodSpec(
        "fake", "vision-fake", 2, "ds", augmentation="none", mediator_options={"num_templates": 2}
    )
    assert uses_cached_features(spec)  # by its augmentation alone the features could be cached ...
    runner = _runner(backbone, jpeg_root, spec, out=tmp_path)
    base = runner._build("imagefolder", "base", 1)
    new = runner._build("imagefolder", "new", 1)
    results, history = runner.train_and_evaluate(spec, base, {"base": base, "new": new}, 1, "imagefolder")
    assert len(runner.features) == 0  # ... but nothing was encoded into the cache
    assert results["base"].num_samples == len(base.test) and results["new"].num_samples == len(new.test)
    assert [row["epoch"] for row in history] == [0.0, 1.0]
