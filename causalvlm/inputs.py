"""Checks of the images users hand to the model, with messages that say what was expected.

Without them a numpy array, raw uint8 pixels, a 32×32 batch for a 224×224 backbone or a NaN fail deep inside
torch (``conv2d() received an invalid combination of arguments``, ``Input type (double) and bias type
(float)``, a shape mismatch in the positional embedding) or, worse, not at all: NaN images give NaN
probabilities. :func:`check_images` runs at the classifier's image entry point, before the backbone.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

PREPROCESS_HINT = "preprocess each PIL image with backbone.preprocess (normalised float32 [3,H,W]) and stack"
LOW_PRECISION = (torch.float16, torch.bfloat16)


def check_images(images: Any, backbone: Any, name: str = "images") -> None:
    """``images`` is a non-empty, finite float tensor ``[B,3,H,W]`` or ``[B,V,3,H,W]`` of the backbone's size.

    Float32 always fits; float16 / bfloat16 fit a backbone with weights in that dtype or under autocast.
    The backbone needs ``image_size`` (int) and parameters (for their dtype and device).
    """
    if not isinstance(images, Tensor):
        kind = type(images).__module__.split(".")[0] + "." + type(images).__name__
        hint = "; convert with torch.from_numpy(array).float()" if kind.startswith("numpy.") else ""
        raise TypeError(f"{name} must be a torch.Tensor [B,3,H,W] or [B,V,3,H,W], got {kind}{hint}")
    if images.dim() not in (4, 5) or images.shape[-3] != 3:
        raise ValueError(
            f"{name} must be [B,3,H,W] or [B,V,3,H,W] (RGB, channels first), got shape {tuple(images.shape)}"
        )
    if images.shape[0] == 0 or (images.dim() == 5 and images.shape[1] == 0):
        raise ValueError(f"{name} is an empty batch (shape {tuple(images.shape)}); give at least one image")
    size = int(backbone.image_size)
    height, width = images.shape[-2:]
    if (height, width) != (size, size):
        raise ValueError(
            f"{name} are {height}×{width} but the backbone takes {size}×{size} images; {PREPROCESS_HINT}"
        )
    weight = next(iter(backbone.parameters()), None)
    _check_dtype(images, weight.dtype if weight is not None else torch.float32, name)
    if weight is not None and images.device != weight.device:
        raise ValueError(
            f"{name} are on {images.device} but the model is on {weight.device}; move one with .to(device)"
        )
    if not bool(torch.isfinite(images).all()):
        bad = int((~torch.isfinite(images)).sum())
        raise ValueError(
            f"{name} contain {bad} NaN or infinite value(s); check the image loading and normalisation"
        )


def _check_dtype(images: Tensor, weight_dtype: torch.dtype, name: str) -> None:
    dtype = images.dtype
    if dtype == torch.float32:
        return
    if dtype in LOW_PRECISION and (dtype == weight_dtype or torch.is_autocast_enabled(images.device.type)):
        return
    if not dtype.is_floating_point:
        raise ValueError(
            f"{name} have dtype {dtype}: raw pixel values, not the normalised float32 the backbone takes; "
            f"{PREPROCESS_HINT}"
        )
    raise ValueError(
        f"{name} have dtype {dtype}; the backbone takes float32 (its weights are {weight_dtype}): "
        f"use {name}.float()"
    )


__all__ = ["check_images"]
