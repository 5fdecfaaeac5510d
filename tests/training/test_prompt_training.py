from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
from fake_mediators import ConditionalFakeMediator, VisionPromptFakeMediator
from lightning_helpers import StopAfterEpochs, datamodule_from_splits

from causalvlm import FrontDoorClassifier
from causalvlm.data import DATASETS
from causalvlm.evaluation import FeatureCache, evaluate_features
from causalvlm.experiments import (
    OptimConfig,
    TrainConfig,
    build_classifier,
    build_view_transform,
    method_spec,
)
from causalvlm.mediators import AUGMENTATIONS
from causalvlm.training import (
    EpochSeededSampler,
    FeatureDataset,
    PromptDataModule,
    SeededViewsDataset,
    fit,
    warmup_cosine_factor,
)


def test_schedule_is_constant_warmup_then_cosine():
    optim = OptimConfig(lr=0.002, warmup_epochs=1, warmup_lr=1e-5)
    assert warmup_cosine_factor(0, 10, optim) * optim.lr == pytest.approx(1e-5)
    assert warmup_cosine_factor(1, 10, optim) == pytest.approx(0.5 * (1 + math.cos(math.pi / 10)))
    factors = [warmup_cosine_factor(e, 10, optim) for e in range(1, 10)]
    assert factors == sorted(factors, reverse=True)
    assert OptimConfig(warmup_epochs=0).warmup_epochs == 0
    assert warmup_cosine_factor(0, 10, OptimConfig(warmup_epochs=0)) == 1.0


@pytest.mark.parametrize(
    ("options", "message"),
    [({"lr": 0}, "lr: must be"), ({"momentum": 1.0}, "momentum"), ({"warmup_epochs": -1}, "warmup_epochs")],
)
def test_bad_optim_options_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        OptimConfig(**options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_epochs": 0}, "max_epochs"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"precision": "fp8"}, "precision"),
    ],
)
def test_bad_train_options_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**options)


def test_sampler_order_depends_only_on_seed_and_epoch(monkeypatch):
    sampler = EpochSeededSampler(10, seed=3)
    sampler.set_epoch(2)
    first = list(sampler)
    assert all(epoch == 2 for _, epoch in first)
    assert sorted(i for i, _ in first) == list(range(10))
    again = EpochSeededSampler(10, seed=3)
    again.set_epoch(2)
    assert list(again) == first
    again.set_epoch(3)
    assert [i for i, _ in again] != [i for i, _ in first]


def test_sampler_shards_evenly_across_ranks(monkeypatch):
    sampler = EpochSeededSampler(7, seed=1)
    shards = []
    for rank in range(2):
        monkeypatch.setattr(EpochSeededSampler, "_world", staticmethod(lambda rank=rank: (rank, 2)))
        shards.append([i for i, _ in sampler])
        assert len(sampler) == 4
    assert len(shards[0]) == len(shards[1]) == 4
    assert set(shards[0]) | set(shards[1]) == set(range(7))


def test_augmented_views_repeat_for_the_same_seed_epoch_and_index(jpeg_root, backbone):
    splits = DATASETS.build("imagefolder", root=str(jpeg_root), num_shots=2, seed=1)
    transform = build_view_transform(method_spec("cdc", templates=3, aug="aug2"), backbone)
    dataset = SeededViewsDataset(splits.train_x, transform, seed=5)
    a, b, c = dataset[(1, 0)], dataset[(1, 0)], dataset[(1, 1)]
    assert a["images"].shape == (3, 3, 32, 32)
    torch.testing.assert_close(a["images"], b["images"])
    assert not torch.equal(a["images"], c["images"])


def _base_new(jpeg_root):
    base = DATASETS.build("imagefolder", root=str(jpeg_root), num_shots=4, seed=1, subsample="base")
    new = DATASETS.build("imagefolder", root=str(jpeg_root), num_shots=4, seed=1, subsample="new")
    return base, new


def _datamodule(spec, base, new, backbone, seed=1):
    cache = FeatureCache(backbone)
    val = {"base": FeatureDataset(*cache.get(base.test)), "new": FeatureDataset(*cache.get(new.test))}
    train = SeededViewsDataset(base.train_x, build_view_transform(spec, backbone), seed=seed)
    return PromptDataModule(train, val, batch_size=4, seed=seed)


