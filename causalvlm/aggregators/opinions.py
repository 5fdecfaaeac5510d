"""Subjective-logic opinions from evidence: the Dirichlet view of one template's logits.

A template's logits give non-negative evidence ``e = h(logits / evidence_scale)`` for each class. Evidence is
read as the parameters of a Dirichlet distribution over class probabilities, ``α = e + 1``, and as an
opinion: a belief mass ``b_c`` per class plus an uncertainty mass ``u`` not committed to any class, with
Σ_c b_c + u = 1.

How the CLIP logit scale enters h: logits arrive as ``logit_scale * cos`` (logit_scale ≈ 100 for real CLIP),
and are divided by ``evidence_scale`` (default 10, set in :class:`causalvlm.aggregators.dstc.DSTCConfig`)
before h. With ``exp`` clamped at ``EXP_CLAMP = 10``, every logit a real CLIP can produce (|logit| ≤ 100)
stays inside the unclamped, differentiable range of h, while absurd logits (±1e4) saturate instead of
overflowing.

Where the numbers get small, and why no floor touches a real run. The ``ds`` aggregator computes all of this
in float64 (:class:`causalvlm.aggregators.dstc.DSTCAggregator`). One template's uncertainty is u = C / S with
S ≤ C (1 + e^10) under the clamped ``exp``, so u ≥ 1 / (1 + e^10) ≈ 4.5e-5 whatever C is. Dempster's rule
gives U = u¹u² / (1 − K) with 1 − K ≤ 1, so the fused U^M ≥ Π_m u^m ≥ 10^(−4.34 M). The fold itself never
divides by u (1 − K is a sum of the un-normalised masses, ≥ u¹u² > 0), so it needs no floor; in float64 U^M
cannot even underflow before M ≈ 70 (smallest normal 2.2e-308). Only turning the fused opinion back into a
Dirichlet divides by U: S = C / U, with gradient −C / U². :func:`uncertainty_floor` keeps U² above
tiny^0.8, where ``tiny`` is the dtype's smallest normal number, so C / U² stays finite; in float64 that
floor is 8.7e-124, which exp evidence cannot reach with fewer than M = 29 templates, so it changes no loss
and no gradient of any run with M ≤ 28 (softplus/relu evidence of real CLIP logits, |logit| ≤ τ, stay
farther still). The earlier fixed floor of 1e-8 sat inside the real range (zero-shot CLIP confidences,
cosines 0.15..0.35 at τ = 100, give U ≈ 1e-11..1e-9 for C = 5, M = 16 and 1e-17..1e-13 for C = 2, M = 16,
and training sharpens them further) and changed both the loss and the gradient through U there. Float32
callers of these functions get the float32 floor, 6.7e-16, which real fused opinions do reach: compute in
float64, as ``ds`` does.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from causalvlm.registry import Registry

# exp(10) ≈ 2.2e4 per class, so S ≤ C · 2.2e4 ≈ 2.2e7 for C = 1000, and one template's u = C / S is never
# below 1 / (1 + e^10) ≈ 4.5e-5: the bound that keeps fused opinions far from any floor (module docstring).
EXP_CLAMP = 10.0

# Exponent of the uncertainty floor: u ≥ tiny^0.4, so 1 / u² ≤ tiny^−0.8 leaves a factor tiny^−0.2 (1e61 in
# float64, 1e7 in float32) of room below overflow for C and for the upstream gradient in C / u².
UNCERTAINTY_FLOOR_EXPONENT = 0.4

EVIDENCE_FUNCTIONS: Registry[Tensor] = Registry("evidence function")  # its entries are the functions e = h(x)


@EVIDENCE_FUNCTIONS.register("exp")
def exp_evidence(x: Tensor) -> Tensor:
    """h(x) = exp(clamp(x, −10, 10)); the clamp keeps the evidence finite for any finite input."""
    return torch.exp(x.clamp(-EXP_CLAMP, EXP_CLAMP))


@EVIDENCE_FUNCTIONS.register("softplus")
def softplus_evidence(x: Tensor) -> Tensor:
    """h(x) = log(1 + exp(x)); linear for large x, so it cannot overflow."""
    return F.softplus(x)


@EVIDENCE_FUNCTIONS.register("relu")
def relu_evidence(x: Tensor) -> Tensor:
    """h(x) = max(x, 0); zero evidence (and zero gradient) for negative logits."""
    return F.relu(x)


def evidence_function(name: str) -> Callable[[Tensor], Tensor]:
    """The evidence function h registered under ``name``; unknown names raise a ValueError."""
    if name not in EVIDENCE_FUNCTIONS:
        valid = ", ".join(EVIDENCE_FUNCTIONS.names())
        raise ValueError(f"unknown evidence function {name!r}; valid names: {valid}")
    return EVIDENCE_FUNCTIONS.get(name)


def dirichlet_from_evidence(e: Tensor) -> Tensor:
    """α = e + 1: the Dirichlet parameters of evidence ``e [..., C]`` (α = 1 is the uniform prior)."""
    return e + 1.0


def opinion_from_evidence(e: Tensor) -> tuple[Tensor, Tensor]:
    """Subjective-logic opinion of evidence ``e [..., C]``.

    α_c = e_c + 1,   S = Σ_c α_c,   b_c = e_c / S,   u = C / S,   so Σ_c b_c + u = 1.

    Returns ``(b [..., C], u [...])``.
    """
    if bool((e < 0).any()):
        raise ValueError("evidence must be non-negative (e = h(logits) with h in exp, softplus, relu)")
    C = e.shape[-1]
    alpha = dirichlet_from_evidence(e)
    S = alpha.sum(dim=-1, keepdim=True)
    b = e / S
    u = (C / S).squeeze(-1)
    return b, u


def uncertainty_floor(dtype: torch.dtype) -> float:
    """Smallest u that :func:`dirichlet_from_opinion` divides by: tiny^0.4 of ``dtype``.

    8.7e-124 in float64, 6.7e-16 in float32. It exists only so that S = C / u and dS/du = −C / u² stay finite
    for absurd inputs; see the module docstring for why no real run reaches it in float64.
    """
    return torch.finfo(dtype).tiny ** UNCERTAINTY_FLOOR_EXPONENT


def dirichlet_from_opinion(b: Tensor, u: Tensor) -> Tensor:
    """Invert :func:`opinion_from_evidence`: S = C / u, α = b S + 1 (used for the fused opinion's loss).

    ``u`` is floored at :func:`uncertainty_floor` of its dtype so that S and its gradient stay finite.
    """
    C = b.shape[-1]
    S = C / u.clamp_min(uncertainty_floor(u.dtype)).unsqueeze(-1)
    return b * S + 1.0
