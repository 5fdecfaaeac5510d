"""The CoOp benchmark datasets that ship fixed splits, read from an unchanged CoOp ``$DATA`` tree.

Nine datasets come with a ``split_zhou_<Dataset>.json`` next to their images; FGVCAircraft uses the official
``images_variant_{train,val,test}.txt`` lists and ``variants.txt``. Folder names, split file names and class
counts follow CoOp's ``datasets/*.py`` and ``DATASETS.md``; the hand-crafted templates are read from
:data:`causalvlm.templates.DATASET_TEMPLATES` (CoOp's zero-shot templates).
A missing split file is an error rather than a fresh random split, because only CoOp's fixed splits make
numbers comparable with the paper's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from causalvlm.config_model import check_value
from causalvlm.data.base import (
    DATASETS,
    DatasetSplits,
    Datum,
    check_class_count,
    check_subsample,
    classnames_by_label,
)
from causalvlm.data.checks import read_text, require_dir, require_file
from causalvlm.data.fewshot import check_num_shots, load_or_sample_fewshot
from causalvlm.data.splits import read_split_json, subsample_classes
from causalvlm.templates import template_for


@dataclass(frozen=True)
class SplitJsonSpec:
    """Where one CoOp dataset lives under ``$DATA`` and what it should contain."""

    name: str  # registry name
    dirname: str  # folder under $DATA
    image_dir: str  # folder the split file's paths are relative to, inside dirname ("" = dirname itself)
    split_file: str  # CoOp's fixed split, inside dirname
    num_classes: int  # the official class count, checked unless check_num_classes=False

    @property
    def template(self) -> str:
        """CoOp's hand-crafted zero-shot prompt, from :data:`causalvlm.templates.DATASET_TEMPLATES`."""
        return template_for(self.name)


SPLIT_JSON_SPECS = (
    SplitJsonSpec("caltech101", "caltech-101", "101_ObjectCategories", "split_zhou_Caltech101.json", 100),
    SplitJsonSpec("oxford_pets", "oxford_pets", "images", "split_zhou_OxfordPets.json", 37),
    SplitJsonSpec("stanford_cars", "stanford_cars", "", "split_zhou_StanfordCars.json", 196),
    SplitJsonSpec("oxford_flowers", "oxford_flowers", "jpg", "split_zhou_OxfordFlowers.json", 102),
    SplitJsonSpec("food101", "food-101", "images", "split_zhou_Food101.json", 101),
    SplitJsonSpec("sun397", "sun397", "SUN397", "split_zhou_SUN397.json", 397),
    SplitJsonSpec("dtd", "dtd", "images", "split_zhou_DescribableTextures.json", 47),
    SplitJsonSpec("eurosat", "eurosat", "2750", "split_zhou_EuroSAT.json", 10),
    SplitJsonSpec("ucf101", "ucf101", "UCF-101-midframes", "split_zhou_UCF101.json", 101),
)

AIRCRAFT_NUM_CLASSES = 100


def dataset_dir(root: str, dirname: str) -> str:
    """``$DATA/<dirname>``; ``root`` may also be that folder itself."""
    root = os.path.abspath(os.path.expanduser(str(root)))
    require_dir(root, "data root")
    if os.path.basename(os.path.normpath(root)) == dirname:
        return root
    return require_dir(os.path.join(root, dirname), f"dataset folder {dirname!r}")


def assemble_splits(
    name: str,
    classnames: list[str],
    template: str,
    folder: str,
    read_train: Callable[[], list[Datum]],
    read_val: Callable[[], list[Datum]] | None,
    test: list[Datum],
    num_shots: int,
    seed: int,
    subsample: str,
) -> DatasetSplits:
    """Few-shot sample (cached per seed) then base/new subsample, in CoOp's order.

    ``read_val=None`` means the dataset has no validation split of its own and validates on ``test``
    (ImageNet, as in CoOp).
    """
    check_value(seed, int, "seed")
    if check_num_shots(num_shots) >= 1:
        train, val = load_or_sample_fewshot(folder, num_shots, seed, read_train, read_val, classnames)
    else:
        train, val = read_train(), (read_val() if read_val is not None else None)
    splits = DatasetSplits(
        name, classnames, template, train_x=train, val=val if val is not None else test, test=test
    )
    return subsample_classes(splits, subsample)


