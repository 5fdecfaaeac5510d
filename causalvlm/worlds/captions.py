"""The caption grammar of the pre-training corpus: D = g(a random subset of the factors).

A caption describes the object with an optional size and colour, names the shape or a generic noun, and may
add the background (colour and/or texture) and the position::

    caption    := [opener] object [background] [position] | "something" colour
    object     := [size] [colour] (shape | "shape" | "object")
    background := "on a" [texture-adjective] [colour] "background"
    position   := "on the left" | "on the right" | "at the top" | "at the bottom" | "in the middle"

Mentioning task-irrelevant factors (colour, background, texture, size, position) is what makes the
pre-trained CLIP know them too — the source of the task misalignment the paper describes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from causalvlm.worlds.factors import Factors

TEXTURE_WORDS = {"plain": "plain", "stripes": "striped", "dots": "dotted", "checker": "checkered"}
POSITION_WORDS = {
    "center": "in the middle",
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
}
OPENERS = ("a photo of ", "an image of ", "a picture of ", "")
# How a dataset would name each shape (a catalogue's or a geometry book's name) where captions mostly say the
# everyday word. Captions use this name for a shape in a fraction of the mentions that rises from 0 to
# ``CaptionConfig.p_dataset_name`` over the shapes (:func:`dataset_name_rate`), the long tail of a concept's
# names on the web; a downstream task may label its classes with these names (``class_names: dataset``).
DATASET_NAMES: dict[str, str] = {
    "triangle": "equilateral triangle",
    "square": "regular quadrilateral",
    "pentagon": "regular pentagon",
    "hexagon": "regular hexagon",
    "circle": "disc",
    "ellipse": "oval",
    "star": "pentagram",
    "sparkle": "four-pointed star",
    "hexagram": "star of david",
    "cross": "plus sign",
    "ring": "annulus",
    "frame": "square outline",
    "arrow": "right arrow",
    "heart": "love heart",
    "crescent": "lune",
    "semicircle": "half disc",
    "trapezoid": "trapezium",
    "parallelogram": "rhomboid",
    "kite": "deltoid",
    "tee": "letter t",
    "ell": "letter l",
    "aitch": "letter h",
    "chevron": "caret",
    "hourglass": "bowtie",
}


@dataclass(frozen=True)
class CaptionConfig:
    """How often each factor is mentioned (independently, per caption)."""

    p_shape: float = 0.8  # the shape word; otherwise "shape"/"object"
    p_colour: float = 0.6  # object colour
    p_size: float = 0.3
    p_background_colour: float = 0.4
    p_texture: float = 0.4
    p_position: float = 0.25
    p_something: float = 0.05  # the bare "something <colour>" form
    p_dataset_name: float = 0.0  # the largest share of a shape's mentions that use its DATASET_NAMES name


def dataset_name_rate(shape: int, p_dataset_name: float) -> float:
    """The share of shape ``shape``'s mentions that use its dataset name: p · ((7 · shape) mod 24) / 23.

    The multiplier 7 (coprime to 24) interleaves the rates over the labels, so base classes (the first half
    of the labels) and new classes get the same spread of rare and common names.
    """
    count = len(DATASET_NAMES)
    return p_dataset_name * ((7 * shape) % count) / (count - 1)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def caption(factors: Factors, rng: np.random.Generator, config: CaptionConfig = CaptionConfig()) -> str:
    """One caption for ``factors``, mentioning a random subset of them (see the module grammar)."""
    words = factors.names()
    if rng.random() < config.p_something:
        return f"something {words['object_colour']}"
    if rng.random() < config.p_shape:
        rate = dataset_name_rate(factors.shape, config.p_dataset_name)
        use_dataset_name = rate > 0 and rng.random() < rate  # no draw at rate 0: the old captions stay
        noun = DATASET_NAMES[words["shape"]] if use_dataset_name else words["shape"]
    else:
        noun = "shape" if rng.random() < 0.5 else "object"
    adjectives = []
    if rng.random() < config.p_size:
        adjectives.append(words["size"])
    if rng.random() < config.p_colour:
        adjectives.append(words["object_colour"])
    phrase = " ".join([*adjectives, noun])
    text = f"{rng.choice(OPENERS)}{_article(phrase)} {phrase}"
    background = []
    if rng.random() < config.p_texture:
        background.append(TEXTURE_WORDS[words["texture"]])
    if rng.random() < config.p_background_colour:
        background.append(words["background_colour"])
    if background:
        bg = " ".join([*background, "background"])
        text += f" on {_article(bg)} {bg}"
    if rng.random() < config.p_position:
        text += " " + POSITION_WORDS[words["position"]]
    return text
