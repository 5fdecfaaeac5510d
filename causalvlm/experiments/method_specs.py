"""Method specs: one results-table row = a registered method's preset with the user's options applied.

Each method is a :class:`~causalvlm.methods.Method` registered in its own file of :mod:`causalvlm.methods`;
its preset is a name plus one dict (read like timm's model variants), and the options given to
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
    method_spec("maple", recipe=True)            MaPLe with its published recipe (batch 4, lr 0.0035)
    method_spec("cdc", weights={"L_de": 0.5})    any loss term's weight by its name (β, γ: CDC's names)

:func:`for_backbone` settles what depends on the backbone (vision prompts need a ViT image tower). What a
spec builds (the classifier, its view transforms) is in :mod:`causalvlm.experiments.method_parts`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import Any

from causalvlm.aggregators import AGGREGATORS
from causalvlm.config_model import check_arguments
from causalvlm.mediators import AUGMENTATIONS, MEDIATORS
from causalvlm.methods import Method, find_method, get_method, method_names
from causalvlm.training.settings import TrainConfig

# What the test images look like to the templates:
#   "shared"       one clean view (the backbone's eval preprocess) scored against every template;
#   "per-template" view m, drawn with the method's training augmentation (fixed seed), for template m.
TEST_VIEW_POLICIES = ("shared", "per-template")
# Default "shared": every method is then tested on the same deterministic image as zero-shot CLIP and CoOp,
# so a gain of CDC is not a test-time-augmentation ensemble, and the frozen image features of a test split
# are computed once and shared by all methods and seeds. "per-template" tests the way CDC trains.
DEFAULT_TEST_VIEWS = "shared"

# Every registered method (causalvlm.methods, plug-ins included), in table order, and its preset.
METHODS = method_names()
PRESETS: dict[str, dict[str, Any]] = {name: dict(get_method(name).preset) for name in METHODS}


@dataclass(frozen=True)
class MethodSpec:
    """Everything that distinguishes one method/ablation row of a results table."""

    method: str  # a registered method (causalvlm.methods)
    mediator: str  # registry name in MEDIATORS
    templates: int  # M
    aggregator: str  # registry name in AGGREGATORS
    # Loss term → weight w_k; the classifier adds Σ_k w_k R_k to L_t-ce (zero weights are dropped).
    weights: dict[str, float] = field(default_factory=dict)
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
        weights = {str(k): float(v) for k, v in dict(self.weights).items() if float(v) != 0.0}
        object.__setattr__(self, "weights", weights)
        if not self.label:
            object.__setattr__(self, "label", _label(self))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def identity(self) -> dict[str, Any]:
        """The spec as a run's identity records it (``run_config["method"]``; see run_identity.py).

        The form is frozen at its 2026-12 shape (tests/methods/fingerprints_before_plugins.json), so runs
        fingerprinted then still resume: those fields are always written, the weights of L_de and L_con under
        their names of then (beta, gamma); any other weight, and any field added since, only when it differs
        from its default. So adding a field or a method never changes the fingerprint of an existing run.
        """
        record: dict[str, Any] = {}
        for spec_field in fields(self):
            value = getattr(self, spec_field.name)
            if spec_field.name == "weights":
                weights = dict(value)
                for key, term in _FROZEN_WEIGHT_KEYS.items():
                    record[key] = float(weights.pop(term, 0.0))
                if weights:
                    record["weights"] = weights
            elif spec_field.name in _FROZEN_FIELDS or value != _default_of(spec_field):
                record[spec_field.name] = copy.deepcopy(value)
        return record

    @classmethod
    def from_identity(cls, record: Mapping[str, Any]) -> MethodSpec:
        """The spec a run recorded (:meth:`identity`, or ``to_dict``); keys this version lacks are refused."""
        entry = copy.deepcopy(dict(record))
        weights = dict(entry.pop("weights", {}) or {})
        for key, term in _FROZEN_WEIGHT_KEYS.items():
            if key in entry:
                weights[term] = entry.pop(key)
        unknown = sorted(set(entry) - {spec_field.name for spec_field in fields(cls)})
        if unknown:
            raise ValueError(f"the run's method record has settings this causalvlm does not know: {unknown}")
        return cls(**entry, weights=weights)


# The identity's fields as of 2026-12 (always recorded), and the loss weights recorded under their names then.
_FROZEN_FIELDS = (
    "method", "mediator", "templates", "aggregator", "augmentation", "shared_view", "test_views", "trains",
    "mediator_options", "aggregator_options", "train", "label",
)  # fmt: skip
_FROZEN_WEIGHT_KEYS = {"beta": "L_de", "gamma": "L_con"}


def _default_of(spec_field: Any) -> Any:
    if spec_field.default is not MISSING:
        return spec_field.default
    if spec_field.default_factory is not MISSING:
        return spec_field.default_factory()
    return MISSING


def _label(spec: MethodSpec) -> str:
    """The method's name, plus every setting that differs from its preset: ``cdc[M=2,agg=mean]``.

    Methods with a fixed M keep their bare name: their settings are told apart by the run's configuration,
    not by the row. A method run without its vision prompts (no ViT tower) is ``<name>[text-only]``.
    """
    method = find_method(spec.method)
    if method is None:
        return spec.method
    # Prompts without their image side (no ViT tower): not the method as published, and the row says so.
    text_only = (
        ["text-only"]
        if method.vision_option and spec.mediator_options.get(method.vision_option) is False
        else []
    )
    if not method.variable_templates:
        return f"{spec.method}[text-only]" if text_only else spec.method
    defaults = MethodSpec(spec.method, label=spec.method, **method.preset)
    flags = [f"M={spec.templates}"] if spec.templates != defaults.templates else []
    if spec.aggregator != defaults.aggregator:
        flags.append(f"agg={spec.aggregator}")
    no_vsd = bool(defaults.weights) and spec.shared_view and not spec.weights
    if no_vsd:
        flags.append("no-vsd")
    else:
        names = {term: alias for alias, term in method.weight_names.items()}
        for term in [*names, *sorted((set(spec.weights) | set(defaults.weights)) - set(names))]:
            if spec.weights.get(term, 0.0) != defaults.weights.get(term, 0.0):
                flags.append(f"{names.get(term, term)}={spec.weights.get(term, 0.0):g}")
    if spec.augmentation != ("none" if no_vsd else defaults.augmentation):
        flags.append(f"aug={spec.augmentation}")
    if spec.test_views != defaults.test_views:
        flags.append(f"test={spec.test_views}")
    flags += text_only
    return f"{spec.method}[{','.join(flags)}]" if flags else spec.method


def loss_terms_of(mediator: str, aggregator: str) -> tuple[str, ...]:
    """The regularisers a mediator and an aggregator declare (their ``provides``), read from the classes."""
    parts = (MEDIATORS.get(mediator), AGGREGATORS.get(aggregator))
    return tuple(term for part in parts for term in getattr(part, "provides", ()))


def _variable_template_methods() -> str:
    return ", ".join(name for name in METHODS if get_method(name).variable_templates)


def _resolve_weights(
    method: Method, mediator: str, aggregator: str, given: Mapping[str, Any]
) -> dict[str, float]:
    """Weights given by term name (``L_kg``) or the method's name for it (``beta``) → {term: weight}."""
    terms = loss_terms_of(mediator, aggregator)
    resolved: dict[str, float] = {}
    for key, value in given.items():
        term = method.weight_names.get(key, key)
        if term not in terms:
            if not value:
                continue  # a zero weight of a term the method lacks changes nothing (e.g. beta: 0 for coop)
            names = [*terms, *method.weight_names]
            raise ValueError(
                f"{key} is not a loss weight of method {method.name!r}; its weights: "
                f"{', '.join(names) or 'none (it adds no loss term)'}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value) >= 0.0:
            raise ValueError(f"the weight of {term} ({key}) must be a number >= 0, got {value!r}")
        resolved[term] = float(value)
    return resolved


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
    weights: dict[str, float] | None = None,
    recipe: bool = False,
) -> MethodSpec:
    """The preset for ``method`` with the ablation flags applied; bad combinations raise ValueError.

    ``aggregator_options`` are keyword arguments of the aggregator (e.g. ``{"evidence_scale": 2.0}`` for
    ``ds``), merged over the preset's; they are checked by building the aggregator once, so a bad option
    fails here. ``mediator_options`` are keyword arguments of the mediator (e.g. MaPLe's ``depth``, CoCoOp's
    ``n_ctx``), merged over the preset's and checked against the mediator's signature. ``weights`` sets loss
    term weights by term (``{"L_kg": 8}``) or by the method's names for them; ``beta`` and ``gamma`` are CDC's
    names for the weights of L_de and L_con. ``train`` overrides the run's training settings for this method
    alone (keys of :data:`METHOD_TRAIN_KEYS`); ``recipe`` starts them from the method's published recipe.
    ``text_only`` (methods with vision prompts): True runs the text side alone; None leaves it to
    :func:`for_backbone`.
    """
    if find_method(method) is None:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(method_names())}")
    entry = get_method(method)
    if aggregator is not None and aggregator not in AGGREGATORS:
        raise ValueError(f"unknown aggregator {aggregator!r}; valid names: {', '.join(AGGREGATORS.names())}")
    if aug is not None and aug not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {aug!r}; valid names: {', '.join(AUGMENTATIONS.names())}")
    if templates is not None and (int(templates) != templates or templates < 1):
        raise ValueError(f"templates (M) must be an integer >= 1, got {templates!r}")
    fields_ = copy.deepcopy(dict(entry.preset))  # a spec never shares (mutable) options with the preset
    given = {**(weights or {}), **{k: v for k, v in (("beta", beta), ("gamma", gamma)) if v is not None}}
    if not entry.variable_templates:
        if templates not in (None, 1):
            raise ValueError(
                f"method {method!r} has a single template; --templates {templates} needs a method whose M is "
                f"an option ({_variable_template_methods()})"
            )
        if no_vsd:
            raise ValueError(f"--no-vsd applies to {_variable_template_methods()}, not {method!r}")
    if not entry.trains and aug not in (None, "none"):
        raise ValueError(f"{method} does not train, so --aug does not apply to it")
    if no_vsd and any(given.values()):
        raise ValueError("--no-vsd sets beta = gamma = 0; do not pass non-zero beta/gamma with it")

    fields_["aggregator"] = aggregator or fields_["aggregator"]
    if test_views is not None:
        fields_["test_views"] = test_views
    resolved = _resolve_weights(entry, fields_["mediator"], fields_["aggregator"], given)
    fields_["weights"] = {**fields_.get("weights", {}), **resolved}
    if entry.variable_templates:
        fields_["templates"] = fields_["templates"] if templates is None else int(templates)
        fields_["mediator_options"] = {
            **fields_.get("mediator_options", {}),
            "num_templates": fields_["templates"],
        }
        if no_vsd:
            # One view shared by all templates: by default the clean view, so its features can be cached.
            fields_.update(weights={}, augmentation=aug or "none", shared_view=True)
        else:
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
            **fields_.get("mediator_options", {}),
            **_checked_mediator_options(fields_["mediator"], mediator_options),
        }
    if text_only is not None:
        if entry.vision_option is None:
            with_vision = ", ".join(n for n in METHODS if get_method(n).vision_option)
            raise ValueError(
                f"text_only applies to methods with vision prompts ({with_vision}), not {method!r}"
            )
        fields_.setdefault("mediator_options", {})[entry.vision_option] = not text_only
    if recipe or train:
        fields_["train"] = check_method_train(_merged_train(entry.recipe if recipe else {}, train or {}))
    return MethodSpec(method, **fields_)


