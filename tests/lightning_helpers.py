"""Test-only Lightning helpers: interrupting a run, and a datamodule that reads images for every set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl

from causalvlm.data import DatasetSplits
from causalvlm.training import PromptDataModule, SeededViewsDataset


class StopAfterEpochs(pl.Callback):
    """Ends ``fit`` cleanly after ``epochs`` epochs, like an interrupted run (its checkpoint is saved)."""

    def __init__(self, epochs: int) -> None:
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        self.epochs = epochs

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.current_epoch + 1 >= self.epochs:
            trainer.should_stop = True


def datamodule_from_splits(
    splits: DatasetSplits,
    train_transform: Callable,
    eval_transform: Callable,
    new_splits: DatasetSplits | None = None,
    **options: Any,
) -> PromptDataModule:
    """Few-shot ``splits.train_x`` with the per-template view transform; base (and new) test images."""
    seed = options.get("seed", 1)
    val_sets = {"base": SeededViewsDataset(splits.test, eval_transform)}
    if new_splits is not None:
        val_sets["new"] = SeededViewsDataset(new_splits.test, eval_transform)
    return PromptDataModule(
        SeededViewsDataset(splits.train_x, train_transform, seed=seed), val_sets, **options
    )
