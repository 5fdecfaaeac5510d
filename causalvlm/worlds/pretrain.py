"""Contrastive pre-training of the tiny CLIP on the ShapeWorld caption corpus.

    python -m causalvlm.worlds.pretrain          # writes tiny_clip/tiny_clip.pt in the current folder

The loss is CLIP's symmetric InfoNCE (open_clip's ``ClipLoss``) over a batch of B (image, caption) pairs,
    L = ½ [CE(τ · I Tᵀ, diag) + CE(τ · T Iᵀ, diag)],
with I, T the L2-normalised image/text features and τ = exp(logit_scale). AdamW with linear warm-up and a
cosine decay. Deterministic given ``--seed`` on one device; uses CUDA when present. Writes the state dict
(fp16) atomically, and next to it a JSON summary ``<out stem>.summary.json`` (steps, wall time, per-factor
zero-shot accuracy on held-out images).
"""

from __future__ import annotations

import functools
import json
import math
import operator
import random
import time
from pathlib import Path
from typing import Annotated, ClassVar

import numpy as np
import open_clip
import torch
from pydantic import ConfigDict, Field, model_validator

from causalvlm.cli import SEED_MAX, parse_settings
from causalvlm.config_model import STRICT, ConfigError, SettingsModel
from causalvlm.worlds.captions import CaptionConfig
from causalvlm.worlds.checkpoint_files import (
    atomic_save,
    check_checkpoint_out,
    check_device,
    check_device_name,
    half_state_dict,
    machine_description,
    pick_device,
    write_summary,
)
from causalvlm.worlds.corpus import CaptionedBatches, render_images, to_model_input
from causalvlm.worlds.factor_probe import held_out_report, print_held_out_report
from causalvlm.worlds.factors import CATEGORICAL_FACTORS
from causalvlm.worlds.tiny_clip import register_tiny_clip
from causalvlm.worlds.zero_shot import model_input_size

DEFAULT_OUT = "tiny_clip/tiny_clip.pt"

Positive = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]
Rate = Annotated[float, Field(gt=0)]


class PretrainConfig(SettingsModel):
    """Every option of ``python -m causalvlm.worlds.pretrain`` (``--batch-size`` for ``batch_size``)."""

    # ``--model-config`` is the attribute ``clip_config``: pydantic keeps the name model_config for itself
    model_config: ClassVar[ConfigDict] = ConfigDict(**{**STRICT, "validate_by_name": True})

    # The state dict; a summary JSON goes beside it. The default is a folder of the current directory (made
    # when missing), never the checkpoint shipped in the package; an existing file needs --overwrite.
    out: str = DEFAULT_OUT
    overwrite: bool = False  # replace an existing --out file (and its summary)
    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] = 0
    steps: Positive = 1500
    batch_size: Annotated[int, Field(ge=2)] = 128  # pairs per contrastive batch (a batch needs negatives)
    lr: Rate = 2e-3  # peak AdamW learning rate
    weight_decay: Annotated[float, Field(ge=0)] = 0.1
    warmup_steps: Count = 100
    # batches captioned by shape alone (see CaptionedBatches)
    shape_batch_fraction: Annotated[float, Field(ge=0, le=1)] = 0.0
    # the largest share of a shape's mentions that use its dataset name (captions.dataset_name_rate)
    p_dataset_name: Annotated[float, Field(ge=0, le=1)] = 0.2
    corpus_size: Positive = 20000  # images rendered once; captions are redrawn every time an image is used
    eval_size: Positive = 2000  # held-out images (a different seed) for the zero-shot summary
    threads: Positive = 1  # torch CPU threads: the dev machine is shared
    log_every: Positive = 50
    device: str = "auto"  # "auto" = cuda if available, else cpu; or "cpu", "cuda", "cuda:N"
    # an open_clip config JSON to train instead of tiny_clip.json ("" = the tiny CLIP)
    clip_config: str = Field("", alias="model_config")
    image_warmup_steps: Count = 2000  # supervised multi-factor warm-up of the image tower (0 = pure CLIP)
    image_warmup_lr: Rate = 2e-3

    @model_validator(mode="after")
    def _check_together(self) -> PretrainConfig:
        if self.corpus_size < self.batch_size:  # a batch draws distinct images from the corpus
            raise ConfigError(
                "corpus_size", f"must be at least batch_size ({self.batch_size}), got {self.corpus_size}"
            )
        if not self.out.strip():
            raise ConfigError("out", "must name the checkpoint file to write")
        check_device_name(self.device)
        return self


