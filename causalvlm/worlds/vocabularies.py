"""World datasets with their own class vocabularies: other labels read off the same generated world.

ShapeWorld labels an image by its shape. The paper's benchmark has 11 datasets whose classes are other
concepts (flowers, textures, land use, actions, ...) read by one CLIP; here one tiny CLIP reads several
datasets whose classes are other factors, or conjunctions of factors, of the same world (factors.py):

==============  ==================================  =========  ========================================
dataset         label factor(s)                     classes    paper analogue
==============  ==================================  =========  ========================================
colourworld     object colour                       8          a colour dataset (fine-grained by hue)
textureworld    background texture × grey level     12         DTD (textures as classes)
layoutworld     object size × position              15         EuroSAT (where and how big, not what)
iconworld       shape ∧ colour conjunction          12         compound concepts (OxfordPets-like)
==============  ==================================  =========  ========================================

A :class:`Vocabulary` names its label factors, each class's values of them, the class names (in the words
the tiny CLIP's captions use, captions.py), the values its other factors are drawn from, its own draw
stream and its drawing (``options``: the style, pixel noise and object size chosen on validation images by
``examples/cdc/choose_datasets.py``). Its hand-crafted template, like CoOp's per-dataset templates, lives in
the one template table (``causalvlm.templates.DATASET_TEMPLATES``).

Every factor that is not a label factor is drawn uniformly and independently of the class (at train,
validation and test alike: no spurious cue). Objects are chromatic and these datasets' backgrounds white,
gray or black, so the background never has to avoid the object's colour and stays independent of it.

:func:`make_world_dataset` writes a dataset in the CoOp layout under ``<root>/<name>/`` as ``make_task``
writes ShapeWorld (``images/{train,val,test}/<class>/``, ``split_zhou_<name>.json``, ``factors.json``,
``task.json``; checked for damage, written under the file lock, swapped in whole); :func:`build_vocabulary`
reads it with the shared few-shot + base/new machinery (base = the first ⌈C/2⌉ labels).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from causalvlm.data.base import DatasetSplits, check_subsample, classnames_by_label
from causalvlm.data.checks import require_dir, require_file
from causalvlm.data.coop import assemble_splits
from causalvlm.data.splits import read_split_json
from causalvlm.templates import template_for
from causalvlm.worlds.captions import POSITION_WORDS, TEXTURE_WORDS
from causalvlm.worlds.factors import (
    BACKGROUND_COLOURS,
    OBJECT_COLOURS,
    POSITIONS,
    SIZES,
    TEXTURES,
    Factors,
    WorldOptions,
    factors_with_pose,
    options_over,
)
from causalvlm.worlds.shapes import SHAPE_NAMES
from causalvlm.worlds.task import N_TRAIN_PER_CLASS
from causalvlm.worlds.task_files import keyed_root, write_world

IMAGE_DIRNAME = "images"
ISSUE_STREAM = 19  # the issue these datasets belong to: their draws never share ShapeWorld's stream (6)
ACHROMATIC = tuple(BACKGROUND_COLOURS.index(c) for c in ("white", "gray", "black"))
CATEGORICAL = ("shape", "object_colour", "background_colour", "texture", "size", "position")
DRAWN_VALUES: dict[str, tuple[int, ...]] = {
    "shape": tuple(range(len(SHAPE_NAMES))),
    "object_colour": tuple(range(len(OBJECT_COLOURS))),
    "background_colour": ACHROMATIC,
    "texture": tuple(range(len(TEXTURES))),
    "size": tuple(range(len(SIZES))),
    "position": tuple(range(len(POSITIONS))),
}


@dataclass(frozen=True)
class Vocabulary:
    """One world dataset: which factors make its class, how its classes are named and prompted, how drawn."""

    name: str  # the dataset name in DATASETS and its folder under the root
    label_factors: tuple[str, ...]  # the factors whose values make the class
    classes: tuple[tuple[int, ...], ...]  # per label: the label factors' values (indices)
    classnames: tuple[str, ...]  # per label: the class as the captions word it
    stream: int  # its own draw stream: rng([seed, ISSUE_STREAM, stream])
    options: WorldOptions  # how its images are drawn (style chosen on validation, choose_datasets.py)
    # the values each non-label categorical factor is drawn from (uniformly); absent: all of them
    values: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def template(self) -> str:
        """The dataset's hand-crafted prompt ("{}" for the class name), from the one template table."""
        return template_for(self.name)

    @property
    def split_file(self) -> str:
        return f"split_zhou_{self.name}.json"

    def drawn_values(self, factor: str) -> tuple[int, ...]:
        """The values a non-label ``factor`` is drawn from (default: all; backgrounds white, gray, black)."""
        return self.values.get(factor, DRAWN_VALUES[factor])


