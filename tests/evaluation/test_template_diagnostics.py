"""Per-template uncertainty, the mean-of-probabilities reference and the share of fused errors that follow the
most certain template: checked against hand computations, then through the report's tables."""

from __future__ import annotations

import math

import pytest
import torch

from causalvlm.aggregators import DSTCAggregator, MeanProbabilityAggregator, normalized_entropy
from causalvlm.evaluation import ResultsCollector, build_payload, results_markdown
from causalvlm.evaluation.metrics import errors_following_most_certain


def test_dstc_template_uncertainty_is_each_opinions_u():
    # M = 2 templates, one image, C = 3; evidence e = exp(logits / 1) with evidence_scale 1.
    logits = torch.tensor([[[0.0, 0.0, 0.0]], [[math.log(4.0), 0.0, 0.0]]], dtype=torch.float64)
    aggregation = DSTCAggregator(evidence_scale=1.0)(logits)
    # template 1: α = (2, 2, 2), S = 6, u = 3/6; template 2: α = (5, 2, 2), S = 9, u = 3/9
    torch.testing.assert_close(
        aggregation.template_uncertainty, torch.tensor([[0.5], [1 / 3]], dtype=torch.float64)
    )


def test_averaging_template_uncertainty_is_each_templates_normalised_entropy():
    logits = torch.tensor([[[0.0, 0.0]], [[5.0, -5.0]]])
    aggregation = MeanProbabilityAggregator()(logits)
    assert aggregation.template_uncertainty.shape == (2, 1)
    assert float(aggregation.template_uncertainty[0, 0]) == pytest.approx(1.0)  # a flat opinion
    expected = normalized_entropy(torch.softmax(logits[1, 0], -1))
    assert float(aggregation.template_uncertainty[1, 0]) == pytest.approx(float(expected))


def test_errors_following_most_certain_counts_by_hand():
    labels = torch.tensor([0, 0, 0, 0])
    fused = torch.tensor([[0.2, 0.8], [0.3, 0.7], [0.9, 0.1], [0.4, 0.6]])  # wrong on images 0, 1 and 3
    template_probs = torch.tensor(
        [
            [[0.1, 0.9], [0.6, 0.4], [0.9, 0.1], [0.6, 0.4]],  # template 1 predicts 1, 0, 0, 0
            [[0.8, 0.2], [0.2, 0.8], [0.9, 0.1], [0.3, 0.7]],  # template 2 predicts 0, 1, 0, 1
        ]
    )
    uncertainty = torch.tensor([[0.1, 0.9, 0.5, 0.2], [0.5, 0.2, 0.5, 0.8]])  # most certain: 1, 2, –, 1
    # errors: image 0 follows template 1 (predicts 1 = fused), image 1 follows template 2 (1 = fused),
    # image 3's most certain template 1 predicts 0 ≠ fused 1: two of three errors follow it.
    share = errors_following_most_certain(fused, template_probs, uncertainty, labels)
    assert share == pytest.approx(100 * 2 / 3)
    assert errors_following_most_certain(fused, template_probs[:1], uncertainty[:1], labels) is None
    assert errors_following_most_certain(fused, template_probs, uncertainty, fused.argmax(-1)) is None


def test_the_report_shows_mean_of_probs_and_per_template_uncertainty():
    collector = ResultsCollector("base2new")
    for seed, shift in ((1, 0.0), (2, 2.0)):
        collector.add(
            "cdc",
            "world",
            seed,
            {
                "base": 70.0 + shift, "new": 80.0 + shift, "hm": 0.0, "ece_base": 5.0, "ece_new": 6.0,
                "template_base": [68.0, 69.0], "template_new": [78.0, 79.0],
                "template_u_base": [0.2, 0.4 + shift / 10], "template_u_new": [0.3, 0.5],
                "mean_prob_base": 69.5, "mean_prob_new": 79.5,
            },
        )  # fmt: skip
        collector.add("zeroshot", "world", seed, {
            "base": 60.0, "new": 75.0, "hm": 0.0, "ece_base": 5.0, "ece_new": 6.0,
            "template_base": [60.0], "template_new": [75.0],
            "template_u_base": [0.9], "template_u_new": [0.9],
            "mean_prob_base": 60.0, "mean_prob_new": 75.0,
        })  # fmt: skip
    markdown = results_markdown(build_payload("base2new", collector, [], {}, {}))
    accuracy = markdown.split("### Per-template accuracy vs fused")[1].split("###")[0]
    assert "| S1 | S2 | Fused | Mean of probs |" in accuracy
    assert "| cdc | world (base) | 68.00 ± 0.00 | 69.00 ± 0.00 | 71.00 ± 1.00 | 69.50 ± 0.00 |" in accuracy
    uncertainty = markdown.split("### Per-template uncertainty")[1]
    assert "| cdc | world (base) | 0.200 ± 0.000 | 0.500 ± 0.100 |" in uncertainty
    assert "zeroshot" not in uncertainty  # one template: nothing to compare
