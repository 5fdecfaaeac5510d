"""S → Y: fuse the M per-template predictions into P(Y | do(x)).

Registered aggregators (``AGGREGATORS.build(name, **options)``): ``"ds"`` (DSTC, evidential Dempster–Shafer
fusion; its default loss is the paper's L_t-ce, and ``TMC_LOSS_OPTIONS`` adds TMC's fused-opinion and KL
terms), ``"mean"`` (mean of softmax probabilities) and ``"logit-avg"`` (softmax of the
mean logits). See ``docs/aggregators.md``.
"""

from __future__ import annotations

from causalvlm.aggregators.averaging import (
    LogitAverageAggregator,
    MeanProbabilityAggregator,
    normalized_entropy,
)
from causalvlm.aggregators.base import AGGREGATORS, Aggregation, Aggregator, check_labels, check_logits
from causalvlm.aggregators.dempster_shafer import ds_combine, ds_conflict, ds_fold, probabilities_from_belief
from causalvlm.aggregators.dstc import TMC_LOSS_OPTIONS, DSTCAggregator, DSTCConfig
from causalvlm.aggregators.opinions import (
    EVIDENCE_FUNCTIONS,
    dirichlet_from_evidence,
    dirichlet_from_opinion,
    evidence_function,
    opinion_from_evidence,
    uncertainty_floor,
)
from causalvlm.aggregators.trusted_loss import (
    annealing_coefficient,
    evidential_loss,
    kl_to_uniform_dirichlet,
    remove_true_class_evidence,
    trusted_cross_entropy,
)

__all__ = [
    "AGGREGATORS",
    "EVIDENCE_FUNCTIONS",
    "Aggregation",
    "Aggregator",
    "DSTCAggregator",
    "DSTCConfig",
    "LogitAverageAggregator",
    "MeanProbabilityAggregator",
    "TMC_LOSS_OPTIONS",
    "annealing_coefficient",
    "check_labels",
    "check_logits",
    "dirichlet_from_evidence",
    "dirichlet_from_opinion",
    "ds_combine",
    "ds_conflict",
    "ds_fold",
    "evidence_function",
    "evidential_loss",
    "kl_to_uniform_dirichlet",
    "normalized_entropy",
    "opinion_from_evidence",
    "probabilities_from_belief",
    "remove_true_class_evidence",
    "trusted_cross_entropy",
    "uncertainty_floor",
]
