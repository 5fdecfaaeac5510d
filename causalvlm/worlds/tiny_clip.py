"""The tiny CLIPs of ShapeWorld: open_clip model configs registered as ``"causalvlm-tiny"`` and
``"causalvlm-tiny-vit"``.

``tiny_clip.json`` is a plain open_clip model config (a CLIP-ResNet image tower on 32×32 input; a text tower
with open_clip's default 49408-token BPE vocabulary so ``open_clip.get_tokenizer`` works).
``tiny_clip_vit.json`` has the same text tower and an open_clip ``VisionTransformer`` image tower, distilled
from the ResNet one (:mod:`causalvlm.worlds.distill`), so MaPLe's and PromptSRC's vision prompts run on the
world. open_clip names configs after their file stem, so :func:`register_tiny_clip` registers copies under
the names above.

The configs and the checkpoints (``checkpoints/tiny_clip.pt``, ``checkpoints/tiny_clip_vit.pt``) are package
data, found through ``importlib.resources``, so an installed wheel has them as well as a checkout.
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

from causalvlm.backbones.loading import weights_follow


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
TINY_CLIP_VIT_ARCH = "causalvlm-tiny-vit"
TINY_CLIP_VIT_CONFIG = _package_file("tiny_clip_vit.json")
TINY_CLIP_VIT_CHECKPOINT = _package_file("checkpoints", "tiny_clip_vit.pt")
# architecture name → (model config, checkpoint) of every tiny CLIP the package ships
SHIPPED_TINY_CLIPS = {
    TINY_CLIP_ARCH: (TINY_CLIP_CONFIG, TINY_CLIP_CHECKPOINT),
    TINY_CLIP_VIT_ARCH: (TINY_CLIP_VIT_CONFIG, TINY_CLIP_VIT_CHECKPOINT),
}


def register_tiny_clip() -> str:
    """Register the shipped tiny CLIP configs with open_clip under their names (idempotent); return the
    ResNet one's, ``"causalvlm-tiny"``."""
    missing = [arch for arch in SHIPPED_TINY_CLIPS if arch not in open_clip.list_models()]
    if missing:
        folder = tempfile.mkdtemp(prefix="causalvlm-tiny-")
        for arch in missing:
            shutil.copyfile(SHIPPED_TINY_CLIPS[arch][0], os.path.join(folder, f"{arch}.json"))
        open_clip.add_model_config(folder)
    return TINY_CLIP_ARCH


def shipped_checkpoint(backbone: str | os.PathLike) -> Path | None:
    """The shipped checkpoint of ``backbone`` when it names a tiny CLIP (its architecture name or its config
    file), else None: a run that names a tiny CLIP and no weights gets that model's own."""
    path = Path(backbone).expanduser()
    for arch, (config, checkpoint) in SHIPPED_TINY_CLIPS.items():
        if str(backbone) == arch or (path.is_file() and path.resolve() == config.resolve()):
            return checkpoint
    return None


def tiny_clip_config() -> dict:
    with open(TINY_CLIP_CONFIG) as f:
        return json.load(f)


def create_tiny_clip(
    checkpoint: str | os.PathLike | None = None, arch: str = TINY_CLIP_ARCH
) -> tuple[open_clip.CLIP, object, object]:
    """``(model, tokenizer, eval_preprocess)`` of a tiny CLIP (``arch``: ``"causalvlm-tiny"``, the ResNet
    one, or ``"causalvlm-tiny-vit"``); weights from ``checkpoint`` when given.

    The checkpoint is a plain (possibly fp16) state dict as written by ``causalvlm.worlds.pretrain`` or
    ``causalvlm.worlds.distill``.
    """
    register_tiny_clip()
    if arch not in SHIPPED_TINY_CLIPS:
        raise ValueError(f"unknown tiny CLIP {arch!r}; give one of {sorted(SHIPPED_TINY_CLIPS)}")
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise FileNotFoundError(f"tiny CLIP checkpoint not found: {checkpoint}")
    if checkpoint is None:
        model, _, preprocess = open_clip.create_model_and_transforms(arch)
    else:
        with weights_follow():  # no "initialized randomly" warning: the weights are loaded next
            model, _, preprocess = open_clip.create_model_and_transforms(arch)
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict({k: v.float() for k, v in state.items()})
    model.eval()
    return model, open_clip.get_tokenizer(arch), preprocess
