"""The LightningModule that tunes a :class:`FrontDoorClassifier`'s prompts.

Only the mediator's prompt parameters reach the optimiser; CLIP stays frozen. Validation runs once per
named evaluation set (``base``, ``new``, ...), switching the mediator to that set's class names first, so the
per-epoch base and new accuracies of the paper's Fig. 1b come out of one validation loop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import Any, cast

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.types import OptimizerLRSchedulerConfig
from torch import Tensor, nn
from torchmetrics import Metric
from torchmetrics.classification import MulticlassAccuracy, MulticlassCalibrationError

from causalvlm.classifier import FrontDoorClassifier
from causalvlm.evaluation.metrics import ECE_BINS
from causalvlm.training.settings import DEFAULT_MAX_EPOCHS, OptimConfig

FROZEN_PREFIX = "classifier.backbone."  # state-dict keys of the frozen CLIP, left out of checkpoints


def warmup_cosine_factor(epoch: int, max_epochs: int, optim: OptimConfig) -> float:
    """Learning-rate multiplier of epoch e (CoOp's schedule).

    During the warm-up epochs e < E_w the rate is the constant ``warmup_lr``; after that it follows the cosine
    curve of the whole run, lr(e) = ½ lr₀ (1 + cos(π e / E)), so warm-up delays nothing but the first steps.
    """
    if epoch < optim.warmup_epochs:
        return optim.warmup_lr / optim.lr
    return 0.5 * (1.0 + math.cos(math.pi * epoch / max_epochs))


def eval_metrics(num_classes: int) -> nn.ModuleDict:
    return nn.ModuleDict(
        {
            "acc": MulticlassAccuracy(num_classes=num_classes, average="micro"),
            "ece": MulticlassCalibrationError(num_classes=num_classes, n_bins=ECE_BINS, norm="l1"),
        }
    )


class PromptTuningModule(pl.LightningModule):
    """Trains ``classifier`` with L = L_t-ce + β L_de + γ L_con and evaluates it on named class sets.

    Args:
        classifier: the composed front-door classifier (its current class names are the training classes).
        optim: optimiser / schedule config.
        max_epochs: length of the cosine schedule (the trainer's ``max_epochs``).
        eval_classnames: class names of each evaluation set, in the datamodule's val-dataloader order.
    """

    def __init__(
        self,
        classifier: FrontDoorClassifier,
        optim: OptimConfig | None = None,
        max_epochs: int = DEFAULT_MAX_EPOCHS,
        eval_classnames: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__()
        self.classifier = classifier
        self.optim = optim or OptimConfig()
        self.max_epochs = int(max_epochs)
        self.eval_classnames = {k: list(v) for k, v in (eval_classnames or {}).items()}
        self.eval_names = list(self.eval_classnames)
        self.metrics = nn.ModuleDict({k: eval_metrics(len(v)) for k, v in self.eval_classnames.items()})
        # One row per validation epoch: {"epoch": e, "base_acc": ..., "new_acc": ...}; kept in checkpoints.
        self.history: list[dict[str, float]] = []
        self.train_images_per_s: float | None = None  # set by training.trainer.fit
        self._active_set: str | None = None
        # Holds the classifier's `evaluating` context of the active eval set between validation steps.
        self._eval_context = ExitStack()
        # Plain types only, so checkpoints load with torch.load(weights_only=True) on resume.
        self.save_hyperparameters(
            {
                "optim": self.optim.settings(),
                "max_epochs": self.max_epochs,
                "eval_classnames": self.eval_classnames,
            }
        )

    # ------------------------------------------------------------------ training
    def _inputs(self, batch: Mapping[str, Tensor]) -> tuple[Tensor, bool]:
        if "features" in batch:
            return batch["features"], True
        return batch["images"], False

    def training_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> Tensor:
        inputs, features = self._inputs(batch)
        terms = self.classifier.loss_terms(
            inputs, batch["labels"], epoch=self.current_epoch, features=features, max_epochs=self.max_epochs
        )
        batch_size = batch["labels"].shape[0]
        for key, value in terms.items():
            name = "train/loss" if key == "loss" else f"train/{key}"
            self.log(
                name, value.detach(), on_step=False, on_epoch=True, batch_size=batch_size, sync_dist=True
            )
        return terms["loss"]

    def configure_optimizers(self) -> OptimizerLRSchedulerConfig:
        params = self.classifier.trainable_parameters()
        if not params:
            raise ValueError(
                f"mediator {type(self.classifier.mediator).__name__} has no trainable parameters; "
                "a method without learnable prompts (zero-shot) is evaluated, not trained"
            )
        optimizer = torch.optim.SGD(
            params, lr=self.optim.lr, momentum=self.optim.momentum, weight_decay=self.optim.weight_decay
        )
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda epoch: warmup_cosine_factor(epoch, self.max_epochs, self.optim)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "epoch"}}

    # ------------------------------------------------------------------ validation on named class sets
    def _activate(self, name: str) -> None:
        """Evaluate over eval set ``name``'s classes; the classifier keeps its text features for the set."""
        if self._active_set == name:
            return
        self.restore_training_classes()
        self._eval_context.enter_context(self.classifier.evaluating(self.eval_classnames[name]))
        self._active_set = name

    def validation_step(self, batch: Mapping[str, Tensor], batch_idx: int, dataloader_idx: int = 0) -> None:
        if dataloader_idx >= len(self.eval_names):
            raise ValueError(
                f"val dataloader {dataloader_idx} has no entry in eval_classnames {self.eval_names}; "
                "give one class-name list per evaluation set"
            )
        name = self.eval_names[dataloader_idx]
        self._activate(name)
        inputs, features = self._inputs(batch)
        probs = (self.classifier.forward_features(inputs) if features else self.classifier(inputs)).probs
        for metric in self._metrics(name).values():
            metric.update(probs, batch["labels"])

    def _metrics(self, name: str) -> dict[str, Metric]:
        """Eval set ``name``'s metrics, typed (an nn.ModuleDict hands out plain Modules)."""
        return {key: cast(Metric, metric) for key, metric in cast(nn.ModuleDict, self.metrics[name]).items()}

    def on_validation_epoch_end(self) -> None:
        # Inside fit this runs after epoch `current_epoch` trained; a standalone validate() sees the start.
        fitting = self.trainer.state.fn == "fit"
        row: dict[str, float] = {"epoch": float(self.current_epoch + 1 if fitting else self.current_epoch)}
        for name in self.eval_names:
            for key, metric in self._metrics(name).items():
                if metric.update_count == 0:  # e.g. a sanity check that ran only some dataloaders
                    continue
                value = 100.0 * float(metric.compute())  # percent, like the result tables
                self.log(f"val/{name}_{key}", value, add_dataloader_idx=False, sync_dist=False)
                row[f"{name}_{key}"] = value
                metric.reset()
        if not self.trainer.sanity_checking and len(row) > 1:
            self.history.append(row)
        self.restore_training_classes()

    def restore_training_classes(self) -> None:
        """Leave the active eval set: the training class names and train/eval mode come back."""
        self._eval_context.close()
        self._active_set = None

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["history"] = list(self.history)
        # CLIP is frozen: a checkpoint keeps the prompts only (KB, not the backbone's hundreds of MB each
        # epoch); the run's config identifies the backbone weights by their hash, checked on resume.
        trainable = {name for name, parameter in self.named_parameters() if parameter.requires_grad}
        checkpoint["state_dict"] = {
            k: v
            for k, v in checkpoint["state_dict"].items()
            if not k.startswith(FROZEN_PREFIX) or k in trainable
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.history = list(checkpoint.get("history", []))
        state = checkpoint["state_dict"]
        for key, value in self.state_dict().items():  # put the (unchanged) frozen backbone back
            if key.startswith(FROZEN_PREFIX):
                state.setdefault(key, value)
