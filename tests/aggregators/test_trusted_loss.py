"""Trusted cross-entropy, the KL regulariser and their gradients."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Dirichlet, kl_divergence

from causalvlm.aggregators import (
    AGGREGATORS,
    TMC_LOSS_OPTIONS,
    annealing_coefficient,
    kl_to_uniform_dirichlet,
    remove_true_class_evidence,
    trusted_cross_entropy,
)

f64 = torch.float64


def test_trusted_cross_entropy_by_hand():
    alpha = torch.tensor([[5.0, 2.0, 1.0], [5.0, 2.0, 1.0]], dtype=f64)
    labels = torch.tensor([0, 2])
    expected = torch.digamma(torch.tensor(8.0, dtype=f64)) - torch.digamma(
        torch.tensor([5.0, 1.0], dtype=f64)
    )
    torch.testing.assert_close(trusted_cross_entropy(alpha, labels), expected)
    # the loss is lower when the evidence backs the true class
    assert trusted_cross_entropy(alpha, labels)[0] < trusted_cross_entropy(alpha, labels)[1]


def test_trusted_cross_entropy_is_expected_cross_entropy_under_the_dirichlet():
    torch.manual_seed(0)
    alpha = torch.tensor([3.0, 1.5, 2.0], dtype=f64)
    p = Dirichlet(alpha).sample((200_000,))
    monte_carlo = (-torch.log(p[:, 1])).mean()
    exact = trusted_cross_entropy(alpha[None], torch.tensor([1]))[0]
    assert float(exact) == pytest.approx(float(monte_carlo), rel=1e-2)


def test_trusted_cross_entropy_broadcasts_over_templates():
    alpha = torch.rand(4, 3, 5, dtype=f64) * 10 + 1
    labels = torch.tensor([0, 4, 2])
    per_template = torch.stack([trusted_cross_entropy(alpha[m], labels) for m in range(4)])
    torch.testing.assert_close(trusted_cross_entropy(alpha, labels), per_template)


def test_kl_matches_torch_distributions_and_vanishes_at_the_prior():
    alpha = torch.tensor([[1.0, 1.0, 1.0, 1.0], [4.0, 1.0, 0.5, 7.0]], dtype=f64)
    reference = kl_divergence(Dirichlet(alpha), Dirichlet(torch.ones_like(alpha)))
    torch.testing.assert_close(kl_to_uniform_dirichlet(alpha), reference)
    assert float(kl_to_uniform_dirichlet(alpha)[0]) == pytest.approx(0.0, abs=1e-12)


def test_remove_true_class_evidence():
    alpha = torch.tensor([[5.0, 2.0, 3.0], [5.0, 2.0, 3.0]])
    torch.testing.assert_close(
        remove_true_class_evidence(alpha, torch.tensor([0, 2])),
        torch.tensor([[1.0, 2.0, 3.0], [5.0, 2.0, 1.0]]),
    )


def test_annealing_coefficient_counts_epochs_from_one():
    # 0-based epochs 0..3 are TMC's t = 1..4: the weight reaches 1 in the T-th epoch and stays there
    assert [annealing_coefficient(e, 4) for e in (0, 1, 2, 3, 9)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert annealing_coefficient(9, 10) == 1.0  # the last epoch of a 10-epoch run (it used to stop at 0.9)
    with pytest.raises(ValueError, match="annealing_epochs"):
        annealing_coefficient(1, 0)
    with pytest.raises(ValueError, match="annealing_epochs"):
        annealing_coefficient(1, 2.5)
    with pytest.raises(ValueError, match="epoch"):
        annealing_coefficient(-1, 5)


def test_gradcheck_trusted_cross_entropy_and_kl():
    alpha = (torch.rand(2, 3, 4, dtype=f64) * 5 + 1).requires_grad_()
    labels = torch.tensor([1, 0, 3])
    assert torch.autograd.gradcheck(lambda a: trusted_cross_entropy(a, labels), (alpha,))
    assert torch.autograd.gradcheck(
        lambda a: kl_to_uniform_dirichlet(remove_true_class_evidence(a, labels)), (alpha,)
    )


@pytest.mark.parametrize(
    "name, options",
    [
        ("ds", {"evidence": "exp"}),
        ("ds", {"evidence": "exp", **TMC_LOSS_OPTIONS}),
        ("ds", {"evidence": "softplus", "kl_weight": 1.0}),
        ("ds", {"evidence": "relu", "evidence_scale": 1.0, **TMC_LOSS_OPTIONS}),
        ("mean", {}),
        ("logit-avg", {}),
    ],
)
def test_gradcheck_aggregator_losses(name, options):
    aggregator = AGGREGATORS.build(name, **options)
    generator = torch.Generator().manual_seed(7)
    # offset keeps relu away from its kink at 0, where finite differences disagree with the one-sided gradient
    logits = (torch.rand(3, 2, 4, generator=generator, dtype=f64) * 20 + 0.5).requires_grad_()
    labels = torch.tensor([1, 3])
    assert torch.autograd.gradcheck(lambda x: aggregator.loss(x, labels, epoch=5, max_epochs=10), (logits,))


def test_tmc_options_change_the_ds_loss_and_the_default_is_the_papers():
    # TMC's terms are options now, passed explicitly; the default `ds` loss has neither
    torch.manual_seed(0)
    logits, labels = torch.randn(3, 4, 5) * 20, torch.tensor([0, 1, 2, 3])
    base = AGGREGATORS.build("ds", fuse_loss=False, kl_weight=0.0).loss(logits, labels)
    assert AGGREGATORS.build("ds").loss(logits, labels) == base
    fused = AGGREGATORS.build("ds", fuse_loss=True, kl_weight=0.0).loss(logits, labels)
    with_kl = AGGREGATORS.build("ds", fuse_loss=False, kl_weight=1.0, annealing_epochs=2)
    assert fused > base
    assert with_kl.loss(logits, labels, epoch=0) > base  # t = 1: already half the weight
    assert with_kl.loss(logits, labels, epoch=1) > with_kl.loss(logits, labels, epoch=0)
    # the ramp is done at t = T = 2
    assert with_kl.loss(logits, labels, epoch=2) == with_kl.loss(logits, labels, epoch=1)
