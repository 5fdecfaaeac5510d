"""Checks of the world outside a config, run before any data is written or any model is built.

:class:`~causalvlm.experiments.config.ExperimentConfig` checks its own values when it is built; this module
checks what they point at: the output folder can be written, data roots are folders, the backbone config
and checkpoint are readable files, a weights tag can actually be loaded here, the asked-for devices exist,
the graph file reads. Each failure is a :class:`~causalvlm.config_model.ConfigError` naming the setting.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import open_clip
import torch

import causalvlm.worlds as worlds
from causalvlm.backbones.loading import is_config_path, pretrained_source
from causalvlm.classifier import resolve_scm
from causalvlm.config_model import ConfigError
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.training.settings import TrainConfig
from causalvlm.writable import check_folder_writable

DOWNLOAD_PROBE_SECONDS = 3.0


def preflight(config: ExperimentConfig) -> None:
    """Every check below, in the order a user would fix them."""
    check_folder_writable(config.out, "out")
    check_data_roots(config)
    check_backbone_options(config.backbone, config.pretrained)
    check_scm(config.scm)
    check_devices(config.train)
    check_trainer(config.train)


# ---------------------------------------------------------------------------------------------- folders
def check_data_roots(config: ExperimentConfig) -> None:
    """Every dataset's root is a folder; the world's root may be created when ``make_world`` is on."""
    for name in dict.fromkeys([*config.datasets, *(config.targets or [])]):
        options = config.dataset_options.get(name, {})
        key = f"dataset_options.{name}.root" if "root" in options else "data_root"
        root = Path(str(options.get("root", config.data_root))).expanduser()
        if root.exists() and not root.is_dir():
            raise ConfigError(key, f"{root} is a file; the data root must be a folder")
        if name in worlds.WORLD_DATASETS and config.make_world:
            check_folder_writable(root, key)  # the world is written here when it is missing
        elif not root.exists():
            raise ConfigError(key, f"{root} does not exist (dataset {name!r} is read from it)")


# ---------------------------------------------------------------------------------------------- backbone
def check_backbone_options(backbone: str, pretrained: str | None) -> None:
    """``backbone`` is a model-config JSON or an open_clip architecture; ``pretrained`` can be loaded here."""
    arch = _check_backbone(backbone)
    if pretrained_source(pretrained) == "none":
        return
    if pretrained is not None and pretrained_source(pretrained) == "file":  # the loader's own rule
        path = Path(pretrained).expanduser()
        if path.is_dir():
            raise ConfigError("pretrained", f"{pretrained} is a folder; give the checkpoint file")
        if not path.is_file():
            raise ConfigError(
                "pretrained", f"pretrained checkpoint not found: {pretrained} is not an existing file"
            )
        return
    tag_config = open_clip.get_pretrained_cfg(arch, pretrained)
    if not tag_config:
        tags = open_clip.list_pretrained_tags_by_model(arch)
        raise ConfigError(
            "pretrained",
            f"{pretrained!r} is neither a file nor an open_clip tag of {arch!r} (tags: {tags or 'none'})",
        )
    if not weights_cached(tag_config) and not can_download(tag_config):
        raise ConfigError(
            "pretrained",
            f"{pretrained!r} is an open_clip tag whose weights for {arch} are not in open_clip's cache, and "
            "they cannot be downloaded from this machine (no network, or HF_HUB_OFFLINE is set): "
            "weights must be a local file here, e.g. --pretrained /path/to/ViT-B-16.pt",
        )


def _check_backbone(backbone: str) -> str:
    """The open_clip architecture name ``backbone`` stands for; a bad config file is named."""
    worlds.register_tiny_clip()  # so "causalvlm-tiny" is a known architecture name
    path = Path(backbone).expanduser()
    if is_config_path(backbone) or path.exists():  # the loader's rule, plus folders (named below)
        if path.is_dir():
            raise ConfigError(
                "backbone", f"{backbone} is a folder; give an open_clip model-config .json file"
            )
        if not path.is_file():
            raise ConfigError("backbone", f"model config file {backbone} does not exist")
        try:
            config = json.loads(path.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ConfigError("backbone", f"{backbone} is not a JSON model config ({error})") from None
        if not isinstance(config, dict) or not {"embed_dim", "vision_cfg", "text_cfg"} <= set(config):
            raise ConfigError(
                "backbone",
                f"{backbone} is not an open_clip model config (needs embed_dim, vision_cfg, text_cfg)",
            )
        return path.stem
    if backbone not in open_clip.list_models():
        raise ConfigError(
            "backbone",
            f"unknown backbone architecture {backbone!r}; give an open_clip model name (e.g. ViT-B-16, "
            "ViT-B-32, RN50) or a model-config .json file",
        )
    return backbone


def weights_cached(tag_config: dict[str, Any]) -> bool:
    """True when open_clip would find the tag's weights on disk (it prefers the Hugging Face hub copy)."""
    if "file" in tag_config:
        return Path(tag_config["file"]).is_file()
    hub = tag_config.get("hf_hub", "")
    if hub and _has_hf_hub():
        from huggingface_hub import try_to_load_from_cache
        from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

        repo, filename = os.path.split(hub)
        names = [filename] if filename else [HF_WEIGHTS_NAME, HF_SAFE_WEIGHTS_NAME]
        names += [n[: -len(Path(n).suffix)] + ".safetensors" for n in names if n.endswith((".bin", ".pth"))]
        return any(isinstance(try_to_load_from_cache(repo, name), str) for name in names)
    url = tag_config.get("url", "")
    return bool(url) and (Path("~/.cache/clip").expanduser() / os.path.basename(url)).is_file()


