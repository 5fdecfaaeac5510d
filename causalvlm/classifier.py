"""The front-door classifier X → S → Y: frozen CLIP + a prompt mediator + an evidential aggregator.

The paper's SCM for adaptation has a latent confounder Ĝ_i of the image X and the label Y, so P(Y | x) is
not P(Y | do(x)). CDC estimates the interventional distribution through a mediator S that X fully mediates
(the M prompt templates produce decoupled semantics S_1..S_M) and fuses the per-template predictions:

    P(Y | do(x)) = Σ_s P(s | x) Σ_x' P(Y | s, x') P(x')

which the classifier approximates as: encode x once per template view, score it against the M template
class embeddings (each an opinion P(Y | s_m)), and let the aggregator fuse the M opinions.

:class:`FrontDoorClassifier` composes the three parts given as objects (or registry names) and checks, at
construction, that the mediator node really is a front-door set for treatment → outcome in the SCM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from causalvlm.aggregators import AGGREGATORS, Aggregation, Aggregator
from causalvlm.backbones import FrozenCLIP
from causalvlm.inputs import check_images
from causalvlm.mediators import MEDIATORS, Mediator
from causalvlm.mediators.base import check_classnames
from causalvlm.scm import SCM, load_graph

DEFAULT_TEMPLATE = "a photo of a {}."


def resolve_scm(scm: SCM | str | None) -> SCM:
    """An SCM object, a shipped graph name or a .gml path; ``None`` means the paper's CDC front-door graph."""
    if scm is None:
        return load_graph("cdc_frontdoor")
    if isinstance(scm, str):
        return load_graph(scm)
    return scm


def check_frontdoor(scm: SCM, treatment: str, outcome: str, mediator_node: str) -> None:
    """Raise ValueError unless ``{mediator_node}`` is a front-door set for treatment → outcome in ``scm``."""
    scm.check_node(treatment, "treatment")
    scm.check_node(outcome, "outcome")
    scm.check_node(mediator_node, "mediator_node")
    if not scm.is_frontdoor_set(treatment, outcome, {mediator_node}):
        reasons = "; ".join(scm.frontdoor_violations(treatment, outcome, {mediator_node}))
        raise ValueError(
            f"{{{mediator_node!r}}} is not a valid front-door set for {treatment!r} → {outcome!r} "
            f"in this SCM ({reasons}); the classifier's mediator must satisfy the front-door criterion"
        )


