"""Experiment definitions: the checked configuration, method specs, the paper's protocols, the ρ sweep,
the experiment runner, the checks before work and loading a finished run.

Imports run one way: experiments → training → classifier, and experiments → runs.
"""

from __future__ import annotations

from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.method_parts import (
    build_classifier,
    build_test_transform,
    build_view_transform,
    uses_cached_features,
)
from causalvlm.experiments.method_specs import METHODS, MethodSpec, method_spec, with_templates
from causalvlm.experiments.protocols import (
    CROSS_DATASET_TARGETS,
    CROSS_DOMAIN_TARGETS,
    PROTOCOLS,
    ProtocolOutput,
    ProtocolRunner,
    load_backbone,
)
from causalvlm.training.settings import OptimConfig, TrainConfig

__all__ = [
    "CROSS_DATASET_TARGETS",
    "CROSS_DOMAIN_TARGETS",
    "METHODS",
    "PROTOCOLS",
    "ExperimentConfig",
    "MethodSpec",
    "OptimConfig",
    "ProtocolOutput",
    "ProtocolRunner",
    "TrainConfig",
    "build_classifier",
    "build_test_transform",
    "build_view_transform",
    "load_backbone",
    "method_spec",
    "uses_cached_features",
    "with_templates",
]
