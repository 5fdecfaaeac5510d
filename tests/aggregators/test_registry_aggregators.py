"""Every registered aggregator: shapes, probabilities, finiteness, gradients, bad inputs."""

from __future__ import annotations

import pytest
import torch

from causalvlm.aggregators import (
    AGGREGATORS,
    TMC_LOSS_OPTIONS,
    Aggregation,
    Aggregator,
    DSTCAggregator,
    DSTCConfig,
)

NAMES = AGGREGATORS.names()
DS_VARIANTS = [("ds", {"evidence": h}) for h in ("exp", "softplus", "relu")] + [
    ("ds", {"evidence": h, **TMC_LOSS_OPTIONS}) for h in ("exp", "softplus", "relu")
]
ALL_VARIANTS = DS_VARIANTS + [(n, {}) for n in NAMES if n != "ds"]


def test_registry_lists_the_three_aggregators():
    assert NAMES == ["ds", "logit-avg", "mean"]
    with pytest.raises(KeyError, match="valid names: ds, logit-avg, mean"):
        AGGREGATORS.get("max")


@pytest.mark.parametrize("name", NAMES)
def test_forward_shapes_probabilities_and_uncertainty(name):
    aggregator = AGGREGATORS.build(name)
    assert isinstance(aggregator, Aggregator)
    logits = torch.randn(4, 6, 9, generator=torch.Generator().manual_seed(0)) * 30
    out = aggregator(logits)
    assert isinstance(out, Aggregation)
    assert (
        out.probs.shape == (6, 9) and out.template_probs.shape == (4, 6, 9) and out.uncertainty.shape == (6,)
    )
    torch.testing.assert_close(out.probs.sum(-1), torch.ones(6))
    torch.testing.assert_close(out.template_probs.sum(-1), torch.ones(4, 6))
    assert ((out.uncertainty >= 0) & (out.uncertainty <= 1)).all()
    for tensor in (out.probs, out.template_probs, out.uncertainty):
        assert not torch.isnan(tensor).any()


@pytest.mark.parametrize("name", NAMES)
def test_fused_prediction_follows_unanimous_templates(name):
    logits = torch.zeros(3, 2, 5)
    logits[:, 0, 2] = 40.0
    logits[:, 1, 4] = 40.0
    assert AGGREGATORS.build(name)(logits).probs.argmax(-1).tolist() == [2, 4]


@pytest.mark.parametrize("name", NAMES)
def test_more_evidence_means_less_uncertainty(name):
    logits = torch.zeros(3, 1, 5)
    logits[:, 0, 1] = 5.0
    weak = AGGREGATORS.build(name)(logits).uncertainty
    strong = AGGREGATORS.build(name)(logits * 8).uncertainty
    assert strong < weak