def build_split_json(
    spec: SplitJsonSpec,
    root: str,
    num_shots: int = 16,
    seed: int = 1,
    subsample: str = "all",
    check_num_classes: bool = True,
) -> DatasetSplits:
    check_subsample(subsample)
    check_num_shots(num_shots)
    folder = dataset_dir(root, spec.dirname)
    split_path = require_file(os.path.join(folder, spec.split_file), f"{spec.name} split file")
    image_dir = require_dir(os.path.join(folder, spec.image_dir), f"{spec.name} image folder")
    train, val, test = read_split_json(split_path, image_dir)
    classnames = classnames_by_label(train + val + test, split_path)
    check_class_count(len(classnames), spec.num_classes if check_num_classes else None, split_path, spec.name)
    return assemble_splits(
        spec.name,
        classnames,
        spec.template,
        folder,
        lambda: train,
        lambda: val,
        test,
        num_shots,
        seed,
        subsample,
    )


def _register_split_json(spec: SplitJsonSpec) -> None:
    def build(
        root: str, num_shots: int = 16, seed: int = 1, subsample: str = "all", check_num_classes: bool = True
    ) -> DatasetSplits:
        return build_split_json(spec, root, num_shots, seed, subsample, check_num_classes)

    build.__doc__ = f"{spec.name}: CoOp tree $DATA/{spec.dirname}/ with {spec.split_file}."
    DATASETS.register(spec.name)(build)


for _spec in SPLIT_JSON_SPECS:
    _register_split_json(_spec)


def _read_lines(path: str) -> list[tuple[int, str]]:
    lines = read_text(path).splitlines()
    return [(number, line.strip()) for number, line in enumerate(lines, start=1) if line.strip()]


def _read_aircraft_list(path: str, image_dir: str, label_of: dict[str, int]) -> list[Datum]:
    """Lines ``<image id> <variant name>``; the variant name may contain spaces (``"Cessna 172"``)."""
    require_file(path, "FGVCAircraft image list")
    data = []
    for number, line in _read_lines(path):
        image_id, _, variant = line.partition(" ")
        if variant not in label_of:
            raise ValueError(f"{path}:{number}: variant {variant!r} is not listed in variants.txt")
        data.append(Datum(os.path.join(image_dir, image_id + ".jpg"), label_of[variant], variant))
    return data


@DATASETS.register("fgvc_aircraft")
def build_fgvc_aircraft(
    root: str, num_shots: int = 16, seed: int = 1, subsample: str = "all", check_num_classes: bool = True
) -> DatasetSplits:
    """fgvc_aircraft: fgvc-aircraft-2013b's ``data/`` folder, renamed ``$DATA/fgvc_aircraft``."""
    check_subsample(subsample)
    check_num_shots(num_shots)
    folder = dataset_dir(root, "fgvc_aircraft")
    image_dir = require_dir(os.path.join(folder, "images"), "FGVCAircraft image folder")
    variants_path = require_file(os.path.join(folder, "variants.txt"), "FGVCAircraft class list")
    list_paths = [os.path.join(folder, f"images_variant_{split}.txt") for split in ("train", "val", "test")]
    for path in list_paths:
        require_file(path, "FGVCAircraft image list")
    classnames = [line for _, line in _read_lines(variants_path)]
    if len(set(classnames)) != len(classnames):
        raise ValueError(f"{variants_path}: a variant is listed twice")
    check_class_count(
        len(classnames), AIRCRAFT_NUM_CLASSES if check_num_classes else None, variants_path, "fgvc_aircraft"
    )
    label_of = {name: label for label, name in enumerate(classnames)}
    train, val, test = (_read_aircraft_list(path, image_dir, label_of) for path in list_paths)
    return assemble_splits(
        "fgvc_aircraft",
        classnames,
        template_for("fgvc_aircraft"),
        folder,
        lambda: train,
        lambda: val,
        test,
        num_shots,
        seed,
        subsample,
    )
