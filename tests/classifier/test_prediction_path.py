"""The classifier owns every prediction: class names, text features, image encoding and fusion all go through
it, for mediators whose text depends on the image (conditional) and whose image side learns (MaPLe-like)."""

from __future__ import annotations

import pytest
import torch
from fake_mediators import ConditionalFakeMediator, VisionPromptFakeMediator

from causalvlm import FrontDoorClassifier
from causalvlm.aggregators import AGGREGATORS, DSTCAggregator, DSTCConfig, MeanProbabilityAggregator
from causalvlm.evaluation import evaluate_batches, evaluate_features

CLASSES = ["dog", "cat", "bird"]


def images(batch=3, views=None, size=32, seed=1):
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, 3, size, size) if views is None else (batch, views, 3, size, size)
    return torch.randn(shape, generator=generator)


def vsd(backbone, aggregator="ds"):
    return FrontDoorClassifier(
        backbone, "vsd", aggregator, classnames=CLASSES, mediator_options={"num_templates": 2}
    )


# ---------------------------------------------------------------- device, class names, evaluation context
def test_device_is_the_backbones(backbone):
    classifier = vsd(backbone)
    assert classifier.device == next(backbone.parameters()).device == torch.device("cpu")


def test_using_classnames_switches_and_restores_even_after_an_error(backbone):
    classifier = vsd(backbone)
    with classifier.using_classnames(["tree", "car"]):
        assert classifier.classnames == ["tree", "car"]
        assert classifier.predict_proba(images()).shape == (3, 2)
    assert classifier.classnames == CLASSES
    with pytest.raises(RuntimeError, match="boom"), classifier.using_classnames(["tree", "car"]):
        raise RuntimeError("boom")
    assert classifier.classnames == CLASSES


def test_evaluating_computes_shared_text_once_and_restores_mode_and_names(backbone, monkeypatch):
    classifier = vsd(backbone)
    classifier.train()
    calls = []
    forward = classifier.mediator.forward
    monkeypatch.setattr(classifier.mediator, "forward", lambda *a: calls.append(1) or forward(*a))
    x = images()
    with torch.no_grad():
        outside = classifier.forward_features(classifier.encode_views(x)).probs
        calls.clear()
        with classifier.evaluating(["tree", "car", "bird"]):
            assert not classifier.training
            for _ in range(3):
                inside = classifier(x).probs
            assert len(calls) == 1  # one text pass for the whole block
            assert inside.shape == (3, 3)
        with classifier.evaluating():
            torch.testing.assert_close(classifier(x).probs, outside)
    assert classifier.training and classifier.classnames == CLASSES


def test_encode_views_delegates_to_the_mediator(backbone, monkeypatch):
    classifier = vsd(backbone)
    seen = []
    encode = classifier.mediator.encode_images
    monkeypatch.setattr(classifier.mediator, "encode_images", lambda v: seen.append(v.shape) or encode(v))
    features = classifier.encode_views(images())
    assert seen == [(3, 1, 3, 32, 32)] and features.shape == (3, 1, backbone.embed_dim)
    torch.testing.assert_close(features[:, 0], backbone.encode_image(images(), normalize=True))


# ---------------------------------------------------------------- a conditional mediator
def conditional(backbone, aggregator="mean"):
    torch.manual_seed(0)
    mediator = ConditionalFakeMediator(backbone, CLASSES, num_templates=2)
    return FrontDoorClassifier(backbone, mediator, aggregator)


def test_conditional_logits_score_each_image_against_its_own_class_features(backbone):
    classifier = conditional(backbone)
    features = classifier.encode_views(images(views=2))  # view m for template m
    logits = classifier.logits(features)
    assert logits.shape == (2, 3, 3)
    with torch.no_grad():
        text = classifier.mediator(features)  # [B, M, C, D]
    for b in range(3):
        for m in range(2):
            expected = backbone.logit_scale * text[b, m] @ features[b, m]
            torch.testing.assert_close(logits[m, b], expected, rtol=1e-5, atol=1e-5)
    # an image's prediction does not depend on the rest of its batch
    alone = classifier.logits(features[1:2])
    torch.testing.assert_close(alone[:, 0], logits[:, 1], rtol=1e-5, atol=1e-5)


