"""Every registered mediator: shapes, normalisation, no NaN, gradients only to prompt parameters.

Conditional mediators (CoCoOp) get image features and return [B, M, C, D]; mediators with a trainable image
side (MaPLe) encode the images themselves, as the classifier has them do.
"""

from __future__ import annotations

import pytest
import torch

from causalvlm.mediators import MEDIATORS

OPTIONS = {
    "handcrafted": {"templates": ["a photo of a {}.", "a drawing of a {}."]},
    "vsd": {"num_templates": 3},
    "cocoop": {"num_templates": 2},
    "maple": {"num_templates": 2},
}
BATCH = 6


def build(name, backbone, classnames):
    return MEDIATORS.build(name, backbone=backbone, classnames=classnames, **OPTIONS.get(name, {}))


def image_features(mediator, backbone, seed: int = 0) -> torch.Tensor:
    """[B, V, D] features of a fixed random batch, encoded the way the mediator encodes images."""
    generator = torch.Generator().manual_seed(seed)
    if getattr(mediator, "image_side_trainable", False):
        images = torch.randn(BATCH, 3, backbone.image_size, backbone.image_size, generator=generator)
        return mediator.encode_images(images)
    features = torch.randn(BATCH, 1, backbone.embed_dim, generator=generator)
    return torch.nn.functional.normalize(features, dim=-1)


def class_features(mediator, backbone) -> torch.Tensor:
    """[M, C, D], or [B, M, C, D] for a conditional mediator (then conditioned on ``image_features``)."""
    if getattr(mediator, "conditional", False):
        return mediator(image_features(mediator, backbone))
    return mediator()


def test_registry_has_the_five_mediators():
    assert {"handcrafted", "coop", "vsd", "cocoop", "maple"} <= set(MEDIATORS.names())


@pytest.mark.parametrize("name", MEDIATORS.names())
def test_forward_shape_norm_and_finite(name, tiny_clip, classnames):
    mediator = build(name, tiny_clip, classnames)
    features = class_features(mediator, tiny_clip)
    shape = (mediator.num_templates, len(classnames), tiny_clip.embed_dim)
    assert features.shape == ((BATCH, *shape) if getattr(mediator, "conditional", False) else shape)
    assert torch.isfinite(features).all()
    torch.testing.assert_close(features.norm(dim=-1), torch.ones(features.shape[:-1]))
    regularizers = mediator.regularizers(features, tiny_clip.logit_scale)
    assert all(value.dim() == 0 and torch.isfinite(value) for value in regularizers.values())


@pytest.mark.parametrize("name", MEDIATORS.names())
def test_training_step_moves_only_prompts(name, tiny_clip, classnames):
    torch.manual_seed(0)
    mediator = build(name, tiny_clip, classnames)
    backbone_before = {k: v.clone() for k, v in tiny_clip.state_dict().items()}
    parameters = list(mediator.parameters())
    if not parameters:  # hand-crafted: nothing to learn, nothing may require grad
        assert not mediator().requires_grad
        return
    before = [p.detach().clone() for p in parameters]
    optimizer = torch.optim.SGD(parameters, lr=1.0)
    images = image_features(mediator, tiny_clip).expand(-1, mediator.num_templates, -1)
    features = mediator(images) if getattr(mediator, "conditional", False) else mediator()
    pattern = "bmd,bmcd->mbc" if features.dim() == 4 else "bmd,mcd->mbc"
    logits = tiny_clip.logit_scale * torch.einsum(pattern, images, features)
    labels = torch.randint(0, len(classnames), (BATCH,))
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.repeat(mediator.num_templates))
    loss = loss + sum(mediator.regularizers(features, tiny_clip.logit_scale).values())
    loss.backward()
    assert all(
        p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0 for p in parameters
    )
    assert all(p.grad is None for p in tiny_clip.parameters())
    optimizer.step()
    assert all(not torch.equal(b, p) for b, p in zip(before, parameters, strict=True))
    for key, value in tiny_clip.state_dict().items():
        assert torch.equal(value, backbone_before[key]), key


@pytest.mark.parametrize("name", MEDIATORS.names())
def test_state_dict_holds_no_backbone_weights(name, tiny_clip, classnames):
    keys = build(name, tiny_clip, classnames).state_dict().keys()
    assert not any("transformer" in k or "visual" in k for k in keys)


@pytest.mark.parametrize("name", MEDIATORS.names())
def test_base_to_new_class_switch(name, tiny_clip, classnames):
    torch.manual_seed(0)
    trained = build(name, tiny_clip, classnames[:2])
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(torch.randn_like(p) * 0.05)  # stands in for training on the base classes
    trained.set_classnames(classnames[2:])
    assert trained.classnames == classnames[2:]
    fresh = build(name, tiny_clip, classnames[2:])
    fresh.load_state_dict(trained.state_dict())
    torch.testing.assert_close(class_features(trained, tiny_clip), class_features(fresh, tiny_clip))
    assert class_features(trained, tiny_clip).shape[-2] == 2


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", MEDIATORS.names())
def test_mediators_on_cuda_match_cpu(name, classnames):
    from pathlib import Path

    from causalvlm.backbones import FrozenCLIP

    torch.manual_seed(0)
    backbone = FrozenCLIP.from_config(Path(__file__).parents[1] / "backbones" / "tiny_test_clip.json")
    cpu = build(name, backbone, classnames)
    expected = class_features(cpu, backbone).detach()
    gpu_backbone = backbone.to("cuda")
    gpu = build(name, gpu_backbone, classnames)
    gpu.load_state_dict(cpu.state_dict())
    if getattr(gpu, "conditional", False):
        features = gpu(image_features(cpu, backbone).cuda())
    else:
        features = gpu()
    torch.testing.assert_close(features.detach().cpu(), expected, atol=1e-4, rtol=0)
