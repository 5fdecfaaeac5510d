"""DDP gives the same result as one process: a 2-process CPU (gloo) run against a 1-process run.

Each optimiser step sees the whole training set (full batch), split over the ranks under DDP. The per-rank
losses are batch means of equal-size halves and DDP averages the gradients, so both runs take the same steps
up to floating-point summation order. Tolerance: prompt context within 1e-5, accuracy equal, ECE within 0.1
points. (Under shuffled mini-batches the two runs would see different batches and only agree statistically.)
"""

from __future__ import annotations

import pytest
import torch

from causalvlm.data import DATASETS
from causalvlm.evaluation import FeatureCache, evaluate_features
from causalvlm.experiments import (
    OptimConfig,
    TrainConfig,
    build_classifier,
    build_view_transform,
    method_spec,
)
from causalvlm.training import FeatureDataset, PromptDataModule, SeededViewsDataset, fit


def _run(devices, backbone, jpeg_root, tmp_path):
    base = DATASETS.build("imagefolder", root=str(jpeg_root), num_shots=4, seed=1, subsample="base")
    new = DATASETS.build("imagefolder", root=str(jpeg_root), num_shots=4, seed=1, subsample="new")
    spec = method_spec("cdc", templates=2, aug="none")  # deterministic views: the runs differ only in DDP
    torch.manual_seed(0)
    classifier = build_classifier(spec, backbone, base.classnames, base.template)
    initial = [p.detach().clone() for p in classifier.mediator.parameters()]
    cache = FeatureCache(backbone)
    val = {"base": FeatureDataset(*cache.get(base.test)), "new": FeatureDataset(*cache.get(new.test))}
    train = SeededViewsDataset(base.train_x, build_view_transform(spec, backbone), seed=1)
    n_train = len(base.train_x)
    assert n_train % 2 == 0, "full-batch parity needs a training set that splits evenly over 2 ranks"
    datamodule = PromptDataModule(train, val, batch_size=n_train // devices, seed=1)
    config = TrainConfig(
        max_epochs=3,
        batch_size=n_train // devices,
        accelerator="cpu",
        devices=devices,
        strategy="ddp_spawn" if devices > 1 else "auto",
        checkpoint_dir=str(tmp_path / f"ckpt{devices}"),
        log_dir=str(tmp_path / f"logs{devices}"),
        optim=OptimConfig(lr=0.5, warmup_epochs=0),
    )
    eval_classnames = {"base": base.classnames, "new": new.classnames}
    module, _ = fit(classifier, datamodule, config, eval_classnames=eval_classnames)
    trained = module.classifier
    features, labels = cache.get(base.test)
    return initial, trained, evaluate_features(trained, features, labels)


@pytest.mark.slow
def test_two_processes_match_one_process(backbone, jpeg_root, tmp_path):
    initial, one, one_eval = _run(1, backbone, jpeg_root, tmp_path)
    _, two, two_eval = _run(2, backbone, jpeg_root, tmp_path)
    for p1, p2 in zip(one.mediator.parameters(), two.mediator.parameters(), strict=True):
        assert torch.allclose(p1, p2, atol=1e-5), (p1 - p2).abs().max()
    trained = list(one.mediator.parameters())
    assert any(not torch.allclose(p, q) for p, q in zip(trained, initial, strict=True))  # it did train
    assert one_eval.accuracy == two_eval.accuracy
    assert abs(one_eval.ece - two_eval.ece) < 0.1
