"""ImageNet and its four test-only shifts (V2, Sketch, A, R) in CoOp's layout.

Every folder carries a copy of ImageNet's ``classnames.txt`` (lines ``<wnid> <class name>``, CLIP's cleaned
names). ImageNet, -Sketch, -A and -R label classes by the sorted wnid folders present, so ImageNet-A and -R
get their 200-class subsets from the folders in the user's download rather than from a shipped table;
ImageNet-V2 names its folders ``0``..``999`` in ``classnames.txt`` order. ImageNet validates and tests on
its official ``val`` images, as CoOp does.
"""

from __future__ import annotations

import os

from causalvlm.data.base import (
    DATASETS,
    DatasetSplits,
    Datum,
    check_class_count,
    check_subsample,
)
from causalvlm.data.checks import list_images, list_subdirs, read_text, require_dir, require_file
from causalvlm.data.coop import assemble_splits, dataset_dir
from causalvlm.data.splits import subsample_classes
from causalvlm.templates import template_for


def read_classnames(path: str) -> dict[str, str]:
    """``classnames.txt`` → ``{wnid: class name}`` in file order."""
    require_file(path, "ImageNet class list")
    names: dict[str, str] = {}
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        wnid, _, name = line.strip().partition(" ")
        if not wnid:
            continue
        if not name.strip():
            raise ValueError(f"{path}:{number}: expected '<wnid> <class name>', got {line.strip()!r}")
        if wnid in names:
            raise ValueError(f"{path}:{number}: {wnid} is listed twice")
        names[wnid] = name.strip()
    return names


def _names_for(folders: list[str], classnames: dict[str, str], classnames_path: str) -> list[str]:
    unknown = [f for f in folders if f not in classnames]
    if unknown:
        raise KeyError(f"{classnames_path} has no class name for folder(s) {unknown[:10]}")
    return [classnames[f] for f in folders]


def _read_class_folders(image_dir: str, folders: list[str], classnames: list[str]) -> list[Datum]:
    """Images of ``image_dir/<folders[label]>/``, labelled by position in ``folders``."""
    data: list[Datum] = []
    for label, (folder, classname) in enumerate(zip(folders, classnames, strict=True)):
        class_dir = os.path.join(image_dir, folder)
        images = list_images(require_dir(class_dir, "class folder"))
        if not images:
            raise ValueError(f"class folder {class_dir} holds no images")
        data.extend(Datum(os.path.join(class_dir, name), label, classname) for name in images)
    return data


@DATASETS.register("imagenet")
def build_imagenet(
    root: str, num_shots: int = 16, seed: int = 1, subsample: str = "all", check_num_classes: bool = True
) -> DatasetSplits:
    """imagenet: ``$DATA/imagenet/{classnames.txt, images/train/<wnid>/, images/val/<wnid>/}``."""
    check_subsample(subsample)
    folder = dataset_dir(root, "imagenet")
    classnames_path = os.path.join(folder, "classnames.txt")
    names = read_classnames(classnames_path)
    train_dir = require_dir(os.path.join(folder, "images", "train"), "ImageNet train folder")
    val_dir = require_dir(os.path.join(folder, "images", "val"), "ImageNet val folder")
    folders, val_folders = list_subdirs(train_dir), list_subdirs(val_dir)
    if folders != val_folders:
        only_train = sorted(set(folders) - set(val_folders))[:10]
        only_val = sorted(set(val_folders) - set(folders))[:10]
        raise ValueError(
            f"{train_dir} and {val_dir} hold different classes: "
            f"only in train {only_train}, only in val {only_val}"
        )
    check_class_count(len(folders), 1000 if check_num_classes else None, train_dir, "imagenet")
    classnames = _names_for(folders, names, classnames_path)
    test = _read_class_folders(val_dir, folders, classnames)
    return assemble_splits(
        "imagenet",
        classnames,
        template_for("imagenet"),
        folder,
        lambda: _read_class_folders(train_dir, folders, classnames),
        None,
        test,
        num_shots,
        seed,
        subsample,
    )


def _test_only(name: str, classnames: list[str], test: list[Datum], subsample: str) -> DatasetSplits:
    return subsample_classes(DatasetSplits(name, classnames, template_for(name), test=test), subsample)


def _register_wnid_variant(name: str, dirname: str, image_subdir: str, num_classes: int) -> None:
    def build(
        root: str, num_shots: int = 16, seed: int = 1, subsample: str = "all", check_num_classes: bool = True
    ) -> DatasetSplits:
        del num_shots, seed  # test-only: nothing to sample
        check_subsample(subsample)
        folder = dataset_dir(root, dirname)
        classnames_path = os.path.join(folder, "classnames.txt")
        names = read_classnames(classnames_path)
        image_dir = require_dir(os.path.join(folder, image_subdir), f"{name} image folder")
        folders = list_subdirs(image_dir)
        check_class_count(len(folders), num_classes if check_num_classes else None, image_dir, name)
        classnames = _names_for(folders, names, classnames_path)
        return _test_only(name, classnames, _read_class_folders(image_dir, folders, classnames), subsample)

    build.__doc__ = f"{name} (test only): $DATA/{dirname}/{{classnames.txt, {image_subdir}/<wnid>/}}."
    DATASETS.register(name)(build)


_register_wnid_variant("imagenet_sketch", "imagenet-sketch", "images", 1000)
_register_wnid_variant("imagenet_a", "imagenet-adversarial", "imagenet-a", 200)
_register_wnid_variant("imagenet_r", "imagenet-rendition", "imagenet-r", 200)


@DATASETS.register("imagenetv2")
def build_imagenetv2(
    root: str, num_shots: int = 16, seed: int = 1, subsample: str = "all", check_num_classes: bool = True
) -> DatasetSplits:
    """imagenetv2 (test only): ``$DATA/imagenetv2/classnames.txt`` and
    ``$DATA/imagenetv2/imagenetv2-matched-frequency-format-val/{0..999}/``."""
    del num_shots, seed
    check_subsample(subsample)
    folder = dataset_dir(root, "imagenetv2")
    names = read_classnames(os.path.join(folder, "classnames.txt"))
    image_dir = require_dir(
        os.path.join(folder, "imagenetv2-matched-frequency-format-val"), "imagenetv2 image folder"
    )
    check_class_count(
        len(names), 1000 if check_num_classes else None, os.path.join(folder, "classnames.txt"), "imagenetv2"
    )
    classnames = list(names.values())
    folders = [str(label) for label in range(len(classnames))]
    return _test_only(
        "imagenetv2", classnames, _read_class_folders(image_dir, folders, classnames), subsample
    )


# Registry names of the datasets with only a test split (cross-domain targets).
TEST_ONLY_DATASETS = ("imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r")