def can_download(tag_config: dict[str, Any]) -> bool:
    """Whether the tag's weights host answers (a TCP connect, a few seconds at most); never when offline."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    if tag_config.get("hf_hub") and _has_hf_hub():
        host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    else:
        host = urlparse(tag_config.get("url", "")).hostname
    if not host:
        return False
    try:
        with socket.create_connection((host, 443), timeout=DOWNLOAD_PROBE_SECONDS):
            return True
    except OSError:
        return False


def _has_hf_hub() -> bool:
    from open_clip.pretrained import has_hf_hub

    return has_hf_hub()


# ---------------------------------------------------------------------------------------------- the rest
def check_scm(scm: str | None) -> None:
    """The graph name or .gml file loads (a folder or a binary file is named, not a traceback)."""
    if scm is None:
        return
    path = Path(scm).expanduser()
    if path.is_dir():
        raise ConfigError("scm", f"{scm} is a folder; give a graph name or a .gml file")
    try:
        resolve_scm(scm)
    except UnicodeDecodeError:
        raise ConfigError("scm", f"{scm} is not a text GML file") from None
    except (ValueError, FileNotFoundError, KeyError) as error:
        raise ConfigError("scm", str(error.args[0] if error.args else error)) from None


def check_devices(train: TrainConfig) -> None:
    """The accelerator must exist here: CUDA devices for gpu (as many as ``devices`` asks for), Metal for
    mps, torch_xla for tpu. Otherwise Lightning would fail later with its own traceback."""
    if train.accelerator == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("train.accelerator", "'mps' needs Apple's Metal backend; it is not available here")
    if train.accelerator == "tpu" and importlib.util.find_spec("torch_xla") is None:
        raise ConfigError("train.accelerator", "'tpu' needs torch_xla, which is not installed here")
    if train.accelerator not in ("gpu", "cuda"):
        return
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if available == 0:
        raise ConfigError(
            "train.accelerator", f"{train.accelerator!r} needs a CUDA device; none is visible here"
        )
    if isinstance(train.devices, int) and train.devices > available:
        raise ConfigError("train.devices", f"asks for {train.devices} GPUs; {available} visible here")


def check_trainer(train: TrainConfig) -> None:
    """Lightning accepts accelerator, devices, strategy and precision together (an FSDP strategy on CPU,
    DeepSpeed not installed, ...): a Trainer is built here, as each run builds it, and dropped."""
    import warnings

    import pytorch_lightning as pl

    from causalvlm.training.trainer import resolve_precision

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pl.Trainer(
                accelerator=train.accelerator, devices=train.devices, strategy=train.strategy,
                precision=cast(Any, resolve_precision(train)), logger=False, enable_checkpointing=False,
                enable_progress_bar=False, enable_model_summary=False,
            )  # fmt: skip
    except Exception as error:  # noqa: BLE001 (Lightning raises several types; each is a refusal here)
        key = "train.strategy" if train.strategy != "auto" else "train.accelerator"
        message = " ".join(str(error).split())
        raise ConfigError(
            key,
            f"Lightning refuses accelerator={train.accelerator!r}, devices={train.devices!r}, "
            f"strategy={train.strategy!r} here: {message}",
        ) from None


__all__ = [
    "can_download",
    "check_backbone_options",
    "check_data_roots",
    "check_devices",
    "check_scm",
    "check_trainer",
    "preflight",
    "weights_cached",
]