def _merged_train(recipe: Mapping[str, Any], train: Mapping[str, Any]) -> dict[str, Any]:
    """The method's recipe with the user's ``train`` over it (``optim`` merged key by key)."""
    merged = {**copy.deepcopy(dict(recipe)), **copy.deepcopy(dict(train))}
    if "optim" in recipe and isinstance(train.get("optim"), Mapping):
        merged["optim"] = {**recipe["optim"], **train["optim"]}
    return merged


# The training settings a method may set for itself (its published recipe); the rest are the run's.
METHOD_TRAIN_KEYS = ("max_epochs", "batch_size", "optim")


def _checked_mediator_options(mediator: str, options: dict[str, Any]) -> dict[str, Any]:
    """Mediator keyword arguments checked against the mediator's signature (no model is built)."""
    reserved = {"backbone", "classnames", "template", "num_templates"}
    bad = sorted(reserved & set(options))
    if bad:
        raise ValueError(f"mediator_options may not set {bad}: the method and its templates set them")
    return check_arguments(MEDIATORS.get(mediator), dict(options), "mediator_options", exclude=reserved)


def check_method_train(train: dict[str, Any]) -> dict[str, Any]:
    """A method's training overrides: known keys, values a TrainConfig accepts (checked by building one)."""
    unknown = sorted(set(train) - set(METHOD_TRAIN_KEYS))
    if unknown:
        raise ValueError(f"train: unknown key(s) {unknown}; a method may set {', '.join(METHOD_TRAIN_KEYS)}")
    train = copy.deepcopy(dict(train))
    optim = train.get("optim", {})
    if not isinstance(optim, dict):
        raise ValueError(f"train.optim must be a mapping of optimiser settings, got {optim!r}")
    TrainConfig(**train)
    return train


