"""The ViT tiny CLIP: distillation from the ResNet one (loss, determinism, refusals) and the shipped file.

Thresholds for the shipped ViT checkpoint on 240 fresh held-out images (10 per shape, a seed neither model
saw): shape above 0.30 zero-shot (chance 1/24; MODEL_CARD.md has the 2000-image numbers), object colour
above 0.8 and size above 0.6, as for the ResNet checkpoint (tests/worlds/test_tiny_clip.py).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import open_clip
import pytest
import torch
import torch.nn.functional as F

from causalvlm.backbones.loading import has_vision_transformer
from causalvlm.config_model import ConfigError
from causalvlm.experiments import ExperimentConfig
from causalvlm.worlds import (
    SHAPE_NAMES,
    TINY_CLIP_CHECKPOINT,
    TINY_CLIP_CONFIG,
    TINY_CLIP_VIT_ARCH,
    TINY_CLIP_VIT_CHECKPOINT,
    TINY_CLIP_VIT_CONFIG,
    create_tiny_clip,
    shipped_checkpoint,
    zero_shot_factor_accuracy,
)
from causalvlm.worlds.corpus import RenderedImages, render_images
from causalvlm.worlds.distill import (
    DistillConfig,
    check_distill_environment,
    config_from,
    distill,
    distillation_loss,
)
from causalvlm.worlds.factors import sample_factors
from causalvlm.worlds.render import render

MAX_CHECKPOINT_BYTES = (
    12 * 1024 * 1024
)  # each shipped tiny CLIP; the two together stay under the wheel's 20 MB


@pytest.fixture(scope="module")
def held_out() -> RenderedImages:
    rng = np.random.default_rng(535353)
    factors = sample_factors(rng, np.repeat(np.arange(len(SHAPE_NAMES)), 10))
    return RenderedImages(np.stack([render(f) for f in factors]), factors)


def _unit(*rows: list[float]) -> torch.Tensor:
    return F.normalize(torch.tensor(rows, dtype=torch.float64), dim=-1)


def test_the_loss_is_zero_when_the_student_is_the_teacher():
    t = _unit([1.0, 2.0, 0.5], [0.0, 1.0, -1.0])
    prompts = {"shape": _unit([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]), "size": _unit([0.0, 0.0, 1.0], [1, 1, 1])}
    assert float(distillation_loss(t.clone(), t, prompts, 30.0)) == pytest.approx(0.0, abs=1e-12)


def test_the_loss_matches_a_hand_computation():
    """One image, two dimensions, one factor with two prompts: every term written out."""
    s, t = _unit([1.0, 0.0]), _unit([0.6, 0.8])
    w = _unit([1.0, 0.0], [0.0, 1.0])
    tau = 2.0
    # cosine term: 1 − (1·0.6 + 0·0.8)
    cosine = 1 - 0.6
    # teacher logits τ·(0.6, 0.8), student logits τ·(1, 0)
    p = np.exp([1.2, 1.6]) / np.exp([1.2, 1.6]).sum()
    q = np.exp([2.0, 0.0]) / np.exp([2.0, 0.0]).sum()
    kl = float((p * np.log(p / q)).sum())
    got = float(distillation_loss(s, t, {"shape": w}, tau))
    assert got == pytest.approx(cosine + kl, rel=1e-12)
    assert math.isfinite(got) and got > cosine  # the KL term is there and positive


def _tiny(out, **changes) -> DistillConfig:
    settings = dict(
        out=str(out), seed=3, steps=2, batch_size=8, corpus_size=16, eval_size=24, warmup_steps=1,
        log_every=100, device="cpu",
    )  # fmt: skip
    return DistillConfig(**{**settings, **changes})


def test_distillation_is_deterministic_and_trains_the_image_tower_only(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    summary_a = distill(_tiny(tmp_path / "a" / "vit.pt"))
    summary_b = distill(_tiny(tmp_path / "b" / "vit.pt"))
    state_a = torch.load(tmp_path / "a" / "vit.pt", weights_only=True)
    state_b = torch.load(tmp_path / "b" / "vit.pt", weights_only=True)
    assert summary_a["final_loss"] == summary_b["final_loss"]
    assert summary_a["zero_shot_held_out"] == summary_b["zero_shot_held_out"]
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key
    teacher = torch.load(TINY_CLIP_CHECKPOINT, weights_only=True)
    text_side = [k for k in state_a if not k.startswith("visual.")]
    assert text_side and all(torch.equal(state_a[k], teacher[k]) for k in text_side)  # copied, untouched
    assert (tmp_path / "a" / "vit.summary.json").is_file() and not list((tmp_path / "a").glob("*.tmp"))
    model, _, _ = create_tiny_clip(tmp_path / "a" / "vit.pt", arch=TINY_CLIP_VIT_ARCH)  # loads strictly
    assert has_vision_transformer(TINY_CLIP_VIT_CONFIG) and model.visual.conv1.kernel_size == (4, 4)


def test_the_corpus_draws_the_same_factors_in_each_style():
    filled, mixed = (
        render_images(6, seed=4),
        render_images(6, seed=4, styles=("filled", "sketch", "silhouette")),
    )
    assert [f.style for f in mixed.factors] == ["filled", "sketch", "silhouette"] * 2
    assert [replace(f, style="filled") for f in mixed.factors] == filled.factors
    assert np.array_equal(mixed.images[0], filled.images[0]) and not np.array_equal(
        mixed.images[1], filled.images[1]
    )
    with pytest.raises(ValueError, match="styles must be some of .*crayon"):
        render_images(2, seed=4, styles=("crayon",))


def test_a_missing_teacher_is_named_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="teacher: .*nothing.pt is not an existing checkpoint"):
        check_distill_environment(_tiny(tmp_path / "vit.pt", teacher=str(tmp_path / "nothing.pt")))
    assert not (tmp_path / "vit.pt").exists()


def test_a_teacher_of_another_model_is_named_and_nothing_is_written(tmp_path):
    with pytest.raises(ConfigError, match=f"teacher: {TINY_CLIP_VIT_CHECKPOINT} is not a causalvlm-tiny"):
        distill(_tiny(tmp_path / "vit.pt", teacher=str(TINY_CLIP_VIT_CHECKPOINT)))
    assert not list(tmp_path.iterdir())


def test_an_existing_output_needs_overwrite(tmp_path):
    existing = tmp_path / "vit.pt"
    existing.write_bytes(b"keep me")
    with pytest.raises(ConfigError, match="vit.pt exists; pass --overwrite"):
        distill(_tiny(existing))
    assert existing.read_bytes() == b"keep me"
    check_distill_environment(_tiny(existing, overwrite=True))


def test_the_command_line_names_a_bad_option(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        config_from(["--out", str(tmp_path / "vit.pt"), "--device", "tpu"])
    assert exit_.value.code == 2 and "argument --device: must be auto, cpu" in capsys.readouterr().err
    assert config_from(["--out", str(tmp_path / "vit.pt"), "--steps", "7"]).steps == 7


def test_the_shipped_vit_checkpoint_is_small_and_loads_strictly():
    assert TINY_CLIP_VIT_CHECKPOINT.stat().st_size <= MAX_CHECKPOINT_BYTES
    model = open_clip.create_model(TINY_CLIP_VIT_ARCH)
    state = torch.load(TINY_CLIP_VIT_CHECKPOINT, map_location="cpu", weights_only=True)
    result = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_the_shipped_vit_reads_the_world_zero_shot(held_out):
    torch.set_num_threads(1)
    model, tokenizer, _ = create_tiny_clip(TINY_CLIP_VIT_CHECKPOINT, arch=TINY_CLIP_VIT_ARCH)
    accuracy = zero_shot_factor_accuracy(
        model, tokenizer, held_out, factors=("shape", "object_colour", "size")
    )
    assert accuracy["shape"]["accuracy"] > 0.30, accuracy
    assert accuracy["object_colour"]["accuracy"] > 0.8, accuracy
    assert accuracy["size"]["accuracy"] > 0.6, accuracy


def test_a_tiny_clip_backbone_gets_its_own_weights_unless_others_are_named():
    assert shipped_checkpoint(TINY_CLIP_VIT_ARCH) == TINY_CLIP_VIT_CHECKPOINT
    assert shipped_checkpoint(str(TINY_CLIP_CONFIG)) == TINY_CLIP_CHECKPOINT
    assert shipped_checkpoint("ViT-B-16") is None
    vit = ExperimentConfig(backbone=TINY_CLIP_VIT_ARCH, methods=["maple"])
    assert vit.pretrained == str(TINY_CLIP_VIT_CHECKPOINT)
    assert vit.methods[0].label == "maple"  # a ViT tower: MaPLe's vision prompts run
    assert ExperimentConfig(backbone=str(TINY_CLIP_VIT_CONFIG), pretrained=None).pretrained is None
    assert ExperimentConfig().pretrained == str(TINY_CLIP_CHECKPOINT)
