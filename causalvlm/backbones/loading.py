"""Building open_clip models from an architecture name, a config JSON file, or a local checkpoint.

Everything here returns a plain open_clip model plus its tokenizer and eval transform; :class:`FrozenCLIP`
wraps the result. The checks run before any weights are touched so that a wrong file fails fast, with the
file and the mismatched keys named.

Like open_clip's ``create_model(arch, pretrained=tag or path)``, one pair of functions decides what the user
named: :func:`is_config_path` (the architecture: a model-config JSON file, or an open_clip name) and
:func:`pretrained_source` (the weights: none, a local checkpoint file, or an open_clip tag). The loader
(:func:`causalvlm.backbones.load_backbone`) and the option check (:func:`check_backbone_options`) ask them.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import open_clip
import torch
from open_clip.factory import load_state_dict as open_clip_load_state_dict
from torch import nn

# The keys an open_clip model config must have; open_clip silently skips JSON files without them.
REQUIRED_CONFIG_KEYS = ("embed_dim", "vision_cfg", "text_cfg")
# How many mismatched keys an error message lists before it says "and N more".
MAX_KEYS_IN_ERROR = 8
# open_clip's warning when it builds a model without weights: true for from_config, false when a file follows.
RANDOM_INIT_WARNING = "No pretrained weights loaded for model"

log = logging.getLogger(__name__)


class _DropRandomInitWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return RANDOM_INIT_WARNING not in record.getMessage()


@contextmanager
def weights_follow() -> Iterator[None]:
    """Silence open_clip's "initialized randomly" warning (logged on the root logger) while a model is built
    whose weights are loaded right after: the message would make a user believe the model is random."""
    root = logging.getLogger()
    quiet = _DropRandomInitWarning()
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)


# File endings that make ``pretrained`` a local checkpoint even before the file exists (so a typo in a path
# is reported as a missing file, not as an unknown open_clip tag): PyTorch, Lightning, HF, safetensors.
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")


def is_config_path(arch_or_json_path: str | Path) -> bool:
    """True when the architecture is a model-config JSON file (an existing file or a ``.json`` name)."""
    text = str(arch_or_json_path)
    return text.endswith(".json") or Path(text).expanduser().is_file()


def pretrained_source(pretrained: str | Path | None) -> Literal["none", "file", "tag"]:
    """What ``pretrained`` names: ``"none"`` (random init), ``"file"`` (a local checkpoint) or ``"tag"``.

    A file is an existing path (a folder too, so that it is refused as "a folder", not as an unknown tag), a
    path with a folder separator, or a name with a checkpoint ending (:data:`CHECKPOINT_SUFFIXES`); anything
    else is an open_clip pretrained tag (e.g. ``"openai"``). The loader and both option checks
    (:func:`check_backbone_options`, ``causalvlm.experiments.preflight``) ask this one function.
    """
    if pretrained is None or str(pretrained).lower() == "none":
        return "none"
    text = str(pretrained)
    path = Path(text).expanduser()
    if path.exists() or "/" in text or os.sep in text or path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return "file"
    return "tag"


def check_backbone_options(arch: str | Path, pretrained: str | Path | None = None) -> None:
    """Validate an architecture / pretrained pair without building anything.

    FileNotFoundError for a missing config JSON or checkpoint file; ValueError for an unknown open_clip
    architecture or a tag that open_clip does not know for it.
    """
    if is_config_path(arch):
        if not Path(str(arch)).expanduser().is_file():
            raise FileNotFoundError(f"backbone model config not found: {arch}")
    elif open_clip.get_model_config(str(arch)) is None:
        raise ValueError(
            f"unknown backbone architecture {str(arch)!r}; give an open_clip model name (e.g. ViT-B-16, "
            "ViT-B-32, RN50) or a model-config .json file"
        )
    source = pretrained_source(pretrained)
    if source == "file" and not Path(str(pretrained)).expanduser().is_file():
        raise FileNotFoundError(f"pretrained checkpoint not found: {pretrained}")
    known_tag = is_config_path(arch) or open_clip.get_pretrained_cfg(str(arch), str(pretrained))
    if source == "tag" and not known_tag:
        valid = open_clip.list_pretrained_tags_by_model(str(arch))
        raise ValueError(f"unknown pretrained tag {pretrained!r} for {str(arch)!r}; valid tags: {valid}")


def has_vision_transformer(arch_or_json_path: str | Path) -> bool | None:
    """Whether the architecture's image tower is a ViT, read from its model config without building it.

    open_clip builds a ``VisionTransformer`` when ``vision_cfg.layers`` is one number and no timm model is
    named; a tuple of stage depths is a ``ModifiedResNet``. None when the config cannot be read (the option
    checks name that problem).
    """
    text = str(arch_or_json_path)
    try:
        if is_config_path(text):
            config = json.loads(Path(text).expanduser().read_text())
        else:
            config = open_clip.get_model_config(text)
        vision = config["vision_cfg"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if vision.get("timm_model_name"):
        return False
    return isinstance(vision.get("layers", 12), int)


def resolve_arch(arch_or_json_path: str | Path) -> str:
    """Return an open_clip architecture name for a built-in name or a config JSON file.

    A JSON path is registered with ``open_clip.add_model_config`` and its name is the file stem, as
    open_clip names its own configs.
    """
    text = str(arch_or_json_path)
    if is_config_path(text):
        path = Path(text).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"open_clip model config not found: {path}")
        try:
            config = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"open_clip model config {path} is not valid JSON: {err}") from None
        missing = [k for k in REQUIRED_CONFIG_KEYS if k not in config]
        if missing:
            raise ValueError(f"open_clip model config {path} lacks the keys {missing}")
        if path.stem not in open_clip.list_models() or open_clip.get_model_config(path.stem) != config:
            open_clip.add_model_config(path)
        return path.stem
    if open_clip.get_model_config(text) is None:
        raise ValueError(
            f"unknown open_clip architecture {text!r}: give a config JSON path or one of "
            f"open_clip.list_models() (e.g. 'ViT-B-16', 'ViT-B-32', 'RN50')"
        )
    return text


def build_from_config(
    arch_or_json_path: str | Path, quick_gelu: bool | None = None
) -> tuple[nn.Module, Callable[..., Any], Callable[..., Any]]:
    """Random-init open_clip model, tokenizer and eval transform for an architecture or config JSON."""
    arch = resolve_arch(arch_or_json_path)
    model, _, preprocess = open_clip.create_model_and_transforms(
        arch, pretrained=None, precision="fp32", device="cpu", force_quick_gelu=bool(quick_gelu)
    )
    return model, open_clip.get_tokenizer(arch), preprocess


def build_from_pretrained(
    arch: str, tag: str, cache_dir: str | None = None
) -> tuple[nn.Module, Callable[..., Any], Callable[..., Any]]:
    """Download (through open_clip) and build a pretrained model.

    open_clip 3.x only warns when a tag was trained with QuickGELU but the architecture config uses GELU
    (every ``openai`` tag); it is forced here so OpenAI weights compute what they were trained with.
    """
    arch = resolve_arch(arch)
    tag_cfg = open_clip.get_pretrained_cfg(arch, tag)
    if not tag_cfg:
        valid = open_clip.list_pretrained_tags_by_model(arch)
        raise ValueError(f"unknown pretrained tag {tag!r} for {arch!r}; valid tags: {valid}")
    model, _, preprocess = open_clip.create_model_and_transforms(
        arch,
        pretrained=tag,
        precision="fp32",
        device="cpu",
        cache_dir=cache_dir,
        force_quick_gelu=bool(tag_cfg.get("quick_gelu", False)),
    )
    return model, open_clip.get_tokenizer(arch), preprocess


def is_torchscript_archive(path: Path) -> bool:
    """OpenAI's released CLIP files are TorchScript zip archives; plain state dicts are not."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("constants.pkl") or "/code/" in name for name in archive.namelist())


