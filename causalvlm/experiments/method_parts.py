"""From a method spec to the parts a run is made of: the classifier, the training and test view transforms,
the Lightning callbacks the method asks for.

:func:`build_classifier` composes a :class:`~causalvlm.classifier.FrontDoorClassifier` from a
:class:`~causalvlm.experiments.method_specs.MethodSpec`; :func:`build_view_transform` gives the training-time
view transform (PIL image → ``[V,3,H,W]``, V = M or 1), :func:`build_test_transform` the test-time one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor

from causalvlm.backbones import FrozenCLIP
from causalvlm.classifier import FrontDoorClassifier
from causalvlm.data import Datum
from causalvlm.evaluation.features import FeatureCache
from causalvlm.experiments.method_specs import MethodSpec
from causalvlm.mediators import AUGMENTATIONS
from causalvlm.methods import find_method
from causalvlm.scm import SCM

# Seed of the "per-template" test views: fixed, so every method and seed is tested on the same views.
TEST_VIEW_SEED = 0


def callbacks_for(spec: MethodSpec) -> list:
    """The Lightning callbacks the method's training needs (e.g. averaging its prompts over epochs)."""
    method = find_method(spec.method)
    return list(method.callbacks(spec)) if method is not None and method.callbacks else []


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
        loss_weights=spec.weights,
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


def frozen_test_features(
    spec: MethodSpec, cache: FeatureCache, data: Sequence[Datum]
) -> tuple[Tensor, Tensor]:
    """Frozen features and labels of test images under the spec's view policy, from ``cache``: the one
    place a run's test (protocols) and a loaded run's (saved_run) name and seed their cached views."""
    if spec.test_views == "shared":
        return cache.get(data)
    return cache.get(
        data,
        build_test_transform(spec, cache.backbone),
        name=f"{spec.test_views}:{spec.augmentation}:M={spec.templates}",
        seed=TEST_VIEW_SEED,
    )


def uses_cached_features(spec: MethodSpec) -> bool:
    """True when training images need no augmentation, so frozen image features can be computed once."""
    return spec.augmentation == "none"


__all__ = [
    "TEST_VIEW_SEED",
    "build_classifier",
    "build_test_transform",
    "build_view_transform",
    "callbacks_for",
    "frozen_test_features",
    "uses_cached_features",
]
