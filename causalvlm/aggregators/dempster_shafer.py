"""Dempster–Shafer combination of subjective-logic opinions, and the fold over M templates.

An opinion over C classes is a mass function whose focal sets are the C singletons {c} (mass b_c) and the
whole frame Θ (mass u). Dempster's rule keeps that family closed: {i} ∩ {j} is empty for i ≠ j (that mass
is the conflict K and is discarded by renormalising), {c} ∩ Θ = {c}, and Θ ∩ Θ = Θ.

Because Dempster's rule is commutative and associative in exact arithmetic, the in-order fold over templates
gives the same fused opinion in any order and with any bracketing; the tests check this numerically (it holds
to ~1e-12 in float64 and ~1e-5 in float32).
"""

from __future__ import annotations

import torch
from torch import Tensor


def _check_pair(b1: Tensor, u1: Tensor, b2: Tensor, u2: Tensor) -> None:
    if b1.shape != b2.shape:
        raise ValueError(f"belief shapes differ: {tuple(b1.shape)} vs {tuple(b2.shape)}")
    if u1.shape != b1.shape[:-1] or u2.shape != b2.shape[:-1]:
        raise ValueError(
            f"uncertainty shapes {tuple(u1.shape)}, {tuple(u2.shape)} must equal the belief shape without "
            f"its class dimension, {tuple(b1.shape[:-1])}"
        )


def ds_conflict(b1: Tensor, b2: Tensor) -> Tensor:
    """Conflict between two opinions: K = Σ_{i≠j} b¹_i b²_j = (Σ_i b¹_i)(Σ_j b²_j) − Σ_c b¹_c b²_c.

    The seed paper (following TMC) calls this quantity C; here C is the number of classes, so it is K.
    """
    return b1.sum(-1) * b2.sum(-1) - (b1 * b2).sum(-1)


def ds_combine(b1: Tensor, u1: Tensor, b2: Tensor, u2: Tensor) -> tuple[Tensor, Tensor]:
    """Dempster's rule for two opinions (b¹, u¹) and (b², u²) over the same C classes.

        b_c = (b¹_c b²_c + b¹_c u² + b²_c u¹) / (1 − K),      u = u¹ u² / (1 − K),
        K = Σ_{i≠j} b¹_i b²_j.

    The seed paper prints the factor as 1/(1 − C), with C the conflict (TMC's notation); it is the same K.
    1 − K is not computed as a subtraction: since (Σ b¹ + u¹)(Σ b² + u²) = 1, expanding the product gives

        1 − K = Σ_c (b¹_c b²_c + b¹_c u² + b²_c u¹) + u¹ u²,

    i.e. the sum of the un-normalised masses. Summing non-negative terms cannot cancel to zero or go negative
    in floating point when two confident opinions disagree, and the result satisfies Σ_c b_c + u = 1 up to
    rounding. Nothing here divides by u, so u is not floored: it is exactly u¹u² / (1 − K), however small
    (see :mod:`causalvlm.aggregators.opinions` for how small it gets, and why float64 holds it).

    Shapes: ``b [..., C]``, ``u [...]``. Returns the combined ``(b, u)``.
    """
    _check_pair(b1, u1, b2, u2)
    u1_ = u1.unsqueeze(-1)
    u2_ = u2.unsqueeze(-1)
    b_mass = b1 * b2 + b1 * u2_ + b2 * u1_
    u_mass = u1 * u2
    # 1 − K ≥ u¹u² > 0; the clamp only catches the case where every mass underflowed to 0.
    one_minus_K = (b_mass.sum(-1) + u_mass).clamp_min(torch.finfo(b_mass.dtype).tiny)
    b = b_mass / one_minus_K.unsqueeze(-1)
    u = u_mass / one_minus_K
    return b, u


def ds_fold(beliefs: Tensor, uncertainties: Tensor) -> tuple[Tensor, Tensor]:
    """Fuse M opinions in order, as the seed's recursion for B^m_c and U^m:

        (B¹, U¹) = (b¹, u¹),     (B^m, U^m) = (B^{m−1}, U^{m−1}) ⊕ (b^m, u^m)  for m = 2..M,

    with ⊕ = :func:`ds_combine`. Shapes: ``beliefs [M, ..., C]``, ``uncertainties [M, ...]``; returns
    ``(B^M [..., C], U^M [...])``.
    """
    if beliefs.dim() < 2 or beliefs.shape[0] == 0:
        raise ValueError(f"need beliefs of shape [M, ..., C] with M ≥ 1, got {tuple(beliefs.shape)}")
    if uncertainties.shape != beliefs.shape[:-1]:
        raise ValueError(
            f"uncertainties shape {tuple(uncertainties.shape)} must be the beliefs shape without "
            f"its class dimension, {tuple(beliefs.shape[:-1])}"
        )
    B, U = beliefs[0], uncertainties[0]
    for m in range(1, beliefs.shape[0]):
        B, U = ds_combine(B, U, beliefs[m], uncertainties[m])
    return B, U


def probabilities_from_belief(B: Tensor) -> Tensor:
    """Prediction from a (fused) opinion: P(Y = c | do(x)) = B_c / Σ_{c'} B_{c'}.

    When an opinion commits no belief at all (all B_c = 0, u = 1, e.g. relu evidence of all-negative logits)
    the ratio is undefined; the prediction is then uniform, which is what a vacuous opinion means.
    """
    total = B.sum(-1, keepdim=True)
    uniform = torch.full_like(B, 1.0 / B.shape[-1])
    return torch.where(total > 0, B / total.clamp_min(torch.finfo(B.dtype).tiny), uniform)
