"""The mediator interface: X → S, the text side of the front-door path.

A mediator turns class names into M sets of class text features (one set per template / "opinion"); each image
is later scored against every set, giving the M per-template predictions that an aggregator fuses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch import nn

from causalvlm.backbones import FrozenCLIP
from causalvlm.mediators.templates import check_template
from causalvlm.registry import Registry

MEDIATORS = Registry("mediator")


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


class Mediator(nn.Module, ABC):
    """Produces L2-normalised class text features [M, C, D] for M templates in one text-encoder pass.

    The backbone is *referenced*, not registered as a submodule: the classifier owns it, and a mediator's
    ``state_dict`` then holds only what the mediator learns (its context vectors). Move the classifier,
    not the mediator alone, between devices.
    """

    num_templates: int

    def __init__(self, backbone: FrozenCLIP, classnames: Sequence[str], template: str = "a photo of a {}."):
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
    def forward(self) -> torch.Tensor:
        """Class text features w [M, C, D], L2-normalised along D."""

    @abstractmethod
    def set_classnames(self, classnames: Sequence[str]) -> None:
        """Rebuild the fixed (token) parts for new class names; learned context is kept."""

    def regularizers(
        self, text_features: torch.Tensor, logit_scale: torch.Tensor | float
    ) -> dict[str, torch.Tensor]:
        """Extra losses on the text features (``{"L_de": ..., "L_con": ...}`` for VSD); none by default."""
        return {}
