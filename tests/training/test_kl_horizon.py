"""The trainer gives the aggregator the 0-based epoch and the run length, so TMC's KL ramp follows the run."""

from __future__ import annotations

import torch

from causalvlm.aggregators import TMC_LOSS_OPTIONS
from causalvlm.data import DATASETS
from causalvlm.experiments import (
    OptimConfig,
    TrainConfig,
    build_classifier,
    build_view_transform,
    method_spec,
)
from causalvlm.training import PromptDataModule, SeededViewsDataset, fit


def test_training_passes_epoch_and_max_epochs_to_the_aggregator_loss(backbone, jpeg_root, tmp_path):
    spec = method_spec("cdc", templates=2, aggregator_options=dict(TMC_LOSS_OPTIONS))
    base = DATASETS.build("imagefolder", root=str(jpeg_root), num_shots=2, seed=1, subsample="base")
    torch.manual_seed(0)
    classifier = build_classifier(spec, backbone, base.classnames, base.template)
    seen: list[tuple[int, int | None, float]] = []
    aggregator_loss = classifier.aggregator.loss

    def spy(logits, labels, epoch=0, max_epochs=None):
        seen.append((epoch, max_epochs, classifier.aggregator.kl_coefficient(epoch, max_epochs)))
        return aggregator_loss(logits, labels, epoch=epoch, max_epochs=max_epochs)

    classifier.aggregator.loss = spy
    train = SeededViewsDataset(base.train_x, build_view_transform(spec, backbone), seed=1)
    config = TrainConfig(
        max_epochs=3,
        batch_size=64,
        checkpoint_dir=str(tmp_path / "ckpt"),
        log_dir=str(tmp_path / "logs"),
        validate_every_epoch=False,
        optim=OptimConfig(lr=0.01),
    )
    fit(classifier, PromptDataModule(train, batch_size=64, seed=1), config)
    assert [(epoch, max_epochs) for epoch, max_epochs, _ in seen] == [(0, 3), (1, 3), (2, 3)]
    # TMC's t = 1, 2, 3 of T = 3: the full KL weight in the last epoch
    assert [weight for *_, weight in seen] == [1 / 3, 2 / 3, 1.0]
