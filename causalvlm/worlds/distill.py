"""The tiny CLIP with a ViT image tower, distilled from the ResNet one.

    python -m causalvlm.worlds.distill     # writes tiny_clip/tiny_clip_vit.pt in the current folder

Trained from labels or captions, no ViT tower learned shape within the CPU budget (MODEL_CARD.md). Here an
open_clip ``VisionTransformer`` (``tiny_clip_vit.json``) learns from the shipped ResNet tower instead, so it
lands in the space the text tower already reads; the text tower, the token embedding and the temperature are
the teacher's, copied and untouched. For a batch of pre-training images x with teacher features
t = E_I^ResNet(x) and student features s = E_I^ViT(x), both L2-normalised, the loss is
:func:`distillation_loss`. Deterministic given ``--seed`` on one device. Writes the whole CLIP's state dict
(fp16) atomically, and beside it ``<out stem>.summary.json`` with the per-factor zero-shot and linear-probe
accuracies on held-out images (the same tables as ``pretrain``'s).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field, model_validator

from causalvlm.cli import SEED_MAX, parse_settings
from causalvlm.config_model import ConfigError, SettingsModel
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
from causalvlm.worlds.corpus import RenderedImages, render_images, to_model_input
from causalvlm.worlds.factor_probe import held_out_report, print_held_out_report
from causalvlm.worlds.factors import CATEGORICAL_FACTORS, RENDER_STYLES
from causalvlm.worlds.pretrain import warmup_cosine_lr
from causalvlm.worlds.tiny_clip import (
    TINY_CLIP_ARCH,
    TINY_CLIP_CHECKPOINT,
    TINY_CLIP_VIT_ARCH,
    create_tiny_clip,
)
from causalvlm.worlds.zero_shot import FACTOR_PROMPTS, model_input_size, zero_shot_factor_accuracy

DEFAULT_OUT = "tiny_clip/tiny_clip_vit.pt"

Positive = Annotated[int, Field(ge=1)]


class DistillConfig(SettingsModel):
    """Every option of ``python -m causalvlm.worlds.distill`` (``--batch-size`` for ``batch_size``)."""

    # The state dict; a summary JSON goes beside it. The default is a folder of the current directory (made
    # when missing), never the checkpoint shipped in the package; an existing file needs --overwrite.
    out: str = DEFAULT_OUT
    overwrite: bool = False  # replace an existing --out file (and its summary)
    teacher: str = ""  # a ResNet tiny CLIP checkpoint ("" = the shipped one, checkpoints/tiny_clip.pt)
    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] = 0
    steps: Positive = 3000
    batch_size: Positive = 128
    lr: Annotated[float, Field(gt=0)] = 2e-3  # peak AdamW learning rate
    weight_decay: Annotated[float, Field(ge=0)] = 0.05
    warmup_steps: Annotated[int, Field(ge=0)] = 300
    temperature: Annotated[float, Field(gt=0)] = 30.0  # τ of the per-factor distributions (≈ the teacher's)
    corpus_size: Positive = 48000  # renders of the pre-training world, encoded once by the teacher
    # how the corpus draws its objects (comma-separated RENDER_STYLES, image i in the (i mod k)-th); the
    # teacher's own pre-training drawing by default: with all five styles the student read shape on the
    # pre-training world at 87.5 % zero-shot / 85.8 % probe only (MODEL_CARD.md), below the 90 % asked for
    styles: str = "filled"
    eval_size: Annotated[int, Field(ge=4)] = 2000  # held-out images (a different seed) for the summary
    threads: Positive = 1  # torch CPU threads
    log_every: Positive = 250
    device: str = "auto"  # "auto" = cuda if available, else cpu; or "cpu", "cuda", "cuda:N"

    @model_validator(mode="after")
    def _check_together(self) -> DistillConfig:
        if not self.out.strip():
            raise ConfigError("out", "must name the checkpoint file to write")
        if self.corpus_size < self.batch_size:
            raise ConfigError(
                "corpus_size", f"must be at least batch_size ({self.batch_size}), got {self.corpus_size}"
            )
        check_device_name(self.device)
        unknown = [style for style in self.style_list if style not in RENDER_STYLES]
        if unknown or not self.style_list:
            raise ConfigError(
                "styles", f"must be a comma-separated list of {', '.join(RENDER_STYLES)}, got {self.styles!r}"
            )
        return self

    @property
    def style_list(self) -> tuple[str, ...]:
        return tuple(style.strip() for style in self.styles.split(",") if style.strip())

    @property
    def teacher_checkpoint(self) -> Path:
        return Path(self.teacher).expanduser() if self.teacher else TINY_CLIP_CHECKPOINT


def check_distill_environment(cfg: DistillConfig) -> None:
    """What the options point at: the output file's folder, the teacher checkpoint, the device."""
    check_checkpoint_out(cfg.out, cfg.overwrite, DEFAULT_OUT)
    if not cfg.teacher_checkpoint.is_file():
        raise ConfigError("teacher", f"{cfg.teacher_checkpoint} is not an existing checkpoint file")
    check_device(cfg.device)


