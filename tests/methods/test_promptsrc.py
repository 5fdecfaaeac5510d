"""PromptSRC: the official forward and losses (trainers/promptsrc.py with clip/model.py's IVLP blocks, rebuilt
below from the open_clip weights) and ours agree; GPA's weights and averaging; end to end from run.py."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
import yaml

from causalvlm import FrontDoorClassifier
from causalvlm.experiments import method_spec
from causalvlm.experiments.method_specs import for_backbone
from causalvlm.methods.promptsrc import (
    SCL_WEIGHTS,
    GaussianPromptAggregation,
    PromptSRCMediator,
    gaussian_epoch_weights,
)

CLASSES = ["dog", "hot air balloon", "great crested grebe", "x"]
ANCHORS = ["a photo of a {}.", "a bad photo of the {}.", "art of the {}."]
RUN_PY = Path(__file__).parents[2] / "examples" / "cdc" / "run.py"


def official_text(backbone, ctx, deep):
    """VLPromptLearner + TextEncoder with ResidualAttentionBlock_IVLP: P_i replaces positions 1..n before
    text block i = 1..J−1; features at the argmax token (EOT)."""
    tower, n = backbone.text_tower, ctx.shape[0]
    assert tower.transformer.batch_first
    tokenized = backbone.tokenizer([f"a photo of a {name}." for name in CLASSES])
    embedding = tower.token_embedding(tokenized)
    x = torch.cat([embedding[:, :1], ctx.expand(len(CLASSES), -1, -1), embedding[:, 1 + n :]], 1)
    x = x + tower.positional_embedding
    for i, block in enumerate(tower.transformer.resblocks):
        if 1 <= i <= len(deep):
            x = torch.cat([x[:, :1], deep[i - 1].expand(len(CLASSES), -1, -1), x[:, 1 + n :]], 1)
        x = block(x, attn_mask=tower.attn_mask)
    x = tower.ln_final(x)
    return x[torch.arange(x.shape[0]), tokenized.argmax(dim=-1)] @ tower.text_projection


def official_image(backbone, images, vpt, deep):
    """IVLP's VisionTransformer: VPT appended after the positional embedding, then ln_pre; the last n tokens
    replaced by P^v_i before vision block i = 1..J−1; LN_post of the class token · proj."""
    visual, n, batch = backbone.model.visual, vpt.shape[0], images.shape[0]
    x = visual.conv1(images)
    x = x.reshape(batch, x.shape[1], -1).permute(0, 2, 1)
    cls = visual.class_embedding + torch.zeros(batch, 1, x.shape[-1])
    x = torch.cat([cls, x], dim=1) + visual.positional_embedding
    x = visual.ln_pre(torch.cat([x, vpt.expand(batch, -1, -1)], dim=1))
    for i, block in enumerate(visual.transformer.resblocks):
        if 1 <= i <= len(deep):
            x = torch.cat([x[:, :-n], deep[i - 1].expand(batch, -1, -1)], dim=1)
        x = block(x)
    return visual.ln_post(x[:, 0]) @ visual.proj


def official_loss(backbone, mediator, images, labels):
    """CustomCLIP.forward (training) and PromptSRC.forward_backward's loss on the same weights."""
    model = backbone.model
    text = official_text(backbone, mediator.prompt.ctx, list(mediator.deep_text_prompts))
    first, *deeper = mediator.vision_prompt_tokens
    image = official_image(backbone, images, first, deeper)
    image, text = image / image.norm(dim=-1, keepdim=True), text / text.norm(dim=-1, keepdim=True)
    logit_scale = model.logit_scale.exp()
    logits = logit_scale * image @ text.t()
    with torch.no_grad():
        per_template = [
            model.encode_text(backbone.tokenizer([t.format(c) for c in CLASSES])) for t in ANCHORS
        ]
        fixed = torch.stack(per_template, dim=1).mean(dim=1)
        fixed = fixed / fixed.norm(dim=-1, keepdim=True)
        zero_shot = model.encode_image(images)
        zero_shot = zero_shot / zero_shot.norm(dim=-1, keepdim=True)
        zero_shot_logits = logit_scale * zero_shot @ fixed.t()
    text_loss = F.l1_loss(text, fixed, reduction="mean") * 25
    image_loss = F.l1_loss(image, zero_shot, reduction="mean") * 10
    kl = (
        F.kl_div(
            F.log_softmax(logits / 1, dim=1),
            F.log_softmax(zero_shot_logits / 1, dim=1),
            reduction="sum",
            log_target=True,
        )
        * (1 * 1)
        / logits.numel()
    )
    loss = F.cross_entropy(logits, labels) + (kl + text_loss + image_loss)
    return logits, {"L_scl_text": text_loss / 25, "L_scl_image": image_loss / 10, "L_scl_logits": kl}, loss


