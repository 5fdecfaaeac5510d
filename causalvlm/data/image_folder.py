"""A plain image-folder dataset: ``root/<class>/*.jpg``, optionally under ``train/``, ``val/``, ``test/``.

Two layouts are read:

* ``root/train/<class>/`` and ``root/test/<class>/`` (``root/val/<class>/`` optional; without it the test
  images also serve as validation, as CoOp does for ImageNet);
* ``root/<class>/`` only: each class is split 50% train / 20% val / 30% test by a fixed shuffle
  (``random.Random(0)``), independent of the few-shot seed so the test set is the same for every seed.

Labels follow the sorted class-folder names; class names are the folder names with ``_`` read as a space.
"""

from __future__ import annotations

import os
import random

from causalvlm.data.base import DATASETS, DatasetSplits, Datum, check_subsample, readable_classname
from causalvlm.data.checks import list_images, list_subdirs, require_dir
from causalvlm.data.coop import assemble_splits
from causalvlm.data.fewshot import FEWSHOT_DIRNAME
from causalvlm.templates import DEFAULT_TEMPLATE

SPLIT_FRACTIONS = (0.5, 0.2)  # train and val shares of each class in the flat layout; the rest is test
SPLIT_SHUFFLE_SEED = 0


def _class_folders(path: str) -> list[str]:
    return [f for f in list_subdirs(path) if f != FEWSHOT_DIRNAME]


def _read_split_dir(split_dir: str, folders: list[str]) -> list[Datum]:
    data: list[Datum] = []
    for label, folder in enumerate(folders):
        class_dir = os.path.join(split_dir, folder)
        names = list_images(class_dir)
        if not names:
            raise ValueError(f"class folder {class_dir} holds no images")
        data.extend(Datum(os.path.join(class_dir, n), label, readable_classname(folder)) for n in names)
    return data


def _check_same_classes(reference_dir: str, folders: list[str], other_dir: str) -> None:
    other = _class_folders(other_dir)
    if other != folders:
        missing = sorted(set(folders) - set(other))[:10]
        extra = sorted(set(other) - set(folders))[:10]
        raise ValueError(
            f"{other_dir} and {reference_dir} hold different classes: missing {missing}, extra {extra}"
        )


def _split_flat(root: str, folders: list[str]) -> tuple[list[Datum], list[Datum], list[Datum]]:
    rng = random.Random(SPLIT_SHUFFLE_SEED)
    train, val, test = [], [], []
    for datum_group in _group_by_label(_read_split_dir(root, folders)):
        n = len(datum_group)
        # val and test get at least one image each so every class is evaluated; train takes the rest
        n_val = max(1, round(n * SPLIT_FRACTIONS[1]))
        n_test = max(1, round(n * (1 - SPLIT_FRACTIONS[0] - SPLIT_FRACTIONS[1])))
        n_train = n - n_val - n_test
        if n_train < 1:
            class_dir = os.path.dirname(datum_group[0].impath)
            raise ValueError(
                f"class folder {class_dir} holds {n} images; the flat layout needs at least 3 per class to "
                "split into train/val/test (or use root/train and root/test folders)"
            )
        rng.shuffle(datum_group)
        train += datum_group[:n_train]
        val += datum_group[n_train : n_train + n_val]
        test += datum_group[n_train + n_val :]
    return train, val, test


def _group_by_label(data: list[Datum]) -> list[list[Datum]]:
    groups: dict[int, list[Datum]] = {}
    for datum in data:
        groups.setdefault(datum.label, []).append(datum)
    return [groups[label] for label in sorted(groups)]


@DATASETS.register("imagefolder")
def build_image_folder(
    root: str, num_shots: int = 16, seed: int = 1, subsample: str = "all", template: str = DEFAULT_TEMPLATE
) -> DatasetSplits:
    """imagefolder: ``root/<class>/`` or ``root/{train,test[,val]}/<class>/``; ``template`` is the prompt."""
    check_subsample(subsample)
    if "{}" not in template:
        raise ValueError(f"template {template!r} has no '{{}}' for the class name")
    root = require_dir(os.path.abspath(os.path.expanduser(str(root))), "image folder")
    train_dir, val_dir, test_dir = (os.path.join(root, s) for s in ("train", "val", "test"))
    if os.path.isdir(train_dir) or os.path.isdir(test_dir):
        require_dir(train_dir, "image folder train split")
        require_dir(test_dir, "image folder test split")
        folders = _class_folders(train_dir)
        _check_same_classes(train_dir, folders, test_dir)
        has_val = os.path.isdir(val_dir)
        if has_val:
            _check_same_classes(train_dir, folders, val_dir)
        if not folders:
            raise ValueError(f"{train_dir} holds no class folders")
        test = _read_split_dir(test_dir, folders)
        read_train = lambda: _read_split_dir(train_dir, folders)  # noqa: E731
        read_val = (lambda: _read_split_dir(val_dir, folders)) if has_val else None
    else:
        folders = _class_folders(root)
        if not folders:
            raise ValueError(f"{root} holds no class folders (expected root/<class>/*.jpg)")
        train, val, test = _split_flat(root, folders)
        read_train, read_val = (lambda: train), (lambda: val)
    classnames = [readable_classname(f) for f in folders]
    name = os.path.basename(os.path.normpath(root))
    return assemble_splits(
        name, classnames, template, root, read_train, read_val, test, num_shots, seed, subsample
    )
