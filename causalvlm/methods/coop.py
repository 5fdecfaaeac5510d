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


def coop_recipe(max_epochs: int, batch_size: int, lr: float) -> dict[str, Any]:
    """An official recipe: its epochs, batch and learning rate, with CoOp's one-epoch warm-up at 1e-5 (the
    warm-up keys stay explicit: a recipe is laid over the run's own settings, see method_specs)."""
    optim = {"lr": lr, "warmup_epochs": 1, "warmup_lr": 1e-5}
    return {"max_epochs": max_epochs, "batch_size": batch_size, "optim": optim}


COOP = register_method(
    Method(
        name="coop",
        summary="CoOp: one soft template, cross-entropy",
        preset=COOP_PRESET,
        rank=10,
        colour="tab:blue",
    )
)
