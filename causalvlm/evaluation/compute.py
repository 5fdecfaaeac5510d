"""The compute report: trainable parameters and measured images/s for training and inference.

Throughput is measured on the full image path (CLIP image encoder + mediator text forward + aggregation),
not on cached features, so it reflects what a user pays per image. Training is timed on the method's training
views and inference on its test views (the test-time view policy that its accuracy is measured with), so
the two rates describe the same runs as the accuracy table. Numbers are machine-specific; the report
records the device they were taken on.
"""

from __future__ import annotations

import platform
import time
from typing import Any

import torch
from torch import Tensor

from causalvlm.classifier import FrontDoorClassifier


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _images_per_second(step, batch_size: int, repeats: int, device: torch.device) -> float:
    step()  # warm-up: first calls pay for allocation and kernel selection
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    _sync(device)
    return batch_size * repeats / (time.perf_counter() - start)


def measure_throughput(
    classifier: FrontDoorClassifier,
    images: Tensor,
    labels: Tensor,
    repeats: int = 3,
    test_images: Tensor | None = None,
) -> dict[str, Any]:
    """Images/s of a training step (loss + backward) on ``images`` and of inference (``predict_proba``) on
    ``test_images`` (default: ``images``).

    Both are ``[B,3,H,W]`` or ``[B,V,3,H,W]``: the training views, and the test views of the method's
    test-time view policy. Gradients are cleared afterwards; nothing is updated.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    device = classifier.device
    images, labels = images.to(device), labels.to(device)
    test_images = images if test_images is None else test_images.to(device)
    batch_size = int(images.shape[0])
    params = classifier.trainable_parameters()

    def train_step() -> None:
        classifier.loss((images, labels)).backward()

    train_rate = _images_per_second(train_step, batch_size, repeats, device) if params else None
    for p in params:
        p.grad = None
    with torch.no_grad():
        inference_rate = _images_per_second(
            lambda: classifier.predict_proba(test_images), int(test_images.shape[0]), repeats, device
        )
    return {
        "templates": classifier.num_templates,
        "trainable_params": classifier.num_trainable_parameters(),
        "train_images_per_s": train_rate,
        "inference_images_per_s": inference_rate,
        "batch_size": batch_size,
        "device": device_name(device),
    }