def load_teacher(path: Path) -> tuple[Any, Any]:
    """The ResNet tiny CLIP at ``path`` and its tokenizer; ConfigError naming the file when it is not one."""
    try:
        model, tokenizer, _ = create_tiny_clip(path, arch=TINY_CLIP_ARCH)
    except (RuntimeError, OSError, ValueError) as error:  # a state dict of another model, or no state dict
        first = str(error).splitlines()[0]
        raise ConfigError("teacher", f"{path} is not a causalvlm-tiny (ResNet) checkpoint: {first}") from None
    return model, tokenizer


def distillation_loss(
    student: torch.Tensor, teacher: torch.Tensor, prompts: dict[str, torch.Tensor], temperature: float
) -> torch.Tensor:
    """The student image tower's loss against the teacher's, for L2-normalised features [B, D]:

        L = 1 − mean_x cos(s, t) + Σ_f KL( softmax(τ t W_fᵀ) ‖ softmax(τ s W_fᵀ) ),

    W_f the text features of factor f's zero-shot prompts (``prompts[f]``, [K_f, D], normalised), τ the
    temperature. The cosine term alone moves the colour-dominated bulk of the features and leaves shape near
    chance (MODEL_CARD.md); the KL terms hand the student the teacher's reading of every factor.
    """
    loss = 1.0 - (student * teacher).sum(-1).mean()
    for w in prompts.values():
        loss = loss + F.kl_div(
            F.log_softmax(temperature * student @ w.T, -1),
            F.softmax(temperature * teacher @ w.T, -1),
            reduction="batchmean",
        )
    return loss


@torch.no_grad()
def factor_prompt_features(model, tokenizer, device) -> dict[str, torch.Tensor]:
    """``{factor: W_f}``: the normalised text features of each factor's zero-shot prompts."""
    return {
        factor: model.encode_text(
            tokenizer([FACTOR_PROMPTS[factor](v) for v in CATEGORICAL_FACTORS[factor]]).to(device),
            normalize=True,
        )
        for factor in FACTOR_PROMPTS
    }


def _student_from(teacher: Any, device) -> Any:
    """The ViT tiny CLIP, random image tower, every other weight (text tower, temperature) the teacher's."""
    student, _, _ = create_tiny_clip(None, arch=TINY_CLIP_VIT_ARCH)
    shared = {k: v for k, v in teacher.state_dict().items() if not k.startswith("visual.")}
    missing, unexpected = student.load_state_dict(shared, strict=False)
    if unexpected or any(not k.startswith("visual.") for k in missing):
        raise RuntimeError(f"the ViT tiny CLIP's text side differs from the teacher's: {missing, unexpected}")
    for name, parameter in student.named_parameters():
        parameter.requires_grad_(name.startswith("visual."))
    return student.to(device)


