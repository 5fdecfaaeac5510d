"""The tiny CLIP of ShapeWorld: an open_clip model config registered as ``"causalvlm-tiny"``.

``tiny_clip.json`` is a plain open_clip model config (a CLIP-ResNet image tower on 32×32 input; a text tower
with open_clip's default 49408-token BPE vocabulary so ``open_clip.get_tokenizer`` works). open_clip names
configs after their file stem, so :func:`register_tiny_clip` registers a copy under ``"causalvlm-tiny"``.

The config and the pre-trained checkpoint (``checkpoints/tiny_clip.pt``) are package data, found through
``importlib.resources``, so an installed wheel has them as well as a checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import open_clip
import torch


def _package_file(*parts: str) -> Path:
    """A data file shipped in ``causalvlm.worlds``, as a filesystem path (open_clip and torch need paths)."""
    path = resources.files("causalvlm.worlds")
    for part in parts:
        path = path / part
    if not isinstance(path, Path):  # e.g. imported from a zip archive
        raise RuntimeError(f"causalvlm's data file {path} is not a plain file; install causalvlm unzipped")
    return path


TINY_CLIP_ARCH = "causalvlm-tiny"
TINY_CLIP_CONFIG = _package_file("tiny_clip.json")
TINY_CLIP_CHECKPOINT = _package_file("checkpoints", "tiny_clip.pt")


def register_tiny_clip() -> str:
    """Register ``tiny_clip.json`` with open_clip as ``"causalvlm-tiny"`` (idempotent); return that name."""
    if TINY_CLIP_ARCH not in open_clip.list_models():
        folder = tempfile.mkdtemp(prefix="causalvlm-tiny-")
        shutil.copyfile(TINY_CLIP_CONFIG, os.path.join(folder, f"{TINY_CLIP_ARCH}.json"))
        open_clip.add_model_config(folder)
    return TINY_CLIP_ARCH


def tiny_clip_config() -> dict:
    with open(TINY_CLIP_CONFIG) as f:
        return json.load(f)


def create_tiny_clip(checkpoint: str | os.PathLike | None = None) -> tuple[open_clip.CLIP, object, object]:
    """``(model, tokenizer, eval_preprocess)`` of the tiny CLIP; weights from ``checkpoint`` when given.

    The checkpoint is a plain (possibly fp16) state dict as written by ``causalvlm.worlds.pretrain``.
    """
    arch = register_tiny_clip()
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise FileNotFoundError(f"tiny CLIP checkpoint not found: {checkpoint}")
    model, _, preprocess = open_clip.create_model_and_transforms(arch)
    if checkpoint is not None:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict({k: v.float() for k, v in state.items()})
    model.eval()
    return model, open_clip.get_tokenizer(arch), preprocess
