"""Lightning training: the LightningModule, the DataModule, the trainer, callbacks, loggers, the view bank.

This room knows how to fit prompts; it knows no experiment (:mod:`causalvlm.experiments`) and keeps its
records through :mod:`causalvlm.runs`.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "TrainThroughput": "causalvlm.training.callbacks",
    "EpochSeededSampler": "causalvlm.training.datamodule",
    "FeatureDataset": "causalvlm.training.datamodule",
    "PromptDataModule": "causalvlm.training.datamodule",
    "SeededViewsDataset": "causalvlm.training.datamodule",
    "PromptTuningModule": "causalvlm.training.module",
    "warmup_cosine_factor": "causalvlm.training.module",
    "build_trainer": "causalvlm.training.trainer",
    "fit": "causalvlm.training.trainer",
    "resolve_devices": "causalvlm.training.trainer",
    "resolve_precision": "causalvlm.training.trainer",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'causalvlm.training' has no attribute {name!r}")