def _checkerboard(first: int, second: int) -> list[tuple[int, int]]:
    """The pairs of a first × second grid, those with an even index sum first: each half of the labels
    (base, new) then holds every value of both factors, and new classes are unseen combinations of them."""
    pairs = [(a, b) for a in range(first) for b in range(second)]
    return sorted(pairs, key=lambda p: (p[0] + p[1]) % 2)


def _colourworld() -> Vocabulary:
    return Vocabulary(
        name="colourworld",
        label_factors=("object_colour",),
        classes=tuple((c,) for c in range(len(OBJECT_COLOURS))),
        classnames=OBJECT_COLOURS,
        stream=1,
        options=WorldOptions(style="outline"),  # choose_datasets.py
    )


def _textureworld() -> Vocabulary:
    pairs = _checkerboard(len(TEXTURES), len(ACHROMATIC))
    return Vocabulary(
        name="textureworld",
        label_factors=("texture", "background_colour"),
        classes=tuple((t, ACHROMATIC[g]) for t, g in pairs),
        classnames=tuple(
            f"{TEXTURE_WORDS[TEXTURES[t]]} {BACKGROUND_COLOURS[ACHROMATIC[g]]}" for t, g in pairs
        ),
        stream=2,
        options=WorldOptions(style="pattern", noise_max=0.3, size_scale=1.3),  # choose_datasets.py
    )


def _layoutworld() -> Vocabulary:
    pairs = _checkerboard(len(SIZES), len(POSITIONS))
    return Vocabulary(
        name="layoutworld",
        label_factors=("size", "position"),
        classes=tuple(pairs),
        classnames=tuple(f"{SIZES[s]} shape {POSITION_WORDS[POSITIONS[p]]}" for s, p in pairs),
        stream=3,
        options=WorldOptions(style="silhouette", size_scale=0.6),  # choose_datasets.py
    )


ICON_SHAPES = ("triangle", "square", "circle", "star")
ICON_COLOURS = ("red", "green", "blue")


def _iconworld() -> Vocabulary:
    pairs = _checkerboard(len(ICON_SHAPES), len(ICON_COLOURS))
    return Vocabulary(
        name="iconworld",
        label_factors=("shape", "object_colour"),
        classes=tuple(
            (SHAPE_NAMES.index(ICON_SHAPES[s]), OBJECT_COLOURS.index(ICON_COLOURS[c])) for s, c in pairs
        ),
        classnames=tuple(f"{ICON_COLOURS[c]} {ICON_SHAPES[s]}" for s, c in pairs),
        stream=4,
        options=WorldOptions(style="outline", size_scale=0.6),  # choose_datasets.py
    )


VOCABULARIES: dict[str, Vocabulary] = {v.name: v for v in (_colourworld(), _textureworld(), _layoutworld(),
                                                           _iconworld())}  # fmt: skip