def _train(
    spec, backbone, jpeg_root, tmp_path, epochs=2, ckpt_path=None, callbacks=(), name="run", run_config=None
):
    base, new = _base_new(jpeg_root)
    torch.manual_seed(0)
    classifier = build_classifier(spec, backbone, base.classnames, base.template)
    config = TrainConfig(
        max_epochs=epochs,
        batch_size=4,
        checkpoint_dir=str(tmp_path / name / "ckpt"),
        log_dir=str(tmp_path / name / "logs"),
        optim=OptimConfig(lr=0.05),
    )
    module, trainer = fit(
        classifier,
        _datamodule(spec, base, new, backbone),
        config,
        eval_classnames={"base": base.classnames, "new": new.classnames},
        ckpt_path=ckpt_path,
        callbacks=callbacks,
        run_config=run_config,
    )
    return module, trainer, base, new


def _final(module, backbone, base, new):
    cache = FeatureCache(backbone)
    return {
        name: evaluate_features(module.classifier, *cache.get(s.test), s.classnames).probs
        for name, s in (("base", base), ("new", new))
    }


def test_training_changes_only_the_prompts_and_records_history(backbone, jpeg_root, tmp_path):
    spec = method_spec("cdc", templates=2)
    backbone_before = {k: v.clone() for k, v in backbone.state_dict().items()}
    base, _ = _base_new(jpeg_root)
    torch.manual_seed(0)
    initial = build_classifier(spec, backbone, base.classnames, base.template).mediator.state_dict()
    module, trainer, base, new = _train(spec, backbone, jpeg_root, tmp_path)
    for key, value in backbone.state_dict().items():
        torch.testing.assert_close(value, backbone_before[key])
    learned = module.classifier.mediator.state_dict()
    assert any(not torch.equal(initial[k], learned[k]) for k in initial if k.endswith("ctx"))
    assert [row["epoch"] for row in module.history] == [1.0, 2.0]
    assert {"base_acc", "new_acc", "base_ece", "new_ece"} <= set(module.history[-1])
    assert all(0 <= row["base_acc"] <= 100 for row in module.history)
    # validation switched to the new classes and back: training classes are restored afterwards
    assert module.classifier.classnames == base.classnames
    (metrics_csv,) = Path(tmp_path / "run" / "logs").rglob("metrics.csv")
    header = next(csv.reader(metrics_csv.open()))
    assert {"train/loss", "train/L_t-ce", "train/L_de", "train/L_con", "val/base_acc", "val/new_acc"} <= set(
        header
    )
    assert (tmp_path / "run" / "ckpt" / "last.ckpt").is_file()


def test_resume_from_checkpoint_matches_an_uninterrupted_run(backbone, jpeg_root, tmp_path):
    spec = method_spec("cdc", templates=2, aug="aug2")
    full, _, base, new = _train(spec, backbone, jpeg_root, tmp_path, epochs=3, name="full")
    cut, _, _, _ = _train(
        spec, backbone, jpeg_root, tmp_path, epochs=3, callbacks=[StopAfterEpochs(1)], name="cut"
    )
    assert [row["epoch"] for row in cut.history] == [1.0]  # interrupted after the first epoch
    checkpoint = tmp_path / "cut" / "ckpt" / "last.ckpt"
    assert torch.load(checkpoint, weights_only=False)["global_step"] == full.trainer.global_step // 3
    resumed, trainer, _, _ = _train(
        spec, backbone, jpeg_root, tmp_path, epochs=3, ckpt_path=checkpoint, name="cut"
    )
    assert trainer.current_epoch == 3
    for key, value in full.classifier.mediator.state_dict().items():
        torch.testing.assert_close(resumed.classifier.mediator.state_dict()[key], value, rtol=0, atol=0)
    final_full, final_resumed = _final(full, backbone, base, new), _final(resumed, backbone, base, new)
    for name in ("base", "new"):
        torch.testing.assert_close(final_resumed[name], final_full[name], rtol=0, atol=0)
    assert resumed.history == full.history  # the per-epoch curve survives the restart


