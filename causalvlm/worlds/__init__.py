"""ShapeWorld: a generated causal world with known factors, and the tiny CLIP pre-trained on it.

Importing this package registers the ``"shapeworld"`` dataset and the world datasets with other class
vocabularies (``"colourworld"``, ``"textureworld"``, ``"layoutworld"``, ``"iconworld"``; vocabularies.py) and
the source's cross-domain targets (``"shapeworld-v2"``, ``"-sketch"``, ``"-r"``, ``"-a"``; domains.py) in
:data:`causalvlm.data.DATASETS`, and lists them all in :data:`WORLD_DATASETS` (domains.py).
"""

from __future__ import annotations

from causalvlm.data.base import DATASETS
from causalvlm.worlds.captions import CaptionConfig, caption
from causalvlm.worlds.corpus import CaptionedBatches, RenderedImages, render_images
from causalvlm.worlds.domains import (
    WORLD_CROSS_DOMAIN_TARGETS,
    WORLD_DATASETS,
    WorldDataset,
    make_from_world,
    register_domains,
    register_world_dataset,
    root_from_world,
    world_task,
)
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
from causalvlm.worlds.shifts import FACTOR_SHIFTS
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
    SHIPPED_TINY_CLIPS,
    TINY_CLIP_ARCH,
    TINY_CLIP_CHECKPOINT,
    TINY_CLIP_CONFIG,
    TINY_CLIP_VIT_ARCH,
    TINY_CLIP_VIT_CHECKPOINT,
    TINY_CLIP_VIT_CONFIG,
    create_tiny_clip,
    register_tiny_clip,
    shipped_checkpoint,
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
register_domains()  # WORLD_DATASETS: shapeworld, its cross-domain targets and the vocabularies above

__all__ = [
    "CLASS_NAME_STYLES",
    "BACKGROUND_COLOURS",
    "CATEGORICAL_FACTORS",
    "FACTOR_NAMES",
    "FACTOR_SHIFTS",
    "IMAGE_SIZE",
    "OBJECT_COLOURS",
    "RENDER_STYLES",
    "SHAPE_NAMES",
    "TASK_OPTIONS",
    "TEMPLATE",
    "TEMPLATE_STARTS",
    "TEXTURES",
    "WORLD_CROSS_DOMAIN_TARGETS",
    "WORLD_DATASETS",
    "WORLD_OPTION_RANGES",
    "TINY_CLIP_ARCH",
    "VOCABULARIES",
    "Vocabulary",
    "build_vocabulary",
    "make_world_dataset",
    "vocabulary_parameters",
    "vocabulary_root",
    "TINY_CLIP_CHECKPOINT",
    "TINY_CLIP_CONFIG",
    "TINY_CLIP_VIT_ARCH",
    "TINY_CLIP_VIT_CHECKPOINT",
    "TINY_CLIP_VIT_CONFIG",
    "SHIPPED_TINY_CLIPS",
    "shipped_checkpoint",
    "CaptionConfig",
    "CaptionedBatches",
    "Factors",
    "WorldDataset",
    "WorldOptions",
    "RenderedImages",
    "build_shapeworld",
    "caption",
    "class_colour",
    "create_tiny_clip",
    "load_factors",
    "make_task",
    "make_from_world",
    "register_world_dataset",
    "root_from_world",
    "task_parameters",
    "world_root",
    "world_task",
    "register_tiny_clip",
    "render",
    "render_images",
    "render_pil",
    "sample_factors",
    "zero_shot_factor_accuracy",
]
