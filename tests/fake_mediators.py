"""Two fake mediators that exercise the classifier's other prediction paths (INTERFACE.md's contract):
a conditional one (text features depend on the image, like CoCoOp) and one with trainable image-side
parameters (like MaPLe). Small and transparent, so a test can compute their logits by hand."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from causalvlm.backbones import FrozenCLIP
from causalvlm.mediators import Mediator
from causalvlm.templates import DEFAULT_TEMPLATE


class ConditionalFakeMediator(Mediator):
    """A stand-in for CoCoOp: class text features shifted by a learned map of the image feature.

    w^m_c(x) = normalise(w0_c + ctx_m + A f(x_m)), returned as [B, M, C, D]; ``calls`` counts forwards.
    """

    conditional = True

    def __init__(
        self,
        backbone: FrozenCLIP,
        classnames: Sequence[str],
        template: str = DEFAULT_TEMPLATE,
        num_templates: int = 2,
    ) -> None:
        super().__init__(backbone, classnames, template)
        self.num_templates = num_templates
        dim = backbone.embed_dim
        self.ctx = nn.Parameter(0.1 * torch.randn(num_templates, 1, dim))
        self.shift = nn.Linear(dim, dim)
        self.calls = 0
        self.set_classnames(self.classnames)

    def set_classnames(self, classnames: Sequence[str]) -> None:
        self.classnames = list(classnames)
        with torch.no_grad():
            names = self.backbone.encode_text([self.template.format(c) for c in self.classnames])
        self.register_buffer("names", names, persistent=False)

    def forward(self, image_features: torch.Tensor | None = None) -> torch.Tensor:
        if image_features is None:
            raise ValueError("ConditionalFakeMediator needs image_features")
        self.calls += 1
        shift = self.shift(image_features).expand(-1, self.num_templates, -1)  # [B, M, D]
        text = self.names[None, None] + self.ctx[None] + shift[:, :, None, :]
        return torch.nn.functional.normalize(text, dim=-1)


class VisionPromptFakeMediator(Mediator):
    """A stand-in for MaPLe: template m adds its own learned pixel prompt to the image, so image features
    depend on learned parameters and come one per template ([B, M, D]) whatever the number of views."""

    image_side_trainable = True

    def __init__(
        self,
        backbone: FrozenCLIP,
        classnames: Sequence[str],
        template: str = DEFAULT_TEMPLATE,
        num_templates: int = 2,
    ) -> None:
        super().__init__(backbone, classnames, template)
        self.num_templates = num_templates
        self.pixel_prompt = nn.Parameter(0.1 * torch.randn(num_templates, 3, 1, 1))
        self.ctx = nn.Parameter(0.1 * torch.randn(num_templates, 1, backbone.embed_dim))
        self.set_classnames(self.classnames)

    def set_classnames(self, classnames: Sequence[str]) -> None:
        self.classnames = list(classnames)
        with torch.no_grad():
            names = self.backbone.encode_text([self.template.format(c) for c in self.classnames])
        self.register_buffer("names", names, persistent=False)

    def forward(self, image_features: torch.Tensor | None = None) -> torch.Tensor:
        return torch.nn.functional.normalize(self.names[None] + self.ctx, dim=-1)

    def encode_images(self, views: torch.Tensor) -> torch.Tensor:
        batch = views.shape[0]
        prompted = views.expand(-1, self.num_templates, -1, -1, -1) + self.pixel_prompt
        features = self.backbone.encode_image(prompted.flatten(0, 1), normalize=True)  # autograd on
        return features.view(batch, self.num_templates, -1)
