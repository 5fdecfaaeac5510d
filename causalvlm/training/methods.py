"""The paper's methods and ablations as presets: which mediator, how many templates, which aggregator.

One flag each, so a table row is one call:

    method_spec("zeroshot")                      zero-shot CLIP: hand-crafted template, no training
    method_spec("coop")                          CoOp: one soft template, cross-entropy
    method_spec("cdc")                           CDC: M soft templates (VSD) + DSTC fusion, L_de and L_con
    method_spec("cdc", aggregator="mean")        CDC without DSTC
    method_spec("cdc", no_vsd=True)              CDC without VSD: one view for all templates, β = γ = 0
    method_spec("cdc", templates=8)              any M

:func:`build_classifier` turns a spec into a :class:`FrontDoorClassifier`, :func:`build_view_transform` into
the training-time view transform (PIL image → ``[V,3,H,W]``, V = M or 1).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from causalvlm.aggregators import AGGREGATORS
from causalvlm.backbones import FrozenCLIP
from causalvlm.classifier import FrontDoorClassifier
from causalvlm.mediators import AUGMENTATIONS, MEDIATORS
from causalvlm.scm import SCM

METHODS = ("zeroshot", "coop", "cdc")
CDC_TEMPLATES = 4  # M for CDC when not given (our choice: small enough for the CPU demo)
CDC_BETA = 1.0  # β, the weight of L_de
CDC_GAMMA = 1.0  # γ, the weight of L_con
COOP_CTX_INIT = "a photo of a"  # CoOp's base-to-new setting: 4 context tokens initialised from these words


@dataclass(frozen=True)
class MethodSpec:
    """Everything that distinguishes one method/ablation row of a results table."""

    method: str  # "zeroshot" | "coop" | "cdc"
    mediator: str  # registry name in MEDIATORS
    templates: int  # M
    aggregator: str  # registry name in AGGREGATORS
    beta: float = 0.0  # weight of L_de
    gamma: float = 0.0  # weight of L_con
    augmentation: str = "none"  # registry name in AUGMENTATIONS, applied at training time
    shared_view: bool = True  # one view for all templates (True) or view m for template m
    trains: bool = True  # False: evaluate the initial prompts only (zero-shot)
    mediator_options: dict[str, Any] = field(default_factory=dict)
    aggregator_options: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # the row name in tables; derived from the flags when empty

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", _label(self))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _label(spec: MethodSpec) -> str:
    if spec.method != "cdc":
        return spec.method
    flags = [f"M={spec.templates}"] if spec.templates != CDC_TEMPLATES else []
    if spec.aggregator != "ds":
        flags.append(f"agg={spec.aggregator}")
    if spec.shared_view and spec.beta == 0 and spec.gamma == 0:
        flags.append("no-vsd")
    default_aug = "none" if spec.shared_view and spec.beta == 0 and spec.gamma == 0 else "aug1"
    if spec.augmentation != default_aug:
        flags.append(f"aug={spec.augmentation}")
    return f"cdc[{','.join(flags)}]" if flags else "cdc"


def method_spec(
    method: str,
    templates: int | None = None,
    aggregator: str | None = None,
    no_vsd: bool = False,
    aug: str | None = None,
    beta: float | None = None,
    gamma: float | None = None,
    aggregator_options: dict[str, Any] | None = None,
    mediator_options: dict[str, Any] | None = None,
) -> MethodSpec:
    """The preset for ``method`` with the ablation flags applied; bad combinations raise ValueError.

    ``aggregator_options`` are keyword arguments of the aggregator (e.g. ``{"evidence_scale": 2.0}`` for
    ``ds``); they are checked by building the aggregator once, so a bad option fails here.
    ``mediator_options`` are keyword arguments of the mediator over the preset's (e.g. the template starts
    ``{"ctx_init": [...]}``); their names are checked against the mediator's constructor here.
    """
    spec = _preset(method, templates, aggregator, no_vsd, aug, beta, gamma)
    if mediator_options:
        parameters = inspect.signature(MEDIATORS.get(spec.mediator)).parameters
        valid = sorted(set(parameters) - {"self", "backbone", "classnames", "template", "num_templates"})
        unknown = sorted(set(mediator_options) - set(valid))
        if unknown:
            raise ValueError(
                f"unknown mediator_options {unknown} for mediator {spec.mediator!r}; valid: {valid}"
            )
        spec = replace(spec, mediator_options={**spec.mediator_options, **mediator_options})
    if not aggregator_options:
        return spec
    AGGREGATORS.build(spec.aggregator, **aggregator_options)  # unknown or bad options raise now
    return replace(spec, aggregator_options=dict(aggregator_options))


def _preset(
    method: str,
    templates: int | None,
    aggregator: str | None,
    no_vsd: bool,
    aug: str | None,
    beta: float | None,
    gamma: float | None,
) -> MethodSpec:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}")
    if aggregator is not None and aggregator not in AGGREGATORS:
        raise ValueError(f"unknown aggregator {aggregator!r}; valid names: {', '.join(AGGREGATORS.names())}")
    if aug is not None and aug not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {aug!r}; valid names: {', '.join(AUGMENTATIONS.names())}")
    if templates is not None and (int(templates) != templates or templates < 1):
        raise ValueError(f"templates (M) must be an integer >= 1, got {templates!r}")

    if method in ("zeroshot", "coop"):
        if templates not in (None, 1):
            raise ValueError(
                f"method {method!r} has a single template; --templates {templates} needs --method cdc"
            )
        if no_vsd or beta or gamma:
            raise ValueError(f"--no-vsd / beta / gamma apply to --method cdc, not {method!r}")
        if method == "zeroshot":
            if aug not in (None, "none"):
                raise ValueError("zero-shot CLIP does not train, so --aug does not apply to it")
            return MethodSpec("zeroshot", "handcrafted", 1, aggregator or "logit-avg", trains=False)
        # CoOp trains with random crops; aug2 with one view is a random resized crop of the image.
        return MethodSpec(
            "coop",
            "coop",
            1,
            aggregator or "logit-avg",
            augmentation=aug or "aug2",
            mediator_options={"ctx_init": COOP_CTX_INIT},
        )

    num_templates = CDC_TEMPLATES if templates is None else int(templates)
    if no_vsd:
        if beta or gamma:
            raise ValueError("--no-vsd sets beta = gamma = 0; do not pass non-zero beta/gamma with it")
        return MethodSpec(
            "cdc",
            "vsd",
            num_templates,
            aggregator or "ds",
            # one view shared by all templates: by default the clean view, so its features can be cached
            augmentation=aug or "none",
            shared_view=True,
            mediator_options={"num_templates": num_templates},
        )
    return MethodSpec(
        "cdc",
        "vsd",
        num_templates,
        aggregator or "ds",
        beta=CDC_BETA if beta is None else float(beta),
        gamma=CDC_GAMMA if gamma is None else float(gamma),
        augmentation=aug or "aug1",
        # identical views ("none") or a single template gain nothing from encoding M copies
        shared_view=num_templates == 1 or aug == "none",
        mediator_options={"num_templates": num_templates},
    )


def with_templates(spec: MethodSpec, templates: int) -> MethodSpec:
    """The same method with M templates (used by the compute report's sweep over M)."""
    if spec.method != "cdc":
        raise ValueError(f"only cdc has a variable number of templates, not {spec.method!r}")
    options = {**spec.mediator_options, "num_templates": templates}
    return replace(spec, templates=templates, mediator_options=options, label="")


def build_classifier(
    spec: MethodSpec,
    backbone: FrozenCLIP,
    classnames: Sequence[str],
    template: str,
    scm: SCM | str | None = None,
) -> FrontDoorClassifier:
    """Compose the classifier a spec describes; prompts are initialised from ``template``.

    The aggregator is built by name, so DSTC's ``evidence_scale`` follows the backbone's temperature
    (τ / 10, see :class:`FrontDoorClassifier`) unless the spec's ``aggregator_options`` set it.
    """
    return FrontDoorClassifier(
        backbone,
        spec.mediator,
        spec.aggregator,
        scm=scm,
        beta=spec.beta,
        gamma=spec.gamma,
        classnames=classnames,
        template=template,
        mediator_options=spec.mediator_options,
        aggregator_options=spec.aggregator_options,
    )


def build_view_transform(spec: MethodSpec, backbone: FrozenCLIP) -> Callable:
    """Training transform PIL → ``[V,3,H,W]``: V = 1 (shared view) or V = M (view m for template m)."""
    return AUGMENTATIONS.build(
        spec.augmentation,
        num_views=1 if spec.shared_view else spec.templates,
        image_size=backbone.image_size,
        mean=backbone.image_mean,
        std=backbone.image_std,
    )


def uses_cached_features(spec: MethodSpec) -> bool:
    """True when training images need no augmentation, so frozen image features can be computed once."""
    return spec.augmentation == "none"