def test_missing_checkpoint_is_reported_before_training(backbone, jpeg_root, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.ckpt"):
        _train(method_spec("coop"), backbone, jpeg_root, tmp_path, ckpt_path=tmp_path / "nope.ckpt")


def test_eval_sets_need_class_names(backbone, jpeg_root):
    spec = method_spec("coop")
    base, new = _base_new(jpeg_root)
    classifier = build_classifier(spec, backbone, base.classnames, base.template)
    with pytest.raises(ValueError, match="new"):
        fit(classifier, _datamodule(spec, base, new, backbone), TrainConfig(), {"base": base.classnames})


def test_zero_shot_has_nothing_to_train(backbone, jpeg_root, tmp_path):
    with pytest.raises(ValueError, match="no trainable parameters"):
        _train(method_spec("zeroshot"), backbone, jpeg_root, tmp_path, epochs=1)


@pytest.mark.slow
def test_two_process_ddp_on_cpu(backbone, jpeg_root, tmp_path):
    spec = method_spec("cdc", templates=2)  # ddp_spawn pickles the datamodule with its per-template views
    base, new = _base_new(jpeg_root)
    torch.manual_seed(0)
    classifier = build_classifier(spec, backbone, base.classnames, base.template)
    before = {k: v.clone() for k, v in classifier.mediator.state_dict().items()}
    config = TrainConfig(
        max_epochs=1,
        batch_size=2,
        accelerator="cpu",
        devices=2,
        strategy="ddp_spawn",
        optim=OptimConfig(lr=0.05),
    )
    module, trainer = fit(
        classifier,
        _datamodule(spec, base, new, backbone),
        config,
        eval_classnames={"base": base.classnames, "new": new.classnames},
    )
    assert trainer.world_size == 2
    after = module.classifier.mediator.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if k.endswith("ctx"))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_bf16_autocast_training_on_gpu(backbone, jpeg_root, tmp_path):
    from causalvlm.training import resolve_precision

    assert resolve_precision(TrainConfig()) == "bf16-mixed"
    module, trainer, base, new = _train(
        method_spec("cdc", templates=2), backbone, jpeg_root, tmp_path, epochs=1
    )
    assert trainer.precision == "bf16-mixed"
    assert all(torch.isfinite(torch.tensor(row["base_acc"])) for row in module.history)


def test_datamodule_from_splits_gives_per_template_views(backbone, jpeg_root):
    base, new = _base_new(jpeg_root)
    spec = method_spec("cdc", templates=3)
    datamodule = datamodule_from_splits(
        base, build_view_transform(spec, backbone), backbone.preprocess, new, batch_size=4, seed=2
    )
    assert datamodule.val_names == ["base", "new"]
    batch = next(iter(datamodule.train_dataloader()))
    assert batch["images"].shape == (4, 3, 3, 32, 32)
    assert set(batch["labels"].tolist()) <= {0, 1}
    val_batch = next(iter(datamodule.val_dataloader()[1]))
    assert val_batch["images"].shape[1:] == (3, 32, 32)
    with pytest.raises(ValueError, match="empty"):
        PromptDataModule(FeatureDataset(torch.zeros(0, 4), torch.zeros(0)))


def test_dstc_evidence_scale_follows_the_backbone_temperature_unless_set(backbone, jpeg_root):
    base, _ = _base_new(jpeg_root)
    tau = float(backbone.logit_scale)
    default = build_classifier(method_spec("cdc", templates=2), backbone, base.classnames, base.template)
    assert default.aggregator.config.evidence_scale == pytest.approx(tau / 10)
    spec = method_spec("cdc", templates=2, aggregator_options={"evidence_scale": 3.0})
    chosen = build_classifier(spec, backbone, base.classnames, base.template)
    assert chosen.aggregator.config.evidence_scale == 3.0
    with pytest.raises(ValueError, match="evidence_scale"):
        method_spec("cdc", aggregator_options={"evidence_scale": -1.0})


@pytest.mark.parametrize("fake", [ConditionalFakeMediator, VisionPromptFakeMediator])
def test_lightning_module_trains_and_validates_other_mediator_kinds_through_the_classifier(
    fake, backbone, jpeg_root
):
    """A conditional mediator (text per image) and one with a trainable image side fit and validate on images,
    with base → new class names switched and restored by the classifier."""
    base, new = _base_new(jpeg_root)
    torch.manual_seed(0)
    classifier = FrontDoorClassifier(backbone, fake(backbone, base.classnames), "ds")
    before = {k: v.clone() for k, v in classifier.mediator.state_dict().items()}
    views = AUGMENTATIONS.build(
        "aug1", num_views=2, image_size=32, mean=backbone.image_mean, std=backbone.image_std
    )
    datamodule = datamodule_from_splits(base, views, backbone.preprocess, new, batch_size=4)
    config = TrainConfig(max_epochs=1, batch_size=4, optim=OptimConfig(lr=0.05))
    module, _ = fit(classifier, datamodule, config, {"base": base.classnames, "new": new.classnames})
    assert {"base_acc", "new_acc"} <= set(module.history[-1])
    assert module.classifier.classnames == base.classnames
    after = module.classifier.mediator.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
