"""Lightning training: the LightningModule, the DataModule, the trainer, callbacks, loggers, the view bank.

This room knows how to fit prompts; it knows no experiment (:mod:`causalvlm.experiments`) and keeps its
records through :mod:`causalvlm.runs`.
"""

from __future__ import annotations

from causalvlm.training.callbacks import (
    RunRecord,
    epoch_checkpoint,
    fit_images_per_second,
    throughput_monitor,
)
from causalvlm.training.datamodule import (
    EpochSeededSampler,
    FeatureDataset,
    PromptDataModule,
    SeededViewsDataset,
)
from causalvlm.training.module import PromptTuningModule, warmup_cosine_factor
from causalvlm.training.settings import OptimConfig, TrainConfig
from causalvlm.training.trainer import build_trainer, fit, resolve_devices, resolve_precision

__all__ = [
    "EpochSeededSampler",
    "FeatureDataset",
    "OptimConfig",
    "PromptDataModule",
    "PromptTuningModule",
    "RunRecord",
    "SeededViewsDataset",
    "TrainConfig",
    "build_trainer",
    "epoch_checkpoint",
    "fit",
    "fit_images_per_second",
    "resolve_devices",
    "resolve_precision",
    "throughput_monitor",
    "warmup_cosine_factor",
]
