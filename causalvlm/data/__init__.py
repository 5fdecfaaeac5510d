"""Datasets for few-shot CLIP adaptation: CoOp's 11 benchmarks, ImageNet shifts, plain image folders.

``DATASETS.build(name, root=..., num_shots=16, seed=1, subsample="all"|"base"|"new")`` returns a
:class:`DatasetSplits`; call :func:`validate_images` on it before training.
"""

from __future__ import annotations

from causalvlm.data import coop, image_folder, imagenet  # noqa: F401  (register the datasets)
from causalvlm.data.base import DATASETS, SUBSAMPLE_CHOICES, DatasetSplits, Datum
from causalvlm.data.checks import IMAGE_EXTENSIONS, validate_images
from causalvlm.data.coop import SPLIT_JSON_SPECS
from causalvlm.data.fewshot import fewshot_cache_path, load_or_sample_fewshot, sample_fewshot
from causalvlm.data.image_dataset import ImageDataset
from causalvlm.data.imagenet import TEST_ONLY_DATASETS
from causalvlm.data.splits import base_new_labels, read_split_json, subsample_classes

# The generated world's task is read by causalvlm.worlds.task, which builds on this package; declaring it
# here makes "shapeworld" a known dataset however the program was started (e.g. ProtocolConfig()'s default).
DATASETS.declare("shapeworld", "causalvlm.worlds.task")
for _name in ("colourworld", "textureworld", "layoutworld", "iconworld"):  # causalvlm.worlds.vocabularies
    DATASETS.declare(_name, "causalvlm.worlds.vocabularies")

__all__ = [
    "DATASETS",
    "IMAGE_EXTENSIONS",
    "SPLIT_JSON_SPECS",
    "SUBSAMPLE_CHOICES",
    "TEST_ONLY_DATASETS",
    "DatasetSplits",
    "Datum",
    "ImageDataset",
    "base_new_labels",
    "fewshot_cache_path",
    "load_or_sample_fewshot",
    "read_split_json",
    "sample_fewshot",
    "subsample_classes",
    "validate_images",
]
