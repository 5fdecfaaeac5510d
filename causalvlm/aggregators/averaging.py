"""Aggregators for the "DSTC off" ablation: average the M template predictions without evidence or conflict.

Both report as uncertainty the normalised entropy of the fused prediction, H(p) / log C ∈ [0, 1]: 0 for
a one-hot prediction, 1 for the uniform one. It is a confidence measure, not a subjective-logic mass, but it
lives on the same scale as DSTC's u so that the two can be plotted side by side.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from causalvlm.aggregators.base import AGGREGATORS, Aggregation, Aggregator, check_labels, check_logits


def normalized_entropy(p: Tensor) -> Tensor:
    """H(p) / log C = −Σ_c p_c log p_c / log C over the last dimension (0 log 0 = 0)."""
    return torch.special.entr(p).sum(-1) / math.log(p.shape[-1])


def _checked(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    logits = check_logits(logits)
    return logits, check_labels(labels, logits.shape[1], logits.shape[2])


@AGGREGATORS.register("mean")
class MeanProbabilityAggregator(Aggregator):
    """P(Y = c | x) = (1/M) Σ_m softmax(logits^m)_c; trained with the cross-entropy of that mixture,

    L = −log( (1/M) Σ_m softmax(logits^m)_y ),  computed as −(logsumexp_m log softmax(logits^m)_y − log M).
    """

    def forward(self, logits: Tensor) -> Aggregation:
        template_probs = torch.softmax(check_logits(logits), dim=-1)
        probs = template_probs.mean(0)
        return Aggregation(
            probs=probs,
            template_probs=template_probs,
            uncertainty=normalized_entropy(probs),
            template_uncertainty=normalized_entropy(template_probs),
        )

    def loss(self, logits: Tensor, labels: Tensor, epoch: int = 0, max_epochs: int | None = None) -> Tensor:
        logits, labels = _checked(logits, labels)
        log_p = torch.log_softmax(logits, dim=-1)
        log_p_y = log_p.gather(-1, labels.expand(log_p.shape[:-1]).unsqueeze(-1)).squeeze(-1)
        return -(torch.logsumexp(log_p_y, dim=0) - math.log(logits.shape[0])).mean()


@AGGREGATORS.register("logit-avg")
class LogitAverageAggregator(Aggregator):
    """P(Y | x) = softmax((1/M) Σ_m logits^m); trained with cross-entropy on the averaged logits."""

    def forward(self, logits: Tensor) -> Aggregation:
        logits = check_logits(logits)
        probs = torch.softmax(logits.mean(0), dim=-1)
        template_probs = torch.softmax(logits, dim=-1)
        return Aggregation(
            probs=probs,
            template_probs=template_probs,
            uncertainty=normalized_entropy(probs),
            template_uncertainty=normalized_entropy(template_probs),
        )

    def loss(self, logits: Tensor, labels: Tensor, epoch: int = 0, max_epochs: int | None = None) -> Tensor:
        logits, labels = _checked(logits, labels)
        return F.cross_entropy(logits.mean(0), labels)
