"""What makes a run's numbers: its resolved configuration, its fingerprint, and what differs between two.

A run's configuration is a plain JSON-able dict of everything that changes its numbers: the method and its
options, the dataset and its split (a digest of the few-shot training images and of each evaluation set),
shots, seed, epochs and optimiser, the template, the backbone with the content hash of its weights, the world
options. The fingerprint is the SHA-256 of that dict written as canonical JSON (sorted keys, no spaces), so
two runs share a fingerprint exactly when every one of those settings agrees. It is stored in the run's
``config.json`` and in each of its checkpoints; a resume compares them key by key (:func:`differences`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

DIGEST_CHARS = 16  # hex characters of a data/weights digest shown in configs and messages (64 bits)
HASH_CHUNK = 1 << 20


def fingerprint(config: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of ``config`` as canonical JSON."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"optim": {"lr": 1}}}`` → ``{"train.optim.lr": 1}`` (lists stay values)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """One line per differing setting, ``"key: old → new"``, sorted by key; empty when they agree."""
    before, after = flatten(old), flatten(new)
    lines = []
    for key in sorted(set(before) | set(after)):
        if before.get(key, _MISSING) != after.get(key, _MISSING):
            lines.append(f"{key}: {_show(before.get(key, _MISSING))} → {_show(after.get(key, _MISSING))}")
    return lines


def what_changed(old: Mapping[str, Any], new: Mapping[str, Any], then: str) -> str:
    """A refused resume's account of the change: ``"(1 setting differs; <then> → now):\n  key: old → new"``.

    When every recorded setting agrees although the fingerprints do not, the record was edited by hand.
    """
    changed = differences(old, new)
    if not changed:
        return "(every recorded setting agrees but the fingerprint does not: the file was edited)"
    count = "1 setting differs" if len(changed) == 1 else f"{len(changed)} settings differ"
    return f"({count}; {then} → now):\n  " + "\n  ".join(changed)


class _Missing:
    def __repr__(self) -> str:
        return "(not set)"


_MISSING = _Missing()


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, _Missing) else "(not set)"
    return text if len(text) <= 80 else text[:77] + "..."


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks (a ViT-B/16 checkpoint takes about a second)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def weights_sha256(module: nn.Module) -> str:
    """SHA-256 of a module's state dict (names, dtypes, shapes, bytes): the weights, whatever their source."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def backbone_identity(arch: str, pretrained: str | None, model: nn.Module | None = None) -> dict[str, Any]:
    """The backbone as a run sees it: the architecture (a config JSON by its content) and the weights.

    Local files are named by their content hash, not their path, so moving a checkpoint does not change the
    identity and replacing it in place does. Random weights (``pretrained=None``) are named by the hash of
    ``model``'s state dict, when given.
    """
    identity: dict[str, Any] = {}
    arch_path = Path(arch).expanduser()
    if str(arch).endswith(".json") and arch_path.is_file():
        identity["architecture"] = f"{arch_path.stem} (config sha256 {file_sha256(arch_path)[:DIGEST_CHARS]})"
    else:
        identity["architecture"] = str(arch)
    if pretrained is None:
        identity["weights"] = f"random init sha256 {weights_sha256(model)}" if model else "random init"
    elif Path(pretrained).expanduser().is_file():
        identity["weights"] = f"file sha256 {file_sha256(Path(pretrained).expanduser())}"
    else:
        identity["weights"] = f"open_clip tag {pretrained}"
    return identity


def split_digest(data: Sequence[Any], root: str | Path, with_sizes: bool = False) -> dict[str, Any]:
    """Count and digest of a list of :class:`~causalvlm.data.Datum` (path relative to ``root``, label, class).

    ``with_sizes`` adds each file's size (one ``stat`` per image; used for the few-shot training set, where
    a regenerated image under the same name must not pass for the old one).
    """
    digest = hashlib.sha256()
    root = os.path.abspath(os.path.expanduser(str(root)))
    for datum in data:
        path = os.path.abspath(datum.impath)
        name = os.path.relpath(path, root) if path.startswith(root + os.sep) else path
        size = f"\t{os.path.getsize(path)}" if with_sizes else ""
        digest.update(f"{name}\t{datum.label}\t{datum.classname}{size}\n".encode())
    return {"images": len(data), "sha256": digest.hexdigest()[:DIGEST_CHARS]}


__all__ = [
    "backbone_identity",
    "differences",
    "file_sha256",
    "fingerprint",
    "flatten",
    "split_digest",
    "weights_sha256",
    "what_changed",
]
