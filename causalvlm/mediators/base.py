"""The mediator interface: X → S, the text side of the front-door path.

A mediator turns class names into M sets of class text features (one set per template / "opinion"); each image
is later scored against every set, giving the M per-template predictions that an aggregator fuses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from causalvlm.backbones import FrozenCLIP
from causalvlm.registry import Registry
from causalvlm.templates import DEFAULT_TEMPLATE, check_template

MEDIATORS: Registry[Mediator] = Registry("mediator")


def check_classnames(classnames: Sequence[str]) -> list[str]:
    """A non-empty sequence (list, tuple) of unique, non-empty strings; ValueError naming the fault otherwise.

    A single string is refused: ``list("circle")`` would silently make six classes 'c', 'i', 'r', ...
    """
    if isinstance(classnames, (str, bytes)):
        raise ValueError(
            f"classnames must be a sequence of class names, got the single string {classnames!r}; "
            f"for one class write [{classnames!r}]"
        )
    if not isinstance(classnames, Sequence):
        raise ValueError(
            "classnames must be a sequence (list or tuple) of names in label order, "
            f"got {type(classnames).__name__}"
        )
    if len(classnames) == 0:
        raise ValueError("classnames must be a non-empty sequence of names, got an empty one")
    for index, name in enumerate(classnames):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"classnames[{index}] ({name!r}) must be a non-empty string")
    repeated = sorted({name for name in classnames if classnames.count(name) > 1})
    if repeated:
        raise ValueError(f"classnames must be unique; {repeated} appear more than once")
    return list(classnames)


def hand_crafted_features(
    backbone: FrozenCLIP, templates: Sequence[str], classnames: Sequence[str]
) -> torch.Tensor:
    """w^0 [C, D]: the frozen CLIP's L2-normalised text features of hand-written templates for each class.

    One template gives f_T(t0(c)); several give the normalised mean of their (unnormalised) features, the
    prompt ensemble of zero-shot CLIP. The anchor that L_con, KgCoOp's and PromptSRC's terms pull towards.
    """
    texts = [template.format(name) for template in templates for name in classnames]
    with torch.no_grad():
        features = backbone.encode_text(texts, normalize=len(templates) == 1)
    if len(templates) > 1:
        features = features.view(len(templates), len(classnames), -1).mean(dim=0)
        features = features / features.norm(dim=-1, keepdim=True)
    return features


def vision_prompts_allowed(backbone: FrozenCLIP, vision_prompts: bool, method: str) -> bool:
    """``vision_prompts`` as a bool; ValueError naming ``method`` when they are asked for on a tower that is
    not a ViT (a convolutional tower has no tokens to prompt)."""
    if vision_prompts and not backbone.has_vision_transformer:
        raise ValueError(
            f"{method}'s vision prompts need a ViT image tower, but this backbone's is "
            f"{type(backbone.model.visual).__name__}; use a ViT backbone, or vision_prompts=False for its "
            "text-side prompts only (then it is not the method as published)"
        )
    return bool(vision_prompts)


@dataclass(frozen=True)
class TrainingPass:
    """What one training step computed, for regularisers that compare it with the frozen model's."""

    image_features: torch.Tensor  # [B, V, D], the features the logits were computed from
    logits: torch.Tensor  # [M, B, C], the per-template logits
    images: torch.Tensor | None  # the step's images [B, V, 3, H, W]; None when training on cached features


class Mediator(nn.Module, ABC):
    """Produces L2-normalised class text features [M, C, D] for M templates in one text-encoder pass.

    The backbone is *referenced*, not registered as a submodule: the classifier owns it, and a mediator's
    ``state_dict`` then holds only what the mediator learns (its context vectors). Move the classifier,
    not the mediator alone, between devices.

    Two class attributes say how the mediator touches the image side; the defaults describe a mediator whose
    text features are shared by every image and whose image features are plain frozen CLIP features
    (hand-crafted, CoOp, VSD). Only :class:`~causalvlm.FrontDoorClassifier` reads them: callers never
    branch on them.
    """

    num_templates: int
    _backbone: FrozenCLIP  # set with object.__setattr__: the frozen CLIP is shared, not a registered child
    # True when the text features depend on the image (CoCoOp): ``forward`` then needs the image features.
    conditional: bool = False
    # True when image features depend on learned parameters (MaPLe's vision prompts): they cannot be cached,
    # and ``encode_images`` runs the (still frozen) image tower with autograd on.
    image_side_trainable: bool = False
    # Names of the regularisers it provides (the keys of ``regularizers``); a method weighs them by name and
    # the classifier adds Σ_k w_k R_k to the classification loss.
    provides: tuple[str, ...] = ()
    # w^0 [C, D], the frozen CLIP's hand-crafted class features, for mediators that anchor to them
    # (register_hand_crafted_features).
    hand_crafted_features: torch.Tensor

    def __init__(self, backbone: FrozenCLIP, classnames: Sequence[str], template: str = DEFAULT_TEMPLATE):
        super().__init__()
        object.__setattr__(self, "_backbone", backbone)  # bypass nn.Module registration on purpose
        self.template = check_template(template)
        self.classnames = check_classnames(classnames)

    @property
    def backbone(self) -> FrozenCLIP:
        return self._backbone

    @property
    def num_classes(self) -> int:
        return len(self.classnames)

    @abstractmethod
    def forward(self, image_features: torch.Tensor | None = None) -> torch.Tensor:
        """Class text features w, L2-normalised along D.

        Unconditional mediators ignore ``image_features`` and return ``[M, C, D]``. A conditional one needs
        ``image_features [B, V, D]`` (V = 1 conditions every template on the one view, V = M conditions
        template m on view m) and returns ``[B, M, C, D]``.
        """

    def encode_images(self, views: torch.Tensor) -> torch.Tensor:
        """``views [B, V, 3, H, W]`` → L2-normalised image features ``[B, V, D]``.

        The default is the frozen CLIP image encoder, run without autograd (nothing on the image side learns).
        A mediator with trainable image-side parameters overrides this and may return one feature per
        template (V' = M) whatever V is.
        """
        with torch.no_grad():
            features = self.backbone.encode_image(views.flatten(0, 1), normalize=True)
        return features.view(*views.shape[:2], -1)

    @abstractmethod
    def set_classnames(self, classnames: Sequence[str]) -> None:
        """Rebuild the fixed (token) parts for new class names; learned context is kept."""

    def regularizers(
        self, text_features: torch.Tensor, logit_scale: torch.Tensor | float
    ) -> dict[str, torch.Tensor]:
        """Extra losses on the text features, one per name in :attr:`provides` (VSD: ``{"L_de": ...,
        "L_con": ...}``); none by default."""
        return {}

    def training_regularizers(
        self, text_features: torch.Tensor, logit_scale: torch.Tensor | float, step: TrainingPass
    ) -> dict[str, torch.Tensor]:
        """The regularisers of one training step (the classifier calls this); by default
        :meth:`regularizers` of the text features. A mediator whose terms need the step's image features,
        logits or images (PromptSRC's) overrides it."""
        return self.regularizers(text_features, logit_scale)

    def register_hand_crafted_features(self, templates: Sequence[str] | None = None) -> None:
        """Keep w^0 [C, D] (:func:`hand_crafted_features` of ``templates``, default [t0]) as the
        non-persistent buffer ``hand_crafted_features``; call it again when the class names change."""
        w0 = hand_crafted_features(self.backbone, templates or [self.template], self.classnames)
        self.register_buffer("hand_crafted_features", w0, persistent=False)
