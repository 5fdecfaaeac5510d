"""An API call that refuses leaves the object exactly as it was; features of the wrong width are named."""

from __future__ import annotations

import pytest
import torch

from causalvlm import FrontDoorClassifier


def _state(model: FrontDoorClassifier) -> dict[str, torch.Tensor]:
    """Every parameter and buffer, persistent or not (class tokens, their embeddings, w0), plus the names."""
    tensors = {name: t.detach().clone() for name, t in model.named_parameters()}
    tensors |= {name: t.detach().clone() for name, t in model.named_buffers()}
    return tensors


def _same(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> bool:
    return before.keys() == after.keys() and all(
        before[k].shape == after[k].shape and torch.equal(before[k], after[k]) for k in before
    )


def _images(backbone, count: int = 3) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(count, 3, backbone.image_size, backbone.image_size, generator=generator)


@pytest.fixture
def vsd(backbone) -> FrontDoorClassifier:
    torch.manual_seed(0)
    return FrontDoorClassifier(
        backbone, "vsd", "ds", classnames=["cat", "dog", "bird"], mediator_options={"num_templates": 3}
    )


def test_a_refusal_part_way_through_the_templates_leaves_the_classifier_as_it_was(vsd, backbone, monkeypatch):
    """Fault injected after template 1 of 3 switched: the classifier was left half-switched (templates with
    different class counts), so the next predict_proba failed."""
    images = _images(backbone)
    before, probs = _state(vsd), vsd.predict_proba(images)

    def refuse(classnames):
        raise ValueError("class name refused by template 2")

    monkeypatch.setattr(vsd.mediator.prompts[1], "set_classnames", refuse, raising=False)
    with pytest.raises(ValueError, match="refused by template 2"):
        vsd.set_classnames(["fox", "owl"])
    monkeypatch.undo()
    assert vsd.classnames == ["cat", "dog", "bird"]
    assert _same(before, _state(vsd))
    torch.testing.assert_close(vsd.predict_proba(images), probs)


@pytest.mark.parametrize(
    "names", [["cat", "cat"], "dog", [], ["cat", " "], ["cat", " ".join(["word"] * 40)]], ids=repr
)
def test_refused_class_names_leave_every_mediator_as_it_was(backbone, names):
    for mediator in ("handcrafted", "coop", "vsd", "cocoop", "maple"):
        torch.manual_seed(0)
        model = FrontDoorClassifier(backbone, mediator, "mean", classnames=["cat", "dog"])
        images = _images(backbone)
        before, probs = _state(model), model.predict_proba(images)
        try:
            model.set_classnames(names)
        except (ValueError, TypeError):
            pass
        else:  # accepted (the handcrafted template truncates a long name): switch back and compare
            model.set_classnames(["cat", "dog"])
        assert model.classnames == ["cat", "dog"], mediator
        assert _same(before, _state(model)), mediator
        torch.testing.assert_close(model.predict_proba(images), probs)


@pytest.mark.parametrize("mediator", ["handcrafted", "coop", "vsd", "cocoop", "maple"])
@pytest.mark.parametrize("shape", [(2, 7), (2, 1, 7), (2, 3, 64)])
def test_features_of_the_wrong_width_name_the_width_expected(backbone, mediator, shape):
    model = FrontDoorClassifier(backbone, mediator, "mean", classnames=["cat", "dog"])
    width = backbone.embed_dim
    with pytest.raises(ValueError, match=rf"image features have width {shape[-1]} .* have width {width}"):
        model.forward_features(torch.zeros(*shape))


def test_features_that_are_not_a_batch_are_named(backbone):
    model = FrontDoorClassifier(backbone, "coop", "mean", classnames=["cat", "dog"])
    with pytest.raises(ValueError, match=r"image features must be \[B,D\] or \[B,V,D\], got \(32,\)"):
        model.forward_features(torch.zeros(backbone.embed_dim))