def test_conditional_mediator_trains_and_evaluates_through_the_classifier(backbone):
    classifier = conditional(backbone, aggregator="ds")
    labels = torch.tensor([0, 1, 2])
    classifier.loss((images(views=2), labels)).backward()
    assert classifier.mediator.shift.weight.grad is not None and classifier.mediator.ctx.grad is not None
    assert all(p.grad is None for p in backbone.parameters())
    with torch.no_grad():
        cached = classifier.encode_views(images())
    terms = classifier.loss_terms(cached, labels, features=True)  # frozen features may be cached
    assert torch.isfinite(terms["loss"])
    classifier.mediator.calls = 0
    result = evaluate_features(classifier, cached.squeeze(1), labels, batch_size=2)
    assert result.num_samples == 3 and classifier.mediator.calls == 2  # text per batch: it depends on x
    assert classifier.classnames == CLASSES


def test_conditional_text_features_need_the_image(backbone):
    with pytest.raises(ValueError, match="conditions its text features on the image"):
        conditional(backbone).text_features()


def test_regularizer_check_works_for_a_conditional_mediator(backbone):
    mediator = ConditionalFakeMediator(backbone, CLASSES)
    with pytest.raises(ValueError, match="L_de"):
        FrontDoorClassifier(backbone, mediator, "mean", beta=1.0)


# ---------------------------------------------------------------- a mediator with a trainable image side
def vision_prompted(backbone):
    torch.manual_seed(0)
    return FrontDoorClassifier(backbone, VisionPromptFakeMediator(backbone, CLASSES), "ds")


def test_image_side_mediator_encodes_one_view_per_template_with_gradients(backbone):
    classifier = vision_prompted(backbone)
    assert not classifier.caches_image_features
    features = classifier.encode_views(images())  # one view in, M features out
    assert features.shape == (3, 2, backbone.embed_dim) and features.requires_grad
    classifier.loss((images(), torch.tensor([0, 1, 2]))).backward()
    assert classifier.mediator.pixel_prompt.grad is not None
    assert all(p.grad is None for p in backbone.parameters())


def test_image_side_mediator_refuses_cached_features_and_evaluates_on_images(backbone):
    classifier = vision_prompted(backbone)
    stale = torch.randn(3, backbone.embed_dim)
    labels = torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="image-side"):
        classifier.loss_terms(stale, labels, features=True)
    with pytest.raises(ValueError, match="image-side"):
        evaluate_features(classifier, stale, labels)
    x = images()
    result = evaluate_batches(classifier, [(x[:2], labels[:2]), (x[2:], labels[2:])], ["tree", "car", "bird"])
    assert result.num_samples == 3 and len(result.template_accuracy) == 2
    with torch.no_grad():
        expected = classifier(x).probs
    torch.testing.assert_close(evaluate_batches(classifier, [(x, labels)]).probs, expected)


# ---------------------------------------------------------------- the aggregator is bound to its backbone
def test_dstc_object_follows_the_backbone_temperature(backbone):
    tau = float(backbone.logit_scale)
    assert DSTCAggregator().config.evidence_scale == 10.0  # unbound: real CLIP's τ = 100 over 10
    by_object = FrontDoorClassifier(backbone, "coop", DSTCAggregator(), classnames=CLASSES)
    by_name = FrontDoorClassifier(backbone, "coop", "ds", classnames=CLASSES)
    assert by_object.aggregator.config.evidence_scale == pytest.approx(tau / 10)
    assert by_name.aggregator.config.evidence_scale == pytest.approx(tau / 10)


@pytest.mark.parametrize(
    "aggregator",
    [
        lambda: DSTCAggregator(evidence_scale=3.0),
        lambda: DSTCAggregator(DSTCConfig(evidence_scale=3.0)),
        lambda: AGGREGATORS.build("ds", evidence_scale=3.0),
    ],
)
def test_an_explicit_evidence_scale_is_kept(backbone, aggregator):
    classifier = FrontDoorClassifier(backbone, "coop", aggregator(), classnames=CLASSES)
    assert classifier.aggregator.config.evidence_scale == 3.0
    named = FrontDoorClassifier(
        backbone, "coop", "ds", classnames=CLASSES, aggregator_options={"evidence_scale": 3.0}
    )
    assert named.aggregator.config.evidence_scale == 3.0


def test_bind_is_a_no_op_for_aggregators_without_backbone_settings(backbone):
    aggregator = MeanProbabilityAggregator()
    before = dict(aggregator.state_dict())
    FrontDoorClassifier(backbone, "coop", aggregator, classnames=CLASSES)
    assert dict(aggregator.state_dict()) == before
