"""X → S mediators: hand-crafted templates, CoOp, CoCoOp, MaPLe, CDC's VSD; per-template views."""

from __future__ import annotations

from causalvlm.mediators import cocoop, coop, handcrafted, maple, vsd  # noqa: F401  (register the mediators)
from causalvlm.mediators.augmentations import AUGMENTATIONS, MultiViewTransform
from causalvlm.mediators.base import MEDIATORS, Mediator
from causalvlm.mediators.cocoop import CoCoOpMediator
from causalvlm.mediators.coop import CoOpMediator
from causalvlm.mediators.handcrafted import HandcraftedMediator
from causalvlm.mediators.maple import MaPLeMediator
from causalvlm.mediators.soft_prompt import SoftPrompt
from causalvlm.mediators.vsd import VSDMediator
from causalvlm.mediators.vsd_losses import consistency_loss, decoupling_loss
from causalvlm.templates import DATASET_TEMPLATES, TEMPLATE_SETS, template_for  # re-exported

# Methods that bring their own mediator define it in their file of causalvlm.methods (KgCoOp, PromptSRC):
# that package is imported before the first lookup, so their names are known however the lookup starts.
MEDIATORS.discover("causalvlm.methods")

__all__ = [
    "AUGMENTATIONS",
    "DATASET_TEMPLATES",
    "MEDIATORS",
    "TEMPLATE_SETS",
    "CoCoOpMediator",
    "CoOpMediator",
    "HandcraftedMediator",
    "MaPLeMediator",
    "Mediator",
    "MultiViewTransform",
    "SoftPrompt",
    "VSDMediator",
    "consistency_loss",
    "decoupling_loss",
    "template_for",
]