class FrontDoorClassifier(nn.Module):
    """Backbone (frozen CLIP) + mediator (X → S, M templates) + aggregator (S → Y).

    Args:
        backbone: a :class:`FrozenCLIP`, or an open_clip arch name / model-config JSON path (random init).
        mediator: a :class:`Mediator`, or a name in ``MEDIATORS`` (then ``classnames`` is required).
        aggregator: an :class:`Aggregator`, or a name in ``AGGREGATORS``.
        scm: the causal graph the design is checked against (default ``cdc_frontdoor``).
        beta: weight β of the decoupling loss L_de (0 disables it).
        gamma: weight γ of the consistency loss L_con (0 disables it).
        mediator_node, treatment, outcome: node names of S, X and Y in ``scm``.
        classnames, template, mediator_options: used only when ``mediator`` is a name.
        aggregator_options: used only when ``aggregator`` is a name; for "ds", ``evidence_scale`` defaults to
            τ / 10 of the backbone's logit scale τ.
    """

    def __init__(
        self,
        backbone: FrozenCLIP | str,
        mediator: Mediator | str,
        aggregator: Aggregator | str,
        scm: SCM | str | None = None,
        beta: float = 0.0,
        gamma: float = 0.0,
        mediator_node: str = "S",
        treatment: str = "X",
        outcome: str = "Y",
        classnames: Sequence[str] | None = None,
        template: str = DEFAULT_TEMPLATE,
        mediator_options: Mapping[str, Any] | None = None,
        aggregator_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        # Cheap checks first: bad numbers and a bad graph fail before any model is built.
        for name, weight in (("beta", beta), ("gamma", gamma)):
            if not float(weight) >= 0.0:
                raise ValueError(f"{name} must be a non-negative loss weight, got {weight!r}")
        self.scm = resolve_scm(scm)
        check_frontdoor(self.scm, treatment, outcome, mediator_node)
        self.treatment, self.outcome, self.mediator_node = treatment, outcome, mediator_node
        self.beta, self.gamma = float(beta), float(gamma)

        if isinstance(backbone, str):
            backbone = FrozenCLIP.from_config(backbone)
        if isinstance(mediator, str):
            if not classnames:
                raise ValueError(f"mediator {mediator!r} given by name needs classnames=[...]")
            mediator = MEDIATORS.build(
                mediator,
                backbone=backbone,
                classnames=check_classnames(classnames),
                template=template,
                **dict(mediator_options or {}),
            )
        if isinstance(aggregator, str):
            options = dict(aggregator_options or {})
            if aggregator == "ds":
                # h should see 10 · cos whatever the backbone's temperature τ: evidence_scale = τ / 10
                # (10 for real CLIP's τ = 100, the aggregator's own default; ≈ 2 for the world's tiny CLIP).
                options.setdefault("evidence_scale", float(backbone.logit_scale) / 10.0)
            aggregator = AGGREGATORS.build(aggregator, **options)
        self.backbone = backbone
        self.mediator = mediator
        self.aggregator = aggregator
        # The backbone is the frozen pre-trained knowledge; only the mediator's prompts adapt.
        self.backbone.requires_grad_(False)
        self._check_regularizers()

    # ------------------------------------------------------------------ structure
    @property
    def num_templates(self) -> int:
        """M: the number of template opinions the aggregator fuses."""
        return self.mediator.num_templates

    @property
    def classnames(self) -> list[str]:
        return list(self.mediator.classnames)

    def set_classnames(self, classnames: Sequence[str]) -> None:
        """Point the classifier at a new label set (base → new); learned prompt context is kept."""
        self.mediator.set_classnames(check_classnames(classnames))

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def num_trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.trainable_parameters())

    def train(self, mode: bool = True) -> FrontDoorClassifier:
        super().train(mode)
        self.backbone.eval()  # frozen CLIP keeps its eval-mode behaviour while prompts train
        return self

    def _check_regularizers(self) -> None:
        """A positive β or γ needs a mediator that defines L_de / L_con; say so now, not mid-training."""
        wanted = {key for key, w in (("L_de", self.beta), ("L_con", self.gamma)) if w > 0}
        if not wanted:
            return
        with torch.no_grad():
            terms = self.mediator.regularizers(self.mediator(), self.backbone.logit_scale)
        missing = sorted(wanted - set(terms))
        if missing:
            raise ValueError(
                f"beta/gamma enable {missing} but mediator {type(self.mediator).__name__} defines only "
                f"{sorted(terms) or 'no regularizers'}; set the weight to 0 or use the 'vsd' mediator"
            )

    # ------------------------------------------------------------------ X → S → Y
    def encode_views(self, images: Tensor) -> Tensor:
        """L2-normalised features of each template's view: [B,3,H,W] → [B,1,D]; [B,V,3,H,W] → [B,V,D]."""
        check_images(images, self.backbone)  # type, dtype, shape, size and finiteness, named for the user
        if images.dim() == 4:
            images = images.unsqueeze(1)
        if images.dim() != 5:
            raise ValueError(f"images must be [B,3,H,W] or [B,V,3,H,W], got shape {tuple(images.shape)}")
        batch, views = images.shape[:2]
        if views not in (1, self.num_templates):
            raise ValueError(
                f"got {views} views per image but the mediator has M={self.num_templates} templates; "
                "give one view (shared by all templates) or exactly M"
            )
        with torch.no_grad():
            features = self.backbone.encode_image(images.flatten(0, 1), normalize=True)
        return features.view(batch, views, -1)

    def logits(self, image_features: Tensor, text_features: Tensor | None = None) -> Tensor:
        """Per-template logits  l_m(x) = τ · f(x_m) · t_mᵀ,  shape [M,B,C].

        ``image_features`` is [B,D] or [B,V,D] with V ∈ {1, M} (view m is scored only against template m);
        ``text_features`` is the mediator output [M,C,D] (computed when not given).
        """
        if text_features is None:
            text_features = self.mediator()
        if image_features.dim() == 2:
            image_features = image_features.unsqueeze(1)
        views = image_features.shape[1]
        if views not in (1, text_features.shape[0]):
            raise ValueError(f"{views} image views cannot be paired with {text_features.shape[0]} templates")
        tau = self.backbone.logit_scale.to(text_features.device)
        # einsum pairs view m with template m; a single view broadcasts to every template.
        image_features = image_features.to(text_features.dtype).expand(-1, text_features.shape[0], -1)
        return tau * torch.einsum("bmd,mcd->mbc", image_features, text_features)

    def forward_features(self, image_features: Tensor) -> Aggregation:
        """Fuse the M template opinions computed from pre-encoded (e.g. cached) image features."""
        return self.aggregator(self.logits(image_features))

    def forward(self, images: Tensor) -> Aggregation:
        """P(Y | do(x)) fused over templates, per-template probabilities and uncertainty for images."""
        return self.forward_features(self.encode_views(images))

    @torch.no_grad()
    def predict_proba(self, images: Tensor) -> Tensor:
        """Fused class probabilities [B,C]."""
        return self(images).probs

    # ------------------------------------------------------------------ objective
    def loss_terms(
        self,
        inputs: Tensor,
        labels: Tensor,
        epoch: int = 0,
        features: bool = False,
        max_epochs: int | None = None,
    ) -> dict:
        """The objective's parts:  L = L_t-ce + β L_de + γ L_con.

        L_t-ce is the aggregator's classification loss over the M template opinions, L_de (decoupling) and
        L_con (consistency) are the mediator's regularizers on its M×C text features. ``inputs`` are images,
        or image features when ``features`` is true. ``epoch`` (0-based) and ``max_epochs`` (the run's
        length) go to the aggregator's loss for epoch-scheduled terms. Returns ``{"loss", "L_t-ce", ...}``
        (weighted terms only for enabled weights).
        """
        text_features = self.mediator()
        image_features = inputs if features else self.encode_views(inputs)
        logits = self.logits(image_features, text_features)
        terms = {"L_t-ce": self.aggregator.loss(logits, labels, epoch=epoch, max_epochs=max_epochs)}
        loss = terms["L_t-ce"]
        if self.beta > 0 or self.gamma > 0:
            regularizers = self.mediator.regularizers(text_features, self.backbone.logit_scale)
            for key, weight in (("L_de", self.beta), ("L_con", self.gamma)):
                if weight > 0:
                    terms[key] = regularizers[key]
                    loss = loss + weight * regularizers[key]
        terms["loss"] = loss
        return terms

    def loss(self, batch: tuple[Tensor, Tensor], epoch: int = 0, max_epochs: int | None = None) -> Tensor:
        """Scalar training loss for ``batch = (images, labels)``; see :meth:`loss_terms`."""
        images, labels = batch
        return self.loss_terms(images, labels, epoch=epoch, max_epochs=max_epochs)["loss"]
