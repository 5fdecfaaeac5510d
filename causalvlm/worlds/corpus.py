"""The pre-training corpus: rendered ShapeWorld images paired with captions from the grammar.

Images are rendered once into a uint8 array (the expensive part); captions are drawn afresh every time a batch
is made, so one image is seen with many different partial descriptions over training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from causalvlm.worlds.captions import CaptionConfig, caption
from causalvlm.worlds.factors import RENDER_STYLES, Factors, sample_factors
from causalvlm.worlds.render import render
from causalvlm.worlds.shapes import SHAPE_NAMES


@dataclass
class RenderedImages:
    """``images`` uint8 [N, 64, 64, 3] and the factors each was rendered from."""

    images: np.ndarray
    factors: list[Factors]

    def __len__(self) -> int:
        return len(self.factors)


def render_images(n: int, seed: int, rho: float = 0.0, styles: Sequence[str] = ("filled",)) -> RenderedImages:
    """``n`` images with uniformly drawn shapes and factors (the pre-training distribution when ρ = 0 and the
    style is ``filled``). With several ``styles`` image i is drawn in ``styles[i mod len(styles)]``; the
    factors are the same draws whatever the styles, so the first style's images are the pre-training ones."""
    if n < 1:
        raise ValueError(f"number of images must be positive, got {n}")
    unknown = [style for style in styles if style not in RENDER_STYLES]
    if not styles or unknown:
        raise ValueError(f"styles must be some of {', '.join(RENDER_STYLES)}, got {list(styles)}")
    rng = np.random.default_rng(seed)
    shapes = rng.integers(len(SHAPE_NAMES), size=n)
    factors = sample_factors(rng, shapes, rho=rho)
    factors = [replace(f, style=styles[i % len(styles)]) for i, f in enumerate(factors)]
    return RenderedImages(np.stack([render(f) for f in factors]), factors)


def to_model_input(
    images: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...], size: int | None = None
) -> torch.Tensor:
    """uint8 [B, H, W, 3] → normalised float [B, 3, size, size], the tensor the CLIP image tower takes.

    ``size`` (the model's input size) resizes with antialiased bicubic interpolation, close to the PIL bicubic
    resize of the eval preprocessing that the downstream pipeline applies to the same 64×64 renders.
    """
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    if size is not None and size != x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="bicubic", antialias=True, align_corners=False)
        x = x.clamp(0.0, 1.0)
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return (x - mean_t) / std_t


SHAPE_ONLY = CaptionConfig(
    p_shape=1.0,
    p_colour=0.0,
    p_size=0.0,
    p_background_colour=0.0,
    p_texture=0.0,
    p_position=0.0,
    p_something=0.0,
)


class CaptionedBatches:
    """Random (image, caption) batches from a rendered corpus; deterministic given ``seed``.

    A fraction ``shape_batch_fraction`` of the batches caption every image by its shape alone. In such a batch
    colour and background cannot tell captions apart, so the contrastive gradient goes to shape; without them
    the tiny model settles on the easy factors (colour, background) and stays at chance on shape.
    """

    def __init__(
        self,
        corpus: RenderedImages,
        batch_size: int,
        seed: int,
        caption_config: CaptionConfig | None = None,
        shape_batch_fraction: float = 0.0,
    ) -> None:
        if batch_size < 2:
            raise ValueError(f"a contrastive batch needs at least 2 pairs, got batch_size={batch_size}")
        self.corpus = corpus
        self.batch_size = batch_size
        if not 0.0 <= shape_batch_fraction <= 1.0:
            raise ValueError(f"shape_batch_fraction must be in [0, 1], got {shape_batch_fraction}")
        self.caption_config = caption_config or CaptionConfig()
        self.shape_batch_fraction = shape_batch_fraction
        self.rng = np.random.default_rng(seed)

    def next(self) -> tuple[np.ndarray, list[str]]:
        """One batch: uint8 images [B, 64, 64, 3] and their B captions."""
        idx = self.rng.choice(len(self.corpus), size=self.batch_size, replace=False)
        config = SHAPE_ONLY if self.rng.random() < self.shape_batch_fraction else self.caption_config
        texts = [caption(self.corpus.factors[i], self.rng, config) for i in idx]
        return self.corpus.images[idx], texts
