"""Every registered mediator × every registered aggregator trains one step through ``FrontDoorClassifier``
(the combinations docs/mediators.md lists as meaningful: CDC's fusion and VSD's losses on top of CoOp, CoCoOp,
MaPLe).

The classifier owns the prediction path: it encodes the images through the mediator (MaPLe's vision prompts),
conditions the class features on them (CoCoOp), pairs view m with template m, fuses, and adds L_de / L_con
when β, γ > 0 — so the test calls nothing but the classifier and an optimiser.
"""

from __future__ import annotations

import pytest
import torch

from causalvlm.aggregators import AGGREGATORS
from causalvlm.classifier import FrontDoorClassifier
from causalvlm.mediators import MEDIATORS

OPTIONS = {
    "handcrafted": {"templates": ["a photo of a {}.", "a drawing of a {}."]},
    "vsd": {"num_templates": 2},
    "cocoop": {"num_templates": 2},
    "maple": {"num_templates": 2},
}
# Mediators that define L_de / L_con; they train with β = γ = 1 (CDC's objective on top of them).
REGULARIZED = {"vsd", "cocoop", "maple"}


@pytest.mark.parametrize("aggregator_name", AGGREGATORS.names())
@pytest.mark.parametrize("mediator_name", MEDIATORS.names())
def test_pair_trains_one_step_through_the_classifier(mediator_name, aggregator_name, tiny_clip, classnames):
    torch.manual_seed(0)
    weight = 1.0 if mediator_name in REGULARIZED else 0.0
    classifier = FrontDoorClassifier(
        tiny_clip,
        mediator_name,
        aggregator_name,
        beta=weight,
        gamma=weight,
        classnames=classnames,
        mediator_options=OPTIONS.get(mediator_name, {}),
    )
    views = torch.randn(3, classifier.num_templates, 3, 32, 32)
    labels = torch.tensor([0, 2, 3])
    fused = classifier(views)
    assert fused.probs.shape == (3, len(classnames))
    torch.testing.assert_close(fused.probs.sum(-1), torch.ones(3))
    parameters = classifier.trainable_parameters()
    terms = classifier.loss_terms(views, labels)
    if not parameters:
        assert not terms["loss"].requires_grad
        return
    if weight:
        assert {"L_de", "L_con"} <= set(terms)
    assert torch.isfinite(terms["loss"])
    before = [p.detach().clone() for p in parameters]
    terms["loss"].backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in parameters)
    torch.optim.SGD(parameters, lr=0.1).step()
    # A meta-net's hidden ReLU units can be off for every image of a 3-image batch (zero gradient there);
    # everything that got a gradient moves, and something always does.
    moved = [not torch.equal(b, p) for b, p in zip(before, parameters, strict=True)]
    assert any(moved)
    assert all(m for m, p in zip(moved, parameters, strict=True) if p.grad.abs().sum() > 0)
    assert all(p.grad is None for p in tiny_clip.parameters())
    # The trained classifier predicts through the same path (text features cached for unconditional ones).
    with classifier.evaluating():
        assert classifier(views).probs.shape == (3, len(classnames))
