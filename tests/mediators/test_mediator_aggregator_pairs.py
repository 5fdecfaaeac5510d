"""Every registered mediator × every registered aggregator trains one step (the combinations docs/mediators.md
lists as meaningful: CDC's fusion and VSD's losses on top of CoOp, CoCoOp, MaPLe).

The logits are formed as the prediction-path contract (INTERFACE) has the classifier form them: images encoded
by the mediator, class features conditioned on them when the mediator is conditional, view m paired with
template m.
"""

from __future__ import annotations

import pytest
import torch

from causalvlm.aggregators import AGGREGATORS
from causalvlm.mediators import MEDIATORS

OPTIONS = {
    "handcrafted": {"templates": ["a photo of a {}.", "a drawing of a {}."]},
    "vsd": {"num_templates": 2},
    "cocoop": {"num_templates": 2},
    "maple": {"num_templates": 2},
}


def per_template_logits(mediator, backbone, views: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits [M, B, C], class features) for views [B, V, 3, H, W]."""
    if hasattr(mediator, "encode_images"):
        image = mediator.encode_images(views)
    else:  # mediators that keep the base class's default
        with torch.no_grad():
            image = backbone.encode_image(views.flatten(0, 1)).view(*views.shape[:2], -1)
    image = image.expand(-1, mediator.num_templates, -1)
    if getattr(mediator, "conditional", False):
        text = mediator(image)
        return backbone.logit_scale * torch.einsum("bmd,bmcd->mbc", image, text), text
    text = mediator()
    return backbone.logit_scale * torch.einsum("bmd,mcd->mbc", image, text), text


@pytest.mark.parametrize("aggregator_name", AGGREGATORS.names())
@pytest.mark.parametrize("mediator_name", MEDIATORS.names())
def test_pair_trains_one_step(mediator_name, aggregator_name, tiny_clip, classnames):
    torch.manual_seed(0)
    mediator = MEDIATORS.build(
        mediator_name, backbone=tiny_clip, classnames=classnames, **OPTIONS.get(mediator_name, {})
    )
    aggregator = AGGREGATORS.build(aggregator_name)
    views = torch.randn(3, mediator.num_templates, 3, 32, 32)
    labels = torch.tensor([0, 2, 3])
    logits, text = per_template_logits(mediator, tiny_clip, views)
    fused = aggregator(logits)
    assert fused.probs.shape == (3, len(classnames))
    torch.testing.assert_close(fused.probs.sum(-1), torch.ones(3))
    parameters = list(mediator.parameters())
    if not parameters:
        assert not logits.requires_grad
        return
    loss = aggregator.loss(logits, labels)
    loss = loss + sum(mediator.regularizers(text, tiny_clip.logit_scale).values())
    assert torch.isfinite(loss)
    before = [p.detach().clone() for p in parameters]
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in parameters)
    torch.optim.SGD(parameters, lr=0.1).step()
    # A meta-net's hidden ReLU units can be off for every image of a 3-image batch (zero gradient there);
    # everything that got a gradient moves, and something always does.
    moved = [not torch.equal(b, p) for b, p in zip(before, parameters, strict=True)]
    assert any(moved)
    assert all(m for m, p in zip(moved, parameters, strict=True) if p.grad.abs().sum() > 0)
    assert all(p.grad is None for p in tiny_clip.parameters())
