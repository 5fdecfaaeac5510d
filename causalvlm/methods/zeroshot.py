"""Zero-shot CLIP (Radford et al., 2021): the dataset's hand-crafted template t0, nothing to learn."""

from __future__ import annotations

from causalvlm.methods.base import Method, register_method

ZEROSHOT = register_method(
    Method(
        name="zeroshot",
        summary="zero-shot CLIP: the dataset's hand-crafted template, no training",
        # One template, so fusion is the identity; no augmentation, because nothing trains.
        preset=dict(
            mediator="handcrafted", templates=1, aggregator="logit-avg", augmentation="none", trains=False
        ),
        rank=0,
        colour="tab:gray",  # the method without training is grey in every figure
    )
)
