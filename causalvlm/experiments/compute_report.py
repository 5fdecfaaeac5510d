"""The compute report: trainable parameters and images/s of each method, and of the first method that sweeps
its number of templates M (CDC) at each M of ``compute_templates`` (docs/performance.md).

Training is timed on training views, inference on the test views the accuracy is measured on; the
end-to-end rate of a real training run (data loading and optimiser included) is added when there was one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from causalvlm.backbones import FrozenCLIP
from causalvlm.data import DatasetSplits
from causalvlm.evaluation.compute import measure_throughput
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.method_parts import (
    TEST_VIEW_SEED,
    build_classifier,
    build_test_transform,
    build_view_transform,
)
from causalvlm.experiments.method_specs import MethodSpec, sweeps_templates, with_templates
from causalvlm.training.datamodule import SeededViewsDataset


def compute_report(
    cfg: ExperimentConfig,
    backbone: FrozenCLIP,
    splits: DatasetSplits,
    fit_rates: Mapping[str, float | None],
) -> list[dict[str, Any]]:
    """One row per method (and per extra M of the swept method), timed on ``compute_batch`` training
    images of ``splits``; ``fit_rates`` holds the images/s of each method's first real fit."""
    sample = splits.train_x[: cfg.compute_batch]
    specs: list[MethodSpec] = list(cfg.methods)
    swept = next((s for s in cfg.methods if sweeps_templates(s)), None)
    if swept is not None:
        specs += [with_templates(swept, m) for m in cfg.compute_templates if m != swept.templates]
    report = []
    for spec in specs:
        torch.manual_seed(0)
        classifier = build_classifier(spec, backbone, splits.classnames, splits.template, scm=cfg.scm)
        images, labels = encode_ready_batch(sample, build_view_transform(spec, backbone))
        test_images, _ = encode_ready_batch(sample, build_test_transform(spec, backbone), seed=TEST_VIEW_SEED)
        row = measure_throughput(classifier, images, labels, test_images=test_images)
        if not spec.trains:
            row["train_images_per_s"] = None
        row["fit_images_per_s"] = fit_rates.get(spec.label)
        report.append({"method": spec.label, **row})
    return report


def encode_ready_batch(
    sample: Sequence, transform: Callable, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a few images through a transform into one ``[B,V,3,H,W]`` (or ``[B,3,H,W]``) batch."""
    dataset = SeededViewsDataset(sample, transform, seed=seed)
    items = [dataset[i] for i in range(len(dataset))]
    return torch.stack([i["images"] for i in items]), torch.tensor([i["labels"] for i in items])


__all__ = ["compute_report", "encode_ready_batch"]
