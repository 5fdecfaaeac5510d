"""The paper's methods and ablations as presets: which mediator, how many templates, which aggregator.

A method is a name plus one dict (:data:`PRESETS`, read like timm's model variants); ablation flags given to
:func:`method_spec` override the preset's entries. One call per results-table row:

    method_spec("zeroshot")                      zero-shot CLIP: hand-crafted template, no training
    method_spec("coop")                          CoOp: one soft template, cross-entropy
    method_spec("cdc")                           CDC: M soft templates (VSD) + DSTC fusion, L_de and L_con
    method_spec("cdc-tmc")                       CDC trained with TMC's additions to the evidential loss
    method_spec("cdc", aggregator="mean")        CDC without DSTC
    method_spec("cdc", no_vsd=True)              CDC without VSD: one view for all templates, β = γ = 0
    method_spec("cdc", templates=8)              any M
    method_spec("cdc", test_views="per-template")  test with view m for template m (default: one clean view)
    method_spec("cocoop")                        CoCoOp: one soft template conditioned on the image (meta-net)
    method_spec("maple")                         MaPLe: deep text prompts coupled to deep vision prompts (ViT)
    method_spec("maple", text_only=True)         MaPLe's text side only, row "maple[text-only]" (ResNet)
    method_spec("maple", mediator_options={"depth": 9}, train={"batch_size": 4})  per-method recipe

:func:`build_classifier` turns a spec into a :class:`FrontDoorClassifier`, :func:`build_view_transform` into
the training-time view transform (PIL image → ``[V,3,H,W]``, V = M or 1), :func:`build_test_transform` into
the test-time one. :func:`for_backbone` settles what depends on the backbone (MaPLe's vision prompts need a
ViT image tower).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from causalvlm.aggregators import AGGREGATORS, TMC_LOSS_OPTIONS
from causalvlm.backbones import FrozenCLIP
from causalvlm.classifier import FrontDoorClassifier
from causalvlm.mediators import AUGMENTATIONS, MEDIATORS
from causalvlm.mediators.vsd import DEFAULT_NUM_TEMPLATES
from causalvlm.scm import SCM

# CoOp's base-to-new setting: 4 context tokens initialised from these words.
COOP_CTX_INIT = "a photo of a"

# What the test images look like to the templates:
#   "shared"       one clean view (the backbone's eval preprocess) scored against every template;
#   "per-template" view m, drawn with the method's training augmentation (fixed seed), for template m.
TEST_VIEW_POLICIES = ("shared", "per-template")
# Default "shared": every method is then tested on the same deterministic image as zero-shot CLIP and CoOp,
# so a gain of CDC is not a test-time-augmentation ensemble, and the frozen image features of a test split
# are computed once and shared by all methods and seeds. "per-template" tests the way CDC trains.
DEFAULT_TEST_VIEWS = "shared"

# CoOp's recipe, which CoCoOp and MaPLe share: one template, cross-entropy, random resized crops (aug2).
_COOP: dict[str, Any] = dict(
    mediator="coop",
    templates=1,
    aggregator="logit-avg",
    augmentation="aug2",
    mediator_options={"ctx_init": COOP_CTX_INIT},
)
# The paper's CDC: M VSD templates, DSTC, β = γ = 1, view m (aug1) for template m.
_CDC: dict[str, Any] = dict(
    mediator="vsd",
    templates=DEFAULT_NUM_TEMPLATES,
    aggregator="ds",
    beta=1.0,
    gamma=1.0,
    augmentation="aug1",
    shared_view=False,
)

# Method name → the fields of its MethodSpec. Options given to method_spec win over these.
PRESETS: dict[str, dict[str, Any]] = {
    # Zero-shot CLIP: the dataset's hand-crafted t0, nothing to learn (one template: fusion is the identity).
    "zeroshot": dict(
        mediator="handcrafted", templates=1, aggregator="logit-avg", augmentation="none", trains=False
    ),
    # CoOp: one soft template trained with cross-entropy on random resized crops (aug2 with one view), as in
    # CoOp's recipe.
    "coop": _COOP,
    # CoCoOp: CoOp's context (4 tokens from "a photo of a") plus a meta-network's per-image bias on every
    # context token; cross-entropy, CoOp's augmentation. All B×C prompts of a batch share one text pass.
    "cocoop": dict(_COOP, mediator="cocoop"),
    # MaPLe: the first 2 tokens of "a photo of a" learnable, deep prompts in text layers 1..J-1 (J = 9, or
    # every layer of a smaller tower) coupled into the image tower; cross-entropy, CoOp's augmentation. Its
    # image features move with the coupling layers, so it trains and is tested on images, never on cached
    # features.
    "maple": dict(_COOP, mediator="maple", mediator_options={"ctx_init": COOP_CTX_INIT, "n_ctx": 2}),
    # CDC (the paper): M soft templates (VSD) fused by DSTC, L = L_t-ce + β L_de + γ L_con with β = γ = 1,
    # view m of each training image (aug1) for template m, so templates can specialise.
    "cdc": _CDC,
    # CDC with TMC's additions to the evidential loss (TMC_LOSS_OPTIONS): the fused opinion's term and the
    # annealed KL(Dir(α̃) ‖ Dir(1)), as in TMC's code; an ablation of the paper's objective, one flag away.
    "cdc-tmc": dict(_CDC, aggregator_options=dict(TMC_LOSS_OPTIONS)),
}
METHODS = tuple(PRESETS)


@dataclass(frozen=True)
class MethodSpec:
    """Everything that distinguishes one method/ablation row of a results table."""

    method: str  # a name in PRESETS
    mediator: str  # registry name in MEDIATORS
    templates: int  # M
    aggregator: str  # registry name in AGGREGATORS
    beta: float = 0.0  # weight of L_de
    gamma: float = 0.0  # weight of L_con
    augmentation: str = "none"  # registry name in AUGMENTATIONS, applied at training time
    shared_view: bool = True  # training: one view for all templates (True) or view m for template m
    test_views: str = DEFAULT_TEST_VIEWS  # test time: one of TEST_VIEW_POLICIES (see DEFAULT_TEST_VIEWS)
    trains: bool = True  # False: evaluate the initial prompts only (zero-shot)
    mediator_options: dict[str, Any] = field(default_factory=dict)
    aggregator_options: dict[str, Any] = field(default_factory=dict)
    # This method's own training recipe over the run's ``train`` settings: max_epochs, batch_size, optim
    # (e.g. CoCoOp's batch 1, MaPLe's lr 0.0035 for 5 epochs); empty → the run's settings.
    train: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # the row name in tables; derived from the flags when empty

    def __post_init__(self) -> None:
        if self.test_views not in TEST_VIEW_POLICIES:
            raise ValueError(
                f"test_views must be one of {', '.join(TEST_VIEW_POLICIES)}, got {self.test_views!r}"
            )
        if not self.label:
            object.__setattr__(self, "label", _label(self))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _takes_num_templates(mediator: str) -> bool:
    """Mediators whose M is an option (the soft multi-template ones); the others fix M themselves."""
    return mediator == "vsd"


def _label(spec: MethodSpec) -> str:
    """The method's name, plus every setting that differs from its preset: ``cdc[M=2,agg=mean]``.

    Single-template methods (zero-shot, CoOp) keep their bare name: their settings are told apart by the
    run's configuration, not by the row.
    """
    preset = PRESETS.get(spec.method)
    if spec.mediator_options.get("vision_prompts") is False:
        return (
            f"{spec.method}[text-only]"  # deep prompts without their image side: not the method as published
        )
    if preset is None or not _takes_num_templates(preset["mediator"]):
        return spec.method
    defaults = MethodSpec(spec.method, label=spec.method, **preset)
    flags = [f"M={spec.templates}"] if spec.templates != defaults.templates else []
    if spec.aggregator != defaults.aggregator:
        flags.append(f"agg={spec.aggregator}")
    no_vsd = defaults.beta + defaults.gamma > 0 and spec.shared_view and spec.beta == spec.gamma == 0
    if no_vsd:
        flags.append("no-vsd")
    else:
        for name in ("beta", "gamma"):
            if getattr(spec, name) != getattr(defaults, name):
                flags.append(f"{name}={getattr(spec, name):g}")
    if spec.augmentation != ("none" if no_vsd else defaults.augmentation):
        flags.append(f"aug={spec.augmentation}")
    if spec.test_views != defaults.test_views:
        flags.append(f"test={spec.test_views}")
    return f"{spec.method}[{','.join(flags)}]" if flags else spec.method


def method_spec(
    method: str,
    templates: int | None = None,
    aggregator: str | None = None,
    no_vsd: bool = False,
    aug: str | None = None,
    beta: float | None = None,
    gamma: float | None = None,
    aggregator_options: dict[str, Any] | None = None,
    test_views: str | None = None,
    mediator_options: dict[str, Any] | None = None,
    train: dict[str, Any] | None = None,
    text_only: bool | None = None,
) -> MethodSpec:
    """The preset for ``method`` with the ablation flags applied; bad combinations raise ValueError.

    ``aggregator_options`` are keyword arguments of the aggregator (e.g. ``{"evidence_scale": 2.0}`` for
    ``ds``), merged over the preset's; they are checked by building the aggregator once, so a bad option
    fails here. ``mediator_options`` are keyword arguments of the mediator (e.g. MaPLe's ``depth``, CoCoOp's
    ``n_ctx``), merged over the preset's and checked against the mediator's signature. ``train`` overrides the
    run's training settings for this method alone (keys of :data:`METHOD_TRAIN_KEYS`). ``text_only`` (MaPLe):
    True runs the text-side deep prompts without vision prompts; None leaves it to :func:`for_backbone`.
    """
    if method not in PRESETS:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}")
    if aggregator is not None and aggregator not in AGGREGATORS:
        raise ValueError(f"unknown aggregator {aggregator!r}; valid names: {', '.join(AGGREGATORS.names())}")
    if aug is not None and aug not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {aug!r}; valid names: {', '.join(AUGMENTATIONS.names())}")
    if templates is not None and (int(templates) != templates or templates < 1):
        raise ValueError(f"templates (M) must be an integer >= 1, got {templates!r}")
    fields_ = copy.deepcopy(PRESETS[method])  # a spec never shares (mutable) options with the table
    if not _takes_num_templates(fields_["mediator"]):
        if templates not in (None, 1):
            raise ValueError(
                f"method {method!r} has a single template; --templates {templates} needs --method cdc"
            )
        if no_vsd or beta or gamma:
            raise ValueError(f"--no-vsd / beta / gamma apply to --method cdc, not {method!r}")
    if not fields_.get("trains", True) and aug not in (None, "none"):
        raise ValueError("zero-shot CLIP does not train, so --aug does not apply to it")
    if no_vsd and (beta or gamma):
        raise ValueError("--no-vsd sets beta = gamma = 0; do not pass non-zero beta/gamma with it")

    fields_["aggregator"] = aggregator or fields_["aggregator"]
    if test_views is not None:
        fields_["test_views"] = test_views
    if _takes_num_templates(fields_["mediator"]):
        fields_["templates"] = fields_["templates"] if templates is None else int(templates)
        fields_["mediator_options"] = {"num_templates": fields_["templates"]}
        if no_vsd:
            # One view shared by all templates: by default the clean view, so its features can be cached.
            fields_.update(beta=0.0, gamma=0.0, augmentation=aug or "none", shared_view=True)
        else:
            fields_["beta"] = fields_["beta"] if beta is None else float(beta)
            fields_["gamma"] = fields_["gamma"] if gamma is None else float(gamma)
            fields_["augmentation"] = aug or fields_["augmentation"]
            # Identical views ("none") or a single template gain nothing from encoding M copies.
            fields_["shared_view"] = fields_["templates"] == 1 or aug == "none"
    else:
        fields_["augmentation"] = aug or fields_["augmentation"]
    options = {**fields_.get("aggregator_options", {}), **(aggregator_options or {})}
    if aggregator_options:
        AGGREGATORS.build(fields_["aggregator"], **options)  # unknown or bad options raise now
    fields_["aggregator_options"] = options
    if mediator_options:
        fields_["mediator_options"] = {
            **fields_["mediator_options"],
            **_checked_mediator_options(fields_["mediator"], mediator_options),
        }
    if text_only is not None:
        if fields_["mediator"] != "maple":
            raise ValueError(f"text_only applies to --method maple, not {method!r}")
        fields_["mediator_options"]["vision_prompts"] = not text_only
    if train:
        fields_["train"] = check_method_train(train)
    return MethodSpec(method, **fields_)


# The training settings a method may set for itself (its published recipe); the rest are the run's.
METHOD_TRAIN_KEYS = ("max_epochs", "batch_size", "optim")


def _checked_mediator_options(mediator: str, options: dict[str, Any]) -> dict[str, Any]:
    """Mediator keyword arguments checked against the mediator's signature (no model is built)."""
    from causalvlm.validation import check_arguments

    reserved = {"backbone", "classnames", "template", "num_templates"}
    bad = sorted(reserved & set(options))
    if bad:
        raise ValueError(f"mediator_options may not set {bad}: the method and its templates set them")
    return check_arguments(MEDIATORS.get(mediator), dict(options), "mediator_options", exclude=reserved)


