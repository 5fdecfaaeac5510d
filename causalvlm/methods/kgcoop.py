"""KgCoOp (Yao et al., "Visual-Language Prompt Tuning with Knowledge-guided Context Optimization", CVPR 2023).

CoOp's soft template w_c = f_T([V]_1 … [V]_4 [CLASS_c] .), started from "a photo of a", plus a penalty that
keeps each learned class embedding near the hand-crafted one w^clip_c = f_T(t0(c)) of the frozen CLIP:

    L_kg = 1 − (1/C) Σ_c cos(w_c, w^clip_c)        L = L_ce + λ L_kg,   λ = 8

The paper writes L_kg as the mean squared Euclidean distance (1/C) Σ_c ‖w_c − w^clip_c‖²; for unit vectors
that is 2 (1 − cos), so the official code's form above is half of it, and λ = 8 is the official weight for
this form. The recipe is the official base-to-new one (configs/trainers/KgCoOp/vit_b16_ep100_ctxv1.yaml with
scripts/base2new_train.sh): batch 128, SGD lr 0.002, 100 epochs, cosine after one warm-up epoch at 1e-5,
random resized crops with flips.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from causalvlm.backbones import FrozenCLIP
from causalvlm.mediators.base import MEDIATORS
from causalvlm.mediators.coop import CoOpMediator
from causalvlm.methods.base import Method, register_method
from causalvlm.methods.coop import COOP_PRESET, coop_recipe
from causalvlm.templates import DEFAULT_TEMPLATE

KGCOOP_WEIGHT = 8.0  # λ of the official scripts (scripts/run.sh: base2new_train.sh <dataset> 8.0)


def knowledge_guidance_loss(w: torch.Tensor, w_clip: torch.Tensor) -> torch.Tensor:
    """L_kg = 1 − (1/C) Σ_c cos(w_c, w^clip_c) for learned class embeddings w [1, C, D] (or [C, D]) and the
    frozen CLIP's hand-crafted ones w^clip [C, D]."""
    w = w.reshape(-1, w.shape[-1])
    return 1.0 - torch.nn.functional.cosine_similarity(w, w_clip.to(w.dtype), dim=-1, eps=1e-7).mean()


@MEDIATORS.register("kgcoop")
class KgCoOpMediator(CoOpMediator):
    """CoOp's soft prompt with the hand-crafted class embeddings kept as the anchor of ``L_kg``."""

    provides = ("L_kg",)

    def __init__(
        self,
        backbone: FrozenCLIP,
        classnames: Sequence[str],
        template: str = DEFAULT_TEMPLATE,  # t0, whose frozen embeddings w^clip anchor L_kg
        n_ctx: int | None = None,  # None → length of ctx_init, or 16 with random init
        ctx_init: str | None = None,  # initial words, e.g. "a photo of a"; None → N(0, 0.02²)
        class_token_position: str = "end",  # "end" | "middle" | "front"
    ):
        super().__init__(backbone, classnames, template, n_ctx, ctx_init, class_token_position)
        self.register_hand_crafted_features()

    def set_classnames(self, classnames: Sequence[str]) -> None:
        super().set_classnames(classnames)
        self.register_hand_crafted_features()

    def regularizers(
        self, text_features: torch.Tensor, logit_scale: torch.Tensor | float
    ) -> dict[str, torch.Tensor]:
        """{"L_kg": L_kg(w, w^clip)} (see :func:`knowledge_guidance_loss`)."""
        return {"L_kg": knowledge_guidance_loss(text_features, self.hand_crafted_features)}


KGCOOP = register_method(
    Method(
        name="kgcoop",
        summary="KgCoOp: CoOp plus L_kg, the learned class embeddings' distance to the hand-crafted ones",
        preset=dict(COOP_PRESET, mediator="kgcoop", weights={"L_kg": KGCOOP_WEIGHT}),
        rank=40,
        weight_names={"lambda": "L_kg"},  # the paper's λ
        recipe=coop_recipe(100, 128, 0.002),
    )
)
