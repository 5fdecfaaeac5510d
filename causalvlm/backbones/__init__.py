"""Frozen vision-language backbones (open_clip CLIP with an embedding-level text path)."""

from __future__ import annotations

from causalvlm.backbones.clip import FrozenCLIP, load_backbone
from causalvlm.backbones.loading import check_backbone_options, pretrained_source

__all__ = ["FrozenCLIP", "check_backbone_options", "load_backbone", "pretrained_source"]
