"""CoCoOp (Zhou et al., CVPR 2022): CoOp's context plus a meta-network's per-image bias on every token.

The mediator is :class:`causalvlm.mediators.CoCoOpMediator`; cross-entropy with CoOp's augmentation. All B×C
prompts of a batch share one text pass.
"""

from __future__ import annotations

from causalvlm.methods.base import Method, register_method
from causalvlm.methods.coop import COOP_PRESET, coop_recipe

COCOOP = register_method(
    Method(
        name="cocoop",
        summary="CoCoOp: one soft template conditioned on the image (meta-net)",
        preset=dict(COOP_PRESET, mediator="cocoop"),
        rank=20,
        # The official recipe (configs/trainers/CoCoOp/vit_b16_c4_ep10_batch1_ctxv1.yaml): batch 1, 10 epochs.
        recipe=coop_recipe(10, 1, 0.002),
    )
)
