"""Where the world's model-making commands (``pretrain``, ``distill``) write, checked before any work.

Both commands write one checkpoint (a state dict) and a JSON summary beside it, ``<stem>.summary.json``. The
checks here run before rendering or training: the file is not a folder, an existing file needs
``--overwrite``, the folder is writable (only the command's default folder may be missing: it is made in the
current directory), and a CUDA device asked for is visible. Writes go to a temporary file that replaces the
target, so a killed run never leaves half a checkpoint.
"""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
from pathlib import Path

import torch

from causalvlm.config_model import ConfigError

DEVICE_PATTERN = r"auto|cpu|cuda(:\d+)?"


def check_checkpoint_out(out: str, overwrite: bool, default: str) -> None:
    """ConfigError naming ``out`` when the checkpoint cannot be written there as asked."""
    path = Path(out).expanduser()
    if path.is_dir():
        raise ConfigError(
            "out", f"{out} is a folder; give the checkpoint file to write (e.g. {path / Path(default).name})"
        )
    if path.exists() and not overwrite:
        raise ConfigError("out", f"{out} exists; pass --overwrite to replace it")
    folder = path.parent
    if not folder.is_dir():
        if out != default:
            raise ConfigError("out", f"folder {path.parent} does not exist (create it first)")
        folder = folder.parent  # the default's folder is made in the current directory
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ConfigError("out", f"cannot write in {folder}: {error.strerror or error}") from None


def check_device_name(device: str) -> None:
    """ConfigError naming ``device`` unless it is auto, cpu, cuda or cuda:N (what the settings check)."""
    if not re.fullmatch(DEVICE_PATTERN, device):
        raise ConfigError("device", f"must be auto, cpu, cuda or cuda:N, got {device!r}")


def check_device(device: str) -> None:
    """ConfigError naming ``device`` unless it is auto, cpu, or a CUDA device visible here."""
    check_device_name(device)
    if device.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(device.partition(":")[2] or 0)
        if index >= count:
            raise ConfigError("device", f"{device!r} asked for, but {count} CUDA device(s) are visible here")


def pick_device(device: str) -> torch.device:
    """``auto`` is CUDA when present, else the CPU; anything else is taken as given."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def atomic_save(obj, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then replace ``path`` with it."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def half_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's state dict in fp16 on the CPU: how the shipped checkpoints are stored."""
    return {k: v.detach().half().cpu() for k, v in model.state_dict().items()}


def machine_description(threads: int) -> str:
    """What a summary says about where it ran: the CPU architecture and the torch thread count."""
    return f"{platform.machine()} {platform.processor() or ''}".strip() + f", torch threads={threads}"


def write_summary(summary: dict, checkpoint: Path) -> Path:
    """Write ``summary`` as ``<checkpoint stem>.summary.json`` beside the checkpoint, atomically."""
    path = checkpoint.with_suffix(".summary.json")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(summary, indent=2))
    os.replace(tmp, path)
    return path