def check_method_train(train: dict[str, Any]) -> dict[str, Any]:
    """A method's training overrides: known keys, values a TrainConfig accepts (checked by building one)."""
    from causalvlm.training.config import OptimConfig, TrainConfig

    unknown = sorted(set(train) - set(METHOD_TRAIN_KEYS))
    if unknown:
        raise ValueError(f"train: unknown key(s) {unknown}; a method may set {', '.join(METHOD_TRAIN_KEYS)}")
    train = copy.deepcopy(dict(train))
    optim = train.get("optim", {})
    if not isinstance(optim, dict):
        raise ValueError(f"train.optim must be a mapping of optimiser settings, got {optim!r}")
    TrainConfig(**{**{k: v for k, v in train.items() if k != "optim"}, "optim": OptimConfig(**optim)})
    return train


def train_config_for(spec: MethodSpec, train: Any) -> Any:
    """The run's TrainConfig with the method's own recipe (``spec.train``) applied."""
    if not spec.train:
        return train
    overrides = {k: v for k, v in spec.train.items() if k != "optim"}
    optim = replace(train.optim, **spec.train.get("optim", {}))
    return replace(train, **overrides, optim=optim)


def for_backbone(spec: MethodSpec, vision_transformer: bool | None) -> MethodSpec:
    """Settle what the backbone decides: MaPLe without a ViT image tower runs its text side only.

    ``vision_transformer`` None (unknown) leaves the spec as it is. MaPLe with ``text_only`` unset becomes
    ``maple[text-only]`` on a ResNet tower (its vision prompts cannot exist there); ``text_only=False`` on
    such a tower is refused.
    """
    if spec.mediator != "maple" or vision_transformer is None:
        return spec
    vision_prompts = spec.mediator_options.get("vision_prompts")
    if vision_prompts is None:
        options = {**spec.mediator_options, "vision_prompts": vision_transformer}
        return replace(spec, mediator_options=options, label="" if not vision_transformer else spec.label)
    if vision_prompts and not vision_transformer:
        raise ValueError(
            f"{spec.method}: MaPLe's vision prompts need a ViT image tower and this backbone's is not one; "
            "use a ViT backbone, or drop text_only: false (the row is then maple[text-only])"
        )
    return spec


def with_templates(spec: MethodSpec, templates: int) -> MethodSpec:
    """The same method with M templates (used by the compute report's sweep over M)."""
    if not _takes_num_templates(spec.mediator):
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

    The classifier binds the aggregator to the backbone, so DSTC's ``evidence_scale`` follows the backbone's
    temperature (τ / 10) unless the spec's ``aggregator_options`` set it.
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


def build_test_transform(spec: MethodSpec, backbone: FrozenCLIP) -> Callable:
    """Test transform PIL → ``[3,H,W]`` (one clean view) or ``[M,3,H,W]`` (view m for template m).

    "per-template" draws the views with the method's training augmentation (M views even when training shares
    one view); a method trained without augmentation gets M copies of the clean view.
    """
    if spec.test_views == "shared":
        if backbone.preprocess is None:
            raise ValueError("the backbone has no eval preprocess for the shared test view")
        return backbone.preprocess
    return AUGMENTATIONS.build(
        spec.augmentation,
        num_views=spec.templates,
        image_size=backbone.image_size,
        mean=backbone.image_mean,
        std=backbone.image_std,
    )


def uses_cached_features(spec: MethodSpec) -> bool:
    """True when training images need no augmentation, so frozen image features can be computed once."""
    return spec.augmentation == "none"
