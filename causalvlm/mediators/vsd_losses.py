"""VSD regularisers on the M×C class embeddings w^m_c (CDC, Zhang et al., NeurIPS 2024).

Both losses classify one template's class embedding against the class embeddings of another template,

    P(c̄ | w^m_c, w^{m'}) = exp(τ ⟨w^m_c, w^{m'}_c̄⟩) / Σ_k exp(τ ⟨w^m_c, w^{m'}_k⟩),

with τ the temperature (the CLIP logit scale unless configured) and w L2-normalised.
"""

from __future__ import annotations

import torch

# The two regularisers VSD provides, by name; β and γ are the paper's names for their weights.
VSD_TERMS = ("L_de", "L_con")
VSD_WEIGHT_NAMES = {"beta": "L_de", "gamma": "L_con"}


def _check_features(w: torch.Tensor, name: str = "w") -> None:
    if w.dim() != 3:
        raise ValueError(f"{name} must be [M, C, D] class text features, got shape {tuple(w.shape)}")


def template_cross_log_probs(
    w: torch.Tensor, w_other: torch.Tensor, tau: torch.Tensor | float
) -> torch.Tensor:
    """log P(c̄ | w^m_c, w^{m'}) for every (m, m', c, c̄): w [M,C,D], w_other [M',C,D] → [M, M', C, C]."""
    logits = tau * torch.einsum("mcd,nkd->mnck", w, w_other)
    return torch.log_softmax(logits, dim=-1)


def decoupling_loss(w: torch.Tensor, tau: torch.Tensor | float) -> torch.Tensor:
    """L_de = 1/(M−1) · 1/C · Σ_m Σ_{m'≠m} Σ_c Σ_c̄ P(c̄ | w^m_c, w^{m'}) log P(c̄ | w^m_c, w^{m'}).

    Sign: Σ_c̄ P log P is the *negative* entropy of classifying template m's class-c embedding with template
    m''s class embeddings, so minimising L_de maximises that entropy: template m' can no longer tell which
    class w^m_c belongs to, i.e. the templates carry different (decoupled) semantics. This is the sign the
    seed's formula has as written, and the one that makes it a loss to minimise that pushes templates apart.

    Normalisation: divided by (M−1) and C and summed over m, mirroring L_con (which sums over m), so both
    losses grow alike with M and their weights β, γ need no retuning when M changes. Range: [−M·log C, 0].
    M = 1 has no pair of templates; the loss is then 0.

    Args: w — class text features w^m_c [M, C, D]; tau — temperature τ.
    """
    _check_features(w)
    M, C, _ = w.shape
    if M < 2:
        return w.sum() * 0.0
    log_P = template_cross_log_probs(w, w, tau)  # [M, M', C, C̄]
    neg_entropy = (log_P.exp() * log_P).sum(dim=-1)  # Σ_c̄ P log P → [M, M', C]
    off_diagonal = ~torch.eye(M, dtype=torch.bool, device=w.device)
    return neg_entropy[off_diagonal].sum() / ((M - 1) * C)


def consistency_loss(w: torch.Tensor, w0: torch.Tensor, tau: torch.Tensor | float) -> torch.Tensor:
    """L_con = −1/C · Σ_m Σ_c log P(c | w^m_c, w^0).

    Each template's class-c embedding must still be classified as c against the hand-crafted template's class
    embeddings w^0 (t0, e.g. "a photo of a {}."), which keeps the decoupled templates anchored to the
    pre-trained alignment.

    Args: w — class text features w^m_c [M, C, D]; w0 — hand-crafted features w^0_c [C, D];
    tau — temperature τ.
    """
    _check_features(w)
    if w0.dim() != 2 or w0.shape != w.shape[1:]:
        raise ValueError(f"w0 must be [C, D] = {tuple(w.shape[1:])}, got shape {tuple(w0.shape)}")
    C = w.shape[1]
    log_P = template_cross_log_probs(w, w0.unsqueeze(0), tau)[:, 0]  # [M, C, C̄]
    correct = torch.arange(C, device=w.device)
    return -log_P[:, correct, correct].sum() / C
