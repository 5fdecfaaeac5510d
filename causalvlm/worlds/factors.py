"""The generative factors of ShapeWorld and their structural equations (the world's SCM).

The world follows the paper's pre-training graph (``causalvlm/graphs/shapeworld.gml``): the task-relevant
factor G_r = ``shape`` and the task-irrelevant factors G_i = (``object_colour``, ``background_colour``,
``texture``, ``size``, ``position``, ``rotation``, ``noise``) together cause the image X; a caption Y
mentions a random subset of them (its shape word is the downstream label). Every factor is exogenous except
``background_colour``, drawn from the colours other than the object's so the object stays visible (edge
``object_colour → background_colour``).

Downstream tasks add the data misalignment: in a few-shot training set the object colour agrees with the class
with strength ρ (edge ``shape → object_colour``, see :func:`sample_factors`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from causalvlm.worlds.shapes import SHAPE_NAMES

COLOUR_RGB: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (245, 140, 20),
    "yellow": (240, 225, 30),
    "green": (40, 170, 50),
    "cyan": (40, 210, 220),
    "blue": (30, 60, 220),
    "purple": (140, 40, 190),
    "pink": (250, 140, 200),
    "white": (245, 245, 245),
    "gray": (128, 128, 128),
    "black": (15, 15, 15),
}
COLOUR_NAMES: tuple[str, ...] = tuple(COLOUR_RGB)
OBJECT_COLOURS: tuple[str, ...] = COLOUR_NAMES[:8]
"""Objects are chromatic; backgrounds may also be white, gray or black."""
BACKGROUND_COLOURS: tuple[str, ...] = COLOUR_NAMES
TEXTURES: tuple[str, ...] = ("plain", "stripes", "dots", "checker")
SIZES: tuple[str, ...] = ("small", "medium", "large")
SIZE_RADIUS_PX: tuple[float, ...] = (11.0, 16.0, 21.0)  # object radius at 64×64 for each size
POSITIONS: tuple[str, ...] = ("center", "left", "right", "top", "bottom")
ROTATION_RANGE_DEG = 20.0  # small enough that no shape turns into another one (square vs diamond)
NOISE_MAX = 0.08  # std of the Gaussian pixel noise, in [0, 1] intensity units
RENDER_STYLES: tuple[str, ...] = ("filled", "outline", "sketch", "silhouette", "pattern")
"""How the object is drawn (:func:`causalvlm.worlds.render.render`): ``filled`` is the pre-training world
(the object in its colour on its textured background); ``outline`` its contour in its colour on white;
``sketch`` its contour in black on white; ``silhouette`` the object in mid gray on light gray (no colour, no
texture); ``pattern`` the object striped in its colour on its background. The same factors drawn in another
style keep their shape, pose and colour; only the drawing changes."""
DRAWN_FACTORS: dict[str, tuple[str, ...]] = {
    "filled": ("shape", "object_colour", "background_colour", "texture", "size", "position"),
    "outline": ("shape", "object_colour", "size", "position"),
    "sketch": ("shape", "size", "position"),
    "silhouette": ("shape", "size", "position"),
    "pattern": ("shape", "object_colour", "background_colour", "texture", "size", "position"),
}
"""The categorical factors an image of each style shows: the others are drawn over (white paper, gray)."""

FACTOR_NAMES: tuple[str, ...] = (
    "shape",
    "object_colour",
    "background_colour",
    "texture",
    "size",
    "position",
    "rotation",
    "noise",
)
CATEGORICAL_FACTORS: dict[str, tuple[str, ...]] = {
    "shape": SHAPE_NAMES,
    "object_colour": OBJECT_COLOURS,
    "background_colour": BACKGROUND_COLOURS,
    "texture": TEXTURES,
    "size": SIZES,
    "position": POSITIONS,
}


# The allowed range of each world option: below size 0.25 the small objects vanish, above 1.3 the large ones
# leave the 64 px canvas; rotation beyond ±180° repeats itself.
WORLD_OPTION_RANGES: dict[str, tuple[float, float]] = {
    "noise_max": (0.0, 1.0),
    "size_scale": (0.25, 1.3),
    "rotation_range": (0.0, 180.0),
}


@dataclass(frozen=True)
class WorldOptions:
    """How hard the world's images are: the ranges of the nuisance factors that blur the shape.

    The defaults are the pre-training world the tiny CLIP learned from. A downstream task may draw its images
    from a harder world (:data:`causalvlm.worlds.task.TASK_OPTIONS`), the way a real dataset differs from
    CLIP's web images; every option only widens or narrows the range a factor is drawn from, so the same
    generator state gives the same factors under any options except the ones changed.
    """

    noise_max: float = NOISE_MAX  # per-image pixel-noise std ~ Uniform[0, noise_max] (intensity in [0, 1])
    size_scale: float = 1.0  # multiplies every size's object radius (1 = 11 / 16 / 21 px)
    rotation_range: float = ROTATION_RANGE_DEG  # rotation ~ Uniform[−r, r] degrees
    style: str = "filled"  # how the object is drawn (RENDER_STYLES)

    def __post_init__(self) -> None:
        if self.style not in RENDER_STYLES:
            raise ValueError(
                f"world option style must be one of {', '.join(RENDER_STYLES)}, got {self.style!r}"
            )
        for name, (low, high) in WORLD_OPTION_RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"world option {name} must be in [{low:g}, {high:g}], got {value!r}")


def options_over(base: WorldOptions, **options: Any) -> WorldOptions:
    """``base`` with ``options`` (WorldOptions fields) replaced: the numeric ones as floats, ``style`` as
    given; out-of-range values and unknown styles raise ValueError (WorldOptions checks itself)."""
    values: dict[str, Any] = {k: v if k == "style" else float(v) for k, v in options.items()}
    return replace(base, **values)


@dataclass(frozen=True)
class Factors:
    """The factor values of one image; ``render(factors)`` is a pure function of these.

    Categorical factors are indices into the name tuples above; ``noise_seed`` fixes the pixel noise and the
    sub-pixel jitter so that an image is reproducible from its factors alone.
    """

    shape: int
    object_colour: int
    background_colour: int
    texture: int
    size: int
    position: int
    rotation: float  # degrees, in [-rotation_range, rotation_range] (WorldOptions)
    noise: float  # pixel-noise std, in [0, noise_max] (WorldOptions)
    noise_seed: int
    scale: float = 1.0  # object radius multiplier (WorldOptions.size_scale); 1 in the pre-training world
    style: str = "filled"  # how the object is drawn (WorldOptions.style); "filled" in the pre-training world

    def names(self) -> dict[str, str]:
        """The categorical factors as words (for captions and file names)."""
        return {k: v[getattr(self, k)] for k, v in CATEGORICAL_FACTORS.items()}


def _check_prob(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")


def class_colour(label: int) -> int:
    """The object colour assigned to class ``label`` in spurious training sets (cycles the 8 colours)."""
    return label % len(OBJECT_COLOURS)


def sample_factors(
    rng: np.random.Generator,
    shapes: np.ndarray,
    rho: float = 0.0,
    spurious_factor: str = "object_colour",
    options: WorldOptions | None = None,
) -> list[Factors]:
    """Sample the G_i factors for images of the given shapes (the structural equations of the world).

    For every image: with probability ρ the ``spurious_factor`` takes the class's assigned value
    (``label mod |values|``), otherwise it is drawn uniformly — so ρ = 0 makes it independent of the shape
    and P(factor = assigned | shape) = ρ + (1 − ρ)/|values|. All other factors are drawn uniformly and
    independently, except the background colour, which avoids the object colour. ``options`` set the ranges
    of rotation, noise and size (default: the pre-training world).
    """
    _check_prob("rho", rho)
    options = options or WorldOptions()
    spurious_choices = ("object_colour", "background_colour", "texture", "size", "position")
    if spurious_factor not in spurious_choices:
        raise ValueError(f"spurious_factor {spurious_factor!r} is not one of {spurious_choices}")
    shapes = np.asarray(shapes, dtype=int)
    if shapes.size and (shapes.min() < 0 or shapes.max() >= len(SHAPE_NAMES)):
        raise ValueError(
            f"shape labels must be in [0, {len(SHAPE_NAMES)}), got {shapes.min()}..{shapes.max()}"
        )
    n = len(shapes)
    values = {
        "object_colour": rng.integers(len(OBJECT_COLOURS), size=n),
        "background_colour": rng.integers(len(BACKGROUND_COLOURS), size=n),
        "texture": rng.integers(len(TEXTURES), size=n),
        "size": rng.integers(len(SIZES), size=n),
        "position": rng.integers(len(POSITIONS), size=n),
    }
    spurious = rng.random(n) < rho
    n_values = len(CATEGORICAL_FACTORS[spurious_factor])
    values[spurious_factor] = np.where(spurious, shapes % n_values, values[spurious_factor])
    # Background avoids the object colour: redraw among the other colours, keeping the spurious ones fixed
    # unless they clash (then the object wins because it is the visible, caption-carrying colour).
    clash = values["background_colour"] == values["object_colour"]
    shift = rng.integers(1, len(BACKGROUND_COLOURS), size=n)
    values["background_colour"] = np.where(
        clash, (values["background_colour"] + shift) % len(BACKGROUND_COLOURS), values["background_colour"]
    )
    return factors_with_pose(rng, {"shape": shapes, **values}, options)


def factors_with_pose(
    rng: np.random.Generator, categorical: dict[str, np.ndarray], options: WorldOptions
) -> list[Factors]:
    """Factors of images whose categorical factors (one array each, by name) are drawn: rotation, noise
    and the per-image noise seed are drawn here (in that order, from ``options``' ranges)."""
    n = len(categorical["shape"])
    rotation = rng.uniform(-options.rotation_range, options.rotation_range, size=n)
    noise = rng.uniform(0.0, options.noise_max, size=n)
    noise_seed = rng.integers(2**31 - 1, size=n)
    return [
        Factors(
            **{name: int(values[i]) for name, values in categorical.items()},
            rotation=float(rotation[i]),
            noise=float(noise[i]),
            noise_seed=int(noise_seed[i]),
            scale=float(options.size_scale),
            style=options.style,
        )
        for i in range(n)
    ]