@pytest.mark.parametrize("name, options", ALL_VARIANTS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_extreme_logits_give_finite_outputs_losses_and_gradients(name, options, dtype):
    # the stated numeric envelope: |logits| up to 1e4, C = 1000, M = 16, fp32 and bf16 inputs
    generator = torch.Generator().manual_seed(1)
    logits = (torch.randn(16, 3, 1000, generator=generator) * 1e4).clamp(-1e4, 1e4)
    logits[:, :, :3] = torch.tensor([1e4, -1e4, 0.0])
    logits = logits.to(dtype).requires_grad_()
    labels = torch.tensor([0, 1, 999])
    aggregator = AGGREGATORS.build(name, **options)
    out = aggregator(logits)
    assert out.probs.dtype == torch.float32
    assert torch.isfinite(out.probs).all() and torch.isfinite(out.uncertainty).all()
    torch.testing.assert_close(out.probs.sum(-1), torch.ones(3))
    loss = aggregator.loss(logits, labels, epoch=100)
    loss.backward()
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert logits.grad.dtype == dtype and torch.isfinite(logits.grad.float()).all()


@pytest.mark.parametrize("name, options", ALL_VARIANTS)
def test_training_the_logits_reaches_the_labels(name, options):
    # a free logit tensor trained with the aggregator's loss must come to predict the labels
    torch.manual_seed(0)
    logits = torch.nn.Parameter(torch.randn(3, 8, 4) * 5)
    labels = torch.tensor([0, 1, 2, 3, 3, 2, 1, 0])
    aggregator = AGGREGATORS.build(name, **options)
    optimizer = torch.optim.Adam([logits], lr=0.5)
    first = float(aggregator.loss(logits, labels).detach())
    for epoch in range(60):
        optimizer.zero_grad()
        aggregator.loss(logits, labels, epoch=epoch, max_epochs=60).backward()
        optimizer.step()
    assert float(aggregator.loss(logits, labels, epoch=60).detach()) < first
    assert (aggregator(logits.detach()).probs.argmax(-1) == labels).all()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "logits, match",
    [
        (torch.zeros(3, 4), r"shape \[M, B, C\]"),
        (torch.zeros(0, 2, 3), "M = 0"),
        (torch.zeros(2, 0, 3), "empty batch"),
        (torch.zeros(2, 2, 1), "C = 1"),
        (torch.zeros(2, 2, 3, dtype=torch.long), "floating point"),
        (torch.tensor([[[0.0, float("nan"), 1.0]]]), "NaN"),
    ],
)
def test_bad_logits_are_rejected(name, logits, match):
    aggregator = AGGREGATORS.build(name)
    with pytest.raises(ValueError, match=match):
        aggregator(logits)
    with pytest.raises(ValueError, match=match):
        aggregator.loss(logits, torch.zeros(logits.shape[1] if logits.dim() == 3 else 3, dtype=torch.long))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "labels, match",
    [
        (torch.tensor([0, 1, 2]), r"shape \[B\] = \[2\]"),
        (torch.tensor([[0, 1]]), r"shape \[B\]"),
        (torch.tensor([0, 5]), "label 5 is out of range for C = 5"),
        (torch.tensor([-1, 0]), "label -1 is out of range"),
        (torch.tensor([0.0, 1.0]), "integer class indices"),
    ],
)
def test_bad_labels_are_rejected(name, labels, match):
    with pytest.raises(ValueError, match=match):
        AGGREGATORS.build(name).loss(torch.zeros(3, 2, 5), labels)


def test_non_tensor_inputs_are_rejected():
    with pytest.raises(TypeError, match="logits must be a torch.Tensor"):
        AGGREGATORS.build("ds")([[1.0, 2.0]])
    with pytest.raises(TypeError, match="labels must be a torch.Tensor"):
        AGGREGATORS.build("mean").loss(torch.zeros(1, 2, 3), [0, 1])


@pytest.mark.parametrize(
    "options, match",
    [
        ({"evidence": "sigmoid"}, "option 'evidence'.*'sigmoid'.*valid names: exp, relu, softplus"),
        ({"evidence_scale": 0.0}, "evidence_scale"),
        ({"kl_weight": -1.0}, "kl_weight"),
        ({"annealing_epochs": 0}, "annealing_epochs"),
        ({"annealing_epochs": 2.5}, "annealing_epochs"),
        ({"fuse_loss": "yes"}, "fuse_loss"),
        (
            {"temperature": 2.0},
            r"unknown option\(s\) \['temperature'\].*valid options: evidence, evidence_scale",
        ),
    ],
)
def test_bad_ds_options_are_rejected(options, match):
    with pytest.raises(ValueError, match=match):
        AGGREGATORS.build("ds", **options)


def test_ds_accepts_a_config_object_but_not_both():
    aggregator = DSTCAggregator(DSTCConfig(evidence="softplus"))
    assert aggregator.config.evidence == "softplus"
    with pytest.raises(ValueError, match="not both"):
        DSTCAggregator(DSTCConfig(), evidence="relu")


@pytest.mark.parametrize("name", ["mean", "logit-avg"])
def test_ablation_aggregators_take_no_options(name):
    with pytest.raises(TypeError):
        AGGREGATORS.build(name, evidence="exp")
