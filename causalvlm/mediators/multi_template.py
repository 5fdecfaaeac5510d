"""Pieces shared by mediators that learn M templates on top of a baseline prompt learner (CoCoOp, MaPLe).

CDC's idea is method-agnostic: M templates, each an opinion S_m, fused by an aggregator, with the VSD losses
keeping them decoupled yet anchored to t0. These helpers give any prompt learner that shape: one initial
phrase per template, image views paired with templates (view m → template m, one view → all), and L_de / L_con
on [M,C,D] or per-image [B,M,C,D] class features.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from causalvlm.mediators.vsd_losses import consistency_loss, decoupling_loss


def check_num_templates(num_templates: int) -> int:
    """M as an int ≥ 1; ValueError naming the value otherwise."""
    if not isinstance(num_templates, int) or isinstance(num_templates, bool) or num_templates < 1:
        raise ValueError(f"num_templates (M) must be an integer >= 1, got {num_templates!r}")
    return num_templates


def phrases_for(ctx_init: str | Sequence[str] | None, num_templates: int) -> list[tuple[str | None, bool]]:
    """(initial phrase, repeats an earlier template's phrase) for each of the M templates, phrases cycled.

    A repeated phrase would start two templates at the same point, and identical templates receive identical
    gradients forever, so callers add a little noise to the repeats.
    """
    phrases = [ctx_init] if isinstance(ctx_init, str) or ctx_init is None else list(ctx_init)
    if not phrases:
        raise ValueError("ctx_init must be a phrase, a non-empty list of phrases, or None")
    return [
        (phrases[m % len(phrases)], phrases[m % len(phrases)] is not None and m >= len(phrases))
        for m in range(num_templates)
    ]


def views_per_template(image_features: torch.Tensor | None, num_templates: int, what: str) -> torch.Tensor:
    """Image features [B,D] or [B,V,D] (V ∈ {1, M}) → [B,M,D]: view m for template m, one view for all."""
    if image_features is None:
        raise ValueError(f"{what} is conditional: forward needs image_features [B, V, D] (V = 1 or M)")
    if image_features.dim() == 2:
        image_features = image_features.unsqueeze(1)
    if image_features.dim() != 3 or image_features.shape[1] not in (1, num_templates):
        raise ValueError(
            f"{what} needs image_features [B, V, D] with V = 1 or M = {num_templates}, "
            f"got shape {tuple(image_features.shape)}"
        )
    return image_features.expand(-1, num_templates, -1)


def vsd_regularizers(
    text_features: torch.Tensor, w0: torch.Tensor, tau: torch.Tensor | float
) -> dict[str, torch.Tensor]:
    """{"L_de", "L_con"} on w [M,C,D], or their mean over images for per-image features [B,M,C,D]."""
    w0 = w0.to(text_features.dtype)
    if text_features.dim() == 3:
        return {
            "L_de": decoupling_loss(text_features, tau),
            "L_con": consistency_loss(text_features, w0, tau),
        }
    if text_features.dim() != 4:
        raise ValueError(f"text features must be [M,C,D] or [B,M,C,D], got {tuple(text_features.shape)}")
    per_image = [vsd_regularizers(w, w0, tau) for w in text_features]
    return {key: torch.stack([terms[key] for terms in per_image]).mean() for key in ("L_de", "L_con")}
