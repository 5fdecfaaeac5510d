"""CoOp (Zhou et al., IJCV 2022): one soft template trained with cross-entropy.

Its recipe is the one CoCoOp, MaPLe and KgCoOp start from (:data:`COOP_PRESET`): four context tokens from
"a photo of a", one template, cross-entropy, random resized crops with flips (``aug2``).
"""

from __future__ import annotations

from typing import Any

from causalvlm.methods.base import Method, register_method

# CoOp's base-to-new setting: 4 context tokens initialised from these words.
COOP_CTX_INIT = "a photo of a"

COOP_PRESET: dict[str, Any] = dict(
    mediator="coop",
    templates=1,
    aggregator="logit-avg",
    augmentation="aug2",
    mediator_options={"ctx_init": COOP_CTX_INIT},
)

COOP = register_method(
    Method(
        name="coop",
        summary="CoOp: one soft template, cross-entropy",
        preset=COOP_PRESET,
        rank=10,
        colour="tab:blue",
        # On the world CoOp trains without crops: they cut off its off-centre shapes (choose_world.py).
        default_run={"aug": "none"},
    )
)
