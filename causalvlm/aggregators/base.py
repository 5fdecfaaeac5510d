"""The S → Y interface: fuse M per-template predictions into P(Y | do(x)).

An :class:`Aggregator` receives per-template logits ``[M, B, C]`` (``logit_scale * cosine similarity``, one
slice per decoupled semantic S^m) and returns an :class:`Aggregation`: the fused class probabilities, the
per-template probabilities and the fused uncertainty. ``loss`` is its training objective given labels.

Inputs are checked here once, before any work, so every aggregator rejects bad shapes and labels the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from causalvlm.registry import Registry

AGGREGATORS: Registry[Aggregator] = Registry("aggregator")


@dataclass
class Aggregation:
    """What an aggregator returns for a batch.

    probs: ``[B, C]`` fused P(Y | do(x)); rows sum to 1.
    template_probs: ``[M, B, C]`` the prediction of each template on its own; rows sum to 1.
    uncertainty: ``[B]`` in [0, 1]; 1 means "no idea"; its meaning depends on the aggregator.
    template_uncertainty: ``[M, B]`` in [0, 1], each template's own uncertainty (for DSTC the opinion's
    u^m = C / S^m, the mass the fusion reads; for the averages the normalised entropy).
    """

    probs: Tensor
    template_probs: Tensor
    uncertainty: Tensor
    template_uncertainty: Tensor


class Aggregator(nn.Module, ABC):
    """Fuses M opinions about C classes. Subclasses implement ``forward`` and ``loss``.

    :meth:`bind` is called by the classifier with the backbone the aggregator serves, whether the aggregator
    was built by name or passed as an object, so a setting that depends on the backbone lives here, in the
    aggregator, and not in whoever builds it.
    """

    # Names of the regularisers :meth:`regularizers` returns; a method weighs them by name (Σ_k w_k R_k).
    provides: tuple[str, ...] = ()

    def regularizers(self, logits: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """Extra loss terms on the template logits ``[M, B, C]``, one per name in :attr:`provides`; none
        by default (DSTC's own terms live in its :meth:`loss`)."""
        return {}

    def bind(self, backbone: Any) -> None:
        """Adapt backbone-dependent defaults to ``backbone`` (its ``logit_scale`` τ); none by default."""

    @abstractmethod
    def forward(self, logits: Tensor) -> Aggregation:
        """``logits [M, B, C]`` → :class:`Aggregation`."""

    @abstractmethod
    def loss(self, logits: Tensor, labels: Tensor, epoch: int = 0, max_epochs: int | None = None) -> Tensor:
        """Scalar training loss for ``logits [M, B, C]`` and ``labels [B]``.

        ``epoch`` is the 0-based training epoch and ``max_epochs`` the run's length (None outside a run);
        losses with an epoch schedule (DSTC with TMC's annealed KL) read them, the others ignore them.
        """


def check_logits(logits: Tensor) -> Tensor:
    """Validate per-template logits ``[M, B, C]`` and return them in the compute dtype.

    The compute dtype is at least float32: bf16/fp16 inputs are upcast (the Dirichlet strengths and digammas
    need the range), float64 stays float64 so that ``gradcheck`` can run end to end.
    """
    if not isinstance(logits, Tensor):
        raise TypeError(f"logits must be a torch.Tensor of shape [M, B, C], got {type(logits).__name__}")
    if logits.dim() != 3:
        raise ValueError(
            f"logits must have shape [M, B, C] (templates, batch, classes), got {tuple(logits.shape)}"
        )
    num_templates, batch_size, num_classes = logits.shape
    if num_templates == 0:
        raise ValueError(
            f"logits have M = 0 templates (shape {tuple(logits.shape)}); need at least one opinion"
        )
    if batch_size == 0:
        raise ValueError(f"logits have an empty batch (shape {tuple(logits.shape)})")
    if num_classes < 2:
        raise ValueError(
            f"logits have C = {num_classes} classes (shape {tuple(logits.shape)}); need at least 2"
        )
    if not logits.is_floating_point():
        raise ValueError(f"logits must be floating point, got dtype {logits.dtype}")
    if not bool(torch.isfinite(logits).all()):
        raise ValueError("logits contain NaN or infinite values")
    return logits.to(torch.promote_types(logits.dtype, torch.float32))


def check_labels(labels: Tensor, batch_size: int, num_classes: int) -> Tensor:
    """Validate class indices ``labels [B]`` against the batch size and the number of classes C."""
    if not isinstance(labels, Tensor):
        raise TypeError(f"labels must be a torch.Tensor of shape [B], got {type(labels).__name__}")
    if labels.dim() != 1 or labels.shape[0] != batch_size:
        raise ValueError(
            f"labels must have shape [B] = [{batch_size}] to match logits, got {tuple(labels.shape)}"
        )
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= num_classes:
        bad = low if low < 0 else high
        raise ValueError(
            f"label {bad} is out of range for C = {num_classes} classes (valid: 0..{num_classes - 1})"
        )
    return labels.long()