def train_config_for(spec: MethodSpec, train: TrainConfig) -> TrainConfig:
    """The run's TrainConfig with the method's own recipe (``spec.train``) applied."""
    if not spec.train:
        return train
    overrides = {k: v for k, v in spec.train.items() if k != "optim"}
    optim = {**train.optim.settings(), **spec.train.get("optim", {})}
    return TrainConfig(**{**train.settings(), **overrides, "optim": optim})


def for_backbone(spec: MethodSpec, vision_transformer: bool | None) -> MethodSpec:
    """Settle what the backbone decides: vision prompts without a ViT image tower leave the text side only.

    ``vision_transformer`` None (unknown) leaves the spec as it is. A method with vision prompts (its
    ``vision_option``) left unset becomes ``<name>[text-only]`` on a ResNet tower (its vision prompts cannot
    exist there); ``text_only=False`` on such a tower is refused.
    """
    method = find_method(spec.method)
    option = method.vision_option if method is not None else None
    if option is None or vision_transformer is None:
        return spec
    vision_prompts = spec.mediator_options.get(option)
    if vision_prompts is None:
        options = {**spec.mediator_options, option: vision_transformer}
        return replace(spec, mediator_options=options, label="" if not vision_transformer else spec.label)
    if vision_prompts and not vision_transformer:
        raise ValueError(
            f"{spec.method}: its vision prompts need a ViT image tower and this backbone's is not one; "
            f"use a ViT backbone, or drop text_only: false (the row is then {spec.method}[text-only])"
        )
    return spec


def needs_backbone_check(spec: MethodSpec) -> bool:
    """True when :func:`for_backbone` may change the spec (the method has vision prompts)."""
    method = find_method(spec.method)
    return method is not None and method.vision_option is not None


def with_templates(spec: MethodSpec, templates: int) -> MethodSpec:
    """The same method with M templates (used by the compute report's sweep over M)."""
    method = find_method(spec.method)
    if method is None or not method.variable_templates:
        raise ValueError(
            f"only {_variable_template_methods()} have a variable number of templates, not {spec.method!r}"
        )
    options = {**spec.mediator_options, "num_templates": templates}
    return replace(spec, templates=templates, mediator_options=options, label="")


def sweeps_templates(spec: MethodSpec) -> bool:
    """True when the compute report times this method at every M of ``compute_templates``."""
    method = find_method(spec.method)
    return method is not None and method.sweeps_templates