def test_forward_losses_and_gradients_match_the_official_code(deep_clip):
    torch.manual_seed(0)
    mediator = PromptSRCMediator(deep_clip, CLASSES, anchor_templates=ANCHORS, text_depth=3, vision_depth=3)
    with torch.no_grad():  # "learned" prompts, so every term is away from zero
        mediator.prompt.ctx.add_(torch.randn_like(mediator.prompt.ctx) * 0.3)
        for p in [*mediator.deep_text_prompts, *mediator.vision_prompt_tokens]:
            p.mul_(20)
    classifier = FrontDoorClassifier(deep_clip, mediator, "logit-avg", loss_weights=SCL_WEIGHTS)
    images, labels = torch.randn(3, 3, 32, 32), torch.tensor([0, 3, 1])

    logits, terms_ref, loss_ref = official_loss(deep_clip, mediator, images, labels)
    grads_ref = torch.autograd.grad(loss_ref, list(classifier.trainable_parameters()))
    terms = classifier.loss_terms(images, labels)
    torch.testing.assert_close(
        classifier.logits(classifier.encode_views(images))[0], logits, atol=1e-5, rtol=1e-5
    )
    for key, value in terms_ref.items():
        assert value.item() > 1e-4, key  # every term is exercised
        torch.testing.assert_close(terms[key], value, atol=1e-6, rtol=1e-4)
    torch.testing.assert_close(terms["loss"], loss_ref, atol=1e-5, rtol=1e-5)
    grads = torch.autograd.grad(terms["loss"], list(classifier.trainable_parameters()))
    assert len(grads) == 1 + 2 + 3  # [V], P^t_1..2, P^v_0..2: nothing of the frozen towers
    for ours, reference in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(ours, reference, atol=1e-6, rtol=1e-3)


def test_gpa_weights_are_the_official_gaussian():
    mu, sigma = 15, 1
    gauss = [
        (1 / (sigma * math.sqrt(2 * math.pi))) * math.exp(-0.5 * ((a - mu) / sigma) ** 2)
        for a in range(1, 21)
    ]
    expected = [g / sum(gauss) for g in gauss]
    assert gaussian_epoch_weights(20, 15, 1) == pytest.approx(expected)
    assert gaussian_epoch_weights(20) == pytest.approx(expected)  # the default is the same fraction of N
    assert sum(gaussian_epoch_weights(200)) == pytest.approx(1.0)


def test_gpa_replaces_the_prompts_by_their_weighted_sum_after_the_last_epoch():
    module = SimpleNamespace(classifier=torch.nn.Linear(2, 1))
    callback, weights = GaussianPromptAggregation(mean=2.0, std=1.0), gaussian_epoch_weights(3, 2.0, 1.0)
    for epoch in range(3):
        with torch.no_grad():
            module.classifier.weight.fill_(float(epoch + 1))
        callback.on_train_epoch_end(SimpleNamespace(max_epochs=3, current_epoch=epoch), module)
        if epoch == 1:  # the running sum survives a checkpoint
            state = callback.state_dict()
            callback = GaussianPromptAggregation(mean=2.0, std=1.0)
            callback.load_state_dict(state)
    expected = sum(w * (e + 1) for e, w in enumerate(weights))
    torch.testing.assert_close(module.classifier.weight, torch.full((1, 2), expected))


def test_on_a_resnet_tower_the_row_is_text_only_and_the_image_term_vanishes(tiny_clip):
    assert for_backbone(method_spec("promptsrc"), False).label == "promptsrc[text-only]"
    spec = method_spec("promptsrc", recipe=True)
    assert (
        spec.train["batch_size"] == 4
        and spec.train["max_epochs"] == 20
        and spec.train["optim"]["lr"] == 0.0025
    )
    assert spec.weights == {"L_scl_text": 25.0, "L_scl_image": 10.0, "L_scl_logits": 1.0}


def test_it_trains_end_to_end_with_gpa(micro_clip_path, jpeg_root, tmp_path):
    module_spec = importlib.util.spec_from_file_location("cdc_run_for_promptsrc", RUN_PY)
    run = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(run)
    config = tmp_path / "fast.yaml"
    config.write_text(
        yaml.safe_dump({"compute_templates": [1], "train": {"batch_size": 4, "eval_batch_size": 64}})
    )
    out = tmp_path / "out"
    argv = [
        "--config", str(config), "--dataset", "imagefolder", "--data-root", str(jpeg_root),
        "--backbone", str(micro_clip_path), "--pretrained", "none", "--shots", "2", "--epochs", "2",
        "--seeds", "1", "--method", "promptsrc", "--out", str(out),
    ]  # fmt: skip
    assert run.main(argv) == 0
    payload = json.loads((out / "results.json").read_text())
    assert list(payload["results"]) == ["promptsrc"]  # the micro CLIP's image tower is a ViT
    logs = list((out / "runs").rglob("metrics.csv"))
    header = logs[0].read_text().splitlines()[0]
    assert all(f"train/{term}" in header for term in SCL_WEIGHTS)
