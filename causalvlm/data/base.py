"""What a dataset is here: labelled image paths grouped into train / val / test splits.

A :class:`Datum` is one image path with its label and class name; a :class:`DatasetSplits` holds the three
splits, the class names indexed by label and the dataset's hand-crafted prompt template. Builders
registered in :data:`DATASETS` all share one signature::

    build(root, num_shots=16, seed=1, subsample="all") -> DatasetSplits

``root`` is the ``$DATA`` folder of CoOp's DATASETS.md (the dataset's own folder is found under it),
except for ``"imagefolder"``, whose root is the image folder itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from causalvlm.registry import Registry

DATASETS: Registry[DatasetSplits] = Registry("dataset")

SUBSAMPLE_CHOICES = ("all", "base", "new")


@dataclass(frozen=True)
class Datum:
    """One labelled image: ``impath`` (absolute), ``label`` in 0..C-1, ``classname``, ``domain`` index."""

    impath: str
    label: int
    classname: str
    domain: int = 0


@dataclass
class DatasetSplits:
    """The splits of one dataset, labelled 0..C-1 with ``classnames[label]`` naming each class.

    Test-only datasets (ImageNet-V2/-Sketch/-A/-R) have empty ``train_x`` and ``val``.
    """

    name: str
    classnames: list[str]
    template: str  # the hand-crafted prompt for zero-shot CLIP, with "{}" where the class name goes
    train_x: list[Datum] = field(default_factory=list)
    val: list[Datum] = field(default_factory=list)
    test: list[Datum] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.classnames)

    def all_data(self) -> list[Datum]:
        """Every datum of every split, each image once (test-only datasets list their images in one split)."""
        seen: set[str] = set()
        out: list[Datum] = []
        for datum in (*self.train_x, *self.val, *self.test):
            if datum.impath not in seen:
                seen.add(datum.impath)
                out.append(datum)
        return out


def check_subsample(subsample: str) -> None:
    if subsample not in SUBSAMPLE_CHOICES:
        raise ValueError(f"subsample must be one of {SUBSAMPLE_CHOICES}, got {subsample!r}")


def readable_classname(name: str) -> str:
    """CoOp's prompt learner reads ``american_bulldog`` as ``american bulldog``; we do it once, here."""
    return name.replace("_", " ").strip()


def classnames_by_label(data: list[Datum], source: str) -> list[str]:
    """``classnames[label]`` from labelled data; labels must be exactly 0..C-1, each with one name.

    ``source`` (a file or folder) is named in the error when the labels are not contiguous or a label carries
    two names, because both mean the split file and the images disagree about the classes.
    """
    names: dict[int, str] = {}
    for datum in data:
        known = names.setdefault(datum.label, datum.classname)
        if known != datum.classname:
            raise ValueError(f"{source}: label {datum.label} is named both {known!r} and {datum.classname!r}")
    if not names:
        raise ValueError(f"{source}: no labelled images found")
    expected = set(range(len(names)))
    if set(names) != expected:
        missing = sorted(expected - set(names))[:10]
        extra = sorted(set(names) - expected)[:10]
        raise ValueError(
            f"{source}: labels must be 0..{len(names) - 1} with every class present; "
            f"missing {missing}, out of range {extra}"
        )
    return [names[label] for label in range(len(names))]


def check_class_count(found: int, expected: int | None, source: str, dataset: str) -> None:
    """Class-count mismatch: the tree at ``source`` is not the dataset it claims to be (or is incomplete)."""
    if expected is not None and found != expected:
        raise ValueError(
            f"{source}: {dataset} should have {expected} classes but {found} were found; "
            "pass check_num_classes=False to use a class subset on purpose"
        )
