"""Prompt tuning with PyTorch Lightning, the paper's method presets and evaluation protocols."""

from __future__ import annotations

from causalvlm.training.callbacks import TrainThroughput
from causalvlm.training.config import ExperimentConfig, OptimConfig, TrainConfig
from causalvlm.training.datamodule import (
    EpochSeededSampler,
    FeatureDataset,
    PromptDataModule,
    SeededViewsDataset,
)
from causalvlm.training.methods import (
    METHODS,
    MethodSpec,
    build_classifier,
    build_test_transform,
    build_view_transform,
    method_spec,
    uses_cached_features,
    with_templates,
)
from causalvlm.training.module import PromptTuningModule, warmup_cosine_factor
from causalvlm.training.protocols import (
    CROSS_DATASET_TARGETS,
    CROSS_DOMAIN_TARGETS,
    PROTOCOLS,
    ProtocolOutput,
    ProtocolRunner,
    load_backbone,
)
from causalvlm.training.trainer import build_trainer, fit, resolve_devices, resolve_precision

__all__ = [
    "CROSS_DATASET_TARGETS",
    "CROSS_DOMAIN_TARGETS",
    "METHODS",
    "PROTOCOLS",
    "EpochSeededSampler",
    "ExperimentConfig",
    "FeatureDataset",
    "MethodSpec",
    "OptimConfig",
    "PromptDataModule",
    "PromptTuningModule",
    "ProtocolOutput",
    "ProtocolRunner",
    "SeededViewsDataset",
    "TrainConfig",
    "TrainThroughput",
    "build_classifier",
    "build_test_transform",
    "build_trainer",
    "build_view_transform",
    "fit",
    "load_backbone",
    "method_spec",
    "resolve_devices",
    "resolve_precision",
    "uses_cached_features",
    "warmup_cosine_factor",
    "with_templates",
]
