"""DSTC: Dempster–Shafer theory-based classification, the CDC aggregator registered as ``"ds"``.

Each template's logits become an evidential opinion, the M opinions are fused with Dempster's rule in template
order, and the fused beliefs give P(Y | do(x)). Templates whose opinion is uncertain (little evidence) move
the fused belief little; confident, agreeing templates sharpen it.

The default loss is the paper's, L_t-ce = Σ_m [ψ(S^m) − ψ(α^m_y)] over the M template opinions.
:data:`TMC_LOSS_OPTIONS` switches on what TMC (Han et al., ICLR 2021) adds to it: the same term for the fused
opinion and an annealed KL(Dir(α̃) ‖ Dir(1)) on every opinion.

Numerics: the opinions, the fold and the loss are computed in float64 and the results cast back to the
logits' compute dtype (≥ float32). The tensors are [M, B, C], tiny next to the backbone, and fused
opinions of confident templates reach U ≈ 1e-17 and S = C / U ≈ 1e17 at real CLIP confidences, where
float32's digammas and log-gammas lose the answer (docs/aggregators.md, "Numerics", has the measurements).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import torch
from torch import Tensor

from causalvlm.aggregators.base import AGGREGATORS, Aggregation, Aggregator, check_labels, check_logits
from causalvlm.aggregators.dempster_shafer import ds_fold, probabilities_from_belief
from causalvlm.aggregators.opinions import (
    EVIDENCE_FUNCTIONS,
    dirichlet_from_evidence,
    dirichlet_from_opinion,
    evidence_function,
    opinion_from_evidence,
)
from causalvlm.aggregators.trusted_loss import annealing_coefficient, evidential_loss

# TMC's loss as options of "ds": the trusted loss also on the fused opinion, and KL(Dir(α̃) ‖ Dir(1)) at full
# weight 1 once annealed (TMC's λ_t = min(1, t / T)). The horizon T is the aggregator's default, the run's
# length; TMC itself used T = 50 epochs of a 500-epoch run. Copy before changing: dict(TMC_LOSS_OPTIONS).
TMC_LOSS_OPTIONS: dict[str, Any] = {"fuse_loss": True, "kl_weight": 1.0}

# h should see COSINE_GAIN · cos whatever the backbone's temperature τ, so evidence_scale = τ / COSINE_GAIN:
# 10 for real CLIP (τ = 100), ≈ 2 for the world's tiny CLIP (τ ≈ 20). With a fixed 10, a backbone with a
# small τ gives nearly flat evidence (docs/results.md, "The evidence scale").
COSINE_GAIN = 10.0
CLIP_LOGIT_SCALE = 100.0  # τ of released CLIP models: the scale used before the aggregator is bound


@dataclass(frozen=True)
class DSTCConfig:
    # Evidence function h, one of EVIDENCE_FUNCTIONS: "exp" (clamped at ±10 before exp), "softplus", "relu".
    evidence: str = "exp"
    # Logits (logit_scale · cos, ≈ ±100 for real CLIP) are divided by this before h. None → τ / COSINE_GAIN
    # of the backbone the aggregator is bound to (10 for real CLIP, which keeps every logit inside exp's
    # unclamped range, so no template's gradient is cut off by the clamp). A number is kept as given.
    evidence_scale: float | None = None
    # TMC's addition: the trusted loss also on the fused opinion (α = B S + 1, S = C / U). Off: the paper's
    # L_t-ce sums over the M template opinions only.
    fuse_loss: bool = False
    # Weight of TMC's KL(Dir(α̃) ‖ Dir(1)) term; 0, the paper's loss, turns it off.
    kl_weight: float = 0.0
    # Horizon T of the KL ramp λ_t = kl_weight · min(1, t / T), epochs counted from t = 1 as TMC does.
    # None: T = the run's length (the max_epochs the trainer passes to loss), so the full weight is reached in
    # the last epoch of any run; TMC's fixed T = 50 would leave CoOp's 10-epoch protocol at 0.2.
    annealing_epochs: int | None = None

    def __post_init__(self) -> None:
        if self.evidence not in EVIDENCE_FUNCTIONS:
            valid = ", ".join(EVIDENCE_FUNCTIONS.names())
            raise ValueError(
                f"option 'evidence': unknown evidence function {self.evidence!r}; valid names: {valid}"
            )
        if self.evidence_scale is not None and not self.evidence_scale > 0:
            raise ValueError(f"option 'evidence_scale' must be > 0, got {self.evidence_scale}")
        if not isinstance(self.fuse_loss, bool):
            raise ValueError(f"option 'fuse_loss' must be true or false, got {self.fuse_loss!r}")
        if not self.kl_weight >= 0:
            raise ValueError(f"option 'kl_weight' must be ≥ 0, got {self.kl_weight}")
        horizon = self.annealing_epochs
        if horizon is not None and (isinstance(horizon, bool) or int(horizon) != horizon or horizon < 1):
            raise ValueError(
                "option 'annealing_epochs' must be an integer ≥ 1, or None for the run's length, "
                f"got {horizon!r}"
            )


@AGGREGATORS.register("ds")
class DSTCAggregator(Aggregator):
    """Evidential Dempster–Shafer fusion of M template opinions.

    forward:  e^m = h(logits^m / evidence_scale),  (b^m, u^m) from α^m = e^m + 1,
              (B^M, U^M) = fold of ⊕ over m,  probs = B^M / Σ B^M,  uncertainty = U^M.
              ``template_probs[m] = b^m / Σ b^m`` (the same prediction rule applied to one opinion).
    loss:     the paper's L_t-ce = Σ_m [ψ(S^m) − ψ(α^m_y)], averaged over the batch. With TMC's options each
              opinion's term gains λ_t KL(Dir(α̃^m) ‖ Dir(1)), λ_t = kl_weight · min(1, t / T), and
              ``fuse_loss`` adds the same term for the fused opinion.

    Options are plain keywords (from YAML) or a :class:`DSTCConfig`; :data:`TMC_LOSS_OPTIONS` is TMC's loss.
    """

    def __init__(self, config: DSTCConfig | None = None, **options: Any) -> None:
        super().__init__()
        valid = [f.name for f in fields(DSTCConfig)]
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ValueError(
                f"unknown option(s) {unknown} for aggregator 'ds'; valid options: {', '.join(valid)}"
            )
        if config is not None and options:
            raise ValueError("pass either a DSTCConfig or keyword options to the 'ds' aggregator, not both")
        config = config if config is not None else DSTCConfig(**options)
        # Whether evidence_scale follows the backbone (see bind) or was set by the user.
        self.scale_follows_backbone = config.evidence_scale is None
        if self.scale_follows_backbone:
            config = replace(config, evidence_scale=CLIP_LOGIT_SCALE / COSINE_GAIN)
        self.config = config
        self.h = evidence_function(self.config.evidence)

    def bind(self, backbone: Any) -> None:
        """evidence_scale = τ / COSINE_GAIN for the backbone's τ, unless the user set evidence_scale."""
        if self.scale_follows_backbone:
            scale = float(backbone.logit_scale) / COSINE_GAIN
            self.config = replace(self.config, evidence_scale=scale)

    def _evidence64(self, logits: Tensor) -> Tensor:
        # float64 from the first step: see the module docstring for why float32 is not enough downstream.
        scale = self.config.evidence_scale
        if scale is None:
            raise ValueError("DSTC's evidence_scale is unset: bind(backbone) first or give evidence_scale")
        return self.h(logits.to(torch.float64) / scale)

    def evidence(self, logits: Tensor) -> Tensor:
        """e = h(logits / evidence_scale), in the compute dtype (≥ float32)."""
        logits = check_logits(logits)
        return self._evidence64(logits).to(logits.dtype)

    def forward(self, logits: Tensor) -> Aggregation:
        logits = check_logits(logits)
        b, u = opinion_from_evidence(self._evidence64(logits))
        B, U = ds_fold(b, u)
        dtype = logits.dtype
        return Aggregation(
            probs=probabilities_from_belief(B).to(dtype),
            template_probs=probabilities_from_belief(b).to(dtype),
            uncertainty=U.to(dtype),
            template_uncertainty=u.to(dtype),
        )

    def kl_coefficient(self, epoch: int, max_epochs: int | None = None) -> float:
        """λ_t = kl_weight · min(1, (epoch + 1) / T) for the 0-based ``epoch``.

        T is ``annealing_epochs`` when set, else the run's length ``max_epochs``. With neither (a loss
        computed outside a training run) the ramp is taken as finished, λ = kl_weight, which is how TMC's
        own evaluation scores its loss.
        """
        if max_epochs is not None and (
            isinstance(max_epochs, bool) or int(max_epochs) != max_epochs or max_epochs < 1
        ):
            raise ValueError(f"max_epochs must be an integer ≥ 1 (the run's length), got {max_epochs!r}")
        if self.config.kl_weight == 0:
            return 0.0
        horizon = self.config.annealing_epochs if self.config.annealing_epochs is not None else max_epochs
        if horizon is None:
            return self.config.kl_weight
        return self.config.kl_weight * annealing_coefficient(epoch, horizon)

    def loss(self, logits: Tensor, labels: Tensor, epoch: int = 0, max_epochs: int | None = None) -> Tensor:
        """Σ_m [ψ(S^m) − ψ(α^m_y)] (+ TMC's terms when enabled), mean over the batch; float64 inside."""
        logits = check_logits(logits)
        labels = check_labels(labels, batch_size=logits.shape[1], num_classes=logits.shape[2])
        kl_coefficient = self.kl_coefficient(epoch, max_epochs)
        e = self._evidence64(logits)
        loss = evidential_loss(dirichlet_from_evidence(e), labels, kl_coefficient).sum(0)
        if self.config.fuse_loss:
            B, U = ds_fold(*opinion_from_evidence(e))
            loss = loss + evidential_loss(dirichlet_from_opinion(B, U), labels, kl_coefficient)
        return loss.mean().to(logits.dtype)
