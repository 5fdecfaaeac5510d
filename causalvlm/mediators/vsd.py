"""VSD (Visual-Semantic Decoupling, CDC's mediator): M soft templates plus the frozen hand-crafted t0.

Each template m has its own learnable context and yields class embeddings w^m_c = f_T([V]^m_1 … [V]^m_n
[CLASS_c] .). All M×C prompts go through the text encoder in one batched pass. Training adds

    L_de  (decoupling)  — templates should carry different semantics,
    L_con (consistency) — each template should still agree with t0 on which class is which,

see :mod:`causalvlm.mediators.vsd_losses` for the equations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from causalvlm.backbones import FrozenCLIP
from causalvlm.mediators.base import MEDIATORS, Mediator, check_classnames
from causalvlm.mediators.soft_prompt import SoftPrompt
from causalvlm.mediators.vsd_losses import VSD_TERMS, consistency_loss, decoupling_loss
from causalvlm.templates import DEFAULT_TEMPLATE

# Distinct four-token phrases, so templates start from different points in embedding space.
DEFAULT_CTX_INIT = ("a photo of a", "a picture of a", "an image of a", "a rendering of a")
# M when not given (the cdc preset reads it too). Our choice: small enough for the CPU demo, and one
# template per distinct init phrase above; the paper's ablation sweeps M.
DEFAULT_NUM_TEMPLATES = 4


@MEDIATORS.register("vsd")
class VSDMediator(Mediator):
    """M soft templates; ``forward`` returns [M, C, D]; ``regularizers`` returns L_de and L_con."""

    provides = VSD_TERMS

    # buffers registered in __init__ / set_classnames (declared for type checkers)
    hand_crafted_features: torch.Tensor

    def __init__(
        self,
        backbone: FrozenCLIP,
        classnames: Sequence[str],
        template: str = DEFAULT_TEMPLATE,  # the hand-crafted t0 that L_con anchors to
        num_templates: int = DEFAULT_NUM_TEMPLATES,  # M
        n_ctx: int | None = None,  # None → each init phrase's length, or 16 with random init
        ctx_init: str
        | Sequence[str]
        | None = DEFAULT_CTX_INIT,  # phrase(s) cycled over m; None → N(0, 0.02²)
        temperature: float | None = None,  # τ of L_de / L_con; None → the CLIP logit scale
        init_noise: float = 0.02,  # std added to a template whose phrase repeats an earlier template's
        class_token_position: str = "end",
    ):
        super().__init__(backbone, classnames, template)
        if not isinstance(num_templates, int) or isinstance(num_templates, bool) or num_templates < 1:
            raise ValueError(f"num_templates (M) must be an integer >= 1, got {num_templates!r}")
        if temperature is not None and temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        self.num_templates = num_templates
        self.temperature = temperature
        phrases = [ctx_init] if isinstance(ctx_init, str) or ctx_init is None else list(ctx_init)
        if not phrases:
            raise ValueError("ctx_init must be a phrase, a non-empty list of phrases, or None")
        self.prompts = nn.ModuleList(
            SoftPrompt(
                backbone,
                self.classnames,
                n_ctx=n_ctx,
                ctx_init=phrases[m % len(phrases)],
                class_token_position=class_token_position,
            )
            for m in range(num_templates)
        )
        with torch.no_grad():
            for m, prompt in enumerate(self.soft_prompts):
                # A repeated phrase would give two identical templates, and identical templates get identical
                # gradients forever; a little noise breaks the tie.
                if phrases[m % len(phrases)] is not None and m >= len(phrases):
                    prompt.ctx.add_(torch.randn_like(prompt.ctx) * init_noise)
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

    def forward(self, image_features: torch.Tensor | None = None) -> torch.Tensor:
        """w [M, C, D]: one text-encoder pass over all M×C prompts, cut at the latest end-of-text token."""
        length = max(prompt.encoding_length for prompt in self.soft_prompts)
        pieces = [prompt(length) for prompt in self.soft_prompts]
        prompts = torch.cat([p for p, _ in pieces])
        eot_index = torch.cat([e for _, e in pieces])
        features = self.backbone.encode_text_embeddings(prompts, eot_index, normalize=True)
        return features.view(self.num_templates, self.num_classes, -1)

    def regularizers(
        self, text_features: torch.Tensor, logit_scale: torch.Tensor | float
    ) -> dict[str, torch.Tensor]:
        """{"L_de": L_de(w, τ), "L_con": L_con(w, w^0, τ)}; τ = temperature or logit scale."""
        tau = self.temperature if self.temperature is not None else logit_scale
        w0 = self.hand_crafted_features.to(text_features.dtype)
        return {
            "L_de": decoupling_loss(text_features, tau),
            "L_con": consistency_loss(text_features, w0, tau),
        }