def read_state_dict(path: Path) -> tuple[dict[str, torch.Tensor], bool]:
    """Load a checkpoint's tensors and say whether it was an OpenAI TorchScript archive.

    Plain checkpoints are read with ``weights_only=True`` (open_clip's loader unwraps ``{"state_dict": ...}``
    and strips ``module.``). TorchScript archives cannot be read that way; open_clip's loader turns the
    scripted module into its state dict.
    """
    torchscript = is_torchscript_archive(path)
    try:
        state_dict = open_clip_load_state_dict(str(path), device="cpu", weights_only=not torchscript)
    except Exception as err:  # torch raises several types for unreadable files
        raise ValueError(f"cannot read checkpoint {path}: {err}") from err
    if not isinstance(state_dict, dict) or not state_dict:
        raise ValueError(f"checkpoint {path} holds no state dict")
    # open_clip only looks at the first key; a DataParallel dict has the prefix on every key.
    state_dict = {k.removeprefix("module."): v for k, v in state_dict.items()}
    return state_dict, torchscript


def check_state_dict_matches(model: nn.Module, state_dict: dict[str, torch.Tensor], path: Path) -> None:
    """ValueError naming ``path`` and the mismatched keys/shapes unless ``state_dict`` fits ``model``."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    wrong_shape = [
        f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(expected) & set(state_dict))
        if state_dict[k].shape != expected[k].shape
    ]
    problems = []
    for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape", wrong_shape)):
        if keys:
            shown = ", ".join(keys[:MAX_KEYS_IN_ERROR])
            more = f" and {len(keys) - MAX_KEYS_IN_ERROR} more" if len(keys) > MAX_KEYS_IN_ERROR else ""
            problems.append(f"{label}: {shown}{more}")
    if problems:
        raise ValueError(f"checkpoint {path} does not match the architecture: " + "; ".join(problems))
    check_finite_weights(state_dict, path)


def check_finite_weights(state_dict: dict[str, torch.Tensor], path: Path) -> None:
    """ValueError naming ``path`` and the first tensors holding NaN or ±inf: a damaged or diverged checkpoint
    would otherwise surface much later as "logits contain NaN", with no file named."""
    bad = [
        key
        for key, tensor in state_dict.items()
        if torch.is_tensor(tensor) and tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]
    if bad:
        shown = ", ".join(bad[:MAX_KEYS_IN_ERROR])
        more = f" and {len(bad) - MAX_KEYS_IN_ERROR} more" if len(bad) > MAX_KEYS_IN_ERROR else ""
        raise ValueError(f"checkpoint {path} holds NaN or infinite weights in {shown}{more}")


def build_from_checkpoint(
    path: str | Path, arch: str | Path, quick_gelu: bool | None = None
) -> tuple[nn.Module, Callable[..., Any], Callable[..., Any]]:
    """Build ``arch`` and load a local checkpoint into it.

    ``quick_gelu=None`` means: force QuickGELU for OpenAI TorchScript archives (OpenAI trained with it),
    keep the architecture config's activation for state dicts.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    state_dict, torchscript = read_state_dict(path)
    for key in ("input_resolution", "context_length", "vocab_size"):  # scalars OpenAI archives carry
        state_dict.pop(key, None)
    use_quick_gelu = torchscript if quick_gelu is None else quick_gelu
    with weights_follow():
        model, tokenizer, preprocess = build_from_config(arch, quick_gelu=use_quick_gelu)
    # Scripted archives also hold non-persistent buffers (open_clip's attn_mask); the model has its own.
    persistent = set(model.state_dict())
    for name, _ in model.named_buffers():
        if name not in persistent:
            state_dict.pop(name, None)
    if "logit_scale" in state_dict:  # scalar vs 1-d logit scale differ between open_clip versions
        state_dict["logit_scale"] = state_dict["logit_scale"].reshape(
            model.get_parameter("logit_scale").shape
        )
    check_state_dict_matches(model, state_dict, path)
    model.load_state_dict(state_dict, strict=True)
    log.info("loaded %d tensors of %s from %s", len(state_dict), Path(str(arch)).stem, path)
    return model, tokenizer, preprocess
