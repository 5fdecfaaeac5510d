"""CDC (the paper): M soft templates (VSD) fused by DSTC, L = L_t-ce + β L_de + γ L_con.

``cdc`` is the paper's method: M VSD templates, DSTC fusion, β = γ = 1, view m of each training image (aug1)
for template m, so templates can specialise. ``cdc-tmc`` trains it with TMC's additions to the evidential loss
(:data:`~causalvlm.aggregators.TMC_LOSS_OPTIONS`: the fused opinion's term and the annealed
KL(Dir(α̃) ‖ Dir(1)), as in TMC's code), an ablation of the paper's objective one flag away. β and γ are
CDC's names for the weights of its two loss terms, L_de and L_con (``--beta`` / ``--gamma``).
"""

from __future__ import annotations

from typing import Any

from causalvlm.aggregators import TMC_LOSS_OPTIONS
from causalvlm.mediators.vsd import DEFAULT_NUM_TEMPLATES

# β → L_de (decoupling), γ → L_con (consistency): the paper's names for the two weights, one table
from causalvlm.mediators.vsd_losses import VSD_WEIGHT_NAMES as CDC_WEIGHT_NAMES
from causalvlm.methods.base import Method, register_method

CDC_PRESET: dict[str, Any] = dict(
    mediator="vsd",
    templates=DEFAULT_NUM_TEMPLATES,
    aggregator="ds",
    weights={"L_de": 1.0, "L_con": 1.0},
    augmentation="aug1",
    shared_view=False,
)

CDC = register_method(
    Method(
        name="cdc",
        summary="CDC: M soft templates (VSD) + DSTC fusion, L_de and L_con",
        preset=CDC_PRESET,
        rank=100,
        ours=True,
        variable_templates=True,
        sweeps_templates=True,
        weight_names=CDC_WEIGHT_NAMES,
        colour="tab:red",
    )
)

CDC_TMC = register_method(
    Method(
        name="cdc-tmc",
        summary="CDC trained with TMC's additions to the evidential loss",
        preset=dict(CDC_PRESET, aggregator_options=dict(TMC_LOSS_OPTIONS)),
        rank=110,
        ours=True,
        variable_templates=True,
        weight_names=CDC_WEIGHT_NAMES,
    )
)


# CDC on other prompt learners: the same M templates, DSTC fusion, L_de and L_con and per-template views, with
# CoCoOp's conditional context or MaPLe's deep multi-modal prompts as the templates (their mediators take
# num_templates). Their own names, so each is one row with its own traits and every CDC flag reaches it.
def _cdc_over(prompts: str, summary: str, rank: int, **traits: Any) -> Method:
    return register_method(
        Method(
            name=f"cdc+{prompts}",
            summary=summary,
            preset=dict(CDC_PRESET, mediator=prompts),
            rank=rank,
            ours=True,
            variable_templates=True,
            weight_names=CDC_WEIGHT_NAMES,
            **traits,
        )
    )


CDC_COCOOP = _cdc_over(
    "cocoop", "CDC over CoCoOp's prompts: M image-conditioned templates, DSTC, L_de, L_con", 120
)
# On a ResNet tower MaPLe's vision prompts cannot exist: the row is then cdc+maple[text-only].
CDC_MAPLE = _cdc_over(
    "maple",
    "CDC over MaPLe's prompts: M deep multi-modal templates, DSTC, L_de, L_con",
    130,
    vision_option="vision_prompts",
)
