"""PromptSRC (Khattak et al., "Self-regulating Prompts: Foundational Model Adaptation without Forgetting",
ICCV 2023): independent deep prompts in both towers, kept near the frozen CLIP, averaged over epochs.

Prompts (independent vision-language prompting): the text prompt is [SOS] [V]_1 … [V]_4 [CLASS_c] . [EOS] with
[V] started from "a photo of a"; deep text prompts P^t_i (N(0, 0.02²)) replace positions 1..4 before text
blocks i = 1..J−1; vision prompts P^v_0 (4 tokens, N(0, 0.02²)) are appended to the image tokens and deep
ones P^v_i replace them before vision blocks i = 1..J−1 (J = 9, or every layer of a smaller tower). No
coupling: the two sides learn on their own.

Self-regulating losses, against the frozen CLIP: w̃ the class features of the anchor templates (the mean of
their features over the template set), f̃(x) the frozen image feature, z̃ = τ f̃(x)·w̃ the zero-shot logits,

    L_scl_text   = mean |w − w̃|                       (L1, weight 25)
    L_scl_image  = mean |f(x) − f̃(x)|                 (L1, weight 10)
    L_scl_logits = Σ KL(softmax z̃ ‖ softmax z) / (B·C)  (weight 1)
    L = L_ce + 25 L_scl_text + 10 L_scl_image + L_scl_logits

Gaussian prompt aggregation (GPA): after epoch e = 1..N the prompts θ_e are added with weight
g_e = N(e; μ, σ²) / Σ_e' N(e'; μ, σ²) and the sum replaces them after the last epoch.

Official values (configs/trainers/PromptSRC/vit_b16_c2_ep20_batch4_4+4ctx.yaml, base-to-new): batch 4, SGD
lr 0.0025, 20 epochs, cosine after one warm-up epoch at 1e-5, aug2, μ = 15, σ = 1. For a run of another length
N (ours), μ and σ default to the same fractions of it: μ = 0.75 N, σ = 0.05 N. The official anchor is the 60
ImageNet templates of CLIP's prompt-engineering notebook; ours defaults to the 7-template selection shipped in
causalvlm.templates (``anchor_templates`` takes any list). On a ResNet image tower only the text side exists:
the row is ``promptsrc[text-only]`` and L_scl_image is 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from causalvlm.backbones import FrozenCLIP
from causalvlm.mediators.base import (
    MEDIATORS,
    Mediator,
    TrainingPass,
    check_classnames,
    vision_prompts_allowed,
)
from causalvlm.mediators.handcrafted import resolve_templates
from causalvlm.mediators.maple import resolve_depth
from causalvlm.mediators.soft_prompt import SoftPrompt
from causalvlm.methods.base import Method, register_method
from causalvlm.methods.coop import COOP_PRESET, coop_recipe
from causalvlm.templates import DEFAULT_TEMPLATE

SCL_WEIGHTS = {"L_scl_text": 25.0, "L_scl_image": 10.0, "L_scl_logits": 1.0}  # TEXT/IMAGE_LOSS_WEIGHT, KL's 1
GPA_MEAN_FRACTION, GPA_STD_FRACTION = 15 / 20, 1 / 20  # the official μ = 15, σ = 1 over 20 epochs


def self_regulating_losses(
    w: torch.Tensor,
    w_frozen: torch.Tensor,
    f: torch.Tensor,
    f_frozen: torch.Tensor,
    z: torch.Tensor,
    tau: torch.Tensor | float,
) -> dict[str, torch.Tensor]:
    """PromptSRC's three terms for class features w, w̃ [C, D], image features f, f̃ [B, D] and logits z [B, C]:
    L_scl_text = mean|w − w̃|, L_scl_image = mean|f − f̃|, L_scl_logits = Σ KL(softmax z̃ ‖ softmax z)/(B·C) with
    z̃ = τ f̃·w̃ᵀ (all features L2-normalised)."""
    z_frozen = tau * f_frozen.to(w_frozen.dtype) @ w_frozen.t()
    kl = F.kl_div(F.log_softmax(z, dim=1), F.log_softmax(z_frozen, dim=1), reduction="sum", log_target=True)
    return {
        "L_scl_text": F.l1_loss(w, w_frozen.to(w.dtype)),
        "L_scl_image": F.l1_loss(f, f_frozen.to(f.dtype)),
        "L_scl_logits": kl / z.numel(),
    }


def gaussian_epoch_weights(
    max_epochs: int, mean: float | None = None, std: float | None = None
) -> list[float]:
    """g_e = N(e; μ, σ²) / Σ_e' N(e'; μ, σ²) for e = 1..N (μ, σ default to 0.75 N and 0.05 N)."""
    mean = GPA_MEAN_FRACTION * max_epochs if mean is None else float(mean)
    std = GPA_STD_FRACTION * max_epochs if std is None else float(std)
    density = [
        math.exp(-0.5 * ((e - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))
        for e in range(1, max_epochs + 1)
    ]
    total = sum(density)
    if not total > 0:
        raise ValueError(f"GPA weights vanish for every epoch 1..{max_epochs} (mean {mean}, std {std})")
    return [d / total for d in density]


@MEDIATORS.register("promptsrc")
class PromptSRCMediator(Mediator):
    """Independent deep text and vision prompts; ``forward()`` [1, C, D], ``encode_images`` [B, V, D]."""

    num_templates = 1
    provides = tuple(SCL_WEIGHTS)

    def __init__(
        self,
        backbone: FrozenCLIP,
        classnames: Sequence[str],
        template: str = DEFAULT_TEMPLATE,
        ctx_init: str | None = "a photo of a",  # [V] from these words (4 tokens); None → 4 tokens N(0, 0.02²)
        n_ctx: int | None = None,  # None → the length of ctx_init (4), or 4 with random init
        text_depth: int | None = None,  # J of the text tower; None → min(9, layers)
        vision_depth: int | None = None,  # J of the image tower; None → min(9, layers)
        n_ctx_vision: int = 4,  # vision prompt tokens per layer
        vision_prompts: bool = True,  # False: text-side prompts only (what a ResNet tower allows)
        prompt_init_std: float = 0.02,  # deep and vision prompts start as N(0, std²)
        anchor_templates: str | Sequence[str] = "imagenet_ensemble",  # w̃: a set name or a list of templates
        gpa_mean: float | None = None,  # μ of GPA in epochs (1-based); None → 0.75 × the run's epochs
        gpa_std: float | None = None,  # σ of GPA in epochs; None → 0.05 × the run's epochs
    ):
        super().__init__(backbone, classnames, template)
        if ctx_init is None and n_ctx is None:
            n_ctx = 4
        for name, value in (("gpa_mean", gpa_mean), ("gpa_std", gpa_std)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"{name} must be a number of epochs or None, got {value!r}")
        if gpa_std is not None and not gpa_std > 0:
            raise ValueError(f"gpa_std must be positive, got {gpa_std!r}")
        # gpa_mean / gpa_std are read by the GPA callback from the method's options (gpa_callbacks below)
        self.vision_prompts = vision_prompts_allowed(backbone, vision_prompts, "PromptSRC")
        self.image_side_trainable = self.vision_prompts
        self.anchor_templates = resolve_templates(anchor_templates, self.template)
        self.prompt = SoftPrompt(backbone, self.classnames, n_ctx=n_ctx, ctx_init=ctx_init)
        device = backbone.text_tower.token_embedding.weight.device

        def prompts(count: int, tokens: int, width: int) -> nn.ParameterList:
            return nn.ParameterList(
                nn.Parameter(torch.randn(tokens, width, device=device) * prompt_init_std)
                for _ in range(count)
            )

        self.text_depth = resolve_depth(text_depth, backbone.text_layers)
        self.deep_text_prompts = prompts(self.text_depth - 1, self.prompt.n_ctx, backbone.width)  # P^t_i
        self.vision_depth = resolve_depth(vision_depth, backbone.vision_layers) if self.vision_prompts else 0
        width = backbone.vision_width if self.vision_prompts else 0
        self.vision_prompt_tokens = prompts(self.vision_depth, n_ctx_vision, width)  # P^v_0 .. P^v_{J−1}
        self.register_hand_crafted_features(self.anchor_templates)

    def set_classnames(self, classnames: Sequence[str]) -> None:
        self.classnames = check_classnames(classnames)
        self.prompt.set_classnames(self.classnames)
        self.register_hand_crafted_features(self.anchor_templates)

    def forward(self, image_features: torch.Tensor | None = None) -> torch.Tensor:
        """w [1, C, D]: the prompt [V] with deep text prompts P^t_i at layers 1..J−1 (image unused)."""
        prompts, eot_index = self.prompt(self.prompt.encoding_length)
        deep = list(self.deep_text_prompts)
        features = self.backbone.encode_text_embeddings(prompts, eot_index, normalize=True, deep_prompts=deep)
        return features.unsqueeze(0)

    def encode_images(self, views: torch.Tensor) -> torch.Tensor:
        """Views [B,3,H,W] or [B,V,3,H,W] → L2-normalised [B, V, D] through the vision prompts (the plain
        frozen tower without them)."""
        if views.dim() == 4:
            views = views.unsqueeze(1)
        if not self.vision_prompts:
            return super().encode_images(views)
        first, *deeper = self.vision_prompt_tokens
        features = self.backbone.encode_image_prompted(views.flatten(0, 1), first, deeper, normalize=True)
        return features.view(*views.shape[:2], -1)

    def regularizers(
        self, text_features: torch.Tensor, logit_scale: torch.Tensor | float
    ) -> dict[str, torch.Tensor]:
        """{"L_scl_text"}: the one term the text features alone determine (training adds the others)."""
        w = text_features.reshape(-1, text_features.shape[-1])
        return {"L_scl_text": F.l1_loss(w, self.hand_crafted_features.to(w.dtype))}

    def training_regularizers(
        self, text_features: torch.Tensor, logit_scale: torch.Tensor | float, step: TrainingPass
    ) -> dict[str, torch.Tensor]:
        """The three self-regulating terms of one step (:func:`self_regulating_losses`); the frozen image
        features come from the step's images, or are the step's own features when the image side is frozen."""
        f = step.image_features[:, 0]
        if self.vision_prompts and step.images is not None:
            images = step.images if step.images.dim() == 4 else step.images[:, 0]
            with torch.no_grad():
                f_frozen = self.backbone.encode_image(images, normalize=True)
        else:
            f_frozen = f.detach()
        w = text_features.reshape(-1, text_features.shape[-1])
        return self_regulating_losses(w, self.hand_crafted_features, f, f_frozen, step.logits[0], logit_scale)


class GaussianPromptAggregation(pl.Callback):
    """GPA: after each epoch e, Σ += g_e θ_e over the classifier's trainable parameters; after the last epoch
    the sum replaces them (:func:`gaussian_epoch_weights`). The running sum travels in checkpoints."""

    def __init__(self, mean: float | None = None, std: float | None = None) -> None:
        self.mean, self.std = mean, std
        self.average: dict[str, torch.Tensor] = {}

    @staticmethod
    def _parameters(module: pl.LightningModule) -> dict[str, nn.Parameter]:
        classifier = cast(nn.Module, module.classifier)
        return {name: p for name, p in classifier.named_parameters() if p.requires_grad}

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epochs = trainer.max_epochs
        if epochs is None or epochs < 1:
            raise ValueError("Gaussian prompt aggregation needs a fixed number of epochs (max_epochs)")
        weight = gaussian_epoch_weights(epochs, self.mean, self.std)[trainer.current_epoch]
        for name, parameter in self._parameters(pl_module).items():
            term = parameter.detach() * weight
            self.average[name] = term if name not in self.average else self.average[name] + term
        if trainer.current_epoch + 1 == epochs:
            with torch.no_grad():
                for name, parameter in self._parameters(pl_module).items():
                    parameter.copy_(self.average[name])

    def state_dict(self) -> dict[str, Any]:
        return {"average": {k: v.cpu() for k, v in self.average.items()}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.average = dict(state_dict.get("average", {}))


def _gpa(spec: Any) -> list[pl.Callback]:
    options = spec.mediator_options
    return [GaussianPromptAggregation(options.get("gpa_mean"), options.get("gpa_std"))]


PROMPTSRC = register_method(
    Method(
        name="promptsrc",
        summary="PromptSRC: independent deep text and vision prompts, self-regulating losses, GPA",
        preset=dict(COOP_PRESET, mediator="promptsrc", mediator_options={}, weights=dict(SCL_WEIGHTS)),
        rank=50,
        vision_option="vision_prompts",
        recipe=coop_recipe(20, 4, 0.0025),
        callbacks=_gpa,
    )
)
