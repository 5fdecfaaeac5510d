"""CoOp: one learnable soft template (Zhou et al., "Learning to Prompt for Vision-Language Models").

w_c = f_T([V]_1 … [V]_n [CLASS_c] .) for every class c, M = 1. The context is initialised from words
(``ctx_init="a photo of a"``) or from N(0, 0.02²).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from causalvlm.backbones import FrozenCLIP
from causalvlm.mediators.base import MEDIATORS, Mediator, check_classnames
from causalvlm.mediators.soft_prompt import SoftPrompt
from causalvlm.templates import DEFAULT_TEMPLATE


@MEDIATORS.register("coop")
class CoOpMediator(Mediator):
    """A single soft prompt; ``forward`` returns [1, C, D]."""

    num_templates = 1

    def __init__(
        self,
        backbone: FrozenCLIP,
        classnames: Sequence[str],
        template: str = DEFAULT_TEMPLATE,
        n_ctx: int | None = None,  # None → length of ctx_init, or 16 with random init
        ctx_init: str | None = None,  # initial words, e.g. "a photo of a"; None → N(0, 0.02²)
        class_token_position: str = "end",  # "end" | "middle" | "front"
        class_specific_context: bool = False,  # one context per class (cannot transfer to new classes)
    ):
        super().__init__(backbone, classnames, template)
        self.prompt = SoftPrompt(
            backbone,
            self.classnames,
            n_ctx=n_ctx,
            ctx_init=ctx_init,
            class_token_position=class_token_position,
            class_specific_context=class_specific_context,
        )

    def set_classnames(self, classnames: Sequence[str]) -> None:
        classnames = check_classnames(classnames)
        self.prompt.set_classnames(classnames)
        self.classnames = classnames

    def forward(self, image_features: torch.Tensor | None = None) -> torch.Tensor:
        prompts, eot_index = self.prompt(self.prompt.encoding_length)
        return self.backbone.encode_text_embeddings(prompts, eot_index, normalize=True).unsqueeze(0)
