"""The front-door classifier X → S → Y: frozen CLIP + a prompt mediator + an evidential aggregator.

The paper's SCM for adaptation has a latent confounder Ĝ_i of the image X and the label Y, so P(Y | x) is
not P(Y | do(x)). CDC estimates the interventional distribution through a mediator S that X fully mediates
(the M prompt templates produce decoupled semantics S_1..S_M) and fuses the per-template predictions:

    P(Y | do(x)) = Σ_s P(s | x) Σ_x' P(Y | s, x') P(x')

which the classifier approximates as: encode x once per template view, score it against the M template
class embeddings (each an opinion P(Y | s_m)), and let the aggregator fuse the M opinions.

:class:`FrontDoorClassifier` composes the three parts given as objects (or registry names) and checks, at
construction, that the mediator node really is a front-door set for treatment → outcome in the SCM. It owns
the whole prediction path: training, evaluation and benchmarks call the classifier (``classifier(images)``,
``classifier.forward_features(features)``, ``classifier.loss_terms(...)``, ``with
classifier.evaluating(names):``), never its mediator, backbone or aggregator.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from causalvlm.aggregators import AGGREGATORS, Aggregation, Aggregator
from causalvlm.backbones import FrozenCLIP
from causalvlm.inputs import check_images
from causalvlm.mediators import MEDIATORS, Mediator
from causalvlm.mediators.base import TrainingPass, check_classnames
from causalvlm.mediators.vsd_losses import VSD_WEIGHT_NAMES
from causalvlm.scm import SCM, load_graph
from causalvlm.templates import DEFAULT_TEMPLATE


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
        aggregator: an :class:`Aggregator`, or a name in ``AGGREGATORS``; either way it is bound to the
            backbone (:meth:`Aggregator.bind`; DSTC's ``evidence_scale`` becomes τ / 10 unless set).
        scm: the causal graph the design is checked against (default ``cdc_frontdoor``).
        loss_weights: loss term name → weight w_k; the objective adds Σ_k w_k R_k, each R_k a regulariser the
            mediator or the aggregator declares in its ``provides`` (0 disables a term).
        beta, gamma: the paper's names for the weights of L_de and L_con (CDC's VSD terms), added to
            ``loss_weights``.
        mediator_node, treatment, outcome: node names of S, X and Y in ``scm``.
        classnames, template, mediator_options: used only when ``mediator`` is a name.
        aggregator_options: used only when ``aggregator`` is a name.
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
        loss_weights: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__()
        # Cheap checks first: bad numbers and a bad graph fail before any model is built.
        given = [
            (name, VSD_WEIGHT_NAMES[name], weight) for name, weight in (("beta", beta), ("gamma", gamma))
        ]
        given += [(term, term, weight) for term, weight in dict(loss_weights or {}).items()]
        weights: dict[str, float] = {}
        for name, term, weight in given:
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not float(weight) >= 0.0:
                raise ValueError(f"{name} must be a non-negative loss weight, got {weight!r}")
            if float(weight) > 0:
                weights[term] = float(weight)
        self.scm = resolve_scm(scm)
        check_frontdoor(self.scm, treatment, outcome, mediator_node)
        self.treatment, self.outcome, self.mediator_node = treatment, outcome, mediator_node
        self.loss_weights = weights  # R_k name → w_k > 0

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
            aggregator = AGGREGATORS.build(aggregator, **dict(aggregator_options or {}))
        aggregator.bind(backbone)  # names and objects alike: backbone-dependent defaults follow τ
        self.backbone = backbone
        self.mediator = mediator
        self.aggregator = aggregator
        # The backbone is the frozen pre-trained knowledge; only the mediator's prompts adapt.
        self.backbone.requires_grad_(False)
        # Text features shared by every image while evaluating (see `evaluating`); None otherwise.
        self._fixed_text: Tensor | None = None
        self._check_regularizers()

    # ------------------------------------------------------------------ structure
    @property
    def num_templates(self) -> int:
        """M: the number of template opinions the aggregator fuses."""
        return self.mediator.num_templates

    @property
    def classnames(self) -> list[str]:
        return list(self.mediator.classnames)

    @property
    def device(self) -> torch.device:
        """The device the (frozen) backbone, and so every input, lives on."""
        return self.backbone.device

    @property
    def logit_scale(self) -> Tensor:
        """τ, the backbone's (frozen) temperature."""
        return self.backbone.logit_scale

    @property
    def caches_image_features(self) -> bool:
        """True when image features depend on nothing learned, so they may be computed once and reused
        (``loss_terms(..., features=True)``, ``forward_features``); False for a mediator with trainable
        image-side parameters, which must see images."""
        return not self.mediator.image_side_trainable

    def set_classnames(self, classnames: Sequence[str]) -> None:
        """Point the classifier at a new label set (base → new); learned prompt context is kept.

        All or nothing: when the mediator refuses the names part-way (a multi-template mediator may have
        switched some templates already), every part is rebuilt for the previous names before the error
        propagates, so the classifier predicts exactly as before.
        """
        names = check_classnames(classnames)
        previous = self.classnames
        try:
            self.mediator.set_classnames(names)
        except BaseException:
            self.mediator.set_classnames(previous)
            raise
        self._fixed_text = None

    @contextmanager
    def using_classnames(self, classnames: Sequence[str] | None) -> Iterator[FrontDoorClassifier]:
        """Predict over ``classnames`` inside the block (None: keep the current ones); restored afterwards."""
        if classnames is None:
            yield self
            return
        previous = self.classnames
        self.set_classnames(classnames)
        try:
            yield self
        finally:
            self.set_classnames(previous)

    @contextmanager
    def evaluating(self, classnames: Sequence[str] | None = None) -> Iterator[FrontDoorClassifier]:
        """Evaluation mode over ``classnames``; names, train/eval mode and the text cache are restored after.

        Inside the block the prompts do not change, so text features that every image shares are computed once
        (on entry, without autograd) and reused by every :meth:`forward` / :meth:`forward_features` call; a
        conditional mediator's text features depend on each image and are still computed per batch.
        """
        was_training = self.training
        self.eval()
        with self.using_classnames(classnames):
            try:
                if not self.mediator.conditional:
                    with torch.no_grad():
                        self._fixed_text = self.mediator()
                yield self
            finally:
                self._fixed_text = None
                self.train(was_training)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def num_trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.trainable_parameters())

    def train(self, mode: bool = True) -> FrontDoorClassifier:
        super().train(mode)
        self.backbone.eval()  # frozen CLIP keeps its eval-mode behaviour while prompts train
        return self

    @property
    def provided_terms(self) -> tuple[str, ...]:
        """Every regulariser the mediator and the aggregator declare (their ``provides``)."""
        return (*self.mediator.provides, *self.aggregator.provides)

    def _check_regularizers(self) -> None:
        """A positive weight needs a part that provides its term; say so now, not mid-training."""
        missing = sorted(set(self.loss_weights) - set(self.provided_terms))
        if missing:
            provided = sorted(self.provided_terms)
            raise ValueError(
                f"loss weights enable {missing} but mediator {type(self.mediator).__name__} and aggregator "
                f"{type(self.aggregator).__name__} provide {provided or 'no regularizers'}; set the weight "
                "to 0 or use a mediator that provides the term"
            )

    # ------------------------------------------------------------------ X → S → Y
    def encode_views(self, images: Tensor) -> Tensor:
        """Image features of each template's view, from the mediator: [B,3,H,W] → [B,1,D]; [B,V,3,H,W] →
        [B,V',D].

        V must be 1 (one view shared by all templates) or M. V' = V for mediators that use plain CLIP image
        features; a mediator with per-template vision prompts returns V' = M.
        """
        check_images(images, self.backbone)  # type, dtype, shape, size and finiteness, named for the user
        if images.dim() == 4:
            images = images.unsqueeze(1)
        if images.dim() != 5:
            raise ValueError(f"images must be [B,3,H,W] or [B,V,3,H,W], got shape {tuple(images.shape)}")
        views = images.shape[1]
        if views not in (1, self.num_templates):
            raise ValueError(
                f"got {views} views per image but the mediator has M={self.num_templates} templates; "
                "give one view (shared by all templates) or exactly M"
            )
        return self.mediator.encode_images(images)

    def text_features(self, image_features: Tensor | None = None) -> Tensor:
        """The mediator's class text features: [M,C,D], or [B,M,C,D] conditioned on ``image_features``
        [B,V,D].

        Inside :meth:`evaluating` the shared features computed on entry are returned.
        """
        if self._fixed_text is not None:
            return self._fixed_text
        if not self.mediator.conditional:
            return self.mediator()
        if image_features is None:
            raise ValueError(
                f"mediator {type(self.mediator).__name__} conditions its text features on the image; "
                "pass image_features [B,V,D]"
            )
        return self.mediator(self._checked_features(image_features))

    def logits(self, image_features: Tensor, text_features: Tensor | None = None) -> Tensor:
        """Per-template logits  l_m(x) = τ · f(x_m) · t_m(x)ᵀ,  shape [M,B,C].

        ``image_features`` is [B,D] or [B,V,D] with V ∈ {1, M} (view m is scored only against template m);
        ``text_features`` is [M,C,D], or [B,M,C,D] for a conditional mediator (computed when not given).
        """
        image_features = self._checked_features(image_features)
        if text_features is None:
            text_features = self.text_features(image_features)
        per_image = text_features.dim() == 4
        templates = text_features.shape[1] if per_image else text_features.shape[0]
        views = image_features.shape[1]
        if views not in (1, templates):
            raise ValueError(f"{views} image views cannot be paired with {templates} templates")
        if per_image and text_features.shape[0] != image_features.shape[0]:
            raise ValueError(
                f"text features for {text_features.shape[0]} images cannot score {image_features.shape[0]}"
            )
        tau = self.logit_scale.to(text_features.device)
        # einsum pairs view m with template m; a single view broadcasts to every template.
        image_features = image_features.to(text_features.dtype).expand(-1, templates, -1)
        equation = "bmd,bmcd->mbc" if per_image else "bmd,mcd->mbc"
        return tau * torch.einsum(equation, image_features, text_features)

    def _checked_features(self, image_features: Tensor) -> Tensor:
        """Image features as [B,V,D], refused (naming the width wanted) unless D is the backbone's."""
        if not isinstance(image_features, Tensor) or image_features.dim() not in (2, 3):
            shape = (
                tuple(image_features.shape) if isinstance(image_features, Tensor) else type(image_features)
            )
            raise ValueError(f"image features must be [B,D] or [B,V,D], got {shape}")
        width, shape = self.backbone.embed_dim, tuple(image_features.shape)
        if shape[-1] != width:
            raise ValueError(
                f"image features have width {shape[-1]} (shape {shape}), "
                f"but this backbone's embeddings have width {width}: features of another model?"
            )
        return _as_views(image_features)

    def forward_features(self, image_features: Tensor, text_features: Tensor | None = None) -> Aggregation:
        """Fuse the M template opinions computed from image features [B,V,D] (e.g. cached ones).

        Cached frozen-CLIP features are valid only when :attr:`caches_image_features`; otherwise pass features
        from :meth:`encode_views`.
        """
        return self.aggregator(self.logits(image_features, text_features))

    def forward(self, images: Tensor, text_features: Tensor | None = None) -> Aggregation:
        """P(Y | do(x)) fused over templates, per-template probabilities and uncertainty for images."""
        return self.aggregator(self.logits(self.encode_views(images), text_features))

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
        """The objective's parts:  L = L_t-ce + Σ_k w_k R_k  (CDC: L_t-ce + β L_de + γ L_con).

        L_t-ce is the aggregator's classification loss over the M template opinions; each R_k is a regulariser
        the mediator or the aggregator provides by name (CDC's L_de and L_con on the text features, KgCoOp's
        L_kg, ...), weighted by ``loss_weights``. ``inputs`` are images, or image features when ``features``
        is true. ``epoch`` (0-based) and ``max_epochs`` (the run's length) go to the aggregator's loss for
        epoch-scheduled terms. Returns ``{"loss", "L_t-ce", R_k, ...}`` (unweighted terms, enabled ones only).
        """
        if features and not self.caches_image_features:
            raise ValueError(
                f"mediator {type(self.mediator).__name__} learns image-side parameters; train it on images, "
                "not on precomputed features"
            )
        image_features = _as_views(inputs) if features else self.encode_views(inputs)
        # Training always recomputes the text features: their gradients reach the prompts.
        text_features = self.mediator(image_features) if self.mediator.conditional else self.mediator()
        logits = self.logits(image_features, text_features)
        terms = {"L_t-ce": self.aggregator.loss(logits, labels, epoch=epoch, max_epochs=max_epochs)}
        loss = terms["L_t-ce"]
        if self.loss_weights:
            step = TrainingPass(image_features, logits, None if features else inputs)
            regularizers = {
                **self.mediator.training_regularizers(text_features, self.logit_scale, step),
                **self.aggregator.regularizers(logits, labels),
            }
            for key, weight in self.loss_weights.items():
                terms[key] = regularizers[key]
                loss = loss + weight * regularizers[key]
        terms["loss"] = loss
        return terms

    def loss(self, batch: tuple[Tensor, Tensor], epoch: int = 0, max_epochs: int | None = None) -> Tensor:
        """Scalar training loss for ``batch = (images, labels)``; see :meth:`loss_terms`."""
        images, labels = batch
        return self.loss_terms(images, labels, epoch=epoch, max_epochs=max_epochs)["loss"]


def _as_views(image_features: Tensor) -> Tensor:
    """[B,D] → [B,1,D]; [B,V,D] as given."""
    return image_features.unsqueeze(1) if image_features.dim() == 2 else image_features