# Which styles draw which factors (render.py): a dataset may only be drawn in a style that shows its label.
STYLE_SHOWS: dict[str, frozenset[str]] = {
    "filled": frozenset(CATEGORICAL),
    "pattern": frozenset(CATEGORICAL),
    "outline": frozenset({"shape", "object_colour", "size", "position"}),
    "sketch": frozenset({"shape", "size", "position"}),
    "silhouette": frozenset({"shape", "size", "position"}),
}


def vocabulary(name: str) -> Vocabulary:
    """The :class:`Vocabulary` registered as ``name``; unknown: KeyError listing the valid names."""
    if name not in VOCABULARIES:
        raise KeyError(f"unknown world dataset {name!r}; valid names: {', '.join(VOCABULARIES)}")
    return VOCABULARIES[name]


def label_styles(vocab: Vocabulary) -> tuple[str, ...]:
    """The render styles that draw every label factor of ``vocab`` (its style candidates)."""
    return tuple(s for s, shown in STYLE_SHOWS.items() if set(vocab.label_factors) <= shown)


def sample_vocabulary_factors(
    rng: np.random.Generator, vocab: Vocabulary, labels: np.ndarray, options: WorldOptions
) -> list[Factors]:
    """The factors of images of classes ``labels``: label factors from the class, every other factor drawn
    uniformly from :meth:`Vocabulary.drawn_values`, independently of the class and of each other."""
    labels = np.asarray(labels, dtype=int)
    n = len(labels)
    values = {}
    for factor in CATEGORICAL:  # every factor is drawn, so the stream does not depend on the vocabulary
        choices = np.asarray(vocab.drawn_values(factor))
        values[factor] = choices[rng.integers(len(choices), size=n)]
    table = np.asarray(vocab.classes, dtype=int).reshape(len(vocab.classes), -1)
    for column, factor in enumerate(vocab.label_factors):
        values[factor] = table[labels, column] if n else values[factor]
    return factors_with_pose(rng, values, options)


POOL_SETTINGS = ("n_train_per_class", "n_val_per_class", "n_test_per_class")
WORLD_SETTINGS = tuple(f.name for f in fields(WorldOptions))


def vocabulary_parameters(
    name: str,
    seed: int = 1,
    n_train_per_class: int | None = None,
    n_val_per_class: int = 4,
    n_test_per_class: int = 50,
    shots: int = 16,
    **world: Any,
) -> dict[str, Any]:
    """What ``task.json`` records for world dataset ``name`` (checked; ValueError naming a bad value).

    ``world`` (WorldOptions fields: style, noise_max, size_scale, rotation_range) replaces the dataset's
    chosen drawing; a style that does not draw the label factors is refused.
    """
    vocab = vocabulary(name)
    if n_train_per_class is None:  # the pool each seed's K-shot set is drawn from, as ShapeWorld's
        n_train_per_class = max(N_TRAIN_PER_CLASS, shots)
    unknown = sorted(set(world) - set(WORLD_SETTINGS))
    if unknown:
        raise ValueError(f"unknown world option(s) {unknown} for {name}; valid: {', '.join(WORLD_SETTINGS)}")
    options = options_over(vocab.options, **world)
    if options.style not in label_styles(vocab):
        raise ValueError(
            f"style {options.style!r} does not draw {name}'s label ({', '.join(vocab.label_factors)}); "
            f"valid styles for {name}: {', '.join(label_styles(vocab))}"
        )
    for key, value in (("n_train_per_class", n_train_per_class), ("n_val_per_class", n_val_per_class),
                       ("n_test_per_class", n_test_per_class), ("shots", shots)):  # fmt: skip
        low = 0 if key == "n_val_per_class" else 1
        if int(value) != value or value < low:
            raise ValueError(f"{name}: {key} must be an integer >= {low}, got {value!r}")
    if n_train_per_class < shots:
        raise ValueError(f"{name}: n_train_per_class ({n_train_per_class}) must be >= shots ({shots})")
    return {
        "dataset": name,
        "seed": int(seed),
        "n_train_per_class": int(n_train_per_class),
        "n_val_per_class": int(n_val_per_class),
        "n_test_per_class": int(n_test_per_class),
        "world_options": asdict(options),
        "label_factors": list(vocab.label_factors),
        "classnames": list(vocab.classnames),
    }