def distill(cfg: DistillConfig) -> dict:
    """Distil per ``cfg``; return the summary that is also written next to the checkpoint."""
    check_distill_environment(cfg)
    out = Path(cfg.out).expanduser()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    teacher, tokenizer = load_teacher(cfg.teacher_checkpoint)
    teacher = teacher.to(device)
    out.parent.mkdir(exist_ok=True)  # only the default's folder can be missing here
    student = _student_from(teacher, device)
    cfg_pre = student.visual.preprocess_cfg
    size = model_input_size(student)

    t0 = time.time()
    corpus = render_images(cfg.corpus_size, seed=cfg.seed, styles=cfg.style_list)
    with torch.no_grad():
        images = to_model_input(corpus.images, cfg_pre["mean"], cfg_pre["std"], size)
        targets = torch.cat(
            [
                teacher.encode_image(images[i : i + 512].to(device), normalize=True)
                for i in range(0, len(images), 512)
            ]
        )
        prompts = factor_prompt_features(teacher, tokenizer, device)
    del corpus
    print(f"rendered and encoded {len(images)} images in {time.time() - t0:.1f}s; on {device}", flush=True)

    optimizer = torch.optim.AdamW(student.visual.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed + 1)
    student.train()
    t_train = time.time()
    for step in range(cfg.steps):
        for group in optimizer.param_groups:
            group["lr"] = warmup_cosine_lr(step, cfg.steps, cfg.warmup_steps, cfg.lr)
        index = torch.as_tensor(rng.integers(len(images), size=cfg.batch_size))
        features = student.encode_image(images[index].to(device), normalize=True)
        loss = distillation_loss(features, targets[index.to(device)], prompts, cfg.temperature)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % cfg.log_every == 0 or step == cfg.steps - 1:
            print(f"step {step:5d} loss {loss.item():.4f} elapsed {time.time() - t_train:.0f}s", flush=True)
    train_seconds = time.time() - t_train

    student.eval()
    held_out = render_images(cfg.eval_size, seed=cfg.seed + 10_000)
    report = held_out_report(student, tokenizer, held_out)
    by_style = shape_accuracy_by_style(
        {"student": student, "teacher": teacher}, tokenizer, held_out, cfg.seed
    )
    atomic_save(half_state_dict(student), out)
    summary = {
        "arch": TINY_CLIP_VIT_ARCH,
        "teacher": str(cfg.teacher_checkpoint),
        "config": cfg.model_dump(),
        "train_seconds": round(train_seconds, 1),
        "device": str(device),
        "machine": machine_description(cfg.threads),
        "final_loss": round(loss.item(), 4),
        **report,  # zero-shot and linear probe per factor
        "zero_shot_shape_by_style": by_style,  # the same held-out factors drawn in each style
    }
    write_summary(summary, out)
    print_held_out_report(report)
    for style, entry in by_style.items():
        print(
            f"shape, drawn {style:10s} zero-shot student {100 * entry['student']:5.1f} %  teacher "
            f"{100 * entry['teacher']:5.1f} %",
            flush=True,
        )
    return summary


def shape_accuracy_by_style(
    models: dict[str, torch.nn.Module], tokenizer, held_out: RenderedImages, seed: int
) -> dict:
    """``{style: {name: zero-shot shape accuracy}}`` of each model on the held-out factors (``held_out``, the
    filled drawings of ``render_images(n, seed + 10_000)``) drawn in every style: where the student copies
    the teacher, and where the teacher's own reading is weak."""
    out: dict[str, dict[str, float]] = {}
    for style in RENDER_STYLES:
        images = (
            held_out
            if style == "filled"
            else render_images(len(held_out), seed=seed + 10_000, styles=(style,))
        )
        out[style] = {
            name: zero_shot_factor_accuracy(model, tokenizer, images, factors=("shape",))["shape"]["accuracy"]
            for name, model in models.items()
        }
    return out


def config_from(argv: list[str] | None = None) -> DistillConfig:
    """The checked config of a command line; a bad option exits with status 2, naming it."""
    return parse_settings(DistillConfig, __doc__.splitlines()[0], argv, check_distill_environment)


def main(argv: list[str] | None = None) -> None:
    distill(config_from(argv))


if __name__ == "__main__":
    main()
