"""Trusted cross-entropy and the evidence-regularising KL term for Dirichlet opinions.

With α the Dirichlet parameters of one opinion and y the true class, the expected cross-entropy under
p ~ Dir(α) is  E[−log p_y] = ψ(S) − ψ(α_y),  S = Σ_c α_c  (ψ is the digamma function). It rewards evidence for
the true class. Summed over the M template opinions it is the paper's classification loss L_t-ce, and the
whole of the ``ds`` aggregator's default loss.

The KL term is TMC's addition (an option of ``ds``, off by default): it pushes the evidence that does not
belong to y back to the uniform prior Dir(1), so that a wrong opinion becomes uncertain instead of
confidently wrong, with a weight that ramps up over the first epochs (:func:`annealing_coefficient`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def _expand_labels(labels: Tensor, alpha: Tensor) -> Tensor:
    return labels.long().expand(alpha.shape[:-1]).unsqueeze(-1)


def trusted_cross_entropy(alpha: Tensor, labels: Tensor) -> Tensor:
    """L_t-ce for one opinion per sample: ψ(S) − ψ(α_y), S = Σ_c α_c.

    Summed over templates m this is the paper's L_t-ce = Σ_m (ψ(S^m) − ψ(α^m_y)).
    Shapes: ``alpha [..., B, C]``, ``labels [B]``; returns ``[..., B]`` (not reduced).
    """
    S = alpha.sum(-1)
    alpha_y = alpha.gather(-1, _expand_labels(labels, alpha)).squeeze(-1)
    return torch.digamma(S) - torch.digamma(alpha_y)


def remove_true_class_evidence(alpha: Tensor, labels: Tensor) -> Tensor:
    """α̃ = y + (1 − y) ⊙ α with y the one-hot label: the true class is reset to the prior α_y = 1."""
    y = F.one_hot(labels.long(), alpha.shape[-1]).to(alpha.dtype)
    return y + (1.0 - y) * alpha


# g(x) below switches from its defining formula to its asymptotic series at x = 100: there the series'
# truncation error (≈ x⁻⁶ / 100) and the formula's rounding (≈ 1e-16 · x log x / |g|) are both below 3e-14.
_SERIES_FROM = 100.0
_HALF_LOG_2PI_E = 0.5 * (1.0 + math.log(2.0 * math.pi))


def _log_gamma_residual(x: Tensor) -> Tensor:
    """g(x) = (x − 1) ψ(x) − log Γ(x) − x, for x ≥ 1, without cancellation.

    The three terms grow like x log x while g(x) = −½ log x − ½(1 + log 2π) + 1/(3x) + 1/(12x²) + 1/(90x³)
    − 1/(120x⁴) − 1/(210x⁵) + O(x⁻⁶) only grows like log x, so the formula loses log10(x log x) digits;
    from x = 100 on the series is used instead (Stirling's series for log Γ and ψ, subtracted term by term).
    Both branches see finite inputs, so neither poisons the other's gradient.
    """
    small = x < _SERIES_FROM
    x_small = torch.where(small, x, torch.ones_like(x))
    x_large = torch.where(small, torch.full_like(x, _SERIES_FROM), x)
    formula = (x_small - 1.0) * torch.digamma(x_small) - torch.lgamma(x_small) - x_small
    r = 1.0 / x_large
    series = (
        -0.5 * torch.log(x_large)
        - _HALF_LOG_2PI_E
        + r * (1.0 / 3.0 + r * (1.0 / 12.0 + r * (1.0 / 90.0 + r * (-1.0 / 120.0 - r / 210.0))))
    )
    return torch.where(small, formula, series)


def kl_to_uniform_dirichlet(alpha: Tensor) -> Tensor:
    """KL(Dir(α) ‖ Dir(1)) over the last dimension:

        KL = log Γ(S) − log Γ(C) − Σ_c log Γ(α_c) + Σ_c (α_c − 1)(ψ(α_c) − ψ(S)),   S = Σ_c α_c.

    Zero exactly when α = 1 (no evidence). Shape ``[..., C]`` → ``[...]``.

    Computed as  KL = (C − 1) ψ(S) − log Γ(C) + Σ_c g(α_c) − g(S),  g(x) = (x − 1) ψ(x) − log Γ(x) − x
    (substitute log Γ(x) = (x − 1) ψ(x) − x − g(x) and use Σ_c α_c = S). The formula above cancels terms
    of size S log S down to a KL of size log S; a fused opinion has S = C / U up to ~1e17, where that
    cancellation loses every digit even in float64 (and its gradient, of size 1/S, as well). Every term of
    the rearranged form is of size log S, and :func:`_log_gamma_residual` evaluates g without cancellation.
    """
    C = alpha.shape[-1]
    S = alpha.sum(-1)
    return (
        (C - 1) * torch.digamma(S)
        - math.lgamma(C)
        + _log_gamma_residual(alpha).sum(-1)
        - _log_gamma_residual(S)
    )


def annealing_coefficient(epoch: int, annealing_epochs: int) -> float:
    """λ_t = min(1, t / T) with t = epoch + 1: the KL term is switched on gradually over the first T epochs.

    ``epoch`` is 0-based, as the trainer counts (Lightning's ``current_epoch``); TMC counts training epochs
    from 1 (its loop runs ``for epoch in range(1, epochs + 1)``), so t = epoch + 1 and the weight reaches 1 in
    the T-th epoch, i.e. at ``epoch = T − 1`` — the last epoch of a T-epoch run.
    """
    if int(annealing_epochs) != annealing_epochs or annealing_epochs < 1:
        raise ValueError(f"annealing_epochs must be an integer ≥ 1, got {annealing_epochs!r}")
    if int(epoch) != epoch or epoch < 0:
        raise ValueError(f"epoch must be an integer ≥ 0 (0-based), got {epoch!r}")
    return min(1.0, (epoch + 1) / annealing_epochs)


def evidential_loss(alpha: Tensor, labels: Tensor, kl_coefficient: float) -> Tensor:
    """ψ(S) − ψ(α_y) + λ KL(Dir(α̃) ‖ Dir(1)) per opinion; ``[..., B, C]`` → ``[..., B]``."""
    loss = trusted_cross_entropy(alpha, labels)
    if kl_coefficient > 0:
        loss = loss + kl_coefficient * kl_to_uniform_dirichlet(remove_true_class_evidence(alpha, labels))
    return loss