def check_pretrain_environment(cfg: PretrainConfig) -> None:
    """What the options point at: the output file's folder, the model config, the device."""
    check_checkpoint_out(cfg.out, cfg.overwrite, DEFAULT_OUT)
    if cfg.clip_config:
        path = Path(cfg.clip_config).expanduser()
        if not path.is_file():
            raise ConfigError("model_config", f"{cfg.clip_config} is not an existing file")
        try:
            model_config = json.loads(path.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ConfigError(
                "model_config", f"{cfg.clip_config} is not a JSON model config ({error})"
            ) from None
        if not isinstance(model_config, dict) or not {"embed_dim", "vision_cfg", "text_cfg"} <= set(
            model_config
        ):
            raise ConfigError("model_config", f"{cfg.clip_config} lacks embed_dim, vision_cfg or text_cfg")
    check_device(cfg.device)


def warmup_cosine_lr(step: int, steps: int, warmup_steps: int, peak: float) -> float:
    """Linear warm-up to ``peak`` over ``warmup_steps``, then cosine decay to 0 at ``steps``."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, steps - warmup_steps)
    return 0.5 * peak * (1.0 + math.cos(math.pi * progress))


def _lr_at(step: int, cfg: PretrainConfig) -> float:
    return warmup_cosine_lr(step, cfg.steps, cfg.warmup_steps, cfg.lr)


def restore_residual_gains(model: torch.nn.Module) -> None:
    """Set the last BatchNorm gain of every CLIP-ResNet bottleneck back to 1.

    open_clip zero-initialises these gains, so each block starts as its shortcut and the convolutions before
    the gain get no gradient until the gain moves. With one block per stage in the tiny tower that held even a
    supervised shape probe at chance for 300 steps; with unit gains the probe learns (see MODEL_CARD.md).
    """
    for name, parameter in model.named_parameters():
        if name.startswith("visual.") and name.endswith("bn3.weight"):
            torch.nn.init.ones_(parameter)


def warmup_image_tower(model, corpus, cfg: PretrainConfig, mean, std, size: int, device) -> None:
    """Supervised warm-up: the image tower learns to predict *every* categorical factor from the pixels.

    L = Σ_f CE(W_f · E_I(x), g_f) over f ∈ {shape, object colour, background colour, texture, size, position},
    with one linear head W_f per factor, discarded afterwards. It gives all factors, task-relevant or not,
    the same start, so the contrastive phase decides what the caption-aligned features keep. This departs from
    pure CLIP on purpose: the tiny tower trained by the normalised contrastive loss alone stayed at chance on
    shape within the CPU budget (MODEL_CARD.md), and the world needs a CLIP that knows shape *and* colour.
    """
    if cfg.image_warmup_steps <= 0:
        return
    factor_names = list(CATEGORICAL_FACTORS)
    labels = {
        f: torch.tensor([getattr(item, f) for item in corpus.factors], device=device) for f in factor_names
    }
    heads = torch.nn.ModuleDict(
        {f: torch.nn.Linear(model.visual.output_dim, len(CATEGORICAL_FACTORS[f])) for f in factor_names}
    ).to(device)
    optimizer = torch.optim.AdamW(
        [*model.visual.parameters(), *heads.parameters()], lr=cfg.image_warmup_lr, weight_decay=0.05
    )
    rng = np.random.default_rng(cfg.seed + 2)
    for step in range(cfg.image_warmup_steps):
        idx = rng.choice(len(corpus), size=cfg.batch_size, replace=False)
        features = model.encode_image(to_model_input(corpus.images[idx], mean, std, size).to(device))
        losses = [torch.nn.functional.cross_entropy(heads[f](features), labels[f][idx]) for f in factor_names]
        loss = functools.reduce(operator.add, losses)  # the same additions, in the same order, as sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % cfg.log_every == 0 or step == cfg.image_warmup_steps - 1:
            print(f"image warm-up {step:5d} loss {loss.item():.4f}", flush=True)


def pretrain(cfg: PretrainConfig) -> dict:
    """Train the tiny CLIP per ``cfg``; return the summary that is also written next to the checkpoint."""
    check_pretrain_environment(cfg)
    out = Path(cfg.out).expanduser()
    out.parent.mkdir(exist_ok=True)  # only the default's folder can be missing here
    torch.set_num_threads(cfg.threads)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)

    if cfg.clip_config:
        open_clip.add_model_config(cfg.clip_config)
        arch = Path(cfg.clip_config).stem
    else:
        arch = register_tiny_clip()
    model = open_clip.create_model(arch).to(device)
    restore_residual_gains(model)
    size = model_input_size(model)
    tokenizer = open_clip.get_tokenizer(arch)
    mean, std = model.visual.preprocess_cfg["mean"], model.visual.preprocess_cfg["std"]
    loss_fn = open_clip.ClipLoss()
    # No weight decay on gains, biases, embeddings or the temperature, as in open_clip's training recipe.
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.98),
        eps=1e-6,
    )

    t0 = time.time()
    corpus = render_images(cfg.corpus_size, seed=cfg.seed)
    batches = CaptionedBatches(
        corpus,
        cfg.batch_size,
        cfg.seed + 1,
        caption_config=CaptionConfig(p_dataset_name=cfg.p_dataset_name),
        shape_batch_fraction=cfg.shape_batch_fraction,
    )
    print(f"rendered {len(corpus)} images in {time.time() - t0:.1f}s; training on {device}", flush=True)

    model.train()
    t_train = time.time()
    warmup_image_tower(model, corpus, cfg, mean, std, size, device)
    for step in range(cfg.steps):
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, cfg)
        images, texts = batches.next()
        x = to_model_input(images, mean, std, size).to(device)
        tokens = tokenizer(texts).to(device)
        image_features, text_features, logit_scale = model(x, tokens)
        loss = loss_fn(image_features, text_features, logit_scale)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))  # as open_clip does, keep τ ≤ 100
        if step % cfg.log_every == 0 or step == cfg.steps - 1:
            print(
                f"step {step:5d} loss {loss.item():.4f} lr {_lr_at(step, cfg):.2e} "
                f"tau {logit_scale.item():.1f} elapsed {time.time() - t_train:.0f}s",
                flush=True,
            )
    train_seconds = time.time() - t_train

    model.eval()
    held_out = render_images(cfg.eval_size, seed=cfg.seed + 10_000)
    report = held_out_report(model, tokenizer, held_out)
    atomic_save(half_state_dict(model), out)
    summary = {
        "arch": arch,
        "config": cfg.model_dump(by_alias=True),
        "train_seconds": round(train_seconds, 1),
        "device": str(device),
        "machine": machine_description(cfg.threads),
        "final_loss": round(loss.item(), 4),
        **report,  # zero-shot and linear probe per factor
    }
    write_summary(summary, out)
    print_held_out_report(report)
    return summary


def config_from(argv: list[str] | None = None) -> PretrainConfig:
    """The checked config of a command line; a bad option exits with status 2, naming it."""
    return parse_settings(PretrainConfig, __doc__.splitlines()[0], argv, check_pretrain_environment)


def main(argv: list[str] | None = None) -> None:
    pretrain(config_from(argv))


if __name__ == "__main__":
    main()
