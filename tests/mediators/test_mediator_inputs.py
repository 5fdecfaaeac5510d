"""Bad inputs raise clear errors; templates table; per-template augmentations."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from causalvlm.mediators import AUGMENTATIONS, DATASET_TEMPLATES, MEDIATORS, template_for


def test_zero_templates_rejected(tiny_clip, classnames):
    with pytest.raises(ValueError, match="num_templates"):
        MEDIATORS.build("vsd", backbone=tiny_clip, classnames=classnames, num_templates=0)


@pytest.mark.parametrize("name", ["coop", "vsd"])
def test_n_ctx_longer_than_context(tiny_clip, classnames, name):
    with pytest.raises(ValueError, match="n_ctx=40"):
        MEDIATORS.build(name, backbone=tiny_clip, classnames=classnames, n_ctx=40, ctx_init=None)


def test_n_ctx_disagreeing_with_ctx_init(tiny_clip, classnames):
    with pytest.raises(ValueError, match="n_ctx=3.*a photo of a"):
        MEDIATORS.build("coop", backbone=tiny_clip, classnames=classnames, n_ctx=3, ctx_init="a photo of a")


@pytest.mark.parametrize("name", MEDIATORS.names())
def test_overlong_class_name_is_named(tiny_clip, name):
    too_long = "giant " * 30 + "panda"
    with pytest.raises(ValueError, match="giant giant"):
        MEDIATORS.build(name, backbone=tiny_clip, classnames=["cat", too_long])


def test_overlong_class_name_on_set_classnames(tiny_clip, classnames):
    coop = MEDIATORS.build("coop", backbone=tiny_clip, classnames=classnames, n_ctx=8)
    with pytest.raises(ValueError, match="class name 'red panda red"):
        coop.set_classnames(["cat", "red panda " * 12])


def test_unknown_mediator_lists_valid_names():
    with pytest.raises(KeyError, match="cocoop.*coop.*handcrafted.*maple.*vsd"):
        MEDIATORS.get("prograd")


def test_bad_class_token_position_and_template(tiny_clip, classnames):
    with pytest.raises(ValueError, match="class_token_position"):
        MEDIATORS.build("coop", backbone=tiny_clip, classnames=classnames, class_token_position="left")
    with pytest.raises(ValueError, match="a photo"):
        MEDIATORS.build("handcrafted", backbone=tiny_clip, classnames=classnames, template="a photo")
    with pytest.raises(ValueError, match="non-empty"):
        MEDIATORS.build("coop", backbone=tiny_clip, classnames=[])


def test_unknown_template_name_lists_valid(tiny_clip, classnames):
    with pytest.raises(KeyError, match="imagenet_ensemble.*oxford_pets"):
        MEDIATORS.build("handcrafted", backbone=tiny_clip, classnames=classnames, templates="no_such_set")


def test_template_table():
    assert template_for("oxford_pets") == "a photo of a {}, a type of pet."
    assert template_for("OxfordPets") == template_for("oxford_pets")
    assert template_for("DescribableTextures") == "{} texture."
    assert template_for("eurosat") == "a centered satellite photo of {}."
    assert all(t.count("{}") == 1 for t in DATASET_TEMPLATES.values())
    with pytest.raises(KeyError, match="oxford_pets"):
        template_for("mnist")


def test_handcrafted_named_ensemble(tiny_clip, classnames):
    mediator = MEDIATORS.build(
        "handcrafted", backbone=tiny_clip, classnames=classnames, templates="imagenet_ensemble"
    )
    assert mediator.num_templates == 7 and mediator().shape[0] == 7


@pytest.fixture
def image() -> Image.Image:
    pixels = torch.randint(0, 256, (40, 48, 3), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    return Image.fromarray(pixels.numpy())


def build_views(name, num_views=3):
    return AUGMENTATIONS.build(
        name, num_views=num_views, image_size=32, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)
    )


@pytest.mark.parametrize("name", AUGMENTATIONS.names())
def test_augmentation_shapes(name, image):
    views = build_views(name)(image)
    assert views.shape == (3, 3, 32, 32) and torch.isfinite(views).all()


def test_none_views_identical_and_aug1_views_differ(image):
    none = build_views("none")(image)
    assert torch.equal(none[0], none[1]) and torch.equal(none[0], none[2])
    aug1 = build_views("aug1")(image)
    torch.testing.assert_close(aug1[0], none[0])  # template 0 sees the clean view
    torch.testing.assert_close(aug1[1], none[0].flip(-1))  # template 1: horizontal flip
    assert not torch.allclose(aug1[2], none[0])


def test_aug2_crops_randomly(image):
    torch.manual_seed(0)
    first, second = build_views("aug2", 1)(image), build_views("aug2", 1)(image)
    assert not torch.allclose(first, second)


def test_bad_augmentation_inputs():
    with pytest.raises(KeyError, match="aug1.*aug2.*none"):
        AUGMENTATIONS.build("aug3", num_views=2, image_size=32, mean=(0, 0, 0), std=(1, 1, 1))
    with pytest.raises(ValueError, match="num_views"):
        build_views("aug1", num_views=0)


@pytest.mark.parametrize("name", ["none", "aug1", "aug2"])
def test_every_augmentation_pickles_for_worker_processes(name):
    import pickle

    from PIL import Image

    from causalvlm.mediators import AUGMENTATIONS

    views = AUGMENTATIONS.build(name, num_views=3, image_size=16, mean=(0.5,) * 3, std=(0.5,) * 3)
    restored = pickle.loads(pickle.dumps(views))
    assert restored(Image.new("RGB", (20, 20), "red")).shape == (3, 3, 16, 16)


def test_a_registered_view_set_gives_template_m_its_named_view(image, monkeypatch):
    from causalvlm.experiments import method_spec
    from causalvlm.mediators.augmentations import register_view_set

    monkeypatch.setattr(AUGMENTATIONS, "_factories", dict(AUGMENTATIONS._factories))  # keep it local
    name = register_view_set("views:identity+gray", ["identity", "gray"])
    views = build_views(name, num_views=3)(image)
    clean = build_views("none", num_views=1)(image)[0]
    torch.testing.assert_close(views[0], clean)
    torch.testing.assert_close(views[1][0], views[1][1])  # grey: the channels agree (same mean and std)
    torch.testing.assert_close(views[2], clean)  # cycled: template 3 sees view 1 again
    assert method_spec("cdc", aug=name).augmentation == name


def test_a_view_set_with_an_unknown_or_no_view_is_refused_when_registered(monkeypatch):
    from causalvlm.mediators.augmentations import register_view_set

    monkeypatch.setattr(AUGMENTATIONS, "_factories", dict(AUGMENTATIONS._factories))
    with pytest.raises(ValueError, match="unknown view 'greyscale'; valid: identity, flip"):
        register_view_set("bad", ["identity", "greyscale"])
    with pytest.raises(ValueError, match="at least one view"):
        register_view_set("empty", [])
    assert "bad" not in AUGMENTATIONS and "empty" not in AUGMENTATIONS
