"""ShapeWorld: a generated causal world with known factors, and the tiny CLIP pre-trained on it.

Importing this package registers the ``"shapeworld"`` dataset and the world datasets with other class
vocabularies (``"colourworld"``, ``"textureworld"``, ``"layoutworld"``, ``"iconworld"``; vocabularies.py) in
:data:`causalvlm.data.DATASETS`.
"""

from __future__ import annotations

from causalvlm.data.base import DATASETS
from causalvlm.worlds.captions import CaptionConfig, caption
from causalvlm.worlds.corpus import CaptionedBatches, RenderedImages, render_images
from causalvlm.worlds.factors import (
    BACKGROUND_COLOURS,
    CATEGORICAL_FACTORS,
    FACTOR_NAMES,
    OBJECT_COLOURS,
    RENDER_STYLES,
    TEXTURES,
    WORLD_OPTION_RANGES,
    Factors,
    class_colour,
    sample_factors,
)
from causalvlm.worlds.render import IMAGE_SIZE, render, render_pil
from causalvlm.worlds.shapes import SHAPE_NAMES
from causalvlm.worlds.task import (
    CLASS_NAME_STYLES,
    TASK_OPTIONS,
    TEMPLATE,
    TEMPLATE_STARTS,
    WorldOptions,
    build_shapeworld,
    load_factors,
    make_task,
    task_parameters,
    world_root,
)
from causalvlm.worlds.tiny_clip import (
    TINY_CLIP_ARCH,
    TINY_CLIP_CHECKPOINT,
    TINY_CLIP_CONFIG,
    create_tiny_clip,
    register_tiny_clip,
)
from causalvlm.worlds.vocabularies import (
    VOCABULARIES,
    Vocabulary,
    build_vocabulary,
    dataset_builders,
    make_world_dataset,
    vocabulary_parameters,
    vocabulary_root,
)
from causalvlm.worlds.zero_shot import zero_shot_factor_accuracy

DATASETS.register("shapeworld")(build_shapeworld)
for _name, _builder in dataset_builders().items():  # colourworld, textureworld, layoutworld, iconworld
    DATASETS.register(_name)(_builder)
WORLD_DATASETS: tuple[str, ...] = ("shapeworld", *VOCABULARIES)
"""Every dataset the world generates (``make_world`` writes them under the data root)."""

__all__ = [
    "CLASS_NAME_STYLES",
    "BACKGROUND_COLOURS",
    "CATEGORICAL_FACTORS",
    "FACTOR_NAMES",
    "IMAGE_SIZE",
    "OBJECT_COLOURS",
    "RENDER_STYLES",
    "SHAPE_NAMES",
    "TASK_OPTIONS",
    "TEMPLATE",
    "TEMPLATE_STARTS",
    "TEXTURES",
    "WORLD_OPTION_RANGES",
    "TINY_CLIP_ARCH",
    "VOCABULARIES",
    "WORLD_DATASETS",
    "Vocabulary",
    "build_vocabulary",
    "make_world_dataset",
    "vocabulary_parameters",
    "vocabulary_root",
    "TINY_CLIP_CHECKPOINT",
    "TINY_CLIP_CONFIG",
    "CaptionConfig",
    "CaptionedBatches",
    "Factors",
    "WorldOptions",
    "RenderedImages",
    "build_shapeworld",
    "caption",
    "class_colour",
    "create_tiny_clip",
    "load_factors",
    "make_task",
    "task_parameters",
    "world_root",
    "register_tiny_clip",
    "render",
    "render_images",
    "render_pil",
    "sample_factors",
    "zero_shot_factor_accuracy",
]
