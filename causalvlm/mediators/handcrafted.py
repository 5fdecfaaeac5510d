"""Hand-crafted templates: zero-shot CLIP as a mediator with nothing to learn.

S = {w^m_c = f_T(t_m(c)) : m = 1..M, c = 1..C}, with t_m the hand-written templates (by default the dataset's
t0, e.g. "a photo of a {}, a type of pet."). The features are computed once per class list and cached.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from causalvlm.backbones import FrozenCLIP
from causalvlm.mediators.base import MEDIATORS, Mediator, check_classnames
from causalvlm.templates import DEFAULT_TEMPLATE, check_template, templates_named


def resolve_templates(templates: str | Sequence[str] | None, default: str) -> list[str]:
    """None → [default]; a string with ``{}`` → itself; another string → a named set; a list as given."""
    if templates is None:
        return [default]
    if isinstance(templates, str):
        return [templates] if "{}" in templates else templates_named(templates)
    templates = list(templates)
    if not templates:
        raise ValueError("templates must not be empty")
    return [check_template(t) for t in templates]


@MEDIATORS.register("handcrafted")
class HandcraftedMediator(Mediator):
    """M fixed templates; ``forward`` returns the cached features [M, C, D] (no gradient)."""

    # buffers registered in __init__ / set_classnames (declared for type checkers)
    text_features: torch.Tensor

    def __init__(
        self,
        backbone: FrozenCLIP,
        classnames: Sequence[str],
        template: str = DEFAULT_TEMPLATE,
        templates: str | Sequence[str] | None = None,  # None → [template]; or a name in causalvlm.templates
    ):
        super().__init__(backbone, classnames, template)
        self.templates = resolve_templates(templates, self.template)
        self.num_templates = len(self.templates)
        self.set_classnames(self.classnames)

    def set_classnames(self, classnames: Sequence[str]) -> None:
        self.classnames = check_classnames(classnames)
        texts = [template.format(name) for template in self.templates for name in self.classnames]
        with torch.no_grad():
            features = self.backbone.encode_text(texts, normalize=True)
        self.register_buffer(
            "text_features", features.view(self.num_templates, len(self.classnames), -1), persistent=False
        )

    def forward(self, image_features: torch.Tensor | None = None) -> torch.Tensor:
        return self.text_features
