"""Rendering: the structural equation X = f(G_r, G_i) that turns factor values into a 64×64 RGB image."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from causalvlm.worlds.factors import (
    BACKGROUND_COLOURS,
    COLOUR_RGB,
    OBJECT_COLOURS,
    POSITIONS,
    RENDER_STYLES,
    SIZE_RADIUS_PX,
    TEXTURES,
    Factors,
)
from causalvlm.worlds.shapes import SHAPE_NAMES, shape_parts

IMAGE_SIZE = 64
_SUPERSAMPLE = 4  # draw the mask 4× larger and downsample: cheap anti-aliasing with PIL's polygon fill
_POSITION_OFFSETS = {"center": (0, 0), "left": (-1, 0), "right": (1, 0), "top": (0, -1), "bottom": (0, 1)}


def _object_mask(factors: Factors, rng: np.random.Generator) -> np.ndarray:
    """Soft mask [H, W] in [0, 1] of the posed shape (rotation, size, position)."""
    radius = SIZE_RADIUS_PX[factors.size] * factors.scale * rng.uniform(0.93, 1.07)
    # Off-centre positions move as far as the object's radius allows, keeping a 3 px margin.
    reach = 0.75 * (IMAGE_SIZE / 2 - radius - 3)
    dx, dy = _POSITION_OFFSETS[POSITIONS[factors.position]]
    cx = IMAGE_SIZE / 2 + dx * reach + rng.uniform(-1.5, 1.5)
    cy = IMAGE_SIZE / 2 + dy * reach + rng.uniform(-1.5, 1.5)
    theta = math.radians(factors.rotation)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    big = IMAGE_SIZE * _SUPERSAMPLE
    canvas = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(canvas)
    for polygon, solid in shape_parts(SHAPE_NAMES[factors.shape]):
        pts = (polygon @ rot.T * radius + [cx, cy]) * _SUPERSAMPLE
        draw.polygon([tuple(p) for p in pts], fill=255 if solid else 0)
    small = canvas.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def _pattern_shade(rgb: np.ndarray) -> np.ndarray:
    # Texture marks are a shade of the background colour: darker on light colours, lighter on dark ones.
    return rgb * 0.6 if rgb.mean() > 0.45 else rgb * 0.6 + 0.4


def _background(factors: Factors, rng: np.random.Generator) -> np.ndarray:
    """Background [H, W, 3] in [0, 1]: the background colour with its texture (random phase)."""
    rgb = np.asarray(COLOUR_RGB[BACKGROUND_COLOURS[factors.background_colour]], dtype=np.float32) / 255.0
    shade = _pattern_shade(rgb)
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE]
    texture = TEXTURES[factors.texture]
    if texture == "plain":
        marks = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    elif texture == "stripes":
        period = 8
        marks = ((xx + yy + rng.integers(period)) % period) < period // 2
    elif texture == "dots":
        period = 8
        ox, oy = rng.integers(period, size=2)
        marks = (((xx + ox) % period - period / 2) ** 2 + ((yy + oy) % period - period / 2) ** 2) <= 3.0
    else:  # checker
        period = 8
        ox, oy = rng.integers(period, size=2)
        marks = (((xx + ox) // (period // 2)) + ((yy + oy) // (period // 2))) % 2 == 1
    out = np.empty((IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.float32)
    out[:] = rgb
    out[marks] = shade
    return out


_CONTOUR_PX = 2  # an outline or sketch keeps the outer 2 px of the object (erosion by a 5 × 5 minimum)
_INK, _PAPER = 0.05, 1.0  # sketch and outline: ink and paper intensities
_SILHOUETTE, _GROUND = 0.35, 0.8  # silhouette: the object's and the ground's gray


def _contour(mask: np.ndarray) -> np.ndarray:
    """The object's rim [H, W, 1]: the mask minus its erosion by :data:`_CONTOUR_PX` pixels."""
    image = Image.fromarray((mask[..., 0] * 255.0 + 0.5).astype(np.uint8))
    eroded = image.filter(ImageFilter.MinFilter(2 * _CONTOUR_PX + 1))
    return np.clip(mask - np.asarray(eroded, dtype=np.float32)[..., None] / 255.0, 0.0, 1.0)


def _draw(factors: Factors, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The noiseless image [H, W, 3] in [0, 1]: the posed object ``mask`` drawn in ``factors.style``."""
    colour = np.asarray(COLOUR_RGB[OBJECT_COLOURS[factors.object_colour]], dtype=np.float32) / 255.0
    background = _background(factors, rng)  # drawn in every style, so each style sees the same noise
    style = factors.style
    if style == "filled":
        return mask * colour + (1.0 - mask) * background
    if style == "outline":
        rim = _contour(mask)
        return rim * colour + (1.0 - rim) * _PAPER
    if style == "sketch":
        rim = _contour(mask)
        return np.repeat(rim * _INK + (1.0 - rim) * _PAPER, 3, axis=-1)
    if style == "silhouette":
        return np.repeat(mask * _SILHOUETTE + (1.0 - mask) * _GROUND, 3, axis=-1)
    if style == "pattern":  # the object striped: its colour with a shade of it, as a background's stripes
        own_colour = BACKGROUND_COLOURS.index(OBJECT_COLOURS[factors.object_colour])
        stripes = replace(factors, background_colour=own_colour, texture=TEXTURES.index("stripes"))
        return mask * _background(stripes, rng) + (1.0 - mask) * background
    raise ValueError(f"unknown render style {style!r}; valid: {', '.join(RENDER_STYLES)}")


def render(factors: Factors) -> np.ndarray:
    """X = f(shape, object colour, background colour, texture, size, position, rotation, noise, style).

    Returns a uint8 array [64, 64, 3]. The result depends on ``factors`` only (``noise_seed`` drives the
    pixel noise, the sub-pixel jitter and the texture phase), so the same factors give the same image.
    ``factors.style`` (:data:`~causalvlm.worlds.factors.RENDER_STYLES`) says how the object is drawn.
    """
    rng = np.random.default_rng(factors.noise_seed)
    mask = _object_mask(factors, rng)[..., None]
    image = _draw(factors, mask, rng)
    image = image + rng.normal(0.0, factors.noise, size=image.shape).astype(np.float32)
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def render_pil(factors: Factors) -> Image.Image:
    """:func:`render` as a PIL image."""
    return Image.fromarray(render(factors), mode="RGB")
