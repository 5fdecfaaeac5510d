"""CoCoOp: conditional context (Zhou et al., "Conditional Prompt Learning for Vision-Language Models").

A light meta-network π turns the image feature f(x) into a bias added to every context token, so each image
gets its own prompts for all C classes:

    π(f) = W_2 · ReLU(W_1 f + b_1) + b_2          (W_1: D → D/16, W_2: D/16 → width)
    [V]_k(x) = [V]_k + π(f(x)),   w_c(x) = f_T([V]_1(x) … [V]_n(x) [CLASS_c] .)

The official code runs the text encoder once per image (batch size 1). Here all B×M×C prompts of a batch go
through the text encoder in one pass, cut at the latest end-of-text token.

M templates (CDC on top): template m has its own context [V]^m and, unless ``shared_meta_net``, its own
meta-network π_m, and is conditioned on view m of the image (one view conditions all templates):
[V]^m_k(x) = [V]^m_k + π_m(f(x_m)). M = 1 is CoCoOp as published.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from causalvlm.backbones import FrozenCLIP
from causalvlm.mediators.base import MEDIATORS, Mediator, check_classnames
from causalvlm.mediators.multi_template import (
    check_num_templates,
    phrases_for,
    views_per_template,
    vsd_regularizers,
)
from causalvlm.mediators.soft_prompt import SoftPrompt
from causalvlm.mediators.vsd import DEFAULT_CTX_INIT
from causalvlm.mediators.vsd_losses import VSD_TERMS

# CoCoOp's meta-network narrows the image feature by this factor in its hidden layer.
META_NET_REDUCTION = 16


def meta_network(feature_dim: int, ctx_dim: int, reduction: int = META_NET_REDUCTION) -> nn.Sequential:
    """π: Linear(D, D/16) → ReLU → Linear(D/16, width), CoCoOp's meta-net (hidden size at least 1)."""
    hidden = max(1, feature_dim // reduction)
    return nn.Sequential(nn.Linear(feature_dim, hidden), nn.ReLU(), nn.Linear(hidden, ctx_dim))


@MEDIATORS.register("cocoop")
class CoCoOpMediator(Mediator):
    """Image-conditioned soft prompts; ``forward(image_features [B,V,D])`` returns [B, M, C, D]."""

    # buffers registered in __init__ / set_classnames (declared for type checkers)
    hand_crafted_features: torch.Tensor

    conditional = True
    image_side_trainable = False
    provides = VSD_TERMS  # L_de and L_con over its M templates (CDC on top of CoCoOp)

    def __init__(
        self,
        backbone: FrozenCLIP,
        classnames: Sequence[str],
        template: str = "a photo of a {}.",  # the hand-crafted t0 that L_con anchors to
        num_templates: int = 1,  # M; 1 is CoCoOp as published
        n_ctx: int
        | None = None,  # None → the init phrase's length (4 for "a photo of a"), 16 with random init
        ctx_init: str
        | Sequence[str]
        | None = DEFAULT_CTX_INIT,  # phrase(s) cycled over m; None → N(0, 0.02²)
        shared_meta_net: bool = False,  # one π for all M templates instead of one each
        temperature: float | None = None,  # τ of L_de / L_con; None → the CLIP logit scale
        init_noise: float = 0.02,  # std added to a template whose phrase repeats an earlier template's
    ):
        super().__init__(backbone, classnames, template)
        self.num_templates = check_num_templates(num_templates)
        if temperature is not None and temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        self.temperature = temperature
        self.shared_meta_net = bool(shared_meta_net)
        phrases = phrases_for(ctx_init, self.num_templates)
        self.prompts = nn.ModuleList(
            SoftPrompt(backbone, self.classnames, n_ctx=n_ctx, ctx_init=phrase) for phrase, _ in phrases
        )
        with torch.no_grad():
            for prompt, (_, repeated) in zip(self.soft_prompts, phrases, strict=True):
                if repeated:
                    prompt.ctx.add_(torch.randn_like(prompt.ctx) * init_noise)
        device = backbone.text_tower.token_embedding.weight.device
        self.meta_nets = nn.ModuleList(
            meta_network(backbone.embed_dim, backbone.width).to(device)
            for _ in range(1 if self.shared_meta_net else self.num_templates)
        )
        self.set_classnames(self.classnames)

    @property
    def soft_prompts(self) -> list[SoftPrompt]:
        """The M soft prompts, typed (iterating an nn.ModuleList yields plain Modules)."""
        return cast(list[SoftPrompt], list(self.prompts))

    def set_classnames(self, classnames: Sequence[str]) -> None:
        classnames = check_classnames(classnames)
        for prompt in self.soft_prompts:
            prompt.set_classnames(classnames)
        self.classnames = classnames
        self.register_hand_crafted_features()

    def context(self, image_features: torch.Tensor | None) -> torch.Tensor:
        """Per-image context [B, M, n_ctx, width]: [V]^m_k + π_m(f(x_m)) for image features [B,V,D]."""
        views = views_per_template(image_features, self.num_templates, "CoCoOp")
        contexts = []
        for m, prompt in enumerate(self.soft_prompts):
            meta_net = self.meta_nets[0 if self.shared_meta_net else m]
            bias = meta_net(views[:, m].to(next(meta_net.parameters()).dtype))  # π_m(f(x_m)) [B, width]
            contexts.append(prompt.ctx.unsqueeze(0) + bias.unsqueeze(1))  # [B, n_ctx, width]
        return torch.stack(contexts, dim=1)

    def forward(self, image_features: torch.Tensor | None = None) -> torch.Tensor:
        """w_c(x) [B, M, C, D]: all B×M×C prompts in one text-encoder pass, cut at the latest end-of-text."""
        context = self.context(image_features)
        batch = context.shape[0]
        length = max(prompt.encoding_length for prompt in self.soft_prompts)
        # [B, C, L, W] per template → [B, M, C, L, W] → one batch of B·M·C prompts.
        pieces = [prompt(length, context=context[:, m]) for m, prompt in enumerate(self.soft_prompts)]
        if self.num_templates == 1:
            prompts = pieces[0][0].flatten(0, 1)  # no copy for the published M = 1
        else:
            prompts = torch.stack([p for p, _ in pieces], dim=1).flatten(0, 2)
        eot_index = torch.cat([e for _, e in pieces]).repeat(batch)
        features = self.backbone.encode_text_embeddings(prompts, eot_index, normalize=True)
        return features.view(batch, self.num_templates, self.num_classes, -1)

    def encode_images(self, views: torch.Tensor) -> torch.Tensor:
        """Frozen image features: views [B,3,H,W] or [B,V,3,H,W] → L2-normalised [B, V, D] (no gradient)."""
        if views.dim() == 4:
            views = views.unsqueeze(1)
        if views.dim() != 5:
            raise ValueError(f"views must be [B,3,H,W] or [B,V,3,H,W], got shape {tuple(views.shape)}")
        with torch.no_grad():
            features = self.backbone.encode_image(views.flatten(0, 1), normalize=True)
        return features.view(views.shape[0], views.shape[1], -1)

    def regularizers(
        self, text_features: torch.Tensor, logit_scale: torch.Tensor | float
    ) -> dict[str, torch.Tensor]:
        """L_de and L_con of each image's conditioned templates [B,M,C,D], averaged over the images."""
        tau = self.temperature if self.temperature is not None else logit_scale
        return vsd_regularizers(text_features, self.hand_crafted_features, tau)