def vocabulary_root(data_root: str | os.PathLike, name: str, **task: Any) -> Path:
    """``<data_root>/worlds/<key>``: the folder that holds ``<name>/`` made with ``task`` (keyed by it)."""
    return keyed_root(data_root, vocabulary_parameters(name, **task))


def make_world_dataset(name: str, root: str | os.PathLike, **task: Any) -> DatasetSplits:
    """Write world dataset ``name`` to ``<root>/<name>`` (reused if made with the same parameters); load it.

    ``task``: :func:`vocabulary_parameters`' arguments. ``seed`` fixes the images (draw stream
    ``[seed, 19, stream]``); the returned splits hold the ``shots``-shot draw of the same seed.
    """
    params = vocabulary_parameters(name, **task)
    vocab = vocabulary(name)
    options = WorldOptions(**params["world_options"])

    def draw() -> dict[str, list[Factors]]:
        rng = np.random.default_rng([params["seed"], ISSUE_STREAM, vocab.stream])
        labels = np.arange(len(vocab.classes))
        return {
            split: sample_vocabulary_factors(
                rng, vocab, np.repeat(labels, params[f"n_{split}_per_class"]), options
            )
            for split in ("train", "val", "test")
        }

    label_of = {values: label for label, values in enumerate(vocab.classes)}

    def label(f: Factors) -> int:
        return label_of[tuple(getattr(f, factor) for factor in vocab.label_factors)]

    write_world(Path(root), name, vocab.split_file, params, draw, label, vocab.classnames)
    return build_vocabulary(name, str(root), num_shots=task.get("shots", 16), seed=params["seed"])


def build_vocabulary(
    name: str, root: str, num_shots: int = 16, seed: int = 1, subsample: str = "all"
) -> DatasetSplits:
    """World dataset ``name`` written by :func:`make_world_dataset` under ``root``, in CoOp's splits."""
    vocab = vocabulary(name)
    check_subsample(subsample)
    folder = os.path.join(os.path.abspath(os.path.expanduser(str(root))), name)
    if not os.path.isfile(os.path.join(folder, vocab.split_file)):
        raise FileNotFoundError(
            f"no {name} dataset at {folder} (missing {vocab.split_file}); create it with "
            f"causalvlm.worlds.make_world_dataset({name!r}, {str(root)!r}) or run with make_world: true"
        )
    split_path = require_file(os.path.join(folder, vocab.split_file), f"{name} split file")
    image_dir = require_dir(os.path.join(folder, IMAGE_DIRNAME), f"{name} image folder")
    train, val, test = read_split_json(split_path, image_dir)
    classnames = classnames_by_label(train + val + test, split_path)
    return assemble_splits(
        name, classnames, vocab.template, folder, lambda: train, lambda: val, test, num_shots, seed, subsample
    )


def dataset_builders() -> dict[str, Callable[..., DatasetSplits]]:
    """``DATASETS`` builders ``(root, num_shots, seed, subsample)`` of every world dataset, by name."""

    def builder(name: str) -> Callable[..., DatasetSplits]:
        def build(root: str, num_shots: int = 16, seed: int = 1, subsample: str = "all") -> DatasetSplits:
            return build_vocabulary(name, root, num_shots, seed, subsample)

        build.__doc__ = f"{name}: a world dataset written by make_world_dataset({name!r}, root)."
        build.__name__ = f"build_{name}"
        return build

    return {name: builder(name) for name in VOCABULARIES}


__all__ = [
    "VOCABULARIES",
    "Vocabulary",
    "build_vocabulary",
    "dataset_builders",
    "label_styles",
    "make_world_dataset",
    "sample_vocabulary_factors",
    "vocabulary",
    "vocabulary_parameters",
    "vocabulary_root",
]
