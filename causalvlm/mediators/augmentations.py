"""Per-template image views: template m sees view m of each image.

``AUGMENTATIONS.build(name, num_views=M, image_size=224, mean=..., std=...)`` returns a callable
PIL.Image → Tensor[M, 3, H, W]:

- ``"none"``: M copies of the eval view (resize, centre crop, normalise) — no augmentation.
- ``"aug1"``: view m applies the m-th of a set of common augmentations (cycled when M exceeds the set);
  view 0 is the clean eval view.
- ``"aug2"``: aug1 with a random resized crop in front of every view (view 0 included).
- ``"aug1-colour"``: aug1 with autocontrast in place of greyscale (the world's default run).

The views are named in ``VIEWS`` (identity, flip, jitter, gray, blur, rotation, autocontrast, sharpness);
``register_view_set(name, ["identity", "flip", ...])`` registers another per-template set under ``name``,
which a method then takes as its ``aug`` (how ``examples/cdc/fusion_views.py`` compares view sets).

Giving each template its own view is one way VSD lets templates specialise to different visual semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from PIL import Image
from torch import nn
from torchvision import transforms as T

from causalvlm.registry import Registry

AUGMENTATIONS: Registry[Callable[..., Any]] = Registry("augmentation")

# aug2's crop keeps at least half the image so the object usually stays in view.
RANDOM_CROP_SCALE = (0.5, 1.0)


# The named image views a template can see; each entry builds a fresh PIL → PIL transform. Modules, not
# lambdas, so the views pickle into DDP / worker processes.
VIEWS: dict[str, Callable[[], Callable[[Image.Image], Image.Image]]] = {
    "identity": nn.Identity,
    "flip": lambda: T.RandomHorizontalFlip(p=1.0),
    "jitter": lambda: T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1),
    "gray": lambda: T.Grayscale(num_output_channels=3),
    "blur": lambda: T.GaussianBlur(kernel_size=5, sigma=(0.1, 2.0)),
    "rotation": lambda: T.RandomRotation(degrees=15, interpolation=T.InterpolationMode.BILINEAR),
    "autocontrast": lambda: T.RandomAutocontrast(p=1.0),
    "sharpness": lambda: T.RandomAdjustSharpness(sharpness_factor=2.0, p=1.0),
}
AUG1_VIEWS = tuple(VIEWS)  # aug1's order: template 0 sees the clean image
# aug1 without its greyscale view (autocontrast takes its place), for data whose class shows in colour: on the
# world, validation HM 78.6 against aug1's 78.2 (within the seed spread), and aug1's greyscale template was
# about 3 points worse than the others on base classes and 7–9 on new ones (docs/results.md, "The fusion").
AUG1_COLOUR_VIEWS = ("identity", "flip", "jitter", "autocontrast", "blur", "rotation", "sharpness")


def common_augmentations(
    view_names: Sequence[str] = AUG1_VIEWS,
) -> list[Callable[[Image.Image], Image.Image]]:
    """The views named ``view_names`` (default: the aug1 set, in template order), as PIL → PIL transforms."""
    if not view_names:
        raise ValueError(f"give at least one view name; valid: {', '.join(VIEWS)}")
    unknown = [name for name in view_names if name not in VIEWS]
    if unknown:
        raise ValueError(f"unknown view {unknown[0]!r}; valid: {', '.join(VIEWS)}")
    return [VIEWS[name]() for name in view_names]


class MultiViewTransform:
    """Applies view transform m to the image and stacks the M results into [M, 3, H, W]."""

    def __init__(self, view_transforms: Sequence[Callable[[Image.Image], torch.Tensor]]):
        self.view_transforms = list(view_transforms)
        self.num_views = len(self.view_transforms)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        image = image.convert("RGB")
        return torch.stack([transform(image) for transform in self.view_transforms])


def _check(num_views: int, image_size: int, mean: Sequence[float], std: Sequence[float]) -> None:
    if not isinstance(num_views, int) or num_views < 1:
        raise ValueError(f"num_views (M) must be an integer >= 1, got {num_views!r}")
    if not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    if len(mean) != 3 or len(std) != 3 or any(s <= 0 for s in std):
        raise ValueError(f"mean and std need 3 channels with std > 0, got mean={mean!r} std={std!r}")


def _eval_resize(image_size: int) -> list[Callable]:
    return [T.Resize(image_size, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(image_size)]


def _to_tensor(mean: Sequence[float], std: Sequence[float]) -> list[Callable]:
    return [T.ToTensor(), T.Normalize(mean=list(mean), std=list(std))]


@AUGMENTATIONS.register("none")
def no_augmentation(num_views: int, image_size: int, mean: Sequence[float], std: Sequence[float]):
    _check(num_views, image_size, mean, std)
    view = T.Compose(_eval_resize(image_size) + _to_tensor(mean, std))
    return MultiViewTransform([view] * num_views)


def per_template_views(
    view_names: Sequence[str],
    num_views: int,
    image_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    crop: bool = False,
) -> MultiViewTransform:
    """View m = ``VIEWS[view_names[m % len(view_names)]]``, after the eval resize (or, with ``crop``, a random
    resized crop of scale RANDOM_CROP_SCALE), then normalised: PIL → ``[num_views, 3, H, W]``."""
    _check(num_views, image_size, mean, std)
    pool = common_augmentations(view_names)
    if crop:
        scale, bicubic = RANDOM_CROP_SCALE, T.InterpolationMode.BICUBIC
        front = [T.RandomResizedCrop(image_size, scale=scale, interpolation=bicubic)]
    else:
        front = _eval_resize(image_size)
    return MultiViewTransform(
        [T.Compose(front + [pool[m % len(pool)]] + _to_tensor(mean, std)) for m in range(num_views)]
    )


def register_view_set(name: str, view_names: Sequence[str], crop: bool = False) -> str:
    """Register ``per_template_views(view_names)`` in AUGMENTATIONS as ``name`` (a method's ``aug``)."""
    view_names = tuple(view_names)
    common_augmentations(view_names)  # unknown names fail here, not when a run first builds the views

    def build(num_views: int, image_size: int, mean: Sequence[float], std: Sequence[float]):
        return per_template_views(view_names, num_views, image_size, mean, std, crop=crop)

    AUGMENTATIONS.register(name)(build)
    return name


register_view_set("aug1", AUG1_VIEWS)
register_view_set("aug2", AUG1_VIEWS, crop=True)
register_view_set("aug1-colour", AUG1_COLOUR_VIEWS)
