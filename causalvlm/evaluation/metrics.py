"""Accuracy, harmonic mean and expected calibration error of a front-door classifier.

Metrics come from torchmetrics; numbers are reported in percent, as in the paper's tables. Evaluation runs on
pre-encoded image features (CLIP is frozen and the eval transform deterministic, so features are computed
once per split and reused by every method and seed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from torchmetrics.functional.classification import multiclass_accuracy, multiclass_calibration_error

from causalvlm.classifier import FrontDoorClassifier

ECE_BINS = 15  # the paper's (and torchmetrics' usual) number of confidence bins


def harmonic_mean(base: float, new: float) -> float:
    """HM = 2 · base · new / (base + new), the base-to-new summary; 0 when both are 0."""
    if base < 0 or new < 0:
        raise ValueError(f"accuracies must be non-negative, got base={base}, new={new}")
    return 0.0 if base + new == 0 else 2.0 * base * new / (base + new)


@dataclass
class EvalResult:
    """One classifier on one labelled set. Accuracies and ECE are percentages."""

    accuracy: float  # top-1 accuracy of the fused P(Y | do(x))
    ece: float  # expected calibration error of the fused probabilities, ECE_BINS equal-width bins
    template_accuracy: list[float]  # top-1 accuracy of each template's own prediction S_1..S_M
    template_uncertainty: list[float]  # mean uncertainty of each template's opinion, u_1..u_M (in [0, 1])
    mean_prob_accuracy: float  # accuracy of (1/M) Σ_m P(Y | S^m): the plain average the fusion replaces
    errors_following_most_certain: float | None  # % of fused errors that repeat the most certain template's
    num_samples: int
    probs: Tensor = field(repr=False)  # [N,C] fused probabilities (for reliability diagrams)
    labels: Tensor = field(repr=False)  # [N]
    uncertainty: Tensor = field(repr=False)  # [N]

    def summary(self) -> dict[str, float | list[float]]:
        return {
            "acc": self.accuracy,
            "ece": self.ece,
            "template_acc": list(self.template_accuracy),
            "template_u": list(self.template_uncertainty),
            "mean_prob_acc": self.mean_prob_accuracy,
        }


def base2new_row(base: EvalResult, new: EvalResult) -> dict[str, Any]:
    """One base-to-new results row: Base, New, HM (Table 1), ECE and per-template diagnostics of each half."""
    return {
        "base": base.accuracy,
        "new": new.accuracy,
        "hm": harmonic_mean(base.accuracy, new.accuracy),
        "ece_base": base.ece,
        "ece_new": new.ece,
        "template_base": base.template_accuracy,
        "template_new": new.template_accuracy,
        "template_u_base": base.template_uncertainty,
        "template_u_new": new.template_uncertainty,
        "mean_prob_base": base.mean_prob_accuracy,
        "mean_prob_new": new.mean_prob_accuracy,
    }


def accuracy_percent(probs: Tensor, labels: Tensor) -> float:
    return 100.0 * float(multiclass_accuracy(probs, labels, num_classes=probs.shape[-1], average="micro"))


def ece_percent(probs: Tensor, labels: Tensor, n_bins: int = ECE_BINS) -> float:
    """ECE = Σ_b |B_b|/N · |acc(B_b) − conf(B_b)| over ``n_bins`` equal-width confidence bins, in percent."""
    error = multiclass_calibration_error(probs, labels, num_classes=probs.shape[-1], n_bins=n_bins, norm="l1")
    return 100.0 * float(error)


@torch.no_grad()
def evaluate_features(
    classifier: FrontDoorClassifier,
    features: Tensor,
    labels: Tensor,
    classnames: Sequence[str] | None = None,
    batch_size: int = 1024,
) -> EvalResult:
    """Evaluate on cached image features ``[N,D]`` / ``[N,V,D]`` against ``classnames`` (default: current).

    The classifier evaluates under ``classnames`` (base → new) and gets its own back afterwards.
    """
    if features.shape[0] != labels.shape[0] or features.shape[0] == 0:
        raise ValueError(
            f"need matching, non-empty features and labels, got {features.shape[0]} and {labels.shape[0]}"
        )
    if not classifier.caches_image_features:
        raise ValueError(
            "this classifier's mediator learns image-side parameters, so cached image features would skip "
            "them; evaluate it on images with evaluate_batches(..., features=False)"
        )
    num_classes = len(classnames) if classnames is not None else len(classifier.classnames)
    if int(labels.max()) >= num_classes:
        raise ValueError(f"label {int(labels.max())} is out of range for {num_classes} class names")
    batches = (
        (features[start : start + batch_size], labels[start : start + batch_size])
        for start in range(0, features.shape[0], batch_size)
    )
    return evaluate_batches(classifier, batches, classnames, features=True)


@torch.no_grad()
def evaluate_batches(
    classifier: FrontDoorClassifier,
    batches: Iterable[tuple[Tensor, Tensor]],
    classnames: Sequence[str] | None = None,
    features: bool = False,
) -> EvalResult:
    """Evaluate on ``(inputs, labels)`` batches: images ``[B,3,H,W]`` / ``[B,V,3,H,W]``, or image features
    when ``features``. Runs inside ``classifier.evaluating(classnames)``, so only the classifier predicts."""
    probs, template_probs, uncertainty, template_uncertainty, all_labels = [], [], [], [], []
    with classifier.evaluating(classnames):
        num_classes = len(classifier.classnames)
        for inputs, targets in batches:
            if targets.numel() and int(targets.max()) >= num_classes:
                raise ValueError(f"label {int(targets.max())} is out of range for {num_classes} class names")
            inputs = inputs.to(classifier.device)
            aggregation = classifier.forward_features(inputs) if features else classifier(inputs)
            probs.append(aggregation.probs.float().cpu())
            template_probs.append(aggregation.template_probs.float().cpu())
            uncertainty.append(aggregation.uncertainty.float().cpu())
            template_uncertainty.append(aggregation.template_uncertainty.float().cpu())
            all_labels.append(targets.long().cpu())
    if not probs:
        raise ValueError("no batches to evaluate")
    fused = torch.cat(probs)
    per_template = torch.cat(template_probs, dim=1)
    per_template_u = torch.cat(template_uncertainty, dim=1)
    labels = torch.cat(all_labels)
    return EvalResult(
        accuracy=accuracy_percent(fused, labels),
        ece=ece_percent(fused, labels),
        template_accuracy=[accuracy_percent(p, labels) for p in per_template],
        template_uncertainty=per_template_u.mean(dim=1).tolist(),
        mean_prob_accuracy=accuracy_percent(per_template.mean(dim=0), labels),
        errors_following_most_certain=errors_following_most_certain(
            fused, per_template, per_template_u, labels
        ),
        num_samples=int(labels.shape[0]),
        probs=fused,
        labels=labels,
        uncertainty=torch.cat(uncertainty),
    )


def errors_following_most_certain(
    probs: Tensor, template_probs: Tensor, template_uncertainty: Tensor, labels: Tensor
) -> float | None:
    """Among the images the fused prediction gets wrong, the percentage on which it names the class that the
    most certain template (lowest u^m, the opinion Dempster's rule weighs most) predicts.

    ``probs [N,C]`` fused, ``template_probs [M,N,C]``, ``template_uncertainty [M,N]``, ``labels [N]``. A
    share near 100 % means the fusion's errors are that template's errors. None when there is one template or
    no fused error.
    """
    prediction = probs.argmax(-1)
    wrong = prediction != labels
    if template_probs.shape[0] < 2 or not bool(wrong.any()):
        return None
    most_certain = template_uncertainty.argmin(dim=0)  # [N]
    followed = template_probs.argmax(-1).gather(0, most_certain[None])[0] == prediction
    return 100.0 * float(followed[wrong].float().mean())


def reliability_bins(probs: Tensor, labels: Tensor, n_bins: int = ECE_BINS) -> dict[str, list[float]]:
    """Per-bin mean confidence, accuracy and count of the top-1 prediction (a reliability diagram)."""
    confidence, prediction = probs.max(dim=-1)
    correct = (prediction == labels).float()
    edges = torch.linspace(0, 1, n_bins + 1)
    # bucketize with right=True puts a confidence of exactly 1.0 into the last bin, not past it
    index = torch.clamp(torch.bucketize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    counts = torch.bincount(index, minlength=n_bins).float()
    safe = counts.clamp(min=1)
    mean_conf = torch.zeros(n_bins).index_add_(0, index, confidence) / safe
    mean_acc = torch.zeros(n_bins).index_add_(0, index, correct) / safe
    return {
        "edges": edges.tolist(),
        "confidence": mean_conf.tolist(),
        "accuracy": mean_acc.tolist(),
        "count": counts.tolist(),
    }
