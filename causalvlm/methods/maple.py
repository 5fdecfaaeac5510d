"""MaPLe (Khattak et al., CVPR 2023): deep text prompts coupled into deep vision prompts.

The first 2 tokens of "a photo of a" are learnable, deep prompts enter text layers 1..J−1 (J = 9, or every
layer of a smaller tower) and are coupled into the image tower (:class:`causalvlm.mediators.MaPLeMediator`);
cross-entropy, CoOp's augmentation. Its image features move with the coupling layers, so it trains and is
tested on images, never on cached features. On a ResNet image tower only the text side can exist: the row is
then ``maple[text-only]``.
"""

from __future__ import annotations

from causalvlm.methods.base import Method, register_method
from causalvlm.methods.coop import COOP_CTX_INIT, COOP_PRESET, coop_recipe

MAPLE = register_method(
    Method(
        name="maple",
        summary="MaPLe: deep text prompts coupled to deep vision prompts (ViT)",
        preset=dict(COOP_PRESET, mediator="maple", mediator_options={"ctx_init": COOP_CTX_INIT, "n_ctx": 2}),
        rank=30,
        vision_option="vision_prompts",
        # The official recipe (configs/trainers/MaPLe/vit_b16_c2_ep5_batch4_2ctx.yaml).
        recipe=coop_recipe(5, 4, 0.0035),
    )
)
