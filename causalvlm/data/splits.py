"""CoOp's fixed splits (``split_zhou_*.json``) and the base-to-new class split.

A ``split_zhou_<Dataset>.json`` file maps ``"train"``, ``"val"`` and ``"test"`` to lists of
``[relative_image_path, label, classname]``; paths are relative to the dataset's image folder (StanfordCars:
the dataset folder). The class names in these files already carry CoOp's fixes (``airplanes`` → ``airplane``
in Caltech101, ``AnnualCrop`` → ``Annual Crop Land`` in EuroSAT, ...); underscores become spaces here.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import replace

from causalvlm.data.base import DatasetSplits, Datum, check_subsample, readable_classname
from causalvlm.data.checks import read_text, require_file

SPLIT_KEYS = ("train", "val", "test")


def check_label(label: object, where: str, num_classes: int | None = None) -> int:
    """A label as read from a file: an integer 0..C-1 (``"3"`` is read as 3); anything else names ``where``.

    ``int()`` would make 1.7 class 1 and ``True`` class 1 without a word, so neither is accepted.
    """
    if isinstance(label, str) and label.isdecimal():  # "3": an integer written as a string, read exactly
        label = int(label)
    if isinstance(label, bool) or not isinstance(label, int):
        raise ValueError(f"{where} has a non-integer label {label!r}; labels are integers 0..C-1")
    if label < 0:
        raise ValueError(f"{where} has a negative label {label}; labels are integers 0..C-1")
    if num_classes is not None and label >= num_classes:
        raise ValueError(
            f"{where} has the label {label}, out of range for {num_classes} classes "
            f"(labels 0..{num_classes - 1})"
        )
    return label


def _parse_entries(entries: object, path: str, key: str, prefix: str) -> list[Datum]:
    if not isinstance(entries, list):
        raise ValueError(f"{path}: {key!r} must be a list of [impath, label, classname]")
    out = []
    for index, entry in enumerate(entries):
        if not (isinstance(entry, (list, tuple)) and len(entry) == 3):
            raise ValueError(f"{path}: {key}[{index}] must be [impath, label, classname], got {entry!r}")
        impath, label, classname = entry
        if not isinstance(impath, str) or not isinstance(classname, str):
            raise ValueError(f"{path}: {key}[{index}] has a non-string path or class name: {entry!r}")
        label = check_label(label, f"{path}: {key}[{index}]")
        out.append(Datum(os.path.join(prefix, impath), label, readable_classname(classname)))
    return out


def read_split_json(path: str, path_prefix: str) -> tuple[list[Datum], list[Datum], list[Datum]]:
    """Read a CoOp split file into ``(train, val, test)`` with paths joined onto ``path_prefix``."""
    require_file(path, "split file")
    try:
        split = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(split, dict):
        raise ValueError(f"{path}: expected an object with keys {SPLIT_KEYS}")
    for key in SPLIT_KEYS:
        if key not in split:
            raise KeyError(f"{path}: missing split {key!r} (has {sorted(split)})")
    train, val, test = (_parse_entries(split[key], path, key, path_prefix) for key in SPLIT_KEYS)
    return train, val, test


def base_new_labels(num_classes: int, subsample: str) -> list[int]:
    """CoOp's base-to-new protocol: sorted labels, the first ⌈C/2⌉ are base and the rest are new."""
    check_subsample(subsample)
    labels = list(range(num_classes))
    if subsample == "all":
        return labels
    m = math.ceil(num_classes / 2)
    return labels[:m] if subsample == "base" else labels[m:]


def subsample_classes(splits: DatasetSplits, subsample: str) -> DatasetSplits:
    """Keep only base or new classes in every split, relabelled to 0..n-1 in label order (as CoOp does)."""
    if subsample == "all":
        check_subsample(subsample)
        return splits
    selected = base_new_labels(splits.num_classes, subsample)
    relabel = {old: new for new, old in enumerate(selected)}

    def keep(data: list[Datum]) -> list[Datum]:
        return [replace(d, label=relabel[d.label]) for d in data if d.label in relabel]

    return replace(
        splits,
        classnames=[splits.classnames[old] for old in selected],
        train_x=keep(splits.train_x),
        val=keep(splits.val),
        test=keep(splits.test),
    )
